// SPDX-License-Identifier: Apache-2.0
// sanawm/io/npz.hpp — strict NumPy .npz (zip of .npy members) reader with STORED/DEFLATE members, and a
// writer.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/npz.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <algorithm>         // std::sort
#include <climits>           // UINT_MAX
#include <cstddef>           // std::byte, std::size_t
#include <cstdint>           // std::uint16_t, std::uint32_t, std::uint64_t
#include <cstring>           // std::memcpy
#include <filesystem>        // std::filesystem::path
#include <functional>        // std::less
#include <initializer_list>  // read_as(name, {shape...})
#include <map>               // std::map
#include <optional>          // std::optional
#include <span>              // std::span
#include <string>            // std::string
#include <string_view>       // std::string_view
#include <utility>           // std::move
#include <vector>            // std::vector

#include <zlib.h>  // crc32, inflate, deflate (raw deflate streams of zip members)

#include "sanawm/core/error.hpp"      // make_error
#include "sanawm/core/int.hpp"        // index_t
#include "sanawm/io/dtype.hpp"        // st_readable, load_le, store_le
#include "sanawm/io/json.hpp"         // detail::printable_key
#include "sanawm/io/mapped_file.hpp"  // mapped_file
#include "sanawm/io/npy.hpp"          // parse_npy, encode_npy

namespace sanawm::io {

namespace detail {

inline constexpr std::uint32_t zip_local_sig = 0x04034b50;
inline constexpr std::uint32_t zip_central_sig = 0x02014b50;
inline constexpr std::uint32_t zip_eocd_sig = 0x06054b50;
inline constexpr std::uint32_t zip64_locator_sig = 0x07064b50;
inline constexpr std::uint32_t zip64_eocd_sig = 0x06064b50;
inline constexpr std::uint32_t zip_u32_sentinel =
    0xffffffffu;  // "the real value is in the zip64 extra field"

/// CRC-32 of any length (zlib's crc32 takes a 32-bit length).
inline std::uint32_t crc32_of(std::span<const std::byte> data) noexcept {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(data.size() - done, UINT_MAX));
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), n);
    done += n;
  }
  return static_cast<std::uint32_t>(crc);
}

/// Raw-deflate decompression of exactly `in` into exactly `out_size` bytes (both must match: a stream that
/// ends early, runs past the declared size, or leaves input unused is corrupt).
inline std::vector<std::byte> inflate_exact(std::span<const std::byte> in, std::size_t out_size,
                                            std::string_view label, std::string_view member) {
  std::vector<std::byte> out(out_size);
  z_stream zs{};
  if (::inflateInit2(&zs, -MAX_WBITS) != Z_OK)
    throw make_error("npz", label, ": member '", member, "': zlib inflateInit2 failed");
  const auto fail = [&](const auto&... parts) {
    ::inflateEnd(&zs);
    return make_error("npz", label, ": member '", member, "': ", parts...);
  };
  // zlib counts in 32-bit chunks; feed input and output in pieces of at most UINT_MAX bytes.
  std::size_t in_pos = 0, out_pos = 0;
  unsigned char scratch = 0;
  while (true) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const auto n = static_cast<uInt>(std::min<std::size_t>(in.size() - in_pos, UINT_MAX));
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data() + in_pos));
      zs.avail_in = n;
      in_pos += n;
    }
    bool probing = false;
    if (zs.avail_out == 0) {
      if (out_pos < out.size()) {
        const auto n = static_cast<uInt>(std::min<std::size_t>(out.size() - out_pos, UINT_MAX));
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
        zs.avail_out = n;
        out_pos += n;
      } else {
        // The declared size is reached: inflate into a 1-byte scratch to see whether the stream goes on.
        probing = true;
        zs.next_out = &scratch;
        zs.avail_out = 1;
      }
    }
    const int rc = ::inflate(&zs, Z_NO_FLUSH);
    if (probing) {
      if (zs.avail_out == 0) throw fail("deflate data is larger than the declared ", out_size, " bytes");
      zs.avail_out = 0;
      zs.next_out = nullptr;
    }
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR || rc == Z_OK) {
      if (zs.avail_in == 0 && in_pos == in.size() && rc == Z_BUF_ERROR)
        throw fail("deflate data is truncated");
      continue;
    }
    throw fail("corrupt deflate data (", zs.msg ? zs.msg : "zlib error", ")");
  }
  const std::size_t produced = out_pos - zs.avail_out;
  const std::size_t consumed = in_pos - zs.avail_in;
  ::inflateEnd(&zs);
  if (produced != out_size)
    throw make_error("npz", label, ": member '", member, "': deflate data holds ", produced,
                     " bytes, the directory says ", out_size);
  if (consumed != in.size())
    throw make_error("npz", label, ": member '", member, "': ", in.size() - consumed,
                     " bytes of data after the end of the deflate stream");
  return out;
}

/// Raw-deflate compression of `in` (level 6, as Python's zipfile default).
inline std::vector<std::byte> deflate_raw(std::span<const std::byte> in) {
  if (in.size() > UINT_MAX) throw make_error("npz_writer", "member of ", in.size(), " bytes exceeds 4 GiB");
  z_stream zs{};
  if (::deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw make_error("npz_writer", "zlib deflateInit2 failed");
  std::vector<std::byte> out(::deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = ::deflate(&zs, Z_FINISH);
  const std::size_t produced = zs.total_out;
  ::deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw make_error("npz_writer", "zlib deflate failed (code ", rc, ")");
  out.resize(produced);
  return out;
}

/// Finds the zip64 extended-information extra field (id 0x0001) in an extra block; validates the block
/// structure on the way. Returns its payload, or an empty span when absent.
inline std::span<const std::byte> zip64_extra(std::span<const std::byte> extra, std::string_view label,
                                              std::string_view where) {
  std::size_t p = 0;
  std::span<const std::byte> found;
  while (p < extra.size()) {
    if (extra.size() - p < 4)
      throw make_error("npz", label, ": ", where, ": extra field has ", extra.size() - p, " stray bytes");
    const auto id = load_le<std::uint16_t>(extra.data() + p);
    const auto len = load_le<std::uint16_t>(extra.data() + p + 2);
    if (len > extra.size() - p - 4)
      throw make_error("npz", label, ": ", where, ": extra block of ", len,
                       " bytes overruns the extra field");
    if (id == 0x0001) found = extra.subspan(p + 4, len);
    p += 4 + std::size_t{len};
  }
  return found;
}

/// Replaces 0xFFFFFFFF sizes/offsets by their zip64 values, in the order the format stores them.
inline void apply_zip64(std::span<const std::byte> z64, std::initializer_list<std::uint64_t*> fields,
                        std::string_view label, std::string_view where) {
  std::size_t p = 0;
  for (std::uint64_t* f : fields) {
    if (*f != zip_u32_sentinel) continue;
    if (z64.size() < p + 8)
      throw make_error("npz", label, ": ", where,
                       ": a size or offset is 0xFFFFFFFF but the zip64 extra field ",
                       z64.empty() ? "is missing" : "is too short");
    *f = load_le<std::uint64_t>(z64.data() + p);
    p += 8;
  }
}

}  // namespace detail

/// A validated .npz archive (np.savez / np.savez_compressed output: a zip of `<name>.npy` members).
/// Members are decompressed on access. Accepted: STORED and DEFLATE members, zip64 fields (NumPy always
/// writes zip64 local headers), data descriptors. Rejected with "[npz] <path>: <problem>": a missing or
/// inconsistent end-of-central-directory record, multi-disk archives, truncated or mismatched local and
/// central headers, encrypted members, other compression methods, overlapping members, duplicate names, data
/// beyond the archive, sizes that disagree with the data, and CRC mismatches.
class npz_file {
 public:
  npz_file() = default;
  npz_file(npz_file&&) noexcept = default;
  npz_file& operator=(npz_file&&) noexcept = default;

  static npz_file open(const std::filesystem::path& path) { return parse(mapped_file::map(path, "npz")); }
  static npz_file from_bytes(std::vector<std::byte> bytes, std::string label = "<memory>") {
    return parse(mapped_file::from_bytes(std::move(bytes), std::move(label)));
  }

  /// Array names (member names without the ".npy" suffix, as np.load's `.files`), sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : members_) out.push_back(kv.first);
    return out;
  }
  std::size_t size() const noexcept { return members_.size(); }
  /// Whether `name` (with or without ".npy") is a member.
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  const std::string& label() const noexcept { return file_.label(); }

  /// The decompressed, CRC-checked bytes of member `name`.
  std::vector<std::byte> read_member(std::string_view name) const {
    const member* m = find(name);
    if (m == nullptr)
      throw make_error("npz", label(), ": no array named '", detail::printable_key(name), "' among ",
                       members_.size(), " arrays", detail::near_matches(name, members_));
    const auto raw =
        file_.bytes().subspan(static_cast<std::size_t>(m->data_offset), static_cast<std::size_t>(m->csize));
    std::vector<std::byte> out;
    if (m->method == 0)
      out.assign(raw.begin(), raw.end());
    else
      out = detail::inflate_exact(raw, static_cast<std::size_t>(m->usize), label(), m->zip_name);
    if (const std::uint32_t crc = detail::crc32_of(out); crc != m->crc)
      throw make_error("npz", label(), ": member '", m->zip_name, "': CRC-32 mismatch (data ", crc,
                       ", directory ", m->crc, ")");
    return out;
  }

  /// Decodes member `name` as a .npy array.
  npy_array read(std::string_view name) const {
    const auto bytes = read_member(name);
    return parse_npy(bytes, str_cat(label(), ":", detail::printable_key(name)));
  }
  template <st_readable T>
  std::vector<T> read_as(std::string_view name) const {
    return read(name).as<T>(str_cat(label(), ":", detail::printable_key(name)));
  }
  template <st_readable T>
  std::vector<T> read_as(std::string_view name, std::span<const index_t> expected_shape) const {
    const npy_array a = read(name);
    if (!std::equal(a.shape.begin(), a.shape.end(), expected_shape.begin(), expected_shape.end()))
      throw make_error("npz", label(), ": array '", detail::printable_key(name), "' has shape ",
                       shape_string(a.shape), " but ",
                       shape_string(std::vector<index_t>(expected_shape.begin(), expected_shape.end())),
                       " was expected");
    return a.as<T>(str_cat(label(), ":", detail::printable_key(name)));
  }
  template <st_readable T>
  std::vector<T> read_as(std::string_view name, std::initializer_list<index_t> expected_shape) const {
    return read_as<T>(name, std::span<const index_t>(expected_shape.begin(), expected_shape.size()));
  }

 private:
  struct member {
    std::string zip_name;
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::uint64_t csize = 0, usize = 0, data_offset = 0;
  };

  const member* find(std::string_view name) const {
    if (auto it = members_.find(name); it != members_.end()) return &it->second;
    if (name.ends_with(".npy"))
      if (auto it = members_.find(name.substr(0, name.size() - 4)); it != members_.end()) return &it->second;
    return nullptr;
  }

  static npz_file parse(mapped_file file);

  mapped_file file_;
  std::map<std::string, member, std::less<>> members_;
};

inline npz_file npz_file::parse(mapped_file file) {
  using detail::load_le;
  const std::string& label = file.label();
  auto fail = [&](const auto&... parts) -> error { return make_error("npz", label, ": ", parts...); };
  const std::span<const std::byte> b = file.bytes();
  const std::size_t size = b.size();
  if (size < 22) throw fail("file is ", size, " bytes, too short for a zip archive");

  // End of central directory: the last signature whose comment length reaches exactly the end of the file.
  std::size_t eocd = size;
  const std::size_t lowest = size - 22 > 65535 ? size - 22 - 65535 : 0;
  for (std::size_t p = size - 22 + 1; p-- > lowest;) {
    if (load_le<std::uint32_t>(b.data() + p) == detail::zip_eocd_sig &&
        p + 22 + load_le<std::uint16_t>(b.data() + p + 20) == size) {
      eocd = p;
      break;
    }
  }
  if (eocd == size) throw fail("no end-of-central-directory record (not a zip archive, or truncated)");
  const std::byte* e = b.data() + eocd;
  if (load_le<std::uint16_t>(e + 4) != 0 || load_le<std::uint16_t>(e + 6) != 0)
    throw fail("multi-disk archives are not supported");
  std::uint64_t n_disk = load_le<std::uint16_t>(e + 8), n_total = load_le<std::uint16_t>(e + 10);
  std::uint64_t cd_size = load_le<std::uint32_t>(e + 12), cd_offset = load_le<std::uint32_t>(e + 16);
  std::size_t cd_limit = eocd;  // the central directory must end before this
  if (n_disk == 0xffff || n_total == 0xffff || cd_size == detail::zip_u32_sentinel ||
      cd_offset == detail::zip_u32_sentinel) {
    // Zip64: a locator right before the EOCD points at the zip64 EOCD record with 64-bit fields.
    if (eocd < 20 || load_le<std::uint32_t>(e - 20) != detail::zip64_locator_sig)
      throw fail("the end record asks for zip64 but the zip64 locator is missing");
    const std::byte* loc = e - 20;
    if (load_le<std::uint32_t>(loc + 4) != 0 || load_le<std::uint32_t>(loc + 16) > 1)
      throw fail("multi-disk archives are not supported");
    const std::uint64_t z = load_le<std::uint64_t>(loc + 8);
    if (z > eocd - 20 || eocd - 20 - z < 56) throw fail("zip64 end record offset ", z, " is out of bounds");
    const std::byte* r = b.data() + z;
    if (load_le<std::uint32_t>(r) != detail::zip64_eocd_sig) throw fail("bad zip64 end record signature");
    if (load_le<std::uint32_t>(r + 16) != 0 || load_le<std::uint32_t>(r + 20) != 0)
      throw fail("multi-disk archives are not supported");
    n_disk = load_le<std::uint64_t>(r + 24);
    n_total = load_le<std::uint64_t>(r + 32);
    cd_size = load_le<std::uint64_t>(r + 40);
    cd_offset = load_le<std::uint64_t>(r + 48);
    cd_limit = static_cast<std::size_t>(z);
  }
  if (n_disk != n_total) throw fail("multi-disk archives are not supported");
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
    throw fail("central directory [", cd_offset, ", +", cd_size, ") lies outside the archive");
  if (n_total > cd_size / 46)
    throw fail(n_total, " entries cannot fit a ", cd_size, "-byte central directory");

  npz_file out;
  struct extent {
    std::uint64_t begin, end;
    const std::string* name;
  };
  std::vector<extent> extents;
  std::size_t p = static_cast<std::size_t>(cd_offset);
  const std::size_t cd_end = static_cast<std::size_t>(cd_offset + cd_size);
  for (std::uint64_t i = 0; i < n_total; ++i) {
    if (cd_end - p < 46) throw fail("central directory entry ", i, " is truncated");
    const std::byte* c = b.data() + p;
    if (load_le<std::uint32_t>(c) != detail::zip_central_sig)
      throw fail("central directory entry ", i, ": bad signature");
    const std::uint16_t flags = load_le<std::uint16_t>(c + 8), method = load_le<std::uint16_t>(c + 10);
    const std::uint32_t crc = load_le<std::uint32_t>(c + 16);
    std::uint64_t csize = load_le<std::uint32_t>(c + 20), usize = load_le<std::uint32_t>(c + 24);
    const std::size_t name_len = load_le<std::uint16_t>(c + 28), extra_len = load_le<std::uint16_t>(c + 30),
                      comment_len = load_le<std::uint16_t>(c + 32);
    std::uint64_t disk = load_le<std::uint16_t>(c + 34), local = load_le<std::uint32_t>(c + 42);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      throw fail("central directory entry ", i, ": name/extra/comment overrun the directory");
    std::string name(reinterpret_cast<const char*>(c + 46), name_len);
    const std::string where = str_cat("member '", detail::printable_key(name), "'");
    const auto z64 = detail::zip64_extra(b.subspan(p + 46 + name_len, extra_len), label, where);
    detail::apply_zip64(z64, {&usize, &csize, &local}, label, where);
    if (disk == 0xffff) disk = 0;  // the zip64 disk field is 0 in single-disk archives
    p += 46 + name_len + extra_len + comment_len;

    if (disk != 0) throw fail(where, ": multi-disk archives are not supported");
    if (flags & 0x1) throw fail(where, ": encrypted members are not supported");
    if (method != 0 && method != 8)
      throw fail(where, ": compression method ", method, " is not supported (only STORED and DEFLATE)");
    if (name.empty()) throw fail("central directory entry ", i, " has an empty name");
    if (method == 0 && csize != usize)
      throw fail(where, ": STORED member with compressed size ", csize, " != size ", usize);
    // Deflate cannot expand data by more than ~1032:1; a larger claim is a corrupt or hostile size field,
    // and refusing it bounds the allocation made before inflating.
    if (method == 8 && usize / 1032 > csize + 1)
      throw fail(where, ": implausible size ", usize, " for ", csize, " bytes of deflate data");

    // The local header must agree with the central directory.
    if (local > cd_offset || cd_offset - local < 30)
      throw fail(where, ": local header offset ", local, " out of bounds");
    const std::byte* l = b.data() + local;
    if (load_le<std::uint32_t>(l) != detail::zip_local_sig) throw fail(where, ": bad local header signature");
    const std::uint16_t lflags = load_le<std::uint16_t>(l + 6), lmethod = load_le<std::uint16_t>(l + 8);
    const std::uint32_t lcrc = load_le<std::uint32_t>(l + 14);
    std::uint64_t lcsize = load_le<std::uint32_t>(l + 18), lusize = load_le<std::uint32_t>(l + 22);
    const std::size_t lname_len = load_le<std::uint16_t>(l + 26), lextra_len = load_le<std::uint16_t>(l + 28);
    if (cd_offset - local - 30 < lname_len + lextra_len) throw fail(where, ": local header is truncated");
    if (std::string_view(reinterpret_cast<const char*>(l + 30), lname_len) != name)
      throw fail(where, ": local header names '",
                 detail::printable_key(std::string_view(reinterpret_cast<const char*>(l + 30), lname_len)),
                 "'");
    if (lmethod != method) throw fail(where, ": local and central compression methods differ");
    if ((lflags & 0x1) != 0) throw fail(where, ": encrypted members are not supported");
    if ((lflags & 0x8) == 0) {
      // Without a data descriptor the local header carries the real CRC and sizes.
      const auto lz64 =
          detail::zip64_extra(b.subspan(static_cast<std::size_t>(local) + 30 + lname_len, lextra_len), label,
                              where + " (local header)");
      detail::apply_zip64(lz64, {&lusize, &lcsize}, label, where + " (local header)");
      if (lcrc != crc || lcsize != csize || lusize != usize)
        throw fail(where, ": local header (crc ", lcrc, ", sizes ", lcsize, "/", lusize,
                   ") disagrees with the central directory (crc ", crc, ", sizes ", csize, "/", usize, ")");
    }
    const std::uint64_t data_begin = local + 30 + lname_len + lextra_len;
    if (csize > cd_offset - data_begin)
      throw fail(where, ": ", csize, " bytes of data at offset ", data_begin,
                 " run past the central directory");

    std::string key = name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
    auto [it, inserted] =
        out.members_.emplace(std::move(key), member{name, method, crc, csize, usize, data_begin});
    if (!inserted) throw fail(where, ": duplicate array name");
    extents.push_back({local, data_begin + csize, &it->second.zip_name});
  }
  if (p != cd_end) throw fail(cd_end - p, " unused bytes in the central directory (entry count mismatch)");
  std::sort(extents.begin(), extents.end(),
            [](const extent& x, const extent& y) { return x.begin < y.begin; });
  for (std::size_t i = 1; i < extents.size(); ++i)
    if (extents[i].begin < extents[i - 1].end)
      throw fail("members '", detail::printable_key(*extents[i - 1].name), "' and '",
                 detail::printable_key(*extents[i].name), "' overlap");
  out.file_ = std::move(file);
  return out;
}

/// Builds an .npz archive in memory (STORED or DEFLATE members, no zip64: members and the archive must stay
/// below 4 GiB). np.load reads the result.
class npz_writer {
 public:
  explicit npz_writer(bool compress = false) : compress_(compress) {}

  /// Adds array `name` (stored as `<name>.npy`).
  void add(const std::string& name, const npy_array& a) { add_member(name + ".npy", encode_npy(a)); }
  template <class T>
  void add(const std::string& name, const std::vector<index_t>& shape, std::span<const T> values) {
    add_member(name + ".npy", encode_npy<T>(shape, values));
  }
  template <class T>
  requires(!std::is_same_v<T, bool>)  // std::vector<bool> is not contiguous; pass a span of bool instead
      void add(const std::string& name, const std::vector<index_t>& shape, const std::vector<T>& values) {
    add<T>(name, shape, std::span<const T>(values));
  }
  /// Adds a raw member (any bytes) under its full zip name.
  void add_member(std::string zip_name, std::vector<std::byte> bytes) {
    if (zip_name.empty() || zip_name.size() > 0xffff) throw make_error("npz_writer", "invalid member name");
    for (const auto& m : members_)
      if (m.name == zip_name) throw make_error("npz_writer", "duplicate member '", zip_name, "'");
    members_.push_back({std::move(zip_name), std::move(bytes)});
  }

  std::vector<std::byte> to_bytes() const {
    using detail::store_le;
    std::vector<std::byte> out, central;
    const auto put = [](std::vector<std::byte>& v, auto value) {
      const std::size_t at = v.size();
      v.resize(at + sizeof(value));
      store_le(v.data() + at, value);
    };
    const auto put_bytes = [](std::vector<std::byte>& v, const void* p, std::size_t n) {
      const auto* s = static_cast<const std::byte*>(p);
      v.insert(v.end(), s, s + n);
    };
    for (const auto& m : members_) {
      const std::uint32_t crc = detail::crc32_of(m.bytes);
      const std::uint16_t method = compress_ ? 8 : 0;
      const std::vector<std::byte> data = compress_ ? detail::deflate_raw(m.bytes) : m.bytes;
      if (m.bytes.size() >= detail::zip_u32_sentinel || data.size() >= detail::zip_u32_sentinel ||
          out.size() >= detail::zip_u32_sentinel)
        throw make_error("npz_writer", "member '", m.name,
                         "' needs zip64, which the writer does not produce");
      const auto offset = static_cast<std::uint32_t>(out.size());
      for (std::vector<std::byte>* v : {&out, &central}) {
        const bool is_central = v == &central;
        put(*v, is_central ? detail::zip_central_sig : detail::zip_local_sig);
        if (is_central) put(*v, std::uint16_t{20});  // version made by
        put(*v, std::uint16_t{20});                  // version needed: 2.0 (deflate)
        put(*v, std::uint16_t{0});                   // flags
        put(*v, method);
        put(*v, std::uint16_t{0});     // time 00:00:00
        put(*v, std::uint16_t{0x21});  // date 1980-01-01 (reproducible output)
        put(*v, crc);
        put(*v, static_cast<std::uint32_t>(data.size()));
        put(*v, static_cast<std::uint32_t>(m.bytes.size()));
        put(*v, static_cast<std::uint16_t>(m.name.size()));
        put(*v, std::uint16_t{0});  // extra length
        if (is_central) {
          put(*v, std::uint16_t{0});  // comment length
          put(*v, std::uint16_t{0});  // disk number
          put(*v, std::uint16_t{0});  // internal attributes
          put(*v, std::uint32_t{0});  // external attributes
          put(*v, offset);
        }
        put_bytes(*v, m.name.data(), m.name.size());
      }
      put_bytes(out, data.data(), data.size());
    }
    if (members_.size() >= 0xffff || out.size() >= detail::zip_u32_sentinel)
      throw make_error("npz_writer", "archive needs zip64, which the writer does not produce");
    const auto cd_offset = static_cast<std::uint32_t>(out.size());
    put_bytes(out, central.data(), central.size());
    put(out, detail::zip_eocd_sig);
    put(out, std::uint16_t{0});
    put(out, std::uint16_t{0});
    put(out, static_cast<std::uint16_t>(members_.size()));
    put(out, static_cast<std::uint16_t>(members_.size()));
    put(out, static_cast<std::uint32_t>(central.size()));
    put(out, cd_offset);
    put(out, std::uint16_t{0});
    return out;
  }

  void write(const std::filesystem::path& path) const {
    const auto bytes = to_bytes();
    write_file_bytes(path, bytes, "npz_writer");
  }

 private:
  struct entry {
    std::string name;
    std::vector<std::byte> bytes;
  };
  bool compress_;
  std::vector<entry> members_;
};

}  // namespace sanawm::io

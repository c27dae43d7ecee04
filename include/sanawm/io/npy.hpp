// SPDX-License-Identifier: Apache-2.0
// sanawm/io/npy.hpp — strict NumPy .npy reader and writer (format 1.0/2.0/3.0, numeric dtypes, C and Fortran
// order).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/npy.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <algorithm>         // std::reverse
#include <bit>               // std::endian
#include <cstddef>           // std::byte, std::size_t
#include <cstdint>           // std::uint16_t, std::uint32_t
#include <cstring>           // std::memcpy
#include <filesystem>        // std::filesystem::path
#include <initializer_list>  // read_npy_as(path, {shape...})
#include <optional>          // std::optional
#include <span>              // std::span
#include <string>            // std::string
#include <string_view>       // std::string_view
#include <vector>            // std::vector

#include "sanawm/core/error.hpp"      // make_error
#include "sanawm/core/int.hpp"        // index_t
#include "sanawm/io/dtype.hpp"        // st_dtype, convert_elements
#include "sanawm/io/json.hpp"         // detail::printable_key
#include "sanawm/io/mapped_file.hpp"  // read_file_bytes, write_file_bytes

namespace sanawm::io {

/// A decoded .npy array: the data is always little-endian and C order, whatever the file used.
struct npy_array {
  st_dtype dtype = st_dtype::F64;
  std::vector<index_t> shape;   ///< outermost first; empty for a 0-d array
  std::vector<std::byte> data;  ///< numel() · st_dtype_size(dtype) bytes

  index_t numel() const noexcept { return detail::numel_of(shape); }

  /// The values converted to T (rules of convert_elements).
  template <st_readable T>
  std::vector<T> as(std::string_view context = "<npy>") const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    convert_elements<T>(dtype, data.data(), out.size(), out.data(), "npy", context);
    return out;
  }
};

/// The parsed header of a .npy file.
struct npy_header {
  int major_version = 1;
  st_dtype dtype = st_dtype::F64;
  bool big_endian = false;     ///< '>' byte order (converted on read)
  bool fortran_order = false;  ///< column-major data (transposed to C order on read)
  std::vector<index_t> shape;
  std::size_t data_offset = 0;  ///< where the raw data starts
  std::size_t data_bytes = 0;   ///< numel · itemsize
};

namespace detail {

inline constexpr unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/// The NumPy descr string for `d` ("<f4"); std::nullopt for types NumPy has no standard descr for.
inline std::optional<std::string> npy_descr(st_dtype d) {
  switch (d) {
    case st_dtype::BOOL:
      return "|b1";
    case st_dtype::U8:
      return "|u1";
    case st_dtype::I8:
      return "|i1";
    case st_dtype::U16:
      return "<u2";
    case st_dtype::I16:
      return "<i2";
    case st_dtype::U32:
      return "<u4";
    case st_dtype::I32:
      return "<i4";
    case st_dtype::U64:
      return "<u8";
    case st_dtype::I64:
      return "<i8";
    case st_dtype::F16:
      return "<f2";
    case st_dtype::F32:
      return "<f4";
    case st_dtype::F64:
      return "<f8";
    default:
      return std::nullopt;
  }
}

/// A strict parser for the one Python literal NumPy writes as the header:
/// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } — a dict of str keys to str, bool or int
/// tuple.
class npy_header_parser {
 public:
  npy_header_parser(std::string_view text, std::string_view label) : s_(text), label_(label) {}

  npy_header parse() {
    npy_header h;
    bool have_descr = false, have_order = false, have_shape = false;
    std::string descr;
    skip_ws();
    expect('{');
    skip_ws();
    while (!at('}')) {
      const std::string key = string_literal();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail("duplicate key 'descr'");
        if (at('[')) fail("structured dtypes (a descr list) are not supported");
        descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail("duplicate key 'fortran_order'");
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail("duplicate key 'shape'");
        h.shape = int_tuple();
        have_shape = true;
      } else {
        fail(str_cat("unexpected key '", printable_key(key), "'"));
      }
      skip_ws();
      if (at(',')) {
        ++pos_;
        skip_ws();
      } else if (!at('}')) {
        fail("expected ',' or '}'");
      }
    }
    ++pos_;
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!have_descr || !have_order || !have_shape)
      fail("the header dict must hold 'descr', 'fortran_order' and 'shape'");
    parse_descr(descr, h);
    return h;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw make_error("npy", label_, ": bad header (", what, ") at header byte ", pos_);
  }
  bool at(char c) const noexcept { return pos_ < s_.size() && s_[pos_] == c; }
  void expect(char c) {
    if (!at(c)) fail(str_cat("expected '", c, "'"));
    ++pos_;
  }
  void skip_ws() noexcept {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  std::string string_literal() {
    if (!at('\'') && !at('"')) fail("expected a string literal");
    const char quote = s_[pos_++];
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') fail("escape sequences are not supported in header strings");
      ++pos_;
    }
    if (pos_ >= s_.size()) fail("unterminated string literal");
    return std::string(s_.substr(start, pos_++ - start));
  }
  bool boolean() {
    if (s_.substr(pos_).starts_with("True")) {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_).starts_with("False")) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  index_t integer() {
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(s_[pos_] - '0');
      if (v > (std::uint64_t{1} << 62)) fail("shape extent too large");
      ++pos_;
    }
    if (pos_ == start) fail("expected a non-negative integer");
    if (at('L')) ++pos_;  // Python 2 era files wrote long literals as 3L
    return static_cast<index_t>(v);
  }
  std::vector<index_t> int_tuple() {
    std::vector<index_t> out;
    expect('(');
    skip_ws();
    bool trailing_comma = false;
    while (!at(')')) {
      if (out.size() >= 64) fail("more than 64 dimensions");
      out.push_back(integer());
      skip_ws();
      trailing_comma = false;
      if (at(',')) {
        ++pos_;
        trailing_comma = true;
        skip_ws();
      } else if (!at(')')) {
        fail("expected ',' or ')' in the shape tuple");
      }
    }
    ++pos_;
    // "(3)" is the integer 3 in Python, not a tuple: NumPy rejects it too.
    if (out.size() == 1 && !trailing_comma) fail("a one-element shape must be written (n,)");
    return out;
  }
  void parse_descr(std::string_view d, npy_header& h) const {
    const auto bad = [&](std::string_view why) {
      throw make_error("npy", label_, ": unsupported dtype '", printable_key(d), "' (", why, ")");
    };
    if (d.size() < 3) bad("expected a byte order, a kind and a size, e.g. '<f4'");
    const char order = d[0];
    const std::string_view code = d.substr(1);
    if (order != '<' && order != '>' && order != '|' && order != '=') bad("unknown byte order");
    std::optional<st_dtype> t;
    if (code == "f2")
      t = st_dtype::F16;
    else if (code == "f4")
      t = st_dtype::F32;
    else if (code == "f8")
      t = st_dtype::F64;
    else if (code == "i1")
      t = st_dtype::I8;
    else if (code == "i2")
      t = st_dtype::I16;
    else if (code == "i4")
      t = st_dtype::I32;
    else if (code == "i8")
      t = st_dtype::I64;
    else if (code == "u1")
      t = st_dtype::U8;
    else if (code == "u2")
      t = st_dtype::U16;
    else if (code == "u4")
      t = st_dtype::U32;
    else if (code == "u8")
      t = st_dtype::U64;
    else if (code == "b1")
      t = st_dtype::BOOL;
    if (!t) bad("supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1");
    if (order == '|' && st_dtype_size(*t) != 1) bad("'|' (not applicable) byte order on a multi-byte type");
    h.dtype = *t;
    // '=' is native order; sanawm hosts are little-endian, as are the files NumPy writes on them.
    h.big_endian = order == '>' && st_dtype_size(*t) > 1;
  }

  std::string_view s_;
  std::string_view label_;
  std::size_t pos_ = 0;
};

}  // namespace detail

/// Parses and validates the header of a .npy file held in `bytes`: magic, version (1.0, 2.0 or 3.0), header
/// length within the file, the header dict, and a data size of exactly numel · itemsize (trailing bytes are
/// an error). Throws "[npy] <label>: <problem>".
inline npy_header parse_npy_header(std::span<const std::byte> bytes, std::string_view label = "<memory>") {
  auto fail = [&](const auto&... parts) -> error { return make_error("npy", label, ": ", parts...); };
  if (bytes.size() < 10) throw fail("file is ", bytes.size(), " bytes, too short for a .npy header");
  if (std::memcmp(bytes.data(), detail::npy_magic, 6) != 0) throw fail("missing the \\x93NUMPY magic");
  const int major = static_cast<int>(bytes[6]), minor = static_cast<int>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) throw fail("unsupported format version ", major, ".", minor);
  std::size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = detail::load_le<std::uint16_t>(bytes.data() + 8);
    prefix = 10;
  } else {
    if (bytes.size() < 12)
      throw fail("file is ", bytes.size(), " bytes, too short for a version ", major, " header");
    header_len = detail::load_le<std::uint32_t>(bytes.data() + 8);
    prefix = 12;
  }
  if (header_len > bytes.size() - prefix)
    throw fail("header length ", header_len, " exceeds the ", bytes.size() - prefix, " bytes that follow");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);
  // Versions 1.0 and 2.0 are latin-1/ASCII; 3.0 allows UTF-8 only for field names of structured dtypes,
  // which sanawm rejects anyway, so every accepted header is ASCII.
  npy_header h = detail::npy_header_parser(text, label).parse();
  h.major_version = major;
  h.data_offset = prefix + header_len;
  const auto nbytes = detail::checked_nbytes(h.shape, st_dtype_size(h.dtype));
  if (!nbytes) throw fail("shape ", shape_string(h.shape), " overflows the addressable size");
  h.data_bytes = *nbytes;
  const std::size_t have = bytes.size() - h.data_offset;
  if (have < h.data_bytes)
    throw fail("data is truncated: ", shape_string(h.shape), " of ", st_dtype_name(h.dtype), " needs ",
               h.data_bytes, " bytes, the file has ", have);
  if (have > h.data_bytes)
    throw fail(have - h.data_bytes, " bytes of trailing data after the ", h.data_bytes, "-byte array");
  return h;
}

/// Decodes a whole .npy file held in `bytes`. Big-endian data is byte-swapped and Fortran-order data is
/// transposed, so the result is always little-endian C order.
inline npy_array parse_npy(std::span<const std::byte> bytes, std::string_view label = "<memory>") {
  const npy_header h = parse_npy_header(bytes, label);
  npy_array out;
  out.dtype = h.dtype;
  out.shape = h.shape;
  const std::byte* src = bytes.data() + h.data_offset;
  const std::size_t item = st_dtype_size(h.dtype);
  const std::size_t n = h.data_bytes / item;
  out.data.resize(h.data_bytes);
  const std::size_t rank = h.shape.size();
  if (!h.fortran_order || rank < 2 || n == 0) {
    if (h.data_bytes) std::memcpy(out.data.data(), src, h.data_bytes);
  } else {
    // Walk the C-order destination with an odometer and track the Fortran-order source offset, whose
    // stride along axis k is the product of the extents before k.
    std::vector<std::size_t> fstride(rank), idx(rank, 0);
    std::size_t s = 1;
    for (std::size_t k = 0; k < rank; ++k) {
      fstride[k] = s;
      s *= static_cast<std::size_t>(h.shape[k]);
    }
    std::size_t off = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::memcpy(out.data.data() + i * item, src + off * item, item);
      for (std::size_t k = rank; k-- > 0;) {
        if (++idx[k] < static_cast<std::size_t>(h.shape[k])) {
          off += fstride[k];
          break;
        }
        off -= fstride[k] * (idx[k] - 1);
        idx[k] = 0;
      }
    }
  }
  if (h.big_endian)
    for (std::size_t i = 0; i < n; ++i)
      std::reverse(out.data.data() + i * item, out.data.data() + (i + 1) * item);
  return out;
}

/// Reads and decodes the .npy file at `path`.
inline npy_array read_npy(const std::filesystem::path& path) {
  const auto m = mapped_file::map(path, "npy");
  return parse_npy(m.bytes(), m.label());
}

/// Reads `path` and converts it to T, checking the shape when `expected_shape` is given.
template <st_readable T>
std::vector<T> read_npy_as(const std::filesystem::path& path,
                           std::optional<std::vector<index_t>> expected_shape = {}) {
  const npy_array a = read_npy(path);
  if (expected_shape && a.shape != *expected_shape)
    throw make_error("npy", path.string(), ": array has shape ", shape_string(a.shape), " but ",
                     shape_string(*expected_shape), " was expected");
  return a.as<T>(path.string());
}

/// Encodes a little-endian C-order array as a .npy file (version 1.0, or 2.0 when the header needs it);
/// the header is padded so the data starts at a multiple of 64 bytes, as NumPy does.
inline std::vector<std::byte> encode_npy(st_dtype dtype, const std::vector<index_t>& shape,
                                         std::span<const std::byte> data) {
  const auto descr = detail::npy_descr(dtype);
  if (!descr) throw make_error("npy", "dtype ", st_dtype_name(dtype), " has no standard NumPy descr");
  const auto need = detail::checked_nbytes(shape, st_dtype_size(dtype));
  if (!need) throw make_error("npy", "invalid shape ", shape_string(shape));
  if (*need != data.size())
    throw make_error("npy", st_dtype_name(dtype), " ", shape_string(shape), " needs ", *need, " bytes, got ",
                     data.size());
  std::string dict = "{'descr': '" + *descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += str_cat(i ? ", " : "", shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  // Version 1.0 stores the header length in 16 bits; a header of more than 64 KiB (huge ranks) needs 2.0.
  int major = 1;
  std::size_t prefix = 10;
  const auto padded_total = [&](std::size_t pre) { return (pre + dict.size() + 1 + 63) / 64 * 64; };
  if (padded_total(prefix) - prefix > 65535) {
    major = 2;
    prefix = 12;
  }
  const std::size_t total = padded_total(prefix);
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::vector<std::byte> out(total + data.size());
  std::memcpy(out.data(), detail::npy_magic, 6);
  out[6] = static_cast<std::byte>(major);
  out[7] = std::byte{0};
  if (major == 1)
    detail::store_le<std::uint16_t>(out.data() + 8, static_cast<std::uint16_t>(dict.size()));
  else
    detail::store_le<std::uint32_t>(out.data() + 8, static_cast<std::uint32_t>(dict.size()));
  std::memcpy(out.data() + prefix, dict.data(), dict.size());
  if (!data.empty()) std::memcpy(out.data() + total, data.data(), data.size());
  return out;
}

inline std::vector<std::byte> encode_npy(const npy_array& a) {
  return encode_npy(a.dtype, a.shape, a.data);
}

/// Encodes host values of type T (dtype st_dtype_of<T>).
template <class T>
std::vector<std::byte> encode_npy(const std::vector<index_t>& shape, std::span<const T> values) {
  static_assert(std::endian::native == std::endian::little || sizeof(T) == 1,
                "sanawm::io: big-endian hosts are not supported");
  return encode_npy(st_dtype_of<T>, shape, std::as_bytes(values));
}

/// Writes a .npy file (through a temporary file and a rename).
inline void write_npy(const std::filesystem::path& path, const npy_array& a) {
  const auto bytes = encode_npy(a);
  write_file_bytes(path, bytes, "npy");
}
template <class T>
void write_npy(const std::filesystem::path& path, const std::vector<index_t>& shape,
               std::span<const T> values) {
  const auto bytes = encode_npy<T>(shape, values);
  write_file_bytes(path, bytes, "npy");
}

}  // namespace sanawm::io

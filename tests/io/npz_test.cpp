// SPDX-License-Identifier: Apache-2.0
// tests/io/npz_test.cpp — .npz reading: NumPy fixtures, zip archives built here with zlib, and every kind of
// corruption.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "io_test_util.hpp"
#include "sanawm/io/npz.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::io;
using sanawm::test::append;
using sanawm::test::append_le;
using sanawm::test::temp_dir;

/// Raw deflate with zlib, independent of the library's writer.
std::vector<std::byte> zlib_deflate(const std::vector<std::byte>& in, int level = 9) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<std::byte> out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::uint32_t crc_of(const std::vector<std::byte>& d) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size())));
}

/// One member of a hand-built zip archive, with knobs for every field the reader validates.
struct zip_member {
  std::string name{};
  std::vector<std::byte> data{};  ///< uncompressed content
  bool deflate = false;
  bool zip64_local = false;      ///< NumPy style: local sizes 0xFFFFFFFF plus a zip64 extra field
  bool zip64_central = false;    ///< central sizes and offset in a zip64 extra field
  bool data_descriptor = false;  ///< flag bit 3: zero CRC/sizes locally, a descriptor after the data
  std::uint16_t extra_flags = 0;
  std::optional<std::uint16_t> method{};
  std::optional<std::uint32_t> crc{};        ///< central and local
  std::optional<std::uint32_t> local_crc{};  ///< local only
  std::optional<std::string> local_name{};
  std::optional<std::vector<std::byte>> payload{};  ///< raw bytes stored instead of the (compressed) data
  std::optional<std::uint64_t> csize{}, usize{};    ///< recorded sizes (central and local)
  bool drop_zip64_extra = false;                    ///< sentinel sizes without the extra field
};

struct zip_options {
  bool zip64_eocd = false;
  std::string comment{};
  std::optional<std::uint16_t> entries{};  ///< recorded entry count
  std::optional<std::uint32_t> cd_offset_delta{};
  std::uint16_t disk = 0;
};

std::vector<std::byte> build_zip(const std::vector<zip_member>& members, const zip_options& opt = {}) {
  std::vector<std::byte> out, central;
  for (const auto& m : members) {
    const std::vector<std::byte> payload =
        m.payload ? *m.payload : (m.deflate ? zlib_deflate(m.data) : m.data);
    const std::uint32_t crc = m.crc.value_or(crc_of(m.data));
    const std::uint64_t csize = m.csize.value_or(payload.size()), usize = m.usize.value_or(m.data.size());
    const std::uint16_t method = m.method.value_or(m.deflate ? 8 : 0);
    const std::uint16_t flags = static_cast<std::uint16_t>(m.extra_flags | (m.data_descriptor ? 0x8 : 0));
    const std::uint64_t offset = out.size();
    const std::string lname = m.local_name.value_or(m.name);
    // local header
    append_le<std::uint32_t>(out, 0x04034b50);
    append_le<std::uint16_t>(out, m.zip64_local ? 45 : 20);
    append_le<std::uint16_t>(out, flags);
    append_le<std::uint16_t>(out, method);
    append_le<std::uint32_t>(out, 0x00210000);
    append_le<std::uint32_t>(out, m.data_descriptor ? 0 : m.local_crc.value_or(crc));
    const bool l64 = m.zip64_local && !m.data_descriptor;
    append_le<std::uint32_t>(out, m.data_descriptor ? 0
                                  : l64             ? 0xffffffffu
                                                    : static_cast<std::uint32_t>(csize));
    append_le<std::uint32_t>(out, m.data_descriptor ? 0
                                  : l64             ? 0xffffffffu
                                                    : static_cast<std::uint32_t>(usize));
    append_le<std::uint16_t>(out, static_cast<std::uint16_t>(lname.size()));
    append_le<std::uint16_t>(out, l64 && !m.drop_zip64_extra ? 20 : 0);
    append(out, lname);
    if (l64 && !m.drop_zip64_extra) {
      append_le<std::uint16_t>(out, 0x0001);
      append_le<std::uint16_t>(out, 16);
      append_le<std::uint64_t>(out, usize);
      append_le<std::uint64_t>(out, csize);
    }
    out.insert(out.end(), payload.begin(), payload.end());
    if (m.data_descriptor) {
      append_le<std::uint32_t>(out, 0x08074b50);
      append_le<std::uint32_t>(out, crc);
      append_le<std::uint32_t>(out, static_cast<std::uint32_t>(csize));
      append_le<std::uint32_t>(out, static_cast<std::uint32_t>(usize));
    }
    // central entry
    const bool c64 = m.zip64_central;
    append_le<std::uint32_t>(central, 0x02014b50);
    append_le<std::uint16_t>(central, 45);
    append_le<std::uint16_t>(central, c64 ? 45 : 20);
    append_le<std::uint16_t>(central, flags);
    append_le<std::uint16_t>(central, method);
    append_le<std::uint32_t>(central, 0x00210000);
    append_le<std::uint32_t>(central, crc);
    append_le<std::uint32_t>(central, c64 ? 0xffffffffu : static_cast<std::uint32_t>(csize));
    append_le<std::uint32_t>(central, c64 ? 0xffffffffu : static_cast<std::uint32_t>(usize));
    append_le<std::uint16_t>(central, static_cast<std::uint16_t>(m.name.size()));
    append_le<std::uint16_t>(central, c64 && !m.drop_zip64_extra ? 28 : 0);
    append_le<std::uint16_t>(central, 0);
    append_le<std::uint16_t>(central, 0);
    append_le<std::uint16_t>(central, 0);
    append_le<std::uint32_t>(central, 0);
    append_le<std::uint32_t>(central, c64 ? 0xffffffffu : static_cast<std::uint32_t>(offset));
    append(central, m.name);
    if (c64 && !m.drop_zip64_extra) {
      append_le<std::uint16_t>(central, 0x0001);
      append_le<std::uint16_t>(central, 24);
      append_le<std::uint64_t>(central, usize);
      append_le<std::uint64_t>(central, csize);
      append_le<std::uint64_t>(central, offset);
    }
  }
  const std::uint64_t cd_offset = out.size() + opt.cd_offset_delta.value_or(0);
  out.insert(out.end(), central.begin(), central.end());
  const std::uint64_t n = opt.entries.value_or(static_cast<std::uint16_t>(members.size()));
  if (opt.zip64_eocd) {
    const std::uint64_t z = out.size();
    append_le<std::uint32_t>(out, 0x06064b50);
    append_le<std::uint64_t>(out, 44);
    append_le<std::uint16_t>(out, 45);
    append_le<std::uint16_t>(out, 45);
    append_le<std::uint32_t>(out, 0);
    append_le<std::uint32_t>(out, 0);
    append_le<std::uint64_t>(out, n);
    append_le<std::uint64_t>(out, n);
    append_le<std::uint64_t>(out, central.size());
    append_le<std::uint64_t>(out, cd_offset);
    append_le<std::uint32_t>(out, 0x07064b50);
    append_le<std::uint32_t>(out, 0);
    append_le<std::uint64_t>(out, z);
    append_le<std::uint32_t>(out, 1);
  }
  append_le<std::uint32_t>(out, 0x06054b50);
  append_le<std::uint16_t>(out, opt.disk);
  append_le<std::uint16_t>(out, opt.disk);
  append_le<std::uint16_t>(out, opt.zip64_eocd ? 0xffff : static_cast<std::uint16_t>(n));
  append_le<std::uint16_t>(out, opt.zip64_eocd ? 0xffff : static_cast<std::uint16_t>(n));
  append_le<std::uint32_t>(out, opt.zip64_eocd ? 0xffffffffu : static_cast<std::uint32_t>(central.size()));
  append_le<std::uint32_t>(out, opt.zip64_eocd ? 0xffffffffu : static_cast<std::uint32_t>(cd_offset));
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(opt.comment.size()));
  append(out, opt.comment);
  return out;
}

template <class T>
std::vector<std::byte> npy_of(std::vector<index_t> shape, const std::vector<T>& v) {
  return encode_npy<T>(shape, std::span<const T>(v));
}

npz_file parse(std::vector<std::byte> b) {
  return npz_file::from_bytes(std::move(b), "<z>");
}

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 17) * 0.5f;  // compressible
  return v;
}

TEST(Npz, WriterRoundTripStoredAndDeflate) {
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress ? "deflate" : "stored");
    npz_writer w(compress);
    w.add<float>("c2w", {2, 4, 4}, ramp(32));
    w.add<std::int64_t>("n", {1}, std::vector<std::int64_t>{3});
    w.add("fps", parse_npy(npy_of<double>({}, {16.0})));
    SANAWM_EXPECT_ERROR(w.add<float>("n", {1}, std::vector<float>{1}), "duplicate member 'n.npy'");
    const auto z = parse(w.to_bytes());
    EXPECT_EQ(z.names(), (std::vector<std::string>{"c2w", "fps", "n"}));
    EXPECT_TRUE(z.contains("c2w.npy"));
    EXPECT_FALSE(z.contains("c2"));
    EXPECT_EQ(z.read_as<float>("c2w", {2, 4, 4}), ramp(32));
    EXPECT_EQ(z.read_as<int>("n"), std::vector<int>{3});
    EXPECT_EQ(z.read_as<double>("fps.npy"), std::vector<double>{16.0});
    SANAWM_EXPECT_ERROR(z.read_as<float>("c2w", {32}),
                        "array 'c2w' has shape [2, 4, 4] but [32] was expected");
    SANAWM_EXPECT_ERROR(z.read("c2x"),
                        "[npz] <z>: no array named 'c2x' among 3 arrays (did you mean 'c2w'?)");
  }
  temp_dir dir;
  npz_writer w(true);
  w.add<float>("x", {3}, std::vector<float>{1, 2, 3});
  w.write(dir / "a.npz");
  EXPECT_EQ(npz_file::open(dir / "a.npz").read_as<float>("x"), (std::vector<float>{1, 2, 3}));
  SANAWM_EXPECT_ERROR(npz_file::open(dir / "b.npz"), "b.npz", "cannot open");
}

TEST(Npz, ReadsNumPyFixtures) {
  const auto dir = sanawm::test::corpus_dir("npz");
  // np.savez / np.savez_compressed(c2w=eye(4)[None].repeat(2, 0) as <f4, fps=[16.0], n=[3] as <i8): NumPy
  // writes zip64 local headers even for tiny members.
  for (const char* file : {"savez.npz", "savez_compressed.npz"}) {
    SCOPED_TRACE(file);
    const auto z = npz_file::open(dir / file);
    EXPECT_EQ(z.names(), (std::vector<std::string>{"c2w", "fps", "n"}));
    const auto c2w = z.read_as<float>("c2w", {2, 4, 4});
    for (std::size_t i = 0; i < 32; ++i) EXPECT_EQ(c2w[i], (i % 16) % 5 == 0 ? 1.0f : 0.0f) << i;
    EXPECT_EQ(z.read_as<double>("fps", {1}), std::vector<double>{16.0});
    EXPECT_EQ(z.read_as<std::int64_t>("n", {1}), std::vector<std::int64_t>{3});
  }
  EXPECT_EQ(npz_file::open(dir / "empty.npz").size(), 0u);
  const auto bad = npz_file::open(dir / "bad_crc.npz");
  SANAWM_EXPECT_ERROR(bad.read("c2w"), "member 'c2w.npy': CRC-32 mismatch");
  EXPECT_EQ(bad.read_as<double>("fps")[0], 16.0);
  SANAWM_EXPECT_ERROR(npz_file::open(dir / "truncated.npz"), "truncated.npz");
}

TEST(Npz, HandBuiltDeflateArchivesWithZlib) {
  const auto a = npy_of<float>({64}, ramp(64));
  const auto b = npy_of<std::int32_t>({2}, {7, -7});
  // Plain deflate, NumPy-style zip64 local headers, zip64 central entries + zip64 end record, descriptors.
  std::vector<zip_options> opts(2);
  opts[1].zip64_eocd = true;
  opts[1].comment = "archive comment";
  for (const auto& opt : opts) {
    const auto z =
        parse(build_zip({{.name = "a.npy", .data = a, .deflate = true},
                         {.name = "b.npy", .data = b, .deflate = true, .zip64_local = true},
                         {.name = "c.npy", .data = b, .zip64_local = true, .zip64_central = true},
                         {.name = "d.npy", .data = a, .deflate = true, .data_descriptor = true},
                         {.name = "e.npy", .data = b, .zip64_central = true, .data_descriptor = true}},
                        opt));
    EXPECT_EQ(z.names(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
    EXPECT_EQ(z.read_as<float>("a"), ramp(64));
    EXPECT_EQ(z.read_as<int>("b"), (std::vector<int>{7, -7}));
    EXPECT_EQ(z.read_as<int>("c"), (std::vector<int>{7, -7}));
    EXPECT_EQ(z.read_as<float>("d"), ramp(64));
    EXPECT_EQ(z.read_as<int>("e"), (std::vector<int>{7, -7}));
  }
  // Level-0 deflate (stored blocks inside a deflate stream) and an empty member.
  const auto z =
      parse(build_zip({{.name = "a.npy", .data = a, .deflate = true, .payload = zlib_deflate(a, 0)},
                       {.name = "empty.bin", .data = {}}}));
  EXPECT_EQ(z.read_as<float>("a"), ramp(64));
  EXPECT_TRUE(z.read_member("empty.bin").empty());
  SANAWM_EXPECT_ERROR(z.read("empty.bin"), "[npy] <z>:empty.bin: file is 0 bytes");
}

TEST(Npz, CorruptMembersGiveClearErrors) {
  const auto a = npy_of<float>({64}, ramp(64));
  const auto deflated = zlib_deflate(a);
  struct bad_member {
    const char* what;
    zip_member m;
    const char* expect;
  };
  auto half = std::vector<std::byte>(deflated.begin(),
                                     deflated.begin() + static_cast<std::ptrdiff_t>(deflated.size() / 2));
  auto trailing = deflated;
  append(trailing, "xx");
  std::vector<std::byte> garbage(40, std::byte{0xff});
  const std::vector<bad_member> cases = {
      {"crc", {.name = "a.npy", .data = a, .crc = 1234}, "member 'a.npy': CRC-32 mismatch"},
      {"deflate crc", {.name = "a.npy", .data = a, .deflate = true, .crc = 1}, "CRC-32 mismatch"},
      {"deflate too long",
       {.name = "a.npy", .data = a, .deflate = true, .usize = a.size() - 1},
       "deflate data is larger than the declared"},
      {"deflate too short",
       {.name = "a.npy", .data = a, .deflate = true, .usize = a.size() + 1},
       "deflate data holds 384 bytes, the directory says 385"},
      {"deflate truncated",
       {.name = "a.npy", .data = a, .deflate = true, .payload = half},
       "deflate data is truncated"},
      {"deflate trailing",
       {.name = "a.npy", .data = a, .deflate = true, .payload = trailing},
       "2 bytes of data after the end of the deflate stream"},
      {"deflate garbage",
       {.name = "a.npy", .data = a, .deflate = true, .payload = garbage},
       "corrupt deflate data"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto z = parse(build_zip({c.m}));  // the directory is fine; reading the member fails
    SANAWM_EXPECT_ERROR(z.read("a"), "[npz] <z>: ", c.expect);
  }
}

TEST(Npz, CorruptArchivesGiveClearErrors) {
  const auto a = npy_of<float>({4}, ramp(4));
  const auto b = npy_of<float>({2}, ramp(2));
  struct bad_archive {
    const char* what;
    std::vector<zip_member> members;
    zip_options opt;
    const char* expect;
  };
  const std::vector<bad_archive> cases = {
      {"method", {{.name = "a.npy", .data = a, .method = 12}}, {}, "compression method 12 is not supported"},
      {"encrypted",
       {{.name = "a.npy", .data = a, .extra_flags = 1}},
       {},
       "encrypted members are not supported"},
      {"local name", {{.name = "a.npy", .data = a, .local_name = "b.npy"}}, {}, "local header names 'b.npy'"},
      {"local crc",
       {{.name = "a.npy", .data = a, .local_crc = 5}},
       {},
       "disagrees with the central directory"},
      {"duplicate", {{.name = "a.npy", .data = a}, {.name = "a.npy", .data = b}}, {}, "duplicate array name"},
      {"duplicate stem",
       {{.name = "a.npy", .data = a}, {.name = "a", .data = b}},
       {},
       "duplicate array name"},
      {"stored sizes", {{.name = "a.npy", .data = a, .usize = 3}}, {}, "STORED member with compressed size"},
      {"implausible",
       {{.name = "a.npy", .data = a, .deflate = true, .usize = 1ull << 31}},
       {},
       "implausible size"},
      {"zip64 extra missing",
       {{.name = "a.npy", .data = a, .zip64_central = true, .drop_zip64_extra = true}},
       {},
       "0xFFFFFFFF but the zip64 extra field is missing"},
      {"local zip64 extra missing",
       {{.name = "a.npy", .data = a, .zip64_local = true, .drop_zip64_extra = true}},
       {},
       "(local header): a size or offset is 0xFFFFFFFF"},
      {"overlap",
       {{.name = "a.npy", .data = a, .csize = a.size() + 40, .usize = a.size() + 40},
        {.name = "b.npy", .data = b}},
       {},
       "members 'a.npy' and 'b.npy' overlap"},
      {"past directory",
       {{.name = "a.npy", .data = a, .csize = 5000, .usize = 5000}},
       {},
       "run past the central directory"},
      {"empty name", {{.name = "", .data = a}}, {}, "has an empty name"},
      {"multi-disk", {{.name = "a.npy", .data = a}}, {.disk = 1}, "multi-disk archives are not supported"},
      {"too few entries",
       {{.name = "a.npy", .data = a}, {.name = "b.npy", .data = b}},
       {.entries = 1},
       "unused bytes in the central directory"},
      {"too many entries",
       {{.name = "a.npy", .data = a}, {.name = "b.npy", .data = b}},
       {.entries = 3},
       "cannot fit"},
      {"directory offset",
       {{.name = "a.npy", .data = a}},
       {.cd_offset_delta = 4},
       "lies outside the archive"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string msg = sanawm::test::error_of([&] { (void)parse(build_zip(c.members, c.opt)); });
    EXPECT_TRUE(msg.starts_with("[npz] <z>: ")) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
  }
  SANAWM_EXPECT_ERROR(parse(std::vector<std::byte>(21)), "too short for a zip archive");
  SANAWM_EXPECT_ERROR(parse(std::vector<std::byte>(100)), "no end-of-central-directory record");
  // The end record's comment length must reach the end of the file exactly.
  auto commented = build_zip({{.name = "a.npy", .data = a}}, {.comment = "hello"});
  EXPECT_EQ(parse(commented).size(), 1u);
  commented.pop_back();
  SANAWM_EXPECT_ERROR(parse(commented), "no end-of-central-directory record");
  // A zip64 end record that the locator does not point at.
  auto z64 = build_zip({{.name = "a.npy", .data = a}}, {.zip64_eocd = true});
  z64[z64.size() - 22 - 20 + 8] = std::byte{1};
  SANAWM_EXPECT_ERROR(parse(z64), "zip64 end record");
}

TEST(Npz, EveryTruncationIsRejected) {
  npz_writer w(true);
  w.add<float>("x", {3}, std::vector<float>{1, 2, 3});
  w.add<std::int8_t>("y", {2}, std::vector<std::int8_t>{1, 2});
  const auto full = w.to_bytes();
  EXPECT_EQ(parse(full).size(), 2u);
  for (std::size_t n = 0; n < full.size(); ++n) {
    const std::string msg = sanawm::test::error_of([&] {
      (void)parse(std::vector<std::byte>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    });
    EXPECT_TRUE(msg.starts_with("[npz] <z>: ")) << n << ": " << msg;
  }
}

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// tests/io/npy_test.cpp — .npy round trips, NumPy-written fixtures (byte order, Fortran order, versions), bad
// headers.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io_test_util.hpp"
#include "sanawm/io/npy.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::io;
using sanawm::test::append;
using sanawm::test::append_le;
using sanawm::test::temp_dir;

/// A .npy file with the given version, header text (unpadded) and raw data.
std::vector<std::byte> npy_file(std::string_view header, std::vector<std::byte> data = {}, int major = 1) {
  std::vector<std::byte> out;
  append(out, "\x93NUMPY");
  out.push_back(static_cast<std::byte>(major));
  out.push_back(std::byte{0});
  if (major == 1)
    append_le<std::uint16_t>(out, static_cast<std::uint16_t>(header.size()));
  else
    append_le<std::uint32_t>(out, static_cast<std::uint32_t>(header.size()));
  append(out, header);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<std::byte> f32_bytes(std::initializer_list<float> v) {
  std::vector<std::byte> out(v.size() * 4);
  std::memcpy(out.data(), std::data(v), out.size());
  return out;
}

template <class T>
void round_trip(std::span<const T> values, const std::vector<index_t>& shape) {
  const auto bytes = encode_npy<T>(shape, values);
  EXPECT_EQ(bytes.size() % 64, values.size() * sizeof(T) % 64) << "data starts at a multiple of 64";
  const npy_array a = parse_npy(bytes);
  EXPECT_EQ(a.dtype, st_dtype_of<T>);
  EXPECT_EQ(a.shape, shape);
  ASSERT_EQ(a.data.size(), values.size() * sizeof(T));
  if (!values.empty()) {  // memcmp of an empty vector's null data is undefined
    EXPECT_EQ(std::memcmp(a.data.data(), values.data(), a.data.size()), 0);
  }
}

template <class T>
void round_trip(const std::vector<T>& values, const std::vector<index_t>& shape) {
  round_trip<T>(std::span<const T>(values), shape);
}

TEST(Npy, RoundTripEveryDtype) {
  round_trip<float>({1.5f, -2.0f, 0.0f, 3e-40f, 1e38f, -0.0f}, {2, 3});
  round_trip<double>({std::numeric_limits<double>::max()}, {1});
  round_trip<double>({2.5}, {});  // 0-d
  round_trip<fp16>({fp16(1.0f), fp16(-2.0f)}, {2, 1, 1});
  round_trip<std::int8_t>({-128, 127}, {2});
  round_trip<std::int16_t>({-32768, 7}, {2});
  round_trip<std::int32_t>({-5, 6}, {1, 2});
  round_trip<std::int64_t>({std::numeric_limits<std::int64_t>::min()}, {1});
  round_trip<std::uint8_t>({0, 255}, {2});
  round_trip<std::uint16_t>({65535}, {1});
  round_trip<std::uint32_t>({4000000000u}, {1});
  round_trip<std::uint64_t>({~0ull}, {1});
  const bool bools[] = {true, false};  // std::vector<bool> has no contiguous storage
  round_trip<bool>(std::span<const bool>(bools), {2});
  round_trip<float>(std::vector<float>{}, {0, 3});
  SANAWM_EXPECT_ERROR(encode_npy(st_dtype::BF16, {1}, std::vector<std::byte>(2)),
                      "BF16 has no standard NumPy descr");
  SANAWM_EXPECT_ERROR(encode_npy(st_dtype::F32, {2}, std::vector<std::byte>(4)), "needs 8 bytes, got 4");
}

TEST(Npy, HeaderMatchesNumPyByteForByte) {
  // corpus/npy/f4_2x3.npy is np.save(np.arange(6, dtype='<f4').reshape(2, 3) - 2.5).
  const auto numpy = sanawm::test::read_bytes(sanawm::test::corpus_dir("npy") / "f4_2x3.npy");
  const std::vector<float> v = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
  EXPECT_EQ(encode_npy<float>({2, 3}, std::span<const float>(v)), numpy);
  const npy_array a = parse_npy(numpy);
  EXPECT_EQ(a.as<float>(), v);
}

TEST(Npy, ReadsNumPyFixtures) {
  const auto dir = sanawm::test::corpus_dir("npy");
  EXPECT_EQ(read_npy_as<double>(dir / "f8_scalar.npy", std::vector<index_t>{}), std::vector<double>{3.25});
  EXPECT_EQ(read_npy(dir / "f8_scalar.npy").shape.size(), 0u);
  EXPECT_EQ(read_npy_as<std::int64_t>(dir / "i8_1d.npy", std::vector<index_t>{3}),
            (std::vector<std::int64_t>{-5, 0, 7}));
  EXPECT_EQ(read_npy_as<int>(dir / "u1.npy"), (std::vector<int>{0, 255}));
  EXPECT_EQ(read_npy_as<int>(dir / "b1.npy"), (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(read_npy(dir / "b1.npy").dtype, st_dtype::BOOL);
  EXPECT_EQ(read_npy_as<float>(dir / "f2.npy"), (std::vector<float>{1.0f, -0.5f}));
  // '>f4' is byte-swapped on read: the stored array is little-endian.
  const npy_array be = read_npy(dir / "be_f4.npy");
  EXPECT_EQ(be.as<float>(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(encode_npy(be), encode_npy<float>({2}, std::span<const float>(std::vector<float>{1.5f, -2.0f})));
  // Fortran order is transposed to C order.
  EXPECT_EQ(read_npy_as<float>(dir / "fortran_f4_2x3.npy", std::vector<index_t>{2, 3}),
            (std::vector<float>{0, 1, 2, 3, 4, 5}));
  const auto v2 = parse_npy_header(sanawm::test::read_bytes(dir / "v2_i4.npy"));
  EXPECT_EQ(v2.major_version, 2);
  EXPECT_EQ(read_npy_as<int>(dir / "v2_i4.npy"), (std::vector<int>{1, 2}));
  EXPECT_EQ(read_npy_as<double>(dir / "v3_f8.npy"), std::vector<double>{0.5});
  SANAWM_EXPECT_ERROR(read_npy_as<float>(dir / "f4_2x3.npy", std::vector<index_t>{3, 2}),
                      "has shape [2, 3] but [3, 2] was expected");
  SANAWM_EXPECT_ERROR(read_npy(dir / "bad_magic.npy"), "bad_magic.npy", "missing the \\x93NUMPY magic");
  SANAWM_EXPECT_ERROR(read_npy(dir / "bad_shape.npy"), "4 bytes of trailing data");
  SANAWM_EXPECT_ERROR(read_npy(dir / "nope.npy"), "cannot open");
}

TEST(Npy, FortranOrderThreeDimensions) {
  // F-order data of shape (2, 3, 4): element (i, j, k) sits at i + 2j + 6k and holds 100i + 10j + k.
  std::vector<float> f(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        f[static_cast<std::size_t>(i + 2 * j + 6 * k)] = static_cast<float>(100 * i + 10 * j + k);
  std::vector<std::byte> raw(f.size() * 4);
  std::memcpy(raw.data(), f.data(), raw.size());
  const auto a = parse_npy(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }\n", raw));
  const auto c = a.as<float>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        EXPECT_EQ(c[static_cast<std::size_t>(12 * i + 4 * j + k)], 100 * i + 10 * j + k);
}

TEST(Npy, BigEndianIntegersAndHeaderVariants) {
  std::vector<std::byte> raw = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xfe},
                                std::byte{0x00}, std::byte{0x00}, std::byte{0x01}, std::byte{0x00}};
  EXPECT_EQ(parse_npy(npy_file("{'descr': '>i4', 'fortran_order': False, 'shape': (2,)}", raw)).as<int>(),
            (std::vector<int>{-2, 256}));
  // Double quotes, no trailing comma, Python 2 long literals, other key order: all legal Python literals.
  EXPECT_EQ(parse_npy(npy_file(R"({"shape": (2L,), "fortran_order": False, "descr": "<u4"})", raw)).shape,
            std::vector<index_t>{2});
  EXPECT_EQ(parse_npy(npy_file("{'descr': '=f4', 'fortran_order': False, 'shape': (1, ), }", f32_bytes({1})))
                .as<float>()[0],
            1.0f);
  EXPECT_EQ(
      parse_npy(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f32_bytes({1}), 2))
          .shape,
      std::vector<index_t>{1});
}

TEST(Npy, BadHeadersGiveClearErrors) {
  struct bad {
    const char* header;
    std::size_t data;
    const char* expect;
  };
  const std::vector<bad> cases = {
      {"{'descr': '<f4', 'fortran_order': False}", 0, "must hold 'descr', 'fortran_order' and 'shape'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, "unexpected key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "duplicate key 'descr'"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4, "bad header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", 4,
       "a one-element shape must be written (n,)"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", 4, "expected a non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4, "expected True or False"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4, "structured dtypes"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", 8, "unsupported dtype '<c8'"},
      {"{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", 8, "unsupported dtype '|O'"},
      {"{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", 4, "'|' (not applicable) byte order"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4,
       "unexpected text after the header dict"},
      {"{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", 4, "escape sequences"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 4,
       "shape extent too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 2)}", 4, "overflows"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 8,
       "data is truncated: [3] of F32 needs 12 bytes, the file has 8"},
      {"", 0, "expected '{'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.header);
    const std::string msg = sanawm::test::error_of(
        [&] { (void)parse_npy(npy_file(c.header, std::vector<std::byte>(c.data)), "x.npy"); });
    EXPECT_TRUE(msg.starts_with("[npy] x.npy: ")) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
  }
  auto v4 = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", f32_bytes({1}));
  v4[6] = std::byte{4};
  SANAWM_EXPECT_ERROR(parse_npy(v4), "unsupported format version 4.0");
  auto long_header = npy_file("{}");
  long_header[8] = std::byte{0xff};
  SANAWM_EXPECT_ERROR(parse_npy(long_header), "header length 255 exceeds the 2 bytes that follow");
  SANAWM_EXPECT_ERROR(parse_npy(std::vector<std::byte>(9)), "too short for a .npy header");
  const auto v2 = npy_file("", {}, 2);
  SANAWM_EXPECT_ERROR(parse_npy(std::span<const std::byte>(v2.data(), 11)),
                      "too short for a version 2 header");
  SANAWM_EXPECT_ERROR(
      parse_npy(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", f32_bytes({1})))
          .as<int>(),
      "cannot read F32 data as an integer type");
}

TEST(Npy, EveryTruncationIsRejected) {
  const std::vector<double> v = {1, 2, 3};
  const auto full = encode_npy<double>({3}, std::span<const double>(v));
  for (std::size_t n = 0; n < full.size(); ++n) {
    const std::string msg =
        sanawm::test::error_of([&] { (void)parse_npy(std::span<const std::byte>(full.data(), n), "t.npy"); });
    EXPECT_TRUE(msg.starts_with("[npy] t.npy: ")) << n << ": " << msg;
  }
}

TEST(Npy, WriteAndReadFile) {
  temp_dir dir;
  const std::vector<std::int32_t> v = {1, -2, 3, -4};
  write_npy<std::int32_t>(dir / "a.npy", {2, 2}, v);
  EXPECT_EQ(read_npy_as<std::int64_t>(dir / "a.npy", std::vector<index_t>{2, 2}),
            (std::vector<std::int64_t>{1, -2, 3, -4}));
  npy_array a = read_npy(dir / "a.npy");
  write_npy(dir / "b.npy", a);
  EXPECT_EQ(sanawm::test::read_bytes(dir / "a.npy"), sanawm::test::read_bytes(dir / "b.npy"));
}

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// tests/io/safetensors_test.cpp — safetensors reader/writer round trips, hostile headers, golden files,
// sharded index.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "io_test_util.hpp"
#include "sanawm/io/safetensors.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::io;
using sanawm::test::append;
using sanawm::test::append_le;
using sanawm::test::temp_dir;
using sanawm::test::to_bytes;

/// A file with header `json` (unpadded) and `data_bytes` bytes of data 0, 1, 2, ...
std::vector<std::byte> raw_file(std::string_view json, std::size_t data_bytes,
                                std::uint64_t header_len_override = ~0ull) {
  std::vector<std::byte> out;
  append_le<std::uint64_t>(out, header_len_override == ~0ull ? json.size() : header_len_override);
  append(out, json);
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<std::byte>(i));
  return out;
}

safetensors_file parse(std::vector<std::byte> bytes) {
  return safetensors_file::from_bytes(std::move(bytes), "<t>");
}

template <class T>
void round_trip_typed(std::span<const T> values, std::vector<index_t> shape) {
  safetensors_writer w;
  w.add<T>("t", shape, values);
  const auto f = parse(w.to_bytes());
  const st_tensor& t = f.at("t");
  EXPECT_EQ(t.dtype, st_dtype_of<T>);
  EXPECT_EQ(t.shape, shape);
  ASSERT_EQ(t.nbytes, values.size() * sizeof(T));
  if (t.nbytes) {  // memcmp of an empty vector's null data is undefined
    EXPECT_EQ(std::memcmp(t.data, values.data(), t.nbytes), 0) << st_dtype_name(st_dtype_of<T>);
  }
  if constexpr (st_readable<T>) {
    const auto back = f.read_as<T>("t");
    ASSERT_EQ(back.size(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i) EXPECT_TRUE(back[i] == values[i]) << i;
  }
}

template <class T>
void round_trip_typed(const std::vector<T>& values, std::vector<index_t> shape) {
  round_trip_typed<T>(std::span<const T>(values), std::move(shape));
}

TEST(Safetensors, RoundTripEveryDtype) {
  round_trip_typed<double>({-1.5, 0.0, 3.25e10, std::numeric_limits<double>::denorm_min()}, {2, 2});
  round_trip_typed<float>({-1.5f, 0.0f, 7e-39f, 1e30f, -0.0f, 2.0f}, {3, 2});
  round_trip_typed<bf16>({bf16(1.0f), bf16(-3.5f), bf16(1e-20f)}, {3});
  round_trip_typed<fp16>({fp16(1.0f), fp16(-0.25f), fp16(65504.0f), fp16(6e-8f)}, {4});
  round_trip_typed<fp8_e4m3>({fp8_e4m3(1.0f), fp8_e4m3(-448.0f), fp8_e4m3(0.015625f)}, {3});
  round_trip_typed<fp8_e5m2>({fp8_e5m2(1.0f), fp8_e5m2(-57344.0f), fp8_e5m2(0.5f)}, {3});
  round_trip_typed<ue8m0>({ue8m0::from_exponent(0), ue8m0::from_exponent(-10), ue8m0::from_exponent(7)}, {3});
  round_trip_typed<std::int64_t>(
      {std::numeric_limits<std::int64_t>::min(), -1, 0, std::numeric_limits<std::int64_t>::max()}, {4});
  round_trip_typed<std::uint64_t>({0, std::numeric_limits<std::uint64_t>::max()}, {2});
  round_trip_typed<std::int32_t>({std::numeric_limits<std::int32_t>::min(), 5}, {2, 1});
  round_trip_typed<std::uint32_t>({std::numeric_limits<std::uint32_t>::max(), 5}, {1, 2});
  round_trip_typed<std::int16_t>({-32768, 32767}, {2});
  round_trip_typed<std::uint16_t>({65535, 1}, {2});
  round_trip_typed<std::int8_t>({-128, 127, 0}, {3});
  round_trip_typed<std::uint8_t>({255, 0, 9}, {3});
  const bool bools[] = {true, false, true};  // std::vector<bool> has no contiguous storage
  round_trip_typed<bool>(std::span<const bool>(bools), {3});
  round_trip_typed<float>(std::vector<float>{}, {0, 5});  // empty tensors are legal
  round_trip_typed<double>({4.5}, {});                    // and so are scalars
}

TEST(Safetensors, ConvertsEveryDtypeToDouble) {
  safetensors_writer w2;
  const std::vector<std::byte> b = {std::byte{0}, std::byte{1}, std::byte{7}};
  w2.add("bool", st_dtype::BOOL, {3}, b);
  w2.add("e4m3", st_dtype::F8_E4M3, {3},
         std::vector<std::byte>{std::byte{0x38}, std::byte{0xFE}, std::byte{0x7F}});
  w2.add("e5m2", st_dtype::F8_E5M2, {3},
         std::vector<std::byte>{std::byte{0x3C}, std::byte{0x7C}, std::byte{0x01}});
  w2.add("e8m0", st_dtype::F8_E8M0, {2}, std::vector<std::byte>{std::byte{127}, std::byte{130}});
  w2.add<bf16>("bf16", {2}, std::vector<bf16>{bf16::from_bits(0x3F80), bf16::from_bits(0xC049)});
  w2.add<fp16>("f16", {2}, std::vector<fp16>{fp16::from_bits(0x3C00), fp16::from_bits(0x0001)});
  w2.add<std::uint64_t>("u64", {1}, std::vector<std::uint64_t>{(1ull << 63) + 2});
  w2.add<std::int16_t>("i16", {1}, std::vector<std::int16_t>{-300});
  const auto f = parse(w2.to_bytes());
  EXPECT_EQ(f.read_as<double>("bool"), (std::vector<double>{0, 1, 1}));
  const auto e4 = f.read_as<double>("e4m3");
  EXPECT_EQ(e4[0], 1.0);
  EXPECT_EQ(e4[1], -448.0);
  EXPECT_TRUE(std::isnan(e4[2]));
  const auto e5 = f.read_as<double>("e5m2");
  EXPECT_EQ(e5[0], 1.0);
  EXPECT_TRUE(std::isinf(e5[1]));
  EXPECT_EQ(e5[2], std::ldexp(1.0, -16));
  EXPECT_EQ(f.read_as<double>("e8m0"), (std::vector<double>{1.0, 8.0}));
  EXPECT_EQ(f.read_as<float>("bf16"), (std::vector<float>{1.0f, -3.140625f}));
  EXPECT_EQ(f.read_as<double>("f16"), (std::vector<double>{1.0, std::ldexp(1.0, -24)}));
  EXPECT_EQ(f.read_as<double>("u64")[0], std::ldexp(1.0, 63) + 2);
  EXPECT_EQ(f.read_as<std::uint64_t>("u64")[0], (1ull << 63) + 2);
  EXPECT_EQ(f.read_as<float>("i16")[0], -300.0f);
  // Narrowing to bf16/fp16 rounds once from the exact value.
  EXPECT_EQ(f.read_as<bf16>("f16")[0], bf16(1.0f));
  EXPECT_EQ(f.read_as<fp16>("bf16")[1], fp16(-3.140625f));
}

TEST(Safetensors, IntegerReadsAreRangeChecked) {
  safetensors_writer w;
  w.add<std::int64_t>("big", {2}, std::vector<std::int64_t>{1, 1ll << 40});
  w.add<std::int64_t>("neg", {1}, std::vector<std::int64_t>{-1});
  w.add<float>("f", {1}, std::vector<float>{1.0f});
  w.add<std::uint64_t>("huge", {1}, std::vector<std::uint64_t>{~0ull});
  const auto f = parse(w.to_bytes());
  EXPECT_EQ(f.read_as<std::int64_t>("big"), (std::vector<std::int64_t>{1, 1ll << 40}));
  SANAWM_EXPECT_ERROR(f.read_as<std::int32_t>("big"), "[safetensors] <t>: tensor 'big' (I64)", "element 1",
                      "does not fit");
  SANAWM_EXPECT_ERROR(f.read_as<std::uint32_t>("neg"), "element 0 = -1");
  SANAWM_EXPECT_ERROR(f.read_as<std::int64_t>("huge"), "18446744073709551615");
  SANAWM_EXPECT_ERROR(f.read_as<int>("f"), "cannot read F32 data as an integer type");
}

TEST(Safetensors, WriterLayoutIsAlignedAndContiguous) {
  safetensors_writer w;
  w.add<std::uint8_t>("a_u8", {3}, std::vector<std::uint8_t>{1, 2, 3});
  w.add<double>("b_f64", {1}, std::vector<double>{1.0});
  w.add<bf16>("c_bf16", {3}, std::vector<bf16>(3, bf16(2.0f)));
  w.add<float>("d_f32", {2}, std::vector<float>{1, 2});
  w.set_metadata("format", "pt");
  w.set_metadata("note", "ünïcode ✓");
  const auto bytes = w.to_bytes();
  const std::uint64_t n = sanawm::io::detail::load_le<std::uint64_t>(bytes.data());
  EXPECT_EQ(n % 8, 0u);
  const auto f = parse(bytes);
  // Descending element size keeps every tensor aligned to its element without gaps (the buffer is aligned).
  for (const auto& [name, t] : f.tensors()) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data) % st_dtype_size(t.dtype), 0u) << name;
  }
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "ünïcode ✓");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a_u8", "b_f64", "c_bf16", "d_f32"}));
  const auto v = f.view<float>("d_f32");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1], 2.0f);
  SANAWM_EXPECT_ERROR(f.view<float>("b_f64"), "is F64, not F32");
}

TEST(Safetensors, WriterRejectsBadInput) {
  safetensors_writer w;
  SANAWM_EXPECT_ERROR(w.add("x", st_dtype::F32, {2}, std::vector<std::byte>(7)), "needs 8 bytes, got 7");
  SANAWM_EXPECT_ERROR(w.add("x", st_dtype::F32, {-1}, std::vector<std::byte>{}), "invalid shape");
  SANAWM_EXPECT_ERROR(w.add("__metadata__", st_dtype::U8, {0}, std::vector<std::byte>{}),
                      "invalid tensor name");
  w.add<float>("x", {1}, std::vector<float>{1});
  SANAWM_EXPECT_ERROR(w.add<float>("x", {1}, std::vector<float>{1}), "duplicate tensor name 'x'");
  safetensors_writer bad_utf8;
  bad_utf8.add<float>("\xff", {1}, std::vector<float>{1});
  SANAWM_EXPECT_ERROR(bad_utf8.to_bytes(), "[safetensors_writer] cannot encode the header");
}

TEST(Safetensors, FileRoundTripAndShapeCheck) {
  temp_dir dir;
  safetensors_writer w;
  w.add<float>("w", {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  w.write(dir / "m.safetensors");
  EXPECT_FALSE(std::filesystem::exists(dir / "m.safetensors.tmp"));
  const auto f = safetensors_file::open(dir / "m.safetensors");
  EXPECT_TRUE(f.contains("w"));
  EXPECT_FALSE(f.contains("v"));
  EXPECT_EQ(f.read_as<double>("w", {2, 3}), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  SANAWM_EXPECT_ERROR(f.read_as<float>("w", {3, 2}), (dir / "m.safetensors").string(),
                      "tensor 'w' has shape [2, 3] but [3, 2] was expected");
  std::vector<float> out(5);
  SANAWM_EXPECT_ERROR(f.read_into<float>("w", out), "has 6 elements [2, 3] but the destination holds 5");
  out.resize(6);
  f.read_into<float>("w", out);
  EXPECT_EQ(out[5], 6.0f);
  // Moving keeps every view valid (the mapping moves with the object).
  const st_tensor* before = &f.at("w");
  safetensors_file moved = std::move(const_cast<safetensors_file&>(f));
  EXPECT_EQ(&moved.at("w"), before);
  EXPECT_EQ(moved.read_as<float>("w")[0], 1.0f);
}

TEST(Safetensors, MissingTensorSuggestsNearMatches) {
  safetensors_writer w;
  w.add<float>("model.blocks.0.attn.qkv.weight", {1}, std::vector<float>{1});
  w.add<float>("blocks.0.mlp.weight", {1}, std::vector<float>{1});
  const auto f = parse(w.to_bytes());
  SANAWM_EXPECT_ERROR(f.at("blocks.0.attn.qkv.weight"),
                      "no tensor named 'blocks.0.attn.qkv.weight' among 2 tensors",
                      "did you mean 'model.blocks.0.attn.qkv.weight'");
  SANAWM_EXPECT_ERROR(f.at("blocks.0.mlp.weigth"), "did you mean 'blocks.0.mlp.weight'");
  const std::string msg = sanawm::test::error_of([&] { (void)f.at("zzz"); });
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
}

TEST(Safetensors, OpenErrorsNameThePath) {
  temp_dir dir;
  SANAWM_EXPECT_ERROR(safetensors_file::open(dir / "missing.safetensors"), "[safetensors]",
                      "missing.safetensors", "cannot open");
  SANAWM_EXPECT_ERROR(safetensors_file::open(dir.path()), "not a regular file");
  sanawm::test::write_bytes(dir / "empty.safetensors", {});
  SANAWM_EXPECT_ERROR(safetensors_file::open(dir / "empty.safetensors"), "file is 0 bytes");
}

TEST(Safetensors, EveryTruncationIsRejected) {
  safetensors_writer w;
  w.add<float>("a", {2, 2}, std::vector<float>{1, 2, 3, 4});
  w.add<std::int64_t>("b", {1}, std::vector<std::int64_t>{7});
  w.set_metadata("k", "v");
  const auto full = w.to_bytes();
  (void)parse(full);
  for (std::size_t n = 0; n < full.size(); ++n) {
    const std::string msg = sanawm::test::error_of([&] {
      (void)parse(std::vector<std::byte>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    });
    EXPECT_TRUE(msg.starts_with("[safetensors] <t>: ")) << n << ": " << msg;
  }
  // One byte too many is trailing data.
  auto longer = full;
  longer.push_back(std::byte{0});
  SANAWM_EXPECT_ERROR(parse(longer), "1 bytes of trailing data");
}

struct bad_header_case {
  const char* what;
  std::string json;
  std::size_t data_bytes;
  std::vector<std::string> expect;
};

TEST(Safetensors, HostileHeadersGiveClearErrors) {
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::vector<bad_header_case> cases = {
      {"not starting with {", R"( {})", 0, {"header does not start with '{'"}},
      {"syntax error", R"({"a":)", 0, {"invalid JSON", "parse error"}},
      {"trailing junk", R"({} x)", 0, {"invalid JSON"}},
      {"padding must be whitespace", std::string("{}\0\0", 4), 0, {"invalid JSON"}},
      {"entry not an object", R"({"a":1})", 0, {"entry 'a' is a JSON number, not an object"}},
      {"missing dtype",
       R"({"a":{"shape":[1],"data_offsets":[0,4]}})",
       4,
       {"tensor 'a'", "missing key 'dtype'"}},
      {"missing shape", R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4, {"missing key 'shape'"}},
      {"missing offsets", R"({"a":{"dtype":"F32","shape":[1]}})", 4, {"missing key 'data_offsets'"}},
      {"dtype not a string",
       R"({"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})",
       4,
       {"key 'dtype': expected a string, got number"}},
      {"unknown dtype",
       R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})",
       4,
       {"unknown or unsupported dtype 'F33'"}},
      {"sub-byte dtype", R"({"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", 1, {"dtype 'F4'"}},
      {"shape not an array",
       R"({"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})",
       4,
       {"key 'shape': expected an array, got number"}},
      {"float extent",
       R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})",
       4,
       {"key 'shape'[0]: expected an integer, got number"}},
      {"negative extent",
       R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}})",
       4,
       {"negative extent -1 at axis 1"}},
      {"overflowing shape",
       R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
       4,
       {"overflows"}},
      {"huge extent",
       R"({"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,4]}})",
       4,
       {"does not fit"}},
      {"three offsets",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})",
       4,
       {"data_offsets has 3 entries"}},
      {"negative offset",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})",
       4,
       {"key 'data_offsets'[0]", "does not fit"}},
      {"begin after end",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})",
       8,
       {"begin 8 > end 4"}},
      {"end beyond data",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       6,
       {"data_offsets end 8 beyond the 6-byte data section"}},
      {"size mismatch",
       R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
       8,
       {"F32 [3] needs 12 bytes but data_offsets [0, 8) span 8"}},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12,
       {"tensor 'b' [4, 12) overlaps tensor 'a'"}},
      {"identical ranges",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
       4,
       {"overlaps"}},
      {"gap",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8,
       {"gap of 4 bytes before tensor 'a'"}},
      {"trailing data", "{" + ok_entry + "}", 12, {"4 bytes of trailing data"}},
      {"duplicate key", "{" + ok_entry + "," + ok_entry + "}", 8, {"duplicate key 'a'"}},
      {"extra field",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})",
       4,
       {"unknown field 'x'"}},
      {"metadata not an object", R"({"__metadata__":[1]})", 0, {"__metadata__ is a JSON array"}},
      {"metadata value not a string",
       R"({"__metadata__":{"seed":1234}})",
       0,
       {"__metadata__ value of 'seed' is a number, not a string"}},
      {"deep nesting",
       R"({"__metadata__":{"a":[[[[[[[[[[1]]]]]]]]]]}})",
       0,
       {"nesting deeper than 8 levels"}},
      {"invalid UTF-8 key", "{\"\xff\":1}", 0, {"invalid JSON"}},
      {"control byte in key", "{\"a\x01\":1}", 0, {"invalid JSON"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string msg = sanawm::test::error_of([&] { (void)parse(raw_file(c.json, c.data_bytes)); });
    EXPECT_TRUE(msg.starts_with("[safetensors] <t>: ")) << msg;
    for (const auto& part : c.expect)
      EXPECT_NE(msg.find(part), std::string::npos) << msg << " lacks " << part;
  }
}

TEST(Safetensors, BadHeaderLengthField) {
  SANAWM_EXPECT_ERROR(parse(to_bytes("1234567")),
                      "file is 7 bytes, shorter than the 8-byte header length field");
  SANAWM_EXPECT_ERROR(parse(raw_file("{}", 0, 3)),
                      "header length 3 exceeds the 2 bytes after the length field");
  SANAWM_EXPECT_ERROR(parse(raw_file("{}", 0, ~0ull >> 1)), "exceeds");
  SANAWM_EXPECT_ERROR(parse(raw_file("{}", 0, 1)), "header length 1 is too small");
  SANAWM_EXPECT_ERROR(parse(raw_file("{}", 0, 0)), "header length 0 is too small");
  // A header length one short cuts the JSON; one long swallows the first data byte.
  const std::string one_u8 = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_EQ(parse(raw_file(one_u8, 1)).size(), 1u);
  SANAWM_EXPECT_ERROR(parse(raw_file(one_u8, 1, one_u8.size() - 1)), "invalid JSON");
  SANAWM_EXPECT_ERROR(parse(raw_file(one_u8, 1, one_u8.size() + 1)), "invalid JSON");
  // Zero tensors with padding and an empty data section is the smallest valid file.
  EXPECT_EQ(parse(raw_file("{}      ", 0)).size(), 0u);
  EXPECT_EQ(parse(raw_file("{}", 0)).names(), std::vector<std::string>{});
}

TEST(Safetensors, ZeroSizedTensorsMayShareOffsets) {
  const auto f = parse(raw_file(
      R"({"e1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"e2":{"dtype":"F64","shape":[3,0],"data_offsets":[0,0]},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
      2));
  EXPECT_EQ(f.at("e2").numel(), 0);
  EXPECT_TRUE(f.read_as<float>("e1").empty());
  EXPECT_EQ(f.read_as<int>("x"), (std::vector<int>{0, 1}));
}

// ---- golden data --------------------------------------------------------------------------------------

#define SANAWM_REQUIRE_GOLDEN()                                    \
  const std::filesystem::path golden = sanawm::test::golden_dir(); \
  if (golden.empty()) GTEST_SKIP() << "no golden data: SANAWM_GOLDEN_DIR is empty or not a directory"

void expect_shape(const safetensors_file& f, const std::string& name, st_dtype dtype,
                  std::vector<index_t> shape) {
  SCOPED_TRACE(name);
  ASSERT_TRUE(f.contains(name));
  EXPECT_EQ(f.at(name).dtype, dtype);
  EXPECT_EQ(f.at(name).shape, shape);
}

/// Every tensor converts, and the F32 ones are finite (the golden data has no NaN/inf).
void expect_all_readable(const safetensors_file& f) {
  for (const auto& name : f.names()) {
    const auto v = f.read_as<double>(name);
    EXPECT_EQ(v.size(), static_cast<std::size_t>(f.at(name).numel()));
    bool finite = true;
    for (double x : v) finite = finite && std::isfinite(x);
    EXPECT_TRUE(finite) << name;
  }
}

TEST(SafetensorsGolden, VaeWeightsAndIo) {
  SANAWM_REQUIRE_GOLDEN();
  const auto w = safetensors_file::open(golden / "vae_tiny_a.weights.safetensors");
  EXPECT_EQ(std::filesystem::file_size(golden / "vae_tiny_a.weights.safetensors"), 15'347'180u);
  EXPECT_EQ(w.size(), 60u);
  index_t total = 0;
  for (const auto& [name, t] : w.tensors()) {
    EXPECT_EQ(t.dtype, st_dtype::F32) << name;
    total += t.numel();
  }
  EXPECT_EQ(total, 3'834'797);
  expect_shape(w, "latents_mean", st_dtype::F32, {128});
  expect_shape(w, "latents_std", st_dtype::F32, {128});
  expect_shape(w, "encoder.conv_in.conv.weight", st_dtype::F32, {128, 48, 3, 3, 3});
  expect_shape(w, "encoder.conv_out.conv.weight", st_dtype::F32, {129, 128, 3, 3, 3});
  expect_shape(w, "decoder.conv_out.conv.weight", st_dtype::F32, {48, 8, 3, 3, 3});
  expect_shape(w, "decoder.up_blocks.0.upsamplers.0.conv.conv.bias", st_dtype::F32, {256});
  const auto std_ = w.read_as<float>("latents_std", {128});
  for (float s : std_) EXPECT_TRUE(s >= 0.5f && s <= 1.5f) << s;  // 0.5 + U(0, 1)

  const auto io = safetensors_file::open(golden / "vae_tiny_a.io.safetensors");
  EXPECT_EQ(io.metadata().at("seed"), "1234");
  const json config = parse_json(io.metadata().at("config"));
  EXPECT_EQ(json_get<int>(config, "latent_channels"), 128);
  EXPECT_EQ(json_get<std::vector<int>>(config, "block_out_channels"), (std::vector<int>{16, 32, 64, 128}));
  expect_shape(io, "decode.latent", st_dtype::F32, {1, 128, 3, 2, 2});
  expect_shape(io, "decode.video", st_dtype::F32, {1, 3, 17, 64, 64});
  expect_shape(io, "decode.video_f64", st_dtype::F64, {1, 3, 17, 64, 64});
  expect_shape(io, "decode_causal.video_f64", st_dtype::F64, {1, 3, 17, 64, 64});
  expect_shape(io, "decode.inter.decoder.conv_out", st_dtype::F32, {1, 48, 17, 16, 16});
  expect_shape(io, "encode.video", st_dtype::F32, {1, 3, 9, 64, 64});
  expect_shape(io, "encode.mean_f64", st_dtype::F64, {1, 128, 2, 2, 2});
  expect_shape(io, "encode.inter.encoder.conv_out", st_dtype::F32, {1, 129, 2, 2, 2});
  expect_shape(io, "encode.inter.encoder.down_blocks.1", st_dtype::F32, {1, 32, 5, 8, 8});
  expect_all_readable(io);
  // F64 → float narrows; the float run agrees with the float64 one to the README's 1.66e-6.
  const auto v32 = io.read_as<float>("decode.video");
  const auto v64 = io.read_as<double>("decode.video_f64");
  double err = 0;
  for (std::size_t i = 0; i < v32.size(); ++i) err = std::max(err, std::abs(v32[i] - v64[i]));
  EXPECT_LT(err, 1e-5);
}

TEST(SafetensorsGolden, DitWeightsAndIo) {
  SANAWM_REQUIRE_GOLDEN();
  const auto w = safetensors_file::open(golden / "dit_tiny_a.weights.safetensors");
  EXPECT_EQ(w.size(), 191u);
  index_t total = 0;
  for (const auto& [name, t] : w.tensors()) {
    EXPECT_EQ(t.dtype, st_dtype::F32) << name;
    total += t.numel();
  }
  EXPECT_EQ(total, 5'871'812);
  const json config = parse_json(w.metadata().at("config"));
  EXPECT_EQ(json_get<int>(config, "depth"), 4);
  EXPECT_EQ(json_get<int>(config, "hidden_size"), 224);
  EXPECT_EQ(json_get<int>(config, "linear_head_dim"), 112);
  EXPECT_EQ(json_get_or<int>(config, "chunk_size", -1), -1);  // null in the bidirectional config
  expect_shape(w, "blocks.0.attn.qkv.weight", st_dtype::F32, {672, 224});
  expect_shape(w, "blocks.0.attn.conv_k.weight", st_dtype::F32, {224, 1, 4});
  EXPECT_FALSE(w.contains("blocks.3.attn.conv_k.weight"));  // block 3 is softmax attention
  EXPECT_FALSE(w.contains("pos_embed"));

  const auto io = safetensors_file::open(golden / "dit_tiny_a.io.safetensors");
  expect_shape(io, "x", st_dtype::F32, {1, 128, 3, 2, 4});
  expect_shape(io, "y", st_dtype::F32, {1, 1, 7, 64});
  expect_shape(io, "mask", st_dtype::I64, {1, 7});
  expect_shape(io, "camera_conditions", st_dtype::F32, {1, 3, 20});
  expect_shape(io, "chunk_plucker", st_dtype::F32, {1, 48, 3, 2, 4});
  expect_shape(io, "output_f64", st_dtype::F64, {1, 128, 3, 2, 4});
  expect_shape(io, "rope_cos", st_dtype::F32, {24, 56});
  expect_shape(io, "ucpe_raymats", st_dtype::F32, {1, 3, 2, 4, 4, 4});
  expect_shape(io, "act.t_emb", st_dtype::F32, {3, 224});
  EXPECT_EQ(io.read_as<std::int64_t>("mask", {1, 7}), (std::vector<std::int64_t>{1, 1, 1, 1, 1, 0, 0}));
  const auto ts = io.read_as<float>("timestep", {1, 1, 3});
  EXPECT_EQ(ts[0], 0.0f);
  EXPECT_NEAR(ts[1], 937.7f, 1e-3f);
  EXPECT_NEAR(ts[2], 600.2f, 1e-3f);
  expect_all_readable(io);
}

TEST(SafetensorsGolden, ChunkCausalGdnCameraSampler) {
  SANAWM_REQUIRE_GOLDEN();
  const auto cc = safetensors_file::open(golden / "dit_tiny_a_chunk_causal.io.safetensors");
  EXPECT_EQ(std::filesystem::file_size(golden / "dit_tiny_a_chunk_causal.io.safetensors"), 1'076'804u);
  EXPECT_EQ(cc.read_as<std::int64_t>("chunk_index", {2}), (std::vector<std::int64_t>{0, 4}));
  EXPECT_EQ(cc.metadata().at("chunk_index"), "[0, 4]");
  expect_shape(cc, "x", st_dtype::F32, {1, 128, 7, 2, 4});
  expect_shape(cc, "raw_c2w", st_dtype::F32, {49, 4, 4});
  expect_shape(cc, "act.t0", st_dtype::F32, {7, 1344});
  expect_shape(cc, "act.final_layer_out", st_dtype::F32, {1, 56, 128});
  expect_shape(cc, "probe.output_f64", st_dtype::F64, {1, 128, 7, 2, 4});
  expect_all_readable(cc);

  const auto g = safetensors_file::open(golden / "gdn_scan_a.safetensors");
  expect_shape(g, "q", st_dtype::F32, {1, 2, 16, 30});
  expect_shape(g, "den", st_dtype::F32, {1, 2, 1, 30});
  expect_shape(g, "beta", st_dtype::F32, {1, 2, 5, 6});
  expect_shape(g, "decay", st_dtype::F32, {1, 2, 5});
  expect_shape(g, "rope_cos", st_dtype::F32, {30, 8});
  expect_shape(g, "cc.out_f64", st_dtype::F64, {1, 2, 16, 30});
  expect_shape(g, "cam.out", st_dtype::F32, {1, 2, 16, 30});
  EXPECT_EQ(g.read_as<double>("eps", {1})[0], 1e-8);
  EXPECT_EQ(g.read_as<int>("chunk_index"), (std::vector<int>{0, 2, 5}));
  expect_all_readable(g);

  const auto cam = safetensors_file::open(golden / "camera_a.safetensors");
  expect_shape(cam, "raw_c2w", st_dtype::F32, {17, 4, 4});
  expect_shape(cam, "raw_intrinsics", st_dtype::F32, {17, 4});
  expect_shape(cam, "debug.poses_rel", st_dtype::F32, {17, 4, 4});
  expect_shape(cam, "camera_conditions", st_dtype::F32, {3, 20});
  expect_shape(cam, "chunk_plucker", st_dtype::F32, {48, 3, 22, 40});
  expect_shape(cam, "ucpe_raymats", st_dtype::F32, {3, 22, 40, 4, 4});
  expect_shape(cam, "action_c2w", st_dtype::F32, {24, 4, 4});
  EXPECT_EQ(cam.metadata().at("action_string"), "w-10,a-5,dl-8");
  const json defaults = parse_json(cam.metadata().at("action_defaults"));
  EXPECT_DOUBLE_EQ(json_get<double>(defaults, "translation_speed_per_frame"), 0.025);
  const auto pose0 = cam.read_as<float>("debug.poses_rel");
  for (int i = 0; i < 16; ++i) EXPECT_EQ(pose0[static_cast<std::size_t>(i)], i % 5 == 0 ? 1.0f : 0.0f) << i;
  expect_all_readable(cam);

  const auto s = safetensors_file::open(golden / "sampler_bidir_a.safetensors");
  EXPECT_EQ(s.metadata().at("seed"), "2024");
  EXPECT_EQ(s.metadata().at("steps"), "6");
  const auto sigmas = s.read_as<float>("sigmas", {7});
  const std::vector<float> want = {1.0f,        0.97541833f, 0.93726611f, 0.87002116f,
                                   0.71990132f, 0.08770456f, 0.0f};
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(sigmas[i], want[i]) << i;
  EXPECT_FLOAT_EQ(s.read_as<float>("timesteps", {6})[1], 975.41833f);
  EXPECT_EQ(s.read_as<double>("cfg_scale", {1})[0], 5.0);
  EXPECT_EQ(s.read_as<double>("flow_shift", {1})[0], 9.8);
  expect_shape(s, "steps.model_out", st_dtype::F32, {6, 2, 128, 3, 2, 4});
  expect_shape(s, "steps.latents.bf16state", st_dtype::F32, {7, 128, 3, 2, 4});
  expect_shape(s, "final_latent.bf16state_f64", st_dtype::F64, {1, 128, 3, 2, 4});
  expect_shape(s, "step0.model_mask", st_dtype::I64, {2, 7});
  expect_all_readable(s);
}

TEST(SafetensorsGolden, GoldenFilesSurviveTheIndex) {
  SANAWM_REQUIRE_GOLDEN();
  const auto idx = safetensors_index::open(golden / "dit_tiny_a.weights.safetensors");
  EXPECT_EQ(idx.size(), 191u);
  EXPECT_EQ(idx.read_as<float>("blocks.0.attn.A_log", {2}).size(), 2u);
  idx.verify();
}

// ---- sharded checkpoints --------------------------------------------------------------------------------

void write_shards(const temp_dir& dir) {
  safetensors_writer s1, s2;
  s1.add<float>("a.weight", {2, 2}, std::vector<float>{1, 2, 3, 4});
  s1.add<float>("a.bias", {2}, std::vector<float>{5, 6});
  s2.add<bf16>("b.weight", {1}, std::vector<bf16>{bf16(7.0f)});
  s1.write(dir / "model-00001-of-00002.safetensors");
  s2.write(dir / "model-00002-of-00002.safetensors");
  std::ofstream(dir / "model.safetensors.index.json") << R"({"metadata": {"total_size": 26, "format": "pt"},
    "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors",
                   "b.weight": "model-00002-of-00002.safetensors"}})";
}

TEST(SafetensorsIndex, OpensShardsLazily) {
  temp_dir dir;
  write_shards(dir);
  const auto idx = safetensors_index::open(dir / "model.safetensors.index.json");
  EXPECT_EQ(idx.names(), (std::vector<std::string>{"a.bias", "a.weight", "b.weight"}));
  EXPECT_TRUE(idx.contains("a.bias"));
  EXPECT_FALSE(idx.contains("c"));
  EXPECT_EQ(idx.metadata().at("total_size"), "26");
  EXPECT_EQ(idx.metadata().at("format"), "pt");
  EXPECT_EQ(idx.shard_of("b.weight"), "model-00002-of-00002.safetensors");
  EXPECT_EQ(idx.shard_paths().size(), 2u);
  EXPECT_EQ(idx.read_as<float>("a.weight", {2, 2}), (std::vector<float>{1, 2, 3, 4}));
  // Shard 2 was never opened: removing it only fails the access that needs it.
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  EXPECT_EQ(idx.at("a.bias").numel(), 2);
  SANAWM_EXPECT_ERROR(idx.at("b.weight"), "model-00002-of-00002.safetensors", "cannot open");
  SANAWM_EXPECT_ERROR(idx.at("a.weigth"), "[safetensors_index]", "did you mean 'a.weight'");
}

TEST(SafetensorsIndex, DirectoryAndSingleFile) {
  temp_dir dir;
  write_shards(dir);
  const auto idx = safetensors_index::open(dir.path());
  EXPECT_EQ(idx.read_as<double>("b.weight")[0], 7.0);
  idx.verify();
  std::vector<float> out(2);
  idx.read_into<float>("a.bias", out);
  EXPECT_EQ(out[1], 6.0f);

  temp_dir single;
  safetensors_writer w;
  w.add<float>("x", {1}, std::vector<float>{3});
  w.set_metadata("k", "v");
  w.write(single / "diffusion_pytorch_model.safetensors");
  const auto one = safetensors_index::open(single.path());
  EXPECT_EQ(one.names(), std::vector<std::string>{"x"});
  EXPECT_EQ(one.metadata().at("k"), "v");
  EXPECT_EQ(one.read_as<float>("x")[0], 3.0f);
  one.verify();

  temp_dir empty;
  SANAWM_EXPECT_ERROR(safetensors_index::open(empty.path()), "found 0 index files and 0 safetensors files");
}

TEST(SafetensorsIndex, ConcurrentFirstAccess) {
  temp_dir dir;
  write_shards(dir);
  const auto idx = safetensors_index::open(dir / "model.safetensors.index.json");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      const auto v = idx.read_as<float>(t % 2 ? "b.weight" : "a.weight");
      if (!v.empty()) ++ok;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8);
}

TEST(SafetensorsIndex, ValidatesTheIndex) {
  const std::filesystem::path p = "/ckpt/model.safetensors.index.json";
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index("[]", p), "expected a JSON object, got array");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index("{}", p), "missing key 'weight_map'");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index(R"({"weight_map": []})", p),
                      "\"weight_map\" is a array");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index(R"({"weight_map": {"a": 1}})", p),
                      "weight_map entry 'a' is a number, not a file name");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index(R"({"weight_map": {"a": "../x.safetensors"}})", p),
                      "shards must be relative paths inside the index directory");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index(R"({"weight_map": {"a": "/etc/x.safetensors"}})", p),
                      "shards must be relative paths");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index(R"({"weight_map": {"a": ""}})", p), "shards must be");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index(R"({"metadata": 3, "weight_map": {}})", p),
                      "\"metadata\" is a number");
  SANAWM_EXPECT_ERROR(safetensors_index::parse_index(R"({"weight_map": {"a": "x", "a": "y"}})", p),
                      "duplicate key 'a'");
  const auto idx = safetensors_index::parse_index(R"({"weight_map": {"a": "sub/x.safetensors"}})", p);
  EXPECT_EQ(idx.shard_paths().front(), std::filesystem::path("/ckpt/sub/x.safetensors"));
}

TEST(SafetensorsIndex, DetectsIndexShardDisagreement) {
  temp_dir dir;
  write_shards(dir);
  // The index claims a tensor that its shard lacks, and omits one the shard has.
  std::ofstream(dir / "bad.index.json") << R"({"weight_map": {"a.weight": "model-00002-of-00002.safetensors",
      "b.weight": "model-00002-of-00002.safetensors"}})";
  const auto bad = safetensors_index::open(dir / "bad.index.json");
  SANAWM_EXPECT_ERROR(
      bad.at("a.weight"),
      "maps 'a.weight' to shard 'model-00002-of-00002.safetensors', which does not contain it");
  std::ofstream(dir / "partial.index.json")
      << R"({"weight_map": {"a.weight": "model-00001-of-00002.safetensors"}})";
  const auto partial = safetensors_index::open(dir / "partial.index.json");
  EXPECT_EQ(partial.read_as<float>("a.weight").size(), 4u);
  SANAWM_EXPECT_ERROR(partial.verify(), "shard 'model-00001-of-00002.safetensors' holds tensor 'a.bias'");
}

}  // namespace

namespace sanawm::test {
namespace {

TEST(Safetensors, DroppedPagesAreReReadFromTheFile) {
  // Several pages of data: after a loader drops a tensor's resident pages, reading it again gives the same values
  // (re-read from the file); on an in-memory file dropping is a no-op (madvise there would zero the memory).
  std::vector<float> v(64 * 1024);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - 7.0f;
  io::safetensors_writer w;
  w.add<float>("a", {static_cast<index_t>(v.size())}, v);
  w.add<float>("b", {4}, std::vector<float>{1, 2, 3, 4});
  temp_dir dir;
  w.write(dir / "x.safetensors");
  const auto f = io::safetensors_file::open(dir / "x.safetensors");
  ASSERT_EQ(f.read_as<float>("a"), v);
  f.drop_pages(f.at("a"));
  EXPECT_EQ(f.read_as<float>("a"), v);
  EXPECT_EQ(f.read_as<float>("b"), (std::vector<float>{1, 2, 3, 4}));
  const auto idx = io::safetensors_index::open(dir / "x.safetensors");
  idx.drop_pages("a");
  idx.drop_pages("no-such-tensor");
  EXPECT_EQ(idx.read_as<float>("a"), v);
  const auto mem = io::safetensors_file::from_bytes(w.to_bytes());
  mem.drop_pages(mem.at("a"));
  EXPECT_EQ(mem.read_as<float>("a"), v);
}

}  // namespace
}  // namespace sanawm::test

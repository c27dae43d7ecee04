// SPDX-License-Identifier: Apache-2.0
// dtype: names, bit widths and traits of every enumerator; the type ↔ dtype maps; sizeof_bits and packing
// traits.
#include "sanawm/core/dtype.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

namespace sanawm {
namespace {

static_assert(dtype_of_v<float> == dtype::f32 && dtype_of_v<const double> == dtype::f64);
static_assert(dtype_of_v<bf16> == dtype::bf16 && dtype_of_v<fp16> == dtype::f16);
static_assert(dtype_of_v<fp8_e4m3> == dtype::f8_e4m3 && dtype_of_v<fp8_e5m2> == dtype::f8_e5m2);
static_assert(dtype_of_v<ue4m3> == dtype::ue4m3 && dtype_of_v<ue8m0> == dtype::ue8m0);
static_assert(dtype_of_v<fp4_e2m1> == dtype::f4_e2m1 && dtype_of_v<fp4x2> == dtype::f4_e2m1);
static_assert(dtype_of_v<bool> == dtype::boolean && dtype_of_v<std::int8_t> == dtype::i8);
static_assert(dtype_of_v<std::uint64_t> == dtype::u64 && dtype_of_v<volatile std::int32_t> == dtype::i32);
static_assert(has_dtype<bf16> && !has_dtype<char> && !has_dtype<long double> && !has_dtype<int*>);

static_assert(sizeof_bits_v<fp4_e2m1> == 4 && sizeof_bits_v<const fp4_e2m1> == 4);
static_assert(sizeof_bits_v<fp4x2> == 8 && sizeof_bits_v<bf16> == 16 && sizeof_bits_v<double> == 64);
static_assert(packed_count_v<fp4x2> == 2 && is_packed_v<const fp4x2> && !is_packed_v<fp4_e2m1>);
static_assert(packed_count_v<float> == 1 && !is_packed_v<std::uint8_t>);

static_assert(std::is_same_v<type_of_t<dtype::bf16>, bf16> &&
              std::is_same_v<type_of_t<dtype::f4_e2m1>, fp4_e2m1>);
static_assert(std::is_same_v<type_of_t<dtype::i64>, std::int64_t> &&
              std::is_same_v<type_of_t<dtype::boolean>, bool>);

static_assert(dtype_bits(dtype::f4_e2m1) == 4 && is_packed(dtype::f4_e2m1) && !is_packed(dtype::u8));
static_assert(is_floating(dtype::ue8m0) && !is_signed(dtype::ue8m0) && !is_integral(dtype::boolean));

// Checks every enumerator against its C++ type: the type maps back to it, and the bit width agrees.
template <dtype D>
void check_round_trip() {
  using T = type_of_t<D>;
  EXPECT_EQ(dtype_of_v<T>, D) << dtype_name(D);
  EXPECT_EQ(dtype_bits(D), sizeof_bits_v<T>) << dtype_name(D);
  if constexpr (std::is_arithmetic_v<T>) {
    EXPECT_EQ(is_floating(D), std::is_floating_point_v<T>) << dtype_name(D);
    EXPECT_EQ(is_integral(D), (std::is_integral_v<T> && !std::is_same_v<T, bool>)) << dtype_name(D);
    EXPECT_EQ(is_signed(D), std::is_signed_v<T>) << dtype_name(D);
  } else {
    EXPECT_TRUE(is_floating(D)) << dtype_name(D);
    EXPECT_EQ(is_signed(D), D != dtype::ue4m3 && D != dtype::ue8m0) << dtype_name(D);
  }
}

template <std::size_t... I>
void check_all_round_trips(std::index_sequence<I...>) {
  (check_round_trip<static_cast<dtype>(I)>(), ...);
}

TEST(Dtype, EveryEnumeratorMapsToItsType) {
  check_all_round_trips(std::make_index_sequence<dtype_count>{});
}

TEST(Dtype, NamesAreUniqueAndCanonical) {
  std::set<std::string> seen;
  for (int i = 0; i < dtype_count; ++i) {
    const char* n = dtype_name(static_cast<dtype>(i));
    EXPECT_STRNE(n, "unknown") << i;
    EXPECT_TRUE(seen.insert(n).second) << n;
  }
  EXPECT_STREQ(dtype_name(dtype::f32), "f32");
  EXPECT_STREQ(dtype_name(dtype::bf16), "bf16");
  EXPECT_STREQ(dtype_name(dtype::f16), "f16");
  EXPECT_STREQ(dtype_name(dtype::f8_e4m3), "f8_e4m3");
  EXPECT_STREQ(dtype_name(dtype::f8_e5m2), "f8_e5m2");
  EXPECT_STREQ(dtype_name(dtype::ue4m3), "ue4m3");
  EXPECT_STREQ(dtype_name(dtype::ue8m0), "ue8m0");
  EXPECT_STREQ(dtype_name(dtype::f4_e2m1), "f4_e2m1");
  EXPECT_STREQ(dtype_name(dtype::boolean), "bool");
  EXPECT_STREQ(dtype_name(dtype::i64), "i64");
  EXPECT_STREQ(dtype_name(static_cast<dtype>(200)), "unknown");
  EXPECT_EQ(dtype_bits(static_cast<dtype>(200)), 0);
  EXPECT_FALSE(is_packed(static_cast<dtype>(200)));
}

TEST(Dtype, TraitsOfEveryEnumerator) {
  int floating = 0, integral = 0, packed = 0;
  for (int i = 0; i < dtype_count; ++i) {
    const auto d = static_cast<dtype>(i);
    EXPECT_GT(dtype_bits(d), 0) << dtype_name(d);
    floating += is_floating(d);
    integral += is_integral(d);
    packed += is_packed(d);
    EXPECT_FALSE(is_floating(d) && is_integral(d)) << dtype_name(d);
  }
  EXPECT_EQ(floating, 9);
  EXPECT_EQ(integral, 8);
  EXPECT_EQ(packed, 1);
}

}  // namespace
}  // namespace sanawm

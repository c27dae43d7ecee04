// SPDX-License-Identifier: Apache-2.0
// bf16 and fp16: every code decodes exactly and round-trips; every rounding neighbourhood, a strided sweep of
// all float bit patterns and double inputs match the float64 reference (ties to even, IEEE overflow,
// canonical NaN).
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <gtest/gtest.h>

#include "dtype/dtype_reference.hpp"
#include "sanawm/core/bf16.hpp"
#include "sanawm/core/fp16.hpp"

namespace sanawm {
namespace {

using test::mismatch_counter;

constexpr float inf_f = std::numeric_limits<float>::infinity();

// constexpr: conversions are usable in constant expressions.
static_assert(bf16(1.0f).bits() == 0x3F80 && bf16(-2.0f).bits() == 0xC000);
static_assert(bf16(1.0).bits() == 0x3F80);
static_assert(bf16::from_bits(0x3FC0).to_float() == 1.5f);
static_assert(bf16(0x1.01p0f).bits() == 0x3F80);      // exact tie between 0x3F80 and 0x3F81 → even
static_assert(bf16(0x1.03p0f).bits() == 0x3F82);      // tie between 0x3F81 and 0x3F82 → even (up)
static_assert(bf16(0x1.010002p0f).bits() == 0x3F81);  // just above the tie → up
static_assert(fp16(1.0f).bits() == 0x3C00 && fp16(-2.0f).bits() == 0xC000);
static_assert(fp16(65504.0f).bits() == 0x7BFF && fp16(65519.996f).bits() == 0x7BFF &&
              fp16(65520.0f).bits() == 0x7C00);
static_assert(fp16::from_bits(0x0001).to_float() == 0x1p-24f);
static_assert(fp16(0x1p-25f).bits() == 0x0000 && fp16(0x1.000002p-25f).bits() == 0x0001);
static_assert(std::is_trivially_copyable_v<bf16> && std::is_trivially_default_constructible_v<bf16>);
static_assert(std::is_trivially_copyable_v<fp16> && std::is_standard_layout_v<fp16>);
static_assert(!std::is_convertible_v<float, bf16> &&
              !std::is_convertible_v<bf16, float>);  // explicit both ways
static_assert(bf16{}.bits() == 0 && fp16{}.bits() == 0);

TEST(Bf16, DecodesEveryCodeExactly) {
  mismatch_counter bad("bf16 decode");
  for (std::uint32_t c = 0; c <= 0xFFFF; ++c) {
    const float f = bf16::from_bits(static_cast<std::uint16_t>(c)).to_float();
    const std::uint32_t mag = c & 0x7FFF;
    if (mag > 0x7F80) {
      // NaN: a pure shift keeps the payload and sign.
      bad.check(bit_cast<std::uint32_t>(f), c << 16, c);
      EXPECT_TRUE(std::isnan(f));
      continue;
    }
    const double want =
        mag == 0x7F80 ? std::numeric_limits<double>::infinity() : test::code_value(test::bf16_format, mag);
    bad.check(static_cast<double>(std::fabs(f)) == want && std::signbit(f) == ((c & 0x8000) != 0), true, c);
  }
}

TEST(Bf16, EveryNonNanCodeRoundTrips) {
  mismatch_counter bad("bf16 round trip");
  for (std::uint32_t c = 0; c <= 0xFFFF; ++c) {
    const bf16 v = bf16::from_bits(static_cast<std::uint16_t>(c));
    if (v.is_nan()) continue;
    bad.check(bf16(v.to_float()).bits(), c, v.to_float());
    bad.check(bf16(static_cast<double>(v)).bits(), c, v.to_float());
  }
}

TEST(Bf16, NeighbourhoodsOfEveryCodeMatchReference) {
  mismatch_counter bad("bf16(float)");
  for (float x : test::float_points(test::tables().bf16)) bad.check(bf16(x).bits(), test::expect_bf16(x), x);
  EXPECT_GT(bad.checked(), 300000u);
}

TEST(Bf16, DoubleInputsRoundOnceMatchReference) {
  mismatch_counter bad("bf16(double)");
  for (double x : test::double_points(test::tables().bf16))
    bad.check(bf16(x).bits(), test::expect_bf16(x), x);
  // Double rounding through float would get this wrong: just above a bf16 tie by less than a float ulp.
  EXPECT_EQ(bf16(1.0 + 0x1p-8 + 0x1p-40).bits(), 0x3F81);
  EXPECT_EQ(bf16(static_cast<float>(1.0 + 0x1p-8 + 0x1p-40)).bits(), 0x3F80);
}

TEST(Bf16, StridedSweepOfAllFloatsMatchesReference) {
  mismatch_counter bad("bf16 sweep");
  test::for_each_strided_float(1021, 7, [&](float x) { bad.check(bf16(x).bits(), test::expect_bf16(x), x); });
}

TEST(Bf16, SpecialValues) {
  EXPECT_EQ(bf16(0.0f).bits(), 0x0000);
  EXPECT_EQ(bf16(-0.0f).bits(), 0x8000);
  EXPECT_EQ(bf16(inf_f).bits(), 0x7F80);
  EXPECT_EQ(bf16(-inf_f).bits(), 0xFF80);
  EXPECT_EQ(bf16(std::numeric_limits<float>::max()).bits(), 0x7F80);  // past max + half ulp: IEEE overflow
  EXPECT_EQ(bf16(-std::numeric_limits<float>::max()).bits(), 0xFF80);
  EXPECT_EQ(bf16(0x1.FEFFFEp127f).bits(), 0x7F7F);  // just below the overflow tie
  EXPECT_EQ(bf16(std::numeric_limits<float>::denorm_min()).bits(),
            0x0000);  // float subnormals round like others
  EXPECT_EQ(bf16(0x1p-133f).bits(), 0x0001);
  EXPECT_EQ(bf16(0x1p-134f).bits(), 0x0000);    // tie with 0 → even
  EXPECT_EQ(bf16(0x1.8p-133f).bits(), 0x0002);  // tie between 1 and 2 → even
  for (float n : test::nan_floats()) {
    EXPECT_EQ(bf16(n).bits(), 0x7FFF);  // canonical NaN, sign and payload dropped
    EXPECT_EQ(bf16(static_cast<double>(n)).bits(), 0x7FFF);
  }
  EXPECT_EQ(bf16(std::numeric_limits<double>::infinity()).bits(), 0x7F80);
  EXPECT_EQ(bf16(1e300).bits(), 0x7F80);
  EXPECT_EQ(bf16(-1e-300).bits(), 0x8000);
}

TEST(Bf16, LimitsAndPredicates) {
  EXPECT_EQ(bf16::max().to_float(), 0x1.FEp127f);
  EXPECT_EQ(bf16::lowest().to_float(), -0x1.FEp127f);
  EXPECT_EQ(bf16::min_normal().to_float(), 0x1p-126f);
  EXPECT_EQ(bf16::denorm_min().to_float(), 0x1p-133f);
  EXPECT_EQ(bf16::epsilon().to_float(), 0x1p-7f);
  EXPECT_EQ(bf16(1.0f + bf16::epsilon().to_float()).bits(), 0x3F81);
  EXPECT_EQ(bf16::infinity().to_float(), inf_f);
  EXPECT_TRUE(bf16::quiet_nan().is_nan());
  EXPECT_TRUE(bf16::infinity().is_inf() && !bf16::infinity().is_finite() && !bf16::infinity().is_nan());
  EXPECT_TRUE(bf16::max().is_finite() && !bf16::max().is_inf());
  EXPECT_TRUE(bf16(-0.0f).signbit() && !bf16(0.0f).signbit());
  // == is bit equality.
  EXPECT_NE(bf16(0.0f), bf16(-0.0f));
  EXPECT_EQ(bf16::quiet_nan(), bf16::quiet_nan());
  EXPECT_NE(bf16::quiet_nan(), bf16::from_bits(0x7FC0));
  EXPECT_EQ(static_cast<float>(bf16(3.0f)), 3.0f);
  EXPECT_EQ(static_cast<double>(bf16(3.0f)), 3.0);
}

TEST(Fp16, DecodesEveryCodeExactly) {
  mismatch_counter bad("fp16 decode");
  for (std::uint32_t c = 0; c <= 0xFFFF; ++c) {
    const float f = fp16::from_bits(static_cast<std::uint16_t>(c)).to_float();
    const std::uint32_t mag = c & 0x7FFF;
    if (mag > 0x7C00) {
      bad.check(bit_cast<std::uint32_t>(f), 0x7FFF'FFFFu, c);  // canonical float NaN
      continue;
    }
    const double want =
        mag == 0x7C00 ? std::numeric_limits<double>::infinity() : test::code_value(test::fp16_format, mag);
    bad.check(static_cast<double>(std::fabs(f)) == want && std::signbit(f) == ((c & 0x8000) != 0), true, c);
  }
}

TEST(Fp16, EveryNonNanCodeRoundTrips) {
  mismatch_counter bad("fp16 round trip");
  for (std::uint32_t c = 0; c <= 0xFFFF; ++c) {
    const fp16 v = fp16::from_bits(static_cast<std::uint16_t>(c));
    if (v.is_nan()) continue;
    bad.check(fp16(v.to_float()).bits(), c, v.to_float());
    bad.check(fp16(static_cast<double>(v)).bits(), c, v.to_float());
  }
}

TEST(Fp16, NeighbourhoodsOfEveryCodeMatchReference) {
  mismatch_counter bad("fp16(float)");
  for (float x : test::float_points(test::tables().fp16)) bad.check(fp16(x).bits(), test::expect_fp16(x), x);
  EXPECT_GT(bad.checked(), 300000u);
}

TEST(Fp16, DoubleInputsRoundOnceMatchReference) {
  mismatch_counter bad("fp16(double)");
  for (double x : test::double_points(test::tables().fp16))
    bad.check(fp16(x).bits(), test::expect_fp16(x), x);
  EXPECT_EQ(fp16(1.0 + 0x1p-11 + 0x1p-40).bits(), 0x3C01);  // through float this would tie down to 0x3C00
}

TEST(Fp16, StridedSweepOfAllFloatsMatchesReference) {
  mismatch_counter bad("fp16 sweep");
  test::for_each_strided_float(1021, 3, [&](float x) { bad.check(fp16(x).bits(), test::expect_fp16(x), x); });
}

TEST(Fp16, SpecialValues) {
  EXPECT_EQ(fp16(-0.0f).bits(), 0x8000);
  EXPECT_EQ(fp16(inf_f).bits(), 0x7C00);
  EXPECT_EQ(fp16(-inf_f).bits(), 0xFC00);
  EXPECT_EQ(fp16(65520.0f).bits(), 0x7C00);  // max + half ulp ties to even: inf
  EXPECT_EQ(fp16(-65520.0f).bits(), 0xFC00);
  EXPECT_EQ(fp16(1e10f).bits(), 0x7C00);       // IEEE overflow, no saturation
  EXPECT_EQ(fp16(0x1p-24f).bits(), 0x0001);    // smallest subnormal
  EXPECT_EQ(fp16(0x1.8p-24f).bits(), 0x0002);  // tie → even
  EXPECT_EQ(fp16(0x1.4p-24f).bits(), 0x0001);
  EXPECT_EQ(fp16(0x1.FF8p-15f).bits(), 0x03FF);  // largest subnormal
  EXPECT_EQ(fp16(0x1.FFCp-15f).bits(),
            0x0400);  // largest subnormal + half ulp: ties (to even) into min normal
  EXPECT_EQ(fp16(std::numeric_limits<float>::denorm_min()).bits(), 0x0000);
  EXPECT_EQ(fp16(-std::numeric_limits<float>::denorm_min()).bits(), 0x8000);
  for (float n : test::nan_floats()) {
    EXPECT_EQ(fp16(n).bits(), 0x7FFF);
    EXPECT_EQ(fp16(static_cast<double>(n)).bits(), 0x7FFF);
  }
}

TEST(Fp16, LimitsAndPredicates) {
  EXPECT_EQ(fp16::max().to_float(), 65504.0f);
  EXPECT_EQ(fp16::lowest().to_float(), -65504.0f);
  EXPECT_EQ(fp16::min_normal().to_float(), 0x1p-14f);
  EXPECT_EQ(fp16::denorm_min().to_float(), 0x1p-24f);
  EXPECT_EQ(fp16::epsilon().to_float(), 0x1p-10f);
  EXPECT_EQ(fp16::infinity().to_float(), inf_f);
  EXPECT_TRUE(fp16::quiet_nan().is_nan() && std::isnan(fp16::quiet_nan().to_float()));
  EXPECT_TRUE(fp16::infinity().is_inf() && !fp16::infinity().is_finite());
  EXPECT_TRUE(fp16::from_bits(0x7C01).is_nan() && !fp16::from_bits(0x7C01).is_finite());
  EXPECT_NE(fp16(0.0f), fp16(-0.0f));
  EXPECT_EQ(fp16(0.5f), fp16(0.5));
}

}  // namespace
}  // namespace sanawm

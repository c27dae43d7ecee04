// SPDX-License-Identifier: Apache-2.0
// fp8_e4m3, fp8_e5m2, ue4m3, ue8m0: every code decodes exactly and round-trips; every rounding neighbourhood,
// a strided float sweep and double inputs match the float64 reference in both saturation (and rounding)
// modes; the NVFP4 dossier's E4M3 scale-byte vectors.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <gtest/gtest.h>

#include "dtype/dtype_reference.hpp"
#include "sanawm/core/fp8.hpp"

namespace sanawm {
namespace {

using test::mismatch_counter;

constexpr float inf_f = std::numeric_limits<float>::infinity();
constexpr auto sat = saturation::satfinite;
constexpr auto nosat = saturation::nosat;
constexpr auto rz = round_mode::toward_zero;
constexpr auto rp = round_mode::toward_pos_inf;

static_assert(fp8_e4m3(448.0f).bits() == 0x7E && fp8_e4m3(1.0f).bits() == 0x38);
static_assert(fp8_e4m3::from_float<nosat>(1000.0f).bits() == 0x7F);
static_assert(fp8_e4m3::from_float<nosat>(-1000.0f).bits() == 0xFF);
static_assert(fp8_e5m2(1.0f).bits() == 0x3C && fp8_e5m2::from_float<nosat>(1e6f).bits() == 0x7C);
static_assert(ue4m3(-1.0f).bits() == 0x00 && ue4m3(1.0f).bits() == 0x38);
static_assert(ue8m0(1.0f).bits() == 0x7F && ue8m0(1.5f).bits() == 0x80);
static_assert(ue8m0::from_float<rz>(1.5f).bits() == 0x7F);
static_assert(ue8m0::from_bits(0x00).to_float() == 0x1p-127f);
static_assert(std::is_trivially_copyable_v<fp8_e4m3> && std::is_trivially_copyable_v<ue8m0>);
static_assert(fp8_e4m3{}.bits() == 0 && ue4m3{}.bits() == 0);

// Decode check shared by the signed fp8 formats: |value| and sign of a finite code, inf and canonical NaN.
template <class T>
void check_decode_all(const test::narrow_format& fmt, std::uint32_t inf_code, std::uint32_t first_nan,
                      const char* name) {
  mismatch_counter bad(name);
  for (std::uint32_t c = 0; c < 256; ++c) {
    const float f = T::from_bits(static_cast<std::uint8_t>(c)).to_float();
    const std::uint32_t mag = c & 0x7F;
    if (mag >= first_nan) {
      bad.check(bit_cast<std::uint32_t>(f), 0x7FFF'FFFFu, c);
      continue;
    }
    const double want =
        mag == inf_code ? std::numeric_limits<double>::infinity() : test::code_value(fmt, mag);
    bad.check(static_cast<double>(std::fabs(f)) == want && std::signbit(f) == ((c & 0x80) != 0), true, c);
  }
}

TEST(Fp8E4m3, DecodesEveryCodeExactly) {
  check_decode_all<fp8_e4m3>(test::e4m3_format, 0x100 /* no inf */, 0x7F, "e4m3 decode");
  EXPECT_EQ(fp8_e4m3::from_bits(0x01).to_float(), 0x1p-9f);
  EXPECT_EQ(fp8_e4m3::from_bits(0x7E).to_float(), 448.0f);
  EXPECT_EQ(fp8_e4m3::from_bits(0x80).to_float(), 0.0f);
  EXPECT_TRUE(std::signbit(fp8_e4m3::from_bits(0x80).to_float()));
}

TEST(Fp8E4m3, EveryNonNanCodeRoundTripsInBothModes) {
  mismatch_counter bad("e4m3 round trip");
  for (std::uint32_t c = 0; c < 256; ++c) {
    const auto v = fp8_e4m3::from_bits(static_cast<std::uint8_t>(c));
    if (v.is_nan()) continue;
    bad.check(fp8_e4m3::from_float<sat>(v.to_float()).bits(), c, v.to_float());
    bad.check(fp8_e4m3::from_float<nosat>(v.to_float()).bits(), c, v.to_float());
    bad.check(fp8_e4m3::from_double<nosat>(static_cast<double>(v)).bits(), c, v.to_float());
  }
}

TEST(Fp8E4m3, NeighbourhoodsSweepAndDoublesMatchReference) {
  mismatch_counter bad_sat("e4m3 satfinite"), bad_nosat("e4m3 nosat"), bad_d("e4m3(double)");
  auto check = [&](float x) {
    bad_sat.check(fp8_e4m3::from_float<sat>(x).bits(), test::expect_e4m3(x, sat), x);
    bad_nosat.check(fp8_e4m3::from_float<nosat>(x).bits(), test::expect_e4m3(x, nosat), x);
  };
  for (float x : test::float_points(test::tables().e4m3)) check(x);
  for (float x : test::nan_floats()) check(x);
  test::for_each_strided_float(4099, 11, check);
  for (double x : test::double_points(test::tables().e4m3)) {
    bad_d.check(fp8_e4m3::from_double<sat>(x).bits(), test::expect_e4m3(x, sat), x);
    bad_d.check(fp8_e4m3::from_double<nosat>(x).bits(), test::expect_e4m3(x, nosat), x);
  }
}

TEST(Fp8E4m3, SaturationAndSpecialValues) {
  EXPECT_EQ(fp8_e4m3(464.0f).bits(), 0x7E);  // max + half ulp: ties to 448 (even), no overflow
  EXPECT_EQ(fp8_e4m3::from_float<nosat>(464.0f).bits(), 0x7E);
  EXPECT_EQ(fp8_e4m3::from_float<nosat>(464.00003f).bits(), 0x7F);  // past it: NaN without saturation
  EXPECT_EQ(fp8_e4m3(1e30f).bits(), 0x7E);
  EXPECT_EQ(fp8_e4m3(-1e30f).bits(), 0xFE);
  EXPECT_EQ(fp8_e4m3(inf_f).bits(), 0x7E);
  EXPECT_EQ(fp8_e4m3(-inf_f).bits(), 0xFE);
  EXPECT_EQ(fp8_e4m3::from_float<nosat>(inf_f).bits(), 0x7F);
  EXPECT_EQ(fp8_e4m3::from_float<nosat>(-inf_f).bits(), 0xFF);
  EXPECT_EQ(fp8_e4m3(-0.0f).bits(), 0x80);
  EXPECT_EQ(fp8_e4m3(-0x1p-11f).bits(), 0x80);  // underflow keeps the sign
  for (float n : test::nan_floats()) {
    EXPECT_EQ(fp8_e4m3(n).bits(), 0x7F);
    EXPECT_EQ(fp8_e4m3::from_float<nosat>(n).bits(), 0x7F);
    EXPECT_EQ(fp8_e4m3(static_cast<double>(n)).bits(), 0x7F);
  }
}

TEST(Fp8E4m3, NvFp4DossierScaleBytes) {
  // nvfp4-plucker-ucpe.md A.9, "E4M3 scale bytes" (CUDA 13 host results), for e4m3 satfinite and ue4m3.
  const struct {
    float x;
    std::uint8_t code;
  } vectors[] = {{448.0f, 0x7E}, {449.0f, 0x7E},  {464.0f, 0x7E},   {500.0f, 0x7E},    {1.0f, 0x38},
                 {240.0f, 0x77}, {0x1p-9f, 0x01}, {0x1p-10f, 0x00}, {0.083333f, 0x1B}, {0.3333f, 0x2B}};
  for (const auto& v : vectors) {
    EXPECT_EQ(fp8_e4m3(v.x).bits(), v.code) << v.x;
    EXPECT_EQ(ue4m3(v.x).bits(), v.code) << v.x;
  }
  EXPECT_EQ(fp8_e4m3::from_bits(0x1B).to_float(), 0.0859375f);
  EXPECT_EQ(fp8_e4m3::from_bits(0x2B).to_float(), 0.34375f);
  EXPECT_EQ(fp8_e4m3::from_bits(0x67).to_float(), 60.0f);
  EXPECT_EQ(fp8_e4m3(58.24f).bits(), 0x67);  // dossier block B: 58.24 → 60
}

TEST(Fp8E4m3, Limits) {
  EXPECT_EQ(fp8_e4m3::max().to_float(), 448.0f);
  EXPECT_EQ(fp8_e4m3::lowest().to_float(), -448.0f);
  EXPECT_EQ(fp8_e4m3::min_normal().to_float(), 0x1p-6f);
  EXPECT_EQ(fp8_e4m3::denorm_min().to_float(), 0x1p-9f);
  EXPECT_EQ(fp8_e4m3::epsilon().to_float(), 0.125f);
  EXPECT_EQ(fp8_e4m3(1.0f + fp8_e4m3::epsilon().to_float()).bits(), 0x39);
  EXPECT_TRUE(fp8_e4m3::quiet_nan().is_nan() && fp8_e4m3::from_bits(0xFF).is_nan());
  EXPECT_TRUE(fp8_e4m3::max().is_finite());
  EXPECT_NE(fp8_e4m3(0.0f), fp8_e4m3(-0.0f));
}

TEST(Fp8E5m2, DecodesEveryCodeExactly) {
  check_decode_all<fp8_e5m2>(test::e5m2_format, 0x7C, 0x7D, "e5m2 decode");
  EXPECT_EQ(fp8_e5m2::from_bits(0x01).to_float(), 0x1p-16f);
  EXPECT_EQ(fp8_e5m2::from_bits(0x7B).to_float(), 57344.0f);
  EXPECT_EQ(fp8_e5m2::from_bits(0xFC).to_float(), -inf_f);
}

TEST(Fp8E5m2, EveryNonNanCodeRoundTrips) {
  mismatch_counter bad("e5m2 round trip");
  for (std::uint32_t c = 0; c < 256; ++c) {
    const auto v = fp8_e5m2::from_bits(static_cast<std::uint8_t>(c));
    if (v.is_nan()) continue;
    // inf round-trips only without saturation (satfinite clamps it to max).
    bad.check(fp8_e5m2::from_float<nosat>(v.to_float()).bits(), c, v.to_float());
    bad.check(fp8_e5m2::from_double<nosat>(static_cast<double>(v)).bits(), c, v.to_float());
    if (!v.is_inf()) bad.check(fp8_e5m2::from_float<sat>(v.to_float()).bits(), c, v.to_float());
  }
}

TEST(Fp8E5m2, NeighbourhoodsSweepAndDoublesMatchReference) {
  mismatch_counter bad_sat("e5m2 satfinite"), bad_nosat("e5m2 nosat"), bad_d("e5m2(double)");
  auto check = [&](float x) {
    bad_sat.check(fp8_e5m2::from_float<sat>(x).bits(), test::expect_e5m2(x, sat), x);
    bad_nosat.check(fp8_e5m2::from_float<nosat>(x).bits(), test::expect_e5m2(x, nosat), x);
  };
  for (float x : test::float_points(test::tables().e5m2)) check(x);
  for (float x : test::nan_floats()) check(x);
  test::for_each_strided_float(4099, 5, check);
  for (double x : test::double_points(test::tables().e5m2)) {
    bad_d.check(fp8_e5m2::from_double<sat>(x).bits(), test::expect_e5m2(x, sat), x);
    bad_d.check(fp8_e5m2::from_double<nosat>(x).bits(), test::expect_e5m2(x, nosat), x);
  }
}

TEST(Fp8E5m2, SaturationAndSpecialValues) {
  EXPECT_EQ(fp8_e5m2(61440.0f).bits(), 0x7B);  // max + half ulp ties to even = the overflow side → clamped
  EXPECT_EQ(fp8_e5m2::from_float<nosat>(61440.0f).bits(), 0x7C);
  EXPECT_EQ(fp8_e5m2::from_float<nosat>(61439.996f).bits(), 0x7B);
  EXPECT_EQ(fp8_e5m2(inf_f).bits(), 0x7B);
  EXPECT_EQ(fp8_e5m2(-inf_f).bits(), 0xFB);
  EXPECT_EQ(fp8_e5m2::from_float<nosat>(-inf_f).bits(), 0xFC);
  EXPECT_EQ(fp8_e5m2(-0.0f).bits(), 0x80);
  for (float n : test::nan_floats()) EXPECT_EQ(fp8_e5m2::from_float<nosat>(n).bits(), 0x7F);
}

TEST(Fp8E5m2, Limits) {
  EXPECT_EQ(fp8_e5m2::max().to_float(), 57344.0f);
  EXPECT_EQ(fp8_e5m2::lowest().to_float(), -57344.0f);
  EXPECT_EQ(fp8_e5m2::min_normal().to_float(), 0x1p-14f);
  EXPECT_EQ(fp8_e5m2::denorm_min().to_float(), 0x1p-16f);
  EXPECT_EQ(fp8_e5m2::epsilon().to_float(), 0.25f);
  EXPECT_EQ(fp8_e5m2::infinity().to_float(), inf_f);
  EXPECT_TRUE(fp8_e5m2::quiet_nan().is_nan() && fp8_e5m2::from_bits(0x7D).is_nan());
  EXPECT_TRUE(fp8_e5m2::infinity().is_inf() && !fp8_e5m2::infinity().is_finite());
}

TEST(Ue4m3, DecodesEveryCodeIgnoringBit7) {
  mismatch_counter bad("ue4m3 decode");
  for (std::uint32_t c = 0; c < 256; ++c) {
    const float f = ue4m3::from_bits(static_cast<std::uint8_t>(c)).to_float();
    const std::uint32_t mag = c & 0x7F;
    if (mag == 0x7F) {
      bad.check(bit_cast<std::uint32_t>(f), 0x7FFF'FFFFu, c);
      continue;
    }
    bad.check(static_cast<double>(f) == test::code_value(test::e4m3_format, mag) && !std::signbit(f), true,
              c);
  }
}

TEST(Ue4m3, RoundTripsAndMatchesE4m3SatfiniteForNonNegativeInputs) {
  mismatch_counter bad("ue4m3");
  for (std::uint32_t c = 0; c < 0x7F; ++c) {
    const float v = ue4m3::from_bits(static_cast<std::uint8_t>(c)).to_float();
    bad.check(ue4m3(v).bits(), c, v);
    bad.check(ue4m3(static_cast<double>(v)).bits(), c, v);
  }
  auto check = [&](float x) {
    bad.check(ue4m3(x).bits(), test::expect_ue4m3(x), x);
    if (!std::signbit(x)) bad.check(ue4m3(x).bits(), fp8_e4m3(x).bits(), x);
  };
  for (float x : test::float_points(test::tables().e4m3)) check(x);
  for (float x : test::nan_floats()) check(x);
  test::for_each_strided_float(4099, 1, check);
  for (double x : test::double_points(test::tables().e4m3))
    bad.check(ue4m3(x).bits(), test::expect_ue4m3(x), x);
}

TEST(Ue4m3, NegativeInputsGiveZeroAndOverflowSaturates) {
  EXPECT_EQ(ue4m3(-0.0f).bits(), 0x00);
  EXPECT_EQ(ue4m3(-1.0f).bits(), 0x00);
  EXPECT_EQ(ue4m3(-inf_f).bits(), 0x00);
  EXPECT_EQ(ue4m3(-1e-30).bits(), 0x00);
  EXPECT_EQ(ue4m3(inf_f).bits(), 0x7E);
  EXPECT_EQ(ue4m3(1e30f).bits(), 0x7E);
  for (float n : test::nan_floats()) EXPECT_EQ(ue4m3(n).bits(), 0x7F);
  EXPECT_EQ(ue4m3::max().to_float(), 448.0f);
  EXPECT_EQ(ue4m3::lowest().to_float(), 0.0f);
  EXPECT_EQ(ue4m3::min_normal().to_float(), 0x1p-6f);
  EXPECT_EQ(ue4m3::denorm_min().to_float(), 0x1p-9f);
  EXPECT_EQ(ue4m3::epsilon().to_float(), 0.125f);
  EXPECT_TRUE(ue4m3::quiet_nan().is_nan());
}

TEST(Ue8m0, DecodesEveryCodeExactly) {
  for (std::uint32_t c = 0; c < 255; ++c) {
    const auto v = ue8m0::from_bits(static_cast<std::uint8_t>(c));
    EXPECT_EQ(static_cast<double>(v.to_float()), std::ldexp(1.0, static_cast<int>(c) - 127)) << c;
    EXPECT_EQ(v.exponent(), static_cast<int>(c) - 127);
    EXPECT_EQ(ue8m0::from_exponent(v.exponent()), v);
  }
  EXPECT_EQ(bit_cast<std::uint32_t>(ue8m0::from_bits(0xFF).to_float()), 0x7FFF'FFFFu);
  EXPECT_EQ(bit_cast<std::uint32_t>(ue8m0::from_bits(0x00).to_float()),
            0x0040'0000u);  // 2^-127, a float subnormal
  EXPECT_EQ(ue8m0::from_exponent(-500).bits(), 0x00);
  EXPECT_EQ(ue8m0::from_exponent(500).bits(), 0xFE);
}

TEST(Ue8m0, EveryCodeRoundTripsInEveryMode) {
  mismatch_counter bad("ue8m0 round trip");
  for (std::uint32_t c = 0; c < 255; ++c) {
    const float v = ue8m0::from_bits(static_cast<std::uint8_t>(c)).to_float();
    bad.check(ue8m0::from_float<rz, sat>(v).bits(), c, v);
    bad.check(ue8m0::from_float<rz, nosat>(v).bits(), c, v);
    bad.check(ue8m0::from_float<rp, sat>(v).bits(), c, v);
    bad.check(ue8m0::from_float<rp, nosat>(v).bits(), c, v);
    bad.check(ue8m0::from_double<rz, nosat>(static_cast<double>(v)).bits(), c, v);
    bad.check(ue8m0::from_double<rp, nosat>(static_cast<double>(v)).bits(), c, v);
  }
}

// Powers of two, their float neighbours and the points in between, in every mode, against the reference.
TEST(Ue8m0, NeighbourhoodsSweepAndDoublesMatchReference) {
  mismatch_counter bad("ue8m0(float)"), bad_d("ue8m0(double)");
  auto check = [&](float x) {
    bad.check(ue8m0::from_float<rz, sat>(x).bits(), test::expect_ue8m0(x, rz, sat), x);
    bad.check(ue8m0::from_float<rz, nosat>(x).bits(), test::expect_ue8m0(x, rz, nosat), x);
    bad.check(ue8m0::from_float<rp, sat>(x).bits(), test::expect_ue8m0(x, rp, sat), x);
    bad.check(ue8m0::from_float<rp, nosat>(x).bits(), test::expect_ue8m0(x, rp, nosat), x);
  };
  for (float x : test::float_points(test::tables().e8m0)) check(x);
  for (float x : test::nan_floats()) check(x);
  test::for_each_strided_float(4099, 2, check);
  for (double x : test::double_points(test::tables().e8m0)) {
    bad_d.check(ue8m0::from_double<rz, sat>(x).bits(), test::expect_ue8m0(x, rz, sat), x);
    bad_d.check(ue8m0::from_double<rz, nosat>(x).bits(), test::expect_ue8m0(x, rz, nosat), x);
    bad_d.check(ue8m0::from_double<rp, sat>(x).bits(), test::expect_ue8m0(x, rp, sat), x);
    bad_d.check(ue8m0::from_double<rp, nosat>(x).bits(), test::expect_ue8m0(x, rp, nosat), x);
  }
}

TEST(Ue8m0, ZeroSubnormalsOverflowAndNan) {
  EXPECT_EQ(ue8m0(0.0f).bits(), 0x00);  // no zero: clamps to 2^-127
  EXPECT_EQ(ue8m0::from_float<rz>(-0.0f).bits(), 0x00);
  EXPECT_EQ(ue8m0(-3.0f).bits(), 0x81);  // the sign is ignored: |−3| rounds up to 4
  EXPECT_EQ(ue8m0::from_float<rz>(-3.0f).bits(), 0x80);
  EXPECT_EQ(ue8m0(0x1p-127f).bits(), 0x00);
  EXPECT_EQ(ue8m0(0x1.000008p-127f).bits(), 0x01);  // a float subnormal above 2^-127 rounds up to 2^-126
  EXPECT_EQ(ue8m0::from_float<rz>(0x1.fffffcp-127f).bits(), 0x00);
  EXPECT_EQ(ue8m0(std::numeric_limits<float>::denorm_min()).bits(), 0x00);
  EXPECT_EQ(ue8m0(0x1p127f).bits(), 0xFE);
  EXPECT_EQ(ue8m0(0x1.000002p127f).bits(), 0xFE);  // rounds up past 2^127: satfinite
  EXPECT_EQ((ue8m0::from_float<rp, nosat>(0x1.000002p127f).bits()), 0xFF);
  EXPECT_EQ((ue8m0::from_float<rz, nosat>(std::numeric_limits<float>::max()).bits()), 0xFE);
  EXPECT_EQ(ue8m0(inf_f).bits(), 0xFE);
  EXPECT_EQ((ue8m0::from_float<rz, sat>(-inf_f).bits()), 0xFE);
  EXPECT_EQ((ue8m0::from_float<rz, nosat>(inf_f).bits()), 0xFF);
  EXPECT_EQ((ue8m0::from_double<rz, nosat>(0x1p200).bits()), 0xFF);
  EXPECT_EQ((ue8m0::from_double<rz, sat>(0x1p200).bits()), 0xFE);
  for (float n : test::nan_floats()) {
    EXPECT_EQ(ue8m0(n).bits(), 0xFF);
    EXPECT_EQ((ue8m0::from_float<rz, sat>(n).bits()), 0xFF);
  }
  EXPECT_TRUE(ue8m0::quiet_nan().is_nan());
  EXPECT_EQ(ue8m0::max().to_float(), 0x1p127f);
  EXPECT_EQ(ue8m0::lowest().to_float(), 0x1p-127f);
  EXPECT_EQ(ue8m0::min_normal().to_float(), 0x1p-127f);
  EXPECT_EQ(ue8m0::denorm_min().to_float(), 0x1p-127f);
  EXPECT_EQ(ue8m0::epsilon().to_float(), 1.0f);
}

}  // namespace
}  // namespace sanawm

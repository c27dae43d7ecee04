// SPDX-License-Identifier: Apache-2.0
// fp4_e2m1 and fp4x2: all 16 codes and 256 packed bytes decode exactly; rounding (nearest-even and
// toward-zero) matches the float64 reference around every code, over a float sweep and for doubles; the NVFP4
// dossier's scalar vectors and packed blocks (A.2, A.9).
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <gtest/gtest.h>

#include "dtype/dtype_reference.hpp"
#include "sanawm/core/fp4.hpp"
#include "sanawm/core/fp8.hpp"

namespace sanawm {
namespace {

using test::mismatch_counter;

constexpr float inf_f = std::numeric_limits<float>::infinity();
constexpr auto rn = round_mode::nearest_even;
constexpr auto rz = round_mode::toward_zero;

static_assert(fp4_e2m1(6.0f).bits() == 0x7 && fp4_e2m1(-0.5f).bits() == 0x9 && fp4_e2m1(-0.0f).bits() == 0x8);
static_assert(fp4_e2m1::from_float<rz>(5.9f).bits() == 0x6);
static_assert(fp4x2(1.0f, -3.0f).bits() == 0xD2);  // dossier A.2: element 0 low nibble
static_assert(fp4x2::from_bits(0xD2).lo().to_float() == 1.0f &&
              fp4x2::from_bits(0xD2).hi().to_float() == -3.0f);
static_assert(std::is_trivially_copyable_v<fp4_e2m1> && std::is_trivially_copyable_v<fp4x2>);

// nvfp4-plucker-ucpe.md A.1: the code table.
constexpr float e2m1_values[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                   -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

TEST(Fp4E2m1, DecodesEveryCodeExactly) {
  for (std::uint8_t c = 0; c < 16; ++c) {
    const float f = fp4_e2m1::from_bits(c).to_float();
    EXPECT_EQ(f, e2m1_values[c]) << int(c);
    EXPECT_EQ(std::signbit(f), c >= 8) << int(c);
    EXPECT_EQ(static_cast<double>(std::fabs(f)), test::code_value(test::e2m1_format, c & 7u));
    EXPECT_EQ(fp4_e2m1::from_bits(static_cast<std::uint8_t>(c | 0xA0)).bits(),
              c);  // the high nibble is dropped
  }
}

TEST(Fp4E2m1, EveryCodeRoundTripsInBothModes) {
  for (std::uint8_t c = 0; c < 16; ++c) {
    const float v = fp4_e2m1::from_bits(c).to_float();
    EXPECT_EQ(fp4_e2m1::from_float<rn>(v).bits(), c);
    EXPECT_EQ(fp4_e2m1::from_float<rz>(v).bits(), c);
    EXPECT_EQ(fp4_e2m1::from_double<rn>(static_cast<double>(v)).bits(), c);
    EXPECT_EQ(fp4_e2m1::from_double<rz>(static_cast<double>(v)).bits(), c);
  }
}

TEST(Fp4E2m1, NeighbourhoodsSweepAndDoublesMatchReference) {
  mismatch_counter bad_rn("e2m1 nearest"), bad_rz("e2m1 toward zero"), bad_d("e2m1(double)");
  auto check = [&](float x) {
    bad_rn.check(fp4_e2m1::from_float<rn>(x).bits(), test::expect_e2m1(x, rn), x);
    bad_rz.check(fp4_e2m1::from_float<rz>(x).bits(), test::expect_e2m1(x, rz), x);
  };
  for (float x : test::float_points(test::tables().e2m1)) check(x);
  for (float x : test::nan_floats()) check(x);
  test::for_each_strided_float(4099, 13, check);
  for (double x : test::double_points(test::tables().e2m1)) {
    bad_d.check(fp4_e2m1::from_double<rn>(x).bits(), test::expect_e2m1(x, rn), x);
    bad_d.check(fp4_e2m1::from_double<rz>(x).bits(), test::expect_e2m1(x, rz), x);
  }
}

TEST(Fp4E2m1, NvFp4DossierScalarVectors) {
  // nvfp4-plucker-ucpe.md A.9, "Scalar float → E2M1 code (RN | RZ)" (CUDA 13 host results).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const struct {
    float x;
    std::uint8_t rn, rz;
  } vectors[] = {{0.0f, 0x0, 0x0},  {-0.0f, 0x8, 0x8},  {0.1f, 0x0, 0x0},  {0.25f, 0x0, 0x0},
                 {0.26f, 0x1, 0x0}, {0.74f, 0x1, 0x1},  {0.75f, 0x2, 0x1}, {1.25f, 0x2, 0x2},
                 {1.26f, 0x3, 0x2}, {nan, 0x7, 0x7},    {-nan, 0x7, 0x7},  {1.75f, 0x4, 0x3},
                 {2.5f, 0x4, 0x4},  {3.5f, 0x6, 0x5},   {5.0f, 0x6, 0x6},  {5.01f, 0x7, 0x6},
                 {7.0f, 0x7, 0x7},  {100.0f, 0x7, 0x7}, {inf_f, 0x7, 0x7}, {-0.3f, 0x9, 0x8},
                 {-2.6f, 0xD, 0xC}, {-5.0f, 0xE, 0xE},  {-7.0f, 0xF, 0xF}, {-inf_f, 0xF, 0xF}};
  for (const auto& v : vectors) {
    EXPECT_EQ(fp4_e2m1::from_float<rn>(v.x).bits(), v.rn) << v.x;
    EXPECT_EQ(fp4_e2m1::from_float<rz>(v.x).bits(), v.rz) << v.x;
    EXPECT_EQ(fp4_e2m1(v.x).bits(), v.rn) << v.x;
  }
}

TEST(Fp4E2m1, Limits) {
  EXPECT_EQ(fp4_e2m1::max().to_float(), 6.0f);
  EXPECT_EQ(fp4_e2m1::lowest().to_float(), -6.0f);
  EXPECT_EQ(fp4_e2m1::min_normal().to_float(), 1.0f);
  EXPECT_EQ(fp4_e2m1::denorm_min().to_float(), 0.5f);
  EXPECT_EQ(fp4_e2m1::epsilon().to_float(), 0.5f);
  EXPECT_NE(fp4_e2m1(0.0f), fp4_e2m1(-0.0f));  // bit equality
  EXPECT_TRUE(fp4_e2m1(-1.0f).signbit());
}

TEST(Fp4x2, DecodesEveryByteLowNibbleFirst) {
  for (std::uint32_t b = 0; b < 256; ++b) {
    const auto p = fp4x2::from_bits(static_cast<std::uint8_t>(b));
    EXPECT_EQ(p.lo().bits(), b & 0xF);
    EXPECT_EQ(p.hi().bits(), b >> 4);
    EXPECT_EQ(p.get(0), p.lo());
    EXPECT_EQ(p.get(1), p.hi());
    EXPECT_EQ(p.lo().to_float(), e2m1_values[b & 0xF]);
    EXPECT_EQ(p.hi().to_float(), e2m1_values[b >> 4]);
  }
}

TEST(Fp4x2, PacksEveryPairOfCodes) {
  for (std::uint8_t lo = 0; lo < 16; ++lo) {
    for (std::uint8_t hi = 0; hi < 16; ++hi) {
      const auto want = static_cast<std::uint8_t>(lo | (hi << 4));
      EXPECT_EQ(fp4x2(fp4_e2m1::from_bits(lo), fp4_e2m1::from_bits(hi)).bits(), want);
      EXPECT_EQ(fp4x2(e2m1_values[lo], e2m1_values[hi]).bits(), want);
      EXPECT_EQ(fp4x2::from_float<rz>(e2m1_values[lo], e2m1_values[hi]).bits(), want);
    }
  }
  EXPECT_EQ(fp4x2::from_float<rz>(5.9f, -1.4f).bits(), 0xA6);
  EXPECT_EQ(fp4x2::from_float<rn>(5.9f, -1.4f).bits(), 0xB7);
}

TEST(Fp4x2, NvFp4DossierBlockA) {
  // A.9 block A: amax 6 → S_enc = 448, scale byte 0x7E and an element multiplier of exactly 1.
  const float x[16] = {0,     0.1f, -0.2f, 0.35f, 0.5f, -0.75f, 1.0f,  1.25f,
                       -1.5f, 2.0f, 2.5f,  -3.0f, 3.5f, 4.0f,   -5.0f, 6.0f};
  const std::uint8_t packed[8] = {0x00, 0x18, 0xA1, 0x22, 0x4B, 0xD4, 0x66, 0x7E};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(fp4x2(x[2 * i], x[2 * i + 1]).bits(), packed[i]) << i;
}

TEST(Fp4x2, NvFp4DossierBlockBWithTransformerEngineOrder) {
  // A.9 block B (two 16-element blocks, amax 10), quantised in TE's order of operations (A.3): the dtype
  // conversions must reproduce the dossier's scale and packed bytes exactly.
  const float in[32] = {10,   -7.5f,  5,      3.3f,  -2.2f, 1.1f,  0.6f,  -0.3f, 0,     9,      -9.9f,
                        4.4f, 2.5f,   -1.25f, 0.75f, 8,     1.3f,  -1.3f, 0.65f, 0.2f,  -0.05f, 1.0f,
                        0.9f, -0.45f, 0.33f,  0,     1.25f, -0.8f, 0.1f,  0.55f, -1.1f, 0.7f};
  const std::uint8_t want_scale[2] = {0x7E, 0x67};
  const std::uint8_t want_packed[2][8] = {{0xE7, 0x45, 0x1B, 0x81, 0x70, 0x5F, 0x93, 0x61},
                                          {0xF7, 0x25, 0x68, 0xC6, 0x03, 0xE7, 0x41, 0x5E}};
  const float amax = 10.0f;
  const float s_enc = 2688.0f / amax;
  const float s_dec = 1.0f / s_enc;
  for (int b = 0; b < 2; ++b) {
    float m_b = 0;
    for (int i = 0; i < 16; ++i) m_b = std::fmax(m_b, std::fabs(in[16 * b + i]));
    const float s_b_f = std::fmin(m_b * (s_enc * (1.0f / 6.0f)), 448.0f);
    const fp8_e4m3 s_b(s_b_f);
    EXPECT_EQ(s_b.bits(), want_scale[b]) << "block " << b;
    const float e_b = 1.0f / (s_b.to_float() * s_dec);
    for (int i = 0; i < 8; ++i) {
      const float x0 = in[16 * b + 2 * i] * e_b, x1 = in[16 * b + 2 * i + 1] * e_b;
      EXPECT_EQ(fp4x2(x0, x1).bits(), want_packed[b][i]) << "block " << b << " byte " << i;
    }
  }
  // The midpoint case of A.9: TE's −1.25·0.59999996 = −0.74999995 rounds to −0.5, ModelOpt's −0.75000006 to
  // −1.
  EXPECT_EQ(fp4_e2m1(-0.74999995f).bits(), 0x9);
  EXPECT_EQ(fp4_e2m1(-0.75000006f).bits(), 0xA);
}

}  // namespace
}  // namespace sanawm

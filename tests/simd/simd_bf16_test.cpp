// SPDX-License-Identifier: Apache-2.0
// SIMD layer, bf16: widening of all 65536 codes, rounding of swept float bit patterns against an independent
// round-to-nearest-even reference, partial bf16 loads/stores, and dot_bf16 (vdpbf16ps semantics) against an
// exact float64 model of the instruction, including the denormal-flushing corner cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "sanawm/core/bf16.hpp"
#include "simd/simd_test_util.hpp"
#include "support/test_util.hpp"

namespace sanawm {
namespace {

using test::bits;
using test::from_bits;

/// Round to nearest even by comparing the distances to the two neighbouring bf16 values (no bit tricks,
/// so it is independent of the implementation). The code above bf16's largest finite value, 0x7f80, counts
/// as 2^128 so that overflow rounds to infinity exactly as IEEE does. NaN → canonical 0x7FFF.
std::uint16_t reference_bf16(float f) {
  const std::uint32_t u = bits(f);
  if (std::isnan(f)) return 0x7fff;
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t mag = u & 0x7fffffffu;
  const auto lo = static_cast<std::uint16_t>(mag >> 16);
  if ((mag & 0xffffu) == 0) return static_cast<std::uint16_t>(sign | lo);
  const auto hi = static_cast<std::uint16_t>(lo + 1);
  auto value = [](std::uint16_t code) {
    return code == 0x7f80 ? 0x1p128 : static_cast<double>(from_bits(static_cast<std::uint32_t>(code) << 16));
  };
  const double x = std::fabs(static_cast<double>(f));
  const double below = x - value(lo), above = value(hi) - x;
  const std::uint16_t pick = below < above ? lo : above < below ? hi : ((lo & 1u) ? hi : lo);
  return static_cast<std::uint16_t>(sign | pick);
}

/// Float bit patterns to round: every bf16 code with assorted low halves (exact, just below/at/above the
/// halfway point, all ones), then seeded random patterns.
std::vector<float> rounding_inputs() {
  std::vector<float> x;
  std::mt19937_64 gen(test::test_seed());
  for (std::uint32_t hi = 0; hi < 0x10000u; ++hi)
    for (std::uint32_t lo :
         {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu, static_cast<std::uint32_t>(gen() & 0xffffu)})
      x.push_back(from_bits((hi << 16) | lo));
  for (int i = 0; i < (1 << 20); ++i) x.push_back(from_bits(static_cast<std::uint32_t>(gen())));
  return x;
}

TEST(SimdBf16Scalar, HelperMatchesReferenceAndCoreBf16) {
  for (float f : rounding_inputs()) {
    ASSERT_EQ(cpu::detail::float_to_bf16_bits(f), reference_bf16(f)) << std::hex << bits(f);
    // The SIMD stores must write exactly what the scalar dtype (and CUDA) would.
    ASSERT_EQ(cpu::detail::float_to_bf16_bits(f), bf16(f).bits()) << std::hex << bits(f);
  }
  for (std::uint32_t c = 0; c < 0x10000u; ++c)
    ASSERT_EQ(bits(cpu::detail::bf16_bits_to_float(static_cast<std::uint16_t>(c))), c << 16);
}

template <class Isa>
class SimdBf16 : public ::testing::Test {};
TYPED_TEST_SUITE(SimdBf16, test::compiled_isa_types, test::isa_name);

TYPED_TEST(SimdBf16, LoadWidensAllCodesExactly) {
  using V = cpu::vec<float, TypeParam>;
  std::vector<std::uint16_t> codes(0x10000);
  for (std::uint32_t c = 0; c < 0x10000u; ++c) codes[c] = static_cast<std::uint16_t>(c);
  std::vector<float> out(codes.size());
  for (std::size_t i = 0; i < codes.size(); i += V::width) V::load_bf16(&codes[i]).store(&out[i]);
  for (std::uint32_t c = 0; c < 0x10000u; ++c) ASSERT_EQ(bits(out[c]), c << 16) << "code 0x" << std::hex << c;
}

TYPED_TEST(SimdBf16, StoreRoundsToNearestEven) {
  using V = cpu::vec<float, TypeParam>;
  std::vector<float> x = rounding_inputs();
  while (x.size() % V::width) x.push_back(1.0f);
  std::vector<std::uint16_t> out(x.size());
  for (std::size_t i = 0; i < x.size(); i += V::width) V::load(&x[i]).store_bf16(&out[i]);
  int failures = 0;
  for (std::size_t i = 0; i < x.size() && failures < 10; ++i)
    if (out[i] != reference_bf16(x[i]))
      ++failures, ADD_FAILURE() << std::hex << "float 0x" << bits(x[i]) << " -> 0x" << out[i] << ", want 0x"
                                << reference_bf16(x[i]);
}

TYPED_TEST(SimdBf16, RoundTripKeepsEveryCodeNaNsBecomeCanonical) {
  using V = cpu::vec<float, TypeParam>;
  std::vector<std::uint16_t> codes(0x10000), back(0x10000);
  for (std::uint32_t c = 0; c < 0x10000u; ++c) codes[c] = static_cast<std::uint16_t>(c);
  for (std::size_t i = 0; i < codes.size(); i += V::width) V::load_bf16(&codes[i]).store_bf16(&back[i]);
  for (std::uint32_t c = 0; c < 0x10000u; ++c) {
    const bool nan = (c & 0x7fffu) > 0x7f80u;
    ASSERT_EQ(back[c], nan ? 0x7fffu : c) << "code 0x" << std::hex << c;
  }
}

TYPED_TEST(SimdBf16, PartialLoadStoreEveryTail) {
  using V = cpu::vec<float, TypeParam>;
  constexpr int W = V::width;
  for (int n = -1; n <= 2 * W + 1; ++n) {
    const int m = std::clamp(n, 0, W);
    std::unique_ptr<std::uint16_t[]> src(new std::uint16_t[static_cast<std::size_t>(m)]);
    for (int i = 0; i < m; ++i)
      src[static_cast<std::size_t>(i)] = static_cast<std::uint16_t>(0x3f80 + i);  // 1, 1.0078, ...
    float lanes[W];
    V::load_bf16_partial(src.get(), n).store(lanes);
    for (int i = 0; i < W; ++i)
      EXPECT_EQ(bits(lanes[i]), i < m ? static_cast<std::uint32_t>(0x3f80 + i) << 16 : 0u)
          << "n=" << n << " lane " << i;

    std::uint16_t guarded[2 * W + 2];
    std::fill(guarded, guarded + 2 * W + 2, std::uint16_t{0xbeef});
    float vals[W];
    for (int i = 0; i < W; ++i) vals[i] = 1.0f + static_cast<float>(i) * 0x1p-7f + 0x1p-9f;  // rounds down
    V::load(vals).store_bf16_partial(guarded, n);
    for (int i = 0; i < 2 * W + 2; ++i)
      EXPECT_EQ(guarded[i], i < m ? static_cast<std::uint16_t>(0x3f80 + i) : 0xbeef)
          << "n=" << n << " lane " << i;
    std::unique_ptr<std::uint16_t[]> dst(new std::uint16_t[static_cast<std::size_t>(m)]);
    V::load(vals).store_bf16_partial(dst.get(), n);  // exactly m elements: the sanitizer checks the bound
    for (int i = 0; i < m; ++i) EXPECT_EQ(dst[static_cast<std::size_t>(i)], 0x3f80 + i);
  }
}

// ---- dot_bf16 ---------------------------------------------------------------------------------------------

float bf16_value(std::uint16_t c) {
  return from_bits(static_cast<std::uint32_t>(c) << 16);
}
float denormal_to_zero(float x) {
  return std::fabs(x) < 0x1p-126f ? std::copysign(0.0f, x) : x;
}

/// One vdpbf16ps step, acc + x·y, computed exactly in float64 and then rounded by hand: TwoSum gives the
/// exact sum as s + e, which is rounded to 24 significant bits (nearest even, exponent unbounded), then
/// flushed to signed zero below 2^-126 or sent to infinity at 2^128.
float reference_dot_step(float acc, float x, float y) {
  const double p = static_cast<double>(x) * static_cast<double>(y);  // exact: 8-bit × 8-bit significands
  const double a = acc;
  const double s = a + p;
  if (!std::isfinite(s) || s == 0) return static_cast<float>(s);  // inf/NaN operands, or an exact zero
  const double bb = s - a;
  const double e = (a - (s - bb)) + (p - bb);  // a + p == s + e exactly
  const double mag = std::fabs(s), emag = s < 0 ? -e : e;
  int ex = 0;
  const double scaled = std::ldexp(std::frexp(mag, &ex), 24);  // in [2^23, 2^24)
  const double whole = std::floor(scaled), frac = scaled - whole;
  const double efrac = std::ldexp(emag, 24 - ex);  // below 2^-30, frac is a multiple of 2^-29
  const bool odd = std::fmod(whole, 2.0) != 0;
  const double q = (frac > 0.5 || (frac == 0.5 && (efrac > 0 || (efrac == 0 && odd)))) ? whole + 1 : whole;
  const double r = std::ldexp(q, ex - 24);
  if (r < 0x1p-126) return std::copysign(0.0f, static_cast<float>(s));
  if (r >= 0x1p128) return std::copysign(std::numeric_limits<float>::infinity(), static_cast<float>(s));
  return std::copysign(static_cast<float>(r), static_cast<float>(s));
}

/// vdpbf16ps on one lane: the odd (high) pair element first, denormal inputs as zero.
float reference_dot(float acc, std::uint16_t a_even, std::uint16_t a_odd, std::uint16_t b_even,
                    std::uint16_t b_odd) {
  float r = denormal_to_zero(acc);
  r = reference_dot_step(r, denormal_to_zero(bf16_value(a_odd)), denormal_to_zero(bf16_value(b_odd)));
  return reference_dot_step(r, denormal_to_zero(bf16_value(a_even)), denormal_to_zero(bf16_value(b_even)));
}

/// A bf16 code with the given sign bit, unbiased exponent (-127 means the denormal/zero field) and random
/// mantissa.
std::uint16_t bf16_code(std::mt19937_64& gen, int exponent) {
  const auto field = static_cast<std::uint32_t>(exponent + 127);
  return static_cast<std::uint16_t>(((gen() & 1u) << 15) | (field << 7) | (gen() & 0x7fu));
}

struct dot_case {
  std::vector<std::uint16_t> a, b;  // 2 per lane
  std::vector<float> acc;           // 1 per lane
};

/// Lanes in five families: ordinary values; arbitrary bits (NaN, inf, denormals); products and
/// accumulators near 2^-126 (DAZ/FTZ); products near overflow against ±FLT_MAX; and hand-made lanes at the
/// flushing boundary found by probing the hardware.
dot_case make_dot_case(int width) {
  dot_case c;
  std::mt19937_64 gen(test::test_seed() + 77);
  auto lane = [&](std::uint16_t ae, std::uint16_t ao, std::uint16_t be, std::uint16_t bo, float acc) {
    c.a.push_back(ae), c.a.push_back(ao), c.b.push_back(be), c.b.push_back(bo), c.acc.push_back(acc);
  };
  auto h = [](float f) { return static_cast<std::uint16_t>(bits(f) >> 16); };
  // Hand-made: the sum rounds to 2^-126 on the denormal grid but to 2^-126 − 2^-150 with 24 bits, so the
  // hardware flushes it; ties at 2^-126 − 2^-151 round up and stay; products that overflow alone but not
  // after adding −FLT_MAX; denormal products; the order of the two steps.
  const float zero = 0.0f;
  lane(h(zero), h(-0x1.8p-76f), h(zero), h(0x1p-75f), 0x1p-126f);
  lane(h(zero), h(0x1.8p-76f), h(zero), h(0x1p-75f), -0x1p-126f);
  lane(h(zero), h(-0x1.4p-76f), h(zero), h(0x1p-75f), 0x1p-126f);
  lane(h(zero), h(-0x1p-75f), h(zero), h(0x1p-76f), 0x1p-126f);
  lane(h(zero), h(-0x1.8p-75f), h(zero), h(0x1p-75f), 0x1p-126f);
  lane(h(zero), h(0x1.4p64f), h(zero), h(0x1p64f), -0x1.fffffep127f);
  lane(h(zero), h(0x1.8p64f), h(zero), h(0x1p64f), -0x1.fffffep127f);
  lane(h(zero), h(0x1.fep-75f), h(zero), h(0x1.fep-66f), 0.0f);
  lane(h(zero), h(-0x1p-63f), h(zero), h(0x1p-62f), 0x1.000004p-125f);
  lane(h(0x1.8p-24f), h(-0x1p-23f), h(1.0f), h(1.0f), 1.0f);
  lane(h(-0x1p-23f), h(0x1.8p-24f), h(1.0f), h(1.0f), 1.0f);
  lane(h(1.0f), h(1.0f), h(1.0f), h(1.0f), 0x1p-140f);  // denormal accumulator
  lane(h(-0.0f), h(-0.0f), h(1.0f), h(1.0f), -0.0f);    // -0 + -0 + -0 stays -0
  lane(h(0x1p-130f), h(3.0f), h(1.0f), h(1.0f), 1.0f);  // denormal bf16 operand
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  for (int i = 0; i < 4000; ++i) {
    lane(h(u(gen)), h(u(gen)), h(u(gen)), h(u(gen)), 2 * u(gen));
    lane(static_cast<std::uint16_t>(gen()), static_cast<std::uint16_t>(gen()),
         static_cast<std::uint16_t>(gen()), static_cast<std::uint16_t>(gen()),
         from_bits(static_cast<std::uint32_t>(gen())));
    // Products with exponent t in [-152, -118], accumulators around 2^-126 (including denormal ones).
    auto tiny_pair = [&](std::uint16_t& x, std::uint16_t& y) {
      const int t = -152 + static_cast<int>(gen() % 35), ea = -100 + static_cast<int>(gen() % 75);
      x = bf16_code(gen, ea), y = bf16_code(gen, t - ea);
    };
    std::uint16_t ae, ao, be, bo;
    tiny_pair(ae, be), tiny_pair(ao, bo);
    const int acc_exp = -127 + static_cast<int>(gen() % 12);
    const auto acc_bits = (static_cast<std::uint32_t>(gen() & 1u) << 31) |
                          (static_cast<std::uint32_t>(acc_exp + 127) << 23) |
                          static_cast<std::uint32_t>(gen() & 0x7fffffu);
    lane(ae, ao, be, bo, from_bits(acc_bits));
    // Products near 2^127..2^129 against accumulators near ±FLT_MAX.
    const int e1 = 62 + static_cast<int>(gen() % 4);
    lane(bf16_code(gen, e1), bf16_code(gen, e1), bf16_code(gen, 127 - e1), bf16_code(gen, 128 - e1),
         from_bits((static_cast<std::uint32_t>(gen() & 1u) << 31) | 0x7f000000u |
                   static_cast<std::uint32_t>(gen() & 0x7fffffu)));
  }
  while (c.acc.size() % static_cast<std::size_t>(width)) lane(0, 0, 0, 0, 0.0f);
  return c;
}

template <class Isa, class Dot>
void check_dot(const char* what, Dot dot) {
  using V = cpu::vec<float, Isa>;
  using P = cpu::bf16_pairs<Isa>;
  const dot_case c = make_dot_case(V::width);
  std::vector<float> out(c.acc.size());
  for (std::size_t j = 0; j < c.acc.size(); j += V::width)
    dot(V::load(&c.acc[j]), P::load(&c.a[2 * j]), P::load(&c.b[2 * j])).store(&out[j]);
  int failures = 0;
  for (std::size_t j = 0; j < c.acc.size() && failures < 10; ++j) {
    const float want = reference_dot(c.acc[j], c.a[2 * j], c.a[2 * j + 1], c.b[2 * j], c.b[2 * j + 1]);
    if (!test::same_or_both_nan(out[j], want))
      ++failures, ADD_FAILURE() << what << " lane " << j << std::hexfloat << ": acc " << c.acc[j] << " a ("
                                << bf16_value(c.a[2 * j]) << ", " << bf16_value(c.a[2 * j + 1]) << ") b ("
                                << bf16_value(c.b[2 * j]) << ", " << bf16_value(c.b[2 * j + 1]) << ") -> "
                                << out[j] << ", want " << want;
  }
}

TYPED_TEST(SimdBf16, DotMatchesExactModelOfVdpbf16ps) {
  using V = cpu::vec<float, TypeParam>;
  using P = cpu::bf16_pairs<TypeParam>;
  // On AVX512-BF16 this checks the hardware instruction against the model; elsewhere the emulation.
  check_dot<TypeParam>(TypeParam::native_bf16_dot ? "vdpbf16ps" : "dot_bf16 (emulated)",
                       [](V acc, P a, P b) { return cpu::dot_bf16(acc, a, b); });
  check_dot<TypeParam>("dot_bf16_emulated",
                       [](V acc, P a, P b) { return cpu::detail::dot_bf16_emulated(acc, a, b); });
}

TYPED_TEST(SimdBf16, DotChainMatchesFloat64) {
  using V = cpu::vec<float, TypeParam>;
  using P = cpu::bf16_pairs<TypeParam>;
  constexpr int W = V::width;
  constexpr int K = 96;  // bf16 values per lane, consumed two at a time
  // B packed as a GEMM micro-kernel sees it: for each pair step k, W lanes of (B[2k][j], B[2k+1][j]).
  std::vector<std::uint16_t> a(K), b(static_cast<std::size_t>(K) * W);
  std::mt19937_64 gen(test::test_seed() + 5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& v : a) v = reference_bf16(u(gen));
  for (auto& v : b) v = reference_bf16(u(gen));
  V acc = V::zero();
  for (int k = 0; k < K / 2; ++k)
    acc = cpu::dot_bf16(acc, P::broadcast(&a[2 * k]), P::load(&b[static_cast<std::size_t>(2 * k) * W]));
  float out[W];
  acc.store(out);
  for (int j = 0; j < W; ++j) {
    double ref = 0, mag = 0;
    for (int k = 0; k < K / 2; ++k)
      for (int t = 0; t < 2; ++t) {
        const double term = static_cast<double>(bf16_value(a[2 * k + t])) *
                            bf16_value(b[static_cast<std::size_t>(2 * k) * W + 2 * j + t]);
        ref += term, mag += std::fabs(term);
      }
    EXPECT_NEAR(out[j], ref, K * 0x1p-24 * mag) << "lane " << j;
  }
}

TYPED_TEST(SimdBf16, PairsBroadcastRepeatsOnePair) {
  using V = cpu::vec<float, TypeParam>;
  using P = cpu::bf16_pairs<TypeParam>;
  constexpr int W = V::width;
  const std::uint16_t pair[2] = {0x3fc0, 0xc020};  // 1.5, -2.5
  std::vector<std::uint16_t> repeated(2 * W), ones(2 * W, 0x3f80);
  for (int j = 0; j < W; ++j) repeated[2 * j] = pair[0], repeated[2 * j + 1] = pair[1];
  float x[W], y[W];
  cpu::dot_bf16(V::zero(), P::broadcast(pair), P::load(ones.data())).store(x);
  cpu::dot_bf16(V::zero(), P::load(repeated.data()), P::load(ones.data())).store(y);
  for (int j = 0; j < W; ++j) {
    EXPECT_EQ(x[j], -1.0f);
    EXPECT_EQ(y[j], -1.0f);
  }
}

}  // namespace
}  // namespace sanawm

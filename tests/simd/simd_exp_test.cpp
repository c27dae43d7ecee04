// SPDX-License-Identifier: Apache-2.0
// SIMD layer, exp: a strided sweep of all 2^32 float bit patterns and a dense grid over the finite-result
// range, within 2 ulp of float64 exp on every compiled variant; special values; identical across variants.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "simd/simd_test_util.hpp"
#include "support/test_util.hpp"

namespace sanawm {
namespace {

using test::bits;
using test::from_bits;

/// The inputs: every 1021st bit pattern (all signs, NaNs, infinities, denormals) and a uniform grid over
/// [-105, 90], which covers overflow, the whole normal range and gradual underflow to 0.
std::vector<float> exp_inputs() {
  std::vector<float> x;
  for (std::uint64_t u = 0; u <= 0xffffffffu; u += 1021)
    x.push_back(from_bits(static_cast<std::uint32_t>(u)));
  constexpr int grid = 1 << 20;
  for (int i = 0; i <= grid; ++i) x.push_back(-105.0f + 195.0f * static_cast<float>(i) / grid);
  for (float v : {88.72283f, 88.72284f, 88.7228394f, -87.33654f, -103.972076f, -103.97208f, -103.27893f,
                  -0.0f, 0.0f, 1.0f, -1.0f, 0x1p-149f, -0x1p-149f})
    x.push_back(v);
  return x;
}

template <class Isa>
std::vector<float> run_exp(const std::vector<float>& x) {
  using V = cpu::vec<float, Isa>;
  std::vector<float> y(x.size());
  std::size_t i = 0;
  for (; i + V::width <= x.size(); i += V::width) exp(V::load(&x[i])).store(&y[i]);
  exp(V::load_partial(&x[i], static_cast<index_t>(x.size() - i)))
      .store_partial(&y[i], static_cast<index_t>(x.size() - i));
  return y;
}

template <class Isa>
class SimdExp : public ::testing::Test {};
TYPED_TEST_SUITE(SimdExp, test::compiled_isa_types, test::isa_name);

TYPED_TEST(SimdExp, WithinTwoUlpOverTheFloatRange) {
  const std::vector<float> x = exp_inputs();
  const std::vector<float> y = run_exp<TypeParam>(x);
  std::int64_t worst = 0;
  float worst_x = 0;
  int failures = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      if (!std::isnan(y[i]) && ++failures <= 10) ADD_FAILURE() << "exp(NaN) = " << y[i];
      continue;
    }
    // float64 exp is accurate to well under a float ulp, so rounding it to float is the reference
    // (0 below -103.97, +inf above 88.72, denormals in between).
    const float want = static_cast<float>(std::exp(static_cast<double>(x[i])));
    const std::int64_t d = std::isnan(y[i]) ? 1 << 30 : test::ulp_distance(y[i], want);
    if (d > worst) worst = d, worst_x = x[i];
    if (d > 2 && ++failures <= 10)
      ADD_FAILURE() << "exp(" << x[i] << " [0x" << std::hex << bits(x[i]) << std::dec << "]) = " << y[i]
                    << ", want " << want << " (" << d << " ulp)";
  }
  std::printf("[ sanawm ] exp<%s>: %zu inputs, max error %lld ulp at x = %.9g\n", TypeParam::name, x.size(),
              static_cast<long long>(worst), static_cast<double>(worst_x));
  this->RecordProperty("max_ulp", static_cast<int>(worst));
  EXPECT_LE(worst, 2);
}

TYPED_TEST(SimdExp, SpecialValues) {
  using V = cpu::vec<float, TypeParam>;
  const float inf = std::numeric_limits<float>::infinity();
  auto e = [](float v) {
    float out[V::width];
    exp(V::broadcast(v)).store(out);
    return out[V::width - 1];
  };
  EXPECT_EQ(bits(e(0.0f)), bits(1.0f));
  EXPECT_EQ(bits(e(-0.0f)), bits(1.0f));
  EXPECT_EQ(bits(e(-inf)), bits(0.0f));
  EXPECT_EQ(e(inf), inf);
  EXPECT_EQ(e(1000.0f), inf);
  EXPECT_EQ(e(89.0f), inf);
  EXPECT_EQ(bits(e(-1000.0f)), bits(0.0f));
  EXPECT_EQ(bits(e(-104.0f)), bits(0.0f));
  EXPECT_TRUE(std::isnan(e(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(e(-std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(e(std::numeric_limits<float>::signaling_NaN())));
  EXPECT_EQ(e(0x1p-149f), 1.0f);
  EXPECT_EQ(e(-103.5f), static_cast<float>(std::exp(-103.5)));  // a denormal result
  EXPECT_GT(e(88.72f), 3.3e38f);
  EXPECT_LT(e(88.72f), inf);
}

TYPED_TEST(SimdExp, SameBitsAsScalarWhenBothFuseFma) {
  // Every variant runs the same operation sequence, so with fused fma everywhere the results are identical:
  // a kernel's output does not depend on which variant ran it.
  if constexpr (!cpu::scalar_isa::fused_fma && !std::is_same_v<TypeParam, cpu::scalar_isa>) {
    GTEST_SKIP()
        << "scalar fma is not fused in this build (no FMA instructions): variants may differ by an ulp";
  } else {
    const std::vector<float> x = exp_inputs();
    const std::vector<float> mine = run_exp<TypeParam>(x), scalar = run_exp<cpu::scalar_isa>(x);
    int failures = 0;
    for (std::size_t i = 0; i < x.size() && failures < 10; ++i)
      if (!test::same_or_both_nan(mine[i], scalar[i]))
        ++failures, ADD_FAILURE() << "exp(" << x[i] << "): " << mine[i] << " vs scalar " << scalar[i];
  }
}

}  // namespace
}  // namespace sanawm

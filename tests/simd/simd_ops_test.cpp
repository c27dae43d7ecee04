// SPDX-License-Identifier: Apache-2.0
// SIMD layer, basic operations: loads/stores (full, aligned, partial at every tail length), arithmetic,
// comparisons and reductions on every compiled variant, bit-exact against scalar C++ on random and special
// data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "simd/simd_test_util.hpp"
#include "support/test_util.hpp"

namespace sanawm {
namespace {

using test::bits;
using test::from_bits;
using test::same_or_both_nan;

TEST(SimdConfig, CompiledVariants) {
  // Printed so CI logs show which variants this build tested (the typed suites below run each one).
  std::string list;
  auto add = [&](const char* name, bool on, const char* extra = "") {
    if (!on) return;
    if (!list.empty()) list += ",";
    list += name;
    list += extra;
  };
  add("scalar", true, cpu::scalar_isa::fused_fma ? "(fused fma)" : "(unfused fma)");
  add("avx2", SANAWM_SIMD_AVX2 != 0);
  add("avx512", SANAWM_SIMD_AVX512 != 0, SANAWM_SIMD_AVX512_BF16 ? "(+bf16)" : "");
  std::printf("[ sanawm ] SIMD variants compiled: %s; native_isa = %s\n", list.c_str(),
              cpu::native_isa::name);
  RecordProperty("simd_variants", list);
  RecordProperty("simd_native_isa", cpu::native_isa::name);
  EXPECT_EQ(cpu::native_isa::lanes, (cpu::vec<float, cpu::native_isa>::width));
}

template <class Isa>
class SimdOps : public ::testing::Test {};
TYPED_TEST_SUITE(SimdOps, test::compiled_isa_types, test::isa_name);

TYPED_TEST(SimdOps, ShapeAndTraits) {
  using V = cpu::vec<float, TypeParam>;
  static_assert(V::width == TypeParam::lanes);
  static_assert((V::width & (V::width - 1)) == 0, "widths are powers of two");
  static_assert(V::alignment == sizeof(float) * V::width);
  static_assert(std::is_trivially_copyable_v<V>);
  static_assert(std::is_same_v<typename V::isa, TypeParam>);
  static_assert(cpu::bf16_pairs<TypeParam>::width == V::width);
  static_assert(64 % V::alignment == 0 && cpu::cache_line == 64);
  alignas(64) float line[16] = {};
  cpu::prefetch(line);  // hints only: they must compile and never fault
  cpu::prefetch_l2(line + 8);
}

TYPED_TEST(SimdOps, LoadStoreFullAlignedAndUnaligned) {
  using V = cpu::vec<float, TypeParam>;
  constexpr int W = V::width;
  alignas(64) float src[4 * W];
  alignas(64) float dst[4 * W];
  const auto specials = test::special_floats();
  for (int i = 0; i < 4 * W; ++i) src[i] = specials[static_cast<std::size_t>(i) % specials.size()];

  V::load_aligned(src).store_aligned(dst);
  for (int i = 0; i < W; ++i) EXPECT_EQ(bits(dst[i]), bits(src[i])) << "aligned lane " << i;
  for (int off = 1; off < W; ++off) {
    std::fill(dst, dst + 4 * W, 0.0f);
    V::load(src + off).store(dst + 2 * W - off);
    for (int i = 0; i < W; ++i) EXPECT_EQ(bits(dst[2 * W - off + i]), bits(src[off + i])) << "offset " << off;
  }
  V::broadcast(-3.5f).store(dst);
  V::zero().store(dst + W);
  for (int i = 0; i < W; ++i) {
    EXPECT_EQ(dst[i], -3.5f);
    EXPECT_EQ(bits(dst[W + i]), 0u);
  }
}

TYPED_TEST(SimdOps, PartialLoadStoreEveryTail) {
  using V = cpu::vec<float, TypeParam>;
  constexpr int W = V::width;
  const float sentinel = from_bits(0x7fc0'dead);
  for (int n = -1; n <= 2 * W + 1; ++n) {
    const int m = std::clamp(n, 0, W);
    // Exactly m elements on the heap, so reading or writing past p[m-1] is a sanitizer error.
    std::unique_ptr<float[]> src(new float[static_cast<std::size_t>(m)]);
    for (int i = 0; i < m; ++i) src[static_cast<std::size_t>(i)] = 1.5f + static_cast<float>(i);
    float lanes[W];
    V::load_partial(src.get(), n).store(lanes);
    for (int i = 0; i < W; ++i) {
      if (i < m)
        EXPECT_EQ(lanes[i], 1.5f + static_cast<float>(i)) << "n=" << n << " lane " << i;
      else
        EXPECT_EQ(bits(lanes[i]), 0u) << "n=" << n << " lane " << i << " must be +0";
    }

    std::unique_ptr<float[]> dst(new float[static_cast<std::size_t>(m)]);
    std::fill(dst.get(), dst.get() + m, sentinel);
    V::broadcast(-2.0f).store_partial(dst.get(), n);
    for (int i = 0; i < m; ++i) EXPECT_EQ(dst[static_cast<std::size_t>(i)], -2.0f) << "n=" << n;

    // Writes stop at lane m: the element after it keeps its value.
    float guarded[2 * W + 2];
    std::fill(guarded, guarded + 2 * W + 2, sentinel);
    V::broadcast(7.0f).store_partial(guarded, n);
    for (int i = 0; i < 2 * W + 2; ++i) {
      if (i < m)
        EXPECT_EQ(guarded[i], 7.0f);
      else
        EXPECT_EQ(bits(guarded[i]), bits(sentinel)) << "n=" << n << " wrote lane " << i;
    }
  }
}

/// Full vectors over the body, one partial load for the tail: the loop shape kernels use.
template <class Isa>
double dot_with_tail(const float* x, const float* y, index_t n) {
  using V = cpu::vec<float, Isa>;
  V acc = V::zero();
  index_t i = 0;
  for (; i + V::width <= n; i += V::width) acc = fma(V::load(x + i), V::load(y + i), acc);
  acc = fma(V::load_partial(x + i, n - i), V::load_partial(y + i, n - i), acc);
  return reduce_add(acc);
}

TYPED_TEST(SimdOps, TailLoopMatchesFloat64) {
  constexpr int W = TypeParam::lanes;
  for (int n = 0; n <= 4 * W + 1; ++n) {
    const auto x = test::random_vector<float>(static_cast<std::size_t>(n), -1, 1, test::test_seed() + 2 * n);
    const auto y =
        test::random_vector<float>(static_cast<std::size_t>(n), -1, 1, test::test_seed() + 2 * n + 1);
    double ref = 0, mag = 0;
    for (int i = 0; i < n; ++i) {
      ref += static_cast<double>(x[i]) * y[i];
      mag += std::fabs(static_cast<double>(x[i]) * y[i]);
    }
    const double got = dot_with_tail<TypeParam>(x.data(), y.data(), n);
    EXPECT_NEAR(got, ref, 4 * n * 0x1p-24 * mag + 1e-30) << "n=" << n;
  }
}

/// Operands for elementwise checks: every pair of special values, then seeded random values of many scales.
struct operands {
  std::vector<float> a, b, c;
};
operands make_operands(int width) {
  operands o;
  const auto s = test::special_floats();
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j) {
      o.a.push_back(s[i]);
      o.b.push_back(s[j]);
      o.c.push_back(s[(i + 3 * j) % s.size()]);
    }
  std::mt19937_64 gen(test::test_seed());
  std::uniform_real_distribution<float> mant(-2.0f, 2.0f);
  std::uniform_int_distribution<int> scale(-40, 40);
  for (int i = 0; i < 4096; ++i) {
    o.a.push_back(std::ldexp(mant(gen), scale(gen)));
    o.b.push_back(std::ldexp(mant(gen), scale(gen) / 4));
    o.c.push_back(std::ldexp(mant(gen), scale(gen)));
  }
  while (o.a.size() % static_cast<std::size_t>(width) != 0) {
    o.a.push_back(1.0f);
    o.b.push_back(2.0f);
    o.c.push_back(3.0f);
  }
  return o;
}

/// Runs `vop` vector by vector over the operands and compares every lane with `ref` on the same scalars.
/// Bit-exact, except that any NaN matches any NaN unless `exact_nan` (min/max/abs/neg move bits, so
/// their NaNs must match exactly too).
template <class Isa, class VecOp, class RefOp>
void check_elementwise(const char* what, VecOp vop, RefOp ref, bool exact_nan = false) {
  using V = cpu::vec<float, Isa>;
  const operands o = make_operands(V::width);
  std::vector<float> out(o.a.size());
  for (std::size_t i = 0; i < o.a.size(); i += V::width)
    vop(V::load(&o.a[i]), V::load(&o.b[i]), V::load(&o.c[i])).store(&out[i]);
  int failures = 0;
  for (std::size_t i = 0; i < o.a.size() && failures < 10; ++i) {
    const float want = ref(o.a[i], o.b[i], o.c[i]);
    const bool ok = exact_nan ? bits(out[i]) == bits(want) : same_or_both_nan(out[i], want);
    if (!ok) {
      ++failures;
      ADD_FAILURE() << what << "(" << o.a[i] << ", " << o.b[i] << ", " << o.c[i] << ") = " << out[i] << " [0x"
                    << std::hex << bits(out[i]) << "], want " << want << " [0x" << bits(want) << std::dec
                    << "]";
    }
  }
}

TYPED_TEST(SimdOps, Arithmetic) {
  using V = cpu::vec<float, TypeParam>;
  check_elementwise<TypeParam>(
      "add", [](V a, V b, V) { return a + b; }, [](float a, float b, float) { return a + b; });
  check_elementwise<TypeParam>(
      "sub", [](V a, V b, V) { return a - b; }, [](float a, float b, float) { return a - b; });
  check_elementwise<TypeParam>(
      "mul", [](V a, V b, V) { return a * b; }, [](float a, float b, float) { return a * b; });
  check_elementwise<TypeParam>(
      "div", [](V a, V b, V) { return a / b; }, [](float a, float b, float) { return a / b; });
  check_elementwise<TypeParam>(
      "sqrt", [](V a, V, V) { return sqrt(a); }, [](float a, float, float) { return std::sqrt(a); });
  check_elementwise<TypeParam>(
      "fma", [](V a, V b, V c) { return fma(a, b, c); },
      [](float a, float b, float c) {
        if (TypeParam::fused_fma) return std::fma(a, b, c);
        const float prod = a * b;  // no FMA instructions in this build, so nothing contracts it
        return prod + c;
      });
}

TYPED_TEST(SimdOps, MinMaxAbsNegMoveBitsExactly) {
  using V = cpu::vec<float, TypeParam>;
  // x86 minps/maxps: a NaN in either operand, or a tie between ±0, returns the second operand.
  check_elementwise<TypeParam>(
      "min", [](V a, V b, V) { return min(a, b); }, [](float a, float b, float) { return a < b ? a : b; },
      true);
  check_elementwise<TypeParam>(
      "max", [](V a, V b, V) { return max(a, b); }, [](float a, float b, float) { return a > b ? a : b; },
      true);
  check_elementwise<TypeParam>(
      "abs", [](V a, V, V) { return abs(a); },
      [](float a, float, float) { return from_bits(bits(a) & 0x7fffffffu); }, true);
  check_elementwise<TypeParam>(
      "neg", [](V a, V, V) { return -a; },
      [](float a, float, float) { return from_bits(bits(a) ^ 0x80000000u); }, true);
}

TYPED_TEST(SimdOps, ComparisonsAndSelect) {
  using V = cpu::vec<float, TypeParam>;
  const V one = V::broadcast(1.0f), zero = V::zero();
  auto as_float = [](bool b) { return b ? 1.0f : 0.0f; };
  check_elementwise<TypeParam>(
      "lt", [&](V a, V b, V) { return select(a < b, one, zero); },
      [&](float a, float b, float) { return as_float(a < b); });
  check_elementwise<TypeParam>(
      "le", [&](V a, V b, V) { return select(a <= b, one, zero); },
      [&](float a, float b, float) { return as_float(a <= b); });
  check_elementwise<TypeParam>(
      "gt", [&](V a, V b, V) { return select(a > b, one, zero); },
      [&](float a, float b, float) { return as_float(a > b); });
  check_elementwise<TypeParam>(
      "ge", [&](V a, V b, V) { return select(a >= b, one, zero); },
      [&](float a, float b, float) { return as_float(a >= b); });
  check_elementwise<TypeParam>(
      "eq", [&](V a, V b, V) { return select(a == b, one, zero); },
      [&](float a, float b, float) { return as_float(a == b); });
  check_elementwise<TypeParam>(
      "ne", [&](V a, V b, V) { return select(a != b, one, zero); },
      [&](float a, float b, float) { return as_float(a != b); });
  check_elementwise<TypeParam>(
      "is_nan", [&](V a, V, V) { return select(is_nan(a), one, zero); },
      [&](float a, float, float) { return as_float(std::isnan(a)); });
  // select moves the chosen lane's bits untouched.
  check_elementwise<TypeParam>(
      "select", [](V a, V b, V c) { return select(c < V::zero(), a, b); },
      [](float a, float b, float c) { return c < 0 ? a : b; }, true);

  constexpr int W = V::width;
  for (int lane = -1; lane < W; ++lane) {
    float x[W];
    for (int i = 0; i < W; ++i) x[i] = i == lane ? 5.0f : 1.0f;
    EXPECT_EQ(any(V::load(x) > V::broadcast(2.0f)), lane >= 0) << "lane " << lane;
  }
}

/// The documented reduction order: fold the upper half onto the lower half until one lane is left.
template <class F>
float fold_reference(std::vector<float> v, F op) {
  for (std::size_t w = v.size() / 2; w >= 1; w /= 2)
    for (std::size_t i = 0; i < w; ++i) v[i] = op(v[i], v[i + w]);
  return v[0];
}

TYPED_TEST(SimdOps, Reductions) {
  using V = cpu::vec<float, TypeParam>;
  constexpr int W = V::width;
  std::mt19937_64 gen(test::test_seed());
  std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<float> x(W);
    for (auto& v : x) v = std::ldexp(dist(gen), static_cast<int>(gen() % 21) - 10);
    if (trial % 7 == 0) x[gen() % W] = -std::numeric_limits<float>::infinity();
    if (trial % 11 == 0) x[gen() % W] = std::numeric_limits<float>::infinity();
    const V v = V::load(x.data());

    const float sum = reduce_add(v);
    EXPECT_TRUE(same_or_both_nan(sum, fold_reference(x, [](float a, float b) { return a + b; })))
        << "trial " << trial;
    const float mx = reduce_max(v);
    EXPECT_EQ(mx, *std::max_element(x.begin(), x.end())) << "trial " << trial;
    if (std::isfinite(sum)) {
      double ref = 0, mag = 0;
      for (float f : x) ref += f, mag += std::fabs(f);
      EXPECT_NEAR(sum, ref, W * 0x1p-24 * mag);
    }
  }
  EXPECT_EQ(reduce_add(V::zero()), 0.0f);
  EXPECT_EQ(reduce_max(V::broadcast(-3.0f)), -3.0f);
}

}  // namespace
}  // namespace sanawm

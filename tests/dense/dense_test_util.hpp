// SPDX-License-Identifier: Apache-2.0
// tests/dense/dense_test_util.hpp — seeded random host tensors (fp32 or bf16), NaN poisoning, float64 copies
// and the per-element + relative-RMS comparison shared by the dense kernels' tests (norms, RoPE, convs,
// activations).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>    // std::max
#include <cmath>        // std::abs, std::isfinite, std::sqrt
#include <cstdint>      // std::uint64_t
#include <limits>       // std::numeric_limits
#include <random>       // std::mt19937_64
#include <span>         // std::span
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

#include "sanawm/core/bf16.hpp"    // bf16
#include "sanawm/core/shape.hpp"   // dextents
#include "sanawm/core/tensor.hpp"  // tensor
#include "support/test_util.hpp"   // test_seed

namespace sanawm::test::dense {

/// A row-major host tensor of rank R with dynamic extents.
template <class T, std::size_t R>
using ht = tensor<T, dextents<R>>;

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, bf16>)
    return bf16(v);
  else
    return static_cast<T>(v);
}
template <class T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, bf16>)
    return static_cast<double>(v.to_float());
  else
    return static_cast<double>(v);
}

/// Uniform values in [lo, hi) from a generator seeded by the test seed and `salt` (different tensors of a
/// test get different salts, so no two inputs are equal and none is all zeros).
template <class T, std::size_t R, class... Is>
ht<T, R> random_tensor(std::uint64_t salt, double lo, double hi, Is... dims) {
  static_assert(sizeof...(Is) == R);
  ht<T, R> t(static_cast<index_t>(dims)...);
  std::mt19937_64 gen(test_seed() ^ (salt * 0x9E3779B97F4A7C15ull));
  std::uniform_real_distribution<double> dist(lo, hi);
  for (auto& v : t) v = from_double<T>(dist(gen));
  return t;
}

/// A tensor filled with NaN, so any element a kernel forgets to write fails the comparison.
template <class T, std::size_t R, class... Is>
ht<T, R> poisoned(Is... dims) {
  static_assert(sizeof...(Is) == R);
  ht<T, R> t(static_cast<index_t>(dims)...);
  if constexpr (std::is_same_v<T, bf16>)
    t.fill(bf16::quiet_nan());
  else
    t.fill(std::numeric_limits<T>::quiet_NaN());
  return t;
}

/// The elements as doubles (bf16 widened exactly), row-major.
template <class T, class E>
std::vector<double> doubles(const tensor<T, E>& t) {
  std::vector<double> out(static_cast<std::size_t>(t.size()));
  for (index_t i = 0; i < t.size(); ++i) out[static_cast<std::size_t>(i)] = to_double(t.data()[i]);
  return out;
}

/// Acceptance thresholds: relative RMS error over the tensor, and the largest elementwise error relative to
/// the largest reference magnitude.
struct tolerance {
  double rel_rms;
  double rel_max;
};
/// fp32 outputs: 1e-5 relative RMS; bf16 outputs: 1e-2 (one rounding of the result is ~2^-9 relative).
template <class T>
constexpr tolerance tolerance_for() {
  if constexpr (std::is_same_v<T, bf16>)
    return {1e-2, 2e-2};
  else
    return {1e-5, 1e-4};
}

/// Checks every element: finite (an unwritten, NaN-poisoned element fails), within tol.rel_max · max|ref| of
/// the reference, and the whole tensor within tol.rel_rms relative RMS. Reports the first offending index.
inline void expect_close(std::span<const double> got, std::span<const double> ref, tolerance tol,
                         const char* what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  double ref_max = 0, num = 0, den = 0, worst = 0;
  std::size_t worst_i = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) ref_max = std::max(ref_max, std::abs(ref[i]));
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i]))
        << what << ": element " << i << " is " << got[i] << " (ref " << ref[i] << ")";
    const double d = std::abs(got[i] - ref[i]);
    num += d * d;
    den += ref[i] * ref[i];
    if (d > worst) worst = d, worst_i = i;
  }
  const double rms = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  const double scale = ref_max > 0 ? ref_max : 1.0;
  EXPECT_LE(rms, tol.rel_rms) << what << ": relative RMS error";
  EXPECT_LE(worst / scale, tol.rel_max) << what << ": element " << worst_i << " is " << got[worst_i]
                                        << ", reference " << ref[worst_i] << " (max |ref| " << ref_max << ")";
}

/// expect_close on a host tensor against float64 reference values, with the tolerance of its element type.
template <class T, class E>
void expect_close(const tensor<T, E>& got, std::span<const double> ref, const char* what) {
  const std::vector<double> g = doubles(got);
  expect_close(g, ref, tolerance_for<T>(), what);
}

/// Bit-for-bit equality of two host tensors of the same type (NaN patterns included).
template <class T, class E>
void expect_identical(const tensor<T, E>& a, const tensor<T, E>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (index_t i = 0; i < a.size(); ++i) {
    const double x = to_double(a.data()[i]), y = to_double(b.data()[i]);
    ASSERT_TRUE(x == y || (std::isnan(x) && std::isnan(y)))
        << what << ": element " << i << ": " << x << " vs " << y;
  }
}

}  // namespace sanawm::test::dense

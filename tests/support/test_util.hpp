// SPDX-License-Identifier: Apache-2.0
// tests/support/test_util.hpp — seeded random data, poisoning and comparison helpers shared by all tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include <gtest/gtest.h>

namespace sanawm::test {

/// A fixed seed per test, overridable with SANAWM_TEST_SEED, so failures reproduce.
inline std::uint64_t test_seed() {
  if (const char* s = std::getenv("SANAWM_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return 0x5A7A'0001ull;
}

/// Uniform values in [lo, hi) from a seeded generator (never zeros-only data).
template <class T>
void fill_uniform(std::span<T> out, double lo, double hi, std::uint64_t seed = test_seed()) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (auto& v : out) v = static_cast<T>(dist(gen));
}

template <class T>
std::vector<T> random_vector(std::size_t n, double lo = -1.0, double hi = 1.0, std::uint64_t seed = test_seed()) {
  std::vector<T> v(n);
  fill_uniform<T>(std::span<T>(v), lo, hi, seed);
  return v;
}

/// Writes NaN (or the type's max for integers) so an element a kernel forgot to write fails the comparison.
template <class T>
void poison(std::span<T> out) {
  for (auto& v : out) {
    if constexpr (std::numeric_limits<T>::has_quiet_NaN) v = std::numeric_limits<T>::quiet_NaN();
    else v = std::numeric_limits<T>::max();
  }
}

/// Relative RMS error ||a − ref|| / ||ref|| over all elements (NaN anywhere → infinity).
template <class A, class R>
double rel_rms(std::span<const A> a, std::span<const R> ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = static_cast<double>(a[i]), r = static_cast<double>(ref[i]);
    if (!std::isfinite(x)) return std::numeric_limits<double>::infinity();
    num += (x - r) * (x - r);
    den += r * r;
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

/// Sets a global tuning knob (e.g. cpu::dense::conv3d_block_bytes) for a scope and restores it on exit, also when a
/// failed ASSERT leaves the test early.
template <class T>
class scoped_value {
 public:
  scoped_value(T& knob, T value) : knob_(knob), saved_(knob) { knob_ = value; }
  ~scoped_value() { knob_ = saved_; }
  scoped_value(const scoped_value&) = delete;
  scoped_value& operator=(const scoped_value&) = delete;

 private:
  T& knob_;
  T saved_;
};

}  // namespace sanawm::test

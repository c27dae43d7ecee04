// SPDX-License-Identifier: Apache-2.0
// tests/gdn/gdn_test_util.hpp — owning test tensors for the GDN tests, seeded generators and error metrics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "sanawm/core/int.hpp"
#include "sanawm/core/layout.hpp"
#include "sanawm/core/tensor.hpp"
#include "support/test_util.hpp"

namespace sanawm::test {

template <std::size_t R>
struct dyn_extents_of;
template <>
struct dyn_extents_of<1> {
  using type = extents<dyn>;
};
template <>
struct dyn_extents_of<3> {
  using type = extents<dyn, dyn, dyn>;
};
template <>
struct dyn_extents_of<4> {
  using type = extents<dyn, dyn, dyn, dyn>;
};
template <>
struct dyn_extents_of<5> {
  using type = extents<dyn, dyn, dyn, dyn, dyn>;
};

/// A row-major host array of any rank with views of the strided kinds the GDN API takes.
template <class T, std::size_t R>
struct nd {
  std::vector<T> data;
  index_t ext[R] = {};

  nd() = default;
  template <class... Is>
  requires(sizeof...(Is) == R) explicit nd(Is... is) : ext{static_cast<index_t>(is)...} {
    index_t n = 1;
    for (index_t e : ext) n *= e;
    data.assign(static_cast<std::size_t>(n), T{});
  }
  index_t size() const { return static_cast<index_t>(data.size()); }
  std::span<T> span() { return {data.data(), data.size()}; }
  std::span<const T> span() const { return {data.data(), data.size()}; }

  template <class E, std::size_t... I>
  E make_extents(std::index_sequence<I...>) const {
    return E(ext[I]...);
  }
  using dyn_extents = typename dyn_extents_of<R>::type;

  /// Row-major view as layout_stride (what the GDN API takes).
  auto sview() const {
    const auto e = make_extents<dyn_extents>(std::make_index_sequence<R>{});
    return tensor_view<const T, dyn_extents, layout_stride>(
        tensor_view<const T, dyn_extents>(data.data(), e));
  }
  auto msview() {
    const auto e = make_extents<dyn_extents>(std::make_index_sequence<R>{});
    return tensor_view<T, dyn_extents, layout_stride>(tensor_view<T, dyn_extents>(data.data(), e));
  }
  /// Plain row-major views.
  auto view() {
    return tensor_view<T, dyn_extents>(data.data(), make_extents<dyn_extents>(std::make_index_sequence<R>{}));
  }
  auto cview() const {
    return tensor_view<const T, dyn_extents>(data.data(),
                                             make_extents<dyn_extents>(std::make_index_sequence<R>{}));
  }
  void poison() { sanawm::test::poison(span()); }
};

using f5 = nd<float, 5>;
using f4 = nd<float, 4>;
using f3 = nd<float, 3>;
using d5 = nd<double, 5>;
using d4 = nd<double, 4>;
using d3 = nd<double, 3>;

inline void fill_normal(std::span<float> x, std::uint64_t seed, double mean = 0.0, double sd = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(mean, sd);
  for (auto& v : x) v = static_cast<float>(dist(gen));
}
inline void fill_relu_normal(std::span<float> x, std::uint64_t seed, double scale = 1.0) {
  fill_normal(x, seed);
  for (auto& v : x) v = static_cast<float>(std::max(0.0, static_cast<double>(v)) * scale);
}
inline void fill_uniform_f(std::span<float> x, std::uint64_t seed, double lo, double hi) {
  fill_uniform<float>(x, lo, hi, seed);
}
inline float sigmoid(double x) {
  return static_cast<float>(1.0 / (1.0 + std::exp(-x)));
}

/// max |a − ref| / max |ref| (NaN → infinity): the golden README's "relative" error.
template <class A, class R>
double max_rel(std::span<const A> a, std::span<const R> ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = static_cast<double>(a[i]), r = static_cast<double>(ref[i]);
    if (!std::isfinite(x)) return std::numeric_limits<double>::infinity();
    num = std::max(num, std::abs(x - r));
    den = std::max(den, std::abs(r));
  }
  return den == 0 ? num : num / den;
}

template <class A, class R>
double rel_rms_of(const A& a, const R& ref) {
  return rel_rms(std::span<const typename decltype(a.data)::value_type>(a.data),
                 std::span<const typename decltype(ref.data)::value_type>(ref.data));
}
template <class A, class R>
double max_rel_of(const A& a, const R& ref) {
  return max_rel(std::span<const typename decltype(a.data)::value_type>(a.data),
                 std::span<const typename decltype(ref.data)::value_type>(ref.data));
}

}  // namespace sanawm::test

// SPDX-License-Identifier: Apache-2.0
// One body, every backend: portable kernel bodies through parallel_for on the CPU and CUDA, vs host loops.
// Built by g++ (launch_test: CPU) and nvcc (launch_test_cuda: both; CUDA skips with the reason without a
// GPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "sanawm/config.hpp"
#include "sanawm/core/int.hpp"
#include "sanawm/core/shape.hpp"
#include "sanawm/core/tensor.hpp"
#include "support/backends.hpp"
#include "support/test_util.hpp"

namespace sanawm {
namespace {

// ---- portable bodies (namespace scope: CUDA cannot launch kernels on function-local types) ----------------

// y[i] = a * x[i] + y[i]
struct axpy_body {
  float a;
  tensor_view<const float, extents<dyn>> x;
  tensor_view<float, extents<dyn>> y;
  SANAWM_HD void operator()(index_t i) const { y[i] = a * x[i] + y[i]; }
};

// y(r, :) = (x(r, :) - mean(x(r, :))) * w  over [rows, C]; C static or dynamic, per E.
template <class E>
struct center_scale_rows {
  tensor_view<const float, E> x;
  tensor_view<const float, extents<E::static_extent(1)>> w;
  tensor_view<float, E> y;
  SANAWM_HD void operator()(index_t r) const {
    const index_t cols = x.extent(1);
    float s = 0.0f;
    for (index_t c = 0; c < cols; ++c) s += x(r, c);
    const float mean = s / static_cast<float>(cols);
    for (index_t c = 0; c < cols; ++c) y(r, c) = (x(r, c) - mean) * w[c];
  }
};

// out(i, j) = sum_k x(i, j, k) * (k + 1) over a fully static [4, 8, 16] tensor: a 2-D body.
struct weighted_sum_2d {
  tensor_view<const float, extents<4, 8, 16>> x;
  tensor_view<float, extents<4, 8>> out;
  SANAWM_HD void operator()(index_t i, index_t j) const {
    float s = 0.0f;
    for (index_t k = 0; k < 16; ++k) s += x(i, j, k) * static_cast<float>(k + 1);
    out(i, j) = s;
  }
};

// Counts visits per index; the host checks every count is exactly one.
struct mark_body {
  tensor_view<int, extents<dyn>> hits;
  SANAWM_HD void operator()(index_t i) const { hits[i] += 1; }
};

struct noop_2d {
  SANAWM_HD void operator()(index_t, index_t) const {}
};

template <class T, class E>
void fill_random(tensor<T, E>& t, double lo, double hi, std::uint64_t seed) {
  test::fill_uniform<T>(std::span<T>(t.data(), static_cast<std::size_t>(t.size())), lo, hi, seed);
}

template <class T, class E>
void poison(tensor<T, E>& t) {
  test::poison<T>(std::span<T>(t.data(), static_cast<std::size_t>(t.size())));
}

// ---- pattern 1: run_on_all_backends -----------------------------------------------------------------------

TEST(Launch, AxpyMatchesHostLoop) {
  const float a = 0.75f;
  test::run_on_all_backends([&](auto be) {
    // Around the CUDA block size (256) and one size that needs many blocks.
    for (index_t n : {index_t{1}, index_t{255}, index_t{256}, index_t{257}, index_t{100'003}}) {
      SCOPED_TRACE(::testing::Message() << "n = " << n);
      tensor<float, extents<dyn>> x(n), y0(n), y(n);
      fill_random(x, -1.0, 1.0, test::test_seed());
      fill_random(y0, -1.0, 1.0, test::test_seed() + 1);
      std::copy(y0.begin(), y0.end(), y.begin());
      test::mirror dx(be, x);
      test::mirror dy(be, y);
      parallel_for(be, n, axpy_body{a, dx.cview(), dy.view()});
      dy.to_host();
      // nvcc contracts a * x + y into an FMA on the device; the host does not: allow an ulp or so.
      for (index_t i = 0; i < n; ++i) {
        const double ref = static_cast<double>(a) * x(i) + y0(i);
        ASSERT_NEAR(y(i), ref, 1e-6 * (1.0 + std::abs(ref))) << "i = " << i;
      }
    }
  });
}

TEST(Launch, EmptyAndNegativeRangesRunNothing) {
  test::run_on_all_backends([&](auto be) {
    tensor<int, extents<dyn>> hits(4);
    hits.fill(0);
    test::mirror dh(be, hits);
    parallel_for(be, 0, mark_body{dh.view()});
    parallel_for(be, -3, mark_body{dh.view()});
    parallel_for_2d(be, 0, 5, noop_2d{});
    parallel_for_2d(be, 5, 0, noop_2d{});
    dh.to_host();
    for (index_t i = 0; i < 4; ++i) EXPECT_EQ(hits(i), 0);
  });
}

TEST(Launch, EveryIndexVisitedExactlyOnce) {
  const index_t n = 3 * 256 * 7 + 5;  // not a multiple of the CUDA block size
  test::run_on_all_backends([&](auto be) {
    tensor<int, extents<dyn>> hits(n);
    hits.fill(0);
    test::mirror dh(be, hits);
    parallel_for(be, n, mark_body{dh.view()});
    dh.to_host();
    for (index_t i = 0; i < n; ++i) ASSERT_EQ(hits(i), 1) << "i = " << i;
  });
}

// ---- pattern 2: typed tests, one case per backend ---------------------------------------------------------

template <class Be>
using LaunchOn = test::backend_test<Be>;
TYPED_TEST_SUITE(LaunchOn, test::all_backends);

template <class E, class Be>
void check_center_scale_rows(Be be, index_t rows, index_t cols) {
  using W = extents<E::static_extent(1)>;
  tensor<float, E> x{E(rows, cols)}, y{E(rows, cols)};
  tensor<float, W> w{W(cols)};
  fill_random(x, -2.0, 3.0, test::test_seed() + 2);
  fill_random(w, 0.5, 1.5, test::test_seed() + 3);
  poison(y);
  {
    test::mirror dx(be, x);  // one declarator each: CTAD deduces a different type per tensor
    test::mirror dw(be, w);
    test::mirror dy(be, y);
    parallel_for(be, rows, center_scale_rows<E>{dx.cview(), dw.cview(), dy.view()});
    dy.to_host();
  }
  double max_err = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (index_t c = 0; c < cols; ++c) s += x(r, c);
    const double mean = s / static_cast<double>(cols);
    for (index_t c = 0; c < cols; ++c) {
      const double ref = (x(r, c) - mean) * w(c);
      ASSERT_TRUE(std::isfinite(y(r, c))) << "row " << r << " col " << c << " not written";
      max_err = std::max(max_err, std::abs(y(r, c) - ref));
    }
  }
  EXPECT_LE(max_err, 1e-5) << "float accumulation over " << cols << " columns";
}

TYPED_TEST(LaunchOn, RowBodyStaticColumns) {
  check_center_scale_rows<extents<dyn, 64>>(this->be, 1000, 64);
}

TYPED_TEST(LaunchOn, RowBodyDynamicColumns) {
  check_center_scale_rows<extents<dyn, dyn>>(this->be, 333, 37);
}

TYPED_TEST(LaunchOn, TwoDimensionalBodyOnStaticTensor) {
  tensor<float, extents<4, 8, 16>> x;
  tensor<float, extents<4, 8>> out;
  fill_random(x, -1.0, 1.0, test::test_seed() + 4);
  poison(out);
  {
    test::mirror dx(this->be, x);
    test::mirror dout(this->be, out);
    parallel_for_2d(this->be, 4, 8, weighted_sum_2d{dx.cview(), dout.view()});
    dout.to_host();
  }
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 8; ++j) {
      double ref = 0.0;
      for (index_t k = 0; k < 16; ++k) ref += static_cast<double>(x(i, j, k)) * static_cast<double>(k + 1);
      EXPECT_NEAR(out(i, j), ref, 1e-4) << "(" << i << ", " << j << ")";
    }
}

}  // namespace
}  // namespace sanawm

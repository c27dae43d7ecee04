// SPDX-License-Identifier: Apache-2.0
// tests/dense/elementwise_test.cpp — activations and the GLU split: the CPU fast path on every compiled SIMD
// variant and the portable body against the float64 twin (fp32/bf16 in and out, odd sizes, strided rows, in
// place).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "dense/dense_test_util.hpp"
#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/kernels/elementwise/elementwise_cpu.hpp"
#include "sanawm/kernels/elementwise/elementwise_ref.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::test::dense;

template <class F, class... Isas>
void for_each_isa(cpu::isa_list<Isas...>, F&& f) {
  (f(Isas{}), ...);
}

constexpr activation all_activations[] = {activation::identity,  activation::relu,    activation::silu,
                                          activation::gelu_tanh, activation::sigmoid, activation::softplus};
struct rc {
  index_t rows, cols;
};
constexpr rc sizes[] = {{1, 1}, {3, 7}, {5, 17}, {2, 33}, {4, 1000}, {1, 4099}};

template <class TIn, class TOut>
void check_activations() {
  for (activation a : all_activations)
    for (rc s : sizes) {
      SCOPED_TRACE(std::string(activation_name(a)) + " " + std::to_string(s.rows) + "x" +
                   std::to_string(s.cols));
      // Softplus also crosses its threshold of 20; the others see the range where they are not trivial.
      const double lim = a == activation::softplus ? 30.0 : 8.0;
      const auto x = random_tensor<TIn, 2>(1, -lim, lim, s.rows, s.cols);
      std::vector<double> ref(static_cast<std::size_t>(x.size()));
      activation_ref(a, doubles(x), ref);
      // Every SIMD variant for same-type runs; mixed types (which only change the loads/stores) on the native
      // one.
      if constexpr (std::is_same_v<TIn, TOut>) {
        for_each_isa(cpu::compiled_isas{}, [&](auto isa) {
          SCOPED_TRACE(decltype(isa)::name);
          auto y = poisoned<TOut, 2>(s.rows, s.cols);
          cpu::activate_isa<decltype(isa)>(a, x.view(), y.view());
          expect_close(y, ref, "activate");
        });
      } else {
        auto y = poisoned<TOut, 2>(s.rows, s.cols);
        activate(cpu_t{}, a, x.view(), y.view());
        expect_close(y, ref, "activate");
      }
      auto y = poisoned<TOut, 2>(s.rows, s.cols);
      activate_portable(cpu_t{}, a, x.view(), y.view());
      expect_close(y, ref, "activate_portable");
    }
}

TEST(Activation, Float) {
  check_activations<float, float>();
}
TEST(Activation, Bf16) {
  check_activations<bf16, bf16>();
}
TEST(Activation, FloatToBf16) {
  check_activations<float, bf16>();
}
TEST(Activation, Bf16ToFloat) {
  check_activations<bf16, float>();
}

TEST(Activation, InPlaceAndStridedRows) {
  // x is the middle 37 columns of a [9, 50] buffer: rows strided by 50.
  auto buf = random_tensor<float, 2>(2, -4, 4, 9, 50);
  const std::vector<double> before = doubles(buf);
  using M = layout_stride::mapping<dextents<2>>;
  const strided_view<float, 2> x(buf.data() + 5, M(dextents<2>(9, 37), {50, 1}));
  std::vector<double> ref;
  for (index_t r = 0; r < 9; ++r)
    for (index_t c = 0; c < 37; ++c)
      ref.push_back(activation_ref(activation::silu, before[static_cast<std::size_t>(r * 50 + 5 + c)]));
  activate(cpu_t{}, activation::silu, x, x);
  std::vector<double> got;
  for (index_t r = 0; r < 9; ++r)
    for (index_t c = 0; c < 37; ++c) got.push_back(static_cast<double>(x(r, c)));
  expect_close(got, ref, tolerance_for<float>(), "in place, strided");
  // Columns outside the view are untouched.
  for (index_t r = 0; r < 9; ++r)
    for (index_t c : {index_t{0}, index_t{4}, index_t{42}, index_t{49}})
      EXPECT_EQ(static_cast<double>(buf(r, c)), before[static_cast<std::size_t>(r * 50 + c)]);
}

TEST(Activation, Saturation) {
  ht<float, 2> x(1, 8);
  const float v[8] = {-100.f, 100.f, -90.f, 90.f, 0.f, -0.f, 25.f, -25.f};
  for (int i = 0; i < 8; ++i) x(0, i) = v[i];
  for (activation a : all_activations) {
    auto y = poisoned<float, 2>(1, 8);
    activate(cpu_t{}, a, x.view(), y.view());
    for (int i = 0; i < 8; ++i) {
      const double r = activation_ref(a, v[i]);
      EXPECT_TRUE(std::isfinite(y(0, i))) << activation_name(a) << "(" << v[i] << ")";
      EXPECT_NEAR(y(0, i), r, 1e-6 * std::max(1.0, std::abs(r))) << activation_name(a) << "(" << v[i] << ")";
    }
  }
  // ReLU keeps NaN (PyTorch semantics).
  ht<float, 2> n(1, 3);
  n(0, 0) = std::nanf(""), n(0, 1) = -1.f, n(0, 2) = 2.f;
  activate(cpu_t{}, activation::relu, n.view(), n.view());
  EXPECT_TRUE(std::isnan(n(0, 0)));
  EXPECT_EQ(n(0, 1), 0.f);
  EXPECT_EQ(n(0, 2), 2.f);
}

template <class TIn, class TOut>
void check_glu() {
  for (rc s : {rc{1, 1}, rc{3, 5}, rc{7, 16}, rc{2, 61}, rc{5, 336}}) {
    SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols));
    const auto x = random_tensor<TIn, 2>(3, -6, 6, s.rows, 2 * s.cols);
    std::vector<double> ref(static_cast<std::size_t>(s.rows * s.cols));
    glu_ref(activation::silu, doubles(x), s.rows, s.cols, ref);
    if constexpr (std::is_same_v<TIn, TOut>) {
      for_each_isa(cpu::compiled_isas{}, [&](auto isa) {
        SCOPED_TRACE(decltype(isa)::name);
        auto y = poisoned<TOut, 2>(s.rows, s.cols);
        cpu::glu_isa<decltype(isa)>(activation::silu, x.view(), y.view());
        expect_close(y, ref, "glu");
      });
    } else {
      auto y = poisoned<TOut, 2>(s.rows, s.cols);
      glu(cpu_t{}, activation::silu, x.view(), y.view());
      expect_close(y, ref, "glu");
    }
    auto y = poisoned<TOut, 2>(s.rows, s.cols);
    glu_portable(cpu_t{}, activation::silu, x.view(), y.view());
    expect_close(y, ref, "glu_portable");
  }
}

TEST(Glu, Float) {
  check_glu<float, float>();
}
TEST(Glu, Bf16) {
  check_glu<bf16, bf16>();
}
TEST(Glu, Bf16ToFloat) {
  check_glu<bf16, float>();
}

TEST(Glu, OtherGateActivations) {
  const auto x = random_tensor<float, 2>(4, -5, 5, 3, 22);
  for (activation a : {activation::gelu_tanh, activation::sigmoid, activation::identity}) {
    std::vector<double> ref(33);
    glu_ref(a, doubles(x), 3, 11, ref);
    auto y = poisoned<float, 2>(3, 11);
    glu(cpu_t{}, a, x.view(), y.view());
    expect_close(y, ref, activation_name(a));
  }
}

TEST(Elementwise, Errors) {
  ht<float, 2> x(3, 4), y(3, 5), g(3, 2), odd(3, 5);
  EXPECT_THROW(activate(cpu_t{}, activation::silu, x.view(), y.view()), sanawm::error);
  try {
    activate(cpu_t{}, activation::silu, x.view(), y.view());
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("[activate]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(activate(cpu_t{}, static_cast<activation>(99), x.view(), x.view()), sanawm::error);
  EXPECT_THROW(glu(cpu_t{}, activation::silu, odd.view(), g.view()), sanawm::error);
  EXPECT_THROW(glu(cpu_t{}, activation::silu, x.view(), y.view()), sanawm::error);
  // A transposed (column-strided) view is rejected: the innermost axis must be contiguous.
  using M = layout_stride::mapping<dextents<2>>;
  const strided_view<float, 2> xt(x.data(), M(dextents<2>(4, 3), {1, 4}));
  ht<float, 2> yt(4, 3);
  EXPECT_THROW(activate(cpu_t{}, activation::relu, xt, yt.view()), sanawm::error);
}

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// tests/dense/norms_test.cpp — RMSNorm, LayerNorm, adaLN modulation, gated residual and fused
// LayerNorm+modulate: CPU fast path (every SIMD variant) and portable body against the float64 twins; fused
// == composed; strided rows.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dense/dense_test_util.hpp"
#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/kernels/norms/norms_cpu.hpp"
#include "sanawm/kernels/norms/norms_ref.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::test::dense;

template <class F, class... Isas>
void for_each_isa(cpu::isa_list<Isas...>, F&& f) {
  (f(Isas{}), ...);
}

struct rc {
  index_t rows, cols;
};
// Tiny, prime, SIMD-width ± 1, and the SANA-WM width.
constexpr rc row_sizes[] = {{1, 1}, {2, 3}, {5, 15}, {3, 17}, {7, 64}, {4, 97}, {3, 2240}};

template <class TIn, class TOut>
void check_rms_norm(bool with_weight) {
  for (rc s : row_sizes) {
    SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols) +
                 (with_weight ? " weight" : " no weight"));
    // Offset inputs (mean ≠ 0) at a scale far from 1, so both the mean and the rsqrt matter.
    const auto x = random_tensor<TIn, 2>(10, -3, 5, s.rows, s.cols);
    const auto w = random_tensor<float, 1>(11, 0.5, 1.5, with_weight ? s.cols : 0);
    std::vector<double> ref(static_cast<std::size_t>(x.size()));
    rms_norm_ref(doubles(x), s.rows, s.cols, doubles(w), 1e-5, ref);
    for_each_isa(cpu::compiled_isas{}, [&](auto isa) {
      SCOPED_TRACE(decltype(isa)::name);
      auto y = poisoned<TOut, 2>(s.rows, s.cols);
      cpu::rms_norm_isa<decltype(isa)>(x.view(), w.view(), 1e-5f, y.view());
      expect_close(y, ref, "rms_norm");
    });
    auto y = poisoned<TOut, 2>(s.rows, s.cols);
    rms_norm_portable(cpu_t{}, x.view(), w.view(), 1e-5f, y.view());
    expect_close(y, ref, "rms_norm_portable");
  }
}

TEST(RmsNorm, Float) {
  check_rms_norm<float, float>(true);
}
TEST(RmsNorm, FloatNoWeight) {
  check_rms_norm<float, float>(false);
}
TEST(RmsNorm, Bf16) {
  check_rms_norm<bf16, bf16>(true);
}
TEST(RmsNorm, Bf16ToFloat) {
  check_rms_norm<bf16, float>(true);
}

TEST(RmsNorm, StridedRowsInPlace) {
  // The k third of a fused qkv projection [N, 3C], normalised in place: rows strided by 3C.
  const index_t n = 6, c = 50;
  auto qkv = random_tensor<float, 2>(12, -2, 2, n, 3 * c);
  const std::vector<double> before = doubles(qkv);
  const auto w = random_tensor<float, 1>(13, 0.5, 1.5, c);
  using M = layout_stride::mapping<dextents<2>>;
  const strided_view<float, 2> k(qkv.data() + c, M(dextents<2>(n, c), {3 * c, 1}));
  std::vector<double> kin, ref(static_cast<std::size_t>(n * c));
  for (index_t r = 0; r < n; ++r)
    for (index_t j = 0; j < c; ++j) kin.push_back(before[static_cast<std::size_t>(r * 3 * c + c + j)]);
  rms_norm_ref(kin, n, c, doubles(w), 1e-5, ref);
  rms_norm(cpu_t{}, k, w.view(), 1e-5f, k);
  std::vector<double> got;
  for (index_t r = 0; r < n; ++r)
    for (index_t j = 0; j < c; ++j) got.push_back(k(r, j));
  expect_close(got, ref, tolerance_for<float>(), "rms_norm in place on a qkv slice");
  for (index_t r = 0; r < n; ++r)  // q and v untouched
    for (index_t j : {index_t{0}, c - 1, 2 * c, 3 * c - 1})
      EXPECT_EQ(static_cast<double>(qkv(r, j)), before[static_cast<std::size_t>(r * 3 * c + j)]);
}

template <class TIn, class TOut>
void check_layer_norm() {
  for (rc s : row_sizes) {
    SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols));
    const auto x =
        random_tensor<TIn, 2>(20, 3, 7, s.rows, s.cols);  // mean ≈ 5 ≫ spread: tests the two-pass variance
    std::vector<double> ref(static_cast<std::size_t>(x.size()));
    layer_norm_ref(doubles(x), s.rows, s.cols, 1e-6, ref);
    for_each_isa(cpu::compiled_isas{}, [&](auto isa) {
      SCOPED_TRACE(decltype(isa)::name);
      auto y = poisoned<TOut, 2>(s.rows, s.cols);
      cpu::layer_norm_isa<decltype(isa)>(x.view(), 1e-6f, y.view());
      expect_close(y, ref, "layer_norm");
    });
    auto y = poisoned<TOut, 2>(s.rows, s.cols);
    layer_norm_portable(cpu_t{}, x.view(), 1e-6f, y.view());
    expect_close(y, ref, "layer_norm_portable");
  }
}

TEST(LayerNorm, Float) {
  check_layer_norm<float, float>();
}
TEST(LayerNorm, Bf16) {
  check_layer_norm<bf16, bf16>();
}
TEST(LayerNorm, FloatToBf16) {
  check_layer_norm<float, bf16>();
}

struct btsc {
  index_t b, t, s, c;
};
constexpr btsc token_shapes[] = {{1, 1, 1, 1}, {1, 3, 5, 7}, {2, 2, 3, 33}, {1, 4, 6, 100}, {2, 3, 2, 2240}};

template <class TIn, class TOut>
void check_modulation() {
  for (btsc s : token_shapes) {
    SCOPED_TRACE(std::to_string(s.b) + "x" + std::to_string(s.t) + "x" + std::to_string(s.s) + "x" +
                 std::to_string(s.c));
    const btsc_shape sh{s.b, s.t, s.s, s.c};
    const auto x = random_tensor<TIn, 4>(30, -2, 3, s.b, s.t, s.s, s.c);
    const auto shift = random_tensor<float, 3>(31, -1, 1, s.b, s.t, s.c);
    const auto scale = random_tensor<float, 3>(32, -0.5, 0.5, s.b, s.t, s.c);
    const auto gate = random_tensor<float, 3>(33, -1, 1, s.b, s.t, s.c);
    // modulate
    std::vector<double> mod_ref(static_cast<std::size_t>(x.size()));
    modulate_ref(doubles(x), sh, doubles(shift), doubles(scale), mod_ref);
    // fused LN + modulate
    std::vector<double> lnm_ref(static_cast<std::size_t>(x.size()));
    layer_norm_modulate_ref(doubles(x), sh, doubles(shift), doubles(scale), 1e-6, lnm_ref);
    for_each_isa(cpu::compiled_isas{}, [&](auto isa) {
      using Isa = decltype(isa);
      SCOPED_TRACE(Isa::name);
      auto y = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
      cpu::modulate_isa<Isa>(x.view(), shift.view(), scale.view(), y.view());
      expect_close(y, mod_ref, "modulate");
      auto z = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
      cpu::layer_norm_modulate_isa<Isa>(x.view(), shift.view(), scale.view(), 1e-6f, z.view());
      expect_close(z, lnm_ref, "layer_norm_modulate");
    });
    auto y = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
    modulate_portable(cpu_t{}, x.view(), shift.view(), scale.view(), y.view());
    expect_close(y, mod_ref, "modulate_portable");
    auto z = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
    layer_norm_modulate_portable(cpu_t{}, x.view(), shift.view(), scale.view(), 1e-6f, z.view());
    expect_close(z, lnm_ref, "layer_norm_modulate_portable");

    // The composed fallback (layer_norm into a temporary, then modulate) agrees with the fused kernel.
    ht<float, 4> tmp(s.b, s.t, s.s, s.c);
    const strided_view<const TIn, 2> x2(
        x.data(), layout_stride::mapping<dextents<2>>(dextents<2>(sh.rows(), s.c), {s.c, 1}));
    const strided_view<float, 2> tmp2(
        tmp.data(), layout_stride::mapping<dextents<2>>(dextents<2>(sh.rows(), s.c), {s.c, 1}));
    layer_norm(cpu_t{}, x2, 1e-6f, tmp2);
    auto composed = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
    modulate(cpu_t{}, tmp.view(), shift.view(), scale.view(), composed.view());
    auto fused = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
    layer_norm_modulate(cpu_t{}, x.view(), shift.view(), scale.view(), 1e-6f, fused.view());
    expect_close(fused, doubles(composed), "fused == composed");

    // gated residual: x_res += gate ⊙ branch (branch of the output type, residual of the input type)
    if constexpr (std::is_same_v<TIn, float>) {
      const auto branch = random_tensor<TOut, 4>(34, -2, 2, s.b, s.t, s.s, s.c);
      std::vector<double> res_ref = doubles(x);
      gated_residual_ref(res_ref, sh, doubles(gate), doubles(branch));
      for_each_isa(cpu::compiled_isas{}, [&](auto isa) {
        SCOPED_TRACE(decltype(isa)::name);
        ht<TIn, 4> res(s.b, s.t, s.s, s.c);
        std::copy(x.begin(), x.end(), res.begin());
        cpu::gated_residual_isa<decltype(isa)>(res.view(), gate.view(), branch.view());
        expect_close(res, res_ref, "gated_residual");
      });
      ht<TIn, 4> res(s.b, s.t, s.s, s.c);
      std::copy(x.begin(), x.end(), res.begin());
      gated_residual_portable(cpu_t{}, res.view(), gate.view(), branch.view());
      expect_close(res, res_ref, "gated_residual_portable");
    }
  }
}

TEST(Modulation, Float) {
  check_modulation<float, float>();
}
TEST(Modulation, Bf16) {
  check_modulation<bf16, bf16>();
}
TEST(Modulation, FloatToBf16) {
  check_modulation<float, bf16>();
}

TEST(Modulation, SlicesOfTheAdaLnTable) {
  // shift/scale/gate are slices [B, T, C] of a [B, T, 6, C] table (outer strides 6C·T, 6C), as upstream
  // reshapes t0.
  const index_t b = 1, t = 3, s = 4, c = 40;
  const auto table = random_tensor<float, 4>(40, -0.5, 0.5, b, t, 6, c);
  const auto x = random_tensor<float, 4>(41, -2, 2, b, t, s, c);
  using M = layout_stride::mapping<dextents<3>>;
  auto slice = [&](index_t k) {
    return strided_view<const float, 3>(table.data() + k * c, M(dextents<3>(b, t, c), {t * 6 * c, 6 * c, 1}));
  };
  std::vector<double> shift, scale;
  for (index_t f = 0; f < t; ++f)
    for (index_t j = 0; j < c; ++j) shift.push_back(table(0, f, 0, j)), scale.push_back(table(0, f, 1, j));
  std::vector<double> ref(static_cast<std::size_t>(x.size()));
  layer_norm_modulate_ref(doubles(x), {b, t, s, c}, shift, scale, 1e-6, ref);
  auto y = poisoned<float, 4>(b, t, s, c);
  layer_norm_modulate(cpu_t{}, x.view(), slice(0), slice(1), 1e-6f, y.view());
  expect_close(y, ref, "layer_norm_modulate with table slices");
}

TEST(Norms, Errors) {
  ht<float, 2> x(3, 8), y(3, 8), y2(3, 7);
  ht<float, 1> w7(7), w8(8);
  EXPECT_THROW(rms_norm(cpu_t{}, x.view(), w8.view(), 1e-5f, y2.view()), sanawm::error);
  EXPECT_THROW(rms_norm(cpu_t{}, x.view(), w7.view(), 1e-5f, y.view()), sanawm::error);
  EXPECT_THROW(rms_norm(cpu_t{}, x.view(), w8.view(), -1.0f, y.view()), sanawm::error);
  EXPECT_THROW(layer_norm(cpu_t{}, x.view(), std::nanf(""), y.view()), sanawm::error);
  ht<float, 2> empty_cols(3, 0);
  EXPECT_THROW(layer_norm(cpu_t{}, empty_cols.view(), 1e-6f, empty_cols.view()), sanawm::error);
  ht<float, 4> x4(1, 2, 3, 8), y4(1, 2, 3, 8);
  ht<float, 3> good(1, 2, 8), bad(1, 3, 8);
  EXPECT_THROW(modulate(cpu_t{}, x4.view(), bad.view(), good.view(), y4.view()), sanawm::error);
  EXPECT_THROW(gated_residual(cpu_t{}, x4.view(), bad.view(), y4.view()), sanawm::error);
  try {
    layer_norm_modulate(cpu_t{}, x4.view(), good.view(), bad.view(), 1e-6f, y4.view());
    FAIL() << "no error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("[layer_norm_modulate] scale"), std::string::npos) << e.what();
  }
  // Zero rows are a no-op, not an error.
  ht<float, 2> none(0, 8);
  rms_norm(cpu_t{}, none.view(), w8.view(), 1e-5f, none.view());
}

}  // namespace

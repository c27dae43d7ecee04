// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/norms/norms.hpp — RMSNorm, LayerNorm (no affine), adaLN modulation x·(1+scale)+shift with
// per-frame terms, the gated residual x + gate ⊙ y, and fused LayerNorm+modulate: portable bodies, argument
// checks and the portable entry points (the fast paths live in norms_cpu.hpp and norms_cuda.cuh).
#pragma once

#include <cmath>        // std::sqrt, std::isfinite
#include <string_view>  // std::string_view

#include "sanawm/backend/tags.hpp"               // backend
#include "sanawm/config.hpp"                     // SANAWM_HD, SANAWM_FORCEINLINE
#include "sanawm/core/error.hpp"                 // make_error
#include "sanawm/core/int.hpp"                   // index_t
#include "sanawm/kernels/elementwise/dense.hpp"  // strided_view, dense_view, f32_view, dense_load/store

namespace sanawm {

/// LayerNorm epsilon of SANA-WM's block norms (norm1/norm2) and final layer.
inline constexpr float layer_norm_eps = 1e-6f;
/// RMSNorm epsilon of SANA-WM's self-attention, GDN and camera q/k norms and of attention_y_norm.
inline constexpr float rms_norm_eps = 1e-5f;
/// RMSNorm epsilon of the cross-attention q/k norms.
inline constexpr float cross_rms_norm_eps = 1e-6f;
/// Epsilon of the LTX-2 VAE's weightless per-position RMSNorm over channels.
inline constexpr float vae_rms_norm_eps = 1e-8f;

namespace detail {

// Row r of a rank-4 view [B, T, S, C] (rows enumerate (b, t, s), s fastest): the pointer to its first
// channel.
template <class T>
SANAWM_HD SANAWM_FORCEINLINE T* row_of(const strided_view<T, 4>& v, index_t r) noexcept {
  const index_t s = v.extent(2), t = v.extent(1);
  const index_t si = r % s, ti = (r / s) % t, bi = r / (s * t);
  return v.data() + bi * v.stride(0) + ti * v.stride(1) + si * v.stride(2);
}
// The per-frame vector [C] of frame (b, t) that row r of x [B, T, S, C] belongs to, from p [B, T, C].
SANAWM_HD SANAWM_FORCEINLINE const float* frame_vector(const strided_view<const float, 3>& p, index_t r,
                                                       index_t s, index_t t) noexcept {
  const index_t ti = (r / s) % t, bi = r / (s * t);
  return p.data() + bi * p.stride(0) + ti * p.stride(1);
}

// Σ x² over a row, fp32, four interleaved partial sums (shorter dependency chains, smaller rounding error).
template <class T>
SANAWM_HD float row_sum_squares(const T* x, index_t n) noexcept {
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  index_t c = 0;
  for (; c + 4 <= n; c += 4) {
    for (int k = 0; k < 4; ++k) {
      const float v = dense_load(x[c + k]);
      acc[k] += v * v;
    }
  }
  for (; c < n; ++c) {
    const float v = dense_load(x[c]);
    acc[0] += v * v;
  }
  return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}
// Σ x over a row, same scheme.
template <class T>
SANAWM_HD float row_sum(const T* x, index_t n) noexcept {
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  index_t c = 0;
  for (; c + 4 <= n; c += 4) {
    for (int k = 0; k < 4; ++k) acc[k] += dense_load(x[c + k]);
  }
  for (; c < n; ++c) acc[0] += dense_load(x[c]);
  return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}
// Σ (x − m)² over a row (the second pass of a two-pass variance: no cancellation).
template <class T>
SANAWM_HD float row_sum_sq_dev(const T* x, index_t n, float m) noexcept {
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  index_t c = 0;
  for (; c + 4 <= n; c += 4) {
    for (int k = 0; k < 4; ++k) {
      const float d = dense_load(x[c + k]) - m;
      acc[k] += d * d;
    }
  }
  for (; c < n; ++c) {
    const float d = dense_load(x[c]) - m;
    acc[0] += d * d;
  }
  return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

}  // namespace detail

// ---- portable bodies --------------------------------------------------------------------------------------

/// RMSNorm of one row: y = x / sqrt(mean(x²) + eps) ⊙ w. x, y [N, C] (y may be x); w [C] or nullptr (no
/// weight).
template <class TIn, class TOut>
struct rms_norm_body {
  strided_view<const TIn, 2> x;
  const float* w;
  strided_view<TOut, 2> y;
  float eps;
  SANAWM_HD void operator()(index_t r) const noexcept {
    const index_t n = x.extent(1);
    const TIn* xr = x.data() + r * x.stride(0);
    TOut* yr = y.data() + r * y.stride(0);
    const float inv = 1.0f / std::sqrt(detail::row_sum_squares(xr, n) / static_cast<float>(n) + eps);
    for (index_t c = 0; c < n; ++c) {
      const float v = detail::dense_load(xr[c]) * inv;
      yr[c] = detail::dense_store<TOut>(w ? v * w[c] : v);
    }
  }
};

/// LayerNorm without affine of one row: y = (x − mean) / sqrt(var + eps), biased variance, two passes.
template <class TIn, class TOut>
struct layer_norm_body {
  strided_view<const TIn, 2> x;
  strided_view<TOut, 2> y;
  float eps;
  SANAWM_HD void operator()(index_t r) const noexcept {
    const index_t n = x.extent(1);
    const TIn* xr = x.data() + r * x.stride(0);
    TOut* yr = y.data() + r * y.stride(0);
    const float m = detail::row_sum(xr, n) / static_cast<float>(n);
    const float inv = 1.0f / std::sqrt(detail::row_sum_sq_dev(xr, n, m) / static_cast<float>(n) + eps);
    for (index_t c = 0; c < n; ++c) yr[c] = detail::dense_store<TOut>((detail::dense_load(xr[c]) - m) * inv);
  }
};

/// Fused LayerNorm + adaLN modulation of one row of x [B, T, S, C]:
/// y = LN(x) ⊙ (1 + scale[b, t]) + shift[b, t]; shift, scale [B, T, C] fp32.
template <class TIn, class TOut>
struct layer_norm_modulate_body {
  strided_view<const TIn, 4> x;
  strided_view<const float, 3> shift, scale;
  strided_view<TOut, 4> y;
  float eps;
  SANAWM_HD void operator()(index_t r) const noexcept {
    const index_t n = x.extent(3), s = x.extent(2), t = x.extent(1);
    const TIn* xr = detail::row_of(x, r);
    TOut* yr = detail::row_of(y, r);
    const float* sh = detail::frame_vector(shift, r, s, t);
    const float* sc = detail::frame_vector(scale, r, s, t);
    const float m = detail::row_sum(xr, n) / static_cast<float>(n);
    const float inv = 1.0f / std::sqrt(detail::row_sum_sq_dev(xr, n, m) / static_cast<float>(n) + eps);
    for (index_t c = 0; c < n; ++c) {
      const float v = (detail::dense_load(xr[c]) - m) * inv;
      yr[c] = detail::dense_store<TOut>(v * (1.0f + sc[c]) + sh[c]);
    }
  }
};

/// adaLN modulation of one element: y = x · (1 + scale[b, t]) + shift[b, t]. x, y [B, T, S, C] (y may be x).
template <class TIn, class TOut>
struct modulate_body {
  strided_view<const TIn, 4> x;
  strided_view<const float, 3> shift, scale;
  strided_view<TOut, 4> y;
  SANAWM_HD void operator()(index_t r, index_t c) const noexcept {
    const index_t s = x.extent(2), t = x.extent(1);
    const float v = detail::dense_load(detail::row_of(x, r)[c]);
    const float sc = detail::frame_vector(scale, r, s, t)[c];
    const float sh = detail::frame_vector(shift, r, s, t)[c];
    detail::row_of(y, r)[c] = detail::dense_store<TOut>(v * (1.0f + sc) + sh);
  }
};

/// Gated residual of one element: x += gate[b, t] ⊙ y. x (the residual stream, updated in place) and y (the
/// branch output) [B, T, S, C]; gate [B, T, C] fp32.
template <class TX, class TY>
struct gated_residual_body {
  strided_view<TX, 4> x;
  strided_view<const float, 3> gate;
  strided_view<const TY, 4> y;
  SANAWM_HD void operator()(index_t r, index_t c) const noexcept {
    const index_t s = x.extent(2), t = x.extent(1);
    TX* xr = detail::row_of(x, r);
    const float g = detail::frame_vector(gate, r, s, t)[c];
    xr[c] =
        detail::dense_store<TX>(detail::dense_load(xr[c]) + g * detail::dense_load(detail::row_of(y, r)[c]));
  }
};

// ---- argument checks (shared by every backend, so every backend rejects the same inputs) ------------------

namespace detail {

inline void check_eps(std::string_view op, float eps) {
  if (!(eps >= 0.0f) || !std::isfinite(eps)) throw make_error(op, "eps must be finite and >= 0, got ", eps);
}

template <class X, class W, class Y>
void check_rms_norm_args(std::string_view op, const X& x, const W& w, float eps, const Y& y) {
  expect_same_shape(op, "x", x, "y", y);
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  if (x.extent(1) == 0 && x.extent(0) > 0) throw make_error(op, "x has ", x.extent(0), " rows of 0 channels");
  if (w.size() != 0) {
    expect_extent(op, "weight", w, 0, x.extent(1), "channels");
    expect_inner_contiguous(op, "weight", w);
  }
  check_eps(op, eps);
}

template <class X, class Y>
void check_layer_norm_args(std::string_view op, const X& x, float eps, const Y& y) {
  expect_same_shape(op, "x", x, "y", y);
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  if (x.extent(1) == 0 && x.extent(0) > 0) throw make_error(op, "x has ", x.extent(0), " rows of 0 channels");
  check_eps(op, eps);
}

// A per-frame term p [B, T, C] for x [B, T, S, C].
template <class X, class P>
void check_frame_term(std::string_view op, std::string_view name, const X& x, const P& p) {
  if (p.extent(0) != x.extent(0) || p.extent(1) != x.extent(1) || p.extent(2) != x.extent(3))
    throw make_error(op, name, " is ", shape_text(p), " but x ", shape_text(x), " needs [B, T, C] = [",
                     x.extent(0), ", ", x.extent(1), ", ", x.extent(3), "]");
  expect_inner_contiguous(op, name, p);
}

template <class X, class Sh, class Sc, class Y>
void check_modulate_args(std::string_view op, const X& x, const Sh& shift, const Sc& scale, const Y& y) {
  expect_same_shape(op, "x", x, "y", y);
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  check_frame_term(op, "shift", x, shift);
  check_frame_term(op, "scale", x, scale);
}

}  // namespace detail

// ---- portable entry points (any backend; include its parallel_for header) ---------------------------------

/// RMSNorm over the last axis with the portable body: y = x / sqrt(mean(x²) + eps) ⊙ w.
/// x, y [N, C] float or bf16 each (fp32 math; y may be x); w [C] fp32, or an empty view for no weight (the
/// VAE's per-position norm). Fast paths: rms_norm(cpu_t, …) (norms_cpu.hpp), rms_norm(cuda_t, …)
/// (norms_cuda.cuh).
template <backend Tag, dense_view<2> X, f32_view<1> W, dense_out_view<2> Y>
void rms_norm_portable(Tag tag, const X& x, const W& w, float eps, const Y& y) {
  detail::check_rms_norm_args("rms_norm", x, w, eps, y);
  parallel_for(tag, x.extent(0),
               rms_norm_body<typename X::value_type, typename Y::value_type>{
                   as_input(x), w.size() ? w.data() : nullptr, as_output(y), eps});
}

/// LayerNorm without affine over the last axis (portable body). x, y [N, C]; eps (SANA-WM: 1e-6).
template <backend Tag, dense_view<2> X, dense_out_view<2> Y>
void layer_norm_portable(Tag tag, const X& x, float eps, const Y& y) {
  detail::check_layer_norm_args("layer_norm", x, eps, y);
  parallel_for(
      tag, x.extent(0),
      layer_norm_body<typename X::value_type, typename Y::value_type>{as_input(x), as_output(y), eps});
}

/// adaLN modulation with per-frame terms (portable body): y[b,t,s,:] = x[b,t,s,:] ⊙ (1 + scale[b,t,:]) +
/// shift[b,t,:]. x, y [B, T, S, C] (y may be x); shift, scale [B, T, C] fp32 (any outer strides, e.g. slices
/// of the [B, T, 6, C] adaLN table).
template <backend Tag, dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void modulate_portable(Tag tag, const X& x, const Sh& shift, const Sc& scale, const Y& y) {
  detail::check_modulate_args("modulate", x, shift, scale, y);
  parallel_for_2d(tag, x.extent(0) * x.extent(1) * x.extent(2), x.extent(3),
                  modulate_body<typename X::value_type, typename Y::value_type>{
                      as_input(x), as_input(shift), as_input(scale), as_output(y)});
}

/// Gated residual (portable body): x[b,t,s,:] += gate[b,t,:] ⊙ y[b,t,s,:]. x [B, T, S, C] updated in place
/// (the residual stream), y [B, T, S, C] the branch output (must not overlap x), gate [B, T, C] fp32.
template <backend Tag, dense_out_view<4> X, f32_view<3> G, dense_view<4> Y>
void gated_residual_portable(Tag tag, const X& x, const G& gate, const Y& y) {
  detail::expect_same_shape("gated_residual", "x", x, "y", y);
  detail::expect_inner_contiguous("gated_residual", "x", x);
  detail::expect_inner_contiguous("gated_residual", "y", y);
  detail::check_frame_term("gated_residual", "gate", x, gate);
  parallel_for_2d(tag, x.extent(0) * x.extent(1) * x.extent(2), x.extent(3),
                  gated_residual_body<typename X::value_type, typename Y::value_type>{
                      as_output(x), as_input(gate), as_input(y)});
}

/// Fused LayerNorm (no affine) + adaLN modulation (portable body): y = LN(x) ⊙ (1 + scale[b,t]) + shift[b,t].
/// x, y [B, T, S, C] (y may be x); shift, scale [B, T, C] fp32. Equals layer_norm followed by modulate (the
/// composed fallback) up to one rounding of the intermediate.
template <backend Tag, dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void layer_norm_modulate_portable(Tag tag, const X& x, const Sh& shift, const Sc& scale, float eps,
                                  const Y& y) {
  detail::check_modulate_args("layer_norm_modulate", x, shift, scale, y);
  detail::check_eps("layer_norm_modulate", eps);
  if (x.extent(3) == 0 && x.extent(0) * x.extent(1) * x.extent(2) > 0)
    throw make_error("layer_norm_modulate", "x has rows of 0 channels");
  parallel_for(tag, x.extent(0) * x.extent(1) * x.extent(2),
               layer_norm_modulate_body<typename X::value_type, typename Y::value_type>{
                   as_input(x), as_input(shift), as_input(scale), as_output(y), eps});
}

}  // namespace sanawm

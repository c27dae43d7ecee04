// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/norms/norms_cpu.hpp — the CPU fast path of RMSNorm, LayerNorm, adaLN modulation, the gated
// residual and fused LayerNorm+modulate: one row per step, SIMD over channels with four accumulators, rows
// threaded on the pool (a row of 2240 fp32 stays in L1 between passes).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/norms/norms_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <cmath>  // std::sqrt

#include "sanawm/backend/cpu/simd.hpp"               // vec, native_isa
#include "sanawm/backend/tags.hpp"                   // cpu_t
#include "sanawm/config.hpp"                         // SANAWM_FORCEINLINE
#include "sanawm/core/int.hpp"                       // index_t
#include "sanawm/kernels/elementwise/dense_cpu.hpp"  // dense::load/store, parallel_items
#include "sanawm/kernels/norms/norms.hpp"            // checks, portable bodies (scalar tails)

namespace sanawm {

namespace cpu::dense {

// Σ x² of a row: four vector accumulators, then one horizontal sum.
template <class Isa, class T>
float sum_squares(const T* x, index_t n) noexcept {
  using V = vec<float, Isa>;
  constexpr index_t w = V::width;
  V a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  index_t i = 0;
  for (; i + 4 * w <= n; i += 4 * w) {
    const V v0 = load<Isa>(x + i), v1 = load<Isa>(x + i + w), v2 = load<Isa>(x + i + 2 * w),
            v3 = load<Isa>(x + i + 3 * w);
    a0 = fma(v0, v0, a0), a1 = fma(v1, v1, a1), a2 = fma(v2, v2, a2), a3 = fma(v3, v3, a3);
  }
  for (; i + w <= n; i += w) {
    const V v = load<Isa>(x + i);
    a0 = fma(v, v, a0);
  }
  if (i < n) {
    const V v = load_partial<Isa>(x + i, n - i);  // zero lanes add nothing
    a1 = fma(v, v, a1);
  }
  return reduce_add((a0 + a1) + (a2 + a3));
}

// Σ x of a row.
template <class Isa, class T>
float sum(const T* x, index_t n) noexcept {
  using V = vec<float, Isa>;
  constexpr index_t w = V::width;
  V a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  index_t i = 0;
  for (; i + 4 * w <= n; i += 4 * w) {
    a0 = a0 + load<Isa>(x + i), a1 = a1 + load<Isa>(x + i + w);
    a2 = a2 + load<Isa>(x + i + 2 * w), a3 = a3 + load<Isa>(x + i + 3 * w);
  }
  for (; i + w <= n; i += w) a0 = a0 + load<Isa>(x + i);
  if (i < n) a1 = a1 + load_partial<Isa>(x + i, n - i);
  return reduce_add((a0 + a1) + (a2 + a3));
}

// Σ (x − m)² of a row; the tail runs scalar because zero-filled lanes would add m² each.
template <class Isa, class T>
float sum_sq_dev(const T* x, index_t n, float m) noexcept {
  using V = vec<float, Isa>;
  constexpr index_t w = V::width;
  const V mv = V::broadcast(m);
  V a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  index_t i = 0;
  for (; i + 4 * w <= n; i += 4 * w) {
    const V d0 = load<Isa>(x + i) - mv, d1 = load<Isa>(x + i + w) - mv, d2 = load<Isa>(x + i + 2 * w) - mv,
            d3 = load<Isa>(x + i + 3 * w) - mv;
    a0 = fma(d0, d0, a0), a1 = fma(d1, d1, a1), a2 = fma(d2, d2, a2), a3 = fma(d3, d3, a3);
  }
  for (; i + w <= n; i += w) {
    const V d = load<Isa>(x + i) - mv;
    a0 = fma(d, d, a0);
  }
  float tail = 0.0f;
  for (; i < n; ++i) {
    const float d = sanawm::detail::dense_load(x[i]) - m;
    tail += d * d;
  }
  return reduce_add((a0 + a1) + (a2 + a3)) + tail;
}

// y = (x − m)·inv ⊙ w (w may be null; m = 0 for RMSNorm).
template <class Isa, class TIn, class TOut>
void normalize_row(const TIn* x, TOut* y, index_t n, float m, float inv, const float* w) noexcept {
  using V = vec<float, Isa>;
  constexpr index_t wd = V::width;
  const V mv = V::broadcast(m), iv = V::broadcast(inv);
  index_t i = 0;
  if (w) {
    for (; i + wd <= n; i += wd) store<Isa>(((load<Isa>(x + i) - mv) * iv) * V::load(w + i), y + i);
    if (i < n)
      store_partial<Isa>(((load_partial<Isa>(x + i, n - i) - mv) * iv) * V::load_partial(w + i, n - i), y + i,
                         n - i);
  } else {
    for (; i + wd <= n; i += wd) store<Isa>((load<Isa>(x + i) - mv) * iv, y + i);
    if (i < n) store_partial<Isa>((load_partial<Isa>(x + i, n - i) - mv) * iv, y + i, n - i);
  }
}

// y = ((x − m)·inv) ⊙ (1 + scale) + shift: normalisation and modulation in one pass (m = 0, inv = 1 gives
// plain modulation).
template <class Isa, class TIn, class TOut>
void modulate_row(const TIn* x, TOut* y, index_t n, float m, float inv, const float* shift,
                  const float* scale) noexcept {
  using V = vec<float, Isa>;
  constexpr index_t wd = V::width;
  const V mv = V::broadcast(m), iv = V::broadcast(inv), one = V::broadcast(1.0f);
  index_t i = 0;
  for (; i + wd <= n; i += wd) {
    const V v = (load<Isa>(x + i) - mv) * iv;
    store<Isa>(fma(v, one + V::load(scale + i), V::load(shift + i)), y + i);
  }
  if (i < n) {
    const index_t r = n - i;
    const V v = (load_partial<Isa>(x + i, r) - mv) * iv;
    store_partial<Isa>(fma(v, one + V::load_partial(scale + i, r), V::load_partial(shift + i, r)), y + i, r);
  }
}

// x += g ⊙ y.
template <class Isa, class TX, class TY>
void gated_add_row(TX* x, const float* g, const TY* y, index_t n) noexcept {
  using V = vec<float, Isa>;
  constexpr index_t wd = V::width;
  index_t i = 0;
  for (; i + wd <= n; i += wd) store<Isa>(fma(V::load(g + i), load<Isa>(y + i), load<Isa>(x + i)), x + i);
  if (i < n) {
    const index_t r = n - i;
    store_partial<Isa>(
        fma(V::load_partial(g + i, r), load_partial<Isa>(y + i, r), load_partial<Isa>(x + i, r)), x + i, r);
  }
}

}  // namespace cpu::dense

namespace cpu {

/// rms_norm(cpu_t, …) for one SIMD variant (the public entry uses native_isa; tests run every variant).
template <class Isa, dense_view<2> X, f32_view<1> W, dense_out_view<2> Y>
void rms_norm_isa(const X& x_in, const W& w_in, float eps, const Y& y_out) {
  sanawm::detail::check_rms_norm_args("rms_norm", x_in, w_in, eps, y_out);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const float* w = w_in.size() ? w_in.data() : nullptr;
  const index_t n = x.extent(1);
  dense::parallel_items(x.extent(0), 2 * n, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const auto* xr = x.data() + r * x.stride(0);
      const float inv = 1.0f / std::sqrt(dense::sum_squares<Isa>(xr, n) / static_cast<float>(n) + eps);
      dense::normalize_row<Isa>(xr, y.data() + r * y.stride(0), n, 0.0f, inv, w);
    }
  });
}

/// layer_norm(cpu_t, …) for one SIMD variant.
template <class Isa, dense_view<2> X, dense_out_view<2> Y>
void layer_norm_isa(const X& x_in, float eps, const Y& y_out) {
  sanawm::detail::check_layer_norm_args("layer_norm", x_in, eps, y_out);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const index_t n = x.extent(1);
  dense::parallel_items(x.extent(0), 3 * n, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const auto* xr = x.data() + r * x.stride(0);
      const float m = dense::sum<Isa>(xr, n) / static_cast<float>(n);
      const float inv = 1.0f / std::sqrt(dense::sum_sq_dev<Isa>(xr, n, m) / static_cast<float>(n) + eps);
      dense::normalize_row<Isa>(xr, y.data() + r * y.stride(0), n, m, inv, nullptr);
    }
  });
}

/// modulate(cpu_t, …) for one SIMD variant.
template <class Isa, dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void modulate_isa(const X& x_in, const Sh& shift_in, const Sc& scale_in, const Y& y_out) {
  sanawm::detail::check_modulate_args("modulate", x_in, shift_in, scale_in, y_out);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const auto shift = as_input(shift_in);
  const auto scale = as_input(scale_in);
  const index_t n = x.extent(3), s = x.extent(2), t = x.extent(1);
  dense::parallel_items(x.extent(0) * t * s, 2 * n, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r)
      dense::modulate_row<Isa>(sanawm::detail::row_of(x, r), sanawm::detail::row_of(y, r), n, 0.0f, 1.0f,
                               sanawm::detail::frame_vector(shift, r, s, t),
                               sanawm::detail::frame_vector(scale, r, s, t));
  });
}

/// layer_norm_modulate(cpu_t, …) for one SIMD variant.
template <class Isa, dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void layer_norm_modulate_isa(const X& x_in, const Sh& shift_in, const Sc& scale_in, float eps,
                             const Y& y_out) {
  sanawm::detail::check_modulate_args("layer_norm_modulate", x_in, shift_in, scale_in, y_out);
  sanawm::detail::check_eps("layer_norm_modulate", eps);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const auto shift = as_input(shift_in);
  const auto scale = as_input(scale_in);
  const index_t n = x.extent(3), s = x.extent(2), t = x.extent(1);
  if (n == 0 && x.extent(0) * t * s > 0) throw make_error("layer_norm_modulate", "x has rows of 0 channels");
  dense::parallel_items(x.extent(0) * t * s, 3 * n, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const auto* xr = sanawm::detail::row_of(x, r);
      const float m = dense::sum<Isa>(xr, n) / static_cast<float>(n);
      const float inv = 1.0f / std::sqrt(dense::sum_sq_dev<Isa>(xr, n, m) / static_cast<float>(n) + eps);
      dense::modulate_row<Isa>(xr, sanawm::detail::row_of(y, r), n, m, inv,
                               sanawm::detail::frame_vector(shift, r, s, t),
                               sanawm::detail::frame_vector(scale, r, s, t));
    }
  });
}

/// gated_residual(cpu_t, …) for one SIMD variant.
template <class Isa, dense_out_view<4> X, f32_view<3> G, dense_view<4> Y>
void gated_residual_isa(const X& x_io, const G& gate_in, const Y& y_in) {
  sanawm::detail::expect_same_shape("gated_residual", "x", x_io, "y", y_in);
  sanawm::detail::expect_inner_contiguous("gated_residual", "x", x_io);
  sanawm::detail::expect_inner_contiguous("gated_residual", "y", y_in);
  sanawm::detail::check_frame_term("gated_residual", "gate", x_io, gate_in);
  const auto x = as_output(x_io);
  const auto y = as_input(y_in);
  const auto gate = as_input(gate_in);
  const index_t n = x.extent(3), s = x.extent(2), t = x.extent(1);
  dense::parallel_items(x.extent(0) * t * s, 3 * n, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r)
      dense::gated_add_row<Isa>(sanawm::detail::row_of(x, r), sanawm::detail::frame_vector(gate, r, s, t),
                                sanawm::detail::row_of(y, r), n);
  });
}

}  // namespace cpu

/// RMSNorm over the last axis on the CPU (SIMD, threaded): y = x / sqrt(mean(x²) + eps) ⊙ w.
/// x, y [N, C] float or bf16 each, fp32 math, y may be x; rows may be strided (e.g. the q third of a fused
/// qkv output), channels contiguous. w [C] fp32, or an empty view for no weight. SANA-WM: eps = rms_norm_eps
/// (1e-5) for the q/k norms, cross_rms_norm_eps for cross-attention, vae_rms_norm_eps without weight in the
/// VAE.
template <dense_view<2> X, f32_view<1> W, dense_out_view<2> Y>
void rms_norm(cpu_t, const X& x, const W& w, float eps, const Y& y) {
  cpu::rms_norm_isa<cpu::native_isa>(x, w, eps, y);
}

/// LayerNorm without affine on the CPU: y = (x − mean)/sqrt(var + eps). x, y [N, C]; eps = layer_norm_eps
/// (1e-6).
template <dense_view<2> X, dense_out_view<2> Y>
void layer_norm(cpu_t, const X& x, float eps, const Y& y) {
  cpu::layer_norm_isa<cpu::native_isa>(x, eps, y);
}

/// adaLN modulation on the CPU: y = x ⊙ (1 + scale[b,t]) + shift[b,t]. x, y [B, T, S, C]; shift, scale [B, T,
/// C] fp32 (per latent frame: frame 0 has t = 0 in SANA-WM, so every frame has its own terms).
template <dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void modulate(cpu_t, const X& x, const Sh& shift, const Sc& scale, const Y& y) {
  cpu::modulate_isa<cpu::native_isa>(x, shift, scale, y);
}

/// Gated residual on the CPU: x += gate[b,t] ⊙ y. x [B, T, S, C] in place; y [B, T, S, C]; gate [B, T, C]
/// fp32.
template <dense_out_view<4> X, f32_view<3> G, dense_view<4> Y>
void gated_residual(cpu_t, const X& x, const G& gate, const Y& y) {
  cpu::gated_residual_isa<cpu::native_isa>(x, gate, y);
}

/// Fused LayerNorm (no affine) + modulation on the CPU: y = LN(x) ⊙ (1 + scale[b,t]) + shift[b,t], one read
/// of x per pass from L1 and one write of y. Same shapes as modulate.
template <dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void layer_norm_modulate(cpu_t, const X& x, const Sh& shift, const Sc& scale, float eps, const Y& y) {
  cpu::layer_norm_modulate_isa<cpu::native_isa>(x, shift, scale, eps, y);
}

}  // namespace sanawm

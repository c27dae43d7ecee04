// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/elementwise/elementwise_cpu.hpp — the CPU fast path of the activations and the GLU split:
// SIMD over the contiguous axis (exp from the SIMD layer), threaded over rows on the pool.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/elementwise/elementwise_cpu.hpp: host-only header (SIMD intrinsics)"
#endif

#include <algorithm>  // std::min
#include <cmath>      // std::exp, std::log1p (softplus lanes)

#include "sanawm/backend/cpu/simd.hpp"                 // vec, exp, native_isa
#include "sanawm/backend/tags.hpp"                     // cpu_t
#include "sanawm/config.hpp"                           // SANAWM_FORCEINLINE
#include "sanawm/core/int.hpp"                         // index_t
#include "sanawm/kernels/elementwise/dense_cpu.hpp"    // dense::load/store, parallel_items
#include "sanawm/kernels/elementwise/elementwise.hpp"  // activation, bodies, checks

namespace sanawm {

namespace cpu {

/// act(x) on every lane. SiLU, sigmoid and GELU-tanh use e^x from the SIMD layer (≤ 2 ulp); GELU-tanh in the
/// exact form x·σ(2z) = x / (1 + e^−2z), z = √(2/π)(x + 0.044715x³), which equals 0.5x(1 + tanh z) without a
/// vector tanh. Softplus has no vector log: it runs per lane (it only ever sees per-frame gate vectors).
template <activation A, class Isa>
SANAWM_FORCEINLINE vec<float, Isa> apply_activation(vec<float, Isa> x) noexcept {
  using V = vec<float, Isa>;
  const V one = V::broadcast(1.0f);
  if constexpr (A == activation::relu) {
    return select(x < V::zero(), V::zero(), x);  // NaN compares false and stays
  } else if constexpr (A == activation::silu) {
    return x / (one + exp(-x));
  } else if constexpr (A == activation::sigmoid) {
    return one / (one + exp(-x));
  } else if constexpr (A == activation::gelu_tanh) {
    const V x3 = x * x * x;
    const V z2 = fma(x3, V::broadcast(-2.0f * 0.7978845608028654f * 0.044715f),
                     x * V::broadcast(-2.0f * 0.7978845608028654f));
    return x / (one + exp(z2));
  } else if constexpr (A == activation::softplus) {
    float lanes[V::width];
    x.store(lanes);
    for (float& l : lanes) l = sanawm::detail::act_softplus(l);
    return V::load(lanes);
  } else {
    return x;
  }
}

namespace dense {

/// y[0..n) = act(x[0..n)) (float or bf16 each; y may be x).
template <activation A, class Isa, class TIn, class TOut>
void activation_span(const TIn* x, TOut* y, index_t n) noexcept {
  using V = vec<float, Isa>;
  index_t i = 0;
  for (; i + V::width <= n; i += V::width) store<Isa>(apply_activation<A, Isa>(load<Isa>(x + i)), y + i);
  if (i < n) store_partial<Isa>(apply_activation<A, Isa>(load_partial<Isa>(x + i, n - i)), y + i, n - i);
}

/// y[0..h) = a[0..h) · act(g[0..h)).
template <activation A, class Isa, class TIn, class TOut>
void glu_span(const TIn* a, const TIn* g, TOut* y, index_t h) noexcept {
  using V = vec<float, Isa>;
  index_t i = 0;
  for (; i + V::width <= h; i += V::width)
    store<Isa>(load<Isa>(a + i) * apply_activation<A, Isa>(load<Isa>(g + i)), y + i);
  if (i < h)
    store_partial<Isa>(
        load_partial<Isa>(a + i, h - i) * apply_activation<A, Isa>(load_partial<Isa>(g + i, h - i)), y + i,
        h - i);
}

}  // namespace dense

/// activate(cpu_t, …) for one SIMD variant (tests run every compiled variant; the public entry uses
/// native_isa).
template <class Isa, dense_view<2> X, dense_out_view<2> Y>
void activate_isa(activation a, const X& x_in, const Y& y_out) {
  sanawm::detail::check_activation_args("activate", x_in, y_out);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const index_t rows = x.extent(0), cols = x.extent(1);
  if (rows == 0 || cols == 0) return;
  dispatch_activation(a, "activate", [&](auto act) {
    constexpr activation A = decltype(act)::value;
    // Cost per element in "streamed floats": transcendental activations do ~20 flops per element.
    constexpr index_t cost = (A == activation::identity || A == activation::relu) ? 1 : 8;
    const bool flat = (rows == 1 || (x.stride(0) == cols && y.stride(0) == cols));
    if (flat) {
      // One contiguous range: split it into blocks so narrow rows still fill whole vectors.
      constexpr index_t block = 4096;
      const index_t n = rows * cols, blocks = (n + block - 1) / block;
      dense::parallel_items(blocks, block * cost, [&](index_t b, index_t e) {
        for (index_t k = b; k < e; ++k) {
          const index_t begin = k * block, len = std::min(block, n - begin);
          dense::activation_span<A, Isa>(x.data() + begin, y.data() + begin, len);
        }
      });
    } else {
      dense::parallel_items(rows, cols * cost, [&](index_t b, index_t e) {
        for (index_t r = b; r < e; ++r)
          dense::activation_span<A, Isa>(x.data() + r * x.stride(0), y.data() + r * y.stride(0), cols);
      });
    }
  });
}

/// glu(cpu_t, …) for one SIMD variant.
template <class Isa, dense_view<2> X, dense_out_view<2> Y>
void glu_isa(activation gate_act, const X& x_in, const Y& y_out) {
  sanawm::detail::check_glu_args("glu", x_in, y_out);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const index_t rows = y.extent(0), h = y.extent(1);
  if (rows == 0 || h == 0) return;
  dispatch_activation(gate_act, "glu", [&](auto act) {
    constexpr activation A = decltype(act)::value;
    dense::parallel_items(rows, 3 * h, [&](index_t b, index_t e) {
      for (index_t r = b; r < e; ++r) {
        const auto* xr = x.data() + r * x.stride(0);
        dense::glu_span<A, Isa>(xr, xr + h, y.data() + r * y.stride(0), h);
      }
    });
  });
}

}  // namespace cpu

/// y = act(x) elementwise on the CPU: SIMD, threaded. x, y [N, C], float or bf16 each (fp32 math); y may be
/// x; rows may be strided, the innermost axis must be contiguous. Throws sanawm::error on shape mismatches.
template <dense_view<2> X, dense_out_view<2> Y>
void activate(cpu_t, activation a, const X& x, const Y& y) {
  cpu::activate_isa<cpu::native_isa>(a, x, y);
}

/// The GLU split on the CPU: y[r, c] = x[r, c] · act(x[r, H + c]). x [N, 2H] (value half, then gate half), y
/// [N, H] (must not overlap x). SANA-WM's FFN uses gate_act = activation::silu.
template <dense_view<2> X, dense_out_view<2> Y>
void glu(cpu_t, activation gate_act, const X& x, const Y& y) {
  cpu::glu_isa<cpu::native_isa>(gate_act, x, y);
}

}  // namespace sanawm

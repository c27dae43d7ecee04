// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/conv/conv_cpu.hpp — the CPU fast paths of the convolutions: 1x1 and the temporal conv as
// (batched) GEMMs on the packed CPU GEMM, conv3d as an implicit GEMM (one padded slab per output frame, one
// GEMM per tap on shifted rows of it), the depthwise convs with SIMD over channels, threaded on the pool.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/conv/conv_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <algorithm>    // std::min, std::fill
#include <cstring>      // std::memcpy
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

#include "sanawm/backend/cpu/simd.hpp"                     // vec, native_isa
#include "sanawm/backend/tags.hpp"                         // cpu_t
#include "sanawm/core/buffer.hpp"                          // host_buffer
#include "sanawm/core/int.hpp"                             // index_t
#include "sanawm/kernels/conv/conv.hpp"                    // bodies, checks, options
#include "sanawm/kernels/elementwise/dense_cpu.hpp"        // dense::load/store, parallel_items
#include "sanawm/kernels/elementwise/elementwise_cpu.hpp"  // activate(cpu_t), cpu::apply_activation
#include "sanawm/kernels/gemm/gemm_cpu.hpp"                // gemm(cpu_t, gemm_args)

namespace sanawm {

namespace cpu::dense {

/// The GEMM compute mode that keeps the dense kernels' "fp32 math" promise: bf16 × bf16 products are exact in
/// fp32, so two bf16 operands may use the bf16 dot path; any fp32 operand must not be rounded to bf16.
template <class TA, class TB>
constexpr gemm_compute conv_gemm_compute() noexcept {
  return std::is_same_v<TA, bf16> && std::is_same_v<TB, bf16> ? gemm_compute::bf16 : gemm_compute::fp32;
}

/// The GEMM epilogue activation for `a`, or false when the GEMM has none (sigmoid, softplus: applied after).
inline bool gemm_activation_of(activation a, gemm_activation& out) noexcept {
  switch (a) {
    case activation::identity:
      out = gemm_activation::none;
      return true;
    case activation::relu:
      out = gemm_activation::relu;
      return true;
    case activation::silu:
      out = gemm_activation::silu;
      return true;
    case activation::gelu_tanh:
      out = gemm_activation::gelu_tanh;
      return true;
    default:
      return false;
  }
}

/// y[0..n) = convert(c[0..n) + bias + (res ? res : 0)) (bias, res may be null).
template <class Isa, class TOut, class TRes>
void finish_row(const float* c, const float* bias, const TRes* res, TOut* y, index_t n) noexcept {
  using V = vec<float, Isa>;
  index_t i = 0;
  for (; i + V::width <= n; i += V::width) {
    V v = V::load(c + i);
    if (bias) v = v + V::load(bias + i);
    if (res) v = v + load<Isa>(res + i);
    store<Isa>(v, y + i);
  }
  if (i < n) {
    const index_t r = n - i;
    V v = V::load_partial(c + i, r);
    if (bias) v = v + V::load_partial(bias + i, r);
    if (res) v = v + load_partial<Isa>(res + i, r);
    store_partial<Isa>(v, y + i, r);
  }
}

/// Tap-major weight matrices: tap k is a [Cout, Cin] row-major matrix (unit stride along Cin) at `tap[k]`
/// with leading dimension `ld`. Views whose Cin axis is already contiguous are used in place; others
/// (PyTorch's layout, taps innermost) are reordered once per call into `storage` — pass a tap-major view to
/// skip that copy.
template <class TW>
struct tap_matrices {
  host_buffer<TW> storage;
  std::vector<const TW*> tap;
  index_t ld = 0;
};

}  // namespace cpu::dense

// ---- 1x1x1 conv -------------------------------------------------------------------------------------------

/// 1x1x1 conv (a linear layer) on the CPU: y = act(x·wᵀ + bias) on the packed GEMM with bias and activation
/// fused in its epilogue. x [N, Cin], w [Cout, Cin] (float or bf16), bias [Cout] fp32 or empty, y [N, Cout];
/// rows may be strided. fp32 products unless x and w are both bf16 (exact bf16 products, vdpbf16ps where
/// available).
template <dense_view<2> X, dense_view<2> W, f32_view<1> B, dense_out_view<2> Y>
void conv1x1(cpu_t, const X& x, const W& w, const B& bias, const Y& y,
             activation act = activation::identity) {
  detail::check_conv1x1_args("conv1x1", x, w, bias, y);
  using TIn = typename X::value_type;
  using TW = typename W::value_type;
  using TOut = typename Y::value_type;
  gemm_args<TIn, TW, TOut> p;
  p.m = x.extent(0), p.n = w.extent(0), p.k = x.extent(1);
  p.a = x.data(), p.lda = p.m > 1 ? x.stride(0) : p.k;
  p.b = w.data(), p.ldb = p.n > 1 ? w.stride(0) : p.k;
  p.c = y.data(), p.ldc = p.m > 1 ? y.stride(0) : p.n;
  p.epilogue.bias = detail::optional_vector("conv1x1", "bias", bias, w.extent(0));
  gemm_activation ga = gemm_activation::none;
  const bool fused = cpu::dense::gemm_activation_of(act, ga);
  p.epilogue.activation = ga;
  p.compute = cpu::dense::conv_gemm_compute<TIn, TW>();
  gemm(cpu_t{}, p);
  if (!fused) activate(cpu_t{}, act, y, y);
}

// ---- depthwise 3x3 ----------------------------------------------------------------------------------------

namespace cpu {

/// depthwise_conv3x3(_glu)(cpu_t, …) for one SIMD variant. Work items are (output row, channel block): the
/// block's 9 weight vectors stay in L1 while the row's pixels stream through.
template <class Isa, bool Glu, activation A, dense_view<5> X, f32_view<3> W, f32_view<1> Bv,
          dense_out_view<5> Y>
void depthwise_conv3x3_isa(const X& x_in, const W& w_in, const Bv& bias_in, const Y& y_out) {
  const char* op = Glu ? "depthwise_conv3x3_glu" : "depthwise_conv3x3";
  sanawm::detail::check_depthwise_args(op, x_in, w_in, bias_in, y_out, Glu);
  using V = vec<float, Isa>;
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const auto w = as_input(w_in);
  const float* bias = sanawm::detail::optional_vector(op, "bias", bias_in, x.extent(4));
  const index_t c_in = x.extent(4), c_out = y.extent(4), hh = x.extent(2), ww = x.extent(3);
  if (y.size() == 0) return;
  // Weights as [9][C]: one contiguous vector per tap.
  std::vector<float> wp(static_cast<std::size_t>(9 * c_in));
  for (index_t c = 0; c < c_in; ++c)
    for (index_t k = 0; k < 9; ++k) wp[static_cast<std::size_t>(k * c_in + c)] = w(c, k / 3, k % 3);
  constexpr index_t block = 16 * V::width;
  const index_t blocks = (c_out + block - 1) / block, rows = x.extent(0) * x.extent(1) * hh;
  const index_t px = x.stride(3), py = y.stride(3);
  dense::parallel_items(rows * blocks, ww * block * (Glu ? 18 : 9), [&](index_t begin, index_t end) {
    for (index_t item = begin; item < end; ++item) {
      const index_t row = item / blocks, c0 = (item % blocks) * block, c1 = std::min(c_out, c0 + block);
      const index_t h = row % hh, t = (row / hh) % x.extent(1), b = row / (hh * x.extent(1));
      // The three input rows (null above/below the frame) and the output row.
      const typename X::value_type* in[3];
      for (index_t dh = 0; dh < 3; ++dh)
        in[dh] = (h + dh - 1 >= 0 && h + dh - 1 < hh) ? &x(b, t, h + dh - 1, 0, 0) : nullptr;
      auto* out_row = &y(b, t, h, 0, 0);
      // Channel vector outer, pixels inner: the 9 (GLU: 18) weight vectors and the bias stay in registers
      // while the row's pixels stream through.
      for (index_t c = c0; c < c1; c += V::width) {
        const index_t n = std::min<index_t>(V::width, c1 - c);
        const bool full = n == V::width;
        auto ldw = [&](const float* p) { return full ? V::load(p) : V::load_partial(p, n); };
        auto ldx = [&](const auto* p) { return full ? dense::load<Isa>(p) : dense::load_partial<Isa>(p, n); };
        V wa[9], wg[9];
        for (index_t k = 0; k < 9; ++k) wa[k] = ldw(wp.data() + k * c_in + c);
        const V ba = bias ? ldw(bias + c) : V::zero();
        V bg = V::zero();
        if constexpr (Glu) {
          for (index_t k = 0; k < 9; ++k) wg[k] = ldw(wp.data() + k * c_in + c_out + c);
          bg = bias ? ldw(bias + c_out + c) : V::zero();
        }
        for (index_t wi = 0; wi < ww; ++wi) {
          V acc = ba, accg = bg;
          for (index_t dh = 0; dh < 3; ++dh) {
            if (!in[dh]) continue;
            for (index_t dw = 0; dw < 3; ++dw) {
              const index_t col = wi + dw - 1;
              if (col < 0 || col >= ww) continue;
              const auto* p = in[dh] + col * px + c;
              acc = fma(ldx(p), wa[dh * 3 + dw], acc);
              if constexpr (Glu) accg = fma(ldx(p + c_out), wg[dh * 3 + dw], accg);
            }
          }
          if constexpr (Glu) acc = acc * apply_activation<A, Isa>(accg);
          auto* q = out_row + wi * py + c;
          if (full)
            dense::store<Isa>(acc, q);
          else
            dense::store_partial<Isa>(acc, q, n);
        }
      }
    }
  });
}

}  // namespace cpu

/// Depthwise 3x3 conv per frame on the CPU (SIMD over channels): zero padding 1, optional bias.
/// x, y [B, T, H, W, C] (y must not overlap x); w [C, 3, 3] fp32; bias [C] fp32 or empty.
template <dense_view<5> X, f32_view<3> W, f32_view<1> B, dense_out_view<5> Y>
void depthwise_conv3x3(cpu_t, const X& x, const W& w, const B& bias, const Y& y) {
  cpu::depthwise_conv3x3_isa<cpu::native_isa, false, activation::identity>(x, w, bias, y);
}

/// Depthwise 3x3 conv fused with the GLU split on the CPU: y = d[…, :G] ⊙ act(d[…, G:]), d = dwconv(x); the
/// 2G intermediate never reaches memory. x [B, T, H, W, 2G], w [2G, 3, 3], bias [2G] or empty, y [B, T, H, W,
/// G].
template <dense_view<5> X, f32_view<3> W, f32_view<1> B, dense_out_view<5> Y>
void depthwise_conv3x3_glu(cpu_t, const X& x, const W& w, const B& bias, activation gate_act, const Y& y) {
  dispatch_activation(gate_act, "depthwise_conv3x3_glu", [&](auto a) {
    cpu::depthwise_conv3x3_isa<cpu::native_isa, true, decltype(a)::value>(x, w, bias, y);
  });
}

// ---- GDN short conv ---------------------------------------------------------------------------------------

namespace cpu {

/// short_conv4(cpu_t, …) for one SIMD variant: per row (b, t, s) the up to 7 source frames are resolved once,
/// then the channels stream through: y = w_3·x[t] + Σ_{j<3} w_j·(x[t−3+j] + x[t+3−j]).
template <class Isa, dense_view<4> X, f32_view<2> W, dense_out_view<4> Y, dense_view<4> L>
void short_conv4_isa(const X& x_in, const W& w_in, const Y& y_out, frame_chunks chunks, const L& left_in) {
  sanawm::detail::check_short_conv4_args("short_conv4", x_in, w_in, y_out, left_in);
  using V = vec<float, Isa>;
  using TIn = typename X::value_type;
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const auto w = as_input(w_in);
  const auto left = as_input(left_in);
  const index_t s_n = x.extent(2), t_n = x.extent(1), c_n = x.extent(3), l_n = left.extent(1);
  if (y.size() == 0) return;
  std::vector<float> wp(static_cast<std::size_t>(4 * c_n));  // [4][C]
  for (index_t c = 0; c < c_n; ++c)
    for (index_t j = 0; j < 4; ++j) wp[static_cast<std::size_t>(j * c_n + c)] = w(c, j);
  // Work items are (batch, block of 16 spatial positions); frames run inside, so the 7-frame window of a
  // block (16 × 7 rows) stays in L2 instead of every input row being fetched from memory 7 times.
  constexpr index_t s_block = 16;
  const index_t blocks = (s_n + s_block - 1) / s_block;
  dense::parallel_items(x.extent(0) * blocks, t_n * s_block * 8 * c_n, [&](index_t begin, index_t end) {
    for (index_t item = begin; item < end; ++item) {
      const index_t b = item / blocks, s0 = (item % blocks) * s_block, s1 = std::min(s_n, s0 + s_block);
      for (index_t t = 0; t < t_n; ++t) {
        const index_t chunk_end = chunks.chunk_end(t, t_n);
        for (index_t s = s0; s < s1; ++s) {
          const TIn* fw[3];
          const TIn* bw[3];
          for (index_t j = 0; j < 3; ++j) {
            const index_t tf = t - 3 + j, tb = t + 3 - j;
            fw[j] = tf >= 0 ? &x(b, tf, s, 0) : (tf + l_n >= 0 ? &left(b, tf + l_n, s, 0) : nullptr);
            bw[j] = tb < chunk_end ? &x(b, tb, s, 0) : nullptr;
          }
          const TIn* xc = &x(b, t, s, 0);
          auto* yr = &y(b, t, s, 0);
          for (index_t c = 0; c < c_n; c += V::width) {
            const index_t n = std::min<index_t>(V::width, c_n - c);
            V acc = V::load_partial(wp.data() + 3 * c_n + c, n) * dense::load_partial<Isa>(xc + c, n);
            for (index_t j = 0; j < 3; ++j) {
              const V wj = V::load_partial(wp.data() + j * c_n + c, n);
              if (fw[j]) acc = fma(wj, dense::load_partial<Isa>(fw[j] + c, n), acc);
              if (bw[j]) acc = fma(wj, dense::load_partial<Isa>(bw[j] + c, n), acc);
            }
            dense::store_partial<Isa>(acc, yr + c, n);
          }
        }
      }
    }
  });
}

}  // namespace cpu

/// The GDN short conv on the CPU (SIMD over channels): see short_conv4_portable for the semantics.
/// x, y [B, T, S, C], w [C, 4] fp32, chunks (single(): bidirectional), left [B, L ≤ 3, S, C] (streaming) or
/// empty.
template <dense_view<4> X, f32_view<2> W, dense_out_view<4> Y, dense_view<4> L>
void short_conv4(cpu_t, const X& x, const W& w, const Y& y, frame_chunks chunks, const L& left) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: short_conv4: the left context has x's element type");
  cpu::short_conv4_isa<cpu::native_isa>(x, w, y, chunks, left);
}
/// short_conv4 on the CPU without a left context.
template <dense_view<4> X, f32_view<2> W, dense_out_view<4> Y>
void short_conv4(cpu_t, const X& x, const W& w, const Y& y, frame_chunks chunks = {}) {
  cpu::short_conv4_isa<cpu::native_isa>(x, w, y, chunks, detail::empty_view<typename X::value_type, 4>());
}

// ---- FFN temporal conv ------------------------------------------------------------------------------------

/// The FFN temporal conv on the CPU as batched GEMMs: tap 1 over all frames, tap 0 over frames 1…T−1 (and
/// frame 0 from the left context), tap 2 over each chunk's frames but its last — every call a GEMM batched
/// over frames with the weights shared. Accumulates in fp32 (y itself when fp32, else a scratch), then adds
/// the residual and rounds once. Semantics and shapes: temporal_conv3_portable. Weights: a view whose Cin
/// axis is contiguous (e.g. a tap-major [3, Cout, Cin] buffer viewed as [Cout, Cin, 3] with strides (Cin, 1,
/// Cout·Cin)) is used in place; PyTorch's [Cout, Cin, 3] layout is reordered once per call.
template <dense_view<4> X, dense_view<3> W, dense_out_view<4> Y, dense_view<3> L>
void temporal_conv3(cpu_t, const X& x_in, const W& w_in, const Y& y_out, const temporal_conv_options& opt,
                    const L& left_in) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: temporal_conv3: the left context has x's element type");
  detail::check_temporal_conv3_args("temporal_conv3", x_in, w_in, y_out, left_in, opt.residual);
  using TIn = typename X::value_type;
  using TW = typename W::value_type;
  using TOut = typename Y::value_type;
  using Isa = cpu::native_isa;
  const auto x = as_input(x_in);
  const auto w = as_input(w_in);
  const auto y = as_output(y_out);
  const auto left = as_input(left_in);
  const index_t b_n = x.extent(0), t_n = x.extent(1), s_n = x.extent(2), ci = x.extent(3), co = y.extent(3);
  if (y.size() == 0) return;

  // Tap matrices [Cout, Cin] with unit stride along Cin.
  const TW* tap[3];
  index_t ldb = ci;
  host_buffer<TW> reordered;
  if (w.stride(1) == 1 || ci <= 1) {
    for (index_t k = 0; k < 3; ++k) tap[k] = w.data() + k * w.stride(2);
    ldb = co > 1 ? w.stride(0) : ci;
  } else {
    reordered = host_buffer<TW>(3 * co * ci);
    cpu::dense::parallel_items(co, 3 * ci, [&](index_t b, index_t e) {
      for (index_t o = b; o < e; ++o)
        for (index_t k = 0; k < 3; ++k)
          for (index_t i = 0; i < ci; ++i) reordered[(k * co + o) * ci + i] = w(o, i, k);
    });
    for (index_t k = 0; k < 3; ++k) tap[k] = reordered.data() + k * co * ci;
  }

  // The fp32 accumulation target: y itself, or a contiguous scratch [B, T, S, Cout] for bf16 outputs.
  host_buffer<float> scratch;
  float* c = nullptr;
  index_t ldc = co, c_frame = s_n * co, c_batch = t_n * s_n * co;
  if constexpr (std::is_same_v<TOut, float>) {
    c = y.data();
    ldc = s_n > 1 ? y.stride(2) : co, c_frame = y.stride(1), c_batch = y.stride(0);
  } else {
    scratch = host_buffer<float>(b_n * t_n * s_n * co);
    c = scratch.data();
  }
  const index_t lda = s_n > 1 ? x.stride(2) : ci;
  auto run = [&](const TIn* a, index_t a_lda, index_t a_frame, index_t frames, const TW* bm, float* cdst,
                 float beta) {
    if (frames <= 0) return;
    gemm_args<TIn, TW, float> p;
    p.m = s_n, p.n = co, p.k = ci;
    p.a = a, p.lda = a_lda, p.b = bm, p.ldb = ldb, p.c = cdst, p.ldc = ldc;
    p.beta = beta;
    p.batch = frames, p.batch_stride_a = a_frame, p.batch_stride_b = 0, p.batch_stride_c = c_frame;
    p.compute = cpu::dense::conv_gemm_compute<TIn, TW>();
    gemm(cpu_t{}, p);
  };
  for (index_t b = 0; b < b_n; ++b) {
    const TIn* xb = x.data() + b * x.stride(0);
    float* cb = c + b * c_batch;
    run(xb, lda, x.stride(1), t_n, tap[1], cb, 0.0f);                // x[t]
    run(xb, lda, x.stride(1), t_n - 1, tap[0], cb + c_frame, 1.0f);  // x[t−1], t ≥ 1
    if (left.size() > 0)
      run(&left(b, 0, 0), s_n > 1 ? left.stride(1) : ci, 0, 1, tap[0], cb, 1.0f);  // frame −1
    for (index_t c0 = 0; c0 < t_n;) {                                              // x[t+1] inside each chunk
      const index_t c1 = opt.chunks.chunk_end(c0, t_n);
      if (c1 - 1 > c0)
        run(xb + (c0 + 1) * x.stride(1), lda, x.stride(1), c1 - 1 - c0, tap[2], cb + c0 * c_frame, 1.0f);
      c0 = c1;
    }
  }

  // Residual and the final rounding.
  if (std::is_same_v<TOut, float> && !opt.residual) return;
  cpu::dense::parallel_items(b_n * t_n * s_n, 2 * co, [&](index_t begin, index_t end) {
    for (index_t r = begin; r < end; ++r) {
      const index_t s = r % s_n, t = (r / s_n) % t_n, b = r / (s_n * t_n);
      const float* cr = c + b * c_batch + t * c_frame + s * ldc;
      const TIn* res = opt.residual ? &x(b, t, s, 0) : nullptr;
      cpu::dense::finish_row<Isa>(cr, nullptr, res, &y(b, t, s, 0), co);
    }
  });
}
/// temporal_conv3 on the CPU without a left context (zeros before frame 0).
template <dense_view<4> X, dense_view<3> W, dense_out_view<4> Y>
void temporal_conv3(cpu_t, const X& x, const W& w, const Y& y, const temporal_conv_options& opt = {}) {
  temporal_conv3(cpu_t{}, x, w, y, opt, detail::empty_view<typename X::value_type, 3>());
}

// ---- general 3-D conv -------------------------------------------------------------------------------------

/// General stride-1 3-D conv on the CPU as an implicit GEMM: for each output frame, the kt source frames are
/// padded (time and space) into one slab [kt, H+2ph, W+2pw, Cin]; output pixel (h, w) of tap (dt, dh, dw)
/// then reads slab row ((dt·Hp + h + dh)·Wp + w + dw), so each tap is one GEMM over H·Wp consecutive rows
/// (the 2pw extra columns per row are computed and dropped), accumulated in fp32; bias and the rounding come
/// last. Semantics and shapes: conv3d_portable. Weights with a contiguous Cin axis are used in place (pass a
/// tap-major [kt, kh, kw, Cout, Cin] buffer as a strided [Cout, Cin, kt, kh, kw] view to skip the per-call
/// reorder).
template <dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y, dense_view<5> L>
void conv3d(cpu_t, const X& x_in, const W& w_in, const B& bias_in, const Y& y_out, conv3d_padding pad,
            const L& left_in) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: conv3d: the left context has x's element type");
  detail::check_conv3d_args("conv3d", x_in, w_in, bias_in, y_out, left_in, pad);
  using TIn = typename X::value_type;
  using TW = typename W::value_type;
  using Isa = cpu::native_isa;
  const auto x = as_input(x_in);
  const auto w = as_input(w_in);
  const auto y = as_output(y_out);
  const auto left = as_input(left_in);
  const float* bias = detail::optional_vector("conv3d", "bias", bias_in, w.extent(0));
  const index_t b_n = x.extent(0), t_in = x.extent(1), hh = x.extent(2), ww = x.extent(3), ci = x.extent(4);
  const index_t co = w.extent(0), kt = w.extent(2), kh = w.extent(3), kw = w.extent(4), t_out = y.extent(1);
  const index_t ph = kh / 2, pw = kw / 2, hp = hh + 2 * ph, wp = ww + 2 * pw, taps = kt * kh * kw;
  if (y.size() == 0) return;

  // Tap matrices [Cout, Cin], tap = (dt·kh + dh)·kw + dw.
  std::vector<const TW*> tap(static_cast<std::size_t>(taps));
  index_t ldb = ci;
  host_buffer<TW> reordered;
  if (w.stride(1) == 1 || ci <= 1) {
    for (index_t k = 0; k < taps; ++k)
      tap[static_cast<std::size_t>(k)] = &w(0, 0, k / (kh * kw), (k / kw) % kh, k % kw);
    ldb = co > 1 ? w.stride(0) : ci;
  } else {
    reordered = host_buffer<TW>(taps * co * ci);
    cpu::dense::parallel_items(co, taps * ci, [&](index_t b, index_t e) {
      for (index_t o = b; o < e; ++o)
        for (index_t k = 0; k < taps; ++k)
          for (index_t i = 0; i < ci; ++i)
            reordered[(k * co + o) * ci + i] = w(o, i, k / (kh * kw), (k / kw) % kh, k % kw);
    });
    for (index_t k = 0; k < taps; ++k) tap[static_cast<std::size_t>(k)] = reordered.data() + k * co * ci;
  }

  // One slab (plus kw rows of slack read only by the dropped columns) and one fp32 accumulator per output
  // frame.
  const index_t plane = hp * wp, slab_rows = kt * plane + kw;
  host_buffer<TIn> slab(slab_rows * ci);
  for (index_t i = kt * plane * ci; i < slab_rows * ci; ++i) slab[i] = detail::dense_store<TIn>(0.0f);
  const index_t m = hh * wp;
  host_buffer<float> acc(m * co);

  std::vector<detail::frame_source> fs(static_cast<std::size_t>(kt));
  for (index_t b = 0; b < b_n; ++b) {
    for (index_t t = 0; t < t_out; ++t) {
      for (std::size_t dt = 0; dt < fs.size(); ++dt)
        fs[dt] =
            detail::conv3d_frame_source(pad.temporal, t, static_cast<index_t>(dt), kt, t_in, left.extent(1));
      // Build the slab, one padded row (dt, r) per work item.
      cpu::dense::parallel_items(kt * hp, wp * ci, [&](index_t begin, index_t end) {
        for (index_t item = begin; item < end; ++item) {
          const auto dt = static_cast<std::size_t>(item / hp);
          const index_t r = item % hp;
          TIn* dst = slab.data() + (static_cast<index_t>(dt) * plane + r * wp) * ci;
          const index_t sr = detail::spatial_source(r - ph, hh, pad.spatial);
          for (index_t col = 0; col < wp; ++col, dst += ci) {
            const index_t sc = detail::spatial_source(col - pw, ww, pad.spatial);
            if (fs[dt].kind == 2 || sr < 0 || sc < 0) {
              std::fill(dst, dst + ci, detail::dense_store<TIn>(0.0f));
              continue;
            }
            const TIn* px =
                fs[dt].kind == 0 ? &x(b, fs[dt].index, sr, sc, 0) : &left(b, fs[dt].index, sr, sc, 0);
            std::memcpy(static_cast<void*>(dst), px, static_cast<std::size_t>(ci) * sizeof(TIn));
          }
        }
      });
      // One GEMM per tap; taps reading a zero frame are skipped.
      bool first = true;
      for (index_t k = 0; k < taps; ++k) {
        const index_t dt = k / (kh * kw), dh = (k / kw) % kh, dw = k % kw;
        if (fs[static_cast<std::size_t>(dt)].kind == 2) continue;
        gemm_args<TIn, TW, float> p;
        p.m = m, p.n = co, p.k = ci;
        p.a = slab.data() + (dt * plane + dh * wp + dw) * ci, p.lda = ci;
        p.b = tap[static_cast<std::size_t>(k)], p.ldb = ldb;
        p.c = acc.data(), p.ldc = co;
        p.beta = first ? 0.0f : 1.0f;
        p.compute = cpu::dense::conv_gemm_compute<TIn, TW>();
        gemm(cpu_t{}, p);
        first = false;
      }
      if (first) std::fill(acc.begin(), acc.end(), 0.0f);
      // Drop the padded columns, add the bias, round.
      cpu::dense::parallel_items(hh * ww, 2 * co, [&](index_t begin, index_t end) {
        for (index_t px = begin; px < end; ++px) {
          const index_t h = px / ww, wi = px % ww;
          cpu::dense::finish_row<Isa, typename Y::value_type, float>(acc.data() + (h * wp + wi) * co, bias,
                                                                     nullptr, &y(b, t, h, wi, 0), co);
        }
      });
    }
  }
}
/// conv3d on the CPU without a left context.
template <dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y>
void conv3d(cpu_t, const X& x, const W& w, const B& bias, const Y& y, conv3d_padding pad) {
  conv3d(cpu_t{}, x, w, bias, y, pad, detail::empty_view<typename X::value_type, 5>());
}

/// Depthwise and layout helpers with no separate fast path run their portable bodies on the pool:
/// to_channels_last / to_channels_first (conv.hpp) take cpu_t directly.

}  // namespace sanawm

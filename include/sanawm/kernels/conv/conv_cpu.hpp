// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/conv/conv_cpu.hpp — the CPU fast paths of the convolutions: 1x1 and the temporal conv as
// (batched) GEMMs on the packed CPU GEMM, conv3d as one implicit GEMM with K = kt·kh·kw·Cin over gathered input
// rows or (kt×3×3 kernels with enough channels) by Winograd F(2×2, 3×3) (conv_winograd_cpu.hpp), the depthwise
// convs with SIMD over channels, threaded on the pool.
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
#include "sanawm/kernels/conv/conv_winograd_cpu.hpp"       // conv3d by Winograd F(2x2, 3x3)
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

namespace cpu::dense {

/// Upper bound (bytes) of the gathered input block conv3d(cpu_t) multiplies per GEMM: rows × kt·kh·kw·Cin values.
/// Larger blocks amortise the GEMM's per-call packing of the weights; the block is the kernel's only extra memory
/// (kept per thread and reused across calls). A tuning knob for benchmarks and tests (a tiny value forces many
/// blocks); not thread-safe to change while convs run.
inline index_t conv3d_block_bytes = index_t{4} << 20;

/// Rows of the gathered block for K = taps·Cin and Cout output channels: conv3d_block_bytes worth (the block is
/// written by the gather and read right back by the GEMM's packing, so it should stay in cache), but at least
/// min(Cout, 8× that) rows, so that the weights [Cout, K] (packed again by every GEMM call) are not packed more
/// often than the block is read — only convs with many output channels (many FLOPs per gathered value) get large
/// blocks. Rounded down to a multiple of `unit` (the GEMM's register tile along the rows) when above it.
template <class TIn>
index_t conv3d_block_rows(index_t rows, index_t k, index_t co, index_t unit) noexcept {
  const index_t row_bytes = std::max<index_t>(1, k * static_cast<index_t>(sizeof(TIn)));
  const index_t base = std::max<index_t>(1, conv3d_block_bytes / row_bytes);
  index_t mb = std::max(base, std::min(co, 8 * base));
  if (mb > unit) mb = mb / unit * unit;
  return std::min(rows, mb);
}

}  // namespace cpu::dense

namespace cpu::dense {

/// Whether conv3d(cpu_t) runs its GEMM transposed (yᵀ = W · blockᵀ, Cout as the GEMM's M) for `co` output
/// channels: when Cout fills the micro-kernel's 8-row register tile clearly better than its NR-column one (NR = 48
/// on AVX-512: Cout = 64 uses 64 of 96 computed columns, 128 uses 128 of 144). Depends on Cout only, so a conv's
/// arithmetic never changes with the number of frames.
inline bool conv3d_transposed(index_t co) noexcept {
  using Cfg = detail::gemm_config<native_isa, detail::gemm_kind::f32>;
  const index_t nr = Cfg::nv * vec<float, native_isa>::width, mr = Cfg::mr;
  const double eff_n = static_cast<double>(co) / static_cast<double>((co + nr - 1) / nr * nr);
  const double eff_m = static_cast<double>(co) / static_cast<double>((co + mr - 1) / mr * mr);
  return eff_m > eff_n + 0.03;
}

/// dst[0..n) = src[0..n) converted to TD (a plain copy when the types agree; bf16 rounds to nearest even).
template <class Isa, class TD, class TS>
SANAWM_FORCEINLINE void convert_copy(TD* dst, const TS* src, index_t n) noexcept {
  if constexpr (std::is_same_v<TD, TS>) {
    std::memcpy(static_cast<void*>(dst), src, static_cast<std::size_t>(n) * sizeof(TS));
  } else {
    using V = vec<float, Isa>;
    index_t i = 0;
    for (; i + V::width <= n; i += V::width) store<Isa>(load<Isa>(src + i), dst + i);
    if (i < n) store_partial<Isa>(load_partial<Isa>(src + i, n - i), dst + i, n - i);
  }
}

/// conv3d(cpu_t) with the gathered activations in TG (TIn, or bf16 for the bf16 compute mode) and GEMM compute
/// mode `mode`. See conv3d below.
template <class TG, dense_view<5> X, dense_view<5> W, dense_out_view<5> Y, dense_view<5> L>
void conv3d_gemm(const X& x, const W& w, const float* bias, const Y& y, conv3d_padding pad, const L& left,
                 gemm_compute mode, const packed_gemm_b* packed) {
  using TIn = typename X::value_type;
  using TW = typename W::value_type;
  using TOut = typename Y::value_type;
  using Isa = native_isa;
  const index_t b_n = x.extent(0), t_in = x.extent(1), hh = x.extent(2), ww = x.extent(3), ci = x.extent(4);
  const index_t co = w.extent(0), kt = w.extent(2), kh = w.extent(3), kw = w.extent(4), t_out = y.extent(1);
  const index_t ph = kh / 2, pw = kw / 2, taps = kt * kh * kw, kk = taps * ci;

  // The weights as B [Cout, K], K index = ((dt·kh + dh)·kw + dw)·Cin + i.
  const TW* bmat = w.data();
  index_t ldb = co > 1 ? w.stride(0) : kk;
  host_buffer<TW> reordered;
  const bool in_place = packed != nullptr ||  // packed: B is never read from w
                        ((ci == 1 || w.stride(1) == 1) && (kw == 1 || w.stride(4) == ci) &&
                         (kh == 1 || w.stride(3) == kw * ci) && (kt == 1 || w.stride(2) == kh * kw * ci) &&
                         (co == 1 || w.stride(0) >= kk));
  if (!in_place) {
    reordered = host_buffer<TW>(co * kk);
    parallel_items(co, kk, [&](index_t b, index_t e) {
      for (index_t o = b; o < e; ++o)
        for (index_t k = 0; k < taps; ++k)
          for (index_t i = 0; i < ci; ++i)
            reordered[o * kk + k * ci + i] = w(o, i, k / (kh * kw), (k / kw) % kh, k % kw);
    });
    bmat = reordered.data(), ldb = kk;
  }

  // y rows (t, h, w) of one batch item are GEMM rows at a constant stride when the clip is dense over them;
  // otherwise each block goes through an fp32 scratch and is copied out.
  const index_t ldc = ww > 1 ? y.stride(3) : hh > 1 ? y.stride(2) : t_out > 1 ? y.stride(1) : co;
  const bool direct = ldc >= co && (ww == 1 || y.stride(3) == ldc) && (hh == 1 || y.stride(2) == ww * ldc) &&
                      (t_out == 1 || y.stride(1) == hh * ww * ldc);
  const bool px_contig = ww == 1 || x.stride(3) == ci;
  const bool left_contig = left.size() == 0 || ww == 1 || left.stride(3) == ci;
  const bool transposed = !packed && conv3d_transposed(co);

  const index_t rows = t_out * hh * ww;
  using Cfg = detail::gemm_config<Isa, detail::gemm_kind::f32>;
  const index_t mb = conv3d_block_rows<TG>(rows, kk, co, transposed ? Cfg::nv * vec<float, Isa>::width : Cfg::mr);
  TG* col = thread_scratch<TG, 0>(mb * kk);
  float* cbuf = direct && !transposed ? nullptr : thread_scratch<float, 1>(mb * co);
  const TG zero = sanawm::detail::dense_store<TG>(0.0f);

  for (index_t b = 0; b < b_n; ++b) {
    for (index_t r0 = 0; r0 < rows; r0 += mb) {
      const index_t m = std::min(mb, rows - r0);
      // Gather: row r of the block holds, for every tap, the Cin values that tap reads for output position r0 + r.
      parallel_items(m, kk, [&](index_t begin, index_t end) {
        for (index_t r = begin; r < end; ++r) {
          const index_t q = r0 + r, t = q / (hh * ww), h = (q / ww) % hh, wi = q % ww;
          TG* dst = col + r * kk;
          for (index_t dt = 0; dt < kt; ++dt) {
            const sanawm::detail::frame_source fs =
                sanawm::detail::conv3d_frame_source(pad.temporal, t, dt, kt, t_in, left.extent(1));
            for (index_t dh = 0; dh < kh; ++dh, dst += kw * ci) {
              const index_t sr = sanawm::detail::spatial_source(h + dh - ph, hh, pad.spatial);
              if (fs.kind == 2 || sr < 0) {
                std::fill(dst, dst + kw * ci, zero);
                continue;
              }
              auto pixel = [&](index_t sc) -> const TIn* {
                return fs.kind == 0 ? &x(b, fs.index, sr, sc, 0) : &left(b, fs.index, sr, sc, 0);
              };
              if (wi - pw >= 0 && wi - pw + kw <= ww && (fs.kind == 0 ? px_contig : left_contig)) {
                convert_copy<Isa>(dst, pixel(wi - pw), kw * ci);  // interior: the kw pixels are contiguous
                continue;
              }
              for (index_t dw = 0; dw < kw; ++dw) {
                const index_t sc = sanawm::detail::spatial_source(wi + dw - pw, ww, pad.spatial);
                if (sc < 0) std::fill(dst + dw * ci, dst + (dw + 1) * ci, zero);
                else convert_copy<Isa>(dst + dw * ci, pixel(sc), ci);
              }
            }
          }
        }
      });
      if (transposed) {
        // yᵀ [Cout, m] = W · blockᵀ: Cout is the GEMM's M (register rows of 8), the pixels its N; then transpose
        // out with the bias. Same products in the same K order as the untransposed GEMM (bit-identical).
        gemm_args<TW, TG, float> p;
        p.m = co, p.n = m, p.k = kk;
        p.a = bmat, p.lda = ldb, p.b = col, p.ldb = kk;
        p.c = cbuf, p.ldc = m;
        p.compute = mode;
        gemm(cpu_t{}, p);
        parallel_items(m, 2 * co, [&](index_t begin, index_t end) {
          constexpr index_t rb = 16;  // rows per pass: each Cout row of yᵀ is read 16 pixels at a time
          for (index_t r1 = begin; r1 < end; r1 += rb) {
            const index_t r2 = std::min(end, r1 + rb);
            for (index_t r = r1; r < r2; ++r) {
              const index_t q = r0 + r, t = q / (hh * ww), h = (q / ww) % hh, wi = q % ww;
              TOut* dst = &y(b, t, h, wi, 0);
              const float* src = cbuf + r;
              for (index_t o = 0; o < co; ++o)
                dst[o] = sanawm::detail::dense_store<TOut>(src[o * m] + (bias ? bias[o] : 0.0f));
            }
          }
        });
        continue;
      }
      const index_t t0 = r0 / (hh * ww), h0 = (r0 / ww) % hh, w0 = r0 % ww;
      if (direct) {
        gemm_args<TG, TW, TOut> p;
        p.m = m, p.n = co, p.k = kk;
        p.a = col, p.lda = kk, p.b = bmat, p.ldb = ldb;
        p.c = &y(b, t0, h0, w0, 0), p.ldc = ldc;
        p.epilogue.bias = bias;
        p.compute = mode;
        if (packed) gemm(cpu_t{}, p, *packed);
        else gemm(cpu_t{}, p);
      } else {
        gemm_args<TG, TW, float> p;
        p.m = m, p.n = co, p.k = kk;
        p.a = col, p.lda = kk, p.b = bmat, p.ldb = ldb;
        p.c = cbuf, p.ldc = co;
        p.epilogue.bias = bias;
        p.compute = mode;
        if (packed) gemm(cpu_t{}, p, *packed);
        else gemm(cpu_t{}, p);
        parallel_items(m, 2 * co, [&](index_t begin, index_t end) {
          for (index_t r = begin; r < end; ++r) {
            const index_t q = r0 + r, t = q / (hh * ww), h = (q / ww) % hh, wi = q % ww;
            finish_row<Isa, TOut, float>(cbuf + r * co, nullptr, nullptr, &y(b, t, h, wi, 0), co);
          }
        });
      }
    }
  }
}

}  // namespace cpu::dense

/// General stride-1 3-D conv on the CPU. Semantics and shapes: conv3d_portable. Two algorithms (`algorithm`):
///
/// - implicit GEMM (any kernel): ONE GEMM with K = kt·kh·kw·Cin; output positions (frame, row, column) of a batch
///   item are flattened into GEMM rows; a block of rows (all output frames at once when it fits,
///   cpu::dense::conv3d_block_bytes) gathers, per row, the kt·kh·kw input pixels its taps read (temporal and
///   spatial padding resolved while gathering: replicated/reflected pixels are copied, zero pads written as zeros),
///   and one GEMM against the weights [Cout, kt·kh·kw·Cin] writes y with the bias in its epilogue.
/// - Winograd F(2×2, 3×3) (kt×3×3 kernels; cpu::dense::conv3d_winograd): 2×2 output tiles from transformed 4×4
///   input tiles, 16 GEMMs with K = kt·Cin against the transformed weights — 2.25× fewer multiply-adds, fp32
///   accuracy (a few ulps more rounding than the direct sum). `automatic` takes it when
///   cpu::dense::conv3d_winograd_pays (3×3 spatially, ≥ 32 channels in and out) and no implicit-GEMM `packed`
///   weights are given.
///
/// Either way every output element is the same computation (same products, same K order and steps) whatever the
/// block, frame count or thread count, so splitting a clip into frame chunks gives bit-identical results.
/// Weights: a view whose memory is [Cout, kt, kh, kw, Cin] (Cin innermost, e.g. PyTorch's [Cout, Cin, kt, kh, kw]
/// permuted to channels-last and viewed back through strides) is used in place by the implicit GEMM; any other
/// layout is reordered once per call. Winograd transforms the weights once per call (or pass them prepared: the
/// overload taking cpu::conv3d_winograd_weights).
/// `compute`: automatic = fp32 products unless x and w are both bf16 (then exact bf16 products, as before);
/// fp32 = fp32 products of the (widened) inputs; bf16 = activations rounded to bf16 (nearest even) while they are
/// gathered (Winograd: after the input transform) and weights rounded to bf16 (pass bf16 weights to skip that;
/// Winograd rounds its transformed weights), products accumulated in fp32 (vdpbf16ps where available: about twice
/// the fp32 rate). tf32 is rejected.
/// `packed` (optional): the weights as the implicit GEMM's B [Cout, kt·kh·kw·Cin] packed ahead by
/// pack_conv3d_weights for this compute mode; the call then skips packing the weights, which dominates when a call
/// has few output positions (small frames). Same products in the same order: bit-identical results. w must still
/// describe the weights. Implies the implicit GEMM (winograd with `packed` is an error).
template <dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y, dense_view<5> L>
void conv3d(cpu_t, const X& x_in, const W& w_in, const B& bias_in, const Y& y_out, conv3d_padding pad,
            const L& left_in, gemm_compute compute = gemm_compute::automatic,
            const cpu::packed_gemm_b* packed = nullptr,
            conv3d_algorithm algorithm = conv3d_algorithm::automatic) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: conv3d: the left context has x's element type");
  detail::check_conv3d_args("conv3d", x_in, w_in, bias_in, y_out, left_in, pad);
  SANAWM_EXPECT(compute != gemm_compute::tf32, "conv3d", "compute tf32 is a CUDA mode; use fp32 or bf16 on the CPU");
  using TIn = typename X::value_type;
  using TW = typename W::value_type;
  const auto x = as_input(x_in);
  const auto w = as_input(w_in);
  const auto y = as_output(y_out);
  const auto left = as_input(left_in);
  const float* bias = detail::optional_vector("conv3d", "bias", bias_in, w.extent(0));
  const index_t co = w.extent(0), ci = w.extent(1), kh = w.extent(3), kw = w.extent(4);
  if (algorithm == conv3d_algorithm::winograd) {
    SANAWM_EXPECT(kh == 3 && kw == 3, "conv3d", "winograd needs a kt x 3 x 3 kernel, got ", w.extent(2), "x", kh,
                  "x", kw);
    SANAWM_EXPECT(packed == nullptr, "conv3d",
                  "packed weights are the implicit GEMM's operand; winograd takes conv3d_winograd_weights");
  }
  if (y.size() == 0) return;
  const gemm_compute mode =
      compute == gemm_compute::automatic ? cpu::dense::conv_gemm_compute<TIn, TW>() : compute;
  const bool winograd = algorithm == conv3d_algorithm::winograd ||
                        (algorithm == conv3d_algorithm::automatic && packed == nullptr &&
                         cpu::dense::conv3d_winograd_pays(ci, co, kh, kw, x.extent(2) * x.extent(3)));
  if (winograd) {
    thread_local cpu::conv3d_winograd_weights uw;  // refilled per call, its storage reused
    uw.prepare_into(w, mode);
    if (mode == gemm_compute::bf16) cpu::dense::conv3d_winograd<bf16>(x, uw, bias, y, pad, left);
    else cpu::dense::conv3d_winograd<float>(x, uw, bias, y, pad, left);
    return;
  }
  if (packed) {
    const index_t k = w.extent(1) * w.extent(2) * w.extent(3) * w.extent(4);
    SANAWM_EXPECT(packed->n() == w.extent(0) && packed->k() == k, "conv3d", "the packed weights are [", packed->n(),
                  ", ", packed->k(), "] but the conv needs [", w.extent(0), ", ", k, "]");
    SANAWM_EXPECT(packed->compute() == mode, "conv3d", "the packed weights are for another compute mode");
  }
  if (mode == gemm_compute::bf16) cpu::dense::conv3d_gemm<bf16>(x, w, bias, y, pad, left, mode, packed);
  else cpu::dense::conv3d_gemm<TIn>(x, w, bias, y, pad, left, mode, packed);
}

/// conv3d(cpu_t) by Winograd with the weights transformed ahead (cpu::conv3d_winograd_weights::prepare(w,
/// compute)): skips the per-call transform and packing; bit-identical to the call that transforms them. The
/// compute mode is the prepared weights'. x's channels must match them.
template <dense_view<5> X, f32_view<1> B, dense_out_view<5> Y, dense_view<5> L>
void conv3d(cpu_t, const X& x_in, const cpu::conv3d_winograd_weights& uw, const B& bias_in, const Y& y_out,
            conv3d_padding pad, const L& left_in) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: conv3d: the left context has x's element type");
  SANAWM_EXPECT(uw.cout() > 0, "conv3d", "the Winograd weights are empty (not prepared)");
  // The argument checks on a stand-in weight view of the prepared shape (its data is never read).
  const tensor_view<const float, dextents<5>> shape(nullptr, dextents<5>(uw.cout(), uw.cin(), uw.kt(), 3, 3));
  detail::check_conv3d_args("conv3d", x_in, shape, bias_in, y_out, left_in, pad);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const auto left = as_input(left_in);
  const float* bias = detail::optional_vector("conv3d", "bias", bias_in, uw.cout());
  if (y.size() == 0) return;
  if (uw.compute() == gemm_compute::bf16) cpu::dense::conv3d_winograd<bf16>(x, uw, bias, y, pad, left);
  else cpu::dense::conv3d_winograd<float>(x, uw, bias, y, pad, left);
}

/// The weights of conv3d (any layout conv3d takes) packed for its GEMM in compute mode `compute` (fp32 or bf16;
/// automatic resolves as conv3d would for activations of type TIn): pass the result as conv3d's `packed` argument.
/// Costs one more copy of the weights (Cout rounded up to the GEMM's register tile).
template <class TIn = float, dense_view<5> W>
cpu::packed_gemm_b pack_conv3d_weights(const W& w_in, gemm_compute compute = gemm_compute::automatic) {
  using TW = typename W::value_type;
  const auto w = as_input(w_in);
  const index_t co = w.extent(0), ci = w.extent(1), kt = w.extent(2), kh = w.extent(3), kw = w.extent(4);
  const index_t taps = kt * kh * kw, kk = taps * ci;
  const gemm_compute mode =
      compute == gemm_compute::automatic ? cpu::dense::conv_gemm_compute<TIn, TW>() : compute;
  SANAWM_EXPECT(mode == gemm_compute::fp32 || mode == gemm_compute::bf16, "pack_conv3d_weights",
                "compute must be fp32 or bf16");
  host_buffer<TW> b(co * kk);
  cpu::dense::parallel_items(co, kk, [&](index_t b0, index_t e) {
    for (index_t o = b0; o < e; ++o)
      for (index_t k = 0; k < taps; ++k)
        for (index_t i = 0; i < ci; ++i) b[o * kk + k * ci + i] = w(o, i, k / (kh * kw), (k / kw) % kh, k % kw);
  });
  return cpu::pack_gemm_b(b.data(), co, kk, kk, mode);
}
/// conv3d on the CPU without a left context.
template <dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y>
void conv3d(cpu_t, const X& x, const W& w, const B& bias, const Y& y, conv3d_padding pad) {
  conv3d(cpu_t{}, x, w, bias, y, pad, detail::empty_view<typename X::value_type, 5>());
}

/// Depthwise and layout helpers with no separate fast path run their portable bodies on the pool:
/// to_channels_last / to_channels_first (conv.hpp) take cpu_t directly.

}  // namespace sanawm

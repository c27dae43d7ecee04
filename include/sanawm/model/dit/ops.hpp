// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/ops.hpp — the CPU math the DiT forward is built from. The linear layers run the packed GEMM
// (kernels/gemm) and softmax/cross-attention the flash CPU kernel (kernels/attention); the frame-wise scans run
// kernels/gdn (called from dit.hpp). Norms, RoPE tables, UCPE head transforms and the short/depthwise convs are
// still plain loops here (double where a reduction decides parity), to be moved onto kernels/{norms,rope,conv}.
// Host-only because the forward sizes its scratch with std::vector.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/dit/ops.hpp: host-only header (CPU stand-in math of the DiT); include it from host code only"
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"      // cpu::parallel_ranges
#include "sanawm/core/bf16.hpp"                 // bf16
#include "sanawm/kernels/attention/attention_cpu.hpp"  // attention(cpu_t, …): softmax and cross-attention
#include "sanawm/kernels/gemm/gemm_cpu.hpp"        // gemm(cpu_t, …): the linear layers
#include "sanawm/kernels/norms/norms_cpu.hpp"      // rms_norm(cpu_t, …): the q/k/caption RMSNorms
#include "sanawm/kernels/nvfp4/nvfp4_cpu.hpp"      // nvfp4_gemm_w4a16: NVFP4-quantised linear layers
#include "sanawm/kernels/plucker/ucpe.hpp"      // ucpe_raymat, ucpe_matrix, ucpe_apply_head
#include "sanawm/model/dit/inputs.hpp"          // chunk_ends
#include "sanawm/model/dit/weights.hpp"         // linear_w, param

namespace sanawm::dit::ops {

using vecf = std::vector<float>;

inline float silu(float x) noexcept { return x / (1.0f + std::exp(-x)); }
inline float sigmoid(float x) noexcept { return 1.0f / (1.0f + std::exp(-x)); }
inline float gelu_tanh(float x) noexcept {
  const float c = 0.7978845608028654f;  // √(2/π)
  return 0.5f * x * (1.0f + std::tanh(c * (x + 0.044715f * x * x * x)));
}
inline float softplus(float x) noexcept { return x > 20.0f ? x : std::log1p(std::exp(x)); }
inline float round_bf16(float x) noexcept { return sanawm::bf16(x).to_float(); }

/// out[r, o] = act(Σ_i in[r, i]·W[o, i] (+ b[o])) for rows r < rows; in [rows, ld_in] (first W.in columns used),
/// out [rows, ld_out] starting at column col0. With bf16_in, the inputs are rounded to bf16 first (the bf16
/// compute mode: bf16 operands, fp32 accumulation). Runs the packed CPU GEMM (kernels/gemm), whose result does not
/// depend on the thread count; bf16 weights with bf16 inputs take its bf16-dot path.
inline void linear(const linear_w& w, const float* in, index_t rows, float* out, bool bf16_in = false,
                   index_t ld_in = -1, index_t ld_out = -1, index_t col0 = 0,
                   gemm_activation act = gemm_activation::none) {
  const index_t I = w.in, O = w.out;
  if (rows <= 0 || O <= 0) return;
  if (ld_in < 0) ld_in = I;
  if (ld_out < 0) ld_out = O;
  const bool w_bf16 = w.packed ? w.packed->from_bf16() : w.weight.f32.empty() && !w.weight.b16.empty();
  vecf rin, bias;
  const float* src = in;
  index_t lds = ld_in;
  const bool quantised = w.nvfp4 || w.nvfp4_prep;
  if (bf16_in && !w_bf16 && !quantised) {  // fp32 weights: round only the activations, keep exact fp32 products
    rin.resize(static_cast<std::size_t>(rows * I));
    for (index_t r = 0; r < rows; ++r)
      for (index_t i = 0; i < I; ++i) rin[static_cast<std::size_t>(r * I + i)] = round_bf16(in[r * ld_in + i]);
    src = rin.data();
    lds = I;
  }
  const float* bias_ptr = nullptr;
  if (w.has_bias) {
    if (!w.bias.f32.empty()) {
      bias_ptr = w.bias.f32.data();
    } else {
      bias.resize(static_cast<std::size_t>(O));
      for (index_t o = 0; o < O; ++o) bias[static_cast<std::size_t>(o)] = w.bias[o];
      bias_ptr = bias.data();
    }
  }
  if (quantised) {
    // W4A16: NVFP4 weights decoded inside the GEMM, activations rounded to bf16, fp32 accumulation.
    nvfp4_gemm_args<float, float> p;
    p.m = rows;
    p.a = src, p.lda = lds;
    if (w.nvfp4) p.b = w.nvfp4->view();
    p.c = out + col0, p.ldc = ld_out;
    p.epilogue.bias = bias_ptr;
    p.epilogue.activation = act;
    p.compute = gemm_compute::bf16;
    if (w.nvfp4_prep) nvfp4_gemm_w4a16(cpu_t{}, p, *w.nvfp4_prep);  // the panel layout (pack_for_cpu)
    else nvfp4_gemm_w4a16(cpu_t{}, p);
    return;
  }
  auto run = [&](const auto* wp) {
    using TB = std::remove_const_t<std::remove_pointer_t<decltype(wp)>>;
    gemm_args<float, TB, float> p;
    p.m = rows, p.n = O, p.k = I;
    p.a = src, p.lda = lds;
    p.b = wp, p.ldb = I;
    p.c = out + col0, p.ldc = ld_out;
    p.epilogue.bias = bias_ptr;
    p.epilogue.activation = act;
    // bf16 weights × bf16-rounded inputs: exact bf16 products either way, so the bf16-dot kernel is the same math.
    p.compute = bf16_in && w_bf16 ? gemm_compute::bf16 : gemm_compute::fp32;
    if (!w.packed) return gemm(cpu_t{}, p);
    if (w.packed->compute() != p.compute)
      throw make_error("dit", "layer '", w.weight.key, "' was packed for ",
                       w.packed->compute() == gemm_compute::bf16 ? "bf16" : "fp32", " compute (pack_for_cpu) but this ",
                       "forward runs ", p.compute == gemm_compute::bf16 ? "bf16" : "fp32",
                       "; pack with the forward's bf16_activations");
    p.b = nullptr;
    gemm(cpu_t{}, p, *w.packed);
  };
  if (w_bf16) run(static_cast<const bf16*>(w.packed ? nullptr : w.weight.b16.data()));
  else run(static_cast<const float*>(w.packed ? nullptr : w.weight.f32.data()));
}

/// t_conv's weight [C, C, 3, 1] as three [C, C] GEMM operands, tap k at k·C·C: out[o, i] = W[o, i, k].
template <class T>
std::vector<T> t_conv_tap_matrices(const param& t_conv, index_t C) {
  std::vector<T> wt(static_cast<std::size_t>(3 * C * C));  // [k][o][i]
  for (index_t o = 0; o < C; ++o)
    for (index_t i = 0; i < C; ++i)
      for (index_t k = 0; k < 3; ++k) {
        const std::size_t src = static_cast<std::size_t>((o * C + i) * 3 + k);
        T& dst = wt[static_cast<std::size_t>((k * C + o) * C + i)];
        if constexpr (std::is_same_v<T, bf16>) dst = t_conv.b16[src];
        else dst = t_conv[static_cast<index_t>(src)];
      }
  return wt;
}
/// The compute mode of t_conv's GEMMs: the linear layers' rule (bf16 products for bf16 weights in a bf16 forward).
inline gemm_compute t_conv_compute(const param& t_conv, bool bf16_activations) {
  return bf16_activations && t_conv.f32.empty() && !t_conv.b16.empty() ? gemm_compute::bf16 : gemm_compute::fp32;
}

/// RMSNorm over the C channels of each row, in place: x·rsqrt(mean(x²) + eps)·weight (no +1 offset), on the
/// SIMD norm kernel (kernels/norms). With relu_scale > 0 each result then becomes max(x, 0)·relu_scale (the GDN
/// q/k feature map and key scale κ), fused into the same parallel pass while the rows are in L1.
inline void rmsnorm(float* x, index_t rows, index_t C, index_t ld, const param& weight, double eps,
                    float relu_scale = 0.0f) {
  if (rows <= 0) return;
  std::vector<float> w(static_cast<std::size_t>(C));
  for (index_t c = 0; c < C; ++c) w[static_cast<std::size_t>(c)] = weight[c];
  const index_t st[2] = {ld, 1};
  using E = extents<dyn, dyn>;
  cpu::parallel_ranges(rows, [&](index_t rb, index_t re, int) {
    // Nested call: runs on this part's thread (the pool's nested-use guard), one row range per part.
    const auto xv = tensor_view<float, E, layout_stride>(x + rb * ld, layout_stride::mapping<E>(E(re - rb, C), st));
    rms_norm(cpu_t{}, xv, make_view(static_cast<const float*>(w.data()), extents<dyn>(C)), static_cast<float>(eps), xv);
    if (relu_scale > 0.0f)
      for (index_t r = rb; r < re; ++r) {
        float* p = x + r * ld;
        for (index_t c = 0; c < C; ++c) p[c] = std::max(p[c], 0.0f) * relu_scale;
      }
  }, 16);
}

/// Per-token RoPE table of one head: 3-D split (t, h, w) of the head dim, pairs t-first; cos/sin computed in
/// float64 (as upstream builds its complex table) and stored fp32. cs[n·P + p] = {cos, sin}.
struct rope_table {
  index_t pairs = 0;      ///< D/2
  index_t pt = 0, ph = 0; ///< pairs per t / h axis (w = pairs − pt − ph)
  std::vector<float> cos_, sin_;
};
inline rope_table make_rope(index_t D, double theta, index_t f0, index_t T, index_t H, index_t W) {
  const index_t hw = 2 * (D / 6), dt = D - 2 * hw;
  rope_table r;
  r.pairs = D / 2;
  r.pt = dt / 2;
  r.ph = hw / 2;
  const index_t N = T * H * W;
  r.cos_.resize(static_cast<std::size_t>(N * r.pairs));
  r.sin_.resize(r.cos_.size());
  for (index_t t = 0; t < T; ++t)
    for (index_t h = 0; h < H; ++h)
      for (index_t w = 0; w < W; ++w) {
        const index_t n = (t * H + h) * W + w;
        for (index_t p = 0; p < r.pairs; ++p) {
          double pos, dim;
          index_t j;
          if (p < r.pt) pos = double(f0 + t), dim = double(dt), j = p;
          else if (p < r.pt + r.ph) pos = double(h), dim = double(hw), j = p - r.pt;
          else pos = double(w), dim = double(hw), j = p - r.pt - r.ph;
          const double a = pos * (1.0 / std::pow(theta, double(2 * j) / dim));
          r.cos_[static_cast<std::size_t>(n * r.pairs + p)] = static_cast<float>(std::cos(a));
          r.sin_[static_cast<std::size_t>(n * r.pairs + p)] = static_cast<float>(std::sin(a));
        }
      }
  return r;
}

/// Rotates the interleaved pairs (2i, 2i+1) of one head: main branch (all D channels with table pairs 0..D/2)
/// or camera branch (channels [D/2, D) with the first D/2-split pairs of each axis of the main table).
inline void rope_head(const rope_table& r, index_t n, float* head, index_t D, bool camera, bool inverse) {
  const float sgn = inverse ? -1.0f : 1.0f;
  auto rot = [&](index_t ch, index_t p) {
    const float c = r.cos_[static_cast<std::size_t>(n * r.pairs + p)];
    const float s = sgn * r.sin_[static_cast<std::size_t>(n * r.pairs + p)];
    const float a = head[ch], b = head[ch + 1];
    head[ch] = a * c - b * s;
    head[ch + 1] = a * s + b * c;
  };
  if (!camera) {
    for (index_t p = 0; p < D / 2; ++p) rot(2 * p, p);
    return;
  }
  const index_t half = D / 2, hw = 2 * (half / 6), ct = (half - 2 * hw) / 2, ch = hw / 2;
  index_t k = 0;
  for (index_t j = 0; j < ct; ++j, ++k) rot(half + 2 * k, j);
  for (index_t j = 0; j < ch; ++j, ++k) rot(half + 2 * k, r.pt + j);
  for (index_t j = 0; j < ch; ++j, ++k) rot(half + 2 * k, r.pt + r.ph + j);
}

/// UCPE transform of one head (first D/2 channels by M(op, P)) + camera RoPE on the second half.
template <ucpe_op Op>
inline void ucpe_head(const float* P, const rope_table& r, index_t n, float* head, index_t D) {
  float M[16];
  ucpe_matrix<Op>(P, M);
  for (index_t g = 0; g < D / 8; ++g) ucpe_mul4(M, head + 4 * g);
  rope_head(r, n, head, D, true, Op == ucpe_op::output);
}

/// Chunk bookkeeping of a segment of T frames: end (exclusive) of the chunk holding each frame (the short conv's
/// and t_conv's right context stops there).
struct chunking {
  std::vector<index_t> chunk_end;
  static chunking make(index_t T, const std::vector<index_t>& starts) { return {chunk_ends(T, starts)}; }
};

/// GDN short conv (depthwise along time, kernel K, no bias) of x [T, S, C] (one batch):
///   y[t] = Σ_i w[i]·x[t−K+1+i] + Σ_i w[i]·x[t+K−1−i] − w[K−1]·x[t]
/// with frames before the segment read from `left` [K−1, S, C] (oldest first; zeros when absent) and frames at
/// or past the end of t's chunk treated as zero (bidirectional = one chunk).
inline void short_conv(const float* x, index_t T, index_t S, index_t C, index_t ld, const param& w, index_t K,
                       const chunking& ch, const float* left, float* y) {
  // Taps as [K][C] rows so every tap is one contiguous, vectorisable pass over the channels; the sources of a
  // token's taps are resolved once per token, not per channel. Per channel the sum runs in the same order as the
  // formula above (tap by tap, forward then backward term, the doubled centre subtracted last).
  std::vector<float> wt(static_cast<std::size_t>(K * C));
  for (index_t c = 0; c < C; ++c)
    for (index_t k = 0; k < K; ++k) wt[static_cast<std::size_t>(k * C + c)] = w[c * K + k];
  cpu::parallel_ranges(T * S, [&](index_t b, index_t e, int) {
    for (index_t i = b; i < e; ++i) {
      const index_t t = i / S, s = i % S;
      const index_t end = ch.chunk_end[static_cast<std::size_t>(t)];
      float* SANAWM_RESTRICT out = y + i * C;
      std::fill(out, out + C, 0.0f);
      for (index_t k = 0; k < K; ++k) {
        const float* SANAWM_RESTRICT wk = wt.data() + k * C;
        const index_t tf = t - (K - 1) + k, tb = t + (K - 1) - k;
        const float* fwd = tf >= 0 ? x + (tf * S + s) * ld : left ? left + ((tf + K - 1) * S + s) * C : nullptr;
        const float* bwd = tb < end ? x + (tb * S + s) * ld : nullptr;
        if (fwd && bwd) {
          for (index_t c = 0; c < C; ++c) out[c] = (out[c] + wk[c] * fwd[c]) + wk[c] * bwd[c];
        } else if (fwd) {
          for (index_t c = 0; c < C; ++c) out[c] += wk[c] * fwd[c];
        } else if (bwd) {
          for (index_t c = 0; c < C; ++c) out[c] += wk[c] * bwd[c];
        }
      }
      const float* SANAWM_RESTRICT centre = x + (t * S + s) * ld;
      const float* SANAWM_RESTRICT wl = wt.data() + (K - 1) * C;
      for (index_t c = 0; c < C; ++c) out[c] -= wl[c] * centre[c];
    }
  });
}

/// Softmax attention of all H heads of one batch row through kernels/attention (the flash CPU kernel; the
/// composed path for head dims off its menu). q rows [Nq] with stride ldq, k/v rows [Nk] with stride ldkv (head h
/// at column h·D), out [Nq] rows with stride ld_out. `p` carries the scale, the mask and the key-padding bias.
inline void multi_head_attention(const float* q, index_t ldq, index_t Nq, const float* k, const float* v,
                                 index_t ldkv, index_t Nk, index_t H, index_t D, const attention_params& p, float* out,
                                 index_t ld_out) {
  const attention_shape shape{1, Nq, Nk, H, H, D};
  const heads_view<const float> qv{q, 0, ldq, D}, kv{k, 0, ldkv, D}, vv{v, 0, ldkv, D};
  const heads_view<float> ov{out, 0, ld_out, D};
  bool on_menu = false;
  for (index_t d : {SANAWM_ATTENTION_HEAD_DIMS}) on_menu = on_menu || d == D;
  if (on_menu) attention(cpu_t{}, shape, p, qv, kv, vv, ov);
  else attention_composed(cpu_t{}, shape, p, qv, kv, vv, ov);
}

}  // namespace sanawm::dit::ops

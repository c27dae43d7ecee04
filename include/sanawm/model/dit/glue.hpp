// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/glue.hpp — the DiT's glue as portable bodies (one work item each; trivially copyable, pointers into
// backend memory): transposes, gates, the camera β discount, the GDN short conv, the t_conv shifted sum, the output
// gate. The backend engine (engine.hpp) runs all of them through parallel_for(be, …); the CPU forward (dit.hpp) shares
// the ones it has no faster loop for. Portable (g++ and nvcc).
#pragma once

#include <cmath>  // std::exp

#include "sanawm/config.hpp"                          // SANAWM_HD
#include "sanawm/core/int.hpp"                        // index_t
#include "sanawm/kernels/elementwise/elementwise.hpp" // apply_activation
#include "sanawm/kernels/plucker/ucpe.hpp"            // ucpe_matrix, ucpe_mul4

namespace sanawm::dit {


namespace glue {

/// dst [B, K, R] ← src [B, R, K]: channels-first video [B, C, N] → tokens [B, N, C] (R = C, K = N) and back
/// (R = N, K = C). Item = one dst element.
struct batched_transpose_body {
  const float* src;
  float* dst;
  index_t R, K;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t r = i % R, k = (i / R) % K, b = i / (R * K);
    dst[i] = src[(b * R + r) * K + k];
  }
};

/// In-place activation of n contiguous values.
struct activate_body {
  float* x;
  activation a;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const float v = x[i];
    switch (a) {
      case activation::silu: x[i] = apply_activation<activation::silu>(v); break;
      case activation::gelu_tanh: x[i] = apply_activation<activation::gelu_tanh>(v); break;
      case activation::sigmoid: x[i] = apply_activation<activation::sigmoid>(v); break;
      default: break;
    }
  }
};

/// out[r, c] = act(src[r, c]) for r < rows, c < cols, src with row stride lds (out contiguous).
struct activate_copy_body {
  const float* src;
  index_t lds;
  float* out;
  index_t cols;
  activation a;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const float v = src[(i / cols) * lds + i % cols];
    out[i] = a == activation::silu ? apply_activation<activation::silu>(v) : v;
  }
};

/// dst[r, c] = src[r·lds + c] for c < cols (row gathers between strided activations).
struct copy_rows_body {
  const float* src;
  index_t lds;
  float* dst;
  index_t ldd, cols;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t r = i / cols, c = i % cols;
    dst[r * ldd + c] = src[r * lds + c];
  }
};

/// out[r, c] = vec[c] + src[r·lds + c]: adaLN's per-frame terms (scale_shift_table row + t0 slice / t_emb).
struct vector_plus_rows_body {
  const float* vec;
  const float* src;
  index_t lds;
  float* out;
  index_t cols;
  SANAWM_HD void operator()(index_t i) const noexcept { out[i] = vec[i % cols] + src[(i / cols) * lds + i % cols]; }
};


/// x[r·ld + c] = max(x, 0)·s: the GDN feature map (ReLU) and key scale κ after the q/k RMSNorms.
struct relu_scale_body {
  float* x;
  index_t ld, cols;
  float s;
  SANAWM_HD void operator()(index_t i) const noexcept {
    float& v = x[(i / cols) * ld + i % cols];
    v = (v > 0.0f ? v : 0.0f) * s;
  }
};

/// UCPE transform of the first D/2 channels of every head (4-vector groups by M(op, P[n])), in place; x rows of
/// stride ld, H heads of D. Item = one (token, head).
struct ucpe_heads_body {
  float* x;
  index_t ld, H, D;
  const float* raymats;  ///< [N, 16]
  ucpe_op op;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t n = i / H, h = i % H;
    float M[16];
    const float* P = raymats + n * 16;
    if (op == ucpe_op::query) ucpe_matrix<ucpe_op::query>(P, M);
    else if (op == ucpe_op::key_value) ucpe_matrix<ucpe_op::key_value>(P, M);
    else ucpe_matrix<ucpe_op::output>(P, M);
    float* head = x + n * ld + h * D;
    for (index_t g = 0; g < D / 8; ++g) ucpe_mul4(M, head + 4 * g);
  }
};

/// Per-frame token mean of u [T, S, C] in float64: ubar[t, c] (the GDN decay gate's input). Item = (t, c).
struct token_mean_body {
  const float* u;
  float* ubar;
  index_t S, C;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t t = i / C, c = i % C;
    double acc = 0.0;
    for (index_t s = 0; s < S; ++s) acc += u[(t * S + s) * C + c];
    ubar[i] = static_cast<float>(acc / double(S));
  }
};

/// γ[t, h] = exp(−exp(A_log[h])·softplus(g + dt_bias[h])), in place over [T, H].
struct decay_gate_body {
  float* g;
  const float* A_log;
  const float* dt_bias;
  index_t H;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t h = i % H;
    g[i] = std::exp(-std::exp(A_log[h]) * apply_activation<activation::softplus>(g[i] + dt_bias[h]));
  }
};

/// om = (om + cam) ⊙ SiLU(gate): main + camera branch outputs through the output gate.
struct output_gate_body {
  float* om;
  const float* cam;
  const float* gate;
  SANAWM_HD void operator()(index_t i) const noexcept {
    om[i] = (om[i] + cam[i]) * apply_activation<activation::silu>(gate[i]);
  }
};

/// The GDN short conv along frames (depthwise, kernel K, no bias) of x [T, S, C] rows of stride ld:
///   y[t] = Σ_k w[k]·x[t−K+1+k] + Σ_k w[k]·x[t+K−1−k] − w[K−1]·x[t]
/// frames before 0 from `left` [K−1, S, C] (nullptr: zeros), frames at or past the end of t's chunk zero. w as
/// [K][C]. Item = one output element (token, channel).
struct short_conv_body {
  const float* x;
  index_t ld;
  const float* w;
  const float* left;
  const index_t* chunk_end;
  float* y;
  index_t S, C, K;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t c = i % C, n = i / C, t = n / S, s = n % S, end = chunk_end[t];
    float out = 0.0f;
    for (index_t k = 0; k < K; ++k) {
      const float wk = w[k * C + c];
      const index_t tf = t - (K - 1) + k, tb = t + (K - 1) - k;
      const float* fwd = tf >= 0 ? x + (tf * S + s) * ld : left ? left + ((tf + K - 1) * S + s) * C : nullptr;
      const float* bwd = tb < end ? x + (tb * S + s) * ld : nullptr;
      if (fwd && bwd) out = (out + wk * fwd[c]) + wk * bwd[c];
      else if (fwd) out += wk * fwd[c];
      else if (bwd) out += wk * bwd[c];
    }
    y[i] = out - w[(K - 1) * C + c] * x[(t * S + s) * ld + c];
  }
};

/// The short conv's next left context: the last K−1 frames of [left ‖ this segment's T frames], into `out`
/// [K−1, S, C] (must not alias `left`). Item = one out element.
struct roll_left_body {
  const float* left;  ///< [K−1, S, C]
  const float* x;     ///< the segment's raw keys, rows of stride ld
  index_t ld;
  float* out;
  index_t T, S, C, K;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t per = S * C, j = i / per, rest = i % per, g = T + j;
    out[i] = g < K - 1 ? left[g * per + rest] : x[((g - (K - 1)) * S + rest / C) * ld + rest % C];
  }
};

/// GLUMBConvTemp's residual temporal conv from the three tap products z [N, 3C] (tap k in columns [kC, (k+1)C)):
///   out[n] = y[n] + (Z0[n − S] + Z1[n] + Z2[n + S])
/// Z0 of the first frame from zl [S, C] (left context · W0; nullptr: zero), Z2 zero past the chunk's end.
struct tconv_combine_body {
  const float* y;
  const float* z;
  const float* zl;
  const index_t* chunk_end;
  float* out;
  index_t S, C;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t o = i % C, n = i / C, t = n / S, s = n % S;
    const float z1 = z[n * 3 * C + C + o];
    float acc = t > 0 ? z[(n - S) * 3 * C + o] + z1 : zl ? zl[s * C + o] + z1 : z1;
    if (t + 1 < chunk_end[t]) acc += z[(n + S) * 3 * C + 2 * C + o];
    out[i] = y[i] + acc;
  }
};

}  // namespace glue

}  // namespace sanawm::dit

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/linear_attention/linear_attention.hpp — SANA-Video ReLU linear attention, bidirectional or
// frame-causal with an explicit cumulative state: API and the portable bodies both backends run.
#pragma once

#include "sanawm/config.hpp"                       // SANAWM_HD
#include "sanawm/core/error.hpp"                   // SANAWM_EXPECT
#include "sanawm/core/int.hpp"                     // index_t
#include "sanawm/kernels/attention/attention.hpp"  // heads_view, detail::attn_to_f32/attn_from_f32

namespace sanawm {

/// Sizes: q, k (and their rotated copies) [B, N, H, Dk]; v, out [B, N, H, Dv]. Tokens are grouped into frames of
/// `frame_tokens` (the last frame may be shorter); frame_tokens = 0 or >= N is one frame = bidirectional.
struct linear_attention_shape {
  index_t batch = 1, tokens = 0, heads = 1, key_dim = 0, value_dim = 0, frame_tokens = 0;

  SANAWM_HD index_t frame_len() const noexcept { return frame_tokens <= 0 || frame_tokens > tokens ? tokens : frame_tokens; }
  SANAWM_HD index_t frames() const noexcept {
    const index_t f = frame_len();
    return f == 0 ? 0 : (tokens + f - 1) / f;
  }
};

/// eps: upstream SANA / SANA-Video LiteLA uses 1e-15 (num / (den + eps), docs/kernels/attention.md).
/// relu: apply φ = ReLU to q and k inside the kernel (the denominator path, and the numerator when no rotated
/// copies are given); false when the caller already applied it.
struct linear_attention_params {
  float eps = 1e-15f;
  bool relu = true;
};

/// The state after a run: kv [B, H, Dv, Dk] = Σ_j v_j (R φ(k_j))ᵀ and z [B, H, Dk] = Σ_j φ(k_j) over every token
/// so far (fp32). Cumulative, so chunk c's state is the previous state plus its own tokens' sums.
struct linear_attention_state {
  float* kv = nullptr;
  float* z = nullptr;
};
struct linear_attention_const_state {
  const float* kv = nullptr;
  const float* z = nullptr;
};

namespace detail {

SANAWM_HD inline float la_phi(float x, bool relu) noexcept {
  return relu ? (x > 0 ? x : 0.0f) : x;
}

inline void check_linear_attention(const linear_attention_shape& s, const linear_attention_params& p) {
  SANAWM_EXPECT(s.batch >= 0 && s.tokens >= 0 && s.heads > 0 && s.key_dim > 0 && s.value_dim > 0,
                "linear_attention", "bad sizes B=", s.batch, " N=", s.tokens, " H=", s.heads, " Dk=", s.key_dim,
                " Dv=", s.value_dim);
  SANAWM_EXPECT(p.eps >= 0, "linear_attention", "eps ", p.eps, " must be >= 0");
}

}  // namespace detail

/// Pass 1: the running key sum after each frame, zf[b, h, t, :] = z_in + Σ_{frames ≤ t} φ(k), and z_out.
/// Index space B·H·Dk.
template <class T>
struct linear_attention_z_body {
  heads_view<const T> k;
  const float* z_in;
  float* z_out;
  float* zf;
  linear_attention_shape s;
  bool relu;

  SANAWM_HD void operator()(index_t idx) const noexcept {
    const index_t dk = idx % s.key_dim, bh = idx / s.key_dim;
    const index_t b = bh / s.heads, h = bh % s.heads;
    const index_t f = s.frame_len(), nf = s.frames();
    float z = z_in ? z_in[idx] : 0.0f;
    for (index_t t = 0; t < nf; ++t) {
      const index_t e = (t + 1) * f < s.tokens ? (t + 1) * f : s.tokens;
      for (index_t n = t * f; n < e; ++n) z += detail::la_phi(detail::attn_to_f32(k.row(b, n, h)[dk]), relu);
      zf[(bh * nf + t) * s.key_dim + dk] = z;
    }
    z_out[idx] = z;
  }
};

/// Pass 2: one state row (b, h, dv) at a time: after each frame's keys are added to the row, the frame's queries
/// read num = row · R φ(q), den = zf_t · φ(q), out = num / (den + eps). The row lives in kv_out (in place).
/// Index space B·H·Dv.
template <class T, class O>
struct linear_attention_row_body {
  heads_view<const T> q, k, v, q_rot, k_rot;  // q_rot/k_rot.data == nullptr: the numerator uses φ(q), φ(k)
  heads_view<O> out;
  const float* kv_in;
  float* kv_out;
  const float* zf;
  linear_attention_shape s;
  linear_attention_params p;

  SANAWM_HD void operator()(index_t idx) const noexcept {
    const index_t dv = idx % s.value_dim, bh = idx / s.value_dim;
    const index_t b = bh / s.heads, h = bh % s.heads;
    const index_t f = s.frame_len(), nf = s.frames(), Dk = s.key_dim;
    float* row = kv_out + idx * Dk;
    if (kv_in != kv_out)
      for (index_t d = 0; d < Dk; ++d) row[d] = kv_in ? kv_in[idx * Dk + d] : 0.0f;
    const bool rot_k = k_rot.data != nullptr, rot_q = q_rot.data != nullptr;
    for (index_t t = 0; t < nf; ++t) {
      const index_t n0 = t * f, n1 = (t + 1) * f < s.tokens ? (t + 1) * f : s.tokens;
      for (index_t n = n0; n < n1; ++n) {
        const float vv = detail::attn_to_f32(v.row(b, n, h)[dv]);
        const T* kr = rot_k ? k_rot.row(b, n, h) : k.row(b, n, h);
        if (rot_k)
          for (index_t d = 0; d < Dk; ++d) row[d] += vv * detail::attn_to_f32(kr[d]);
        else
          for (index_t d = 0; d < Dk; ++d) row[d] += vv * detail::la_phi(detail::attn_to_f32(kr[d]), p.relu);
      }
      const float* z = zf + (bh * nf + t) * Dk;
      for (index_t n = n0; n < n1; ++n) {
        const T* qn = q.row(b, n, h);
        const T* qr = rot_q ? q_rot.row(b, n, h) : qn;
        float num = 0, den = 0;
        for (index_t d = 0; d < Dk; ++d) {
          const float ph = detail::la_phi(detail::attn_to_f32(qn[d]), p.relu);
          num += row[d] * (rot_q ? detail::attn_to_f32(qr[d]) : ph);
          den += z[d] * ph;
        }
        out.row(b, n, h)[dv] = detail::attn_from_f32<O>(num / (den + p.eps));
      }
    }
  }
};

/// Floats of the per-frame key-sum workspace linear_attention_run needs.
inline index_t linear_attention_workspace(const linear_attention_shape& s) {
  return s.batch * s.heads * s.frames() * s.key_dim;
}

/// ReLU linear attention on any backend with parallel_for:
///   out_n = (KV_{≤t(n)} R φ(q_n)) / (z_{≤t(n)} · φ(q_n) + eps),  KV_{≤t} = KV_in + Σ_{frames ≤ t} v (R φ(k))ᵀ,
///   z_{≤t} = z_in + Σ_{frames ≤ t} φ(k),
/// i.e. bidirectional inside a frame, causal across frames (one frame = plain bidirectional linear attention).
/// RoPE R applies to the numerator only: pass q_rot = R φ(q), k_rot = R φ(k) (or null views for R = I); the
/// denominator always uses the unrotated φ(q), φ(k). state_in may be null (zeros) or alias state_out.
template <class Be, class T, class O>
void linear_attention_run(Be be, const linear_attention_shape& s, const linear_attention_params& p,
                          heads_view<const T> q, heads_view<const T> k, heads_view<const T> v,
                          heads_view<const T> q_rot, heads_view<const T> k_rot, heads_view<O> out,
                          linear_attention_const_state in, linear_attention_state st, float* workspace) {
  detail::check_linear_attention(s, p);
  SANAWM_EXPECT(st.kv && st.z, "linear_attention", "state_out (kv and z) is required");
  if (s.batch == 0) return;
  parallel_for(be, s.batch * s.heads * s.key_dim, linear_attention_z_body<T>{k, in.z, st.z, workspace, s, p.relu});
  parallel_for(be, s.batch * s.heads * s.value_dim,
               linear_attention_row_body<T, O>{q, k, v, q_rot, k_rot, out, in.kv, st.kv, workspace, s, p});
}

}  // namespace sanawm

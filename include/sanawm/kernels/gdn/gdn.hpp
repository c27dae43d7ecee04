// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gdn/gdn.hpp — SANA-WM's frame-wise gated delta rule (GDN): argument types, modes, shape and
// gate validation, and the portable SANAWM_HD pieces shared by the CPU and CUDA implementations.
//
// The math (docs/kernels/gdn.md has the derivation; row-vector convention, state M = [D_k × D_v]):
//   per frame t of one (batch, head), tokens s = 0..S-1, keys already ReLU'd (and scaled, see key_scale):
//     P_t  = Σ_s β_ts k̂ʳ_tsᵀ k̂ʳ_ts      A_t = Σ_s β_ts k̂ʳ_tsᵀ v_ts          (rotated keys: numerator stream)
//     Pz_t = Σ_s β_ts k̂_tsᵀ k̂_ts        b_t = Σ_s β_ts k̂_ts                  (unrotated keys: denominator
//     stream)
//   forward (inclusive)  M^f_t = γ_t (I − P_t) M^f_{t−1} + A_t,    z^f_t = γ_t (I − Pz_t) z^f_{t−1} + b_t
//   reverse (exclusive)  M^r_t = γ_{t+1} (I − P_{t+1}) M^r_{t+1} + A_{t+1},  M^r_{T−1} = 0 (same for z)
//   num_ts = q̂ʳ_ts (M^f_t + M^r_t),  den_ts = q̂_ts · (z^f_t + z^r_t),  out_ts = num_ts / (den_ts + eps)
// k̂ = key_scale · k. Upstream SANA-WM scales keys by 1/√(D·S) ("algebraic key scaling", gdn_key_scale) so
// that λ_max(P_t) stays far below 2 and every transition γ(I − P) is a contraction.
#pragma once

#include <cmath>        // std::sqrt, std::isfinite
#include <span>         // std::span
#include <string_view>  // std::string_view

#include "sanawm/backend/tags.hpp"  // backend
#include "sanawm/config.hpp"        // SANAWM_HD, SANAWM_FORCEINLINE
#include "sanawm/core/error.hpp"    // make_error, SANAWM_EXPECT
#include "sanawm/core/int.hpp"      // index_t, dyn
#include "sanawm/core/layout.hpp"   // layout_stride
#include "sanawm/core/tensor.hpp"   // tensor_view

namespace sanawm {

// ---- views
// -------------------------------------------------------------------------------------------------

/// Per-token vectors of one head group: [B, T, S, H, D] (batch, frame, token within the frame, head,
/// channel), any strides. A row-major [B, T·S, H·D] activation, a slice of a fused qkv buffer or the upstream
/// [B, H, D, T·S] layout can all be described without copying.
using gdn_tokens_view = tensor_view<const float, extents<dyn, dyn, dyn, dyn, dyn>, layout_stride>;
/// Per-token scalars (β): [B, T, S, H], any strides.
using gdn_token_gates_view = tensor_view<const float, extents<dyn, dyn, dyn, dyn>, layout_stride>;
/// Per-frame scalars (γ): [B, T, H], any strides.
using gdn_frame_gates_view = tensor_view<const float, extents<dyn, dyn, dyn>, layout_stride>;
/// Writable per-token vectors [B, T, S, H, D] and scalars [B, T, S, H].
using gdn_tokens_out_view = tensor_view<float, extents<dyn, dyn, dyn, dyn, dyn>, layout_stride>;
using gdn_token_scalars_out_view = tensor_view<float, extents<dyn, dyn, dyn, dyn>, layout_stride>;
/// Recurrent state, row-major: M [B, H, D, D] with M[b][h][i][j], i = key channel, j = value channel (the
/// transpose of upstream's S_kv cache), and z [B, H, D].
using gdn_state_m_view = tensor_view<float, extents<dyn, dyn, dyn, dyn>>;
using gdn_state_z_view = tensor_view<float, extents<dyn, dyn, dyn>>;
using gdn_state_m_cview = tensor_view<const float, extents<dyn, dyn, dyn, dyn>>;
using gdn_state_z_cview = tensor_view<const float, extents<dyn, dyn, dyn>>;

// ---- modes and options
// --------------------------------------------------------------------------------------

/// Which frames each frame's output sees.
enum class gdn_mode {
  causal,         ///< forward scan only: frames 0..t
  bidirectional,  ///< forward (0..t) + reverse (t+1..T−1) scans, summed before the division
  chunk_causal,   ///< forward over all frames + reverse reset at every chunk start (future context inside the
                  ///< chunk)
};

/// Options of gdn_frame / gdn_camera_frame.
struct gdn_options {
  gdn_mode mode = gdn_mode::bidirectional;
  /// Multiplies k and k_rot inside the kernel. 1 when the caller already applied the key scale (upstream
  /// applies 1/√(D·S) before RoPE; RoPE is linear, so scaling before or after rotation is the same).
  float key_scale = 1.0f;
  /// out = num / (den + eps); the SANA-WM blocks use 1e-8. Unused by the camera (numerator-only) branch.
  float eps = 1e-8f;
  /// chunk_causal only: the chunk start frames, increasing, starting at 0, optionally followed by T
  /// (upstream's `chunk_index`, e.g. {0, 2, 5} for chunks [0,2) and [2,5) of T = 5). Ignored by the other
  /// modes.
  std::span<const index_t> chunk_starts = {};
};

/// The main-branch inputs. q/q_rot are the ReLU'd queries without/with RoPE, k/k_rot the ReLU'd keys
/// without/with RoPE; pass the same view twice when there is no RoPE (the kernel then skips the duplicate
/// work). All token views are [B, T, S, H, D]; beta [B, T, S, H]; gamma [B, T, H].
struct gdn_inputs {
  gdn_tokens_view q, q_rot, k, k_rot, v;
  gdn_token_gates_view beta;
  gdn_frame_gates_view gamma;
};

/// The camera-branch inputs (numerator only: transformed q, k, v; the discounted β; γ shared with the main
/// branch).
struct gdn_camera_inputs {
  gdn_tokens_view q, k, v;
  gdn_token_gates_view beta;
  gdn_frame_gates_view gamma;
};

/// Outputs of gdn_frame; empty views are not written. `out` [B, T, S, H, D] = num / (den + eps), `num`
/// [B, T, S, H, D] and `den` [B, T, S, H] expose the two streams before the division (for validation, and for
/// callers that combine several scans).
struct gdn_outputs {
  gdn_tokens_out_view out;
  gdn_tokens_out_view num;
  gdn_token_scalars_out_view den;
};

/// Streaming state: the forward scan starts from `m_in`/`z_in` (zero when empty) and its final state is
/// written to `m_out`/`z_out` (when not empty). In and out may alias (in-place streaming): each head's state
/// is read before it is written. The camera branch uses only m.
struct gdn_state {
  gdn_state_m_cview m_in;
  gdn_state_z_cview z_in;
  gdn_state_m_view m_out;
  gdn_state_z_view z_out;
};

/// SANA-WM's key scale 1/√(D·S) ("algebraic key scaling"): makes ‖K̂_t‖_F² the mean square of the ReLU'd,
/// RMS-normalised key entries, O(1) whatever the head dim and frame size.
inline float gdn_key_scale(index_t head_dim, index_t tokens_per_frame) {
  return static_cast<float>(1.0 /
                            std::sqrt(static_cast<double>(head_dim) * static_cast<double>(tokens_per_frame)));
}

// ---- portable pieces (host and device)
// ----------------------------------------------------------------------

/// One element of a scan step: γ (m − (P m)) + a, the expansion of γ (I − P) M + A.
SANAWM_HD SANAWM_FORCEINLINE float gdn_scan_update(float gamma, float m, float pm, float a) noexcept {
  return gamma * (m - pm) + a;
}

/// The output division. eps keeps an all-zero query (den = 0 exactly after ReLU) at 0 instead of 0/0.
SANAWM_HD SANAWM_FORCEINLINE float gdn_divide(float num, float den, float eps) noexcept {
  return num / (den + eps);
}

/// Per-frame flags of the reverse scan: frame t's reverse state is zero (the reverse recurrence restarts)
/// when t is the last frame overall or the last frame of its chunk. Computed once on the host into a mask.
SANAWM_HD constexpr bool gdn_reverse_restarts(const unsigned char* chunk_last, index_t t) noexcept {
  return chunk_last[t] != 0;
}

/// Dynamic beta discounting of the GDN camera branch: the UCPE transform P⁻¹ is not norm-preserving, so each
/// frame's β is divided by max(1, mean over the frame's tokens of ‖k_post‖² / ‖k_pre‖²). A token whose
/// pre-transform key is exactly zero (all channels ReLU'd away) has a zero post-transform key too (the
/// transform is linear) and contributes an inflation of 0.
SANAWM_HD SANAWM_FORCEINLINE float gdn_inflation(float post_sq, float pre_sq) noexcept {
  return pre_sq > 0.0f ? post_sq / pre_sq : 0.0f;
}

/// The camera branch's dynamic β discount in two passes, so that a GPU spreads each frame's S·D reduction over
/// S threads. Pass 1, one work item = one token and head (b, t, s, h): out = ‖k_post‖² / ‖k_pre‖² (gdn_inflation).
///   k_pre, k_post [B, T, S, H, D]  camera keys before / after the UCPE (+RoPE) transform
struct gdn_camera_inflation_body {
  gdn_tokens_view k_pre, k_post;
  gdn_token_scalars_out_view out;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t H = out.extent(3), S = out.extent(2), T = out.extent(1), D = k_pre.extent(4);
    const index_t h = i % H, s = (i / H) % S, t = (i / (H * S)) % T, b = i / (H * S * T);
    float pre = 0.0f, post = 0.0f;
    for (index_t c = 0; c < D; ++c) {
      const float x = k_pre(b, t, s, h, c), y = k_post(b, t, s, h, c);
      pre += x * x;
      post += y * y;
    }
    out(b, t, s, h) = gdn_inflation(post, pre);
  }
};

/// Pass 2, one work item = one (b, t, h): reads the S inflations pass 1 left in `out` (summed in token order),
/// then out = β / max(1, their mean).
///   beta [B, T, S, H] → out [B, T, S, H]
struct gdn_camera_beta_body {
  gdn_token_gates_view beta;
  gdn_token_scalars_out_view out;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t H = beta.extent(3), T = beta.extent(1), S = beta.extent(2);
    const index_t h = i % H, t = (i / H) % T, b = i / (H * T);
    float sum = 0.0f;
    for (index_t s = 0; s < S; ++s) sum += out(b, t, s, h);
    const float mean = S > 0 ? sum / static_cast<float>(S) : 0.0f;
    const float div = mean > 1.0f ? mean : 1.0f;
    for (index_t s = 0; s < S; ++s) out(b, t, s, h) = beta(b, t, s, h) / div;
  }
};

namespace detail {

/// The op name in every GDN error message.
inline constexpr std::string_view gdn_op = "gdn";

/// Extents of the problem, read from the views and checked for consistency.
struct gdn_dims {
  index_t B = 0, T = 0, S = 0, H = 0, D = 0;
};

template <class View>
void gdn_expect_tokens(std::string_view op, std::string_view name, const View& x, const gdn_dims& d) {
  SANAWM_EXPECT(x.extent(0) == d.B && x.extent(1) == d.T && x.extent(2) == d.S && x.extent(3) == d.H &&
                    x.extent(4) == d.D,
                op, name, " has shape [", x.extent(0), ", ", x.extent(1), ", ", x.extent(2), ", ",
                x.extent(3), ", ", x.extent(4), "], expected [B, T, S, H, D] = [", d.B, ", ", d.T, ", ", d.S,
                ", ", d.H, ", ", d.D, "]");
  SANAWM_EXPECT(x.data() != nullptr || x.size() == 0, op, name, " is a null view of ", x.size(), " elements");
}

template <class View>
void gdn_expect_token_scalars(std::string_view op, std::string_view name, const View& x, const gdn_dims& d) {
  SANAWM_EXPECT(x.extent(0) == d.B && x.extent(1) == d.T && x.extent(2) == d.S && x.extent(3) == d.H, op,
                name, " has shape [", x.extent(0), ", ", x.extent(1), ", ", x.extent(2), ", ", x.extent(3),
                "], expected [B, T, S, H] = [", d.B, ", ", d.T, ", ", d.S, ", ", d.H, "]");
}

inline void gdn_expect_gamma(std::string_view op, const gdn_frame_gates_view& g, const gdn_dims& d) {
  SANAWM_EXPECT(g.extent(0) == d.B && g.extent(1) == d.T && g.extent(2) == d.H, op, "gamma has shape [",
                g.extent(0), ", ", g.extent(1), ", ", g.extent(2), "], expected [B, T, H] = [", d.B, ", ",
                d.T, ", ", d.H, "]");
}

/// Rejects NaN/inf gates with the offending index and value: a NaN gate silently poisons every later frame of
/// the scan, which is much harder to trace back than an error at the call.
inline void gdn_check_gates(std::string_view op, const gdn_token_gates_view& beta,
                            const gdn_frame_gates_view& gamma) {
  for (index_t b = 0; b < beta.extent(0); ++b)
    for (index_t t = 0; t < beta.extent(1); ++t)
      for (index_t s = 0; s < beta.extent(2); ++s)
        for (index_t h = 0; h < beta.extent(3); ++h) {
          const float x = beta(b, t, s, h);
          if (!std::isfinite(x))
            throw make_error(op, "beta[", b, ", ", t, ", ", s, ", ", h, "] = ", x, " is not finite");
        }
  for (index_t b = 0; b < gamma.extent(0); ++b)
    for (index_t t = 0; t < gamma.extent(1); ++t)
      for (index_t h = 0; h < gamma.extent(2); ++h) {
        const float x = gamma(b, t, h);
        if (!std::isfinite(x))
          throw make_error(op, "gamma[", b, ", ", t, ", ", h, "] = ", x, " is not finite");
      }
}

/// Checks the optional streaming state views against [B, H, D, D] / [B, H, D].
template <class M, class Z>
void gdn_expect_state(std::string_view op, std::string_view name, const M& m, const Z& z, const gdn_dims& d,
                      bool with_z) {
  if (!m.empty() || m.data() != nullptr)
    SANAWM_EXPECT(m.extent(0) == d.B && m.extent(1) == d.H && m.extent(2) == d.D && m.extent(3) == d.D, op,
                  name, " state m has shape [", m.extent(0), ", ", m.extent(1), ", ", m.extent(2), ", ",
                  m.extent(3), "], expected [B, H, D, D] = [", d.B, ", ", d.H, ", ", d.D, ", ", d.D, "]");
  if (with_z && (!z.empty() || z.data() != nullptr))
    SANAWM_EXPECT(z.extent(0) == d.B && z.extent(1) == d.H && z.extent(2) == d.D, op, name,
                  " state z has shape [", z.extent(0), ", ", z.extent(1), ", ", z.extent(2),
                  "], expected [B, H, D] = [", d.B, ", ", d.H, ", ", d.D, "]");
  if (with_z)
    SANAWM_EXPECT(m.empty() == z.empty(), op, name, " state: m and z must both be given or both be empty");
}

/// chunk_last[t] = 1 when frame t is the last of its reverse-scan segment: the last frame overall, and with
/// chunk_causal also the frame before every interior chunk start. Validates chunk_starts.
inline void gdn_reverse_segments(std::string_view op, gdn_mode mode, std::span<const index_t> starts,
                                 index_t T, unsigned char* chunk_last) {
  for (index_t t = 0; t < T; ++t) chunk_last[t] = (t == T - 1) ? 1 : 0;
  if (mode != gdn_mode::chunk_causal) return;
  SANAWM_EXPECT(!starts.empty(), op, "chunk_causal mode needs chunk_starts (e.g. {0, 4, 7, ...}), got none");
  SANAWM_EXPECT(starts[0] == 0, op, "chunk_starts must begin with 0, got ", starts[0]);
  for (std::size_t i = 1; i < starts.size(); ++i) {
    const index_t c = starts[i];
    SANAWM_EXPECT(c > starts[i - 1], op, "chunk_starts must increase: chunk_starts[", i, "] = ", c, " after ",
                  starts[i - 1]);
    const bool trailing_end = (i + 1 == starts.size()) && c == T;
    SANAWM_EXPECT(c < T || trailing_end, op, "chunk start ", c, " is outside the ", T, " frames");
    if (c < T) chunk_last[c - 1] = 1;
  }
}

/// Reads and validates the dims of the main-branch inputs and outputs.
/// `host_gates`: the gates live in host memory and are scanned for NaN/inf here (device backends scan them on
/// the device instead).
inline gdn_dims gdn_check_main(std::string_view op, const gdn_inputs& in, const gdn_outputs& out,
                               const gdn_options& opt, const gdn_state& st, bool host_gates = true) {
  gdn_dims d{in.q.extent(0), in.q.extent(1), in.q.extent(2), in.q.extent(3), in.q.extent(4)};
  SANAWM_EXPECT(d.B >= 0 && d.T >= 0 && d.S >= 0 && d.H >= 0 && d.D >= 1, op, "bad q shape [", d.B, ", ", d.T,
                ", ", d.S, ", ", d.H, ", ", d.D, "]");
  gdn_expect_tokens(op, "q", in.q, d);
  gdn_expect_tokens(op, "q_rot", in.q_rot, d);
  gdn_expect_tokens(op, "k", in.k, d);
  gdn_expect_tokens(op, "k_rot", in.k_rot, d);
  gdn_expect_tokens(op, "v", in.v, d);
  gdn_expect_token_scalars(op, "beta", in.beta, d);
  gdn_expect_gamma(op, in.gamma, d);
  if (!out.out.empty()) gdn_expect_tokens(op, "out", out.out, d);
  if (!out.num.empty()) gdn_expect_tokens(op, "num", out.num, d);
  if (!out.den.empty()) gdn_expect_token_scalars(op, "den", out.den, d);
  SANAWM_EXPECT(std::isfinite(opt.key_scale) && opt.key_scale > 0.0f, op,
                "key_scale must be finite and > 0, got ", opt.key_scale);
  SANAWM_EXPECT(std::isfinite(opt.eps) && opt.eps >= 0.0f, op, "eps must be finite and >= 0, got ", opt.eps);
  gdn_expect_state(op, "input", st.m_in, st.z_in, d, true);
  gdn_expect_state(op, "output", st.m_out, st.z_out, d, true);
  if (host_gates) gdn_check_gates(op, in.beta, in.gamma);
  return d;
}

/// Reads and validates the dims of the camera-branch inputs and output.
inline gdn_dims gdn_check_camera(std::string_view op, const gdn_camera_inputs& in,
                                 const gdn_tokens_out_view& out, const gdn_options& opt, const gdn_state& st,
                                 bool check_out = true, bool host_gates = true) {
  gdn_dims d{in.q.extent(0), in.q.extent(1), in.q.extent(2), in.q.extent(3), in.q.extent(4)};
  SANAWM_EXPECT(d.B >= 0 && d.T >= 0 && d.S >= 0 && d.H >= 0 && d.D >= 1, op, "bad q shape [", d.B, ", ", d.T,
                ", ", d.S, ", ", d.H, ", ", d.D, "]");
  gdn_expect_tokens(op, "q", in.q, d);
  gdn_expect_tokens(op, "k", in.k, d);
  gdn_expect_tokens(op, "v", in.v, d);
  gdn_expect_token_scalars(op, "beta", in.beta, d);
  gdn_expect_gamma(op, in.gamma, d);
  if (check_out) gdn_expect_tokens(op, "out", out, d);
  SANAWM_EXPECT(std::isfinite(opt.key_scale) && opt.key_scale > 0.0f, op,
                "key_scale must be finite and > 0, got ", opt.key_scale);
  gdn_expect_state(op, "input", st.m_in, st.z_in, d, false);
  gdn_expect_state(op, "output", st.m_out, st.z_out, d, false);
  if (host_gates) gdn_check_gates(op, in.beta, in.gamma);
  return d;
}

/// True when two views address the same elements in the same order (k_rot passed as k: no RoPE).
template <class A, class B>
bool gdn_same_view(const A& a, const B& b) noexcept {
  if (a.data() != b.data()) return false;
  for (std::size_t d = 0; d < A::rank(); ++d)
    if (a.extent(d) != b.extent(d) || a.stride(d) != b.stride(d)) return false;
  return true;
}

}  // namespace detail

/// The camera branch's dynamic β discount on the backend `tag` (include the backend's parallel header):
/// out[b, t, s, h] = β[b, t, s, h] / max(1, mean over the frame's tokens of ‖k_post‖² / ‖k_pre‖²), per (b, t,
/// h). k_pre/k_post [B, T, S, H, D] (camera keys before and after UCPE), beta/out [B, T, S, H]; `out` must not be
/// `beta` (it holds the per-token inflations between the two passes).
template <backend Tag>
void gdn_camera_beta(Tag tag, gdn_tokens_view k_pre, gdn_tokens_view k_post, gdn_token_gates_view beta,
                     gdn_token_scalars_out_view out) {
  const detail::gdn_dims d{beta.extent(0), beta.extent(1), beta.extent(2), beta.extent(3), k_pre.extent(4)};
  detail::gdn_expect_tokens("gdn_camera_beta", "k_pre", k_pre, d);
  detail::gdn_expect_tokens("gdn_camera_beta", "k_post", k_post, d);
  detail::gdn_expect_token_scalars("gdn_camera_beta", "out", out, d);
  SANAWM_EXPECT(out.size() == 0 || static_cast<const float*>(out.data()) != beta.data(), "gdn_camera_beta",
                "out must not be beta (in place is not supported: out holds the inflations between the passes)");
  parallel_for(tag, d.B * d.T * d.S * d.H, gdn_camera_inflation_body{k_pre, k_post, out});
  parallel_for(tag, d.B * d.T * d.H, gdn_camera_beta_body{beta, out});
}

}  // namespace sanawm

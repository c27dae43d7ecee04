// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gdn/delta_rule.hpp — the token-wise gated delta rule in the form fla and LLMs such as
// Qwen3-Next use: argument types, validation and the portable SANAWM_HD per-token step.
//
// Per sequence and value head, state H [K × V] (fp32), tokens t in order, gates in log space:
//   α_t = exp(g_t)
//   H_t = α_t (I − β_t k_t k_tᵀ) H_{t−1} + β_t k_t v_tᵀ
//   o_t = scale · H_tᵀ q_t                      (the updated state: the token sees its own write)
// computed as  H ← α H;  u = β (v − Hᵀ k);  H ← H + k uᵀ;  o = Hᵀ (scale q).
// Optional in-kernel L2 normalisation of q and k: x / √(Σ x² + 1e-6) (fla's use_qk_l2norm_in_kernel).
// Grouped value heads (GVA): HV = G·H value heads, value head hv reads q/k head hv / G.
// Variable-length batches: B = 1 and cu_seqlens [N + 1] (FlashAttention convention) delimit N packed
// sequences; initial/final states are per sequence.
#pragma once

#include <cmath>             // std::sqrt, std::isfinite, std::exp
#include <initializer_list>  // range-for over the two gate views
#include <optional>          // std::optional
#include <span>              // std::span
#include <string_view>       // std::string_view

#include "sanawm/config.hpp"       // SANAWM_HD, SANAWM_FORCEINLINE
#include "sanawm/core/error.hpp"   // make_error, SANAWM_EXPECT
#include "sanawm/core/int.hpp"     // index_t, dyn
#include "sanawm/core/layout.hpp"  // layout_stride
#include "sanawm/core/tensor.hpp"  // tensor_view

namespace sanawm {

/// [B, T, heads, dim] per-token vectors (q, k: H heads of K; v, o: HV heads of V), any strides.
using delta_rule_tokens_view = tensor_view<const float, extents<dyn, dyn, dyn, dyn>, layout_stride>;
using delta_rule_tokens_out_view = tensor_view<float, extents<dyn, dyn, dyn, dyn>, layout_stride>;
/// [B, T, HV] per-token gates (g = log decay, β), any strides.
using delta_rule_gates_view = tensor_view<const float, extents<dyn, dyn, dyn>, layout_stride>;
/// [N, HV, K, V] recurrent states, row-major (fla's default K-first layout).
using delta_rule_state_view = tensor_view<float, extents<dyn, dyn, dyn, dyn>>;
using delta_rule_state_cview = tensor_view<const float, extents<dyn, dyn, dyn, dyn>>;

/// Inputs of the token-wise gated delta rule.
struct delta_rule_inputs {
  delta_rule_tokens_view q, k;  ///< [B, T, H, K]
  delta_rule_tokens_view v;     ///< [B, T, HV, V]
  delta_rule_gates_view g;      ///< [B, T, HV], natural-log decay (α = e^g; g ≤ 0 for a decay)
  delta_rule_gates_view beta;   ///< [B, T, HV], the delta-rule step (typically σ(·) ∈ (0, 1))
};

/// Options of the token-wise gated delta rule.
struct delta_rule_options {
  /// Output scale; unset means K^(−1/2) (fla's scale=None).
  std::optional<float> scale;
  /// Normalise q and k per head in the kernel: x / √(Σ x² + 1e-6).
  bool qk_l2norm = false;
  /// Packed variable-length batch: B must be 1 and cu_seqlens = [0, T_1, T_1 + T_2, ..., T] (N + 1 entries).
  /// Empty: B sequences of T tokens.
  std::span<const index_t> cu_seqlens = {};
  /// Tokens per chunk of the chunked (WY) form; chunks never straddle sequences. fla uses 16, 32 or 64.
  index_t chunk_size = 64;
};

/// Optional states [N, HV, K, V]: the scan starts from `initial` (zero when empty) and writes the final state
/// to `final_state` (when not empty). They may alias (in-place decoding).
struct delta_rule_state {
  delta_rule_state_cview initial;
  delta_rule_state_view final_state;
};

/// The ε inside fla's in-kernel L2 norm (inside the square root).
inline constexpr float delta_rule_l2norm_eps = 1e-6f;

/// 1 / √(Σ x² + 1e-6), the factor of the in-kernel L2 norm.
SANAWM_HD SANAWM_FORCEINLINE float delta_rule_l2_factor(float sum_sq) noexcept {
#if SANAWM_DEVICE_PASS
  return rsqrtf(sum_sq + delta_rule_l2norm_eps);
#else
  return 1.0f / std::sqrt(sum_sq + delta_rule_l2norm_eps);
#endif
}

/// One token's update of one value column j of the state (the CUDA kernel gives each thread a column; the
/// state column h[i] = H[i][j], i < K). kq/kk are the (normalised) key and the scaled query; returns o_j. u_j
/// = β (v_j − α Σ_i H[i][j] k_i);  H[i][j] = α H[i][j] + k_i u_j;  o_j = Σ_i H[i][j] q_i.
template <class Col>
SANAWM_HD SANAWM_FORCEINLINE float delta_rule_column_step(Col&& h, index_t K, const float* kk,
                                                          const float* kq, float alpha, float beta,
                                                          float v) noexcept {
  float pred = 0.0f;
  for (index_t i = 0; i < K; ++i) pred += h(i) * kk[i];
  const float u = beta * (v - alpha * pred);
  float o = 0.0f;
  for (index_t i = 0; i < K; ++i) {
    const float x = alpha * h(i) + kk[i] * u;
    h(i) = x;
    o += x * kq[i];
  }
  return o;
}

namespace detail {

/// Sizes of a delta-rule call, read from the views and checked.
struct delta_rule_dims {
  index_t B = 0, T = 0, H = 0, K = 0, HV = 0, V = 0, N = 0;
  index_t group = 1;  // HV / H
};

/// Token range [begin, end) of batch row `row` for sequence n.
struct delta_rule_seq {
  index_t row, begin, end;
};

inline delta_rule_seq delta_rule_sequence(const delta_rule_dims& d, std::span<const index_t> cu,
                                          index_t n) noexcept {
  if (cu.empty()) return {n, 0, d.T};
  return {0, cu[static_cast<std::size_t>(n)], cu[static_cast<std::size_t>(n) + 1]};
}

/// `host_gates`: g and β live in host memory and are scanned for NaN/inf here (device backends scan them on
/// the device instead).
inline delta_rule_dims delta_rule_check(std::string_view op, const delta_rule_inputs& in,
                                        const delta_rule_tokens_out_view& o, const delta_rule_options& opt,
                                        const delta_rule_state& st, bool host_gates = true) {
  delta_rule_dims d;
  d.B = in.q.extent(0), d.T = in.q.extent(1), d.H = in.q.extent(2), d.K = in.q.extent(3);
  d.HV = in.v.extent(2), d.V = in.v.extent(3);
  SANAWM_EXPECT(d.K >= 1 && d.V >= 1 && d.H >= 1, op, "need K, V, H >= 1; got K = ", d.K, ", V = ", d.V,
                ", H = ", d.H);
  SANAWM_EXPECT(
      in.k.extent(0) == d.B && in.k.extent(1) == d.T && in.k.extent(2) == d.H && in.k.extent(3) == d.K, op,
      "k has shape [", in.k.extent(0), ", ", in.k.extent(1), ", ", in.k.extent(2), ", ", in.k.extent(3),
      "], expected q's [", d.B, ", ", d.T, ", ", d.H, ", ", d.K, "]");
  SANAWM_EXPECT(in.v.extent(0) == d.B && in.v.extent(1) == d.T, op, "v has shape [", in.v.extent(0), ", ",
                in.v.extent(1), ", ", d.HV, ", ", d.V, "], expected [B, T] = [", d.B, ", ", d.T,
                "] in front");
  SANAWM_EXPECT(d.HV >= d.H && d.HV % d.H == 0, op, "value heads ", d.HV,
                " must be a multiple of the q/k heads ", d.H, " (grouped value heads)");
  d.group = d.HV / d.H;
  for (const auto* gv : {&in.g, &in.beta})
    SANAWM_EXPECT(gv->extent(0) == d.B && gv->extent(1) == d.T && gv->extent(2) == d.HV, op,
                  gv == &in.g ? "g" : "beta", " has shape [", gv->extent(0), ", ", gv->extent(1), ", ",
                  gv->extent(2), "], expected [B, T, HV] = [", d.B, ", ", d.T, ", ", d.HV, "]");
  SANAWM_EXPECT(o.extent(0) == d.B && o.extent(1) == d.T && o.extent(2) == d.HV && o.extent(3) == d.V, op,
                "o has shape [", o.extent(0), ", ", o.extent(1), ", ", o.extent(2), ", ", o.extent(3),
                "], expected [B, T, HV, V] = [", d.B, ", ", d.T, ", ", d.HV, ", ", d.V, "]");
  if (opt.cu_seqlens.empty()) {
    d.N = d.B;
  } else {
    const auto& cu = opt.cu_seqlens;
    SANAWM_EXPECT(d.B == 1, op, "cu_seqlens needs a packed batch of B = 1, got B = ", d.B);
    SANAWM_EXPECT(cu.size() >= 2, op, "cu_seqlens needs at least 2 entries, got ", cu.size());
    SANAWM_EXPECT(cu[0] == 0, op, "cu_seqlens must start at 0, got ", cu[0]);
    SANAWM_EXPECT(cu.back() == d.T, op, "cu_seqlens must end at T = ", d.T, ", got ", cu.back());
    for (std::size_t i = 1; i < cu.size(); ++i)
      SANAWM_EXPECT(cu[i] >= cu[i - 1], op, "cu_seqlens must not decrease: cu_seqlens[", i, "] = ", cu[i],
                    " < ", cu[i - 1]);
    d.N = static_cast<index_t>(cu.size()) - 1;
  }
  if (opt.scale) SANAWM_EXPECT(std::isfinite(*opt.scale), op, "scale must be finite, got ", *opt.scale);
  SANAWM_EXPECT(opt.chunk_size >= 1 && opt.chunk_size <= 256, op, "chunk_size must be in [1, 256], got ",
                opt.chunk_size);
  if (const auto& s0 = st.initial; !s0.empty())
    SANAWM_EXPECT(s0.extent(0) == d.N && s0.extent(1) == d.HV && s0.extent(2) == d.K && s0.extent(3) == d.V,
                  op, "initial state has shape [", s0.extent(0), ", ", s0.extent(1), ", ", s0.extent(2), ", ",
                  s0.extent(3), "], expected [N, HV, K, V] = [", d.N, ", ", d.HV, ", ", d.K, ", ", d.V, "]");
  if (!st.final_state.empty())
    SANAWM_EXPECT(st.final_state.extent(0) == d.N && st.final_state.extent(1) == d.HV &&
                      st.final_state.extent(2) == d.K && st.final_state.extent(3) == d.V,
                  op, "final state has shape [", st.final_state.extent(0), ", ", st.final_state.extent(1),
                  ", ", st.final_state.extent(2), ", ", st.final_state.extent(3),
                  "], expected [N, HV, K, V] = [", d.N, ", ", d.HV, ", ", d.K, ", ", d.V, "]");
  // Non-finite gates poison the state for the rest of the sequence; report the first one instead.
  if (!host_gates) return d;
  for (index_t b = 0; b < d.B; ++b)
    for (index_t t = 0; t < d.T; ++t)
      for (index_t h = 0; h < d.HV; ++h) {
        const float gv = in.g(b, t, h), bv = in.beta(b, t, h);
        if (!std::isfinite(gv)) throw make_error(op, "g[", b, ", ", t, ", ", h, "] = ", gv, " is not finite");
        if (!std::isfinite(bv))
          throw make_error(op, "beta[", b, ", ", t, ", ", h, "] = ", bv, " is not finite");
      }
  return d;
}

inline float delta_rule_scale(const delta_rule_options& opt, index_t K) {
  return opt.scale ? *opt.scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(K)));
}

}  // namespace detail

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gdn/delta_rule_ref.hpp — float64 reference twin of the token-wise gated delta rule: the
// textbook recurrence H_t = α_t (I − β_t k_t k_tᵀ) H_{t−1} + β_t k_t v_tᵀ, o_t = scale · H_tᵀ q_t, one token
// at a time in double.
#pragma once

#include <cmath>   // std::exp, std::sqrt
#include <vector>  // std::vector

#include "sanawm/core/int.hpp"                // index_t
#include "sanawm/core/tensor.hpp"             // tensor_view
#include "sanawm/kernels/gdn/delta_rule.hpp"  // delta_rule_inputs, options, checks

namespace sanawm {

/// float64 token-wise gated delta rule with the contract of delta_rule_recurrent: o [B, T, HV, V] and the
/// optional final state [N, HV, K, V] in double; the initial state is read as float.
inline void delta_rule_ref(const delta_rule_inputs& in, tensor_view<double, extents<dyn, dyn, dyn, dyn>> o,
                           const delta_rule_options& opt = {}, delta_rule_state_cview initial = {},
                           tensor_view<double, extents<dyn, dyn, dyn, dyn>> final_state = {}) {
  const delta_rule_tokens_out_view shape_only(
      nullptr,
      layout_stride::mapping<extents<dyn, dyn, dyn, dyn>>(
          extents<dyn, dyn, dyn, dyn>(o.extent(0), o.extent(1), o.extent(2), o.extent(3)), {0, 0, 0, 0}));
  const detail::delta_rule_dims d =
      detail::delta_rule_check("delta_rule_ref", in, shape_only, opt, delta_rule_state{initial, {}});
  const double scale = detail::delta_rule_scale(opt, d.K);
  const auto K = d.K, V = d.V;
  std::vector<double> H(static_cast<std::size_t>(K * V)), kk(static_cast<std::size_t>(K)),
      qq(static_cast<std::size_t>(K)), kH(static_cast<std::size_t>(V));
  for (index_t n = 0; n < d.N; ++n) {
    const detail::delta_rule_seq sq = detail::delta_rule_sequence(d, opt.cu_seqlens, n);
    for (index_t hv = 0; hv < d.HV; ++hv) {
      const index_t hq = hv / d.group;
      for (index_t i = 0; i < K; ++i)
        for (index_t j = 0; j < V; ++j)
          H[static_cast<std::size_t>(i * V + j)] =
              initial.empty() ? 0.0 : static_cast<double>(initial(n, hv, i, j));
      for (index_t t = sq.begin; t < sq.end; ++t) {
        double nk = 0, nq = 0;
        for (index_t i = 0; i < K; ++i) {
          kk[static_cast<std::size_t>(i)] = in.k(sq.row, t, hq, i);
          qq[static_cast<std::size_t>(i)] = in.q(sq.row, t, hq, i);
          nk += kk[static_cast<std::size_t>(i)] * kk[static_cast<std::size_t>(i)];
          nq += qq[static_cast<std::size_t>(i)] * qq[static_cast<std::size_t>(i)];
        }
        if (opt.qk_l2norm) {
          const double fk = 1.0 / std::sqrt(nk + static_cast<double>(delta_rule_l2norm_eps));
          const double fq = 1.0 / std::sqrt(nq + static_cast<double>(delta_rule_l2norm_eps));
          for (index_t i = 0; i < K; ++i)
            kk[static_cast<std::size_t>(i)] *= fk, qq[static_cast<std::size_t>(i)] *= fq;
        }
        const double alpha = std::exp(static_cast<double>(in.g(sq.row, t, hv)));
        const double beta = in.beta(sq.row, t, hv);
        // kH = kᵀ H (the current prediction, before decay).
        for (index_t j = 0; j < V; ++j) {
          double acc = 0;
          for (index_t i = 0; i < K; ++i)
            acc += kk[static_cast<std::size_t>(i)] * H[static_cast<std::size_t>(i * V + j)];
          kH[static_cast<std::size_t>(j)] = acc;
        }
        // H = α (H − β k (kᵀH)) + β k vᵀ
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) {
            double& hij = H[static_cast<std::size_t>(i * V + j)];
            const double ki = kk[static_cast<std::size_t>(i)];
            hij = alpha * (hij - beta * ki * kH[static_cast<std::size_t>(j)]) +
                  beta * ki * static_cast<double>(in.v(sq.row, t, hv, j));
          }
        for (index_t j = 0; j < V; ++j) {
          double acc = 0;
          for (index_t i = 0; i < K; ++i)
            acc += H[static_cast<std::size_t>(i * V + j)] * qq[static_cast<std::size_t>(i)];
          o(sq.row, t, hv, j) = scale * acc;
        }
      }
      if (!final_state.empty())
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) final_state(n, hv, i, j) = H[static_cast<std::size_t>(i * V + j)];
    }
  }
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/linear_attention/linear_attention_ref.hpp — float64 reference twin of ReLU linear attention
// (frame-causal with cumulative state, numerator-only RoPE), computed the direct O(N²) way per query.
#pragma once

#include <vector>  // std::vector

#include "sanawm/kernels/linear_attention/linear_attention.hpp"  // shapes, params, heads_view

namespace sanawm {

/// out (contiguous [B, N, H, Dv], double) for the same inputs as linear_attention_run; the incoming state (may be
/// null) is float as in the kernels. Each query sums over every key of its own and earlier frames directly:
///   num = KV_in R φ(q) + Σ_j v_j (R φ(k_j) · R φ(q)),  den = z_in · φ(q) + Σ_j φ(k_j) · φ(q).
template <class T>
void linear_attention_ref(const linear_attention_shape& s, const linear_attention_params& p, heads_view<const T> q,
                          heads_view<const T> k, heads_view<const T> v, heads_view<const T> q_rot,
                          heads_view<const T> k_rot, linear_attention_const_state in, double* out) {
  detail::check_linear_attention(s, p);
  const index_t Dk = s.key_dim, Dv = s.value_dim, f = s.frame_len();
  auto phi = [&](double x) { return p.relu ? (x > 0 ? x : 0.0) : x; };
  std::vector<double> pq(static_cast<std::size_t>(Dk)), rq(static_cast<std::size_t>(Dk));
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t h = 0; h < s.heads; ++h)
      for (index_t n = 0; n < s.tokens; ++n) {
        for (index_t d = 0; d < Dk; ++d) {
          pq[d] = phi(static_cast<double>(q.row(b, n, h)[d]));
          rq[d] = q_rot.data ? static_cast<double>(q_rot.row(b, n, h)[d]) : pq[d];
        }
        const index_t end = (n / f + 1) * f < s.tokens ? (n / f + 1) * f : s.tokens;
        double den = 0;
        std::vector<double> num(static_cast<std::size_t>(Dv), 0.0);
        const index_t bh = b * s.heads + h;
        if (in.z)
          for (index_t d = 0; d < Dk; ++d) den += in.z[bh * Dk + d] * pq[d];
        if (in.kv)
          for (index_t e = 0; e < Dv; ++e)
            for (index_t d = 0; d < Dk; ++d) num[e] += in.kv[(bh * Dv + e) * Dk + d] * rq[d];
        for (index_t j = 0; j < end; ++j) {
          double kq = 0, kd = 0;
          for (index_t d = 0; d < Dk; ++d) {
            const double pk = phi(static_cast<double>(k.row(b, j, h)[d]));
            const double rk = k_rot.data ? static_cast<double>(k_rot.row(b, j, h)[d]) : pk;
            kq += rk * rq[d];
            kd += pk * pq[d];
          }
          den += kd;
          for (index_t e = 0; e < Dv; ++e) num[e] += static_cast<double>(v.row(b, j, h)[e]) * kq;
        }
        double* o = out + ((b * s.tokens + n) * s.heads + h) * Dv;
        for (index_t e = 0; e < Dv; ++e) o[e] = num[e] / (den + p.eps);
      }
}

}  // namespace sanawm

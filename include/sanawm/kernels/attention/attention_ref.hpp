// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/attention/attention_ref.hpp — float64 reference twin of softmax attention (tests only: O(N²)
// memory per row, serial, no tiling), same mask and logit semantics as attention.hpp.
#pragma once

#include <cmath>   // std::exp, std::tanh
#include <vector>  // std::vector

#include "sanawm/kernels/attention/attention.hpp"  // heads_view, attention_shape, attention_params

namespace sanawm {

/// out[b, i, h, :] = Σ_j softmax_j(logit) v_j in float64 (inputs read through static_cast<double>, the result
/// stored as double into a contiguous [B, Nq, Hq, D] array). A row with no visible key is zero.
template <class T>
void attention_ref(const attention_shape& s, const attention_params& p, heads_view<const T> q,
                   heads_view<const T> k, heads_view<const T> v, double* out) {
  detail::check_attention(s, p);
  const index_t group = s.q_heads / s.kv_heads, D = s.head_dim;
  std::vector<double> logit(static_cast<std::size_t>(s.kv_tokens));
  std::vector<char> vis(static_cast<std::size_t>(s.kv_tokens));
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t i = 0; i < s.q_tokens; ++i)
      for (index_t h = 0; h < s.q_heads; ++h) {
        const index_t hk = h / group;
        double m = -INFINITY;
        for (index_t j = 0; j < s.kv_tokens; ++j) {
          vis[j] = p.mask.visible(i, j, s.kv_tokens);
          if (!vis[j]) continue;
          double dot = 0;
          for (index_t d = 0; d < D; ++d)
            dot += static_cast<double>(q.row(b, i, h)[d]) * static_cast<double>(k.row(b, j, hk)[d]);
          double x = dot * static_cast<double>(p.scale);
          if (p.softcap > 0) x = p.softcap * std::tanh(x / p.softcap);
          if (p.key_bias) x += static_cast<double>(p.key_bias[b * p.key_bias_batch_stride + j]);
          logit[j] = x;
          if (x > m) m = x;
        }
        double* o = out + ((b * s.q_tokens + i) * s.q_heads + h) * D;
        for (index_t d = 0; d < D; ++d) o[d] = 0;
        if (m == -INFINITY) continue;
        double sum = 0;
        for (index_t j = 0; j < s.kv_tokens; ++j) {
          if (!vis[j]) continue;
          const double e = std::exp(logit[j] - m);
          sum += e;
          for (index_t d = 0; d < D; ++d) o[d] += e * static_cast<double>(v.row(b, j, hk)[d]);
        }
        for (index_t d = 0; d < D; ++d) o[d] /= sum;
      }
}

}  // namespace sanawm

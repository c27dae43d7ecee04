// SPDX-License-Identifier: Apache-2.0
// tests/attention/attention_test_util.hpp — fused-qkv test problems for the attention tests: random q/k/v stored as
// [B, N, 3, H, D] (so the kernels see strided views), float64 reference outputs, error metrics.
#pragma once

#include <cmath>
#include <span>
#include <vector>

#include "sanawm/core/bf16.hpp"
#include "sanawm/kernels/attention/attention.hpp"
#include "sanawm/kernels/attention/attention_ref.hpp"
#include "support/test_util.hpp"

namespace sanawm::test {

/// Self-attention-shaped problem with q, k, v interleaved in one fused buffer (Nq == Nk, Hq == Hkv) or, for
/// cross/GQA shapes, in two buffers: q [B, Nq, Hq, D] and kv [B, Nk, 2, Hkv, D].
template <class T>
struct attn_problem {
  attention_shape s;
  std::vector<T> qbuf, kvbuf;
  std::vector<float> bias;

  attn_problem(attention_shape sh, std::uint64_t seed, double amp = 1.0) : s(sh) {
    const auto nq = static_cast<std::size_t>(s.batch * s.q_tokens * s.q_heads * s.head_dim);
    const auto nkv = static_cast<std::size_t>(s.batch * s.kv_tokens * 2 * s.kv_heads * s.head_dim);
    const auto rq = random_vector<double>(nq, -amp, amp, seed);
    const auto rkv = random_vector<double>(nkv, -amp, amp, seed + 1);
    qbuf.resize(nq);
    kvbuf.resize(nkv);
    for (std::size_t i = 0; i < nq; ++i) qbuf[i] = static_cast<T>(rq[i]);
    for (std::size_t i = 0; i < nkv; ++i) kvbuf[i] = static_cast<T>(rkv[i]);
  }
  heads_view<const T> q() const { return contiguous_heads<const T>(qbuf.data(), s.q_tokens, s.q_heads, s.head_dim); }
  heads_view<const T> k() const {
    const index_t hd = s.kv_heads * s.head_dim;
    return {kvbuf.data(), s.kv_tokens * 2 * hd, 2 * hd, s.head_dim};
  }
  heads_view<const T> v() const {
    const index_t hd = s.kv_heads * s.head_dim;
    return {kvbuf.data() + hd, s.kv_tokens * 2 * hd, 2 * hd, s.head_dim};
  }
  index_t out_size() const { return s.batch * s.q_tokens * s.q_heads * s.head_dim; }
  std::vector<double> ref(const attention_params& p) const {
    std::vector<double> o(static_cast<std::size_t>(out_size()));
    attention_ref<T>(s, p, q(), k(), v(), o.data());
    return o;
  }
};

template <class O>
heads_view<O> out_view(std::vector<O>& o, const attention_shape& s) {
  return contiguous_heads<O>(o.data(), s.q_tokens, s.q_heads, s.head_dim);
}

template <class O>
double rel_err(const std::vector<O>& got, const std::vector<double>& ref) {
  std::vector<double> g(got.size());
  for (std::size_t i = 0; i < got.size(); ++i) g[i] = static_cast<double>(got[i]);
  return rel_rms(std::span<const double>(g), std::span<const double>(ref));
}

template <class O>
std::vector<O> poisoned(index_t n) {
  std::vector<O> o(static_cast<std::size_t>(n));
  for (auto& x : o) x = static_cast<O>(NAN);
  return o;
}

}  // namespace sanawm::test

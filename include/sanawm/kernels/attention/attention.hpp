// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/attention/attention.hpp — softmax attention: operand views, masks (chunk-causal, key ranges for
// KV caches, sliding window, additive key bias), parameters and the portable bodies of the composed path.
#pragma once

#include <cmath>    // std::sqrt
#include <cstdint>  // std::uint32_t
#include <type_traits>  // std::remove_reference_t, std::is_const_v

#include "sanawm/config.hpp"        // SANAWM_HD
#include "sanawm/core/bf16.hpp"     // bf16
#include "sanawm/core/error.hpp"    // make_error, SANAWM_EXPECT
#include "sanawm/core/int.hpp"      // index_t

namespace sanawm {

// ---- operands ---------------------------------------------------------------------------------------------

/// A [B, N, H, D] activation with the head-dim axis contiguous and the other three axes strided, so q, k and v
/// can be views into a fused projection output [B, N, 3, H, D] (token stride 3·H·D, head stride D).
/// element (b, n, h, d) = data[b·batch_stride + n·token_stride + h·head_stride + d].
template <class T>
struct heads_view {
  T* data = nullptr;
  index_t batch_stride = 0, token_stride = 0, head_stride = 0;

  SANAWM_HD T* row(index_t b, index_t n, index_t h) const noexcept {
    return data + b * batch_stride + n * token_stride + h * head_stride;
  }
  /// Converts to a view of const elements.
  template <class U = T>
    requires(!std::is_const_v<U>)
  SANAWM_HD operator heads_view<const U>() const noexcept {
    return {data, batch_stride, token_stride, head_stride};
  }
};

/// A contiguous [B, N, H, D] view (what a reshaped linear-layer output is).
template <class T>
heads_view<T> contiguous_heads(T* data, index_t n, index_t h, index_t d) noexcept {
  return {data, n * h * d, h * d, d};
}

/// A heads_view of any rank-4 strided view (tensor_view<T, extents<...>, layout_stride>) whose last axis is
/// contiguous; throws otherwise.
template <class View>
auto heads_of(const View& v) {
  SANAWM_EXPECT(v.stride(3) == 1, "attention", "the head-dim axis must be contiguous (stride ", v.stride(3), ")");
  using T = std::remove_reference_t<decltype(*v.data())>;
  return heads_view<T>{v.data(), v.stride(0), v.stride(1), v.stride(2)};
}

/// Problem sizes. q [B, Nq, Hq, D]; k, v [B, Nk, Hkv, D]; out [B, Nq, Hq, D]. Grouped-query attention when
/// Hkv < Hq: query head h reads key/value head h / (Hq / Hkv).
struct attention_shape {
  index_t batch = 1, q_tokens = 0, kv_tokens = 0, q_heads = 1, kv_heads = 1, head_dim = 0;
};

// ---- masks ------------------------------------------------------------------------------------------------

/// Structural masks (what is visible at all). A query at index i has position p = i + q_offset in key index
/// space; key j is visible when lo(p) <= j < hi(p) and j lies in one of the key ranges:
/// - none:         lo = 0, hi = Nk (bidirectional).
/// - causal:       hi = p + 1.
/// - chunk_causal: hi = the end of p's chunk (full inside a chunk, causal across chunks). `chunk_ends` are
///                 cumulative token ends in key index space, e.g. latent-frame chunks [4, 3, 3] × S tokens →
///                 {4S, 7S, 10S}; positions at or past the last end see keys up to the last end.
/// - window > 0 (any kind): lo = p − window + 1 (Gemma-2's sliding window; with causal: the last `window`
///                 keys up to and including p).
/// - key ranges (any kind; empty = all keys): the streaming KV-cache form, e.g. sink chunk + cached window +
///                 current chunk as index ranges into one cache buffer (see kv_cache_ranges).
/// A query that sees no key at all gets a zero output (an empty softmax), never NaN.
enum class mask_kind : int { none = 0, causal = 1, chunk_causal = 2 };

/// Half-open key index range [begin, end).
struct key_range {
  index_t begin = 0, end = 0;
};

struct attention_mask {
  static constexpr int max_chunks = 128;
  static constexpr int max_ranges = 4;

  mask_kind kind = mask_kind::none;
  index_t q_offset = 0;
  index_t window = 0;  ///< 0 = no sliding window
  int num_chunks = 0;
  int num_ranges = 0;  ///< 0 = every key
  index_t chunk_ends[max_chunks] = {};
  key_range ranges[max_ranges] = {};

  /// Chunk-causal mask from chunk sizes in tokens (e.g. {4·S, 3·S, 3·S}).
  template <class Range>
  static attention_mask chunk_causal(const Range& chunk_tokens) {
    attention_mask m;
    m.kind = mask_kind::chunk_causal;
    index_t end = 0;
    for (index_t c : chunk_tokens) {
      SANAWM_EXPECT(m.num_chunks < max_chunks, "attention", "more than ", max_chunks, " chunks");
      SANAWM_EXPECT(c > 0, "attention", "chunk size ", c, " must be positive");
      end += c;
      m.chunk_ends[m.num_chunks++] = end;
    }
    return m;
  }

  /// [lo, hi) of the keys query i may see before the key ranges apply.
  SANAWM_HD void query_bounds(index_t i, index_t nk, index_t& lo, index_t& hi) const noexcept {
    const index_t p = i + q_offset;
    lo = 0;
    hi = nk;
    if (kind == mask_kind::causal) {
      hi = p + 1;
    } else if (kind == mask_kind::chunk_causal && num_chunks > 0) {
      // Binary search for the first chunk end past p.
      int a = 0, b = num_chunks - 1;
      while (a < b) {
        const int m = (a + b) / 2;
        if (chunk_ends[m] > p) b = m;
        else a = m + 1;
      }
      hi = chunk_ends[a];
    }
    if (window > 0 && p - window + 1 > lo) lo = p - window + 1;
    if (hi > nk) hi = nk;
    if (lo < 0) lo = 0;
  }
  /// Whether key j passes the range list.
  SANAWM_HD bool key_in_ranges(index_t j) const noexcept {
    if (num_ranges == 0) return true;
    for (int r = 0; r < num_ranges; ++r)
      if (j >= ranges[r].begin && j < ranges[r].end) return true;
    return false;
  }
  /// Whether query i sees key j (structurally; the additive bias is separate).
  SANAWM_HD bool visible(index_t i, index_t j, index_t nk) const noexcept {
    index_t lo, hi;
    query_bounds(i, nk, lo, hi);
    return j >= lo && j < hi && key_in_ranges(j);
  }
  /// True when the mask never hides anything (the kernels then skip the per-element test).
  SANAWM_HD bool trivial() const noexcept { return kind == mask_kind::none && window == 0 && num_ranges == 0; }
};

/// The streaming KV-cache key set of upstream's `_accumulate_softmax_kv_cache` for chunk c, as ranges into a
/// cache that holds every chunk's keys in order (chunk_ends as in attention_mask::chunk_causal). Without a sink
/// the chunk sees chunks [max(c − cached, 0), c) and itself; with a sink, once the window has slid past chunk 0,
/// it sees chunk 0 + chunks [c − cached + 1, c) + itself. The returned mask has kind none, so all queries of
/// chunk c (q_offset irrelevant) see exactly that set.
inline attention_mask kv_cache_mask(const attention_mask& chunks, int c, int num_cached_blocks, bool sink) {
  SANAWM_EXPECT(c >= 0 && c < chunks.num_chunks, "attention", "chunk ", c, " out of range [0, ", chunks.num_chunks,
                ")");
  SANAWM_EXPECT(num_cached_blocks >= 1, "attention", "num_cached_blocks ", num_cached_blocks, " must be >= 1");
  auto begin_of = [&](int i) { return i == 0 ? index_t{0} : chunks.chunk_ends[i - 1]; };
  attention_mask m;
  int first = c - num_cached_blocks;
  if (first < 0) first = 0;
  if (sink && first > 0) {
    // Sink chunk 0, then one fewer cached chunk so the cache size stays constant.
    m.ranges[m.num_ranges++] = {0, chunks.chunk_ends[0]};
    first = c - num_cached_blocks + 1;
    if (first < 1) first = 1;
  }
  m.ranges[m.num_ranges++] = {begin_of(first), chunks.chunk_ends[c]};
  return m;
}

// ---- parameters -------------------------------------------------------------------------------------------

/// Softmax attention parameters:
///   logit(i, j) = softcap_fn(scale · q_i·k_j) + key_bias[b, j]   for visible j (else excluded)
///   out_i = Σ_j softmax_j(logit(i, ·)) v_j
/// softcap_fn(x) = softcap · tanh(x / softcap) when softcap > 0 (Gemma-2), else x. `scale` is explicit: SANA-WM's
/// main branch uses 1/√112, the camera branch (heads zero-padded to 128 upstream) 1/√128, cross-attention 1/√112.
/// key_bias (optional, fp32 [B, Nk] with batch stride key_bias_batch_stride) is upstream's additive text mask:
/// 0 for valid keys, −10000 for padded ones, so a row whose keys are all padded is not NaN: every logit moves by
/// the same −10000 and the row equals the unmasked attention (up to the fp32 rounding of logit − 10000).
struct attention_params {
  float scale = 0;
  float softcap = 0;
  attention_mask mask{};
  const float* key_bias = nullptr;
  index_t key_bias_batch_stride = 0;
};

/// Upstream's additive text-mask value for padded keys.
inline constexpr float key_padding_bias = -10000.0f;

/// Head dims compiled into the fast kernels (dispatch_int menu).
#define SANAWM_ATTENTION_HEAD_DIMS 32, 64, 96, 112, 128, 256

namespace detail {

inline void check_attention(const attention_shape& s, const attention_params& p) {
  SANAWM_EXPECT(s.batch >= 0 && s.q_tokens >= 0 && s.kv_tokens >= 0, "attention", "negative size");
  SANAWM_EXPECT(s.q_heads > 0 && s.kv_heads > 0 && s.q_heads % s.kv_heads == 0, "attention", "kv heads ", s.kv_heads,
                " must divide query heads ", s.q_heads);
  SANAWM_EXPECT(s.head_dim > 0, "attention", "head dim ", s.head_dim, " must be positive");
  SANAWM_EXPECT(p.scale > 0 && std::isfinite(p.scale), "attention", "scale ", p.scale, " must be positive");
  SANAWM_EXPECT(p.softcap >= 0, "attention", "softcap ", p.softcap, " must be >= 0");
  SANAWM_EXPECT(p.mask.window >= 0, "attention", "window ", p.mask.window, " must be >= 0");
  SANAWM_EXPECT(p.mask.num_ranges >= 0 && p.mask.num_ranges <= attention_mask::max_ranges, "attention",
                "num_ranges ", p.mask.num_ranges);
  SANAWM_EXPECT(p.mask.num_chunks >= 0 && p.mask.num_chunks <= attention_mask::max_chunks, "attention",
                "num_chunks ", p.mask.num_chunks);
}

template <class T>
SANAWM_HD float attn_to_f32(T x) noexcept {
  return static_cast<float>(x);
}
template <class T>
SANAWM_HD T attn_from_f32(float x) noexcept {
  return static_cast<T>(x);
}

/// The logit transform shared by every path (the mask test is separate).
SANAWM_HD inline float attention_logit(float dot, const attention_params& p, index_t b, index_t j) noexcept {
  float s = dot * p.scale;
  if (p.softcap > 0) s = p.softcap * tanhf(s / p.softcap);
  if (p.key_bias) s += p.key_bias[b * p.key_bias_batch_stride + j];
  return s;
}

}  // namespace detail

// ---- composed path: scores → softmax → weighted sum, as three portable bodies -----------------------------
// The check path for the flash kernels (and a fallback for head dims off the menu): a query chunk of rows
// [q0, q0 + rows) for every (b, h) at a time, the logits in a [B, Hq, rows, Nk] fp32 workspace.

/// logits[b, h, r, j] = logit(q0 + r, j) or −inf when masked. Index space: B·Hq·rows·Nk.
template <class T>
struct attention_scores_body {
  heads_view<const T> q, k;
  float* scores;
  attention_shape s;
  attention_params p;
  index_t q0, rows;

  SANAWM_HD void operator()(index_t idx) const noexcept {
    const index_t j = idx % s.kv_tokens;
    index_t t = idx / s.kv_tokens;
    const index_t r = t % rows;
    t /= rows;
    const index_t h = t % s.q_heads, b = t / s.q_heads;
    const index_t i = q0 + r;
    float out = -INFINITY;
    if (p.mask.visible(i, j, s.kv_tokens)) {
      const T* qi = q.row(b, i, h);
      const T* kj = k.row(b, j, h / (s.q_heads / s.kv_heads));
      float acc = 0;
      for (index_t d = 0; d < s.head_dim; ++d) acc += detail::attn_to_f32(qi[d]) * detail::attn_to_f32(kj[d]);
      out = detail::attention_logit(acc, p, b, j);
    }
    scores[idx] = out;
  }
};

/// Row softmax in place over Nk; an all-masked row becomes all zeros. Index space: B·Hq·rows.
struct attention_softmax_body {
  float* scores;
  index_t n;

  SANAWM_HD void operator()(index_t row) const noexcept {
    float* x = scores + row * n;
    float m = -INFINITY;
    for (index_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
    if (m == -INFINITY) {
      for (index_t j = 0; j < n; ++j) x[j] = 0;
      return;
    }
    float sum = 0;
    for (index_t j = 0; j < n; ++j) {
      x[j] = expf(x[j] - m);
      sum += x[j];
    }
    const float inv = 1.0f / sum;
    for (index_t j = 0; j < n; ++j) x[j] *= inv;
  }
};

/// out[b, q0 + r, h, d] = Σ_j probs[b, h, r, j] v[b, j, h_kv, d]. Index space: B·Hq·rows·D.
template <class T, class O>
struct attention_values_body {
  heads_view<const T> v;
  heads_view<O> out;
  const float* probs;
  attention_shape s;
  index_t q0, rows;

  SANAWM_HD void operator()(index_t idx) const noexcept {
    const index_t d = idx % s.head_dim;
    index_t t = idx / s.head_dim;
    const index_t r = t % rows;
    t /= rows;
    const index_t h = t % s.q_heads, b = t / s.q_heads;
    const float* pr = probs + ((b * s.q_heads + h) * rows + r) * s.kv_tokens;
    const index_t hk = h / (s.q_heads / s.kv_heads);
    float acc = 0;
    for (index_t j = 0; j < s.kv_tokens; ++j)
      if (pr[j] != 0) acc += pr[j] * detail::attn_to_f32(v.row(b, j, hk)[d]);
    out.row(b, q0 + r, h)[d] = detail::attn_from_f32<O>(acc);
  }
};

/// out = 0 (queries with no keys at all). Index space: B·Nq·Hq·D.
template <class O>
struct attention_zero_body {
  heads_view<O> out;
  attention_shape s;

  SANAWM_HD void operator()(index_t idx) const noexcept {
    const index_t d = idx % s.head_dim;
    index_t t = idx / s.head_dim;
    const index_t h = t % s.q_heads;
    t /= s.q_heads;
    out.row(t / s.q_tokens, t % s.q_tokens, h)[d] = detail::attn_from_f32<O>(0.0f);
  }
};

/// Query rows per chunk of the composed path so that the logits workspace stays under `max_floats`.
inline index_t composed_chunk_rows(const attention_shape& s, index_t max_floats = index_t{1} << 26) {
  const index_t per_row = s.batch * s.q_heads * (s.kv_tokens > 0 ? s.kv_tokens : 1);
  index_t rows = max_floats / (per_row > 0 ? per_row : 1);
  if (rows < 1) rows = 1;
  return rows < s.q_tokens ? rows : s.q_tokens;
}

/// Runs the composed path on any backend with parallel_for (the CPU one here, the CUDA one in
/// attention_cuda.cuh); `workspace` holds composed_chunk_rows(s)·B·Hq·Nk floats on that backend.
template <class Be, class T, class O>
void attention_composed(Be be, const attention_shape& s, const attention_params& p, heads_view<const T> q,
                        heads_view<const T> k, heads_view<const T> v, heads_view<O> out, float* workspace,
                        index_t chunk_rows) {
  detail::check_attention(s, p);
  if (s.batch == 0 || s.q_tokens == 0) return;
  if (s.kv_tokens == 0) {
    // No keys: every output is zero (an empty softmax).
    parallel_for(be, s.batch * s.q_tokens * s.q_heads * s.head_dim, attention_zero_body<O>{out, s});
    return;
  }
  for (index_t q0 = 0; q0 < s.q_tokens; q0 += chunk_rows) {
    const index_t rows = chunk_rows < s.q_tokens - q0 ? chunk_rows : s.q_tokens - q0;
    parallel_for(be, s.batch * s.q_heads * rows * s.kv_tokens,
                 attention_scores_body<T>{q, k, workspace, s, p, q0, rows});
    parallel_for(be, s.batch * s.q_heads * rows, attention_softmax_body{workspace, s.kv_tokens});
    parallel_for(be, s.batch * s.q_heads * rows * s.head_dim,
                 attention_values_body<T, O>{v, out, workspace, s, q0, rows});
  }
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/attention/attention_cpu.hpp — flash-style softmax attention on the CPU: keys packed transposed
// once per call, then per (batch, head, query tile) an online softmax over key tiles with SIMD micro-kernels for
// Q·Kᵀ and P·V; fp32 or bf16 inputs, fp32 accumulation, never an N×N matrix.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/attention/attention_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <algorithm>    // std::min, std::max
#include <cmath>        // std::exp, std::tanh
#include <cstdint>      // std::uint16_t
#include <type_traits>  // std::is_same_v, std::remove_const_t
#include <vector>       // std::vector

#include "sanawm/backend/cpu/parallel.hpp"         // cpu::parallel_ranges, parallel_for(cpu_t)
#include "sanawm/backend/cpu/simd.hpp"             // vec, exp, native_isa
#include "sanawm/backend/tags.hpp"                 // cpu_t
#include "sanawm/core/bf16.hpp"                    // bf16
#include "sanawm/core/buffer.hpp"                  // host_buffer
#include "sanawm/core/dispatch.hpp"                // dispatch_int
#include "sanawm/kernels/attention/attention.hpp"  // heads_view, attention_shape, attention_params

namespace sanawm {

namespace cpu::attn {

/// Rows of a query tile: a multiple of both micro-kernels' row blocks (6 for Q·Kᵀ, 3 for P·V).
inline constexpr int query_tile = 48;

template <class Isa>
using V = vec<float, Isa>;

/// Keys per key tile: four vectors, the width of the Q·Kᵀ micro-kernel (64 on AVX-512).
template <class Isa>
inline constexpr int key_tile = 4 * V<Isa>::width;

template <class Isa, class T>
SANAWM_FORCEINLINE V<Isa> load_row(const T* p) noexcept {
  if constexpr (std::is_same_v<T, bf16>) return V<Isa>::load_bf16(reinterpret_cast<const std::uint16_t*>(p));
  else return V<Isa>::load(p);
}

template <class Isa, class O>
SANAWM_FORCEINLINE void store_row(O* p, V<Isa> x) noexcept {
  if constexpr (std::is_same_v<O, bf16>) x.store_bf16(reinterpret_cast<std::uint16_t*>(p));
  else x.store(p);
}

/// s[r][0..KT) = Σ_d qs[r][d] · kt[d][0..KT) for R rows: R×4 accumulators, keys along the lanes.
template <class Isa, int R, int D>
SANAWM_FORCEINLINE void qk_block(const float* qs, const float* kt, float* s) noexcept {
  using Vf = V<Isa>;
  constexpr int W = Vf::width, KT = key_tile<Isa>;
  Vf acc[R][4];
  SANAWM_UNROLL
  for (int r = 0; r < R; ++r)
    SANAWM_UNROLL
    for (int c = 0; c < 4; ++c) acc[r][c] = Vf::zero();
  for (int d = 0; d < D; ++d) {
    const float* kd = kt + d * KT;
    const Vf k0 = Vf::load(kd), k1 = Vf::load(kd + W), k2 = Vf::load(kd + 2 * W), k3 = Vf::load(kd + 3 * W);
    SANAWM_UNROLL
    for (int r = 0; r < R; ++r) {
      const Vf qb = Vf::broadcast(qs[r * D + d]);
      acc[r][0] = fma(qb, k0, acc[r][0]);
      acc[r][1] = fma(qb, k1, acc[r][1]);
      acc[r][2] = fma(qb, k2, acc[r][2]);
      acc[r][3] = fma(qb, k3, acc[r][3]);
    }
  }
  SANAWM_UNROLL
  for (int r = 0; r < R; ++r)
    SANAWM_UNROLL
    for (int c = 0; c < 4; ++c) acc[r][c].store(s + r * KT + c * W);
}

/// o[r][c0·W .. (c0 + C)·W) = alpha[r] · o[r][...] + Σ_{j < jn} p[r][j] · v_j[...] for R rows: the value rows are
/// read straight from the (strided, fp32 or bf16) input, one vector load per column block shared by R rows.
template <class Isa, int R, int C, int D, class T>
SANAWM_FORCEINLINE void pv_block(const float* p, const float* alpha, const T* v, index_t v_stride, int jn, float* o,
                                 int c0) noexcept {
  using Vf = V<Isa>;
  constexpr int W = Vf::width, KT = key_tile<Isa>;
  Vf acc[R][C];
  SANAWM_UNROLL
  for (int r = 0; r < R; ++r) {
    const Vf a = Vf::broadcast(alpha[r]);
    SANAWM_UNROLL
    for (int c = 0; c < C; ++c) acc[r][c] = Vf::load(o + r * D + (c0 + c) * W) * a;
  }
  for (int j = 0; j < jn; ++j) {
    const T* vj = v + j * v_stride + c0 * W;
    Vf pb[R];
    SANAWM_UNROLL
    for (int r = 0; r < R; ++r) pb[r] = Vf::broadcast(p[r * KT + j]);
    SANAWM_UNROLL
    for (int c = 0; c < C; ++c) {
      const Vf x = load_row<Isa>(vj + c * W);
      SANAWM_UNROLL
      for (int r = 0; r < R; ++r) acc[r][c] = fma(pb[r], x, acc[r][c]);
    }
  }
  SANAWM_UNROLL
  for (int r = 0; r < R; ++r)
    SANAWM_UNROLL
    for (int c = 0; c < C; ++c) acc[r][c].store(o + r * D + (c0 + c) * W);
}

/// Every column block of D for R rows, in groups of at most 8 vectors (R·8 + R + 1 registers stay below 32).
template <class Isa, int R, int D, int C0 = 0, class T>
SANAWM_FORCEINLINE void pv_rows(const float* p, const float* alpha, const T* v, index_t v_stride, int jn,
                                float* o) noexcept {
  constexpr int NV = D / V<Isa>::width;
  if constexpr (C0 < NV) {
    constexpr int C = NV - C0 < 8 ? NV - C0 : 8;
    pv_block<Isa, R, C, D>(p, alpha, v, v_stride, jn, o, C0);
    pv_rows<Isa, R, D, C0 + C>(p, alpha, v, v_stride, jn, o);
  }
}

/// The keys of one (b, kv head) packed transposed in key tiles: kt[tile][d][KT], zero past Nk.
template <class Isa, int D, class T>
void pack_keys(const T* k, index_t token_stride, index_t nk, index_t tile, float* kt) noexcept {
  constexpr int KT = key_tile<Isa>;
  const index_t j0 = tile * KT;
  const int jn = static_cast<int>(std::min<index_t>(KT, nk - j0));
  for (int j = 0; j < jn; ++j) {
    const T* kj = k + (j0 + j) * token_stride;
    for (int d = 0; d < D; ++d) kt[d * KT + j] = static_cast<float>(kj[d]);
  }
  for (int j = jn; j < KT; ++j)
    for (int d = 0; d < D; ++d) kt[d * KT + j] = 0.0f;
}

/// The values of one (b, kv head) key tile as contiguous fp32 rows vp[j][D], zero past Nk: P·V then streams one
/// contiguous block (no strided rows, one TLB page per few keys, no bf16 widening in the hot loop).
template <class Isa, int D, class T>
void pack_values(const T* v, index_t token_stride, index_t nk, index_t tile, float* vp) noexcept {
  constexpr int KT = key_tile<Isa>;
  const index_t j0 = tile * KT;
  const int jn = static_cast<int>(std::min<index_t>(KT, nk - j0));
  for (int j = 0; j < jn; ++j) {
    const T* vj = v + (j0 + j) * token_stride;
    for (int d = 0; d < D; d += V<Isa>::width) load_row<Isa>(vj + d).store(vp + j * D + d);
  }
  for (int j = jn; j < KT; ++j)
    for (int d = 0; d < D; ++d) vp[j * D + d] = 0.0f;
}

/// Per-thread scratch of one query tile.
template <class Isa, int D>
struct tile_scratch {
  static constexpr int MQ = query_tile, KT = key_tile<Isa>;
  std::vector<float> qs = std::vector<float>(MQ * D), s = std::vector<float>(MQ * KT),
                     o = std::vector<float>(MQ * D);
  float m[MQ], l[MQ], alpha[MQ];
  index_t lo[MQ], hi[MQ];
};

/// One (b, h, query tile): online softmax over the key tiles that any of its rows can see.
template <class Isa, int D, class T, class O>
void query_tile_run(const attention_shape& sh, const attention_params& p, heads_view<const T> q, heads_view<O> out,
                    const float* kt_head, const float* vp_head, index_t b, index_t h, index_t i0,
                    tile_scratch<Isa, D>& sc) {
  using Vf = V<Isa>;
  constexpr int W = Vf::width, KT = key_tile<Isa>, MQ = query_tile;
  const int rows = static_cast<int>(std::min<index_t>(MQ, sh.q_tokens - i0));
  const index_t nk = sh.kv_tokens;
  const attention_mask& mask = p.mask;
  const bool trivial = mask.trivial();
  const bool logit_fixup = p.softcap > 0 || p.key_bias != nullptr;
  const float qscale = p.softcap > 0 ? 1.0f : p.scale;  // fold the scale into q unless softcap needs it raw

  // Q tile to fp32 (scaled), accumulators cleared, per-row key bounds.
  index_t lo_all = nk, hi_all = 0;
  for (int r = 0; r < rows; ++r) {
    const T* qi = q.row(b, i0 + r, h);
    for (int c = 0; c < D; c += W) (load_row<Isa>(qi + c) * Vf::broadcast(qscale)).store(sc.qs.data() + r * D + c);
    for (int c = 0; c < D; c += W) Vf::zero().store(sc.o.data() + r * D + c);
    sc.m[r] = -INFINITY;
    sc.l[r] = 0;
    mask.query_bounds(i0 + r, nk, sc.lo[r], sc.hi[r]);
    lo_all = std::min(lo_all, sc.lo[r]);
    hi_all = std::max(hi_all, sc.hi[r]);
  }
  for (int r = rows; r < MQ; ++r) sc.m[r] = -INFINITY, sc.l[r] = 0, sc.alpha[r] = 1;

  const index_t t_lo = lo_all / KT, t_hi = hi_all > lo_all ? (hi_all + KT - 1) / KT : t_lo;
  for (index_t t = t_lo; t < t_hi; ++t) {
    const index_t j0 = t * KT;
    const int jn = static_cast<int>(std::min<index_t>(KT, nk - j0));
    // Classify the tile: skipped (no row sees any key), mask-free, or needing the per-element test.
    bool any = false, full = jn == KT;
    bool range_any = mask.num_ranges == 0, range_full = mask.num_ranges == 0;
    for (int rr = 0; rr < mask.num_ranges; ++rr) {
      const key_range kr = mask.ranges[rr];
      range_any = range_any || (kr.begin < j0 + jn && kr.end > j0);
      range_full = range_full || (kr.begin <= j0 && kr.end >= j0 + jn);
    }
    if (!range_any) continue;
    for (int r = 0; r < rows; ++r) {
      any = any || (sc.lo[r] < j0 + jn && sc.hi[r] > j0);
      full = full && sc.lo[r] <= j0 && sc.hi[r] >= j0 + jn;
    }
    if (!any) continue;
    full = full && range_full;

    const float* kt = kt_head + t * (index_t{D} * KT);
    int r = 0;
    for (; r + 6 <= rows; r += 6) qk_block<Isa, 6, D>(sc.qs.data() + r * D, kt, sc.s.data() + r * KT);
    switch (rows - r) {
      case 5: qk_block<Isa, 5, D>(sc.qs.data() + r * D, kt, sc.s.data() + r * KT); break;
      case 4: qk_block<Isa, 4, D>(sc.qs.data() + r * D, kt, sc.s.data() + r * KT); break;
      case 3: qk_block<Isa, 3, D>(sc.qs.data() + r * D, kt, sc.s.data() + r * KT); break;
      case 2: qk_block<Isa, 2, D>(sc.qs.data() + r * D, kt, sc.s.data() + r * KT); break;
      case 1: qk_block<Isa, 1, D>(sc.qs.data() + r * D, kt, sc.s.data() + r * KT); break;
      default: break;
    }

    if (!full || logit_fixup) {
      for (int rr = 0; rr < rows; ++rr) {
        float* srow = sc.s.data() + rr * KT;
        for (int c = 0; c < KT; ++c) {
          const index_t j = j0 + c;
          const bool vis = c < jn && (full || (j >= sc.lo[rr] && j < sc.hi[rr] && (trivial || mask.key_in_ranges(j))));
          float x = srow[c];
          if (p.softcap > 0) x = p.softcap * std::tanh(x * p.scale / p.softcap);  // q was left unscaled
          if (p.key_bias && vis) x += p.key_bias[b * p.key_bias_batch_stride + j];
          srow[c] = vis ? x : -INFINITY;
        }
      }
    }
    // Online softmax: new running max, rescale factor, exponentials in place, running sum.
    for (int rr = 0; rr < rows; ++rr) {
      float* srow = sc.s.data() + rr * KT;
      const Vf x0 = Vf::load(srow), x1 = Vf::load(srow + W), x2 = Vf::load(srow + 2 * W), x3 = Vf::load(srow + 3 * W);
      const float mx = reduce_max(max(max(x0, x1), max(x2, x3)));
      const float m_new = std::max(sc.m[rr], mx);
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;
      sc.alpha[rr] = std::exp(sc.m[rr] - m_use);
      const Vf mu = Vf::broadcast(m_use);
      const Vf e0 = exp(x0 - mu), e1 = exp(x1 - mu), e2 = exp(x2 - mu), e3 = exp(x3 - mu);
      e0.store(srow);
      e1.store(srow + W);
      e2.store(srow + 2 * W);
      e3.store(srow + 3 * W);
      sc.l[rr] = sc.l[rr] * sc.alpha[rr] + reduce_add((e0 + e1) + (e2 + e3));
      sc.m[rr] = m_new;
    }
    const float* vt = vp_head + j0 * D;
    r = 0;
    for (; r + 3 <= rows; r += 3)
      pv_rows<Isa, 3, D>(sc.s.data() + r * KT, sc.alpha + r, vt, index_t{D}, jn, sc.o.data() + r * D);
    if (rows - r == 2) pv_rows<Isa, 2, D>(sc.s.data() + r * KT, sc.alpha + r, vt, index_t{D}, jn, sc.o.data() + r * D);
    if (rows - r == 1) pv_rows<Isa, 1, D>(sc.s.data() + r * KT, sc.alpha + r, vt, index_t{D}, jn, sc.o.data() + r * D);
  }

  for (int r = 0; r < rows; ++r) {
    const Vf inv = Vf::broadcast(sc.l[r] > 0 ? 1.0f / sc.l[r] : 0.0f);
    O* orow = out.row(b, i0 + r, h);
    for (int c = 0; c < D; c += W) store_row<Isa>(orow + c, Vf::load(sc.o.data() + r * D + c) * inv);
  }
}

template <class Isa, int D, class T, class O>
void run(const attention_shape& sh, const attention_params& p, heads_view<const T> q, heads_view<const T> k,
         heads_view<const T> v, heads_view<O> out) {
  constexpr int KT = key_tile<Isa>, MQ = query_tile;
  static_assert(D % V<Isa>::width == 0, "sanawm: attention head dims must be multiples of the SIMD width");
  const index_t ntiles = (sh.kv_tokens + KT - 1) / KT;
  const index_t head_floats = ntiles * D * KT;
  host_buffer<float> kt(sh.batch * sh.kv_heads * head_floats), vp(sh.batch * sh.kv_heads * head_floats);
  float* ktp = kt.data();
  float* vpp = vp.data();
  // Pack every key head once, transposed (Q·Kᵀ then puts keys along the lanes), and the values as fp32 rows.
  cpu::parallel_ranges(sh.batch * sh.kv_heads * ntiles, [&](index_t a, index_t e, int) {
    for (index_t w = a; w < e; ++w) {
      const index_t t = w % ntiles, bh = w / ntiles;
      const index_t b = bh / sh.kv_heads, hk = bh % sh.kv_heads;
      pack_keys<Isa, D>(k.row(b, 0, hk), k.token_stride, sh.kv_tokens, t, ktp + bh * head_floats + t * D * KT);
      pack_values<Isa, D>(v.row(b, 0, hk), v.token_stride, sh.kv_tokens, t, vpp + bh * head_floats + t * D * KT);
    }
  });
  const index_t nqt = (sh.q_tokens + MQ - 1) / MQ;
  cpu::parallel_ranges(sh.batch * sh.q_heads * nqt, [&](index_t a, index_t e, int) {
    tile_scratch<Isa, D> sc;
    for (index_t w = a; w < e; ++w) {
      const index_t qt = w % nqt, bh = w / nqt;
      const index_t b = bh / sh.q_heads, h = bh % sh.q_heads;
      const index_t off = (b * sh.kv_heads + h / (sh.q_heads / sh.kv_heads)) * head_floats;
      query_tile_run<Isa, D>(sh, p, q, out, ktp + off, vpp + off, b, h, qt * MQ, sc);
    }
  });
}

}  // namespace cpu::attn

/// Softmax attention on the CPU thread pool (flash-style, see docs/kernels/attention.md). q [B, Nq, Hq, D],
/// k/v [B, Nk, Hkv, D], out [B, Nq, Hq, D] as heads_view (strided tokens/heads, contiguous head dim); T is float
/// or bf16 (accumulation is fp32 either way), O float or bf16. Head dims: SANAWM_ATTENTION_HEAD_DIMS (others
/// throw; attention_composed handles any D). Isa selects the SIMD variant (tests run each).
template <class Isa = cpu::native_isa, class Tq, class O>
void attention(cpu_t, const attention_shape& s, const attention_params& p, heads_view<Tq> q, heads_view<Tq> k,
               heads_view<Tq> v, heads_view<O> out) {
  using T = std::remove_const_t<Tq>;
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, bf16>, "sanawm: attention inputs are float or bf16");
  detail::check_attention(s, p);
  if (s.batch == 0 || s.q_tokens == 0) return;
  const heads_view<const T> qc = q, kc = k, vc = v;
  dispatch_int<SANAWM_ATTENTION_HEAD_DIMS>(s.head_dim, "attention", "head dim", [&](auto D) {
    cpu::attn::run<Isa, static_cast<int>(D())>(s, p, qc, kc, vc, out);
  });
}

/// The composed path (scores → softmax → values, three parallel_for bodies) on the CPU, for checking the flash
/// kernel and for head dims off the menu.
template <class Tq, class O>
void attention_composed(cpu_t be, const attention_shape& s, const attention_params& p, heads_view<Tq> q,
                        heads_view<Tq> k, heads_view<Tq> v, heads_view<O> out) {
  using T = std::remove_const_t<Tq>;
  const index_t rows = composed_chunk_rows(s);
  host_buffer<float> ws(rows * s.batch * s.q_heads * std::max<index_t>(s.kv_tokens, 1));
  attention_composed<cpu_t, T, O>(be, s, p, q, k, v, out, ws.data(), rows);
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gdn/gdn_cpu.hpp — frame-wise GDN on the CPU: phase A (per-frame P, A, Pz, b as
// register-blocked SIMD GEMMs over the frame's tokens), phase B (serial scans of D×D·D×D products, forward
// and reverse), phase C (output GEMM q̂ʳ·M and the division). fp32 throughout, like upstream's fp32_attention
// path.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/gdn/gdn_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <algorithm>    // std::min, std::max, std::fill
#include <cstring>      // std::memcpy
#include <type_traits>  // std::integral_constant
#include <utility>      // std::swap
#include <vector>       // std::vector

#include "sanawm/backend/cpu/parallel.hpp"  // parallel_ranges, global_pool
#include "sanawm/backend/cpu/simd.hpp"      // vec, native_isa
#include "sanawm/backend/tags.hpp"          // cpu_t
#include "sanawm/config.hpp"                // SANAWM_FORCEINLINE, SANAWM_UNROLL, SANAWM_RESTRICT
#include "sanawm/core/buffer.hpp"           // host_buffer
#include "sanawm/core/int.hpp"              // index_t
#include "sanawm/kernels/gdn/gdn.hpp"       // API types, checks

namespace sanawm {

namespace detail::gdn_cpu {

/// Register tile of the micro-kernel per ISA: MR rows × NR vectors of accumulators, NR up to nr_max, sized so
/// that the accumulators, the NR b-vectors and one broadcast all fit in registers (MR·NR + NR + 1 ≤
/// registers). AVX-512: 6 × 4 = 24 accumulators + 4 + 1 of 32 zmm (4 × 7 would need 36, and GCC then folds
/// every b load into the FMAs, loading each b vector MR times: measured 64% of peak vs 73% for 6 × 4 on Zen
/// 4). AVX2: 4 × 3 + 3 + 1 = 16 ymm.
template <class Isa>
struct tile_shape {
  static constexpr int mr = Isa::lanes == 16 ? 6 : 4;
  static constexpr int nr_max = Isa::lanes == 16 ? 4 : (Isa::lanes == 8 ? 3 : 2);
};

/// c[r][n] = Σ_k a[r·ars + k·aks] · b[k·ldb + n·W .. +W) for r < MR, n < NR, then ep(r, n, c[r][n]).
/// The a side is broadcast one scalar at a time (any strides, so both "Aᵀ·B" in phase A and "A·B" in phases
/// B/C use it); the b side is NR full vectors per k (rows padded to whole vectors by the callers).
template <class Isa, int MR, int NR, class Ep>
SANAWM_FORCEINLINE void gemm_tile(const float* SANAWM_RESTRICT a, index_t ars, index_t aks,
                                  const float* SANAWM_RESTRICT b, index_t ldb, index_t kn, Ep&& ep) {
  using V = cpu::vec<float, Isa>;
  V acc[MR][NR];
  SANAWM_UNROLL for (int r = 0; r < MR; ++r) SANAWM_UNROLL for (int n = 0; n < NR; ++n) acc[r][n] = V::zero();
  for (index_t k = 0; k < kn; ++k) {
    const float* bk = b + k * ldb;
    V bv[NR];
    SANAWM_UNROLL for (int n = 0; n < NR; ++n) bv[n] = V::load(bk + n * V::width);
    const float* ak = a + k * aks;
    SANAWM_UNROLL for (int r = 0; r < MR; ++r) {
      const V ar = V::broadcast(ak[r * ars]);
      SANAWM_UNROLL for (int n = 0; n < NR; ++n) acc[r][n] = fma(ar, bv[n], acc[r][n]);
    }
  }
  SANAWM_UNROLL for (int r = 0; r < MR; ++r) SANAWM_UNROLL for (int n = 0; n < NR; ++n) ep(r, n, acc[r][n]);
}

/// Calls f(std::integral_constant<int, N>{}) for N = n in [1, Max] (the remainder tile widths and heights).
template <int Max, class F>
SANAWM_FORCEINLINE void with_count(int n, F&& f) {
  if constexpr (Max >= 1) {
    if (n == Max) return f(std::integral_constant<int, Max>{});
    if constexpr (Max > 1) with_count<Max - 1>(n, f);
  }
}

/// A row block [i0, i0 + MR) × all nvec column vectors: column chunks of nr_max vectors plus one remainder
/// chunk. make_ep(j0) returns the epilogue of the chunk that starts at column j0.
template <class Isa, int MR, class MakeEp>
SANAWM_FORCEINLINE void gemm_rows(const float* a, index_t ars, index_t aks, const float* b, index_t ldb,
                                  index_t kn, int nvec_begin, int nvec_end, MakeEp&& make_ep) {
  constexpr int W = Isa::lanes, NRM = tile_shape<Isa>::nr_max;
  int n0 = nvec_begin;
  for (; n0 + NRM <= nvec_end; n0 += NRM)
    gemm_tile<Isa, MR, NRM>(a, ars, aks, b + n0 * W, ldb, kn, make_ep(static_cast<index_t>(n0) * W));
  if (n0 < nvec_end)
    with_count<NRM>(nvec_end - n0, [&](auto nr) {
      gemm_tile<Isa, MR, decltype(nr)::value>(a, ars, aks, b + n0 * W, ldb, kn,
                                              make_ep(static_cast<index_t>(n0) * W));
    });
}

/// Padded geometry of one head: D×D matrices are stored dm rows × dn columns (ld = dn), dn a whole number of
/// vectors and dm a whole number of MR row blocks, with zeros in the padding (the padding then stays zero
/// through every phase: zero rows and columns of P, A and M map to zero).
struct geometry {
  index_t D = 0, S = 0, T = 0;
  index_t dn = 0, dm = 0;   // padded columns / rows
  index_t dd = 0;           // dm · dn
  int nvec = 0;             // dn / W
  bool has_den = false;     // main branch (num and den) or camera branch (num only)
  bool distinct_z = false;  // Pz differs from P (rotated keys differ from plain keys)
  index_t kc = 0;           // tokens per phase-A packing chunk

  // Per-head workspace layout, in floats.
  index_t off_p = 0, off_a = 0, off_pz = 0, off_bz = 0, off_hm = 0, off_hz = 0, off_mbuf = 0, off_zbuf = 0;
  index_t per_head = 0;

  template <class Isa>
  static geometry make(index_t D, index_t S, index_t T, bool has_den, bool distinct_z) {
    constexpr int W = Isa::lanes, MR = tile_shape<Isa>::mr;
    geometry g;
    g.D = D, g.S = S, g.T = T;
    g.dn = (D + W - 1) / W * W;
    g.dm = (D + MR - 1) / MR * MR;
    g.dd = g.dm * g.dn;
    g.nvec = static_cast<int>(g.dn / W);
    g.has_den = has_den;
    g.distinct_z = has_den && distinct_z;
    // 64 tokens of packed keys and values (≈ 5 · 64 · 112 · 4 B = 143 KB at D = 112) stay in L2 while every
    // row block of P, A and Pz sweeps them (32 to 256 measured within noise of each other on Zen 4).
    g.kc = 64;
    index_t o = 0;
    g.off_p = o, o += T * g.dd;
    g.off_a = o, o += T * g.dd;
    if (g.distinct_z) g.off_pz = o, o += T * g.dd;
    if (has_den) g.off_bz = o, o += T * g.dn;
    g.off_hm = o, o += T * g.dd;
    if (has_den) g.off_hz = o, o += T * g.dn;
    g.off_mbuf = o, o += 2 * g.dd;
    if (has_den) g.off_zbuf = o, o += 2 * g.dn;
    g.per_head = o;
    return g;
  }
  float* p(float* w, index_t t) const { return w + off_p + t * dd; }
  float* a(float* w, index_t t) const { return w + off_a + t * dd; }
  float* pz(float* w, index_t t) const { return distinct_z ? w + off_pz + t * dd : p(w, t); }
  float* bz(float* w, index_t t) const { return w + off_bz + t * dn; }
  float* hm(float* w, index_t t) const { return w + off_hm + t * dd; }
  float* hz(float* w, index_t t) const { return w + off_hz + t * dn; }
  float* mbuf(float* w, int i) const { return w + off_mbuf + i * dd; }
  float* zbuf(float* w, int i) const { return w + off_zbuf + i * dn; }
};

/// Everything the three phases read, in one place.
struct problem {
  index_t B = 0, H = 0;
  const gdn_tokens_view* q_num;  // numerator queries (rotated)
  const gdn_tokens_view* q_den;  // denominator queries (unrotated); null for the camera branch
  const gdn_tokens_view* k_num;  // numerator keys (rotated)
  const gdn_tokens_view* k_den;  // denominator keys (unrotated)
  const gdn_tokens_view* v;
  const gdn_token_gates_view* beta;
  const gdn_frame_gates_view* gamma;
  float key_scale = 1.0f;
  float eps = 0.0f;
  gdn_mode mode = gdn_mode::bidirectional;
  const unsigned char* seg_last = nullptr;  // reverse-scan restarts (see gdn_reverse_segments)
  gdn_tokens_out_view out, num;
  gdn_token_scalars_out_view den;
  gdn_state state;
};

// Packs β·c·x[b, t, s0 .. s0+kn, h, :] into rows of `ldl` floats (zero padded) and, when r is not null, c·x
// into rows of `ld`; `bsum` (when not null) accumulates Σ_s β·c·x (the b_t vector of the denominator stream).
inline void pack_keys(const gdn_tokens_view& x, const gdn_token_gates_view& beta, index_t b, index_t t,
                      index_t h, index_t s0, index_t kn, index_t D, float c, float* r, index_t ld, float* lb,
                      index_t ldl, float* bsum) {
  const index_t sd = x.stride(4);
  for (index_t s = 0; s < kn; ++s) {
    const float* src = &x(b, t, s0 + s, h, 0);
    const float bc = beta(b, t, s0 + s, h) * c;
    float* ll = lb + s * ldl;
    if (sd == 1) {
      for (index_t i = 0; i < D; ++i) ll[i] = bc * src[i];
    } else {
      for (index_t i = 0; i < D; ++i) ll[i] = bc * src[i * sd];
    }
    for (index_t i = D; i < ldl; ++i) ll[i] = 0.0f;
    if (bsum)
      for (index_t i = 0; i < D; ++i) bsum[i] += ll[i];
    if (r) {
      float* rr = r + s * ld;
      if (sd == 1) {
        for (index_t i = 0; i < D; ++i) rr[i] = c * src[i];
      } else {
        for (index_t i = 0; i < D; ++i) rr[i] = c * src[i * sd];
      }
      for (index_t i = D; i < ld; ++i) rr[i] = 0.0f;
    }
  }
}

/// True when rows of x can serve as the b operand of the micro-kernel without packing: unit channel stride,
/// whole vectors per row (no padding to supply), and no scale to apply.
template <class Isa>
bool direct_operand(const gdn_tokens_view& x, index_t D, float c) {
  return x.stride(4) == 1 && D % Isa::lanes == 0 && c == 1.0f;
}

inline void pack_values(const gdn_tokens_view& x, index_t b, index_t t, index_t h, index_t s0, index_t kn,
                        index_t D, float* r, index_t ld) {
  const index_t sd = x.stride(4);
  for (index_t s = 0; s < kn; ++s) {
    const float* src = &x(b, t, s0 + s, h, 0);
    float* rr = r + s * ld;
    if (sd == 1) {
      std::memcpy(rr, src, static_cast<std::size_t>(D) * sizeof(float));
    } else {
      for (index_t i = 0; i < D; ++i) rr[i] = src[i * sd];
    }
    for (index_t i = D; i < ld; ++i) rr[i] = 0.0f;
  }
}

/// C[i0.., j0..] += tile (phase A accumulates over token chunks).
template <class Isa>
struct ep_accumulate {
  float* c;
  index_t ld;
  SANAWM_FORCEINLINE void operator()(int r, int n, cpu::vec<float, Isa> acc) const {
    using V = cpu::vec<float, Isa>;
    float* p = c + r * ld + n * V::width;
    (V::load(p) + acc).store(p);
  }
};

/// Fills the part of a symmetric matrix that phase A skipped: row i, columns left of the vector that holds
/// the first row of i's row block, copied from the transposed (computed) position.
template <class Isa>
void mirror_lower(const geometry& g, float* P) {
  constexpr int MR = tile_shape<Isa>::mr, W = Isa::lanes;
  for (index_t i = 0; i < g.dm; ++i) {
    const index_t computed_from = (i / MR * MR) / W * W;
    for (index_t j = 0; j < computed_from; ++j) P[i * g.dn + j] = P[j * g.dn + i];
  }
}

/// Phase A for one (b, h, t): P = Lᵀ R, A = Lᵀ V (L = β c k̂ʳ, R = c k̂ʳ), and for the denominator stream
/// Pz = Lzᵀ Rz, b = Σ Lz rows. `scratch` holds the packed token chunk.
template <class Isa>
void phase_a(const problem& pr, const geometry& g, index_t b, index_t h, index_t t, float* w,
             float* scratch) {
  constexpr int MR = tile_shape<Isa>::mr, W = Isa::lanes;
  float* P = g.p(w, t);
  float* A = g.a(w, t);
  std::fill(P, P + g.dd, 0.0f);
  std::fill(A, A + g.dd, 0.0f);
  float* Pz = g.distinct_z ? g.pz(w, t) : nullptr;
  if (Pz) std::fill(Pz, Pz + g.dd, 0.0f);
  float* bz = g.has_den ? g.bz(w, t) : nullptr;
  if (bz) std::fill(bz, bz + g.dn, 0.0f);

  const index_t kc = g.kc;
  float* Lr = scratch;
  float* Rr = Lr + kc * g.dm;
  float* Rv = Rr + kc * g.dn;
  float* Lz = Rv + kc * g.dn;
  float* Rz = Lz + kc * g.dm;
  const float c = pr.key_scale;
  // Pre-scaled keys (upstream applies 1/√(D·S) before RoPE) and values with unit channel stride are read in
  // place; only the β-weighted side is packed then.
  const bool kr_direct = direct_operand<Isa>(*pr.k_num, g.D, c);
  const bool kz_direct = direct_operand<Isa>(*pr.k_den, g.D, c);
  const bool v_direct = direct_operand<Isa>(*pr.v, g.D, 1.0f);
  for (index_t s0 = 0; s0 < g.S; s0 += kc) {
    const index_t kn = std::min(kc, g.S - s0);
    // Without RoPE (k_den is k_num) b = Σ β c k comes from the same packed rows.
    pack_keys(*pr.k_num, *pr.beta, b, t, h, s0, kn, g.D, c, kr_direct ? nullptr : Rr, g.dn, Lr, g.dm,
              (g.has_den && !g.distinct_z) ? bz : nullptr);
    if (!v_direct) pack_values(*pr.v, b, t, h, s0, kn, g.D, Rv, g.dn);
    if (g.distinct_z)
      pack_keys(*pr.k_den, *pr.beta, b, t, h, s0, kn, g.D, c, kz_direct ? nullptr : Rz, g.dn, Lz, g.dm, bz);
    const float* Br = kr_direct ? &(*pr.k_num)(b, t, s0, h, 0) : Rr;
    const index_t ldr = kr_direct ? pr.k_num->stride(2) : g.dn;
    const float* Bv = v_direct ? &(*pr.v)(b, t, s0, h, 0) : Rv;
    const index_t ldv = v_direct ? pr.v->stride(2) : g.dn;
    const float* Bz = kz_direct ? &(*pr.k_den)(b, t, s0, h, 0) : Rz;
    const index_t ldz = kz_direct ? pr.k_den->stride(2) : g.dn;
    for (index_t i0 = 0; i0 < g.dm; i0 += MR) {
      // P and Pz are symmetric: each row block computes only the column vectors from its diagonal on (the
      // rest is mirrored below), which saves about 40% of their FMAs, as a BLAS syrk would.
      const int diag = static_cast<int>(i0 / W);
      gemm_rows<Isa, MR>(Lr + i0, 1, g.dm, Br, ldr, kn, diag, g.nvec, [&](index_t j0) {
        return ep_accumulate<Isa>{P + i0 * g.dn + j0, g.dn};
      });
      gemm_rows<Isa, MR>(Lr + i0, 1, g.dm, Bv, ldv, kn, 0, g.nvec, [&](index_t j0) {
        return ep_accumulate<Isa>{A + i0 * g.dn + j0, g.dn};
      });
      if (g.distinct_z)
        gemm_rows<Isa, MR>(Lz + i0, 1, g.dm, Bz, ldz, kn, diag, g.nvec, [&](index_t j0) {
          return ep_accumulate<Isa>{Pz + i0 * g.dn + j0, g.dn};
        });
    }
  }
  mirror_lower<Isa>(g, P);
  if (Pz) mirror_lower<Isa>(g, Pz);
}

/// Scan-step epilogue: next = γ (prev − P·prev) + A; hist = next or hist += next.
template <class Isa>
struct ep_scan {
  const float* prev;
  const float* a;
  float* next;
  float* hist;  // null: not recorded separately
  bool accumulate;
  float gamma;
  index_t ld;
  SANAWM_FORCEINLINE void operator()(int r, int n, cpu::vec<float, Isa> pm) const {
    using V = cpu::vec<float, Isa>;
    const index_t o = r * ld + n * V::width;
    const V nx = fma(V::broadcast(gamma), V::load(prev + o) - pm, V::load(a + o));
    nx.store(next + o);
    if (hist) (accumulate ? V::load(hist + o) + nx : nx).store(hist + o);
  }
};

/// One step of the matrix scan on the column vectors [nv0, nv1): next = γ (I − P) prev + A.
template <class Isa>
void scan_step(const geometry& g, const float* P, const float* A, float gamma, const float* prev, float* next,
               float* hist, bool accumulate, int nv0, int nv1) {
  constexpr int MR = tile_shape<Isa>::mr;
  for (index_t i0 = 0; i0 < g.dm; i0 += MR)
    gemm_rows<Isa, MR>(P + i0 * g.dn, g.dn, 1, prev, g.dn, g.D, nv0, nv1, [&](index_t j0) {
      const index_t o = i0 * g.dn + j0;
      return ep_scan<Isa>{prev + o, A + o, next + o, hist ? hist + o : nullptr, accumulate, gamma, g.dn};
    });
}

/// One step of the vector scan: next = γ (z − Pz z) + b (a D×D matrix-vector product: negligible next to the
/// matrix scan).
inline void scan_step_z(const geometry& g, const float* Pz, const float* bz, float gamma, const float* prev,
                        float* next, float* hist, bool accumulate) {
  for (index_t i = 0; i < g.dn; ++i) {
    float pz = 0.0f;
    const float* row = Pz + i * g.dn;
    for (index_t k = 0; k < g.D; ++k) pz += row[k] * prev[k];
    const float nx = i < g.D ? gdn_scan_update(gamma, prev[i], pz, bz[i]) : 0.0f;
    next[i] = nx;
    if (hist) hist[i] = accumulate ? hist[i] + nx : nx;
  }
}

/// Phase B for one (b, h) and the column vectors [nv0, nv1) of M (columns of M evolve independently); the
/// item with nv0 == 0 also runs the z scan. Writes hist[t] = M^f_t (+ M^r_t) and the final forward state.
template <class Isa>
void phase_b(const problem& pr, const geometry& g, index_t b, index_t h, float* w, int nv0, int nv1) {
  constexpr int W = Isa::lanes;
  const bool do_z = g.has_den && nv0 == 0;
  const index_t T = g.T;
  const index_t j0 = static_cast<index_t>(nv0) * W, j1 = static_cast<index_t>(nv1) * W;
  auto zero_cols = [&](float* m) {
    for (index_t i = 0; i < g.dm; ++i) std::fill(m + i * g.dn + j0, m + i * g.dn + j1, 0.0f);
  };
  const bool reverse = pr.mode != gdn_mode::causal;
  if (reverse && T > 0) {
    // M^r_t = γ_{t+1} (I − P_{t+1}) M^r_{t+1} + A_{t+1}, restarting from 0 at the end of every segment.
    for (index_t t = T - 1; t >= 0; --t) {
      const bool restart = pr.seg_last[t] != 0;
      if (restart) {
        zero_cols(g.hm(w, t));
        if (do_z) std::fill(g.hz(w, t), g.hz(w, t) + g.dn, 0.0f);
        continue;
      }
      const float gm = (*pr.gamma)(b, t + 1, h);
      scan_step<Isa>(g, g.p(w, t + 1), g.a(w, t + 1), gm, g.hm(w, t + 1), g.hm(w, t), nullptr, false, nv0,
                     nv1);
      if (do_z)
        scan_step_z(g, g.pz(w, t + 1), g.bz(w, t + 1), gm, g.hz(w, t + 1), g.hz(w, t), nullptr, false);
    }
  }
  // Forward: M^f_t = γ_t (I − P_t) M^f_{t−1} + A_t from the streaming state (or zero).
  float* m_cur = g.mbuf(w, 0);
  float* m_nxt = g.mbuf(w, 1);
  zero_cols(m_cur);
  if (!pr.state.m_in.empty())
    for (index_t i = 0; i < g.D; ++i)
      for (index_t j = j0; j < std::min(j1, g.D); ++j) m_cur[i * g.dn + j] = pr.state.m_in(b, h, i, j);
  float* z_cur = do_z ? g.zbuf(w, 0) : nullptr;
  float* z_nxt = do_z ? g.zbuf(w, 1) : nullptr;
  if (do_z) {
    std::fill(z_cur, z_cur + g.dn, 0.0f);
    if (!pr.state.z_in.empty())
      for (index_t i = 0; i < g.D; ++i) z_cur[i] = pr.state.z_in(b, h, i);
  }
  for (index_t t = 0; t < T; ++t) {
    const float gm = (*pr.gamma)(b, t, h);
    scan_step<Isa>(g, g.p(w, t), g.a(w, t), gm, m_cur, m_nxt, g.hm(w, t), reverse, nv0, nv1);
    std::swap(m_cur, m_nxt);
    if (do_z) {
      scan_step_z(g, g.pz(w, t), g.bz(w, t), gm, z_cur, z_nxt, g.hz(w, t), reverse);
      std::swap(z_cur, z_nxt);
    }
  }
  if (!pr.state.m_out.empty())
    for (index_t i = 0; i < g.D; ++i)
      for (index_t j = j0; j < std::min(j1, g.D); ++j) pr.state.m_out(b, h, i, j) = m_cur[i * g.dn + j];
  if (do_z && !pr.state.z_out.empty())
    for (index_t i = 0; i < g.D; ++i) pr.state.z_out(b, h, i) = z_cur[i];
}

/// Σ_i x[i·xs] · z[i] for i < n (z padded to whole vectors with zeros).
template <class Isa>
SANAWM_FORCEINLINE float dot_strided(const float* x, index_t xs, const float* z, index_t n) {
  using V = cpu::vec<float, Isa>;
  if (xs != 1) {
    float acc = 0.0f;
    for (index_t i = 0; i < n; ++i) acc += x[i * xs] * z[i];
    return acc;
  }
  V acc = V::zero();
  index_t i = 0;
  for (; i + V::width <= n; i += V::width) acc = fma(V::load(x + i), V::load(z + i), acc);
  if (i < n) acc = fma(V::load_partial(x + i, n - i), V::load(z + i), acc);
  return reduce_add(acc);
}

/// Writes a row piece `x` (W lanes, columns j..j+W of row r) to dst[j·ds ..] for the columns below D.
template <class Isa>
SANAWM_FORCEINLINE void store_piece(cpu::vec<float, Isa> x, float* dst, index_t ds, index_t j, index_t D) {
  using V = cpu::vec<float, Isa>;
  if (ds == 1) {
    if (j + V::width <= D)
      x.store(dst + j);
    else
      x.store_partial(dst + j, D - j);
  } else {
    float tmp[V::width];
    x.store(tmp);
    for (index_t l = 0; l < V::width && j + l < D; ++l) dst[(j + l) * ds] = tmp[l];
  }
}

/// Phase-C epilogue, straight from the registers: num (optional) and out = num · 1/(den + eps) of MR tokens.
template <class Isa>
struct ep_output {
  float* out_row0;  // &out(b, t, s0, h, 0), or null
  float* num_row0;  // &num(b, t, s0, h, 0), or null
  index_t out_rs, out_ds, num_rs, num_ds;
  const float* inv;  // 1/(den + eps) of tokens s0.. (1 for the camera branch)
  index_t j0, D;
  SANAWM_FORCEINLINE void operator()(int r, int n, cpu::vec<float, Isa> acc) const {
    using V = cpu::vec<float, Isa>;
    const index_t j = j0 + n * V::width;
    if (num_row0) store_piece<Isa>(acc, num_row0 + r * num_rs, num_ds, j, D);
    if (out_row0) store_piece<Isa>(acc * V::broadcast(inv[r]), out_row0 + r * out_rs, out_ds, j, D);
  }
};

/// Phase C for one (b, h, t): den = q̂ · hist_z[t] and inv = 1/(den + eps) for every token first, then
/// num = q̂ʳ · hist_M[t] for MR tokens at a time, scaled and stored straight from the registers (rows outside,
/// column chunks inside: each token row is written once; measured ~8% faster than column chunks outside).
template <class Isa>
void phase_c(const problem& pr, const geometry& g, index_t b, index_t h, index_t t, float* w, float* inv) {
  constexpr int MR = tile_shape<Isa>::mr, W = Isa::lanes, NRM = tile_shape<Isa>::nr_max;
  const float* M = g.hm(w, t);
  const float* z = g.has_den ? g.hz(w, t) : nullptr;
  for (index_t s = 0; s < g.S; ++s) {
    if (z) {
      const float dn = dot_strided<Isa>(&(*pr.q_den)(b, t, s, h, 0), pr.q_den->stride(4), z, g.D);
      if (!pr.den.empty()) pr.den(b, t, s, h) = dn;
      inv[s] = 1.0f / (dn + pr.eps);
    } else {
      inv[s] = 1.0f;
    }
  }
  if (g.S == 0 || (pr.out.empty() && pr.num.empty())) return;
  const gdn_tokens_view& qn = *pr.q_num;
  const index_t qs = qn.stride(2), qd = qn.stride(4);
  float* out0 = pr.out.empty() ? nullptr : &pr.out(b, t, 0, h, 0);
  float* num0 = pr.num.empty() ? nullptr : &pr.num(b, t, 0, h, 0);
  const index_t out_rs = pr.out.empty() ? 0 : pr.out.stride(2),
                out_ds = pr.out.empty() ? 0 : pr.out.stride(4);
  const index_t num_rs = pr.num.empty() ? 0 : pr.num.stride(2),
                num_ds = pr.num.empty() ? 0 : pr.num.stride(4);
  for (index_t s0 = 0; s0 < g.S; s0 += MR) {
    for (int n0 = 0; n0 < g.nvec; n0 += NRM) {
      const int nr = std::min(NRM, g.nvec - n0);
      const index_t j0 = static_cast<index_t>(n0) * W;
      const int rows = static_cast<int>(std::min<index_t>(MR, g.S - s0));
      const ep_output<Isa> ep{out0 ? out0 + s0 * out_rs : nullptr,
                              num0 ? num0 + s0 * num_rs : nullptr,
                              out_rs,
                              out_ds,
                              num_rs,
                              num_ds,
                              inv + s0,
                              j0,
                              g.D};
      const float* a = &qn(b, t, s0, h, 0);
      with_count<MR>(rows, [&](auto mr) {
        with_count<NRM>(nr, [&](auto nrc) {
          gemm_tile<Isa, decltype(mr)::value, decltype(nrc)::value>(a, qs, qd, M + j0, g.dn, g.D, ep);
        });
      });
    }
  }
}

/// Runs the three phases over all (b, h), a group of heads at a time: phases A and C are parallel over
/// (head, frame), phase B over (head, column block). A group is as many heads as the pool has threads, so the
/// workspace (≈ 4·T·D² floats per head) stays bounded whatever B·H is.
template <class Isa>
void run(const problem& pr, index_t D, index_t S, index_t T, bool distinct_z) {
  const geometry g = geometry::make<Isa>(D, S, T, pr.q_den != nullptr, distinct_z);
  const index_t BH = pr.B * pr.H;
  if (BH == 0) return;
  if (T == 0) {
    // No frames: the streaming state passes through unchanged.
    for (index_t b = 0; b < pr.B; ++b)
      for (index_t h = 0; h < pr.H; ++h) {
        if (!pr.state.m_out.empty())
          for (index_t i = 0; i < D; ++i)
            for (index_t j = 0; j < D; ++j)
              pr.state.m_out(b, h, i, j) = pr.state.m_in.empty() ? 0.0f : pr.state.m_in(b, h, i, j);
        if (g.has_den && !pr.state.z_out.empty())
          for (index_t i = 0; i < D; ++i)
            pr.state.z_out(b, h, i) = pr.state.z_in.empty() ? 0.0f : pr.state.z_in(b, h, i);
      }
    return;
  }
  auto& pool = cpu::global_pool();
  const index_t G = std::min<index_t>(BH, pool.size());
  host_buffer<float> ws(G * g.per_head);
  const index_t scratch_a = g.kc * (2 * g.dm + 3 * g.dn);
  const index_t scratch_c = std::max<index_t>(S, 1);
  // Column blocks of M for phase B: one block per head when there are enough heads, else split the columns so
  // every thread scans (columns of M evolve independently).
  const int nblk = static_cast<int>(std::min<index_t>(g.nvec, std::max<index_t>(1, pool.size() / G)));
  for (index_t g0 = 0; g0 < BH; g0 += G) {
    const index_t gn = std::min(G, BH - g0);
    cpu::parallel_ranges(pool, gn * T, [&](index_t i0, index_t i1, int) {
      host_buffer<float> scratch(scratch_a);
      for (index_t it = i0; it < i1; ++it) {
        const index_t gi = it / T, t = it % T, bh = g0 + gi;
        phase_a<Isa>(pr, g, bh / pr.H, bh % pr.H, t, ws.data() + gi * g.per_head, scratch.data());
      }
    });
    cpu::parallel_ranges(pool, gn * nblk, [&](index_t i0, index_t i1, int) {
      for (index_t it = i0; it < i1; ++it) {
        const index_t gi = it / nblk, blk = it % nblk, bh = g0 + gi;
        const int nv0 = static_cast<int>(blk * g.nvec / nblk),
                  nv1 = static_cast<int>((blk + 1) * g.nvec / nblk);
        phase_b<Isa>(pr, g, bh / pr.H, bh % pr.H, ws.data() + gi * g.per_head, nv0, nv1);
      }
    });
    cpu::parallel_ranges(pool, gn * T, [&](index_t i0, index_t i1, int) {
      host_buffer<float> inv(scratch_c);
      for (index_t it = i0; it < i1; ++it) {
        const index_t gi = it / T, t = it % T, bh = g0 + gi;
        phase_c<Isa>(pr, g, bh / pr.H, bh % pr.H, t, ws.data() + gi * g.per_head, inv.data());
      }
    });
  }
}

}  // namespace detail::gdn_cpu

/// Frame-wise GDN, main branch (see gdn.hpp for the math and layouts), on the CPU thread pool, with the SIMD
/// variant `Isa` (default: the widest this translation unit compiles). fp32 arithmetic, fp32 state.
/// Throws sanawm::error on shape mismatches, bad options or non-finite gates.
template <class Isa = cpu::native_isa>
void gdn_frame(cpu_t, const gdn_inputs& in, const gdn_outputs& out, const gdn_options& opt = {},
               const gdn_state& state = {}) {
  const detail::gdn_dims d = detail::gdn_check_main("gdn_frame", in, out, opt, state);
  std::vector<unsigned char> seg_last(static_cast<std::size_t>(std::max<index_t>(d.T, 1)));
  detail::gdn_reverse_segments("gdn_frame", opt.mode, opt.chunk_starts, d.T, seg_last.data());
  detail::gdn_cpu::problem pr;
  pr.B = d.B, pr.H = d.H;
  pr.q_num = &in.q_rot, pr.q_den = &in.q, pr.k_num = &in.k_rot, pr.k_den = &in.k, pr.v = &in.v;
  pr.beta = &in.beta, pr.gamma = &in.gamma;
  pr.key_scale = opt.key_scale, pr.eps = opt.eps, pr.mode = opt.mode, pr.seg_last = seg_last.data();
  pr.out = out.out, pr.num = out.num, pr.den = out.den, pr.state = state;
  detail::gdn_cpu::run<Isa>(pr, d.D, d.S, d.T, !detail::gdn_same_view(in.k, in.k_rot));
}

/// Frame-wise GDN, camera branch: numerator only (no z stream, no division), out [B, T, S, H, D] = num. β
/// should already be discounted (gdn_camera_beta). Streaming uses state.m_in / state.m_out only.
template <class Isa = cpu::native_isa>
void gdn_camera_frame(cpu_t, const gdn_camera_inputs& in, gdn_tokens_out_view out,
                      const gdn_options& opt = {}, const gdn_state& state = {}) {
  const detail::gdn_dims d = detail::gdn_check_camera("gdn_camera_frame", in, out, opt, state);
  std::vector<unsigned char> seg_last(static_cast<std::size_t>(std::max<index_t>(d.T, 1)));
  detail::gdn_reverse_segments("gdn_camera_frame", opt.mode, opt.chunk_starts, d.T, seg_last.data());
  detail::gdn_cpu::problem pr;
  pr.B = d.B, pr.H = d.H;
  pr.q_num = &in.q, pr.q_den = nullptr, pr.k_num = &in.k, pr.k_den = &in.k, pr.v = &in.v;
  pr.beta = &in.beta, pr.gamma = &in.gamma;
  pr.key_scale = opt.key_scale, pr.mode = opt.mode, pr.seg_last = seg_last.data();
  pr.out = out, pr.state = state;
  detail::gdn_cpu::run<Isa>(pr, d.D, d.S, d.T, false);
}

}  // namespace sanawm

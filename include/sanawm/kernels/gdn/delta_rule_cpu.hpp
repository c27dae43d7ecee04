// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gdn/delta_rule_cpu.hpp — token-wise gated delta rule on the CPU: the recurrent form (per
// token, SIMD over the value channels of a row-major fp32 state: the design llama.cpp and ik_llama converged
// on for decode) and the chunked WY/UT form (fla's chunk algorithm, chunk 64 by default) for prefill.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/gdn/delta_rule_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <algorithm>  // std::min, std::fill
#include <cmath>      // std::exp
#include <vector>     // std::vector

#include "sanawm/backend/cpu/parallel.hpp"    // parallel_ranges
#include "sanawm/backend/cpu/simd.hpp"        // vec, native_isa
#include "sanawm/backend/tags.hpp"            // cpu_t
#include "sanawm/config.hpp"                  // SANAWM_FORCEINLINE
#include "sanawm/core/buffer.hpp"             // host_buffer
#include "sanawm/core/int.hpp"                // index_t
#include "sanawm/kernels/gdn/delta_rule.hpp"  // API types, checks

namespace sanawm {

namespace detail::delta_rule_cpu {

/// Loads token t's key and scaled query of q/k head hq into kk/kq (K floats each), L2-normalised on request.
inline void load_qk(const delta_rule_inputs& in, const delta_rule_options& opt, float scale, index_t row,
                    index_t t, index_t hq, index_t K, float* kk, float* kq) {
  float nk = 0.0f, nq = 0.0f;
  for (index_t i = 0; i < K; ++i) {
    kk[i] = in.k(row, t, hq, i);
    kq[i] = in.q(row, t, hq, i);
    nk += kk[i] * kk[i];
    nq += kq[i] * kq[i];
  }
  const float fk = opt.qk_l2norm ? delta_rule_l2_factor(nk) : 1.0f;
  const float fq = (opt.qk_l2norm ? delta_rule_l2_factor(nq) : 1.0f) * scale;
  for (index_t i = 0; i < K; ++i) kk[i] *= fk, kq[i] *= fq;
}

/// The recurrent form for one (sequence, value head): state rows H[i][0..V) padded to whole vectors (ld
/// floats).
template <class Isa>
void recurrent_head(const delta_rule_inputs& in, const delta_rule_tokens_out_view& o,
                    const delta_rule_options& opt, const delta_rule_state& st, const delta_rule_dims& d,
                    index_t n, index_t hv, float* scratch) {
  using V = cpu::vec<float, Isa>;
  constexpr int W = Isa::lanes;
  const index_t K = d.K, Vd = d.V, ld = (Vd + W - 1) / W * W, nv = ld / W;
  float* Hs = scratch;     // K × ld
  float* u = Hs + K * ld;  // ld
  float* out = u + ld;     // ld
  float* vv = out + ld;    // ld
  float* kk = vv + ld;     // K
  float* kq = kk + K;      // K
  const float scale = delta_rule_scale(opt, K);
  for (index_t i = 0; i < K; ++i) {
    float* row = Hs + i * ld;
    for (index_t j = 0; j < ld; ++j)
      row[j] = (j < Vd && !st.initial.empty()) ? st.initial(n, hv, i, j) : 0.0f;
  }
  std::fill(vv, vv + ld, 0.0f);
  const delta_rule_seq sq = delta_rule_sequence(d, opt.cu_seqlens, n);
  const index_t hq = hv / d.group;
  for (index_t t = sq.begin; t < sq.end; ++t) {
    load_qk(in, opt, scale, sq.row, t, hq, K, kk, kq);
    const float alpha = std::exp(in.g(sq.row, t, hv)), beta = in.beta(sq.row, t, hv);
    for (index_t j = 0; j < Vd; ++j) vv[j] = in.v(sq.row, t, hv, j);
    // Pass 1: decay the state and predict v from it: u = Σ_i k_i (α H[i]).
    std::fill(u, u + ld, 0.0f);
    const V va = V::broadcast(alpha);
    for (index_t i = 0; i < K; ++i) {
      float* row = Hs + i * ld;
      const V ki = V::broadcast(kk[i]);
      for (index_t c = 0; c < nv; ++c) {
        const V h = V::load(row + c * W) * va;
        h.store(row + c * W);
        fma(ki, h, V::load(u + c * W)).store(u + c * W);
      }
    }
    // u = β (v − prediction)
    const V vb = V::broadcast(beta);
    for (index_t c = 0; c < nv; ++c) (vb * (V::load(vv + c * W) - V::load(u + c * W))).store(u + c * W);
    // Pass 2: write (H += k uᵀ) and read out (o = Σ_i q_i H[i]).
    std::fill(out, out + ld, 0.0f);
    for (index_t i = 0; i < K; ++i) {
      float* row = Hs + i * ld;
      const V ki = V::broadcast(kk[i]), qi = V::broadcast(kq[i]);
      for (index_t c = 0; c < nv; ++c) {
        const V h = fma(ki, V::load(u + c * W), V::load(row + c * W));
        h.store(row + c * W);
        fma(qi, h, V::load(out + c * W)).store(out + c * W);
      }
    }
    for (index_t j = 0; j < Vd; ++j) o(sq.row, t, hv, j) = out[j];
  }
  if (!st.final_state.empty())
    for (index_t i = 0; i < K; ++i)
      for (index_t j = 0; j < Vd; ++j) st.final_state(n, hv, i, j) = Hs[i * ld + j];
}

/// The chunked (WY / UT transform) form for one (sequence, value head). Per chunk of C tokens, with the
/// chunk-local cumulative log decay b_i = Σ_{j≤i} g_j and Γ_i = e^{b_i}:
///   A_ij = β_i (k_i·k_j) e^{b_i − b_j} (i > j),  Tm = (I + A)^{-1}  (forward substitution)
///   W = Tm diag(β Γ) K,  U = Tm diag(β) V,  V' = U − W H
///   O = diag(Γ) Q H + [(Q Kᵀ) ⊙ e^{b_i − b_j} (i ≥ j)] V'
///   H ← e^{b_last} H + (diag(e^{b_last − b_i}) K)ᵀ V'
/// Every exponent is a difference b_i − b_j with i ≥ j (≤ 0 for decaying gates): nothing overflows.
inline void chunked_head(const delta_rule_inputs& in, const delta_rule_tokens_out_view& o,
                         const delta_rule_options& opt, const delta_rule_state& st, const delta_rule_dims& d,
                         index_t n, index_t hv, float* scratch) {
  const index_t K = d.K, Vd = d.V, C = opt.chunk_size;
  float* Hs = scratch;      // K × Vd
  float* Kc = Hs + K * Vd;  // C × K
  float* Qc = Kc + C * K;   // C × K (scaled)
  float* Vc = Qc + C * K;   // C × Vd, then V'
  float* Wc = Vc + C * Vd;  // C × K
  float* Uc = Wc + C * K;   // C × Vd
  float* Am = Uc + C * Vd;  // C × C: A, then Tm
  float* Sm = Am + C * C;   // C × C: masked Q Kᵀ
  float* bc = Sm + C * C;   // C: cumulative log decay
  float* bt = bc + C;       // C: β
  float* row = bt + C;      // max(K, Vd, C) scratch row
  const float scale = delta_rule_scale(opt, K);
  for (index_t i = 0; i < K; ++i)
    for (index_t j = 0; j < Vd; ++j) Hs[i * Vd + j] = st.initial.empty() ? 0.0f : st.initial(n, hv, i, j);
  const delta_rule_seq sq = delta_rule_sequence(d, opt.cu_seqlens, n);
  const index_t hq = hv / d.group;
  for (index_t c0 = sq.begin; c0 < sq.end; c0 += C) {
    const index_t cn = std::min(C, sq.end - c0);
    float acc = 0.0f;
    for (index_t r = 0; r < cn; ++r) {
      const index_t t = c0 + r;
      load_qk(in, opt, scale, sq.row, t, hq, K, Kc + r * K, Qc + r * K);
      for (index_t j = 0; j < Vd; ++j) Vc[r * Vd + j] = in.v(sq.row, t, hv, j);
      acc += in.g(sq.row, t, hv);
      bc[r] = acc;
      bt[r] = in.beta(sq.row, t, hv);
    }
    // A (strictly lower) and the masked Q Kᵀ (lower, diagonal included).
    for (index_t i = 0; i < cn; ++i)
      for (index_t j = 0; j <= i; ++j) {
        float kk = 0.0f, qk = 0.0f;
        for (index_t c = 0; c < K; ++c) {
          kk += Kc[i * K + c] * Kc[j * K + c];
          qk += Qc[i * K + c] * Kc[j * K + c];
        }
        const float decay = std::exp(bc[i] - bc[j]);
        Am[i * C + j] = i > j ? bt[i] * kk * decay : 0.0f;
        Sm[i * C + j] = qk * decay;
      }
    // Tm = (I + A)^{-1} in place, row by row: Tm[i] = e_i − Σ_{j<i} A[i][j] Tm[j] (Tm lower unit triangular;
    // row i of A is read before it is overwritten).
    for (index_t i = 0; i < cn; ++i) {
      for (index_t j = 0; j < i; ++j) row[j] = 0.0f;
      for (index_t j = 0; j < i; ++j) {
        const float a = Am[i * C + j];
        for (index_t l = 0; l <= j; ++l) row[l] -= a * (l == j ? 1.0f : Am[j * C + l]);
      }
      for (index_t j = 0; j < i; ++j) Am[i * C + j] = row[j];
      // Tm's diagonal is 1 and is not stored (Am's diagonal stays 0 and is read as 1 below).
    }
    // W = Tm diag(β Γ) K and U = Tm diag(β) V.
    for (index_t i = 0; i < cn; ++i) {
      float* w = Wc + i * K;
      float* u = Uc + i * Vd;
      for (index_t c = 0; c < K; ++c) w[c] = 0.0f;
      for (index_t c = 0; c < Vd; ++c) u[c] = 0.0f;
      for (index_t j = 0; j <= i; ++j) {
        const float tij = j == i ? 1.0f : Am[i * C + j];
        const float fw = tij * bt[j] * std::exp(bc[j]), fu = tij * bt[j];
        const float* kj = Kc + j * K;
        const float* vj = Vc + j * Vd;
        for (index_t c = 0; c < K; ++c) w[c] += fw * kj[c];
        for (index_t c = 0; c < Vd; ++c) u[c] += fu * vj[c];
      }
    }
    // V' = U − W H (into Vc).
    for (index_t i = 0; i < cn; ++i) {
      float* vp = Vc + i * Vd;
      const float* u = Uc + i * Vd;
      for (index_t c = 0; c < Vd; ++c) vp[c] = u[c];
      for (index_t l = 0; l < K; ++l) {
        const float wl = Wc[i * K + l];
        const float* hl = Hs + l * Vd;
        for (index_t c = 0; c < Vd; ++c) vp[c] -= wl * hl[c];
      }
    }
    // O = diag(Γ) Q H + S V'  (H is the state entering the chunk).
    for (index_t i = 0; i < cn; ++i) {
      for (index_t c = 0; c < Vd; ++c) row[c] = 0.0f;
      for (index_t l = 0; l < K; ++l) {
        const float ql = Qc[i * K + l];
        const float* hl = Hs + l * Vd;
        for (index_t c = 0; c < Vd; ++c) row[c] += ql * hl[c];
      }
      const float gi = std::exp(bc[i]);
      for (index_t c = 0; c < Vd; ++c) row[c] *= gi;
      for (index_t j = 0; j <= i; ++j) {
        const float s = Sm[i * C + j];
        const float* vp = Vc + j * Vd;
        for (index_t c = 0; c < Vd; ++c) row[c] += s * vp[c];
      }
      for (index_t c = 0; c < Vd; ++c) o(sq.row, c0 + i, hv, c) = row[c];
    }
    // H ← e^{b_last} H + Σ_i e^{b_last − b_i} k_i V'_iᵀ.
    const float blast = bc[cn - 1];
    const float gl = std::exp(blast);
    for (index_t l = 0; l < K * Vd; ++l) Hs[l] *= gl;
    for (index_t i = 0; i < cn; ++i) {
      const float f = std::exp(blast - bc[i]);
      const float* ki = Kc + i * K;
      const float* vp = Vc + i * Vd;
      for (index_t l = 0; l < K; ++l) {
        const float a = f * ki[l];
        float* hl = Hs + l * Vd;
        for (index_t c = 0; c < Vd; ++c) hl[c] += a * vp[c];
      }
    }
  }
  if (!st.final_state.empty())
    for (index_t i = 0; i < K; ++i)
      for (index_t j = 0; j < Vd; ++j) st.final_state(n, hv, i, j) = Hs[i * Vd + j];
}

}  // namespace detail::delta_rule_cpu

/// Token-wise gated delta rule, recurrent form, on the CPU thread pool (parallel over sequences × value
/// heads). o [B, T, HV, V]; see delta_rule.hpp for the math, layouts and options. Throws sanawm::error on bad
/// shapes, bad cu_seqlens or non-finite gates.
template <class Isa = cpu::native_isa>
void delta_rule_recurrent(cpu_t, const delta_rule_inputs& in, const delta_rule_tokens_out_view& o,
                          const delta_rule_options& opt = {}, const delta_rule_state& st = {}) {
  const detail::delta_rule_dims d = detail::delta_rule_check("delta_rule_recurrent", in, o, opt, st);
  constexpr int W = Isa::lanes;
  const index_t ld = (d.V + W - 1) / W * W;
  const index_t scratch = d.K * ld + 3 * ld + 2 * d.K;
  cpu::parallel_ranges(d.N * d.HV, [&](index_t i0, index_t i1, int) {
    host_buffer<float> buf(scratch);
    for (index_t it = i0; it < i1; ++it)
      detail::delta_rule_cpu::recurrent_head<Isa>(in, o, opt, st, d, it / d.HV, it % d.HV, buf.data());
  });
}

/// Token-wise gated delta rule, chunked WY/UT form (chunk opt.chunk_size, default 64), on the CPU thread
/// pool. Same contract and results as delta_rule_recurrent up to float rounding; the state is fp32
/// throughout.
inline void delta_rule_chunked(cpu_t, const delta_rule_inputs& in, const delta_rule_tokens_out_view& o,
                               const delta_rule_options& opt = {}, const delta_rule_state& st = {}) {
  const detail::delta_rule_dims d = detail::delta_rule_check("delta_rule_chunked", in, o, opt, st);
  const index_t C = opt.chunk_size, K = d.K, Vd = d.V;
  const index_t scratch = K * Vd + 3 * C * K + 2 * C * Vd + 2 * C * C + 2 * C + std::max({K, Vd, C});
  cpu::parallel_ranges(d.N * d.HV, [&](index_t i0, index_t i1, int) {
    host_buffer<float> buf(scratch);
    for (index_t it = i0; it < i1; ++it)
      detail::delta_rule_cpu::chunked_head(in, o, opt, st, d, it / d.HV, it % d.HV, buf.data());
  });
}

}  // namespace sanawm

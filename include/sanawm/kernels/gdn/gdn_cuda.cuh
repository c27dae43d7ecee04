// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gdn/gdn_cuda.cuh — frame-wise GDN and the token-wise gated delta rule on CUDA: phase A and C
// as tiled shared-memory GEMM kernels (fp32, one CTA per 32×32 output tile of a (head, frame)), phase B as a
// scan kernel (one CTA per head and 32-column block of the D×D state, state double-buffered in shared
// memory), and the recurrent token-wise kernel (one thread per value column, state in shared memory). All
// arithmetic fp32.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/gdn/gdn_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaMemcpyAsync, cudaStreamSynchronize

#include <algorithm>    // std::min, std::max
#include <cstddef>      // std::size_t
#include <limits>       // std::numeric_limits
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "sanawm/backend/cuda/check.cuh"      // SANAWM_CUDA_CHECK, SANAWM_CUDA_CHECK_LAUNCH
#include "sanawm/backend/cuda/config.cuh"     // SANAWM_KERNEL, SANAWM_BEGIN/END_KERNELS
#include "sanawm/backend/cuda/launch.cuh"     // parallel_for(cuda_t, ...)
#include "sanawm/backend/cuda/memory.cuh"     // device_buffer
#include "sanawm/backend/cuda/stream.cuh"     // native_stream
#include "sanawm/backend/tags.hpp"            // cuda_t
#include "sanawm/core/error.hpp"              // make_error
#include "sanawm/core/int.hpp"                // index_t
#include "sanawm/kernels/gdn/delta_rule.hpp"  // token-wise API
#include "sanawm/kernels/gdn/gdn.hpp"         // frame-wise API

namespace sanawm {

namespace detail::gdn_cuda {

/// Output tile of the phase-A/C kernels (32 × 32, 256 threads computing 2 × 2 each) and the column block of
/// the scan kernel.
inline constexpr int tile = 32;
inline constexpr int block_threads = 256;

/// Everything the frame-wise kernels read and write; passed by value (views of device memory).
struct frame_params {
  gdn_tokens_view qn, qd, kn, kd, v;  // numerator / denominator queries and keys, values [B, T, S, H, D]
  gdn_token_gates_view beta;          // [B, T, S, H]
  gdn_frame_gates_view gamma;         // [B, T, H]
  gdn_tokens_out_view out, num;       // [B, T, S, H, D] (may be empty)
  gdn_token_scalars_out_view den;     // [B, T, S, H] (may be empty)
  gdn_state_m_cview m_in;
  gdn_state_z_cview z_in;
  gdn_state_m_view m_out;
  gdn_state_z_view z_out;
  float c = 1.0f, eps = 0.0f;
  index_t B = 0, T = 0, S = 0, H = 0, D = 0;
  bool has_den = false, distinct_z = false, reverse = false;
  const unsigned char* seg_last = nullptr;  // [T] reverse-scan restarts (device)
  // Workspace, [B·H][T][D][D] or [B·H][T][D].
  float* P = nullptr;
  float* A = nullptr;
  float* Pz = nullptr;
  float* bz = nullptr;
  float* hm = nullptr;
  float* hz = nullptr;

  SANAWM_HD index_t mat(index_t bh, index_t t) const noexcept { return (bh * T + t) * D * D; }
  SANAWM_HD index_t vecoff(index_t bh, index_t t) const noexcept { return (bh * T + t) * D; }
};

/// Sum over the 32 lanes of a warp.
SANAWM_DEVICE SANAWM_FORCEINLINE float warp_sum(float x) noexcept {
#if SANAWM_DEVICE_PASS
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
#endif
  return x;
}

SANAWM_BEGIN_KERNELS

/// Phase A: grid (tiles_i · tiles_j, T, B·H), 256 threads. Tile (ti, tj) of P = Σ_s (β c k̂ʳ)ᵀ (c k̂ʳ),
/// A = Σ_s (β c k̂ʳ)ᵀ v, Pz = Σ_s (β c k̂)ᵀ (c k̂), and (tj = 0 only) b = Σ_s β c k̂, over 32-token chunks in
/// shared memory.
SANAWM_KERNEL __launch_bounds__(block_threads) void gdn_phase_a_kernel(frame_params p) {
  __shared__ float Lr[tile][tile + 1], Rr[tile][tile + 1], Rv[tile][tile + 1], Lz[tile][tile + 1],
      Rz[tile][tile + 1];
  const index_t bh = blockIdx.z, t = blockIdx.y, b = bh / p.H, h = bh % p.H;
  const int nt = static_cast<int>((p.D + tile - 1) / tile);
  const int ti = static_cast<int>(blockIdx.x) / nt, tj = static_cast<int>(blockIdx.x) % nt;
  const int tid = static_cast<int>(threadIdx.x), tx = tid % 16, ty = tid / 16;
  const bool zsep = p.has_den && p.distinct_z;
  float ap[2][2] = {}, aa[2][2] = {}, az[2][2] = {};
  float bsum = 0.0f;
  for (index_t s0 = 0; s0 < p.S; s0 += tile) {
    for (int e = tid; e < tile * tile; e += block_threads) {
      const int sl = e / tile, cl = e % tile;
      const index_t s = s0 + sl, i = ti * tile + cl, j = tj * tile + cl;
      const bool vs = s < p.S;
      const float bt = vs ? p.beta(b, t, s, h) * p.c : 0.0f;
      Lr[sl][cl] = (vs && i < p.D) ? bt * p.kn(b, t, s, h, i) : 0.0f;
      Rr[sl][cl] = (vs && j < p.D) ? p.c * p.kn(b, t, s, h, j) : 0.0f;
      Rv[sl][cl] = (vs && j < p.D) ? p.v(b, t, s, h, j) : 0.0f;
      if (zsep) {
        Lz[sl][cl] = (vs && i < p.D) ? bt * p.kd(b, t, s, h, i) : 0.0f;
        Rz[sl][cl] = (vs && j < p.D) ? p.c * p.kd(b, t, s, h, j) : 0.0f;
      }
    }
    __syncthreads();
    for (int s = 0; s < tile; ++s) {
      const float l0 = Lr[s][2 * ty], l1 = Lr[s][2 * ty + 1];
      const float r0 = Rr[s][2 * tx], r1 = Rr[s][2 * tx + 1];
      const float v0 = Rv[s][2 * tx], v1 = Rv[s][2 * tx + 1];
      ap[0][0] += l0 * r0, ap[0][1] += l0 * r1, ap[1][0] += l1 * r0, ap[1][1] += l1 * r1;
      aa[0][0] += l0 * v0, aa[0][1] += l0 * v1, aa[1][0] += l1 * v0, aa[1][1] += l1 * v1;
      if (zsep) {
        const float m0 = Lz[s][2 * ty], m1 = Lz[s][2 * ty + 1];
        const float z0 = Rz[s][2 * tx], z1 = Rz[s][2 * tx + 1];
        az[0][0] += m0 * z0, az[0][1] += m0 * z1, az[1][0] += m1 * z0, az[1][1] += m1 * z1;
      }
    }
    if (p.has_den && tj == 0 && tid < tile)
      for (int s = 0; s < tile; ++s) bsum += zsep ? Lz[s][tid] : Lr[s][tid];
    __syncthreads();
  }
  for (int r = 0; r < 2; ++r)
    for (int q = 0; q < 2; ++q) {
      const index_t i = ti * tile + 2 * ty + r, j = tj * tile + 2 * tx + q;
      if (i < p.D && j < p.D) {
        const index_t o = p.mat(bh, t) + i * p.D + j;
        p.P[o] = ap[r][q];
        p.A[o] = aa[r][q];
        if (zsep) p.Pz[o] = az[r][q];
      }
    }
  if (p.has_den && tj == 0 && tid < tile && ti * tile + tid < p.D)
    p.bz[p.vecoff(bh, t) + ti * tile + tid] = bsum;
}

/// Phase B: grid (column blocks (+1 for z when has_den), B·H), 256 threads, dynamic shared memory 2·D·32
/// floats. CTA x < nblk scans columns [32x, 32x + 32) of M (columns evolve independently); CTA x == nblk
/// scans z. Reverse (exclusive) first into hist, then forward (inclusive) added to it; final forward state →
/// out state.
SANAWM_KERNEL __launch_bounds__(block_threads) void gdn_scan_kernel(frame_params p) {
  extern __shared__ float sm[];
  const index_t bh = blockIdx.y, b = bh / p.H, h = bh % p.H, D = p.D;
  const int nblk = static_cast<int>((D + tile - 1) / tile);
  const int tid = static_cast<int>(threadIdx.x);
  if (static_cast<int>(blockIdx.x) < nblk) {
    const int lane = tid % tile, row0 = tid / tile;  // 8 row groups
    const index_t j = static_cast<index_t>(blockIdx.x) * tile + lane;
    const bool cj = j < D;
    float* cur = sm;
    float* nxt = sm + D * tile;
    // new[i] = γ (cur[i] − Σ_k P[i][k] cur[k]) + A[i][j] for this thread's rows.
    auto step = [&](const float* P, const float* A, float g, float* hist, bool add) {
      for (index_t i = row0; i < D; i += block_threads / tile) {
        float pm = 0.0f;
        for (index_t k = 0; k < D; ++k) pm += P[i * D + k] * cur[k * tile + lane];
        const float nx = cj ? gdn_scan_update(g, cur[i * tile + lane], pm, A[i * D + j]) : 0.0f;
        nxt[i * tile + lane] = nx;
        if (cj) hist[i * D + j] = add ? hist[i * D + j] + nx : nx;
      }
      __syncthreads();
      float* tmp = cur;
      cur = nxt;
      nxt = tmp;
    };
    if (p.reverse) {
      for (index_t t = p.T - 1; t >= 0; --t) {
        if (p.seg_last[t]) {
          for (index_t i = row0; i < D; i += block_threads / tile) {
            cur[i * tile + lane] = 0.0f;
            if (cj) p.hm[p.mat(bh, t) + i * D + j] = 0.0f;
          }
          __syncthreads();
          continue;
        }
        step(p.P + p.mat(bh, t + 1), p.A + p.mat(bh, t + 1), p.gamma(b, t + 1, h), p.hm + p.mat(bh, t),
             false);
      }
    }
    for (index_t i = row0; i < D; i += block_threads / tile)
      cur[i * tile + lane] = (cj && !p.m_in.empty()) ? p.m_in(b, h, i, j) : 0.0f;
    __syncthreads();
    for (index_t t = 0; t < p.T; ++t)
      step(p.P + p.mat(bh, t), p.A + p.mat(bh, t), p.gamma(b, t, h), p.hm + p.mat(bh, t), p.reverse);
    if (cj && !p.m_out.empty())
      for (index_t i = row0; i < D; i += block_threads / tile) p.m_out(b, h, i, j) = cur[i * tile + lane];
  } else {
    float* cur = sm;
    float* nxt = sm + D;
    const float* Pz = p.distinct_z ? p.Pz : p.P;
    auto step = [&](index_t tp, float g, index_t th, bool add) {
      for (index_t i = tid; i < D; i += block_threads) {
        float pz = 0.0f;
        const float* row = Pz + p.mat(bh, tp) + i * D;
        for (index_t k = 0; k < D; ++k) pz += row[k] * cur[k];
        const float nx = gdn_scan_update(g, cur[i], pz, p.bz[p.vecoff(bh, tp) + i]);
        nxt[i] = nx;
        float& hz = p.hz[p.vecoff(bh, th) + i];
        hz = add ? hz + nx : nx;
      }
      __syncthreads();
      float* tmp = cur;
      cur = nxt;
      nxt = tmp;
    };
    if (p.reverse) {
      for (index_t t = p.T - 1; t >= 0; --t) {
        if (p.seg_last[t]) {
          for (index_t i = tid; i < D; i += block_threads) cur[i] = 0.0f, p.hz[p.vecoff(bh, t) + i] = 0.0f;
          __syncthreads();
          continue;
        }
        step(t + 1, p.gamma(b, t + 1, h), t, false);
      }
    }
    for (index_t i = tid; i < D; i += block_threads) cur[i] = p.z_in.empty() ? 0.0f : p.z_in(b, h, i);
    __syncthreads();
    for (index_t t = 0; t < p.T; ++t) step(t, p.gamma(b, t, h), t, p.reverse);
    if (!p.z_out.empty())
      for (index_t i = tid; i < D; i += block_threads) p.z_out(b, h, i) = cur[i];
  }
}

/// Phase C: grid (token tiles · column tiles, T, B·H), 256 threads. den = q̂ · hist_z for the tile's 32 tokens
/// (one warp per 4 tokens), then num = q̂ʳ · hist_M over 32-channel chunks in shared memory, out =
/// num/(den+eps).
SANAWM_KERNEL __launch_bounds__(block_threads) void gdn_phase_c_kernel(frame_params p) {
  __shared__ float Q[tile][tile + 1], Mt[tile][tile + 1], inv[tile];
  const index_t bh = blockIdx.z, t = blockIdx.y, b = bh / p.H, h = bh % p.H, D = p.D;
  const int nj = static_cast<int>((D + tile - 1) / tile);
  const int si = static_cast<int>(blockIdx.x) / nj, tj = static_cast<int>(blockIdx.x) % nj;
  const index_t s0 = static_cast<index_t>(si) * tile, j0 = static_cast<index_t>(tj) * tile;
  const int tid = static_cast<int>(threadIdx.x), lane = tid % 32, warp = tid / 32, tx = tid % 16,
            ty = tid / 16;
  for (int r = 0; r < tile / (block_threads / 32); ++r) {
    const int sl = warp * (tile / (block_threads / 32)) + r;
    const index_t s = s0 + sl;
    float dn = 0.0f;
    if (p.has_den && s < p.S) {
      const float* z = p.hz + p.vecoff(bh, t);
      for (index_t i = lane; i < D; i += 32) dn += p.qd(b, t, s, h, i) * z[i];
      dn = warp_sum(dn);
      if (lane == 0 && tj == 0 && !p.den.empty()) p.den(b, t, s, h) = dn;
    }
    if (lane == 0) inv[sl] = p.has_den ? 1.0f / (dn + p.eps) : 1.0f;
  }
  float acc[2][2] = {};
  const float* M = p.hm + p.mat(bh, t);
  for (index_t i0 = 0; i0 < D; i0 += tile) {
    for (int e = tid; e < tile * tile; e += block_threads) {
      const int r = e / tile, cl = e % tile;
      const index_t s = s0 + r, i = i0 + cl;
      Q[r][cl] = (s < p.S && i < D) ? p.qn(b, t, s, h, i) : 0.0f;
      const index_t ir = i0 + r, jc = j0 + cl;
      Mt[r][cl] = (ir < D && jc < D) ? M[ir * D + jc] : 0.0f;
    }
    __syncthreads();
    for (int k = 0; k < tile; ++k) {
      const float q0 = Q[2 * ty][k], q1 = Q[2 * ty + 1][k];
      const float m0 = Mt[k][2 * tx], m1 = Mt[k][2 * tx + 1];
      acc[0][0] += q0 * m0, acc[0][1] += q0 * m1, acc[1][0] += q1 * m0, acc[1][1] += q1 * m1;
    }
    __syncthreads();
  }
  for (int r = 0; r < 2; ++r)
    for (int q = 0; q < 2; ++q) {
      const index_t s = s0 + 2 * ty + r, j = j0 + 2 * tx + q;
      if (s < p.S && j < D) {
        if (!p.num.empty()) p.num(b, t, s, h, j) = acc[r][q];
        if (!p.out.empty()) p.out(b, t, s, h, j) = acc[r][q] * inv[2 * ty + r];
      }
    }
}

/// Lowest flat index (row-major over the view's extents) of a non-finite element, via atomicMin on `first`.
template <class View>
SANAWM_KERNEL __launch_bounds__(block_threads) void gdn_find_non_finite_kernel(View x,
                                                                               unsigned long long* first) {
  const index_t n = x.size();
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t k = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) {
    index_t rem = k, off = 0;
    for (int d = static_cast<int>(View::rank()) - 1; d >= 0; --d) {
      const index_t e = x.extent(static_cast<std::size_t>(d));
      off += (rem % e) * x.stride(static_cast<std::size_t>(d));
      rem /= e;
    }
    if (!isfinite(x.data()[off])) atomicMin(first, static_cast<unsigned long long>(k));
  }
}

/// Token-wise recurrent gated delta rule: grid (N, HV, ⌈V / bv⌉), bv threads, each thread owns one value
/// column of the state (K floats in shared memory, column-interleaved so a warp's accesses hit distinct
/// banks).
SANAWM_KERNEL __launch_bounds__(128) void delta_rule_recurrent_kernel(
    delta_rule_inputs in, delta_rule_tokens_out_view o, delta_rule_state_cview h0, delta_rule_state_view h1,
    const index_t* cu, delta_rule_dims d, float scale, bool l2norm) {
  extern __shared__ float sm[];
  const int bv = static_cast<int>(blockDim.x), tid = static_cast<int>(threadIdx.x);
  const index_t n = blockIdx.x, hv = blockIdx.y, j = static_cast<index_t>(blockIdx.z) * bv + tid;
  const index_t K = d.K, hq = hv / d.group;
  float* Hs = sm;           // K × bv
  float* kk = Hs + K * bv;  // K
  float* kq = kk + K;       // K
  float* red = kq + K;      // 2 × 32 partial sums
  const bool active = j < d.V;
  const index_t row = cu ? 0 : n, begin = cu ? cu[n] : 0, end = cu ? cu[n + 1] : d.T;
  for (index_t i = 0; i < K; ++i) Hs[i * bv + tid] = (active && !h0.empty()) ? h0(n, hv, i, j) : 0.0f;
  for (index_t t = begin; t < end; ++t) {
    float sk = 0.0f, sq = 0.0f;
    for (index_t i = tid; i < K; i += bv) {
      const float a = in.k(row, t, hq, i), c = in.q(row, t, hq, i);
      kk[i] = a;
      kq[i] = c;
      sk += a * a;
      sq += c * c;
    }
    float fk = 1.0f, fq = scale;
    if (l2norm) {
      sk = warp_sum(sk);
      sq = warp_sum(sq);
      if (tid % 32 == 0) red[tid / 32] = sk, red[32 + tid / 32] = sq;
      __syncthreads();
      float tk = 0.0f, tq = 0.0f;
      for (int w = 0; w < (bv + 31) / 32; ++w) tk += red[w], tq += red[32 + w];
      fk = delta_rule_l2_factor(tk);
      fq *= delta_rule_l2_factor(tq);
    }
    __syncthreads();
    for (index_t i = tid; i < K; i += bv) kk[i] *= fk, kq[i] *= fq;
    __syncthreads();
    if (active) {
      const float alpha = __expf(in.g(row, t, hv)), beta = in.beta(row, t, hv);
      auto col = [&](index_t i) -> float& { return Hs[i * bv + tid]; };
      o(row, t, hv, j) = delta_rule_column_step(col, K, kk, kq, alpha, beta, in.v(row, t, hv, j));
    }
    __syncthreads();  // kk/kq/red are rewritten by the next token
  }
  if (active && !h1.empty())
    for (index_t i = 0; i < K; ++i) h1(n, hv, i, j) = Hs[i * bv + tid];
}

SANAWM_END_KERNELS

/// Queues the search for the first non-finite element of a device view: its flat index (row-major over the view's
/// extents) lands in *first, which must hold ULLONG_MAX before the search.
template <class View>
void find_non_finite_on_device(const View& x, unsigned long long* first, cudaStream_t stream) {
  if (x.size() == 0) return;
  const index_t blocks = std::min<index_t>((x.size() + block_threads - 1) / block_threads, 4096);
  gdn_find_non_finite_kernel<<<static_cast<unsigned>(blocks), block_threads, 0, stream>>>(x, first);
  SANAWM_CUDA_CHECK_LAUNCH();
}

/// Throws "[op] <name>[i, j, ...] = <value> is not finite" for the element at flat index k of a device view.
template <class View>
[[noreturn]] void throw_non_finite(std::string_view op, const char* name, const View& x, unsigned long long k) {
  index_t idx[View::rank()];
  index_t rem = static_cast<index_t>(k), off = 0;
  for (int d = static_cast<int>(View::rank()) - 1; d >= 0; --d) {
    const index_t e = x.extent(static_cast<std::size_t>(d));
    idx[d] = rem % e;
    off += idx[d] * x.stride(static_cast<std::size_t>(d));
    rem /= e;
  }
  float value = 0.0f;
  SANAWM_CUDA_CHECK(cudaMemcpy(&value, x.data() + off, sizeof value, cudaMemcpyDeviceToHost));
  std::string where;
  for (std::size_t d = 0; d < View::rank(); ++d) where += str_cat(d ? ", " : "", idx[d]);
  throw make_error(op, name, "[", where, "] = ", value, " is not finite");
}

/// Checks two gate views (a first, then b) for NaN/inf on the device and throws for the first bad element: one
/// 16-byte copy back and one stream synchronisation per call, the price of reporting bad gates with their index.
template <class ViewA, class ViewB>
void check_finite_on_device(std::string_view op, const char* name_a, const ViewA& a, const char* name_b,
                            const ViewB& b, cudaStream_t stream) {
  if (a.size() == 0 && b.size() == 0) return;
  constexpr unsigned long long none = std::numeric_limits<unsigned long long>::max();
  device_buffer<unsigned long long> first(2, stream);
  const unsigned long long init[2] = {none, none};
  SANAWM_CUDA_CHECK(cudaMemcpyAsync(first.data(), init, sizeof init, cudaMemcpyHostToDevice, stream));
  find_non_finite_on_device(a, first.data(), stream);
  find_non_finite_on_device(b, first.data() + 1, stream);
  unsigned long long k[2] = {none, none};
  SANAWM_CUDA_CHECK(cudaMemcpyAsync(k, first.data(), sizeof k, cudaMemcpyDeviceToHost, stream));
  SANAWM_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (k[0] != none) throw_non_finite(op, name_a, a, k[0]);
  if (k[1] != none) throw_non_finite(op, name_b, b, k[1]);
}

/// The three phases on `stream`, with a stream-ordered workspace of ≈ 4·B·H·T·D² floats.
inline void run(frame_params p, std::span<const index_t> chunk_starts, gdn_mode mode, std::string_view op,
                cudaStream_t stream) {
  const index_t BH = p.B * p.H;
  if (BH == 0) return;
  std::vector<unsigned char> seg(static_cast<std::size_t>(std::max<index_t>(p.T, 1)));
  gdn_reverse_segments(op, mode, chunk_starts, p.T, seg.data());
  device_buffer<unsigned char> seg_d(static_cast<index_t>(seg.size()), stream);
  SANAWM_CUDA_CHECK(cudaMemcpyAsync(seg_d.data(), seg.data(), seg.size(), cudaMemcpyHostToDevice, stream));
  const index_t DD = p.D * p.D, nmat = BH * p.T;
  const bool zsep = p.has_den && p.distinct_z;
  device_buffer<float> ws(nmat * DD * (zsep ? 4 : 3) + (p.has_den ? 2 * nmat * p.D : 0), stream);
  p.P = ws.data();
  p.A = p.P + nmat * DD;
  p.hm = p.A + nmat * DD;
  p.Pz = zsep ? p.hm + nmat * DD : p.P;
  p.bz = p.has_den ? (zsep ? p.Pz : p.hm) + nmat * DD : nullptr;
  p.hz = p.has_den ? p.bz + nmat * p.D : nullptr;
  p.seg_last = seg_d.data();
  p.reverse = mode != gdn_mode::causal;
  const auto nt = static_cast<unsigned>((p.D + tile - 1) / tile);
  if (p.T > 0) {
    gdn_phase_a_kernel<<<dim3(nt * nt, static_cast<unsigned>(p.T), static_cast<unsigned>(BH)), block_threads,
                         0, stream>>>(p);
    SANAWM_CUDA_CHECK_LAUNCH();
  }
  // The scan runs even for T = 0: it copies the streaming state through.
  const std::size_t smem = static_cast<std::size_t>(2 * p.D * tile) * sizeof(float);
  if (smem > 48 * 1024)
    SANAWM_CUDA_CHECK(cudaFuncSetAttribute(gdn_scan_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)));
  gdn_scan_kernel<<<dim3(nt + (p.has_den ? 1 : 0), static_cast<unsigned>(BH)), block_threads, smem, stream>>>(
      p);
  SANAWM_CUDA_CHECK_LAUNCH();
  if (p.T > 0 && p.S > 0) {
    const auto ns = static_cast<unsigned>((p.S + tile - 1) / tile);
    gdn_phase_c_kernel<<<dim3(ns * nt, static_cast<unsigned>(p.T), static_cast<unsigned>(BH)), block_threads,
                         0, stream>>>(p);
    SANAWM_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace detail::gdn_cuda

/// Frame-wise GDN, main branch, on CUDA (all views in device memory; same contract as the CPU overload). Both
/// gates are scanned for NaN/inf on the device, which synchronises the stream once per call. Grid sizes: B·H
/// ≤ 65535, T ≤ 65535.
inline void gdn_frame(cuda_t be, const gdn_inputs& in, const gdn_outputs& out, const gdn_options& opt = {},
                      const gdn_state& state = {}) {
  const detail::gdn_dims d = detail::gdn_check_main("gdn_frame", in, out, opt, state, /*host_gates=*/false);
  SANAWM_EXPECT(d.B * d.H <= 65535 && d.T <= 65535, "gdn_frame", "CUDA grid limit: B·H = ", d.B * d.H,
                " and T = ", d.T, " must be <= 65535");
  const cudaStream_t stream = native_stream(be);
  detail::gdn_cuda::check_finite_on_device("gdn_frame", "beta", in.beta, "gamma", in.gamma, stream);
  detail::gdn_cuda::frame_params p;
  p.qn = in.q_rot, p.qd = in.q, p.kn = in.k_rot, p.kd = in.k, p.v = in.v, p.beta = in.beta,
  p.gamma = in.gamma;
  p.out = out.out, p.num = out.num, p.den = out.den;
  p.m_in = state.m_in, p.z_in = state.z_in, p.m_out = state.m_out, p.z_out = state.z_out;
  p.c = opt.key_scale, p.eps = opt.eps;
  p.B = d.B, p.T = d.T, p.S = d.S, p.H = d.H, p.D = d.D;
  p.has_den = true;
  p.distinct_z = !detail::gdn_same_view(in.k, in.k_rot);
  detail::gdn_cuda::run(p, opt.chunk_starts, opt.mode, "gdn_frame", stream);
}

/// Frame-wise GDN, camera branch (numerator only), on CUDA; same contract as the CPU overload.
inline void gdn_camera_frame(cuda_t be, const gdn_camera_inputs& in, gdn_tokens_out_view out,
                             const gdn_options& opt = {}, const gdn_state& state = {}) {
  const detail::gdn_dims d =
      detail::gdn_check_camera("gdn_camera_frame", in, out, opt, state, true, /*host_gates=*/false);
  SANAWM_EXPECT(d.B * d.H <= 65535 && d.T <= 65535, "gdn_camera_frame", "CUDA grid limit: B·H = ", d.B * d.H,
                " and T = ", d.T, " must be <= 65535");
  const cudaStream_t stream = native_stream(be);
  detail::gdn_cuda::check_finite_on_device("gdn_camera_frame", "beta", in.beta, "gamma", in.gamma, stream);
  detail::gdn_cuda::frame_params p;
  p.qn = in.q, p.qd = in.q, p.kn = in.k, p.kd = in.k, p.v = in.v, p.beta = in.beta, p.gamma = in.gamma;
  p.out = out;
  p.m_in = state.m_in, p.m_out = state.m_out;
  p.c = opt.key_scale;
  p.B = d.B, p.T = d.T, p.S = d.S, p.H = d.H, p.D = d.D;
  p.has_den = false;
  detail::gdn_cuda::run(p, opt.chunk_starts, opt.mode, "gdn_camera_frame", stream);
}

/// Token-wise gated delta rule, recurrent form, on CUDA (all views and cu_seqlens' values in host memory are
/// copied; the tensors must be in device memory). Same contract as the CPU overload; K·(bv + 2) + 64 floats of
/// shared memory per block (bv = 128 value columns for V ≥ 128) must fit in 227 KiB: K ≤ 446 for V ≥ 128.
inline void delta_rule_recurrent(cuda_t be, const delta_rule_inputs& in, const delta_rule_tokens_out_view& o,
                                 const delta_rule_options& opt = {}, const delta_rule_state& st = {}) {
  const detail::delta_rule_dims d =
      detail::delta_rule_check("delta_rule_recurrent", in, o, opt, st, /*host_gates=*/false);
  if (d.N == 0 || d.HV == 0) return;
  const cudaStream_t stream = native_stream(be);
  detail::gdn_cuda::check_finite_on_device("delta_rule_recurrent", "g", in.g, "beta", in.beta, stream);
  device_buffer<index_t> cu(static_cast<index_t>(opt.cu_seqlens.size()), stream);
  if (!opt.cu_seqlens.empty())
    SANAWM_CUDA_CHECK(cudaMemcpyAsync(cu.data(), opt.cu_seqlens.data(), opt.cu_seqlens.size_bytes(),
                                      cudaMemcpyHostToDevice, stream));
  const int bv = d.V >= 128 ? 128 : (d.V >= 64 ? 64 : 32);
  const std::size_t smem = (static_cast<std::size_t>(d.K) * (bv + 2) + 64) * sizeof(float);
  // The block keeps K × bv state floats in shared memory: at most 227 KiB per block (sm_80/sm_90 opt-in limit).
  SANAWM_EXPECT(smem <= std::size_t{227} * 1024, "delta_rule_recurrent", "CUDA: key dim ", d.K, " needs ", smem,
                " bytes of shared memory with ", bv, " value columns per block; at most 227 KiB");
  if (smem > 48 * 1024)
    SANAWM_CUDA_CHECK(cudaFuncSetAttribute(detail::gdn_cuda::delta_rule_recurrent_kernel,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)));
  const dim3 grid(static_cast<unsigned>(d.N), static_cast<unsigned>(d.HV),
                  static_cast<unsigned>((d.V + bv - 1) / bv));
  detail::gdn_cuda::delta_rule_recurrent_kernel<<<grid, static_cast<unsigned>(bv), smem, stream>>>(
      in, o, st.initial, st.final_state, opt.cu_seqlens.empty() ? nullptr : cu.data(), d,
      detail::delta_rule_scale(opt, d.K), opt.qk_l2norm);
  SANAWM_CUDA_CHECK_LAUNCH();
}

}  // namespace sanawm

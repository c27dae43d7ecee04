// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/attention/attention_cuda.cuh — softmax attention on CUDA: a flash kernel (bf16 in, fp32
// accumulate, mma.sync m16n8k16 on sm_80+, online softmax in registers) and the composed path to check it.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/attention/attention_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_bf16.h>         // __floats2bfloat162_rn
#include <cuda_runtime_api.h>  // cudaFuncSetAttribute

#include <cstdint>      // std::uint32_t, std::uintptr_t
#include <type_traits>  // std::is_same_v, std::remove_const_t

#include "sanawm/backend/cuda/check.cuh"           // SANAWM_CUDA_CHECK, check_launch
#include "sanawm/backend/cuda/config.cuh"          // SANAWM_KERNEL, SANAWM_SM80
#include "sanawm/backend/cuda/launch.cuh"          // parallel_for(cuda_t)
#include "sanawm/backend/cuda/memory.cuh"          // device_buffer
#include "sanawm/backend/cuda/stream.cuh"          // native_stream
#include "sanawm/core/bf16.hpp"                    // bf16
#include "sanawm/core/dispatch.hpp"                // dispatch_int
#include "sanawm/kernels/attention/attention.hpp"  // heads_view, attention_shape, attention_params

namespace sanawm {

namespace cuda::attn {

/// Query rows per CTA (4 warps × 16 rows, one m16 MMA row block per warp) and keys per tile.
inline constexpr int block_q = 64, block_k = 64, warps = 4;

/// Head dims of the flash kernel (the O accumulator, D/8 × 4 floats per thread, must fit beside the Q fragments
/// without spilling; larger D goes through the composed path). 64 is left out because ptxas (CUDA 13.0, sm_90a)
/// spills 24 bytes in that instantiation; add it back once it compiles spill-free.
#define SANAWM_ATTENTION_CUDA_HEAD_DIMS 32, 96, 112, 128

/// Shared-memory layout: two stages (cp.async double buffering) of a key tile and a value tile, both row-major
/// [block_k][D + 8] bf16. The +8 padding shifts consecutive rows by 4 banks, so each 8-row ldmatrix hits 32 distinct
/// banks.
template <int D>
struct smem_layout {
  static constexpr int ld = D + 8;
  static constexpr int tile_elems = block_k * ld;
  static constexpr int stages = 2;
  static constexpr int bytes = stages * 2 * tile_elems * 2;
};

SANAWM_DEVICE SANAWM_FORCEINLINE std::uint32_t smem_addr(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

/// 16-byte global → shared copy that bypasses L1 (cp.async.cg); `valid` false writes zeros (src-size 0), so key
/// rows past Nk read as zero without a branch around the copy.
SANAWM_DEVICE SANAWM_FORCEINLINE void cp_async16(std::uint32_t dst, const void* src, bool valid) {
#if SANAWM_SM80
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
#else
  (void)dst, (void)src, (void)valid;
  __trap();
#endif
}
SANAWM_DEVICE SANAWM_FORCEINLINE void cp_async_commit() {
#if SANAWM_SM80
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
/// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
SANAWM_DEVICE SANAWM_FORCEINLINE void cp_async_wait() {
#if SANAWM_SM80
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

/// Four 8×8 bf16 matrices from shared memory; lanes 8i..8i+7 give the row addresses of matrix i, and lane t gets
/// (row t/4, columns 2(t%4), 2(t%4)+1) of each — (.trans) or the transposed pair (rows 2(t%4), 2(t%4)+1, column t/4).
template <bool Trans>
SANAWM_DEVICE SANAWM_FORCEINLINE void ldmatrix_x4(std::uint32_t (&r)[4], std::uint32_t addr) {
#if SANAWM_SM80
  if constexpr (Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
#else
  (void)r, (void)addr;
  __trap();
#endif
}

SANAWM_DEVICE SANAWM_FORCEINLINE std::uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
  return *reinterpret_cast<const std::uint32_t*>(&h);
}

/// d += a·b for one m16n8k16 bf16 tile (fp32 accumulate).
SANAWM_DEVICE SANAWM_FORCEINLINE void mma_bf16(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                               std::uint32_t b1) {
#if SANAWM_SM80
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  (void)d, (void)a, (void)b0, (void)b1;
  __trap();  // the host refuses devices below sm_80 before launching
#endif
}

SANAWM_BEGIN_KERNELS

/// One CTA = 64 query rows of one (b, h); warp w owns rows [16w, 16w + 16). Key/value tiles stream through two
/// shared-memory stages with cp.async (the next tile loads while this one is computed); per tile: S = Q·Kᵀ (Q
/// fragments stay in registers, K fragments by ldmatrix), logits in the log2 domain, online softmax per row (a
/// quad of 4 lanes shares a row), P re-packed from the accumulator layout straight into A fragments, O += P·V (V
/// fragments by ldmatrix.trans).
template <int D, class O>
SANAWM_KERNEL __launch_bounds__(warps * 32) void flash_attention_kernel(
    heads_view<const bf16> q, heads_view<const bf16> k, heads_view<const bf16> v, heads_view<O> out,
    attention_shape s, attention_params p) {
  using L = smem_layout<D>;
  constexpr int KS = D / 16, NT = D / 8;
  static_assert(NT % 2 == 0, "sanawm: the flash kernel loads value fragments for two n-tiles at a time");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* smem = reinterpret_cast<bf16*>(smem_raw);

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, tig = lane % 4;
  const index_t b = blockIdx.z, h = blockIdx.y, q0 = static_cast<index_t>(blockIdx.x) * block_q;
  const index_t hk = h / (s.q_heads / s.kv_heads), nk = s.kv_tokens;
  const index_t r0 = q0 + warp * 16 + g, r1 = r0 + 8;  // this thread's two rows

  // Q fragments (A operand, row-major 16×16 per k-step), zero for rows past Nq.
  std::uint32_t qa[KS][4];
  {
    const std::uint32_t* q_r0 =
        r0 < s.q_tokens ? reinterpret_cast<const std::uint32_t*>(q.row(b, r0, h)) : nullptr;
    const std::uint32_t* q_r1 =
        r1 < s.q_tokens ? reinterpret_cast<const std::uint32_t*>(q.row(b, r1, h)) : nullptr;
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
      qa[kk][0] = q_r0 ? q_r0[kk * 8 + tig] : 0u;
      qa[kk][1] = q_r1 ? q_r1[kk * 8 + tig] : 0u;
      qa[kk][2] = q_r0 ? q_r0[kk * 8 + 4 + tig] : 0u;
      qa[kk][3] = q_r1 ? q_r1[kk * 8 + 4 + tig] : 0u;
    }
  }

  // Visibility bounds. All structural masks are monotone in the query index, so the CTA's key hull is
  // [lo(first row), hi(last row)) and a tile is mask-free when it lies inside [lo(last row), hi(first row)).
  const index_t last = (q0 + block_q < s.q_tokens ? q0 + block_q : s.q_tokens) - 1;
  index_t lo_first, hi_first, lo_last, hi_last, lo0, hi0, lo1, hi1;
  p.mask.query_bounds(q0, nk, lo_first, hi_first);
  p.mask.query_bounds(last, nk, lo_last, hi_last);
  p.mask.query_bounds(r0, nk, lo0, hi0);
  p.mask.query_bounds(r1, nk, lo1, hi1);
  const bool trivial = p.mask.trivial();
  const float log2e = 1.4426950408889634f;
  const float scale_log2 = p.scale * log2e;

  float o[NT][4];
#pragma unroll
  for (int n = 0; n < NT; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  const index_t t_lo = lo_first / block_k;
  const index_t t_hi = hi_last > lo_first ? (hi_last + block_k - 1) / block_k : t_lo;
  // A tile is live when it meets a key range (the row bounds are handled by the hull and the element test).
  auto live = [&](index_t t) {
    if (p.mask.num_ranges == 0) return true;
    const index_t j0 = t * block_k, j1 = j0 + block_k;
    for (int rr = 0; rr < p.mask.num_ranges; ++rr)
      if (p.mask.ranges[rr].begin < j1 && p.mask.ranges[rr].end > j0) return true;
    return false;
  };
  auto next_live = [&](index_t t) {
    while (t < t_hi && !live(t)) ++t;
    return t;
  };
  auto load_tile = [&](index_t t, int stage) {
    bf16* kd = smem + stage * 2 * L::tile_elems;
    bf16* vd = kd + L::tile_elems;
    const index_t j0 = t * block_k;
    for (int c = tid; c < block_k * (D / 8); c += warps * 32) {
      const int row = c / (D / 8), col = (c % (D / 8)) * 8;
      const bool valid = j0 + row < nk;
      const index_t jr = valid ? j0 + row : 0;  // a zero-size copy still needs a mapped source address
      cp_async16(smem_addr(kd + row * L::ld + col), k.row(b, jr, hk) + col, valid);
      cp_async16(smem_addr(vd + row * L::ld + col), v.row(b, jr, hk) + col, valid);
    }
  };

  // ldmatrix lane roles: matrix mi = lane / 8, row rr = lane % 8 within it.
  const int mi = lane / 8, rr8 = lane % 8;
  index_t t = next_live(t_lo);
  int stage = 0;
  if (t < t_hi) load_tile(t, 0);
  cp_async_commit();
  while (t < t_hi) {
    const index_t tn = next_live(t + 1);
    if (tn < t_hi) load_tile(tn, stage ^ 1);  // overlaps with this tile's math
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const bf16* kd = smem + stage * 2 * L::tile_elems;
    const bf16* vd = kd + L::tile_elems;
    const index_t j0 = t * block_k;
    const index_t jn = nk - j0 < block_k ? nk - j0 : block_k;
    bool range_full = p.mask.num_ranges == 0;
    for (int rr = 0; rr < p.mask.num_ranges; ++rr)
      range_full = range_full || (p.mask.ranges[rr].begin <= j0 && p.mask.ranges[rr].end >= j0 + jn);
    const bool full = range_full && jn == block_k && lo_last <= j0 && hi_first >= j0 + block_k;

    // S = Q·Kᵀ: 8 n-tiles of 8 keys; one ldmatrix.x4 gives the B fragments of two n-tiles.
    float sc[8][4];
#pragma unroll
    for (int n = 0; n < 8; ++n) sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
#pragma unroll
      for (int np = 0; np < 4; ++np) {
        std::uint32_t kb[4];
        ldmatrix_x4<false>(kb, smem_addr(kd + ((2 * np + mi / 2) * 8 + rr8) * L::ld + kk * 16 + (mi % 2) * 8));
        mma_bf16(sc[2 * np], qa[kk], kb[0], kb[1]);
        mma_bf16(sc[2 * np + 1], qa[kk], kb[2], kb[3]);
      }
    }

    // Logits in the log2 domain (exp2 is one instruction), masked entries −inf.
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const index_t j = j0 + n * 8 + tig * 2 + (e & 1);
        float x = sc[n][e];
        if (p.softcap > 0 || p.key_bias) {
          x *= p.scale;
          if (p.softcap > 0) x = p.softcap * tanhf(x / p.softcap);
          if (p.key_bias && j < nk) x += p.key_bias[b * p.key_bias_batch_stride + j];
          x *= log2e;
        } else {
          x *= scale_log2;
        }
        if (!full) {
          const bool lower = e < 2;
          const index_t lo = lower ? lo0 : lo1, hi = lower ? hi0 : hi1;
          if (!(j < nk && j >= lo && j < hi && (trivial || p.mask.key_in_ranges(j)))) x = -INFINITY;
        }
        sc[n][e] = x;
      }
      mx0 = fmaxf(mx0, fmaxf(sc[n][0], sc[n][1]));
      mx1 = fmaxf(mx1, fmaxf(sc[n][2], sc[n][3]));
    }
    // The four lanes of a quad hold the same two rows.
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
    // A row with nothing visible yet keeps max −inf; subtracting 0 then keeps exp2(−inf) = 0 (never NaN).
    const float mu0 = mn0 == -INFINITY ? 0.0f : mn0, mu1 = mn1 == -INFINITY ? 0.0f : mn1;
    const float a0 = exp2f(m0 - mu0), a1 = exp2f(m1 - mu1);
    m0 = mn0;
    m1 = mn1;
    l0 *= a0;
    l1 *= a1;
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      o[n][0] *= a0;
      o[n][1] *= a0;
      o[n][2] *= a1;
      o[n][3] *= a1;
    }
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      sc[n][0] = exp2f(sc[n][0] - mu0);
      sc[n][1] = exp2f(sc[n][1] - mu0);
      sc[n][2] = exp2f(sc[n][2] - mu1);
      sc[n][3] = exp2f(sc[n][3] - mu1);
      l0 += sc[n][0] + sc[n][1];
      l1 += sc[n][2] + sc[n][3];
    }

    // O += P·V: the accumulator layout of n-tiles 2kk and 2kk+1 is exactly the A layout of k-step kk; the value
    // B fragments come from the row-major tile through ldmatrix.trans, two d-tiles per instruction.
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const std::uint32_t pa[4] = {pack_bf16x2(sc[2 * kk][0], sc[2 * kk][1]),
                                   pack_bf16x2(sc[2 * kk][2], sc[2 * kk][3]),
                                   pack_bf16x2(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                                   pack_bf16x2(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
#pragma unroll
      for (int np = 0; np < NT / 2; ++np) {
        std::uint32_t vb[4];
        ldmatrix_x4<true>(vb, smem_addr(vd + (kk * 16 + (mi % 2) * 8 + rr8) * L::ld + (2 * np + mi / 2) * 8));
        mma_bf16(o[2 * np], pa, vb[0], vb[1]);
        mma_bf16(o[2 * np + 1], pa, vb[2], vb[3]);
      }
    }
    __syncthreads();  // this stage is refilled two iterations on
    t = tn;
    stage ^= 1;
  }
  cp_async_wait<0>();

  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  const float inv0 = l0 > 0 ? 1.0f / l0 : 0.0f, inv1 = l1 > 0 ? 1.0f / l1 : 0.0f;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const index_t r = half == 0 ? r0 : r1;
    if (r >= s.q_tokens) continue;
    const float inv = half == 0 ? inv0 : inv1;
    O* orow = out.row(b, r, h);
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      const float x0 = o[n][2 * half] * inv, x1 = o[n][2 * half + 1] * inv;
      if constexpr (std::is_same_v<O, bf16>) {
        *reinterpret_cast<std::uint32_t*>(orow + n * 8 + tig * 2) = pack_bf16x2(x0, x1);
      } else {
        *reinterpret_cast<float2*>(orow + n * 8 + tig * 2) = make_float2(x0, x1);
      }
    }
  }
}

SANAWM_END_KERNELS

template <class T>
bool aligned16(heads_view<T> x) noexcept {
  return reinterpret_cast<std::uintptr_t>(x.data) % 16 == 0 && x.batch_stride % 8 == 0 && x.token_stride % 8 == 0 &&
         x.head_stride % 8 == 0;
}

template <int D, class O>
void launch_flash(cudaStream_t stream, const attention_shape& s, const attention_params& p, heads_view<const bf16> q,
                  heads_view<const bf16> k, heads_view<const bf16> v, heads_view<O> out) {
  constexpr int bytes = smem_layout<D>::bytes;
  auto kernel = flash_attention_kernel<D, O>;
  // Past 48 KiB of dynamic shared memory a kernel must opt in (once per kernel; cheap to repeat).
  if constexpr (bytes > 48 * 1024)
    SANAWM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>((s.q_tokens + block_q - 1) / block_q), static_cast<unsigned>(s.q_heads),
                  static_cast<unsigned>(s.batch));
  kernel<<<grid, warps * 32, bytes, stream>>>(q, k, v, out, s, p);
  check_launch("flash attention kernel launch", __FILE__, __LINE__, SANAWM_CUDA_DEBUG_SYNC_ENABLED);
}

}  // namespace cuda::attn

/// Softmax attention on the current CUDA device (flash kernel, asynchronous on be.stream): bf16 q/k/v with the
/// head-dim axis contiguous and every row 16-byte aligned (strides multiples of 8 elements: views into a fused
/// qkv output qualify), fp32 accumulation, O = float or bf16. Head dims: SANAWM_ATTENTION_CUDA_HEAD_DIMS. Needs
/// sm_80+. p.key_bias, when set, must point to device memory. Same semantics as the CPU attention().
template <class Tq, class O>
void attention(cuda_t be, const attention_shape& s, const attention_params& p, heads_view<Tq> q, heads_view<Tq> k,
               heads_view<Tq> v, heads_view<O> out) {
  static_assert(std::is_same_v<std::remove_const_t<Tq>, bf16>, "sanawm: the CUDA flash attention takes bf16 inputs");
  detail::check_attention(s, p);
  if (s.batch == 0 || s.q_tokens == 0) return;
  const heads_view<const bf16> qc = q, kc = k, vc = v;
  SANAWM_EXPECT(cuda::attn::aligned16(qc) && cuda::attn::aligned16(kc) && cuda::attn::aligned16(vc), "attention",
                "CUDA flash attention needs 16-byte aligned rows (strides multiples of 8 elements); use "
                "attention_composed");
  SANAWM_EXPECT(out.head_stride % 2 == 0 && out.token_stride % 2 == 0 && out.batch_stride % 2 == 0, "attention",
                "output strides must be even");
  if (s.kv_tokens == 0) {
    parallel_for(be, s.batch * s.q_tokens * s.q_heads * s.head_dim, attention_zero_body<O>{out, s});
    return;
  }
  dispatch_int<SANAWM_ATTENTION_CUDA_HEAD_DIMS>(s.head_dim, "attention", "CUDA head dim", [&](auto D) {
    cuda::attn::launch_flash<static_cast<int>(D())>(native_stream(be), s, p, qc, kc, vc, out);
  });
}

/// The composed path (scores → softmax → values) on CUDA for any head dim and fp32 or bf16 inputs; allocates its
/// logits workspace (≤ 256 MiB) on be.stream.
template <class Tq, class O>
void attention_composed(cuda_t be, const attention_shape& s, const attention_params& p, heads_view<Tq> q,
                        heads_view<Tq> k, heads_view<Tq> v, heads_view<O> out) {
  using T = std::remove_const_t<Tq>;
  const index_t rows = composed_chunk_rows(s);
  device_buffer<float> ws(rows * s.batch * s.q_heads * (s.kv_tokens > 0 ? s.kv_tokens : 1), be);
  attention_composed<cuda_t, T, O>(be, s, p, q, k, v, out, ws.data(), rows);
}

}  // namespace sanawm

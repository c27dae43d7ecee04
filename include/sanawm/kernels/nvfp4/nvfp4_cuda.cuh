// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/nvfp4/nvfp4_cuda.cuh — NVFP4 on CUDA: amax/quantise/dequantise/scale swizzle with the portable
// bodies, a W4A16 kernel that decodes E2M1×UE4M3 into bf16 tensor-core MMAs in its main loop (sm_80+), and W4A4:
// cuBLASLt's block-scaled FP4 GEMM on sm_100/sm_120, elsewhere quantise-A + the same bf16 MMA kernel (emulation).
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/nvfp4/nvfp4_cuda.cuh: CUDA header; compile it with nvcc"
#endif

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>  // std::max
#include <cstdint>    // std::uint32_t

#include "sanawm/backend/cuda/check.cuh"         // SANAWM_CUDA_CHECK
#include "sanawm/backend/cuda/config.cuh"        // SANAWM_KERNEL, SANAWM_BEGIN/END_KERNELS
#include "sanawm/backend/cuda/cublas_check.cuh"  // SANAWM_CUBLAS_CHECK
#include "sanawm/backend/cuda/device.cuh"        // cuda_device_properties
#include "sanawm/backend/cuda/launch.cuh"        // parallel_for(cuda_t, …)
#include "sanawm/backend/cuda/memory.cuh"        // device_buffer
#include "sanawm/backend/tags.hpp"               // cuda_t
#include "sanawm/kernels/nvfp4/nvfp4.hpp"        // bodies, views, nvfp4_gemm_args

namespace sanawm {

namespace cuda::nvfp4_detail {

inline cudaStream_t stream_of(cuda_t be) noexcept { return static_cast<cudaStream_t>(be.stream); }

inline constexpr int amax_threads = 256;

// W4A16 tile: 64×64 outputs per 128-thread block (4 warps of 32×32 = 2×2 WMMA 16×16×16 bf16 fragments), K step 32
// (two NVFP4 blocks). Rows of the shared tiles are padded by 8 bf16 so fragment loads hit distinct banks.
inline constexpr int bm = 64, bn = 64, bk = 32, lds = bk + 8, ldc_s = bn + 4, gemm_threads = 128;

SANAWM_BEGIN_KERNELS

/// Block maxima of nvfp4_block_amax_body, reduced per CUDA block and combined with atomicMax on the float bits
/// (non-negative floats order like their bit patterns; a NaN's 0x7FC00000 beats every finite value).
template <class T>
SANAWM_KERNEL __launch_bounds__(amax_threads) void amax_kernel(nvfp4_block_amax_body<T> body, index_t n,
                                                                unsigned int* out) {
  float m = 0.0f;
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    m = detail::nvfp4_fmax_nan(m, body(i));
  for (int o = 16; o > 0; o /= 2) m = detail::nvfp4_fmax_nan(m, __shfl_xor_sync(0xFFFFFFFFu, m, o));
  __shared__ float warp_max[amax_threads / 32];
  if (threadIdx.x % 32 == 0) warp_max[threadIdx.x / 32] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < amax_threads / 32; ++w) m = detail::nvfp4_fmax_nan(m, warp_max[w]);
    atomicMax(out, __float_as_uint(m) & 0x7FFFFFFFu);
  }
}

template <class TA>
__device__ __forceinline__ __nv_bfloat16 to_bf16(TA x) {
  if constexpr (std::is_same_v<TA, float>) return __float2bfloat16_rn(x);
  else {
    __nv_bfloat16_raw r;
    r.x = x.bits();
    return __nv_bfloat16(r);
  }
}

/// W4A16 main loop: A [M, K] (fp32/bf16, rounded to bf16) and the NVFP4 weight [N, K] decoded in shared memory to
/// bf16 (code · block scale, exact), multiplied with WMMA bf16 fragments (fp32 accumulation); the epilogue applies
/// alpha (which carries S_dec), beta·C and the fused gemm_epilogue.
template <class TA, class TC>
SANAWM_KERNEL __launch_bounds__(gemm_threads) void w4a16_kernel(const TA* __restrict__ a, index_t lda, nvfp4_view w,
                                                                TC* c, index_t ldc, index_t m, float alpha, float beta,
                                                                gemm_epilogue<TC> epi) {
#if __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  __shared__ __align__(32) __nv_bfloat16 as[bm * lds];
  __shared__ __align__(32) __nv_bfloat16 bs[bn * lds];
  __shared__ __align__(32) float cs[bm * ldc_s];
  const index_t n = w.rows, k = w.cols;
  const index_t m0 = static_cast<index_t>(blockIdx.y) * bm, n0 = static_cast<index_t>(blockIdx.x) * bn;
  const int tid = threadIdx.x, warp = tid / 32, wm = warp / 2, wn = warp % 2;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  const index_t bpr = w.bytes_per_row();
  for (index_t k0 = 0; k0 < k; k0 += bk) {
    // A: 64 rows × 32 k, 16 consecutive k per thread.
    {
      const int r = tid / 2, kk = (tid % 2) * 16;
      const index_t gm = m0 + r;
      for (int j = 0; j < 16; ++j) {
        const index_t gk = k0 + kk + j;
        as[r * lds + kk + j] = (gm < m && gk < k) ? to_bf16(a[gm * lda + gk]) : __float2bfloat16_rn(0.0f);
      }
    }
    // B: 64 weight rows × 2 blocks; one block (8 bytes, 16 codes) per thread, decoded with its scale.
    {
      const int r = tid / 2, half = tid % 2;
      const index_t gn = n0 + r, gk = k0 + half * 16;
      if (gn < n && gk < k) {
        const float s = w.scale(gn, gk / nvfp4_block).to_float();
        const fp4x2* src = w.data + gn * bpr + gk / 2;
        for (int j = 0; j < 8; ++j) {
          const fp4x2 b = src[j];
          bs[r * lds + half * 16 + 2 * j] = __float2bfloat16_rn(b.lo().to_float() * s);
          bs[r * lds + half * 16 + 2 * j + 1] = __float2bfloat16_rn(b.hi().to_float() * s);
        }
      } else {
        for (int j = 0; j < 16; ++j) bs[r * lds + half * 16 + j] = __float2bfloat16_rn(0.0f);
      }
    }
    __syncthreads();
    for (int ks = 0; ks < bk; ks += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[2];
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], as + (wm * 32 + i * 16) * lds + ks, lds);
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], bs + (wn * 32 + j * 16) * lds + ks, lds);
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(cs + (wm * 32 + i * 16) * ldc_s + wn * 32 + j * 16, acc[i][j], ldc_s, wmma::mem_row_major);
  __syncthreads();
  for (int e = tid; e < bm * bn; e += gemm_threads) {
    const int r = e / bn, cc = e % bn;
    const index_t gm = m0 + r, gn = n0 + cc;
    if (gm >= m || gn >= n) continue;
    float t = alpha * cs[r * ldc_s + cc];
    if (beta != 0.0f) t += beta * static_cast<float>(c[gm * ldc + gn]);
    t = gemm_epilogue_value(epi, 0, gm, gn, t);
    c[gm * ldc + gn] = gemm_store_cast<TC>(t);
  }
#else
  (void)a, (void)lda, (void)w, (void)c, (void)ldc, (void)m, (void)alpha, (void)beta, (void)epi;
#endif
}

/// The epilogue of the cuBLASLt path: t = D (already alpha·S_dec^A·S_dec^W·Σ) + beta·C, then the fused epilogue.
template <class TC>
SANAWM_KERNEL __launch_bounds__(256) void epilogue_kernel(const float* d, index_t m, index_t n, TC* c, index_t ldc,
                                                          float beta, gemm_epilogue<TC> epi) {
  const index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;
  if (i >= m * n) return;
  const index_t r = i / n, j = i % n;
  float t = d[r * n + j];
  if (beta != 0.0f) t += beta * static_cast<float>(c[r * ldc + j]);
  t = gemm_epilogue_value(epi, 0, r, j, t);
  c[r * ldc + j] = gemm_store_cast<TC>(t);
}

SANAWM_END_KERNELS

/// Forward RHT of A's blocks into a dense fp32 buffer (the weight was quantised in the transformed space).
template <class TA>
struct rht_rows_body {
  const TA* a;
  index_t lda, k;
  float* out;
  std::uint32_t signs;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t bpr = k / nvfp4_block, r = i / bpr, b = i % bpr;
    float v[16];
    for (int j = 0; j < 16; ++j) v[j] = detail::nvfp4_load(a[r * lda + b * 16 + j]);
    nvfp4_rht_forward(v, signs);
    for (int j = 0; j < 16; ++j) out[r * k + b * 16 + j] = v[j];
  }
};

struct zero_bytes_body {
  ue4m3* p;
  SANAWM_HD void operator()(index_t i) const noexcept { p[i] = ue4m3::from_bits(0); }
};

}  // namespace cuda::nvfp4_detail

// ---- quantise / dequantise / layouts ----------------------------------------------------------------------------

/// max |x| (after the optional RHT) of a device matrix [rows, cols]; waits for the result (it is a host value).
template <class T>
float nvfp4_amax(cuda_t be, const T* x, index_t rows, index_t cols, index_t ldx, bool rht = false,
                 std::uint32_t signs = 0) {
  SANAWM_EXPECT(cols % nvfp4_block == 0, "nvfp4", "K = ", cols, " is not a multiple of the NVFP4 block (16)");
  const index_t n = rows * (cols / nvfp4_block);
  if (n == 0) return 0.0f;
  const cudaStream_t s = cuda::nvfp4_detail::stream_of(be);
  device_buffer<unsigned int> out(1);
  SANAWM_CUDA_CHECK(cudaMemsetAsync(out.data(), 0, sizeof(unsigned int), s));
  const index_t blocks = std::min<index_t>((n + cuda::nvfp4_detail::amax_threads - 1) / cuda::nvfp4_detail::amax_threads, 4096);
  cuda::nvfp4_detail::amax_kernel<T><<<static_cast<unsigned>(blocks), cuda::nvfp4_detail::amax_threads, 0, s>>>(
      nvfp4_block_amax_body<T>{x, ldx, cols / nvfp4_block, rht, signs}, n, out.data());
  SANAWM_CUDA_CHECK(cudaGetLastError());
  unsigned int bits = 0;
  SANAWM_CUDA_CHECK(cudaMemcpyAsync(&bits, out.data(), sizeof bits, cudaMemcpyDeviceToHost, s));
  SANAWM_CUDA_CHECK(cudaStreamSynchronize(s));
  return bit_cast<float>(bits);
}

/// Quantises device x [rows, cols] into device `out` (scales in out.layout; a swizzled buffer's padding must be 0)
/// and returns S_dec. Same bytes as the CPU quantiser (the same bodies). `amax` < 0 computes it (a sync).
template <class T>
float nvfp4_quantize(cuda_t be, const T* x, index_t rows, index_t cols, index_t ldx, nvfp4_out out,
                     const nvfp4_options& opt = {}, float amax = -1.0f) {
  SANAWM_EXPECT(cols % nvfp4_block == 0, "nvfp4", "K = ", cols, " is not a multiple of the NVFP4 block (16)");
  SANAWM_EXPECT(out.rows == rows && out.cols == cols, "nvfp4", "output is [", out.rows, ", ", out.cols,
                "] but the input is [", rows, ", ", cols, "]");
  if (rows == 0 || cols == 0) return 1.0f;
  const std::uint32_t signs = nvfp4_rht_signs(opt.rht_seed);
  if (amax < 0.0f) amax = nvfp4_amax(be, x, rows, cols, ldx, opt.rht, signs);
  const float s_enc = nvfp4_encode_scale(amax), s_dec = nvfp4_decode_scale(s_enc);
  parallel_for(be, rows * (cols / nvfp4_block),
               nvfp4_quantize_body<T>{x, ldx, out, s_enc, s_dec, opt.rht, signs,
                                      opt.rounding == nvfp4_rounding::stochastic, opt.sr_seed});
  return s_dec;
}

/// Decodes device `in` into device y [rows, cols] (fp32 or bf16), the inverse RHT included.
template <class T>
void nvfp4_dequantize(cuda_t be, const nvfp4_view& in, T* y, index_t ldy) {
  check_nvfp4(in, "nvfp4_dequantize");
  parallel_for(be, in.rows * in.scale_cols(), nvfp4_dequantize_body<T>{in, y, ldy});
}

/// Device twin of nvfp4_convert_scales(cpu_t, …): padding of a swizzled destination is zeroed.
inline void nvfp4_convert_scales(cuda_t be, const ue4m3* src, nvfp4_scale_layout from, ue4m3* dst,
                                 nvfp4_scale_layout to, index_t rows, index_t scale_cols) {
  if (to == nvfp4_scale_layout::swizzled_128x4)
    parallel_for(be, nvfp4_swizzled_size(rows, scale_cols), cuda::nvfp4_detail::zero_bytes_body{dst});
  parallel_for(be, rows * scale_cols, nvfp4_scale_convert_body{src, dst, rows, scale_cols, from, to});
}

// ---- GEMMs --------------------------------------------------------------------------------------------------------

namespace cuda::nvfp4_detail {

template <class TA, class TC>
void launch_w4a16(cuda_t be, const nvfp4_gemm_args<TA, TC>& p, const TA* a, index_t lda, float alpha) {
  const index_t n = p.n();
  const dim3 grid(static_cast<unsigned>((n + bn - 1) / bn), static_cast<unsigned>((p.m + bm - 1) / bm));
  SANAWM_EXPECT(grid.y <= 65535u, "nvfp4_gemm_w4a16", "m = ", p.m, " needs more than 65535 row tiles");
  w4a16_kernel<TA, TC><<<grid, gemm_threads, 0, stream_of(be)>>>(a, lda, p.b, p.c, p.ldc, p.m, alpha, p.beta, p.epilogue);
  SANAWM_CUDA_CHECK(cudaGetLastError());
}

/// True when this device runs cuBLASLt's block-scaled FP4 GEMM (Blackwell: sm_100/103/110/120/121).
inline bool device_has_fp4_gemm() {
  const auto& d = cuda_device_properties();
  return d.cc_major >= 10;
}

#if CUDART_VERSION >= 12080
/// cuBLASLt VEC16_UE4M3 block-scaled FP4 GEMM. Column-major view: D[N, M] = W[N, K] · Aq[M, K]ᵀ with both operands
/// K-contiguous ("TN"): lt-A = W (transa = T, stored [K, N] ld K), lt-B = Aq (transb = N, stored [K, M] ld K).
/// Scales in the 128x4 layout over N (W) and M (A). Returns false (nothing launched) when cuBLASLt offers no
/// algorithm, so the caller can fall back to the emulation.
inline bool lt_fp4_gemm(cuda_t be, const void* w, const void* w_scales, const void* aq, const void* a_scales,
                        float* d, index_t m, index_t n, index_t k, float alpha) {
  cublasLtHandle_t h = nullptr;
  SANAWM_CUBLAS_CHECK(cublasLtCreate(&h));
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  bool ok = false;
  try {
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    const cublasLtMatmulMatrixScale_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3;
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode, sizeof mode));
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode, sizeof mode));
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &w_scales, sizeof w_scales));
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scales, sizeof a_scales));
    SANAWM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_4F_E2M1, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(n), k));
    SANAWM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_4F_E2M1, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(m), k));
    SANAWM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(m), n));
    SANAWM_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const std::size_t ws_bytes = std::size_t{32} << 20;
    SANAWM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof ws_bytes));
    cublasLtMatmulHeuristicResult_t heur{};
    int found = 0;
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h, op, la, lb, ld, ld, pref, 1, &heur, &found);
    if (st == CUBLAS_STATUS_SUCCESS && found > 0) {
      device_buffer<std::uint8_t> ws(static_cast<index_t>(std::max<std::size_t>(heur.workspaceSize, 1)));
      const float beta = 0.0f;
      SANAWM_CUBLAS_CHECK(cublasLtMatmul(h, op, &alpha, w, la, aq, lb, &beta, d, ld, d, ld, &heur.algo, ws.data(),
                                         heur.workspaceSize, stream_of(be)));
      SANAWM_CUDA_CHECK(cudaStreamSynchronize(stream_of(be)));  // the workspace is freed on return
      ok = true;
    }
  } catch (...) {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (ld) cublasLtMatrixLayoutDestroy(ld);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
    cublasLtDestroy(h);
    throw;
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(ld);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatmulDescDestroy(op);
  cublasLtDestroy(h);
  return ok;
}
#endif

}  // namespace cuda::nvfp4_detail

/// W4A16 on CUDA (sm_80+): device A, NVFP4 weight (codes and scales on the device, any scale layout), device C.
/// A is rounded to bf16 (tensor cores); gemm_compute::fp32 is not offered here. Asynchronous on be.stream except
/// for a weight with RHT, whose transformed activations live in a temporary buffer (the call then synchronises).
template <class TA, class TC>
void nvfp4_gemm_w4a16(cuda_t be, const nvfp4_gemm_args<TA, TC>& p) {
  check_nvfp4_gemm_args(p, "nvfp4_gemm_w4a16");
  SANAWM_EXPECT(p.compute != gemm_compute::fp32, "nvfp4_gemm_w4a16",
                "the CUDA W4A16 kernel multiplies bf16 on tensor cores; gemm_compute::fp32 runs on the CPU only");
  if (p.m == 0 || p.n() == 0) return;
  const float alpha = p.alpha * p.b.global_scale;
  if (p.b.rht && p.k() > 0) {
    device_buffer<float> t(p.m * p.k());
    parallel_for(be, p.m * (p.k() / nvfp4_block),
                 cuda::nvfp4_detail::rht_rows_body<TA>{p.a, p.lda, p.k(), t.data(), nvfp4_rht_signs(p.b.rht_seed)});
    nvfp4_gemm_args<float, TC> q;
    q.m = p.m; q.a = t.data(); q.lda = p.k(); q.b = p.b; q.c = p.c; q.ldc = p.ldc;
    q.alpha = p.alpha; q.beta = p.beta; q.epilogue = p.epilogue;
    cuda::nvfp4_detail::launch_w4a16(be, q, t.data(), p.k(), alpha);
    SANAWM_CUDA_CHECK(cudaStreamSynchronize(cuda::nvfp4_detail::stream_of(be)));
    return;
  }
  cuda::nvfp4_detail::launch_w4a16(be, p, p.a, p.lda, alpha);
}

/// W4A4 on CUDA: A is quantised to NVFP4 on the device (per-call amax, RNE, the weight's RHT). On Blackwell
/// (compute capability ≥ 10, CUDA ≥ 12.8) the product runs in cuBLASLt's block-scaled FP4 GEMM; elsewhere (or when
/// cuBLASLt has no algorithm for the shape) the decoded NVFP4 activations (exact in bf16) go through the W4A16
/// kernel — the same numbers as "quantise A, dequantise both, GEMM" up to fp32 summation order. Synchronises.
template <class TA, class TC>
void nvfp4_gemm_w4a4(cuda_t be, const nvfp4_gemm_args<TA, TC>& p, float a_amax = -1.0f) {
  check_nvfp4_gemm_args(p, "nvfp4_gemm_w4a4");
  if (p.m == 0 || p.n() == 0) return;
  const index_t m = p.m, k = p.k(), n = p.n();
  nvfp4_options opt;
  opt.rht = p.b.rht;
  opt.rht_seed = p.b.rht_seed;
#if CUDART_VERSION >= 12080
  if (cuda::nvfp4_detail::device_has_fp4_gemm() && k > 0) {
    const index_t sc = k / nvfp4_block;
    device_buffer<fp4x2> aq(m * (k / 2));
    device_buffer<ue4m3> as(nvfp4_swizzled_size(m, sc));
    parallel_for(be, as.size(), cuda::nvfp4_detail::zero_bytes_body{as.data()});
    const float s_dec_a = nvfp4_quantize(be, p.a, m, k, p.lda, nvfp4_out{aq.data(), as.data(), m, k, nvfp4_scale_layout::swizzled_128x4}, opt, a_amax);
    device_buffer<ue4m3> ws_tmp;
    const ue4m3* wsc = p.b.scales;
    if (p.b.layout != nvfp4_scale_layout::swizzled_128x4) {
      ws_tmp = device_buffer<ue4m3>(nvfp4_swizzled_size(n, sc));
      nvfp4_convert_scales(be, p.b.scales, p.b.layout, ws_tmp.data(), nvfp4_scale_layout::swizzled_128x4, n, sc);
      wsc = ws_tmp.data();
    }
    device_buffer<float> d(m * n);
    if (cuda::nvfp4_detail::lt_fp4_gemm(be, p.b.data, wsc, aq.data(), as.data(), d.data(), m, n, k,
                                        p.alpha * s_dec_a * p.b.global_scale)) {
      const index_t total = m * n;
      cuda::nvfp4_detail::epilogue_kernel<TC><<<static_cast<unsigned>((total + 255) / 256), 256, 0,
                                                cuda::nvfp4_detail::stream_of(be)>>>(d.data(), m, n, p.c, p.ldc, p.beta,
                                                                                     p.epilogue);
      SANAWM_CUDA_CHECK(cudaGetLastError());
      SANAWM_CUDA_CHECK(cudaStreamSynchronize(cuda::nvfp4_detail::stream_of(be)));
      return;
    }
  }
#endif
  // Emulation: quantise A, decode it without its global scale (code · block scale, exact in bf16), and run the
  // bf16 MMA kernel with alpha · S_dec^A · S_dec^W.
  device_buffer<fp4x2> aq(m * (k / 2));
  device_buffer<ue4m3> as(m * (k / nvfp4_block));
  const float s_dec_a = nvfp4_quantize(be, p.a, m, k, p.lda, nvfp4_out{aq.data(), as.data(), m, k, nvfp4_scale_layout::linear}, opt, a_amax);
  device_buffer<bf16> ad(std::max<index_t>(1, m * k));
  nvfp4_view av{aq.data(), as.data(), 1.0f, m, k, nvfp4_scale_layout::linear, false, 0};
  nvfp4_dequantize(be, av, ad.data(), k);
  nvfp4_gemm_args<bf16, TC> q;
  q.m = m; q.a = ad.data(); q.lda = k; q.b = p.b; q.c = p.c; q.ldc = p.ldc;
  q.alpha = p.alpha; q.beta = p.beta; q.epilogue = p.epilogue;
  cuda::nvfp4_detail::launch_w4a16(be, q, ad.data(), k, p.alpha * s_dec_a * p.b.global_scale);
  SANAWM_CUDA_CHECK(cudaStreamSynchronize(cuda::nvfp4_detail::stream_of(be)));
}

}  // namespace sanawm

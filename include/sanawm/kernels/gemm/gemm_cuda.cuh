// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gemm/gemm_cuda.cuh — gemm(cuda_t, …): cuBLASLt (fp32 / bf16 / fp8 e4m3, fp32 accumulation) with
// its bias/ReLU/GELU epilogues, cached heuristics and workspace, and a composed fallback for everything else.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/gemm/gemm_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include <cublasLt.h>          // cublasLt*
#include <cuda_runtime_api.h>  // cudaStream_t, cudaMalloc, cudaGetDevice

#include <algorithm>      // std::min, std::max
#include <cstddef>        // std::size_t
#include <cstdint>        // std::uintptr_t, std::int64_t, std::uint32_t
#include <cstring>        // std::memcmp
#include <functional>     // std::hash
#include <map>            // std::map (context registry)
#include <memory>         // std::unique_ptr
#include <mutex>          // std::mutex, std::lock_guard
#include <type_traits>    // std::is_same_v
#include <unordered_map>  // std::unordered_map (heuristic cache)
#include <utility>        // std::pair

#include "sanawm/backend/cuda/check.cuh"         // SANAWM_CUDA_CHECK, cuda::ignore_error
#include "sanawm/backend/cuda/config.cuh"        // SANAWM_KERNEL, SANAWM_BEGIN/END_KERNELS
#include "sanawm/backend/cuda/cublas_check.cuh"  // SANAWM_CUBLAS_CHECK
#include "sanawm/backend/cuda/launch.cuh"        // launch_for_each
#include "sanawm/backend/cuda/stream.cuh"        // native_stream
#include "sanawm/backend/tags.hpp"               // cuda_t
#include "sanawm/core/bf16.hpp"                  // bf16
#include "sanawm/core/error.hpp"                 // make_error
#include "sanawm/core/fp8.hpp"                   // fp8_e4m3
#include "sanawm/core/int.hpp"                   // index_t
#include "sanawm/kernels/gemm/gemm.hpp"          // gemm_args, gemm_epilogue, check_gemm_args, gemm_epilogue_value

// Row-major on a column-major library. cuBLASLt computes D = alpha·op(A)·op(B) + beta·C on column-major matrices.
// A row-major matrix X [r, c] with leading dimension ld is, byte for byte, the column-major matrix Xᵀ [c, r] with the
// same ld. So our row-major C [M, N] is the column-major Cᵀ [N, M], and since Cᵀ = (A·Bᵀ)ᵀ = B·Aᵀ we ask cuBLASLt for
//     Cᵀ [N, M] = op_T(our B seen column-major as [K, N], ld = ldb) · op_N(our A seen column-major as [K, M], ld = lda)
// i.e. cuBLASLt's "A" is our B (transposed), its "B" is our A (not transposed), m_lt = N, n_lt = M, k_lt = K: the TN
// layout, which is also the one FP8 tensor-core GEMMs require on Hopper. cuBLASLt's bias vector has one entry per
// row of its D = one per column n of our C, which is exactly bias[n].

namespace sanawm::cuda {

/// How gemm(cuda_t, …) executes a given problem (see choose_gemm_path).
enum class gemm_path : unsigned char {
  cublaslt_fused,          ///< one cuBLASLt matmul, epilogue (bias, ReLU, GELU-tanh) fused by cuBLASLt
  cublaslt_then_epilogue,  ///< cuBLASLt matmul, then sanawm's epilogue kernel (SiLU, gate, residual, bf16 bias, …)
  fallback_kernel,         ///< sanawm's tiled CUDA GEMM, then the epilogue kernel (mixed input types, rejected shapes)
  epilogue_only,           ///< k == 0 or alpha == 0: no product at all, only beta·C and the epilogue
};

inline const char* gemm_path_name(gemm_path p) noexcept {
  switch (p) {
    case gemm_path::cublaslt_fused: return "cublaslt_fused";
    case gemm_path::cublaslt_then_epilogue: return "cublaslt_then_epilogue";
    case gemm_path::fallback_kernel: return "fallback_kernel";
    case gemm_path::epilogue_only: return "epilogue_only";
  }
  return "?";
}

namespace detail {

/// Bytes of the cuBLASLt workspace each context owns (allocated once): enough for the split-K and stream-K
/// algorithms cuBLASLt picks for large Hopper GEMMs.
inline constexpr std::size_t gemm_workspace_bytes = std::size_t{32} << 20;
/// Largest fp32 scratch (elements) the composed path with an in-place residual allocates; bigger problems are cut
/// into row chunks so that a 60 s clip (10⁵ tokens) does not need gigabytes of scratch.
inline constexpr index_t gemm_max_temp_elems = index_t{16} << 20;

template <class T>
constexpr cudaDataType_t lt_type() noexcept {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  else if constexpr (std::is_same_v<T, bf16>) return CUDA_R_16BF;
  else return CUDA_R_8F_E4M3;
}

/// The largest power of two (≤ 256) dividing the address: what cuBLASLt's alignment preferences describe.
inline std::uint32_t pointer_alignment(const void* p) noexcept {
  const auto u = reinterpret_cast<std::uintptr_t>(p);
  if (u == 0) return 256;
  return static_cast<std::uint32_t>(std::min<std::uintptr_t>(256, u & (~u + 1)));
}

/// Everything that decides which cuBLASLt algorithm is valid: shapes, leading dimensions, batch strides, types,
/// compute type, epilogue and pointer alignments. Pointers themselves are not part of it (an algorithm stays valid
/// for any pointers with at least the recorded alignment), so the cache hits on every call of a layer.
struct lt_key {
  std::int64_t m, n, k;                      // cuBLASLt's (m_lt = our N, n_lt = our M)
  std::int64_t lda, ldb, ldc;                // cuBLASLt's A (our B), B (our A), C = D
  std::int64_t batch, stride_a, stride_b, stride_c, stride_bias;
  std::int32_t a_type, b_type, c_type, compute;
  std::uint32_t epilogue;
  std::uint32_t align_a, align_b, align_c, align_bias;
  std::uint32_t has_scales;

  bool operator==(const lt_key& o) const noexcept { return std::memcmp(this, &o, sizeof(lt_key)) == 0; }
};
static_assert(std::has_unique_object_representations_v<lt_key>, "lt_key is compared and hashed bytewise");

struct lt_key_hash {
  std::size_t operator()(const lt_key& k) const noexcept {
    // FNV-1a over the bytes (the key has no padding, see the static_assert above).
    const auto* b = reinterpret_cast<const unsigned char*>(&k);
    std::size_t h = 1469598103934665603ull;
    for (std::size_t i = 0; i < sizeof(lt_key); ++i) h = (h ^ b[i]) * 1099511628211ull;
    return h;
  }
};

struct lt_cached {
  bool supported = false;  // false: cuBLASLt returned no algorithm; remembered so it is not asked again
  cublasLtMatmulAlgo_t algo{};
};

// RAII for the three descriptor kinds (created per call: cheap host-side structs).
struct lt_matmul_desc {
  cublasLtMatmulDesc_t d = nullptr;
  lt_matmul_desc(cublasComputeType_t compute, cudaDataType_t scale) {
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d, compute, scale));
  }
  ~lt_matmul_desc() {
    if (d) (void)cublasLtMatmulDescDestroy(d);
  }
  lt_matmul_desc(const lt_matmul_desc&) = delete;
  lt_matmul_desc& operator=(const lt_matmul_desc&) = delete;
  template <class T>
  void set(cublasLtMatmulDescAttributes_t attr, const T& v) {
    SANAWM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof(T)));
  }
};
struct lt_layout {
  cublasLtMatrixLayout_t d = nullptr;
  lt_layout(cudaDataType_t type, std::int64_t rows, std::int64_t cols, std::int64_t ld, std::int64_t batch,
            std::int64_t stride) {
    SANAWM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d, type, static_cast<std::uint64_t>(rows),
                                                   static_cast<std::uint64_t>(cols), ld));
    if (batch > 1) {
      const auto count = static_cast<std::int32_t>(batch);
      SANAWM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(d, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
      SANAWM_CUBLAS_CHECK(
          cublasLtMatrixLayoutSetAttribute(d, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
    }
  }
  ~lt_layout() {
    if (d) (void)cublasLtMatrixLayoutDestroy(d);
  }
  lt_layout(const lt_layout&) = delete;
  lt_layout& operator=(const lt_layout&) = delete;
};
struct lt_preference {
  cublasLtMatmulPreference_t d = nullptr;
  lt_preference() { SANAWM_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d)); }
  ~lt_preference() {
    if (d) (void)cublasLtMatmulPreferenceDestroy(d);
  }
  lt_preference(const lt_preference&) = delete;
  lt_preference& operator=(const lt_preference&) = delete;
  template <class T>
  void set(cublasLtMatmulPreferenceAttributes_t attr, const T& v) {
    SANAWM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d, attr, &v, sizeof(T)));
  }
};

/// One cuBLASLt handle, workspace, fp32 scratch and heuristic cache per (device, stream): the workspace is only
/// ever used by work queued on that stream, so stream order makes reuse safe without synchronisation.
class gemm_context {
 public:
  gemm_context() {
    SANAWM_CUBLAS_CHECK(cublasLtCreate(&handle_));
    SANAWM_CUDA_CHECK(cudaMalloc(&workspace_, gemm_workspace_bytes));
  }
  gemm_context(const gemm_context&) = delete;
  gemm_context& operator=(const gemm_context&) = delete;
  ~gemm_context() {
    if (temp_) ignore_error(cudaFree(temp_));
    if (workspace_) ignore_error(cudaFree(workspace_));
    if (handle_) (void)cublasLtDestroy(handle_);
  }

  cublasLtHandle_t handle() const noexcept { return handle_; }
  void* workspace() const noexcept { return workspace_; }
  std::mutex& mutex() noexcept { return mutex_; }

  /// An fp32 scratch of at least n elements for work on `stream`. Growing waits for the stream first (the old
  /// block may still be in use by queued kernels); steady-state calls never allocate.
  float* temp(index_t n, cudaStream_t stream) {
    if (n > temp_elems_) {
      SANAWM_CUDA_CHECK(cudaStreamSynchronize(stream));
      if (temp_) SANAWM_CUDA_CHECK(cudaFree(temp_));
      temp_ = nullptr;
      temp_elems_ = 0;
      void* p = nullptr;
      SANAWM_CUDA_CHECK(cudaMalloc(&p, static_cast<std::size_t>(n) * sizeof(float)));
      temp_ = static_cast<float*>(p);
      temp_elems_ = n;
    }
    return temp_;
  }

  /// The cached algorithm for `key`, asking cuBLASLt's heuristic on the first call (the slow part: ~0.1 ms).
  const lt_cached& algo(const lt_key& key, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                        cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c) {
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    lt_preference pref;
    pref.set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<std::uint64_t>(gemm_workspace_bytes));
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_a);
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_b);
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_c);
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_c);
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle_, desc, a, b, c, c, pref.d, 1, &result, &found);
    lt_cached entry;
    // NOT_SUPPORTED (or no result) means "this combination has no kernel": take the fallback, do not throw.
    entry.supported = st == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS;
    if (entry.supported) entry.algo = result.algo;
    else if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED && st != CUBLAS_STATUS_INVALID_VALUE)
      SANAWM_CUBLAS_CHECK(st);
    return cache_.emplace(key, entry).first->second;
  }

 private:
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  float* temp_ = nullptr;
  index_t temp_elems_ = 0;
  std::mutex mutex_;
  std::unordered_map<lt_key, lt_cached, lt_key_hash> cache_;
};

/// The context of the current device and `stream`, created on first use. Contexts live until the process exits
/// and are deliberately never destroyed: static destructors run after the CUDA runtime may have shut down, when
/// cudaFree/cublasLtDestroy are no longer safe to call. (A stream destroyed and another created at the same address
/// reuses its context; that is safe once the old stream's work has finished.)
inline gemm_context& gemm_context_for(cudaStream_t stream) {
  int device = 0;
  SANAWM_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex registry_mutex;
  static auto* registry = new std::map<std::pair<int, std::uintptr_t>, std::unique_ptr<gemm_context>>();
  std::lock_guard lk(registry_mutex);
  auto& slot = (*registry)[{device, reinterpret_cast<std::uintptr_t>(stream)}];
  if (!slot) slot = std::make_unique<gemm_context>();
  return *slot;
}

// ---- sanawm's own kernels: the tiled fallback GEMM and the epilogue -------------------------------------------

template <class T, bool RoundBf16>
SANAWM_DEVICE SANAWM_FORCEINLINE float gemm_load(const T& x) {
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (RoundBf16) return bf16(x).to_float();
    else return x;
  } else {
    return x.to_float();
  }
}

inline constexpr int gemm_fallback_tile = 16;

SANAWM_BEGIN_KERNELS

// out[b][r][c] = alpha·scale_a·scale_b·Σ_k A_b[r, k]·B_b[c, k] for a 16×16 tile per block (shared-memory tiles of
// A and B along K). Simple on purpose: it serves shapes and type mixes cuBLASLt rejects, not the fast path.
template <class TA, class TB, bool RoundBf16>
SANAWM_KERNEL void gemm_fallback_kernel(index_t m, index_t n, index_t k, const TA* a, index_t lda, index_t stride_a,
                                        const TB* b, index_t ldb, index_t stride_b, index_t batch, float alpha,
                                        const float* scale_a, const float* scale_b, float* out) {
  constexpr int T = gemm_fallback_tile;
  __shared__ float as[T][T + 1];
  __shared__ float bs[T][T + 1];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const index_t row0 = static_cast<index_t>(blockIdx.y) * T, col0 = static_cast<index_t>(blockIdx.x) * T;
  const float scale = alpha * (scale_a ? *scale_a : 1.0f) * (scale_b ? *scale_b : 1.0f);
  for (index_t bt = blockIdx.z; bt < batch; bt += gridDim.z) {
    const TA* ab = a + bt * stride_a;
    const TB* bb = b + bt * stride_b;
    float acc = 0.0f;
    for (index_t k0 = 0; k0 < k; k0 += T) {
      const index_t kk = k0 + tx;
      as[ty][tx] = row0 + ty < m && kk < k ? gemm_load<TA, RoundBf16>(ab[(row0 + ty) * lda + kk]) : 0.0f;
      bs[ty][tx] = col0 + ty < n && kk < k ? gemm_load<TB, RoundBf16>(bb[(col0 + ty) * ldb + kk]) : 0.0f;
      __syncthreads();
      SANAWM_UNROLL for (int q = 0; q < T; ++q) acc = fmaf(as[ty][q], bs[tx][q], acc);
      __syncthreads();
    }
    if (row0 + ty < m && col0 + tx < n) out[(bt * m + row0 + ty) * n + col0 + tx] = scale * acc;
  }
}

SANAWM_END_KERNELS

/// Where the epilogue kernel finds the product.
enum class product_source : unsigned char {
  temp,      // fp32 scratch [batches, rows, n] dense, alpha applied, beta·C not yet added
  in_c,      // C itself already holds alpha·acc + beta·C_old (+ bias when fused)
  zero,      // no product (k == 0 or alpha == 0)
};

/// The elementwise epilogue over rows [row0, row0 + rows) of batches [b0, b0 + batches): one work item per element.
template <class TC>
struct gemm_epilogue_body {
  const float* src = nullptr;
  product_source source = product_source::zero;
  TC* c = nullptr;  // batch 0 of C
  index_t ldc = 0, stride_c = 0;
  index_t b0 = 0, row0 = 0, rows = 0, n = 0;
  float beta = 0.0f;
  gemm_epilogue<TC> e{};  // bias already cleared when cuBLASLt fused it

  SANAWM_HD void operator()(index_t i) const {
    const index_t j = i % n, r = (i / n) % rows, bt = b0 + i / (n * rows);
    const index_t m = row0 + r;
    TC* cp = c + bt * stride_c + m * ldc + j;
    float t = 0.0f;
    if (source == product_source::in_c) {
      t = static_cast<float>(*cp);
    } else {
      if (source == product_source::temp) t = src[i];
      if (beta != 0.0f) t += beta * static_cast<float>(*cp);  // beta == 0: C_old is never read
    }
    *cp = gemm_store_cast<TC>(gemm_epilogue_value(e, bt, m, j, t));
  }
};

template <class TC>
void launch_epilogue(cudaStream_t stream, const gemm_epilogue_body<TC>& body, index_t batches) {
  launch_for_each(stream, batches * body.rows * body.n, body);
}

/// What cuBLASLt should compute: D = our C (direct) or an fp32 scratch (temp).
struct lt_request {
  bool to_temp = false;
  float* temp = nullptr;   // when to_temp: [batch or chunk rows, n] dense fp32
  index_t row0 = 0, rows = 0;  // row range of our A/C (chunking of the temp path, batch == 1 only)
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const float* bias = nullptr;  // fused bias (fp32 C only)
};

template <class TA, class TB>
cublasComputeType_t lt_compute_type(gemm_compute c) noexcept {
  if constexpr (std::is_same_v<TA, float> && std::is_same_v<TB, float>) {
    if (c == gemm_compute::tf32) return CUBLAS_COMPUTE_32F_FAST_TF32;
    if (c == gemm_compute::bf16) return CUBLAS_COMPUTE_32F_FAST_16BF;  // inputs rounded to bf16, fp32 accumulate
  }
  return CUBLAS_COMPUTE_32F;
}

/// Runs one cuBLASLt matmul for `p` as described by `req` (only asks whether it can, when `launch` is false);
/// returns false, launching nothing, when cuBLASLt has no algorithm for it. Row-major ↔ column-major mapping: see
/// the comment at the top of this file.
template <class TA, class TB, class TC>
bool lt_matmul(gemm_context& ctx, const gemm_args<TA, TB, TC>& p, const lt_request& req, cudaStream_t stream,
               bool launch = true) {
  static_assert((std::is_same_v<TA, TB>), "cuBLASLt needs one input type (mixed inputs take the fallback)");
  const bool chunked = req.rows != p.m || req.row0 != 0;
  const index_t rows = req.rows;
  const void* a_lt = p.b;                      // cuBLASLt's A = our B  [K, N] column-major, ld = ldb, op = T
  const void* b_lt = p.a + req.row0 * p.lda;   // cuBLASLt's B = our A  [K, M] column-major, ld = lda, op = N
  void* d = req.to_temp ? static_cast<void*>(req.temp) : static_cast<void*>(p.c + req.row0 * p.ldc);
  const cudaDataType_t d_type = req.to_temp ? CUDA_R_32F : lt_type<TC>();
  const index_t ldd = req.to_temp ? p.n : p.ldc;
  const index_t stride_d = req.to_temp ? rows * p.n : p.batch_stride_c;
  const index_t batch = chunked ? 1 : p.batch;
  if constexpr (std::is_same_v<TA, fp8_e4m3>) {
    // cuBLASLt's FP8 kernels require (cublasLtMatmul, "FP8"): every matrix dimension meeting the Tensor Core Usage
    // rules, i.e. 16-byte aligned pointers, leading dimensions, batch strides, k rows and m_lt (= our n) columns of D.
    // These are not left to the heuristic: a problem off them takes the fallback kernel.
    const std::size_t d_size = req.to_temp ? sizeof(float) : sizeof(TC);
    const auto b16 = [](index_t elems, std::size_t size) { return static_cast<std::size_t>(elems) * size % 16 == 0; };
    const bool ok = b16(p.k, 1) && b16(p.lda, 1) && b16(p.ldb, 1) && b16(p.n, d_size) && b16(ldd, d_size) &&
                    pointer_alignment(a_lt) >= 16 && pointer_alignment(b_lt) >= 16 && pointer_alignment(d) >= 16 &&
                    (batch <= 1 || (b16(p.batch_stride_a, 1) && b16(p.batch_stride_b, 1) && b16(stride_d, d_size)));
    if (!ok) return false;
  }

  lt_key key{};
  key.m = p.n, key.n = rows, key.k = p.k;
  key.lda = p.ldb, key.ldb = p.lda, key.ldc = ldd;
  key.batch = batch;
  key.stride_a = batch > 1 ? p.batch_stride_b : 0;
  key.stride_b = batch > 1 ? p.batch_stride_a : 0;
  key.stride_c = batch > 1 ? stride_d : 0;
  key.stride_bias = batch > 1 && req.bias ? p.epilogue.batch_stride_bias : 0;
  key.a_type = lt_type<TB>(), key.b_type = lt_type<TA>(), key.c_type = d_type;
  key.compute = lt_compute_type<TA, TB>(resolve_gemm_compute<TA, TB>(p.compute));
  key.epilogue = static_cast<std::uint32_t>(req.epilogue);
  key.align_a = pointer_alignment(a_lt), key.align_b = pointer_alignment(b_lt), key.align_c = pointer_alignment(d);
  key.align_bias = req.bias ? pointer_alignment(req.bias) : 0;
  key.has_scales = p.scale_a || p.scale_b ? 1u : 0u;

  lt_matmul_desc desc(static_cast<cublasComputeType_t>(key.compute), CUDA_R_32F);
  desc.set(CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
  desc.set(CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
  desc.set(CUBLASLT_MATMUL_DESC_EPILOGUE, req.epilogue);
  if (req.bias) {
    desc.set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, static_cast<const void*>(req.bias));
    if (batch > 1) desc.set(CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, static_cast<std::int64_t>(key.stride_bias));
  }
  if constexpr (std::is_same_v<TA, fp8_e4m3>) {
    // cuBLASLt's A is our B: its A scale is our scale_b (and B's is our scale_a).
    if (p.scale_b) desc.set(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, static_cast<const void*>(p.scale_b));
    if (p.scale_a) desc.set(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, static_cast<const void*>(p.scale_a));
  }
  lt_layout la(static_cast<cudaDataType_t>(key.a_type), p.k, p.n, p.ldb, batch, key.stride_a);
  lt_layout lb(static_cast<cudaDataType_t>(key.b_type), p.k, rows, p.lda, batch, key.stride_b);
  lt_layout lc(d_type, p.n, rows, ldd, batch, key.stride_c);

  const lt_cached& entry = ctx.algo(key, desc.d, la.d, lb.d, lc.d);
  if (!entry.supported) return false;
  if (!launch) return true;
  // Direct: C_lt = D_lt = our C, so beta·C is cuBLASLt's; to temp: C = D = scratch with beta 0 (the epilogue
  // kernel adds beta·C itself, reading the real C).
  const float alpha = p.alpha, beta = req.to_temp ? 0.0f : p.beta;
  SANAWM_CUBLAS_CHECK(cublasLtMatmul(ctx.handle(), desc.d, &alpha, a_lt, la.d, b_lt, lb.d, &beta, d, lc.d, d, lc.d,
                                     &entry.algo, ctx.workspace(), gemm_workspace_bytes, stream));
  return true;
}

/// cuBLASLt's own epilogue for `e`, when it can express it exactly for output TC: bias (fp32 output only — cuBLASLt's
/// bias has D's type and ours is fp32), ReLU and GELU (tanh approximation, as cuBLASLt implements it), nothing else.
template <class TA, class TC>
bool lt_epilogue_for(const gemm_epilogue<TC>& e, cublasLtEpilogue_t& out) noexcept {
  if (e.gate || e.residual || std::is_same_v<TA, fp8_e4m3>) return false;
  const bool bias = e.bias != nullptr;
  if (bias && !std::is_same_v<TC, float>) return false;
  switch (e.activation) {
    case gemm_activation::none: out = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT; return true;
    case gemm_activation::relu: out = bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU; return true;
    case gemm_activation::gelu_tanh: out = bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU; return true;
    case gemm_activation::silu: return false;  // no SiLU/Swish epilogue in cuBLASLt
  }
  return false;
}

/// Runs the tiled fallback into `out` [batch, m, n] fp32 (alpha and fp8 scales applied).
template <class TA, class TB, class TC>
void run_fallback_kernel(const gemm_args<TA, TB, TC>& p, float* out, cudaStream_t stream) {
  constexpr int T = gemm_fallback_tile;
  const index_t gx = (p.n + T - 1) / T, gy = (p.m + T - 1) / T;
  SANAWM_EXPECT(gx <= 0x7FFFFFFF && gy <= 65535, "gemm", "the fallback kernel handles m ≤ ", 65535 * T,
                " rows, got m = ", p.m);
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(std::min<index_t>(p.batch, 65535)));
  const dim3 block(T, T);
  const bool round = resolve_gemm_compute<TA, TB>(p.compute) == gemm_compute::bf16;
  if (round) {
    gemm_fallback_kernel<TA, TB, true><<<grid, block, 0, stream>>>(p.m, p.n, p.k, p.a, p.lda, p.batch_stride_a, p.b,
                                                                   p.ldb, p.batch_stride_b, p.batch, p.alpha,
                                                                   p.scale_a, p.scale_b, out);
  } else {
    gemm_fallback_kernel<TA, TB, false><<<grid, block, 0, stream>>>(p.m, p.n, p.k, p.a, p.lda, p.batch_stride_a, p.b,
                                                                    p.ldb, p.batch_stride_b, p.batch, p.alpha,
                                                                    p.scale_a, p.scale_b, out);
  }
  SANAWM_CUDA_CHECK_LAUNCH();
}

template <class TA, class TB, class TC>
gemm_epilogue_body<TC> epilogue_body(const gemm_args<TA, TB, TC>& p, product_source src, const float* temp) {
  gemm_epilogue_body<TC> body;
  body.src = temp;
  body.source = src;
  body.c = p.c;
  body.ldc = p.ldc;
  body.stride_c = p.batch_stride_c;
  body.rows = p.m;
  body.n = p.n;
  body.beta = p.beta;
  body.e = p.epilogue;
  return body;
}

/// The whole dispatch; `force_fallback` skips cuBLASLt (tests of the fallback). Returns the path taken.
template <class TA, class TB, class TC>
gemm_path run_gemm(const gemm_args<TA, TB, TC>& p, cudaStream_t stream, bool force_fallback, bool dry_run) {
  check_gemm_args(p, "gemm");
  if (p.batch == 0 || p.m == 0 || p.n == 0) return gemm_path::epilogue_only;
  if (p.k == 0 || p.alpha == 0.0f) {
    // BLAS: A and B are not read. C = epilogue(beta·C).
    if (!dry_run) launch_epilogue(stream, epilogue_body(p, product_source::zero, nullptr), p.batch);
    return gemm_path::epilogue_only;
  }
  gemm_context& ctx = gemm_context_for(stream);
  std::lock_guard lk(ctx.mutex());  // one enqueue at a time per context: the scratch and cache are shared

  constexpr bool lt_types = std::is_same_v<TA, TB>;
  const bool residual_is_c = gemm_residual_is_c(p);
  if constexpr (lt_types) {
    if (!force_fallback) {
      // 1. Everything inside cuBLASLt.
      cublasLtEpilogue_t epi{};
      if (lt_epilogue_for<TA>(p.epilogue, epi)) {
        lt_request req;
        req.rows = p.m;
        req.epilogue = epi;
        req.bias = p.epilogue.bias;
        // A dry run still asks the heuristic (and caches the answer) but launches nothing.
        if (lt_matmul(ctx, p, req, stream, !dry_run)) return gemm_path::cublaslt_fused;
      }
      // 2. cuBLASLt for the product, sanawm's kernel for the epilogue.
      if (!residual_is_c) {
        // The product (alpha·acc + beta·C, plus the bias when C is fp32) goes straight into C, which the epilogue
        // kernel then finishes in place: no scratch at all.
        lt_request req;
        req.rows = p.m;
        const bool fuse_bias = p.epilogue.bias != nullptr && std::is_same_v<TC, float> && !std::is_same_v<TA, fp8_e4m3>;
        if (fuse_bias) {
          req.epilogue = CUBLASLT_EPILOGUE_BIAS;
          req.bias = p.epilogue.bias;
        }
        if (lt_matmul(ctx, p, req, stream, !dry_run)) {
          if (!dry_run) {
            auto body = epilogue_body(p, product_source::in_c, nullptr);
            if (fuse_bias) body.e.bias = nullptr;
            launch_epilogue(stream, body, p.batch);
          }
          return gemm_path::cublaslt_then_epilogue;
        }
      } else {
        // The residual is C: C must be read before it is written, so the product goes to an fp32 scratch, in row
        // chunks (batch == 1) that bound the scratch to gemm_max_temp_elems.
        const index_t chunk = p.batch == 1 ? std::max<index_t>(1, std::min(p.m, gemm_max_temp_elems / p.n)) : p.m;
        lt_request probe;
        probe.to_temp = true;
        probe.rows = chunk;
        bool ok = lt_matmul(ctx, p, probe, stream, false);
        if (ok && p.m % chunk != 0) {  // the last, shorter chunk is a different problem for cuBLASLt
          lt_request last = probe;
          last.rows = p.m % chunk;
          ok = lt_matmul(ctx, p, last, stream, false);
        }
        if (ok) {
          if (!dry_run) {
            float* temp = ctx.temp(p.batch * chunk * p.n, stream);
            for (index_t r0 = 0; r0 < p.m; r0 += chunk) {
              lt_request req = probe;
              req.temp = temp;
              req.row0 = r0;
              req.rows = std::min(chunk, p.m - r0);
              if (!lt_matmul(ctx, p, req, stream)) {
                // A chunk whose A rows start at a less aligned address than the probe's may lack a kernel: compute
                // just that chunk with the fallback (batch == 1 whenever there is more than one chunk).
                gemm_args<TA, TB, TC> sub = p;
                sub.a = p.a + r0 * p.lda;
                sub.m = req.rows;
                run_fallback_kernel(sub, temp, stream);
              }
              auto body = epilogue_body(p, product_source::temp, temp);
              body.row0 = r0;
              body.rows = req.rows;
              launch_epilogue(stream, body, p.batch);
            }
          }
          return gemm_path::cublaslt_then_epilogue;
        }
      }
    }
  }
  // 3. The fallback kernel into an fp32 scratch [batch, m, n], then the epilogue.
  if (!dry_run) {
    float* temp = ctx.temp(p.batch * p.m * p.n, stream);
    run_fallback_kernel(p, temp, stream);
    launch_epilogue(stream, epilogue_body(p, product_source::temp, temp), p.batch);
  }
  return gemm_path::fallback_kernel;
}

}  // namespace detail

/// Which path gemm(cuda_t{stream}, p) takes for `p` on the current device (asks cuBLASLt's heuristic, cached;
/// launches nothing). Throws like gemm for invalid arguments.
template <class TA, class TB, class TC>
gemm_path choose_gemm_path(cuda_t be, const gemm_args<TA, TB, TC>& p) {
  return detail::run_gemm(p, native_stream(be), false, true);
}

/// gemm through sanawm's tiled fallback kernel and epilogue only (no cuBLASLt): for tests, and as the reference
/// point of the GPU benchmarks. Same semantics and checks as gemm(cuda_t, …).
template <class TA, class TB, class TC>
void gemm_fallback(cuda_t be, const gemm_args<TA, TB, TC>& p) {
  (void)detail::run_gemm(p, native_stream(be), true, false);
}

}  // namespace sanawm::cuda

namespace sanawm {

/// C = epilogue(alpha·A·Bᵀ + beta·C) on the device, queued on be's stream (see gemm_args / gemm_epilogue in
/// gemm.hpp; all pointers are device pointers, fp8 scales included). A and B: fp32, bf16 or fp8 e4m3 (both fp8);
/// C: fp32 or bf16; fp32 accumulation. cuBLASLt does the work whenever it has a kernel for the problem (fp32 with
/// TF32 off unless gemm_compute::tf32, bf16, fp8 with scales), fusing bias/ReLU/GELU-tanh when it can express them;
/// SiLU, gate, residual and bf16-output bias run in sanawm's epilogue kernel; mixed input types and shapes cuBLASLt
/// rejects run sanawm's tiled fallback kernel. Asynchronous like any kernel launch; throws sanawm::error for invalid
/// arguments and cuda_error / cublas_error for runtime failures.
template <class TA, class TB, class TC>
void gemm(cuda_t be, const gemm_args<TA, TB, TC>& p) {
  (void)cuda::detail::run_gemm(p, native_stream(be), false, false);
}

}  // namespace sanawm

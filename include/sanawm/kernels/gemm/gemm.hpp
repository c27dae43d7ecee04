// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gemm/gemm.hpp — GEMM API shared by every backend: C = alpha·A·Bᵀ + beta·C with a fused epilogue
// (bias, ReLU/SiLU/GELU-tanh, gate, residual), argument checks and the portable epilogue math.
#pragma once

#include <cmath>        // std::exp, std::tanh (host pass)
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uintptr_t
#include <type_traits>  // std::is_same_v, std::remove_const_t

#include "sanawm/config.hpp"         // SANAWM_HD, SANAWM_DEVICE_PASS
#include "sanawm/core/bf16.hpp"      // bf16
#include "sanawm/core/error.hpp"     // make_error, SANAWM_EXPECT
#include "sanawm/core/fp8.hpp"       // fp8_e4m3
#include "sanawm/core/int.hpp"       // index_t
#include "sanawm/core/tensor.hpp"    // tensor_view

namespace sanawm {

// ---- element types ---------------------------------------------------------------------------------------------

/// Element types A and B may have. fp32 and bf16 run on every backend; fp8 e4m3 (with per-tensor scales) only on
/// CUDA, where cuBLASLt has fp8 tensor-core GEMMs.
template <class T>
concept gemm_input_type = std::is_same_v<T, float> || std::is_same_v<T, bf16> || std::is_same_v<T, fp8_e4m3>;

/// Element types C (and the residual) may have.
template <class T>
concept gemm_output_type = std::is_same_v<T, float> || std::is_same_v<T, bf16>;

/// The activation of the fused epilogue.
enum class gemm_activation : unsigned char {
  none,       ///< identity
  relu,       ///< max(x, 0)
  silu,       ///< x·sigmoid(x) (SANA-WM's FFN inverted_conv, t_block)
  gelu_tanh,  ///< 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (SANA-WM's caption projection)
};

/// How the products are formed. Accumulation is always fp32 (fp64 in the reference).
enum class gemm_compute : unsigned char {
  automatic,  ///< fp32 when A and B are both fp32, bf16 when either is bf16, fp8 when both are fp8
  fp32,       ///< products of the inputs widened to fp32 (bf16 inputs are widened exactly); CUDA: TF32 off
  bf16,       ///< inputs rounded to bf16 (round to nearest even), products accumulated in fp32
  tf32,       ///< CUDA only, fp32 inputs: tensor cores with TF32 products (CUBLAS_COMPUTE_32F_FAST_TF32)
};

/// The compute mode `automatic` resolves to for inputs TA, TB.
template <class TA, class TB>
constexpr gemm_compute resolve_gemm_compute(gemm_compute c) noexcept {
  if (c != gemm_compute::automatic) return c;
  if constexpr (std::is_same_v<TA, float> && std::is_same_v<TB, float>) return gemm_compute::fp32;
  else return gemm_compute::bf16;  // fp8 inputs on CUDA run their own path; see gemm_cuda.cuh
}

// ---- the epilogue ---------------------------------------------------------------------------------------------

/// The fused epilogue: what happens to each accumulated element before it is stored. With acc = Σ_k A[m,k]·B[n,k]:
///
///     t      = alpha·acc + beta·C_old[m,n] + bias[n]     (beta == 0: C_old is not read, so NaN there is harmless)
///     t      = act(t)
///     t      = gate[m / gate_group_rows, n] · t          (when gate != nullptr)
///     t      = t + residual[m, n]                         (when residual != nullptr)
///     C[m,n] = t rounded to TC
///
/// This is cuBLASLt's order for bias and activation (bias before the activation), followed by SANA-WM's gated
/// residual `x ← x + gate_msa ⊙ proj(attn)`, where gate is per latent frame: gate_group_rows = S = 880 tokens per
/// frame, ld_gate = C. All pointers are in the backend's memory space (host for cpu_t, device for cuda_t).
/// The residual may be exactly C itself (same pointer, ld and batch stride: the in-place `x += gate ⊙ y`); any
/// other overlap between the residual and C is a precondition violation.
template <class TR = float>
struct gemm_epilogue {
  const float* bias = nullptr;  ///< [N] fp32, added before the activation; nullptr = no bias
  index_t batch_stride_bias = 0;
  gemm_activation activation = gemm_activation::none;
  const float* gate = nullptr;  ///< [ceil(M / gate_group_rows), ld_gate] fp32; nullptr = no gate
  index_t ld_gate = 0;          ///< elements between gate rows; 0 broadcasts one [N] row to all rows
  index_t gate_group_rows = 1;  ///< consecutive rows of C that share one gate row (≥ 1)
  index_t batch_stride_gate = 0;
  const TR* residual = nullptr;  ///< [M, ld_residual] in C's type; nullptr = no residual
  index_t ld_residual = 0;
  index_t batch_stride_residual = 0;

  /// True when nothing but alpha/beta scaling happens (the plain BLAS GEMM).
  SANAWM_HD constexpr bool is_identity() const noexcept {
    return bias == nullptr && activation == gemm_activation::none && gate == nullptr && residual == nullptr;
  }
};

/// One (optionally batched, strided) GEMM: for every batch b,
///   C_b[M, N] = epilogue(alpha · A_b[M, K] · B_b[N, K]ᵀ, beta · C_b)
/// A, B and C are row-major with leading dimensions (elements between rows) lda ≥ K, ldb ≥ K, ldc ≥ N, so column
/// slices of wider matrices work. B is a PyTorch Linear weight [out_features, in_features]: y = x·Wᵀ + b is
/// gemm(a = x, b = W, bias = b). Batch b starts at a + b·batch_stride_a (and likewise for B and C); a batch stride
/// of 0 reuses one matrix for all batches (not allowed for C).
/// alpha/beta follow BLAS exactly: beta == 0 means C is write-only, and alpha == 0 means A and B are not read.
template <class TA, class TB, class TC>
struct gemm_args {
  static_assert(gemm_input_type<TA> && gemm_input_type<TB>, "sanawm: gemm inputs must be float, bf16 or fp8_e4m3");
  static_assert(gemm_output_type<TC>, "sanawm: gemm output must be float or bf16");

  index_t m = 0, n = 0, k = 0;
  const TA* a = nullptr;
  index_t lda = 0;
  const TB* b = nullptr;
  index_t ldb = 0;
  TC* c = nullptr;
  index_t ldc = 0;
  float alpha = 1.0f;
  float beta = 0.0f;
  index_t batch = 1;
  index_t batch_stride_a = 0, batch_stride_b = 0, batch_stride_c = 0;
  gemm_epilogue<TC> epilogue{};
  gemm_compute compute = gemm_compute::automatic;
  /// fp8 only: per-tensor dequantisation scales (acc is multiplied by *scale_a · *scale_b); device pointers,
  /// nullptr = 1. Must be nullptr for fp32/bf16 inputs.
  const float* scale_a = nullptr;
  const float* scale_b = nullptr;
};

// ---- portable epilogue math (host, device, and the CPU kernels' scalar tails) ---------------------------------

namespace detail {
SANAWM_HD inline float gemm_exp(float x) noexcept {
#if SANAWM_DEVICE_PASS
  return ::expf(x);
#else
  return std::exp(x);
#endif
}
SANAWM_HD inline double gemm_exp(double x) noexcept {
#if SANAWM_DEVICE_PASS
  return ::exp(x);
#else
  return std::exp(x);
#endif
}
}  // namespace detail

/// √(2/π)·2, the slope of the sigmoid form of GELU-tanh (see gelu_tanh below).
inline constexpr double gelu_tanh_two_sqrt_2_over_pi = 1.5957691216057307;
inline constexpr double gelu_tanh_cubic = 0.044715;

SANAWM_HD constexpr float relu(float x) noexcept { return x > 0.0f ? x : 0.0f; }

/// x·sigmoid(x) = x / (1 + e^(−x)). For x → −∞ the exponential overflows to +inf and the result is −0.
SANAWM_HD inline float silu(float x) noexcept { return x / (1.0f + detail::gemm_exp(-x)); }

/// GELU with the tanh approximation. 1 + tanh(y) = 2·sigmoid(2y), so 0.5·x·(1 + tanh(y)) = x·sigmoid(2y): one
/// exponential and no cancellation near y = 0 (the CPU SIMD epilogue evaluates the same form).
SANAWM_HD inline float gelu_tanh(float x) noexcept {
  const float z = static_cast<float>(gelu_tanh_two_sqrt_2_over_pi) *
                  (x + static_cast<float>(gelu_tanh_cubic) * x * x * x);
  return x / (1.0f + detail::gemm_exp(-z));
}

SANAWM_HD inline float apply_activation(gemm_activation act, float x) noexcept {
  switch (act) {
    case gemm_activation::relu: return relu(x);
    case gemm_activation::silu: return silu(x);
    case gemm_activation::gelu_tanh: return gelu_tanh(x);
    case gemm_activation::none: break;
  }
  return x;
}

/// The epilogue for one element, from t = alpha·acc + beta·C_old (already formed by the caller): adds the bias,
/// applies the activation, the gate and the residual (see gemm_epilogue). `batch` selects the batch's operands.
template <class TR>
SANAWM_HD inline float gemm_epilogue_value(const gemm_epilogue<TR>& e, index_t batch, index_t m, index_t n,
                                           float t) noexcept {
  if (e.bias) t += e.bias[batch * e.batch_stride_bias + n];
  t = apply_activation(e.activation, t);
  if (e.gate) t *= e.gate[batch * e.batch_stride_gate + (m / e.gate_group_rows) * e.ld_gate + n];
  if (e.residual) t += static_cast<float>(e.residual[batch * e.batch_stride_residual + m * e.ld_residual + n]);
  return t;
}

/// float → TC (round to nearest even for bf16).
template <class TC>
SANAWM_HD constexpr TC gemm_store_cast(float x) noexcept {
  if constexpr (std::is_same_v<TC, float>) return x;
  else return TC(x);
}

// ---- argument checks --------------------------------------------------------------------------------------------

namespace detail {

// Elements spanned by one [rows, cols] matrix with leading dimension ld (0 when empty).
constexpr index_t gemm_footprint(index_t rows, index_t cols, index_t ld) noexcept {
  return rows <= 0 || cols <= 0 ? 0 : (rows - 1) * ld + cols;
}

}  // namespace detail

/// True when the residual is C itself (the in-place `x ← x + gate ⊙ (…)`): same address, ld and batch stride.
template <class TA, class TB, class TC>
constexpr bool gemm_residual_is_c(const gemm_args<TA, TB, TC>& p) noexcept {
  return p.epilogue.residual != nullptr && static_cast<const void*>(p.epilogue.residual) == static_cast<const void*>(p.c);
}

/// Throws sanawm::error("[op] …") naming the first problem with `p`: negative sizes, leading dimensions shorter
/// than a row, null pointers for non-empty operands, overlapping batches of C, a residual that is C with a different
/// ld/stride, fp8 scales on non-fp8 inputs, or a gate description that cannot be indexed.
/// With b_packed, B comes pre-packed (cpu::packed_gemm_b) and p.b / p.ldb are not checked.
template <class TA, class TB, class TC>
void check_gemm_args(const gemm_args<TA, TB, TC>& p, const char* op = "gemm", bool b_packed = false) {
  SANAWM_EXPECT(p.m >= 0 && p.n >= 0 && p.k >= 0, op, "sizes must be >= 0, got m=", p.m, " n=", p.n, " k=", p.k);
  SANAWM_EXPECT(p.batch >= 0, op, "batch must be >= 0, got ", p.batch);
  if (p.batch == 0 || p.m == 0 || p.n == 0) return;  // nothing is read or written
  SANAWM_EXPECT(p.ldc >= p.n, op, "ldc ", p.ldc, " < n ", p.n, ": rows of c [m, n] would overlap");
  SANAWM_EXPECT(p.c != nullptr, op, "c is null but c [", p.m, ", ", p.n, "] is not empty");
  const bool reads_ab = p.k > 0 && p.alpha != 0.0f;
  if (p.k > 0) {
    SANAWM_EXPECT(p.lda >= p.k, op, "lda ", p.lda, " < k ", p.k, ": rows of a [m, k] would overlap");
    SANAWM_EXPECT(b_packed || p.ldb >= p.k, op, "ldb ", p.ldb, " < k ", p.k, ": rows of b [n, k] would overlap");
    SANAWM_EXPECT(!reads_ab || p.a != nullptr, op, "a is null but a [", p.m, ", ", p.k, "] is not empty");
    SANAWM_EXPECT(b_packed || !reads_ab || p.b != nullptr, op, "b is null but b [", p.n, ", ", p.k, "] is not empty");
  }
  if (p.batch > 1) {
    SANAWM_EXPECT(p.batch_stride_a >= 0 && p.batch_stride_b >= 0, op, "batch strides of a and b must be >= 0, got ",
                  p.batch_stride_a, " and ", p.batch_stride_b);
    const index_t fc = detail::gemm_footprint(p.m, p.n, p.ldc);
    SANAWM_EXPECT(p.batch_stride_c >= fc, op, "batch_stride_c ", p.batch_stride_c, " < ", fc,
                  " (the footprint of one c [m, n] with ldc ", p.ldc, "): batches of c would overlap");
  }
  const auto& e = p.epilogue;
  if (e.gate) {
    SANAWM_EXPECT(e.gate_group_rows >= 1, op, "gate_group_rows must be >= 1, got ", e.gate_group_rows);
    SANAWM_EXPECT(e.ld_gate == 0 || e.ld_gate >= p.n, op, "ld_gate ", e.ld_gate, " must be 0 (one row) or >= n ", p.n);
  }
  if (e.residual) {
    SANAWM_EXPECT(e.ld_residual >= p.n, op, "ld_residual ", e.ld_residual, " < n ", p.n);
    if (gemm_residual_is_c(p))
      SANAWM_EXPECT(e.ld_residual == p.ldc && (p.batch == 1 || e.batch_stride_residual == p.batch_stride_c), op,
                    "the residual is c but with ld ", e.ld_residual, " / batch stride ", e.batch_stride_residual,
                    " instead of ldc ", p.ldc, " / ", p.batch_stride_c, "; an in-place residual must be c exactly");
  }
  constexpr bool fp8 = std::is_same_v<TA, fp8_e4m3> || std::is_same_v<TB, fp8_e4m3>;
  if constexpr (!fp8) {
    SANAWM_EXPECT(p.scale_a == nullptr && p.scale_b == nullptr, op,
                  "scale_a/scale_b are fp8 dequantisation scales; set them only for fp8_e4m3 inputs");
  } else {
    SANAWM_EXPECT((std::is_same_v<TA, fp8_e4m3> && std::is_same_v<TB, fp8_e4m3>), op,
                  "fp8 GEMMs need both a and b in fp8_e4m3");
  }
  SANAWM_EXPECT(p.compute != gemm_compute::tf32 || (std::is_same_v<TA, float> && std::is_same_v<TB, float>), op,
                "gemm_compute::tf32 needs fp32 inputs");
}

// ---- views → arguments ----------------------------------------------------------------------------------------

namespace detail {
template <class V>
void expect_unit_inner_stride(const V& v, const char* op, const char* name) {
  SANAWM_EXPECT(v.stride(V::rank() - 1) == 1 || v.extent(V::rank() - 1) <= 1, op, name,
                " must have unit stride along its last axis (row-major rows), got stride ", v.stride(V::rank() - 1));
}
}  // namespace detail

/// Builds gemm_args from views: a [M, K], b [N, K], c [M, N] (rank 2), or batched a [Bt, M, K], b [Bt, N, K],
/// c [Bt, M, N] (rank 3). Rows must be contiguous (unit last stride); leading dimensions and batch strides come
/// from the views, so sub-views (column slices, batch slices) work. Throws when the shapes disagree.
template <class A, class EA, class LA, class B, class EB, class LB, class TC, class EC, class LC>
  requires(EA::rank() == EB::rank() && EB::rank() == EC::rank() && (EA::rank() == 2 || EA::rank() == 3))
gemm_args<std::remove_const_t<A>, std::remove_const_t<B>, TC> make_gemm_args(tensor_view<A, EA, LA> a,
                                                                            tensor_view<B, EB, LB> b,
                                                                            tensor_view<TC, EC, LC> c,
                                                                            const char* op = "gemm") {
  constexpr std::size_t r = EA::rank();
  constexpr std::size_t o = r - 2;  // offset of the matrix axes
  gemm_args<std::remove_const_t<A>, std::remove_const_t<B>, TC> p;
  p.m = a.extent(o);
  p.k = a.extent(o + 1);
  p.n = b.extent(o);
  SANAWM_EXPECT(b.extent(o + 1) == p.k, op, "a [m, k] has k = ", p.k, " but b [n, k] has k = ", b.extent(o + 1));
  SANAWM_EXPECT(c.extent(o) == p.m && c.extent(o + 1) == p.n, op, "c is [", c.extent(o), ", ", c.extent(o + 1),
                "] but a·bᵀ is [", p.m, ", ", p.n, "]");
  detail::expect_unit_inner_stride(a, op, "a");
  detail::expect_unit_inner_stride(b, op, "b");
  detail::expect_unit_inner_stride(c, op, "c");
  p.a = a.data();
  p.b = b.data();
  p.c = c.data();
  p.lda = p.m > 1 ? a.stride(o) : p.k;
  p.ldb = p.n > 1 ? b.stride(o) : p.k;
  p.ldc = p.m > 1 ? c.stride(o) : p.n;
  if constexpr (r == 3) {
    p.batch = a.extent(0);
    SANAWM_EXPECT(b.extent(0) == p.batch && c.extent(0) == p.batch, op, "batch sizes differ: a ", p.batch, ", b ",
                  b.extent(0), ", c ", c.extent(0));
    p.batch_stride_a = a.stride(0);
    p.batch_stride_b = b.stride(0);
    p.batch_stride_c = c.stride(0);
  }
  return p;
}

/// gemm(backend, a, b, c, epilogue, alpha, beta): the view form of gemm(backend, gemm_args) (see make_gemm_args).
/// The backend overloads of gemm(backend, gemm_args) live in gemm_cpu.hpp and gemm_cuda.cuh.
template <class Backend, class A, class EA, class LA, class B, class EB, class LB, class TC, class EC, class LC>
  requires(EA::rank() == EB::rank() && EB::rank() == EC::rank() && (EA::rank() == 2 || EA::rank() == 3))
void gemm(Backend be, tensor_view<A, EA, LA> a, tensor_view<B, EB, LB> b, tensor_view<TC, EC, LC> c,
          const gemm_epilogue<TC>& epilogue = {}, float alpha = 1.0f, float beta = 0.0f,
          gemm_compute compute = gemm_compute::automatic) {
  auto p = make_gemm_args(a, b, c);
  p.epilogue = epilogue;
  p.alpha = alpha;
  p.beta = beta;
  p.compute = compute;
  gemm(be, p);
}

}  // namespace sanawm

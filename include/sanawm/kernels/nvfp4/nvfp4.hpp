// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/nvfp4/nvfp4.hpp — NVFP4 (E2M1 codes, UE4M3 block scales per 16 elements, fp32 tensor scale):
// the quantisation recipe as portable SANAWM_HD bodies, views and owning tensors, the 128x4 scale swizzle, the
// 16-point random Hadamard transform, stochastic rounding, and the W4A16/W4A4 GEMM argument block.
#pragma once

#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t, std::uint32_t, std::uint64_t
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector (nvfp4_tensor, host-side owner)

#include "sanawm/config.hpp"              // SANAWM_HD
#include "sanawm/core/bf16.hpp"           // bf16
#include "sanawm/core/error.hpp"          // make_error, SANAWM_EXPECT
#include "sanawm/core/float_bits.hpp"     // bit_cast
#include "sanawm/core/fp4.hpp"            // fp4_e2m1, fp4x2
#include "sanawm/core/fp8.hpp"            // ue4m3
#include "sanawm/core/int.hpp"            // index_t
#include "sanawm/kernels/gemm/gemm.hpp"   // gemm_epilogue, gemm_compute, gemm_activation

namespace sanawm {

// ---- format constants -----------------------------------------------------------------------------------------

/// Elements per NVFP4 block (one UE4M3 scale each), along the contiguous (K) axis.
inline constexpr index_t nvfp4_block = 16;
/// Largest E2M1 magnitude and largest UE4M3 value: the global scale maps a tensor's amax to 6·448.
inline constexpr float nvfp4_e2m1_max = 6.0f;
inline constexpr float nvfp4_e4m3_max = 448.0f;
inline constexpr float nvfp4_amax_to_code = 2688.0f;  // 6 · 448

/// Where the block scales of an NVFP4 matrix [R, C] (C/16 scale columns) lie.
enum class nvfp4_scale_layout : unsigned char {
  linear,          ///< row-major [R, C/16] (ModelOpt checkpoints, the CPU kernels)
  swizzled_128x4,  ///< cuBLASLt VEC16_UE4M3 / CUTLASS "128x4" tiles, rows padded to 128, scale columns to 4
};

/// Element rounding of the quantiser.
enum class nvfp4_rounding : unsigned char {
  nearest_even,  ///< RNE, satfinite (the inference recipe; TE/ModelOpt/CUDA kernels)
  stochastic,    ///< unbiased stochastic rounding between the two neighbouring E2M1 codes (TE's gradient option)
};

/// Options of the quantiser. Defaults are plain NVFP4 (no RHT, RNE).
struct nvfp4_options {
  bool rht = false;                  ///< apply the 16-point random Hadamard transform to every block first
  std::uint64_t rht_seed = 0;        ///< seed of the RHT sign vector (stored with the tensor)
  nvfp4_rounding rounding = nvfp4_rounding::nearest_even;
  std::uint64_t sr_seed = 0;         ///< seed of the stochastic-rounding random stream
};

// ---- small portable helpers -------------------------------------------------------------------------------------

namespace detail {

SANAWM_HD constexpr float nvfp4_fabs(float x) noexcept { return bit_cast<float>(bit_cast<std::uint32_t>(x) & 0x7FFFFFFFu); }
SANAWM_HD constexpr float nvfp4_fmin(float a, float b) noexcept { return b < a ? b : a; }
// NaN-propagating max: a NaN anywhere makes the amax NaN, so a poisoned tensor cannot quantise to plausible bytes.
SANAWM_HD constexpr float nvfp4_fmax_nan(float a, float b) noexcept { return (b > a || b != b) ? b : a; }

/// SplitMix64: the counter-based generator behind the RHT signs and stochastic rounding (same bits on host
/// and device, independent of thread count and launch shape).
SANAWM_HD constexpr std::uint64_t nvfp4_mix64(std::uint64_t z) noexcept {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <class T>
SANAWM_HD constexpr float nvfp4_load(const T& v) noexcept {
  if constexpr (std::is_same_v<T, float>) return v;
  else return v.to_float();
}

}  // namespace detail

/// The 16 RHT signs of `seed` as a bit mask (bit i set → element i is negated before the Hadamard transform).
SANAWM_HD constexpr std::uint32_t nvfp4_rht_signs(std::uint64_t seed) noexcept {
  return static_cast<std::uint32_t>(detail::nvfp4_mix64(seed ^ 0x5A4E4157524854ull) & 0xFFFFu);
}

/// In-place 16-point random Hadamard transform y = H·D·x with H the Sylvester Hadamard matrix scaled by 1/4
/// (orthonormal) and D = diag(±1) from `signs`. Q = H·D is orthogonal, so Σ (Qa)·(Qw) = Σ a·w: applying it to
/// both GEMM operands along K leaves the product unchanged while spreading outliers over the block.
SANAWM_HD constexpr void nvfp4_rht_forward(float* v, std::uint32_t signs) noexcept {
  for (int i = 0; i < 16; ++i)
    if ((signs >> i) & 1u) v[i] = -v[i];
  for (int h = 1; h < 16; h *= 2)  // fast Walsh–Hadamard butterflies (exact sums/differences, then one scaling)
    for (int i = 0; i < 16; i += 2 * h)
      for (int j = i; j < i + h; ++j) {
        const float a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
  for (int i = 0; i < 16; ++i) v[i] *= 0.25f;
}

/// The inverse x = D·H·y (H is symmetric and orthonormal, D its own inverse).
SANAWM_HD constexpr void nvfp4_rht_inverse(float* v, std::uint32_t signs) noexcept {
  for (int h = 1; h < 16; h *= 2)
    for (int i = 0; i < 16; i += 2 * h)
      for (int j = i; j < i + h; ++j) {
        const float a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
  for (int i = 0; i < 16; ++i) v[i] = ((signs >> i) & 1u) ? -0.25f * v[i] : 0.25f * v[i];
}

// ---- the recipe -----------------------------------------------------------------------------------------------

/// Global encode scale S_enc = 2688 / amax, with TransformerEngine's guards: amax = 0 → FLT_MAX (an all-zero
/// tensor), a result of 0 (amax = inf) → 1. NaN amax stays NaN (every element then encodes as +6, as CUDA).
SANAWM_HD constexpr float nvfp4_encode_scale(float amax) noexcept {
  constexpr float flt_max = 3.402823466e38f;
  if (amax == 0.0f) return flt_max;
  float s = nvfp4_amax_to_code / amax;
  if (s > flt_max) s = flt_max;  // tiny amax: 2688/amax overflows
  if (s == 0.0f) s = 1.0f;
  return s;
}
/// Global decode scale S_dec = 1 / S_enc (what is stored with a tensor; ModelOpt's "weight_scale_2").
SANAWM_HD constexpr float nvfp4_decode_scale(float s_enc) noexcept { return 1.0f / s_enc; }

/// Block scale byte: E4M3_RNE_satfinite(min(block_amax · (S_enc · fp32(1/6)), 448)) — TE's order of operations
/// (the 1/6 is folded into the global multiplier, so the block amax sees one rounding).
SANAWM_HD constexpr ue4m3 nvfp4_block_scale(float block_amax, float s_enc) noexcept {
  const float s = detail::nvfp4_fmin(block_amax * (s_enc * (1.0f / 6.0f)), nvfp4_e4m3_max);
  return ue4m3(s);
}

/// Per-block element multiplier e_b = 1 / (float(s_b) · S_dec), clamped to FLT_MAX (TE): a zero scale gives
/// FLT_MAX, so a block of zeros encodes as zeros and a block below E4M3's range saturates to ±6 × 0 = 0.
SANAWM_HD constexpr float nvfp4_element_multiplier(ue4m3 scale, float s_dec) noexcept {
  constexpr float flt_max = 3.402823466e38f;
  const float d = scale.to_float() * s_dec;
  const float e = 1.0f / d;
  return e > flt_max ? flt_max : e;
}

/// E2M1 code of y with stochastic rounding: between the two codes bracketing |y| (saturated at 6), the upper one
/// is chosen with probability (|y| − lower)/(upper − lower), using the 24-bit uniform `u24`. Exact codes stay.
SANAWM_HD constexpr fp4_e2m1 nvfp4_round_stochastic(float y, std::uint32_t u24) noexcept {
  if (y != y) return fp4_e2m1::from_bits(0x7);  // NaN → +6, as the RNE path
  const fp4_e2m1 lo = fp4_e2m1::from_float<round_mode::toward_zero>(y);
  const std::uint8_t mag = lo.bits() & 0x7u;
  if (mag == 0x7u) return lo;
  const float a = detail::nvfp4_fabs(y);
  const float vlo = fp4_e2m1::from_bits(mag).to_float();
  const float vhi = fp4_e2m1::from_bits(static_cast<std::uint8_t>(mag + 1)).to_float();
  const float p = (a - vlo) / (vhi - vlo);
  const float u = static_cast<float>(u24) * (1.0f / 16777216.0f);
  return u < p ? fp4_e2m1::from_bits(static_cast<std::uint8_t>((lo.bits() & 0x8u) | (mag + 1))) : lo;
}

/// Offset of scale (r, c) in the 128x4 swizzled layout of a [R, C] scale matrix (C = K/16 scale columns):
/// 512-byte tiles of 128 rows × 4 columns, M-tile major; inside a tile the 32×4 sub-tiles are column-major.
SANAWM_HD constexpr index_t nvfp4_swizzled_offset(index_t r, index_t c, index_t scale_cols) noexcept {
  const index_t tiles_c = (scale_cols + 3) / 4;
  return ((r / 128) * tiles_c + c / 4) * 512 + (r % 32) * 16 + ((r % 128) / 32) * 4 + c % 4;
}
/// Bytes of a swizzled scale buffer for [R, C] scales (rows padded to 128, columns to 4).
SANAWM_HD constexpr index_t nvfp4_swizzled_size(index_t rows, index_t scale_cols) noexcept {
  return ((rows + 127) / 128) * 128 * (((scale_cols + 3) / 4) * 4);
}
/// Bytes of the scale buffer of `layout` for an NVFP4 matrix [rows, cols].
SANAWM_HD constexpr index_t nvfp4_scale_bytes(index_t rows, index_t cols, nvfp4_scale_layout layout) noexcept {
  return layout == nvfp4_scale_layout::linear ? rows * (cols / nvfp4_block)
                                              : nvfp4_swizzled_size(rows, cols / nvfp4_block);
}
/// Offset of the scale of block (r, c) in `layout` (C = scale columns).
SANAWM_HD constexpr index_t nvfp4_scale_offset(index_t r, index_t c, index_t scale_cols,
                                               nvfp4_scale_layout layout) noexcept {
  return layout == nvfp4_scale_layout::linear ? r * scale_cols + c : nvfp4_swizzled_offset(r, c, scale_cols);
}

// ---- views and the owning host tensor ---------------------------------------------------------------------------

/// A read-only NVFP4 matrix [rows, cols] (cols = K, a multiple of 16): codes row-major, two per byte (element
/// 2i in the low nibble of byte i), block scales in `layout`, and the fp32 decode scale S_dec. Value of element
/// (r, k) = e2m1(code) · float(scale[r, k/16]) · global_scale (then the inverse RHT over its block if `rht`).
/// Pointers are in the backend's memory space; global_scale is a host value.
struct nvfp4_view {
  const fp4x2* data = nullptr;
  const ue4m3* scales = nullptr;
  float global_scale = 1.0f;
  index_t rows = 0, cols = 0;
  nvfp4_scale_layout layout = nvfp4_scale_layout::linear;
  bool rht = false;
  std::uint64_t rht_seed = 0;

  SANAWM_HD constexpr index_t bytes_per_row() const noexcept { return cols / 2; }
  SANAWM_HD constexpr index_t scale_cols() const noexcept { return cols / nvfp4_block; }
  SANAWM_HD constexpr ue4m3 scale(index_t r, index_t c) const noexcept {
    return scales[nvfp4_scale_offset(r, c, scale_cols(), layout)];
  }
  /// The quantised value of element (r, k) without the inverse RHT: code · block scale · global scale.
  SANAWM_HD constexpr float value(index_t r, index_t k) const noexcept {
    const fp4x2 b = data[r * bytes_per_row() + k / 2];
    return b.get(static_cast<int>(k & 1)).to_float() * scale(r, k / nvfp4_block).to_float() * global_scale;
  }
};

/// The writable twin of nvfp4_view: where a quantiser puts codes and scales.
struct nvfp4_out {
  fp4x2* data = nullptr;
  ue4m3* scales = nullptr;
  index_t rows = 0, cols = 0;
  nvfp4_scale_layout layout = nvfp4_scale_layout::linear;
};

/// Throws "[op] …" unless `v` describes a usable NVFP4 matrix: K a positive multiple of 16 (the block; an odd or
/// unaligned K cannot be packed), non-null data and scales, a finite non-negative global scale.
inline void check_nvfp4(const nvfp4_view& v, const char* op, const char* name = "nvfp4 tensor") {
  SANAWM_EXPECT(v.rows >= 0 && v.cols >= 0, op, name, ": negative shape [", v.rows, ", ", v.cols, "]");
  SANAWM_EXPECT(v.cols % nvfp4_block == 0, op, name, ": K = ", v.cols,
                " is not a multiple of the NVFP4 block (16); pad K or keep the layer in native precision");
  if (v.rows == 0 || v.cols == 0) return;
  SANAWM_EXPECT(v.data != nullptr, op, name, ": packed data pointer is null for [", v.rows, ", ", v.cols, "]");
  SANAWM_EXPECT(v.scales != nullptr, op, name, ": block scales are missing (null pointer) for [", v.rows, ", ",
                v.cols, "]");
  SANAWM_EXPECT(v.global_scale >= 0.0f && v.global_scale <= 3.402823466e38f, op, name,
                ": global (decode) scale must be finite and >= 0, got ", v.global_scale);
}

/// A host-owned NVFP4 matrix (codes, scales, global scale, RHT flag). Buffers are zero-initialised, so the padding
/// of a swizzled scale buffer is 0 as cuBLASLt requires.
struct nvfp4_tensor {
  index_t rows = 0, cols = 0;
  std::vector<fp4x2> data;
  std::vector<ue4m3> scales;
  float global_scale = 1.0f;
  nvfp4_scale_layout layout = nvfp4_scale_layout::linear;
  bool rht = false;
  std::uint64_t rht_seed = 0;

  nvfp4_tensor() = default;
  nvfp4_tensor(index_t r, index_t c, nvfp4_scale_layout l = nvfp4_scale_layout::linear)
      : rows(r), cols(c), layout(l) {
    SANAWM_EXPECT(r >= 0 && c >= 0, "nvfp4", "negative shape [", r, ", ", c, "]");
    SANAWM_EXPECT(c % nvfp4_block == 0, "nvfp4", "K = ", c, " is not a multiple of the NVFP4 block (16)");
    data.resize(static_cast<std::size_t>(r * (c / 2)));
    scales.resize(static_cast<std::size_t>(nvfp4_scale_bytes(r, c, l)));
  }

  nvfp4_view view() const noexcept {
    return {data.data(), scales.data(), global_scale, rows, cols, layout, rht, rht_seed};
  }
  nvfp4_out out() noexcept { return {data.data(), scales.data(), rows, cols, layout}; }
  /// Bytes of codes + scales + the fp32 global scale.
  index_t storage_bytes() const noexcept {
    return static_cast<index_t>(data.size() + scales.size()) + static_cast<index_t>(sizeof(float));
  }
};

// ---- kernel bodies ----------------------------------------------------------------------------------------------

/// Per-block absolute maximum (after the optional RHT) of a row-major [rows, cols] input: body(i) returns the
/// amax of block i (row i / (cols/16), block i % (cols/16)). Reduced with max by the backends.
template <class T>
struct nvfp4_block_amax_body {
  const T* x;
  index_t ldx, blocks_per_row;
  bool rht;
  std::uint32_t signs;

  SANAWM_HD float operator()(index_t i) const noexcept {
    const index_t r = i / blocks_per_row, b = i % blocks_per_row;
    const T* p = x + r * ldx + b * nvfp4_block;
    float v[16];
    for (int j = 0; j < 16; ++j) v[j] = detail::nvfp4_load(p[j]);
    if (rht) nvfp4_rht_forward(v, signs);
    float m = 0.0f;
    for (int j = 0; j < 16; ++j) m = detail::nvfp4_fmax_nan(m, detail::nvfp4_fabs(v[j]));
    return m;
  }
};

/// Quantises one 16-element block per index (row-major input [rows, cols], leading dimension ldx) with the recipe
/// above: optional RHT, block scale from the block amax, elements x·e_b rounded (RNE or stochastic) with
/// saturation to ±6, packed two per byte, scale written in the output's layout.
template <class T>
struct nvfp4_quantize_body {
  const T* x;
  index_t ldx;
  nvfp4_out out;
  float s_enc, s_dec;
  bool rht;
  std::uint32_t signs;
  bool stochastic;
  std::uint64_t sr_seed;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t bpr = out.cols / nvfp4_block;
    const index_t r = i / bpr, b = i % bpr;
    const T* p = x + r * ldx + b * nvfp4_block;
    float v[16];
    for (int j = 0; j < 16; ++j) v[j] = detail::nvfp4_load(p[j]);
    if (rht) nvfp4_rht_forward(v, signs);
    float m = 0.0f;
    for (int j = 0; j < 16; ++j) m = detail::nvfp4_fmax_nan(m, detail::nvfp4_fabs(v[j]));
    const ue4m3 s = nvfp4_block_scale(m, s_enc);
    const float e = nvfp4_element_multiplier(s, s_dec);
    fp4x2* d = out.data + r * (out.cols / 2) + b * (nvfp4_block / 2);
    for (int j = 0; j < 16; j += 2) {
      fp4_e2m1 q[2];
      for (int h = 0; h < 2; ++h) {
        // Clamp first (TE): values of a block whose scale saturated would otherwise rely on satfinite alone.
        float y = v[j + h] * e;
        y = y > nvfp4_e2m1_max ? nvfp4_e2m1_max : (y < -nvfp4_e2m1_max ? -nvfp4_e2m1_max : y);
        if (stochastic) {
          const std::uint64_t idx = static_cast<std::uint64_t>(r * out.cols + b * nvfp4_block + j + h);
          q[h] = nvfp4_round_stochastic(y, static_cast<std::uint32_t>(detail::nvfp4_mix64(sr_seed ^ (idx * 0x2545F4914F6CDD1Dull)) >> 40));
        } else {
          q[h] = fp4_e2m1(y);
        }
      }
      d[j / 2] = fp4x2(q[0], q[1]);
    }
    out.scales[nvfp4_scale_offset(r, b, bpr, out.layout)] = s;
  }
};

/// Decodes one block per index into a row-major float/bf16 output [rows, cols] (the inverse RHT included).
template <class T>
struct nvfp4_dequantize_body {
  nvfp4_view in;
  T* y;
  index_t ldy;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t bpr = in.cols / nvfp4_block;
    const index_t r = i / bpr, b = i % bpr;
    float v[16];
    const float s = in.scale(r, b).to_float() * in.global_scale;
    const fp4x2* d = in.data + r * in.bytes_per_row() + b * (nvfp4_block / 2);
    for (int j = 0; j < 8; ++j) {
      v[2 * j] = d[j].lo().to_float() * s;
      v[2 * j + 1] = d[j].hi().to_float() * s;
    }
    if (in.rht) nvfp4_rht_inverse(v, nvfp4_rht_signs(in.rht_seed));
    T* o = y + r * ldy + b * nvfp4_block;
    for (int j = 0; j < 16; ++j) {
      if constexpr (std::is_same_v<T, float>) o[j] = v[j];
      else o[j] = T(v[j]);
    }
  }
};

/// Copies scale (r, c) from one layout to the other, one index per logical scale; padding is not touched.
struct nvfp4_scale_convert_body {
  const ue4m3* src;
  ue4m3* dst;
  index_t rows, scale_cols;
  nvfp4_scale_layout from, to;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t r = i / scale_cols, c = i % scale_cols;
    dst[nvfp4_scale_offset(r, c, scale_cols, to)] = src[nvfp4_scale_offset(r, c, scale_cols, from)];
  }
};

// ---- GEMM arguments ---------------------------------------------------------------------------------------------

/// GEMM with an NVFP4 weight: C[M, N] = epilogue(alpha · A[M, K] · Wᵀ + beta · C) where W = b is NVFP4 [N, K].
/// A is fp32 or bf16 (row-major, lda ≥ K). W4A16 multiplies A as given (rounded to bf16 under gemm_compute::bf16);
/// W4A4 first quantises A to NVFP4 (per-call amax, RNE, the same RHT as W when W has one) and multiplies the
/// decoded values. The product of an E2M1 code and a UE4M3 scale is exact in bf16, so every backend decodes into
/// bf16/fp32 without rounding and applies the global scales in the epilogue (alpha · S_dec^W [· S_dec^A]).
template <class TA, class TC>
struct nvfp4_gemm_args {
  static_assert(std::is_same_v<TA, float> || std::is_same_v<TA, bf16>, "sanawm: NVFP4 GEMM activations are fp32 or bf16");
  static_assert(std::is_same_v<TC, float> || std::is_same_v<TC, bf16>, "sanawm: NVFP4 GEMM output is fp32 or bf16");
  index_t m = 0;
  const TA* a = nullptr;
  index_t lda = 0;
  nvfp4_view b{};  ///< [N, K]: n = b.rows, k = b.cols
  TC* c = nullptr;
  index_t ldc = 0;
  float alpha = 1.0f;
  float beta = 0.0f;
  gemm_epilogue<TC> epilogue{};
  gemm_compute compute = gemm_compute::automatic;

  SANAWM_HD constexpr index_t n() const noexcept { return b.rows; }
  SANAWM_HD constexpr index_t k() const noexcept { return b.cols; }
};

/// Throws "[op] …" for unusable arguments (bad NVFP4 weight, short leading dimensions, null pointers, a
/// residual that overlaps C other than exactly, tf32 compute).
template <class TA, class TC>
void check_nvfp4_gemm_args(const nvfp4_gemm_args<TA, TC>& p, const char* op) {
  check_nvfp4(p.b, op, "weight b");
  SANAWM_EXPECT(p.m >= 0, op, "m must be >= 0, got ", p.m);
  if (p.m == 0 || p.n() == 0) return;
  SANAWM_EXPECT(p.c != nullptr, op, "c is null but c [", p.m, ", ", p.n(), "] is not empty");
  SANAWM_EXPECT(p.ldc >= p.n(), op, "ldc ", p.ldc, " < n ", p.n());
  if (p.k() > 0) {
    SANAWM_EXPECT(p.a != nullptr, op, "a is null but a [", p.m, ", ", p.k(), "] is not empty");
    SANAWM_EXPECT(p.lda >= p.k(), op, "lda ", p.lda, " < k ", p.k(), ": rows of a [m, k] would overlap");
  }
  SANAWM_EXPECT(p.compute != gemm_compute::tf32, op, "gemm_compute::tf32 does not apply to NVFP4 GEMMs");
  const auto& e = p.epilogue;
  if (e.gate) {
    SANAWM_EXPECT(e.gate_group_rows >= 1, op, "gate_group_rows must be >= 1, got ", e.gate_group_rows);
    SANAWM_EXPECT(e.ld_gate == 0 || e.ld_gate >= p.n(), op, "ld_gate ", e.ld_gate, " must be 0 or >= n ", p.n());
  }
  if (e.residual) {
    SANAWM_EXPECT(e.ld_residual >= p.n(), op, "ld_residual ", e.ld_residual, " < n ", p.n());
    if (static_cast<const void*>(e.residual) == static_cast<const void*>(p.c))
      SANAWM_EXPECT(e.ld_residual == p.ldc, op, "an in-place residual must be c exactly (ld ", e.ld_residual,
                    " vs ldc ", p.ldc, ")");
  }
}

}  // namespace sanawm

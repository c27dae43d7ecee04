// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/simd_avx512.hpp — the AVX-512 SIMD variant: vec<float, avx512_isa> on __m512 (16 lanes),
// with vdpbf16ps under AVX512-BF16. Empty unless the target has AVX-512 F/BW/VL/DQ (SANAWM_SIMD_AVX512).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/backend/cpu/simd_avx512.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include "sanawm/backend/cpu/simd_base.hpp"  // avx512_isa, vec, mask, bf16_pairs, SANAWM_SIMD_AVX512

#if SANAWM_SIMD_AVX512

#include <immintrin.h>  // AVX-512 intrinsics

#include <bit>      // std::bit_cast
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint16_t

#include "sanawm/config.hpp"    // SANAWM_FORCEINLINE
#include "sanawm/core/int.hpp"  // index_t

// GCC 12's AVX-512 intrinsics pass `_mm512_undefined_*()` (a self-initialised variable) as the unused
// merge source, and -Wmaybe-uninitialized then fires in every caller after inlining (GCC PR 105593, fixed in
// GCC 13). The pragma covers the functions below and whatever inlines them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace sanawm::cpu {

namespace detail {
/// Bits [0, n) set, n in [0, 16]: the lane mask of a partial load/store.
SANAWM_FORCEINLINE __mmask16 avx512_prefix_mask(int n) noexcept {
  return static_cast<__mmask16>((1u << n) - 1u);
}
/// Round-to-nearest-even float → bf16 bits on 16 lanes, result in the low 16 bits of each int32 lane (the
/// rule of detail::float_to_bf16_bits). Not vcvtneps2bf16: that instruction flushes fp32 denormals to zero,
/// which would make the AVX512-BF16 build round differently from every other build.
SANAWM_FORCEINLINE __m512i avx512_float_to_bf16_bits(__m512 f) noexcept {
  const __m512i u = _mm512_castps_si512(f);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q);
  return _mm512_mask_mov_epi32(rounded, nan, _mm512_set1_epi32(0x7fff));
}
}  // namespace detail

/// One boolean per lane of vec<float, avx512_isa>, as an AVX-512 mask register.
template <>
struct mask<float, avx512_isa> {
  __mmask16 m;
};

/// Sixteen floats in one __m512.
template <>
struct vec<float, avx512_isa> {
  using isa = avx512_isa;
  using value_type = float;
  using mask_type = mask<float, avx512_isa>;
  static constexpr int width = avx512_isa::lanes;
  /// Byte alignment load_aligned/store_aligned require (one full vector = one cache line).
  static constexpr std::size_t alignment = sizeof(float) * width;

  __m512 v;

  /// All lanes 0.
  static SANAWM_FORCEINLINE vec zero() noexcept { return {_mm512_setzero_ps()}; }
  /// All lanes `x`.
  static SANAWM_FORCEINLINE vec broadcast(float x) noexcept { return {_mm512_set1_ps(x)}; }
  /// Lanes p[0..width), any alignment.
  static SANAWM_FORCEINLINE vec load(const float* p) noexcept { return {_mm512_loadu_ps(p)}; }
  /// Lanes p[0..width); p aligned to `alignment` bytes.
  static SANAWM_FORCEINLINE vec load_aligned(const float* p) noexcept { return {_mm512_load_ps(p)}; }
  /// Lanes p[0..n) and zeros above, for tails; n is clamped to [0, width] and nothing past p[n-1] is read
  /// (masked-off lanes never fault).
  static SANAWM_FORCEINLINE vec load_partial(const float* p, index_t n) noexcept {
    return {_mm512_maskz_loadu_ps(detail::avx512_prefix_mask(detail::clamp_lanes(n, width)), p)};
  }
  /// Lanes from `width` bf16 values p[0..width) (exact widening).
  static SANAWM_FORCEINLINE vec load_bf16(const std::uint16_t* p) noexcept {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return {_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))};
  }
  /// Lanes from bf16 p[0..n) and zeros above; n clamped to [0, width], nothing past p[n-1] is read.
  static SANAWM_FORCEINLINE vec load_bf16_partial(const std::uint16_t* p, index_t n) noexcept {
    const __m256i h = _mm256_maskz_loadu_epi16(detail::avx512_prefix_mask(detail::clamp_lanes(n, width)), p);
    return {_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))};
  }

  /// Writes all lanes to p[0..width), any alignment.
  SANAWM_FORCEINLINE void store(float* p) const noexcept { _mm512_storeu_ps(p, v); }
  /// Writes all lanes to p[0..width); p aligned to `alignment` bytes.
  SANAWM_FORCEINLINE void store_aligned(float* p) const noexcept { _mm512_store_ps(p, v); }
  /// Writes lanes [0, n) to p[0..n); n clamped to [0, width], nothing past p[n-1] is written.
  SANAWM_FORCEINLINE void store_partial(float* p, index_t n) const noexcept {
    _mm512_mask_storeu_ps(p, detail::avx512_prefix_mask(detail::clamp_lanes(n, width)), v);
  }
  /// Writes all lanes as bf16 (round to nearest even, NaN → 0x7FFF) to p[0..width).
  SANAWM_FORCEINLINE void store_bf16(std::uint16_t* p) const noexcept {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                        _mm512_cvtepi32_epi16(detail::avx512_float_to_bf16_bits(v)));
  }
  /// Writes lanes [0, n) as bf16 to p[0..n); n clamped to [0, width].
  SANAWM_FORCEINLINE void store_bf16_partial(std::uint16_t* p, index_t n) const noexcept {
    _mm512_mask_cvtepi32_storeu_epi16(p, detail::avx512_prefix_mask(detail::clamp_lanes(n, width)),
                                      detail::avx512_float_to_bf16_bits(v));
  }
};

using vec_avx512 = vec<float, avx512_isa>;
using mask_avx512 = mask<float, avx512_isa>;

SANAWM_FORCEINLINE vec_avx512 operator+(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_add_ps(a.v, b.v)};
}
SANAWM_FORCEINLINE vec_avx512 operator-(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_sub_ps(a.v, b.v)};
}
SANAWM_FORCEINLINE vec_avx512 operator*(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_mul_ps(a.v, b.v)};
}
SANAWM_FORCEINLINE vec_avx512 operator/(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_div_ps(a.v, b.v)};
}
/// Flips the sign bit.
SANAWM_FORCEINLINE vec_avx512 operator-(vec_avx512 a) noexcept {
  return {_mm512_castsi512_ps(
      _mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(static_cast<int>(0x80000000u))))};
}
/// a·b + c per lane, rounded once.
SANAWM_FORCEINLINE vec_avx512 fma(vec_avx512 a, vec_avx512 b, vec_avx512 c) noexcept {
  return {_mm512_fmadd_ps(a.v, b.v, c.v)};
}
/// a < b ? a : b per lane (NaN in either operand returns b).
SANAWM_FORCEINLINE vec_avx512 min(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_min_ps(a.v, b.v)};
}
/// a > b ? a : b per lane (NaN in either operand returns b).
SANAWM_FORCEINLINE vec_avx512 max(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_max_ps(a.v, b.v)};
}
/// Clears the sign bit.
SANAWM_FORCEINLINE vec_avx512 abs(vec_avx512 a) noexcept {
  return {_mm512_abs_ps(a.v)};
}
/// Correctly rounded square root per lane.
SANAWM_FORCEINLINE vec_avx512 sqrt(vec_avx512 a) noexcept {
  return {_mm512_sqrt_ps(a.v)};
}

// Ordered, non-signalling comparisons (false when either lane is NaN); != is unordered (true for NaN).
SANAWM_FORCEINLINE mask_avx512 operator<(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)};
}
SANAWM_FORCEINLINE mask_avx512 operator<=(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)};
}
SANAWM_FORCEINLINE mask_avx512 operator>(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ)};
}
SANAWM_FORCEINLINE mask_avx512 operator>=(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ)};
}
SANAWM_FORCEINLINE mask_avx512 operator==(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)};
}
SANAWM_FORCEINLINE mask_avx512 operator!=(vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_NEQ_UQ)};
}
/// Lanes that hold a NaN.
SANAWM_FORCEINLINE mask_avx512 is_nan(vec_avx512 a) noexcept {
  return {_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)};
}
/// m ? a : b per lane.
SANAWM_FORCEINLINE vec_avx512 select(mask_avx512 m, vec_avx512 a, vec_avx512 b) noexcept {
  return {_mm512_mask_blend_ps(m.m, b.v, a.v)};
}
/// True when any lane of `m` is set.
SANAWM_FORCEINLINE bool any(mask_avx512 m) noexcept {
  return m.m != 0;
}

/// Sum of all lanes, folding the upper half onto the lower half until one lane is left.
SANAWM_FORCEINLINE float reduce_add(vec_avx512 a) noexcept {
  const __m256 y = _mm256_add_ps(_mm512_castps512_ps256(a.v), _mm512_extractf32x8_ps(a.v, 1));
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}
/// Largest lane (same folding as reduce_add). Lanes must not be NaN; max(+0, -0) may return either zero.
SANAWM_FORCEINLINE float reduce_max(vec_avx512 a) noexcept {
  const __m256 y = _mm256_max_ps(_mm512_castps512_ps256(a.v), _mm512_extractf32x8_ps(a.v, 1));
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

/// Two bf16 per 32-bit lane (even index in the low half), sixteen lanes.
template <>
struct bf16_pairs<avx512_isa> {
  static constexpr int width = avx512_isa::lanes;
  __m512i v;

  /// Lanes from 2·width bf16 values p[0..2·width): lane j = (p[2j], p[2j+1]).
  static SANAWM_FORCEINLINE bf16_pairs load(const std::uint16_t* p) noexcept {
    return {_mm512_loadu_si512(p)};
  }
  /// Every lane = (p[0], p[1]): the A-side operand of a bf16 GEMM micro-kernel.
  static SANAWM_FORCEINLINE bf16_pairs broadcast(const std::uint16_t* p) noexcept {
    const auto pair =
        static_cast<int>(static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 16));
    return {_mm512_set1_epi32(pair)};
  }
};

namespace detail {
/// The odd (high-half) and even (low-half) bf16 of each pair lane, widened to floats.
SANAWM_FORCEINLINE void unpack_pairs(bf16_pairs<avx512_isa> p, vec_avx512& odd, vec_avx512& even) noexcept {
  odd.v = _mm512_castsi512_ps(_mm512_and_si512(p.v, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  even.v = _mm512_castsi512_ps(_mm512_slli_epi32(p.v, 16));
}
/// 2^n for lanes holding integers n in [-126, 127] (exact).
SANAWM_FORCEINLINE vec_avx512 pow2i(vec_avx512 n) noexcept {
  const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n.v), _mm512_set1_epi32(127));
  return {_mm512_castsi512_ps(_mm512_slli_epi32(e, 23))};
}
#if SANAWM_SIMD_AVX512_BF16
/// One vdpbf16ps (see dot_bf16 in simd.hpp for the exact semantics).
SANAWM_FORCEINLINE vec_avx512 dot_bf16_native(vec_avx512 acc, bf16_pairs<avx512_isa> a,
                                              bf16_pairs<avx512_isa> b) noexcept {
  return {_mm512_dpbf16_ps(acc.v, std::bit_cast<__m512bh>(a.v), std::bit_cast<__m512bh>(b.v))};
}
#endif
}  // namespace detail

}  // namespace sanawm::cpu

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // SANAWM_SIMD_AVX512

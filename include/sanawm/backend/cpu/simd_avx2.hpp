// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/simd_avx2.hpp — the AVX2 + FMA SIMD variant: vec<float, avx2_isa> on __m256 (8 lanes).
// Empty unless the target has AVX2 and FMA (SANAWM_SIMD_AVX2).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/backend/cpu/simd_avx2.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include "sanawm/backend/cpu/simd_base.hpp"  // avx2_isa, vec, mask, bf16_pairs, SANAWM_SIMD_AVX2

#if SANAWM_SIMD_AVX2

#include <immintrin.h>  // AVX2 / FMA intrinsics

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint16_t

#include "sanawm/config.hpp"    // SANAWM_FORCEINLINE
#include "sanawm/core/int.hpp"  // index_t

namespace sanawm::cpu {

namespace detail {
/// All-ones in lanes [0, n), n in [0, 8]: the lane mask of AVX2's maskload/maskstore.
SANAWM_FORCEINLINE __m256i avx2_prefix_mask(int n) noexcept {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/// 8 int32 lanes holding bf16 bits (< 2^16) → 8 packed uint16 in lane order.
SANAWM_FORCEINLINE __m128i avx2_narrow_u32_to_u16(__m256i x) noexcept {
  // packus works within each 128-bit half; the permute gathers the two useful 64-bit quarters.
  const __m256i packed = _mm256_packus_epi32(x, x);
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));
}
/// Round-to-nearest-even float → bf16 bits on 8 lanes, result in the low 16 bits of each int32 lane
/// (the same rule as detail::float_to_bf16_bits).
SANAWM_FORCEINLINE __m256i avx2_float_to_bf16_bits(__m256 f) noexcept {
  const __m256i u = _mm256_castps_si256(f);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
  return _mm256_blendv_epi8(rounded, _mm256_set1_epi32(0x7fff), nan);
}
}  // namespace detail

/// One boolean per lane of vec<float, avx2_isa>, as an all-ones / all-zeros lane.
template <>
struct mask<float, avx2_isa> {
  __m256 m;
};

/// Eight floats in one __m256.
template <>
struct vec<float, avx2_isa> {
  using isa = avx2_isa;
  using value_type = float;
  using mask_type = mask<float, avx2_isa>;
  static constexpr int width = avx2_isa::lanes;
  /// Byte alignment load_aligned/store_aligned require (one full vector).
  static constexpr std::size_t alignment = sizeof(float) * width;

  __m256 v;

  /// All lanes 0.
  static SANAWM_FORCEINLINE vec zero() noexcept { return {_mm256_setzero_ps()}; }
  /// All lanes `x`.
  static SANAWM_FORCEINLINE vec broadcast(float x) noexcept { return {_mm256_set1_ps(x)}; }
  /// Lanes p[0..width), any alignment.
  static SANAWM_FORCEINLINE vec load(const float* p) noexcept { return {_mm256_loadu_ps(p)}; }
  /// Lanes p[0..width); p aligned to `alignment` bytes.
  static SANAWM_FORCEINLINE vec load_aligned(const float* p) noexcept { return {_mm256_load_ps(p)}; }
  /// Lanes p[0..n) and zeros above, for tails; n is clamped to [0, width] and nothing past p[n-1] is read.
  static SANAWM_FORCEINLINE vec load_partial(const float* p, index_t n) noexcept {
    // vmaskmovps suppresses faults on masked-off lanes, so a tail at the end of a page is safe.
    return {_mm256_maskload_ps(p, detail::avx2_prefix_mask(detail::clamp_lanes(n, width)))};
  }
  /// Lanes from `width` bf16 values p[0..width) (exact widening).
  static SANAWM_FORCEINLINE vec load_bf16(const std::uint16_t* p) noexcept {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))};
  }
  /// Lanes from bf16 p[0..n) and zeros above; n clamped to [0, width], nothing past p[n-1] is read.
  static SANAWM_FORCEINLINE vec load_bf16_partial(const std::uint16_t* p, index_t n) noexcept {
    // AVX2 has no 16-bit masked load: copy the tail into a zeroed block first.
    alignas(16) std::uint16_t tmp[width] = {};
    const int m = detail::clamp_lanes(n, width);
    for (int i = 0; i < m; ++i) tmp[i] = p[i];
    return load_bf16(tmp);
  }

  /// Writes all lanes to p[0..width), any alignment.
  SANAWM_FORCEINLINE void store(float* p) const noexcept { _mm256_storeu_ps(p, v); }
  /// Writes all lanes to p[0..width); p aligned to `alignment` bytes.
  SANAWM_FORCEINLINE void store_aligned(float* p) const noexcept { _mm256_store_ps(p, v); }
  /// Writes lanes [0, n) to p[0..n); n clamped to [0, width], nothing past p[n-1] is written.
  SANAWM_FORCEINLINE void store_partial(float* p, index_t n) const noexcept {
    _mm256_maskstore_ps(p, detail::avx2_prefix_mask(detail::clamp_lanes(n, width)), v);
  }
  /// Writes all lanes as bf16 (round to nearest even, NaN → 0x7FFF) to p[0..width).
  SANAWM_FORCEINLINE void store_bf16(std::uint16_t* p) const noexcept {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     detail::avx2_narrow_u32_to_u16(detail::avx2_float_to_bf16_bits(v)));
  }
  /// Writes lanes [0, n) as bf16 to p[0..n); n clamped to [0, width].
  SANAWM_FORCEINLINE void store_bf16_partial(std::uint16_t* p, index_t n) const noexcept {
    alignas(16) std::uint16_t tmp[width];
    store_bf16(tmp);
    const int m = detail::clamp_lanes(n, width);
    for (int i = 0; i < m; ++i) p[i] = tmp[i];
  }
};

using vec_avx2 = vec<float, avx2_isa>;
using mask_avx2 = mask<float, avx2_isa>;

SANAWM_FORCEINLINE vec_avx2 operator+(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_add_ps(a.v, b.v)};
}
SANAWM_FORCEINLINE vec_avx2 operator-(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_sub_ps(a.v, b.v)};
}
SANAWM_FORCEINLINE vec_avx2 operator*(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_mul_ps(a.v, b.v)};
}
SANAWM_FORCEINLINE vec_avx2 operator/(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_div_ps(a.v, b.v)};
}
/// Flips the sign bit.
SANAWM_FORCEINLINE vec_avx2 operator-(vec_avx2 a) noexcept {
  return {_mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f))};
}
/// a·b + c per lane, rounded once.
SANAWM_FORCEINLINE vec_avx2 fma(vec_avx2 a, vec_avx2 b, vec_avx2 c) noexcept {
  return {_mm256_fmadd_ps(a.v, b.v, c.v)};
}
/// a < b ? a : b per lane (NaN in either operand returns b).
SANAWM_FORCEINLINE vec_avx2 min(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_min_ps(a.v, b.v)};
}
/// a > b ? a : b per lane (NaN in either operand returns b).
SANAWM_FORCEINLINE vec_avx2 max(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_max_ps(a.v, b.v)};
}
/// Clears the sign bit.
SANAWM_FORCEINLINE vec_avx2 abs(vec_avx2 a) noexcept {
  return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)};
}
/// Correctly rounded square root per lane.
SANAWM_FORCEINLINE vec_avx2 sqrt(vec_avx2 a) noexcept {
  return {_mm256_sqrt_ps(a.v)};
}

// Ordered, non-signalling comparisons (false when either lane is NaN); != is unordered (true for NaN).
SANAWM_FORCEINLINE mask_avx2 operator<(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)};
}
SANAWM_FORCEINLINE mask_avx2 operator<=(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)};
}
SANAWM_FORCEINLINE mask_avx2 operator>(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)};
}
SANAWM_FORCEINLINE mask_avx2 operator>=(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)};
}
SANAWM_FORCEINLINE mask_avx2 operator==(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)};
}
SANAWM_FORCEINLINE mask_avx2 operator!=(vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_cmp_ps(a.v, b.v, _CMP_NEQ_UQ)};
}
/// Lanes that hold a NaN.
SANAWM_FORCEINLINE mask_avx2 is_nan(vec_avx2 a) noexcept {
  return {_mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)};
}
/// m ? a : b per lane.
SANAWM_FORCEINLINE vec_avx2 select(mask_avx2 m, vec_avx2 a, vec_avx2 b) noexcept {
  return {_mm256_blendv_ps(b.v, a.v, m.m)};
}
/// True when any lane of `m` is set.
SANAWM_FORCEINLINE bool any(mask_avx2 m) noexcept {
  return _mm256_movemask_ps(m.m) != 0;
}

/// Sum of all lanes, folding the upper half onto the lower half until one lane is left.
SANAWM_FORCEINLINE float reduce_add(vec_avx2 a) noexcept {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}
/// Largest lane (same folding as reduce_add). Lanes must not be NaN; max(+0, -0) may return either zero.
SANAWM_FORCEINLINE float reduce_max(vec_avx2 a) noexcept {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

/// Two bf16 per 32-bit lane (even index in the low half), eight lanes.
template <>
struct bf16_pairs<avx2_isa> {
  static constexpr int width = avx2_isa::lanes;
  __m256i v;

  /// Lanes from 2·width bf16 values p[0..2·width): lane j = (p[2j], p[2j+1]).
  static SANAWM_FORCEINLINE bf16_pairs load(const std::uint16_t* p) noexcept {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))};
  }
  /// Every lane = (p[0], p[1]): the A-side operand of a bf16 GEMM micro-kernel.
  static SANAWM_FORCEINLINE bf16_pairs broadcast(const std::uint16_t* p) noexcept {
    const auto pair =
        static_cast<int>(static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 16));
    return {_mm256_set1_epi32(pair)};
  }
};

namespace detail {
/// The odd (high-half) and even (low-half) bf16 of each pair lane, widened to floats.
SANAWM_FORCEINLINE void unpack_pairs(bf16_pairs<avx2_isa> p, vec_avx2& odd, vec_avx2& even) noexcept {
  odd.v = _mm256_castsi256_ps(_mm256_and_si256(p.v, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  even.v = _mm256_castsi256_ps(_mm256_slli_epi32(p.v, 16));
}
/// 2^n for lanes holding integers n in [-126, 127] (exact).
SANAWM_FORCEINLINE vec_avx2 pow2i(vec_avx2 n) noexcept {
  const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127));
  return {_mm256_castsi256_ps(_mm256_slli_epi32(e, 23))};
}
}  // namespace detail

}  // namespace sanawm::cpu

#endif  // SANAWM_SIMD_AVX2

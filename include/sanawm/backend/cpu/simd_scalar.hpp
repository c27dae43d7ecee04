// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/simd_scalar.hpp — the portable SIMD variant: vec<float, scalar_isa> as plain loops over
// four floats, with exactly the lane semantics of the x86 variants (the reference they are tested against).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/backend/cpu/simd_scalar.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <bit>      // std::bit_cast
#include <cmath>    // std::fma, std::sqrt
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint16_t, std::uint32_t

#include "sanawm/backend/cpu/simd_base.hpp"  // scalar_isa, vec, mask, bf16_pairs, bf16 helpers
#include "sanawm/config.hpp"                 // SANAWM_FORCEINLINE, SANAWM_UNROLL
#include "sanawm/core/int.hpp"               // index_t

namespace sanawm::cpu {

/// One boolean per lane of vec<float, scalar_isa>, as bit i of `bits`.
template <>
struct mask<float, scalar_isa> {
  std::uint32_t bits;
};

/// Four floats handled by plain loops (the compiler may still vectorise them).
template <>
struct vec<float, scalar_isa> {
  using isa = scalar_isa;
  using value_type = float;
  using mask_type = mask<float, scalar_isa>;
  static constexpr int width = scalar_isa::lanes;
  /// Byte alignment load_aligned/store_aligned require (one full vector).
  static constexpr std::size_t alignment = sizeof(float) * width;

  float v[width];

  /// All lanes 0.
  static SANAWM_FORCEINLINE vec zero() noexcept { return broadcast(0.0f); }
  /// All lanes `x`.
  static SANAWM_FORCEINLINE vec broadcast(float x) noexcept {
    vec r;
    SANAWM_UNROLL for (int i = 0; i < width; ++i) r.v[i] = x;
    return r;
  }
  /// Lanes p[0..width), any alignment.
  static SANAWM_FORCEINLINE vec load(const float* p) noexcept {
    vec r;
    SANAWM_UNROLL for (int i = 0; i < width; ++i) r.v[i] = p[i];
    return r;
  }
  /// Lanes p[0..width); p aligned to `alignment` bytes.
  static SANAWM_FORCEINLINE vec load_aligned(const float* p) noexcept { return load(p); }
  /// Lanes p[0..n) and zeros above, for tails; n is clamped to [0, width] and nothing past p[n-1] is read.
  static SANAWM_FORCEINLINE vec load_partial(const float* p, index_t n) noexcept {
    const int m = detail::clamp_lanes(n, width);
    vec r = zero();
    for (int i = 0; i < m; ++i) r.v[i] = p[i];
    return r;
  }
  /// Lanes from `width` bf16 values p[0..width) (exact widening).
  static SANAWM_FORCEINLINE vec load_bf16(const std::uint16_t* p) noexcept {
    vec r;
    SANAWM_UNROLL for (int i = 0; i < width; ++i) r.v[i] = detail::bf16_bits_to_float(p[i]);
    return r;
  }
  /// Lanes from bf16 p[0..n) and zeros above; n clamped to [0, width], nothing past p[n-1] is read.
  static SANAWM_FORCEINLINE vec load_bf16_partial(const std::uint16_t* p, index_t n) noexcept {
    const int m = detail::clamp_lanes(n, width);
    vec r = zero();
    for (int i = 0; i < m; ++i) r.v[i] = detail::bf16_bits_to_float(p[i]);
    return r;
  }

  /// Writes all lanes to p[0..width), any alignment.
  SANAWM_FORCEINLINE void store(float* p) const noexcept {
    SANAWM_UNROLL for (int i = 0; i < width; ++i) p[i] = v[i];
  }
  /// Writes all lanes to p[0..width); p aligned to `alignment` bytes.
  SANAWM_FORCEINLINE void store_aligned(float* p) const noexcept { store(p); }
  /// Writes lanes [0, n) to p[0..n); n clamped to [0, width], nothing past p[n-1] is written.
  SANAWM_FORCEINLINE void store_partial(float* p, index_t n) const noexcept {
    const int m = detail::clamp_lanes(n, width);
    for (int i = 0; i < m; ++i) p[i] = v[i];
  }
  /// Writes all lanes as bf16 (round to nearest even, NaN → 0x7FFF) to p[0..width).
  SANAWM_FORCEINLINE void store_bf16(std::uint16_t* p) const noexcept {
    SANAWM_UNROLL for (int i = 0; i < width; ++i) p[i] = detail::float_to_bf16_bits(v[i]);
  }
  /// Writes lanes [0, n) as bf16 to p[0..n); n clamped to [0, width].
  SANAWM_FORCEINLINE void store_bf16_partial(std::uint16_t* p, index_t n) const noexcept {
    const int m = detail::clamp_lanes(n, width);
    for (int i = 0; i < m; ++i) p[i] = detail::float_to_bf16_bits(v[i]);
  }
};

namespace detail {
template <class F>
SANAWM_FORCEINLINE vec<float, scalar_isa> map(const vec<float, scalar_isa>& a, F f) noexcept {
  vec<float, scalar_isa> r;
  SANAWM_UNROLL for (int i = 0; i < scalar_isa::lanes; ++i) r.v[i] = f(a.v[i]);
  return r;
}
template <class F>
SANAWM_FORCEINLINE vec<float, scalar_isa> zip(const vec<float, scalar_isa>& a,
                                              const vec<float, scalar_isa>& b, F f) noexcept {
  vec<float, scalar_isa> r;
  SANAWM_UNROLL for (int i = 0; i < scalar_isa::lanes; ++i) r.v[i] = f(a.v[i], b.v[i]);
  return r;
}
template <class F>
SANAWM_FORCEINLINE mask<float, scalar_isa> compare(const vec<float, scalar_isa>& a,
                                                   const vec<float, scalar_isa>& b, F f) noexcept {
  std::uint32_t bits = 0;
  SANAWM_UNROLL for (int i = 0; i < scalar_isa::lanes; ++i) bits |= (f(a.v[i], b.v[i]) ? 1u : 0u) << i;
  return {bits};
}
}  // namespace detail

using vec_scalar = vec<float, scalar_isa>;

SANAWM_FORCEINLINE vec_scalar operator+(vec_scalar a, vec_scalar b) noexcept {
  return detail::zip(a, b, [](float x, float y) { return x + y; });
}
SANAWM_FORCEINLINE vec_scalar operator-(vec_scalar a, vec_scalar b) noexcept {
  return detail::zip(a, b, [](float x, float y) { return x - y; });
}
SANAWM_FORCEINLINE vec_scalar operator*(vec_scalar a, vec_scalar b) noexcept {
  return detail::zip(a, b, [](float x, float y) { return x * y; });
}
SANAWM_FORCEINLINE vec_scalar operator/(vec_scalar a, vec_scalar b) noexcept {
  return detail::zip(a, b, [](float x, float y) { return x / y; });
}
/// Flips the sign bit (so -(+0) is -0 and NaNs change sign, like the x86 variants' xor).
SANAWM_FORCEINLINE vec_scalar operator-(vec_scalar a) noexcept {
  return detail::map(
      a, [](float x) { return std::bit_cast<float>(std::bit_cast<std::uint32_t>(x) ^ 0x80000000u); });
}

/// a·b + c per lane; one rounding when scalar_isa::fused_fma, else two (a·b rounded, then the sum).
SANAWM_FORCEINLINE vec_scalar fma(vec_scalar a, vec_scalar b, vec_scalar c) noexcept {
  vec_scalar r;
  SANAWM_UNROLL for (int i = 0; i < scalar_isa::lanes; ++i) {
#if defined(__FMA__)
    r.v[i] = std::fma(a.v[i], b.v[i], c.v[i]);
#else
    const float prod = a.v[i] * b.v[i];
    r.v[i] = prod + c.v[i];
#endif
  }
  return r;
}
/// a < b ? a : b per lane: the x86 minps rule, so a NaN in either operand (and min(±0, ∓0)) returns b.
SANAWM_FORCEINLINE vec_scalar min(vec_scalar a, vec_scalar b) noexcept {
  return detail::zip(a, b, [](float x, float y) { return x < y ? x : y; });
}
/// a > b ? a : b per lane (x86 maxps: NaN in either operand returns b).
SANAWM_FORCEINLINE vec_scalar max(vec_scalar a, vec_scalar b) noexcept {
  return detail::zip(a, b, [](float x, float y) { return x > y ? x : y; });
}
/// Clears the sign bit.
SANAWM_FORCEINLINE vec_scalar abs(vec_scalar a) noexcept {
  return detail::map(
      a, [](float x) { return std::bit_cast<float>(std::bit_cast<std::uint32_t>(x) & 0x7fffffffu); });
}
/// Correctly rounded square root per lane.
SANAWM_FORCEINLINE vec_scalar sqrt(vec_scalar a) noexcept {
  return detail::map(a, [](float x) { return std::sqrt(x); });
}

// Ordered comparisons (false when either lane is NaN); != is true for NaN, as in C++.
SANAWM_FORCEINLINE mask<float, scalar_isa> operator<(vec_scalar a, vec_scalar b) noexcept {
  return detail::compare(a, b, [](float x, float y) { return x < y; });
}
SANAWM_FORCEINLINE mask<float, scalar_isa> operator<=(vec_scalar a, vec_scalar b) noexcept {
  return detail::compare(a, b, [](float x, float y) { return x <= y; });
}
SANAWM_FORCEINLINE mask<float, scalar_isa> operator>(vec_scalar a, vec_scalar b) noexcept {
  return detail::compare(a, b, [](float x, float y) { return x > y; });
}
SANAWM_FORCEINLINE mask<float, scalar_isa> operator>=(vec_scalar a, vec_scalar b) noexcept {
  return detail::compare(a, b, [](float x, float y) { return x >= y; });
}
SANAWM_FORCEINLINE mask<float, scalar_isa> operator==(vec_scalar a, vec_scalar b) noexcept {
  return detail::compare(a, b, [](float x, float y) { return x == y; });
}
SANAWM_FORCEINLINE mask<float, scalar_isa> operator!=(vec_scalar a, vec_scalar b) noexcept {
  return detail::compare(a, b, [](float x, float y) { return x != y; });
}
/// Lanes that hold a NaN.
SANAWM_FORCEINLINE mask<float, scalar_isa> is_nan(vec_scalar a) noexcept {
  return a != a;
}
/// m ? a : b per lane.
SANAWM_FORCEINLINE vec_scalar select(mask<float, scalar_isa> m, vec_scalar a, vec_scalar b) noexcept {
  vec_scalar r;
  SANAWM_UNROLL for (int i = 0; i < scalar_isa::lanes; ++i) r.v[i] = ((m.bits >> i) & 1u) ? a.v[i] : b.v[i];
  return r;
}
/// True when any lane of `m` is set.
SANAWM_FORCEINLINE bool any(mask<float, scalar_isa> m) noexcept {
  return m.bits != 0;
}

/// Sum of all lanes, folding the upper half onto the lower half until one lane is left: ((v0+v2)+(v1+v3)).
SANAWM_FORCEINLINE float reduce_add(vec_scalar a) noexcept {
  const float lo = a.v[0] + a.v[2], hi = a.v[1] + a.v[3];
  return lo + hi;
}
/// Largest lane (same folding as reduce_add). Lanes must not be NaN; max(+0, -0) may return either zero.
SANAWM_FORCEINLINE float reduce_max(vec_scalar a) noexcept {
  const float lo = a.v[0] > a.v[2] ? a.v[0] : a.v[2];
  const float hi = a.v[1] > a.v[3] ? a.v[1] : a.v[3];
  return lo > hi ? lo : hi;
}

/// Two bf16 per 32-bit lane (even index in the low half), four lanes.
template <>
struct bf16_pairs<scalar_isa> {
  static constexpr int width = scalar_isa::lanes;
  std::uint32_t v[width];

  /// Lanes from 2·width bf16 values p[0..2·width): lane j = (p[2j], p[2j+1]).
  static SANAWM_FORCEINLINE bf16_pairs load(const std::uint16_t* p) noexcept {
    bf16_pairs r;
    SANAWM_UNROLL for (int j = 0; j < width; ++j) r.v[j] =
        static_cast<std::uint32_t>(p[2 * j]) | (static_cast<std::uint32_t>(p[2 * j + 1]) << 16);
    return r;
  }
  /// Every lane = (p[0], p[1]): the A-side operand of a bf16 GEMM micro-kernel.
  static SANAWM_FORCEINLINE bf16_pairs broadcast(const std::uint16_t* p) noexcept {
    const std::uint32_t pair = static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 16);
    bf16_pairs r;
    SANAWM_UNROLL for (int j = 0; j < width; ++j) r.v[j] = pair;
    return r;
  }
};

namespace detail {
/// The odd (high-half) and even (low-half) bf16 of each pair lane, widened to floats.
SANAWM_FORCEINLINE void unpack_pairs(bf16_pairs<scalar_isa> p, vec_scalar& odd, vec_scalar& even) noexcept {
  SANAWM_UNROLL for (int j = 0; j < scalar_isa::lanes; ++j) {
    odd.v[j] = std::bit_cast<float>(p.v[j] & 0xffff0000u);
    even.v[j] = std::bit_cast<float>(p.v[j] << 16);
  }
}
/// 2^n for lanes holding integers n in [-126, 127] (exact; other values are a precondition violation).
SANAWM_FORCEINLINE vec_scalar pow2i(vec_scalar n) noexcept {
  return map(n, [](float x) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<std::int32_t>(x) + 127) << 23);
  });
}
}  // namespace detail

}  // namespace sanawm::cpu

// SPDX-License-Identifier: Apache-2.0
// sanawm/core/float_bits.hpp — bit_cast, the rounding/saturation choices and the integer rounding engine
// shared by the software narrow float types (bf16, fp16, fp8, fp4).
#pragma once

#include <cstdint>      // std::uint32_t, std::uint64_t
#include <type_traits>  // std::is_trivially_copyable_v

#include "sanawm/config.hpp"  // SANAWM_HD

namespace sanawm {

/// std::bit_cast for host and device: std::bit_cast is not a device function under nvcc, the builtin is
/// (g++ and nvcc both provide it, and it is usable in constant expressions).
template <class To, class From>
  requires(sizeof(To) == sizeof(From) && std::is_trivially_copyable_v<To> &&
           std::is_trivially_copyable_v<From>)
SANAWM_HD constexpr To bit_cast(const From& from) noexcept {
  return __builtin_bit_cast(To, from);
}

/// What a narrowing conversion does with values beyond the target's largest finite value. The names follow
/// CUDA's __NV_SATFINITE / __NV_NOSAT.
enum class saturation : unsigned char {
  satfinite,  ///< clamp to ±max finite (±inf inputs too); NaN stays NaN where the format has one
  nosat,      ///< IEEE-style: overflow becomes ±inf where the format has it, NaN otherwise
};

/// Rounding direction of a narrowing conversion (which ones a type accepts is listed on the type).
enum class round_mode : unsigned char {
  nearest_even,    ///< round to nearest, ties to even (cudaRoundNearest)
  toward_zero,     ///< truncate the magnitude (cudaRoundZero)
  toward_pos_inf,  ///< ceiling (cudaRoundPosInf; only ue8m0, which has no sign)
};

namespace detail {

// Bit fields of the two IEEE source formats conversions start from.
template <class F>
struct ieee_traits;
template <>
struct ieee_traits<float> {
  using uint = std::uint32_t;
  static constexpr int mant_bits = 23;
  static constexpr int bias = 127;
  static constexpr uint abs_mask = 0x7FFF'FFFFu;
  static constexpr uint inf_bits = 0x7F80'0000u;
};
template <>
struct ieee_traits<double> {
  using uint = std::uint64_t;
  static constexpr int mant_bits = 52;
  static constexpr int bias = 1023;
  static constexpr uint abs_mask = 0x7FFF'FFFF'FFFF'FFFFull;
  static constexpr uint inf_bits = 0x7FF0'0000'0000'0000ull;
};

// Rounds a magnitude to a narrow binary format with M stored mantissa bits, exponent bias B and subnormals.
// `a` is the bit pattern of |x| in the source format F (float or double); NaN patterns give a meaningless
// code that callers replace (they select their NaN result instead of branching, so loops vectorise).
// Returns the narrow magnitude code (exponent field << M | mantissa). Values beyond the narrow format's
// range come back as codes above its largest finite code (+inf gives a very large code); each type then
// applies its own overflow rule, so one engine serves saturating and IEEE formats alike.
// Pure integer arithmetic: the result never depends on the FP environment (FTZ, rounding mode). Both the
// normal and the subnormal result are computed and one is selected, so loops over arrays vectorise.
template <class F, int M, int B, bool Nearest>
SANAWM_HD constexpr typename ieee_traits<F>::uint round_magnitude(typename ieee_traits<F>::uint a) noexcept {
  using T = ieee_traits<F>;
  using U = typename T::uint;
  static_assert(M > 0 && M < T::mant_bits && B > 0 && B <= T::bias, "narrow format must fit inside F");
  constexpr int drop = T::mant_bits - M;            // source mantissa bits rounded off in the normal range
  constexpr U min_normal_exp = U(T::bias + 1 - B);  // F's biased exponent of the narrow min normal 2^(1-B)
  const U e = a >> T::mant_bits;

  // Normal in the narrow format: re-bias the exponent in place, then round the mantissa; a carry out of the
  // mantissa correctly bumps the exponent (and past the top, produces an overflow code). For narrow-subnormal
  // inputs the subtraction wraps, harmlessly: that result is not selected.
  const U r = a - (U(T::bias - B) << T::mant_bits);
  const U normal = Nearest ? (r + ((U(1) << (drop - 1)) - 1) + ((r >> drop) & 1)) >> drop : r >> drop;

  // Subnormal (or zero) in the narrow format: the significand counted in units of the narrow denorm_min
  // 2^(1-B-M); rounding up out of the subnormals lands exactly on the min normal code. sig < 2^(mant_bits+1),
  // so any shift ≥ mant_bits + 2 gives 0 in both modes: clamping there keeps every shift in range.
  const U sig = (a & ((U(1) << T::mant_bits) - 1)) | (e != 0 ? (U(1) << T::mant_bits) : U(0));
  const U e_sub = e == 0 ? U(1) : e < min_normal_exp ? e : min_normal_exp;
  const U shift_raw = U(drop) + (min_normal_exp - e_sub);
  const U shift = shift_raw < U(T::mant_bits + 2) ? shift_raw : U(T::mant_bits + 2);
  const U sub = Nearest ? (sig + ((U(1) << (shift - 1)) - 1) + ((sig >> shift) & 1)) >> shift : sig >> shift;

  return e >= min_normal_exp ? normal : sub;
}

// Branch-free choice between two bit patterns. Written with a mask because GCC turns a ?: whose operands
// come from a float multiply into a branch (under the default -ftrapping-math it will not speculate the
// multiply), and a branch in the loop body stops vectorisation of bulk decodes.
SANAWM_HD constexpr std::uint32_t select_bits(bool c, std::uint32_t if_true, std::uint32_t if_false) noexcept {
  const std::uint32_t m = 0u - static_cast<std::uint32_t>(c);
  return (if_true & m) | (if_false & ~m);
}

// Decodes a narrow magnitude code (exponent field << M | mantissa; NaN/inf codes give garbage the caller
// replaces) with bias B to the bits of the exactly equal float. Subnormal codes (< 2^M) go through one exact
// float multiply, m · 2^(1-B-M); both forms are computed and selected so loops vectorise.
template <int M, int B>
SANAWM_HD constexpr std::uint32_t narrow_magnitude_to_float_bits(std::uint32_t mag) noexcept {
  static_assert(127 + 1 - B - M >= 1, "the subnormal step must be a normal float");
  constexpr float denorm_min = __builtin_bit_cast(float, std::uint32_t(127 + 1 - B - M) << 23);
  const std::uint32_t normal = (mag << (23 - M)) + (std::uint32_t(127 - B) << 23);
  const std::uint32_t sub = __builtin_bit_cast(std::uint32_t, static_cast<float>(mag) * denorm_min);
  return select_bits(mag < (1u << M), sub, normal);
}

// The canonical NaN every non-bf16 decode produces (CUDA's host conversions produce the same pattern).
inline constexpr std::uint32_t canonical_float_nan_bits = 0x7FFF'FFFFu;

}  // namespace detail

}  // namespace sanawm

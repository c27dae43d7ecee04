// SPDX-License-Identifier: Apache-2.0
// sanawm/core/fp4.hpp — fp4_e2m1 (one FP4 E2M1 code per byte, for arithmetic) and fp4x2 (two codes per byte,
// the NVFP4 storage unit).
#pragma once

#include <cstdint>  // std::uint8_t, std::uint32_t, std::uint64_t

#include "sanawm/config.hpp"           // SANAWM_HD
#include "sanawm/core/float_bits.hpp"  // bit_cast, round_mode, detail::round_magnitude

namespace sanawm {

/// FP4 E2M1: 1 sign, 2 exponent (bias 1), 1 mantissa bit, in the low nibble of a byte (the high nibble is 0).
/// Codes 0x0..0x7 = 0, 0.5, 1, 1.5, 2, 3, 4, 6; 0x8..0xF the same negated. No inf, no NaN.
///
/// From float/double (bit-identical to CUDA's __nv_cvt_float_to_fp4 / __nv_cvt_double_to_fp4, which always
/// saturate):
/// - round_mode::nearest_even (default) or round_mode::toward_zero;
/// - always satfinite: overflow and ±inf → ±6 (0x7 / 0xF);
/// - NaN (either sign) → +6 (0x7), as CUDA;
/// - -0 → 0x8 (CUDA keeps the sign; compare decoded values, not bytes, against references that drop it);
///   magnitudes ≤ 0.25 → ±0 in both modes.
/// To float: exact. `==` compares bits (0x0 != 0x8).
class fp4_e2m1 {
 public:
  using storage_type = std::uint8_t;

  constexpr fp4_e2m1() noexcept = default;
  /// Round to nearest even, satfinite.
  SANAWM_HD constexpr explicit fp4_e2m1(float x) noexcept
      : bits_(encode<float, round_mode::nearest_even>(bit_cast<std::uint32_t>(x))) {}
  SANAWM_HD constexpr explicit fp4_e2m1(double x) noexcept
      : bits_(encode<double, round_mode::nearest_even>(bit_cast<std::uint64_t>(x))) {}

  /// Rounds in direction R (nearest_even or toward_zero), satfinite.
  template <round_mode R = round_mode::nearest_even>
  SANAWM_HD static constexpr fp4_e2m1 from_float(float x) noexcept {
    return from_bits(encode<float, R>(bit_cast<std::uint32_t>(x)));
  }
  template <round_mode R = round_mode::nearest_even>
  SANAWM_HD static constexpr fp4_e2m1 from_double(double x) noexcept {
    return from_bits(encode<double, R>(bit_cast<std::uint64_t>(x)));
  }
  /// The value with code `b & 0xF` (the high nibble is dropped so the invariant "high nibble 0" holds).
  SANAWM_HD static constexpr fp4_e2m1 from_bits(storage_type b) noexcept {
    fp4_e2m1 r;
    r.bits_ = static_cast<storage_type>(b & 0xFu);
    return r;
  }
  /// The 4-bit code in the low nibble.
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }

  /// Exact conversion to float.
  SANAWM_HD constexpr float to_float() const noexcept {
    return bit_cast<float>((std::uint32_t(bits_ & 0x8u) << 28) |
                           detail::narrow_magnitude_to_float_bits<1, 1>(bits_ & 0x7u));
  }
  SANAWM_HD constexpr explicit operator float() const noexcept { return to_float(); }
  SANAWM_HD constexpr explicit operator double() const noexcept { return static_cast<double>(to_float()); }

  SANAWM_HD constexpr bool signbit() const noexcept { return (bits_ & 0x8u) != 0; }

  SANAWM_HD friend constexpr bool operator==(fp4_e2m1 a, fp4_e2m1 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(fp4_e2m1 a, fp4_e2m1 b) noexcept { return a.bits_ != b.bits_; }

  /// 6 (0x7).
  SANAWM_HD static constexpr fp4_e2m1 max() noexcept { return from_bits(0x7); }
  /// -6 (0xF).
  SANAWM_HD static constexpr fp4_e2m1 lowest() noexcept { return from_bits(0xF); }
  /// 1 (0x2).
  SANAWM_HD static constexpr fp4_e2m1 min_normal() noexcept { return from_bits(0x2); }
  /// 0.5 (0x1).
  SANAWM_HD static constexpr fp4_e2m1 denorm_min() noexcept { return from_bits(0x1); }
  /// 0.5 (0x1): 1.5 is the next value after 1.
  SANAWM_HD static constexpr fp4_e2m1 epsilon() noexcept { return from_bits(0x1); }

  /// float/double bits → the 4-bit code.
  template <class F, round_mode R>
  SANAWM_HD static constexpr storage_type encode(typename detail::ieee_traits<F>::uint u) noexcept {
    static_assert(R == round_mode::nearest_even || R == round_mode::toward_zero,
                  "fp4_e2m1 rounds to nearest even or toward zero only (as cuda_fp4.h)");
    using T = detail::ieee_traits<F>;
    const auto a = u & T::abs_mask;
    const auto sign = static_cast<std::uint32_t>(u >> (sizeof(u) * 8 - 4)) & 0x8u;
    const auto mag = detail::round_magnitude<F, 1, 1, R == round_mode::nearest_even>(a);
    const std::uint32_t r = sign | (mag > 0x7u ? 0x7u : static_cast<std::uint32_t>(mag));
    return static_cast<storage_type>(a > T::inf_bits ? 0x7u : r);  // NaN → +6
  }

 private:
  storage_type bits_;
};

/// Two E2M1 codes in one byte, the NVFP4 storage unit: element 0 in the LOW nibble (bits 3..0), element 1 in
/// the HIGH nibble (bits 7..4) — the order of CUDA's __nv_cvt_float2_to_fp4x2({x0, x1}), ModelOpt and
/// TransformerEngine. A packed row of K elements is K/2 of these, element 2i in byte i's low nibble.
class fp4x2 {
 public:
  using storage_type = std::uint8_t;

  constexpr fp4x2() noexcept = default;
  /// Packs two codes: `e0` → low nibble, `e1` → high nibble.
  SANAWM_HD constexpr explicit fp4x2(fp4_e2m1 e0, fp4_e2m1 e1) noexcept
      : bits_(static_cast<storage_type>(e0.bits() | (e1.bits() << 4))) {}
  /// Rounds x0 and x1 to nearest even (satfinite) and packs them (x0 low, x1 high).
  SANAWM_HD constexpr explicit fp4x2(float x0, float x1) noexcept : fp4x2(fp4_e2m1(x0), fp4_e2m1(x1)) {}

  /// Rounds with direction R (nearest_even or toward_zero) and packs x0 low, x1 high.
  template <round_mode R = round_mode::nearest_even>
  SANAWM_HD static constexpr fp4x2 from_float(float x0, float x1) noexcept {
    return fp4x2(fp4_e2m1::from_float<R>(x0), fp4_e2m1::from_float<R>(x1));
  }
  SANAWM_HD static constexpr fp4x2 from_bits(storage_type b) noexcept {
    fp4x2 r;
    r.bits_ = b;
    return r;
  }
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }

  /// Element 0 (low nibble).
  SANAWM_HD constexpr fp4_e2m1 lo() const noexcept { return fp4_e2m1::from_bits(bits_ & 0xFu); }
  /// Element 1 (high nibble).
  SANAWM_HD constexpr fp4_e2m1 hi() const noexcept {
    return fp4_e2m1::from_bits(static_cast<storage_type>(bits_ >> 4));
  }
  /// Element i ∈ {0, 1}.
  SANAWM_HD constexpr fp4_e2m1 get(int i) const noexcept {
    return fp4_e2m1::from_bits(static_cast<storage_type>(bits_ >> (4 * (i & 1))));
  }

  SANAWM_HD friend constexpr bool operator==(fp4x2 a, fp4x2 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(fp4x2 a, fp4x2 b) noexcept { return a.bits_ != b.bits_; }

 private:
  storage_type bits_;
};

static_assert(sizeof(fp4_e2m1) == 1 && sizeof(fp4x2) == 1);

}  // namespace sanawm

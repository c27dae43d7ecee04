// SPDX-License-Identifier: Apache-2.0
// sanawm/core/bf16.hpp — bf16: bfloat16 (1 sign, 8 exponent, 7 mantissa bits) as a software type for host and
// device.
#pragma once

#include <cstdint>  // std::uint16_t, std::uint32_t

#include "sanawm/config.hpp"           // SANAWM_HD
#include "sanawm/core/float_bits.hpp"  // bit_cast, detail::round_magnitude

namespace sanawm {

/// bfloat16: the upper half of an IEEE float. Trivially copyable 2-byte value holding the raw bits; a
/// default-constructed bf16 is uninitialised like a float (`bf16{}` is +0).
///
/// Conversions (all constexpr, host and device, no CUDA headers; bit-identical to CUDA's __float2bfloat16_rn,
/// __double2bfloat16 and __bfloat162float):
/// - from float/double: round to nearest, ties to even; IEEE overflow to ±inf (no saturation); NaN becomes
///   the canonical quiet NaN 0x7FFF (sign and payload dropped, as CUDA does); subnormals kept.
/// - to float: exact (a 16-bit shift; NaN payload and sign preserved).
/// `==` compares bits: +0 != -0, and a NaN equals itself only when the bits match.
class bf16 {
 public:
  using storage_type = std::uint16_t;

  constexpr bf16() noexcept = default;
  /// Round to nearest even from float (the hot path: one add, one shift, one NaN select).
  SANAWM_HD constexpr explicit bf16(float x) noexcept : bits_(from_float_bits(bit_cast<std::uint32_t>(x))) {}
  /// Round to nearest even directly from double (no double rounding through float).
  SANAWM_HD constexpr explicit bf16(double x) noexcept
      : bits_(from_double_bits(bit_cast<std::uint64_t>(x))) {}

  /// The bf16 with raw bit pattern `b`.
  SANAWM_HD static constexpr bf16 from_bits(storage_type b) noexcept {
    bf16 r;
    r.bits_ = b;
    return r;
  }
  /// The raw bit pattern.
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }

  /// Exact conversion to float.
  SANAWM_HD constexpr float to_float() const noexcept { return bit_cast<float>(std::uint32_t(bits_) << 16); }
  SANAWM_HD constexpr explicit operator float() const noexcept { return to_float(); }
  SANAWM_HD constexpr explicit operator double() const noexcept { return static_cast<double>(to_float()); }

  SANAWM_HD constexpr bool is_nan() const noexcept { return (bits_ & 0x7FFFu) > 0x7F80u; }
  SANAWM_HD constexpr bool is_inf() const noexcept { return (bits_ & 0x7FFFu) == 0x7F80u; }
  SANAWM_HD constexpr bool is_finite() const noexcept { return (bits_ & 0x7F80u) != 0x7F80u; }
  SANAWM_HD constexpr bool signbit() const noexcept { return (bits_ & 0x8000u) != 0; }

  /// Bit equality (see the class comment).
  SANAWM_HD friend constexpr bool operator==(bf16 a, bf16 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(bf16 a, bf16 b) noexcept { return a.bits_ != b.bits_; }

  /// Largest finite value, 3.3895314e38 (0x7F7F).
  SANAWM_HD static constexpr bf16 max() noexcept { return from_bits(0x7F7F); }
  /// Most negative finite value (0xFF7F).
  SANAWM_HD static constexpr bf16 lowest() noexcept { return from_bits(0xFF7F); }
  /// Smallest positive normal value, 2^-126 (0x0080).
  SANAWM_HD static constexpr bf16 min_normal() noexcept { return from_bits(0x0080); }
  /// Smallest positive subnormal value, 2^-133 (0x0001).
  SANAWM_HD static constexpr bf16 denorm_min() noexcept { return from_bits(0x0001); }
  /// Distance from 1 to the next value, 2^-7 (0x3C00).
  SANAWM_HD static constexpr bf16 epsilon() noexcept { return from_bits(0x3C00); }
  SANAWM_HD static constexpr bf16 infinity() noexcept { return from_bits(0x7F80); }
  /// The canonical quiet NaN conversions produce (0x7FFF).
  SANAWM_HD static constexpr bf16 quiet_nan() noexcept { return from_bits(0x7FFF); }

  /// float bits → bf16 bits, round to nearest even. The classic integer form: adding 0x7FFF plus the lowest
  /// kept bit rounds ties to even, carries ripple into the exponent (max finite + half ulp becomes inf), and
  /// float subnormals round like any other pattern because bf16 shares float's exponent range.
  SANAWM_HD static constexpr storage_type from_float_bits(std::uint32_t u) noexcept {
    const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    return static_cast<storage_type>((u & 0x7FFF'FFFFu) > 0x7F80'0000u ? 0x7FFFu : rounded);
  }

  /// double bits → bf16 bits, round to nearest even in one step.
  SANAWM_HD static constexpr storage_type from_double_bits(std::uint64_t u) noexcept {
    using T = detail::ieee_traits<double>;
    const std::uint64_t a = u & T::abs_mask;
    std::uint64_t mag = detail::round_magnitude<double, 7, 127, true>(a);
    mag = mag > 0x7F80u ? 0x7F80u : mag;  // overflow (and inf) → inf
    return static_cast<storage_type>(a > T::inf_bits ? 0x7FFFu : ((u >> 48) & 0x8000u) | mag);
  }

 private:
  storage_type bits_;
};

static_assert(sizeof(bf16) == 2 && alignof(bf16) == 2);

}  // namespace sanawm

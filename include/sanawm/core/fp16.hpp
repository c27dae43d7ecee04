// SPDX-License-Identifier: Apache-2.0
// sanawm/core/fp16.hpp — fp16: IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits) as a software type.
#pragma once

#include <cstdint>  // std::uint16_t, std::uint32_t

#include "sanawm/config.hpp"           // SANAWM_HD
#include "sanawm/core/float_bits.hpp"  // bit_cast, detail::round_magnitude

namespace sanawm {

/// IEEE half precision. Trivially copyable 2-byte value holding the raw bits; default construction leaves it
/// uninitialised like a float (`fp16{}` is +0).
///
/// Conversions (constexpr, host and device, no CUDA headers; bit-identical to CUDA's host __float2half_rn,
/// __double2half and __half2float):
/// - from float/double: round to nearest, ties to even; IEEE overflow to ±inf (|x| ≥ 65520 → inf, no
///   saturation); NaN becomes the canonical quiet NaN 0x7FFF (sign and payload dropped); subnormals kept.
/// - to float: exact; NaN codes give the canonical float NaN 0x7FFFFFFF.
/// `==` compares bits: +0 != -0, and a NaN equals itself only when the bits match.
class fp16 {
 public:
  using storage_type = std::uint16_t;

  constexpr fp16() noexcept = default;
  /// Round to nearest even from float.
  SANAWM_HD constexpr explicit fp16(float x) noexcept
      : bits_(from_bits_of<float>(bit_cast<std::uint32_t>(x))) {}
  /// Round to nearest even directly from double (no double rounding through float).
  SANAWM_HD constexpr explicit fp16(double x) noexcept
      : bits_(from_bits_of<double>(bit_cast<std::uint64_t>(x))) {}

  /// The fp16 with raw bit pattern `b`.
  SANAWM_HD static constexpr fp16 from_bits(storage_type b) noexcept {
    fp16 r;
    r.bits_ = b;
    return r;
  }
  /// The raw bit pattern.
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }

  /// Exact conversion to float.
  SANAWM_HD constexpr float to_float() const noexcept {
    const std::uint32_t sign = std::uint32_t(bits_ & 0x8000u) << 16;
    const std::uint32_t mag = bits_ & 0x7FFFu;
    const std::uint32_t finite = sign | detail::narrow_magnitude_to_float_bits<10, 15>(mag);
    const std::uint32_t special =
        detail::select_bits(mag == 0x7C00u, sign | 0x7F80'0000u, detail::canonical_float_nan_bits);
    return bit_cast<float>(detail::select_bits(mag >= 0x7C00u, special, finite));
  }
  SANAWM_HD constexpr explicit operator float() const noexcept { return to_float(); }
  SANAWM_HD constexpr explicit operator double() const noexcept { return static_cast<double>(to_float()); }

  SANAWM_HD constexpr bool is_nan() const noexcept { return (bits_ & 0x7FFFu) > 0x7C00u; }
  SANAWM_HD constexpr bool is_inf() const noexcept { return (bits_ & 0x7FFFu) == 0x7C00u; }
  SANAWM_HD constexpr bool is_finite() const noexcept { return (bits_ & 0x7C00u) != 0x7C00u; }
  SANAWM_HD constexpr bool signbit() const noexcept { return (bits_ & 0x8000u) != 0; }

  /// Bit equality (see the class comment).
  SANAWM_HD friend constexpr bool operator==(fp16 a, fp16 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(fp16 a, fp16 b) noexcept { return a.bits_ != b.bits_; }

  /// Largest finite value, 65504 (0x7BFF).
  SANAWM_HD static constexpr fp16 max() noexcept { return from_bits(0x7BFF); }
  /// Most negative finite value, -65504 (0xFBFF).
  SANAWM_HD static constexpr fp16 lowest() noexcept { return from_bits(0xFBFF); }
  /// Smallest positive normal value, 2^-14 (0x0400).
  SANAWM_HD static constexpr fp16 min_normal() noexcept { return from_bits(0x0400); }
  /// Smallest positive subnormal value, 2^-24 (0x0001).
  SANAWM_HD static constexpr fp16 denorm_min() noexcept { return from_bits(0x0001); }
  /// Distance from 1 to the next value, 2^-10 (0x1400).
  SANAWM_HD static constexpr fp16 epsilon() noexcept { return from_bits(0x1400); }
  SANAWM_HD static constexpr fp16 infinity() noexcept { return from_bits(0x7C00); }
  /// The canonical quiet NaN conversions produce (0x7FFF).
  SANAWM_HD static constexpr fp16 quiet_nan() noexcept { return from_bits(0x7FFF); }

  /// float or double bits → fp16 bits, round to nearest even.
  template <class F>
  SANAWM_HD static constexpr storage_type from_bits_of(typename detail::ieee_traits<F>::uint u) noexcept {
    using T = detail::ieee_traits<F>;
    const auto a = u & T::abs_mask;
    auto mag = detail::round_magnitude<F, 10, 15, true>(a);
    mag = mag > 0x7C00u ? 0x7C00u : mag;  // overflow (and inf) → inf
    const auto r = ((u >> (sizeof(u) * 8 - 16)) & 0x8000u) | mag;
    return static_cast<storage_type>(a > T::inf_bits ? 0x7FFFu : r);
  }

 private:
  storage_type bits_;
};

static_assert(sizeof(fp16) == 2 && alignof(fp16) == 2);

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/core/fp8.hpp — 8-bit floats as software types: fp8_e4m3, fp8_e5m2, and the two block-scale formats
// ue4m3 (NVFP4 scales) and ue8m0 (MX scales).
#pragma once

#include <cstdint>  // std::uint8_t, std::uint32_t, std::uint64_t

#include "sanawm/config.hpp"           // SANAWM_HD
#include "sanawm/core/float_bits.hpp"  // bit_cast, saturation, round_mode, detail::round_magnitude

namespace sanawm {

/// OCP FP8 E4M3 ("e4m3fn"): 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; 0x7F/0xFF are NaN;
/// largest finite ±448 (0x7E/0xFE); subnormals down to 2^-9.
///
/// From float/double (round to nearest, ties to even; bit-identical to CUDA's __nv_cvt_float_to_fp8):
/// - saturation::satfinite (the default, __NV_SATFINITE): |x| beyond 448 (after rounding) and ±inf → ±448;
/// - saturation::nosat (__NV_NOSAT): overflow and ±inf → NaN, keeping the sign (0x7F / 0xFF);
/// - NaN → 0x7F in both modes (CUDA's result for float NaNs; for double NaNs too, where CUDA keeps the sign);
/// - magnitudes ≤ 2^-10 (half the smallest subnormal, a tie to even) → ±0.
/// To float: exact; NaN codes give the canonical float NaN 0x7FFFFFFF. `==` compares bits.
class fp8_e4m3 {
 public:
  using storage_type = std::uint8_t;

  constexpr fp8_e4m3() noexcept = default;
  /// Round to nearest even, satfinite.
  SANAWM_HD constexpr explicit fp8_e4m3(float x) noexcept
      : bits_(encode<float, saturation::satfinite>(bit_cast<std::uint32_t>(x))) {}
  /// Round to nearest even directly from double, satfinite.
  SANAWM_HD constexpr explicit fp8_e4m3(double x) noexcept
      : bits_(encode<double, saturation::satfinite>(bit_cast<std::uint64_t>(x))) {}

  /// Round to nearest even with the chosen overflow rule.
  template <saturation S = saturation::satfinite>
  SANAWM_HD static constexpr fp8_e4m3 from_float(float x) noexcept {
    return from_bits(encode<float, S>(bit_cast<std::uint32_t>(x)));
  }
  template <saturation S = saturation::satfinite>
  SANAWM_HD static constexpr fp8_e4m3 from_double(double x) noexcept {
    return from_bits(encode<double, S>(bit_cast<std::uint64_t>(x)));
  }
  SANAWM_HD static constexpr fp8_e4m3 from_bits(storage_type b) noexcept {
    fp8_e4m3 r;
    r.bits_ = b;
    return r;
  }
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }

  /// Exact conversion to float.
  SANAWM_HD constexpr float to_float() const noexcept {
    const std::uint32_t mag = bits_ & 0x7Fu;
    const std::uint32_t finite =
        (std::uint32_t(bits_ & 0x80u) << 24) | detail::narrow_magnitude_to_float_bits<3, 7>(mag);
    return bit_cast<float>(detail::select_bits(mag == 0x7Fu, detail::canonical_float_nan_bits, finite));
  }
  SANAWM_HD constexpr explicit operator float() const noexcept { return to_float(); }
  SANAWM_HD constexpr explicit operator double() const noexcept { return static_cast<double>(to_float()); }

  SANAWM_HD constexpr bool is_nan() const noexcept { return (bits_ & 0x7Fu) == 0x7Fu; }
  SANAWM_HD constexpr bool is_finite() const noexcept { return !is_nan(); }
  SANAWM_HD constexpr bool signbit() const noexcept { return (bits_ & 0x80u) != 0; }

  SANAWM_HD friend constexpr bool operator==(fp8_e4m3 a, fp8_e4m3 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(fp8_e4m3 a, fp8_e4m3 b) noexcept { return a.bits_ != b.bits_; }

  /// 448 (0x7E).
  SANAWM_HD static constexpr fp8_e4m3 max() noexcept { return from_bits(0x7E); }
  /// -448 (0xFE).
  SANAWM_HD static constexpr fp8_e4m3 lowest() noexcept { return from_bits(0xFE); }
  /// 2^-6 (0x08).
  SANAWM_HD static constexpr fp8_e4m3 min_normal() noexcept { return from_bits(0x08); }
  /// 2^-9 (0x01).
  SANAWM_HD static constexpr fp8_e4m3 denorm_min() noexcept { return from_bits(0x01); }
  /// 2^-3 (0x20): 1.125 is the next value after 1.
  SANAWM_HD static constexpr fp8_e4m3 epsilon() noexcept { return from_bits(0x20); }
  SANAWM_HD static constexpr fp8_e4m3 quiet_nan() noexcept { return from_bits(0x7F); }

  /// float/double bits → e4m3 bits.
  template <class F, saturation S>
  SANAWM_HD static constexpr storage_type encode(typename detail::ieee_traits<F>::uint u) noexcept {
    using T = detail::ieee_traits<F>;
    const auto a = u & T::abs_mask;
    const auto sign = static_cast<std::uint32_t>(u >> (sizeof(u) * 8 - 8)) & 0x80u;
    const auto mag = detail::round_magnitude<F, 3, 7, true>(a);
    constexpr std::uint32_t overflow_code = S == saturation::satfinite ? 0x7Eu : 0x7Fu;  // ±448 or NaN
    const std::uint32_t r = sign | (mag > 0x7Eu ? overflow_code : static_cast<std::uint32_t>(mag));
    return static_cast<storage_type>(a > T::inf_bits ? 0x7Fu : r);
  }

 private:
  storage_type bits_;
};

/// OCP FP8 E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa bits; IEEE-like with ±inf (0x7C/0xFC) and NaNs
/// (0x7D..0x7F, 0xFD..0xFF); largest finite ±57344 (0x7B/0xFB); subnormals down to 2^-16.
///
/// From float/double (round to nearest, ties to even; bit-identical to CUDA's __nv_cvt_float_to_fp8):
/// - saturation::satfinite (default): overflow and ±inf → ±57344;
/// - saturation::nosat: overflow and ±inf → ±inf;
/// - NaN → 0x7F in both modes (CUDA's result for float inputs; double inputs get the same here).
/// To float: exact; NaN codes give the canonical float NaN 0x7FFFFFFF. `==` compares bits.
class fp8_e5m2 {
 public:
  using storage_type = std::uint8_t;

  constexpr fp8_e5m2() noexcept = default;
  /// Round to nearest even, satfinite.
  SANAWM_HD constexpr explicit fp8_e5m2(float x) noexcept
      : bits_(encode<float, saturation::satfinite>(bit_cast<std::uint32_t>(x))) {}
  SANAWM_HD constexpr explicit fp8_e5m2(double x) noexcept
      : bits_(encode<double, saturation::satfinite>(bit_cast<std::uint64_t>(x))) {}

  template <saturation S = saturation::satfinite>
  SANAWM_HD static constexpr fp8_e5m2 from_float(float x) noexcept {
    return from_bits(encode<float, S>(bit_cast<std::uint32_t>(x)));
  }
  template <saturation S = saturation::satfinite>
  SANAWM_HD static constexpr fp8_e5m2 from_double(double x) noexcept {
    return from_bits(encode<double, S>(bit_cast<std::uint64_t>(x)));
  }
  SANAWM_HD static constexpr fp8_e5m2 from_bits(storage_type b) noexcept {
    fp8_e5m2 r;
    r.bits_ = b;
    return r;
  }
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }

  /// Exact conversion to float.
  SANAWM_HD constexpr float to_float() const noexcept {
    const std::uint32_t sign = std::uint32_t(bits_ & 0x80u) << 24;
    const std::uint32_t mag = bits_ & 0x7Fu;
    const std::uint32_t finite = sign | detail::narrow_magnitude_to_float_bits<2, 15>(mag);
    const std::uint32_t special =
        detail::select_bits(mag == 0x7Cu, sign | 0x7F80'0000u, detail::canonical_float_nan_bits);
    return bit_cast<float>(detail::select_bits(mag >= 0x7Cu, special, finite));
  }
  SANAWM_HD constexpr explicit operator float() const noexcept { return to_float(); }
  SANAWM_HD constexpr explicit operator double() const noexcept { return static_cast<double>(to_float()); }

  SANAWM_HD constexpr bool is_nan() const noexcept { return (bits_ & 0x7Fu) > 0x7Cu; }
  SANAWM_HD constexpr bool is_inf() const noexcept { return (bits_ & 0x7Fu) == 0x7Cu; }
  SANAWM_HD constexpr bool is_finite() const noexcept { return (bits_ & 0x7Cu) != 0x7Cu; }
  SANAWM_HD constexpr bool signbit() const noexcept { return (bits_ & 0x80u) != 0; }

  SANAWM_HD friend constexpr bool operator==(fp8_e5m2 a, fp8_e5m2 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(fp8_e5m2 a, fp8_e5m2 b) noexcept { return a.bits_ != b.bits_; }

  /// 57344 (0x7B).
  SANAWM_HD static constexpr fp8_e5m2 max() noexcept { return from_bits(0x7B); }
  /// -57344 (0xFB).
  SANAWM_HD static constexpr fp8_e5m2 lowest() noexcept { return from_bits(0xFB); }
  /// 2^-14 (0x04).
  SANAWM_HD static constexpr fp8_e5m2 min_normal() noexcept { return from_bits(0x04); }
  /// 2^-16 (0x01).
  SANAWM_HD static constexpr fp8_e5m2 denorm_min() noexcept { return from_bits(0x01); }
  /// 2^-2 (0x34): 1.25 is the next value after 1.
  SANAWM_HD static constexpr fp8_e5m2 epsilon() noexcept { return from_bits(0x34); }
  SANAWM_HD static constexpr fp8_e5m2 infinity() noexcept { return from_bits(0x7C); }
  SANAWM_HD static constexpr fp8_e5m2 quiet_nan() noexcept { return from_bits(0x7F); }

  /// float/double bits → e5m2 bits.
  template <class F, saturation S>
  SANAWM_HD static constexpr storage_type encode(typename detail::ieee_traits<F>::uint u) noexcept {
    using T = detail::ieee_traits<F>;
    const auto a = u & T::abs_mask;
    const auto sign = static_cast<std::uint32_t>(u >> (sizeof(u) * 8 - 8)) & 0x80u;
    const auto mag = detail::round_magnitude<F, 2, 15, true>(a);
    constexpr std::uint32_t overflow_code = S == saturation::satfinite ? 0x7Bu : 0x7Cu;  // ±57344 or ±inf
    const std::uint32_t r = sign | (mag > 0x7Bu ? overflow_code : static_cast<std::uint32_t>(mag));
    return static_cast<storage_type>(a > T::inf_bits ? 0x7Fu : r);
  }

 private:
  storage_type bits_;
};

/// UE4M3, the NVFP4 block-scale format: an E4M3 code whose sign bit is always 0 (values 0 … 448, NaN 0x7F).
/// CUDA has no type for it; kernels store scales as __nv_fp8_e4m3 bytes produced with __NV_SATFINITE.
///
/// From float/double: round to nearest, ties to even, always saturating:
/// - negative inputs, -0 and -inf → 0x00 (a scale cannot be negative; quantisers take scales from |x| maxima,
///   so a negative input is a caller bug that must not flip a sign bit the hardware ignores);
/// - overflow and +inf → 448 (0x7E); NaN (either sign) → 0x7F;
/// - for x ≥ 0 the byte equals fp8_e4m3 satfinite's.
/// To float: exact; bit 7 is ignored (decodes like the code with bit 7 clear), 0x7F → NaN. `==` compares
/// bits.
class ue4m3 {
 public:
  using storage_type = std::uint8_t;

  constexpr ue4m3() noexcept = default;
  SANAWM_HD constexpr explicit ue4m3(float x) noexcept : bits_(encode<float>(bit_cast<std::uint32_t>(x))) {}
  SANAWM_HD constexpr explicit ue4m3(double x) noexcept : bits_(encode<double>(bit_cast<std::uint64_t>(x))) {}

  SANAWM_HD static constexpr ue4m3 from_bits(storage_type b) noexcept {
    ue4m3 r;
    r.bits_ = b;
    return r;
  }
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }

  /// Exact conversion to float.
  SANAWM_HD constexpr float to_float() const noexcept {
    const std::uint32_t mag = bits_ & 0x7Fu;
    return bit_cast<float>(detail::select_bits(mag == 0x7Fu, detail::canonical_float_nan_bits,
                                               detail::narrow_magnitude_to_float_bits<3, 7>(mag)));
  }
  SANAWM_HD constexpr explicit operator float() const noexcept { return to_float(); }
  SANAWM_HD constexpr explicit operator double() const noexcept { return static_cast<double>(to_float()); }

  SANAWM_HD constexpr bool is_nan() const noexcept { return (bits_ & 0x7Fu) == 0x7Fu; }

  SANAWM_HD friend constexpr bool operator==(ue4m3 a, ue4m3 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(ue4m3 a, ue4m3 b) noexcept { return a.bits_ != b.bits_; }

  /// 448 (0x7E).
  SANAWM_HD static constexpr ue4m3 max() noexcept { return from_bits(0x7E); }
  /// 0 (0x00): the format is unsigned.
  SANAWM_HD static constexpr ue4m3 lowest() noexcept { return from_bits(0x00); }
  /// 2^-6 (0x08).
  SANAWM_HD static constexpr ue4m3 min_normal() noexcept { return from_bits(0x08); }
  /// 2^-9 (0x01).
  SANAWM_HD static constexpr ue4m3 denorm_min() noexcept { return from_bits(0x01); }
  /// 2^-3 (0x20).
  SANAWM_HD static constexpr ue4m3 epsilon() noexcept { return from_bits(0x20); }
  SANAWM_HD static constexpr ue4m3 quiet_nan() noexcept { return from_bits(0x7F); }

  /// float/double bits → ue4m3 bits.
  template <class F>
  SANAWM_HD static constexpr storage_type encode(typename detail::ieee_traits<F>::uint u) noexcept {
    using T = detail::ieee_traits<F>;
    const auto a = u & T::abs_mask;
    const auto mag = detail::round_magnitude<F, 3, 7, true>(a);
    const std::uint32_t r = a != u        ? 0x00u  // sign bit set: negative, -0 or -inf
                            : mag > 0x7Eu ? 0x7Eu
                                          : static_cast<std::uint32_t>(mag);
    return static_cast<storage_type>(a > T::inf_bits ? 0x7Fu : r);
  }

 private:
  storage_type bits_;
};

/// UE8M0, the MX block-scale format: an unsigned biased exponent, value 2^(bits − 127) for bits 0x00..0xFE
/// (2^-127 … 2^127; there is no zero), 0xFF = NaN.
///
/// From float/double, on |x| (the sign is ignored), with CUDA's __nv_cvt_float_to_e8m0 semantics:
/// - round_mode::toward_pos_inf (the default, as CUDA's __nv_fp8_e8m0(float) constructor) gives the smallest
///   power of two ≥ |x|; round_mode::toward_zero the largest ≤ |x|. No round-to-nearest (CUDA has none).
/// - results below 2^-127 (including ±0 and every float subnormal under toward_zero) clamp to 2^-127 (0x00);
/// - results above 2^127, and ±inf: saturation::satfinite (default) → 2^127 (0xFE); nosat → NaN (0xFF);
/// - NaN → 0xFF.
/// Double inputs are rounded directly (CUDA's double path only differs for finite |x| ≥ 2^128 under
/// toward_zero + nosat, where it returns 0xFE and this returns NaN like the float rule says).
/// To float: exact (0x00 → 2^-127, a float subnormal; 0xFF → canonical NaN 0x7FFFFFFF). `==` compares bits.
class ue8m0 {
 public:
  using storage_type = std::uint8_t;

  constexpr ue8m0() noexcept = default;
  /// Round up (toward +inf), satfinite.
  SANAWM_HD constexpr explicit ue8m0(float x) noexcept : bits_(from_float(x).bits_) {}
  SANAWM_HD constexpr explicit ue8m0(double x) noexcept : bits_(from_double(x).bits_) {}

  /// Rounds |x| to a power of two in direction R (toward_pos_inf or toward_zero) with overflow rule S.
  template <round_mode R = round_mode::toward_pos_inf, saturation S = saturation::satfinite>
  SANAWM_HD static constexpr ue8m0 from_float(float x) noexcept {
    return from_bits(encode<float, R, S>(bit_cast<std::uint32_t>(x)));
  }
  template <round_mode R = round_mode::toward_pos_inf, saturation S = saturation::satfinite>
  SANAWM_HD static constexpr ue8m0 from_double(double x) noexcept {
    return from_bits(encode<double, R, S>(bit_cast<std::uint64_t>(x)));
  }
  /// 2^k; k outside [-127, 127] clamps to the nearest end.
  SANAWM_HD static constexpr ue8m0 from_exponent(int k) noexcept {
    return from_bits(static_cast<storage_type>(k < -127 ? 0 : k > 127 ? 254 : k + 127));
  }
  SANAWM_HD static constexpr ue8m0 from_bits(storage_type b) noexcept {
    ue8m0 r;
    r.bits_ = b;
    return r;
  }
  SANAWM_HD constexpr storage_type bits() const noexcept { return bits_; }
  /// k such that the value is 2^k (meaningless for NaN).
  SANAWM_HD constexpr int exponent() const noexcept { return int(bits_) - 127; }

  /// Exact conversion to float.
  SANAWM_HD constexpr float to_float() const noexcept {
    const std::uint32_t b = bits_;
    return bit_cast<float>(b == 0xFFu ? detail::canonical_float_nan_bits : b == 0u ? 0x0040'0000u : b << 23);
  }
  SANAWM_HD constexpr explicit operator float() const noexcept { return to_float(); }
  SANAWM_HD constexpr explicit operator double() const noexcept { return static_cast<double>(to_float()); }

  SANAWM_HD constexpr bool is_nan() const noexcept { return bits_ == 0xFFu; }

  SANAWM_HD friend constexpr bool operator==(ue8m0 a, ue8m0 b) noexcept { return a.bits_ == b.bits_; }
  SANAWM_HD friend constexpr bool operator!=(ue8m0 a, ue8m0 b) noexcept { return a.bits_ != b.bits_; }

  /// 2^127 (0xFE).
  SANAWM_HD static constexpr ue8m0 max() noexcept { return from_bits(0xFE); }
  /// 2^-127 (0x00), the smallest value (the format has no zero and no sign).
  SANAWM_HD static constexpr ue8m0 lowest() noexcept { return from_bits(0x00); }
  /// 2^-127 (0x00): every value is a normal power of two.
  SANAWM_HD static constexpr ue8m0 min_normal() noexcept { return from_bits(0x00); }
  /// 2^-127 (0x00): no subnormals, so this equals min_normal (as std::numeric_limits defines it).
  SANAWM_HD static constexpr ue8m0 denorm_min() noexcept { return from_bits(0x00); }
  /// 1 (0x7F): the next value after 1 is 2.
  SANAWM_HD static constexpr ue8m0 epsilon() noexcept { return from_bits(0x7F); }
  SANAWM_HD static constexpr ue8m0 quiet_nan() noexcept { return from_bits(0xFF); }

  /// float/double bits → e8m0 bits.
  template <class F, round_mode R, saturation S>
  SANAWM_HD static constexpr storage_type encode(typename detail::ieee_traits<F>::uint u) noexcept {
    static_assert(R == round_mode::toward_pos_inf || R == round_mode::toward_zero,
                  "ue8m0 rounds toward +inf or toward zero only (as CUDA's e8m0 conversions)");
    using T = detail::ieee_traits<F>;
    using U = typename T::uint;
    const U a = u & T::abs_mask;
    if (a > T::inf_bits) return 0xFF;
    const U e = a >> T::mant_bits;
    const U m = a & ((U(1) << T::mant_bits) - 1);
    std::uint32_t code;
    if constexpr (sizeof(U) == 4) {
      // float: e8m0's exponent range is float's, so the code is the float exponent field; float subnormals
      // (field 0) hold values below 2^-126, which round up to 2^-126 only when above 2^-127.
      if constexpr (R == round_mode::toward_zero)
        code = e;
      else
        code = e != 0 ? e + (m != 0 ? 1u : 0u) : (m > 0x40'0000u ? 1u : 0u);
    } else {
      // double: e8m0's range lies inside double's normals; count from double's exponent of 2^-127.
      constexpr U e_min = U(T::bias - 127);  // 896
      const U up = (R == round_mode::toward_pos_inf && m != 0) ? 1 : 0;
      const U c = e + up;
      code = c <= e_min ? 0u : c - e_min >= 255 ? 255u : static_cast<std::uint32_t>(c - e_min);
    }
    // 255 is reached only by ±inf or a value that rounded past 2^127.
    if (code >= 255u) return S == saturation::satfinite ? 0xFE : 0xFF;
    return static_cast<storage_type>(code);
  }

 private:
  storage_type bits_;
};

static_assert(sizeof(fp8_e4m3) == 1 && sizeof(fp8_e5m2) == 1 && sizeof(ue4m3) == 1 && sizeof(ue8m0) == 1);

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/core/dtype.hpp — the dtype enum, its names and traits, and the C++ type ↔ dtype maps.
#pragma once

#include <cstdint>      // std::int8_t … std::uint64_t
#include <type_traits>  // std::integral_constant, std::remove_cv_t

#include "sanawm/config.hpp"     // SANAWM_HD
#include "sanawm/core/bf16.hpp"  // bf16
#include "sanawm/core/fp16.hpp"  // fp16
#include "sanawm/core/fp4.hpp"   // fp4_e2m1, fp4x2
#include "sanawm/core/fp8.hpp"   // fp8_e4m3, fp8_e5m2, ue4m3, ue8m0

namespace sanawm {

/// Element formats sanawm stores and converts. The names are the canonical spellings (dtype_name); file
/// readers map their own names (safetensors "BF16", numpy "<f4") onto these.
enum class dtype : std::uint8_t {
  f32,
  f64,
  bf16,
  f16,
  f8_e4m3,
  f8_e5m2,
  ue4m3,    ///< unsigned e4m3: NVFP4 block scales
  ue8m0,    ///< power-of-two exponent: MX block scales
  f4_e2m1,  ///< 4 bits; stored two per byte (fp4x2)
  boolean,  ///< one byte, 0 or 1
  i8,
  u8,
  i16,
  u16,
  i32,
  u32,
  i64,
  u64,
};

/// Number of dtype enumerators (they are numbered 0 … dtype_count − 1).
inline constexpr int dtype_count = 18;

/// The canonical name ("f32", "bf16", "f8_e4m3", "f4_e2m1", "bool", …); "unknown" for a value outside the
/// enum.
SANAWM_HD constexpr const char* dtype_name(dtype d) noexcept {
  switch (d) {
    case dtype::f32:
      return "f32";
    case dtype::f64:
      return "f64";
    case dtype::bf16:
      return "bf16";
    case dtype::f16:
      return "f16";
    case dtype::f8_e4m3:
      return "f8_e4m3";
    case dtype::f8_e5m2:
      return "f8_e5m2";
    case dtype::ue4m3:
      return "ue4m3";
    case dtype::ue8m0:
      return "ue8m0";
    case dtype::f4_e2m1:
      return "f4_e2m1";
    case dtype::boolean:
      return "bool";
    case dtype::i8:
      return "i8";
    case dtype::u8:
      return "u8";
    case dtype::i16:
      return "i16";
    case dtype::u16:
      return "u16";
    case dtype::i32:
      return "i32";
    case dtype::u32:
      return "u32";
    case dtype::i64:
      return "i64";
    case dtype::u64:
      return "u64";
  }
  return "unknown";
}

/// Bits per element: 4 for f4_e2m1, else 8 × the element's size; 0 for a value outside the enum.
SANAWM_HD constexpr int dtype_bits(dtype d) noexcept {
  switch (d) {
    case dtype::f4_e2m1:
      return 4;
    case dtype::f8_e4m3:
    case dtype::f8_e5m2:
    case dtype::ue4m3:
    case dtype::ue8m0:
    case dtype::boolean:
    case dtype::i8:
    case dtype::u8:
      return 8;
    case dtype::bf16:
    case dtype::f16:
    case dtype::i16:
    case dtype::u16:
      return 16;
    case dtype::f32:
    case dtype::i32:
    case dtype::u32:
      return 32;
    case dtype::f64:
    case dtype::i64:
    case dtype::u64:
      return 64;
  }
  return 0;
}

/// Floating-point formats, the unsigned scale formats ue4m3/ue8m0 included.
SANAWM_HD constexpr bool is_floating(dtype d) noexcept {
  switch (d) {
    case dtype::f32:
    case dtype::f64:
    case dtype::bf16:
    case dtype::f16:
    case dtype::f8_e4m3:
    case dtype::f8_e5m2:
    case dtype::ue4m3:
    case dtype::ue8m0:
    case dtype::f4_e2m1:
      return true;
    default:
      return false;
  }
}

/// Integer formats (bool is not one).
SANAWM_HD constexpr bool is_integral(dtype d) noexcept {
  switch (d) {
    case dtype::i8:
    case dtype::u8:
    case dtype::i16:
    case dtype::u16:
    case dtype::i32:
    case dtype::u32:
    case dtype::i64:
    case dtype::u64:
      return true;
    default:
      return false;
  }
}

/// Formats that can hold negative values (ue4m3, ue8m0, bool and the unsigned integers cannot).
SANAWM_HD constexpr bool is_signed(dtype d) noexcept {
  switch (d) {
    case dtype::f32:
    case dtype::f64:
    case dtype::bf16:
    case dtype::f16:
    case dtype::f8_e4m3:
    case dtype::f8_e5m2:
    case dtype::f4_e2m1:
    case dtype::i8:
    case dtype::i16:
    case dtype::i32:
    case dtype::i64:
      return true;
    default:
      return false;
  }
}

/// Sub-byte formats, stored several elements per byte in memory (f4_e2m1: two, low nibble first).
SANAWM_HD constexpr bool is_packed(dtype d) noexcept {
  return dtype_bits(d) > 0 && dtype_bits(d) < 8;
}

namespace detail {
template <class T>
struct dtype_of_impl {};  // no `value`: T has no dtype (has_dtype<T> is false)
#define SANAWM_DETAIL_DTYPE_OF(T, D) \
  template <>                        \
  struct dtype_of_impl<T> : std::integral_constant<dtype, dtype::D> {}
SANAWM_DETAIL_DTYPE_OF(float, f32);
SANAWM_DETAIL_DTYPE_OF(double, f64);
SANAWM_DETAIL_DTYPE_OF(::sanawm::bf16, bf16);
SANAWM_DETAIL_DTYPE_OF(fp16, f16);
SANAWM_DETAIL_DTYPE_OF(fp8_e4m3, f8_e4m3);
SANAWM_DETAIL_DTYPE_OF(fp8_e5m2, f8_e5m2);
SANAWM_DETAIL_DTYPE_OF(::sanawm::ue4m3, ue4m3);
SANAWM_DETAIL_DTYPE_OF(::sanawm::ue8m0, ue8m0);
SANAWM_DETAIL_DTYPE_OF(fp4_e2m1, f4_e2m1);
SANAWM_DETAIL_DTYPE_OF(fp4x2, f4_e2m1);
SANAWM_DETAIL_DTYPE_OF(bool, boolean);
SANAWM_DETAIL_DTYPE_OF(std::int8_t, i8);
SANAWM_DETAIL_DTYPE_OF(std::uint8_t, u8);
SANAWM_DETAIL_DTYPE_OF(std::int16_t, i16);
SANAWM_DETAIL_DTYPE_OF(std::uint16_t, u16);
SANAWM_DETAIL_DTYPE_OF(std::int32_t, i32);
SANAWM_DETAIL_DTYPE_OF(std::uint32_t, u32);
SANAWM_DETAIL_DTYPE_OF(std::int64_t, i64);
SANAWM_DETAIL_DTYPE_OF(std::uint64_t, u64);
#undef SANAWM_DETAIL_DTYPE_OF

template <dtype D>
struct type_of_impl;
template <>
struct type_of_impl<dtype::f32> {
  using type = float;
};
template <>
struct type_of_impl<dtype::f64> {
  using type = double;
};
template <>
struct type_of_impl<dtype::bf16> {
  using type = ::sanawm::bf16;
};
template <>
struct type_of_impl<dtype::f16> {
  using type = fp16;
};
template <>
struct type_of_impl<dtype::f8_e4m3> {
  using type = fp8_e4m3;
};
template <>
struct type_of_impl<dtype::f8_e5m2> {
  using type = fp8_e5m2;
};
template <>
struct type_of_impl<dtype::ue4m3> {
  using type = ::sanawm::ue4m3;
};
template <>
struct type_of_impl<dtype::ue8m0> {
  using type = ::sanawm::ue8m0;
};
template <>
struct type_of_impl<dtype::f4_e2m1> {
  using type = fp4_e2m1;
};
template <>
struct type_of_impl<dtype::boolean> {
  using type = bool;
};
template <>
struct type_of_impl<dtype::i8> {
  using type = std::int8_t;
};
template <>
struct type_of_impl<dtype::u8> {
  using type = std::uint8_t;
};
template <>
struct type_of_impl<dtype::i16> {
  using type = std::int16_t;
};
template <>
struct type_of_impl<dtype::u16> {
  using type = std::uint16_t;
};
template <>
struct type_of_impl<dtype::i32> {
  using type = std::int32_t;
};
template <>
struct type_of_impl<dtype::u32> {
  using type = std::uint32_t;
};
template <>
struct type_of_impl<dtype::i64> {
  using type = std::int64_t;
};
template <>
struct type_of_impl<dtype::u64> {
  using type = std::uint64_t;
};
}  // namespace detail

/// dtype_of<T>::value is T's dtype (cv-qualifiers ignored). fp4x2, the packed pair, maps to f4_e2m1 like
/// fp4_e2m1: the dtype names the element format, is_packed_v/packed_count_v say how T stores it.
template <class T>
struct dtype_of : detail::dtype_of_impl<std::remove_cv_t<T>> {};
template <class T>
inline constexpr dtype dtype_of_v = dtype_of<T>::value;

/// Types with a dtype.
template <class T>
concept has_dtype = requires {
  dtype_of<T>::value;
};

/// The scalar C++ type of a dtype (f4_e2m1 → fp4_e2m1, the one-code-per-byte value type).
template <dtype D>
using type_of_t = typename detail::type_of_impl<D>::type;

/// Bits of one element of T: 4 for fp4_e2m1 (its storage byte holds one code in the low nibble; arrays of FP4
/// are stored as fp4x2), 8 for fp4x2 (the byte holding two), else 8 × sizeof(T).
template <class T>
struct sizeof_bits : std::integral_constant<int, int(sizeof(T) * 8)> {};
template <class T>
struct sizeof_bits<const T> : sizeof_bits<T> {};
template <class T>
struct sizeof_bits<volatile T> : sizeof_bits<T> {};
template <class T>
struct sizeof_bits<const volatile T> : sizeof_bits<T> {};
template <>
struct sizeof_bits<fp4_e2m1> : std::integral_constant<int, 4> {};
template <class T>
inline constexpr int sizeof_bits_v = sizeof_bits<T>::value;

/// Number of elements one object of T packs (2 for fp4x2, else 1), and whether it packs several.
template <class T>
inline constexpr int packed_count_v = std::is_same_v<std::remove_cv_t<T>, fp4x2> ? 2 : 1;
template <class T>
inline constexpr bool is_packed_v = packed_count_v<T> > 1;

}  // namespace sanawm

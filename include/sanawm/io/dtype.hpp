// SPDX-License-Identifier: Apache-2.0
// sanawm/io/dtype.hpp — st_dtype (the safetensors element types, shared by .npy/.npz) and little-endian
// decoding.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/dtype.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <bit>          // std::bit_cast, std::endian
#include <concepts>     // std::integral, std::floating_point
#include <cstddef>      // std::byte, std::size_t
#include <cstdint>      // std::uint8_t ...
#include <cstring>      // std::memcpy
#include <limits>       // std::numeric_limits
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_same_v
#include <utility>      // std::in_range
#include <vector>       // std::vector

#include "sanawm/core/dtype.hpp"  // sanawm::dtype, bf16, fp16, fp8_e4m3, fp8_e5m2, ue8m0
#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/core/int.hpp"    // index_t

namespace sanawm::io {

/// Element types of safetensors files, named as in the format's "dtype" strings. `.npy`/`.npz` arrays use
/// the same enum. Sub-byte types (F4, F6_*) and complex types are not supported (a clear error when met).
enum class st_dtype : std::uint8_t {
  BOOL,
  U8,
  I8,
  U16,
  I16,
  U32,
  I32,
  U64,
  I64,
  F8_E4M3,  ///< OCP fp8 E4M3 "fn" (no infinities, NaN = S.1111.111), bias 7
  F8_E5M2,  ///< OCP fp8 E5M2 (IEEE-like, the top byte of an fp16), bias 15
  F8_E8M0,  ///< OCP MX scale: 2^(e − 127), 0xFF = NaN
  F16,
  BF16,
  F32,
  F64,
};

/// Every st_dtype, for tests and tools that iterate over all of them.
inline constexpr st_dtype all_st_dtypes[] = {
    st_dtype::BOOL, st_dtype::U8,   st_dtype::I8,  st_dtype::U16,     st_dtype::I16,     st_dtype::U32,
    st_dtype::I32,  st_dtype::U64,  st_dtype::I64, st_dtype::F8_E4M3, st_dtype::F8_E5M2, st_dtype::F8_E8M0,
    st_dtype::F16,  st_dtype::BF16, st_dtype::F32, st_dtype::F64};

/// The safetensors "dtype" string of `d` ("F32", "BF16", ...).
constexpr std::string_view st_dtype_name(st_dtype d) noexcept {
  switch (d) {
    case st_dtype::BOOL:
      return "BOOL";
    case st_dtype::U8:
      return "U8";
    case st_dtype::I8:
      return "I8";
    case st_dtype::U16:
      return "U16";
    case st_dtype::I16:
      return "I16";
    case st_dtype::U32:
      return "U32";
    case st_dtype::I32:
      return "I32";
    case st_dtype::U64:
      return "U64";
    case st_dtype::I64:
      return "I64";
    case st_dtype::F8_E4M3:
      return "F8_E4M3";
    case st_dtype::F8_E5M2:
      return "F8_E5M2";
    case st_dtype::F8_E8M0:
      return "F8_E8M0";
    case st_dtype::F16:
      return "F16";
    case st_dtype::BF16:
      return "BF16";
    case st_dtype::F32:
      return "F32";
    case st_dtype::F64:
      return "F64";
  }
  return "?";
}

/// Parses a safetensors "dtype" string; std::nullopt for anything unknown or unsupported.
constexpr std::optional<st_dtype> st_dtype_from_name(std::string_view name) noexcept {
  for (st_dtype d : all_st_dtypes)
    if (st_dtype_name(d) == name) return d;
  return std::nullopt;
}

/// Bytes per element.
constexpr std::size_t st_dtype_size(st_dtype d) noexcept {
  switch (d) {
    case st_dtype::BOOL:
    case st_dtype::U8:
    case st_dtype::I8:
    case st_dtype::F8_E4M3:
    case st_dtype::F8_E5M2:
    case st_dtype::F8_E8M0:
      return 1;
    case st_dtype::U16:
    case st_dtype::I16:
    case st_dtype::F16:
    case st_dtype::BF16:
      return 2;
    case st_dtype::U32:
    case st_dtype::I32:
    case st_dtype::F32:
      return 4;
    case st_dtype::U64:
    case st_dtype::I64:
    case st_dtype::F64:
      return 8;
  }
  return 0;
}

/// True for the floating-point element types (fp8 variants, F16, BF16, F32, F64).
constexpr bool st_dtype_is_float(st_dtype d) noexcept {
  switch (d) {
    case st_dtype::F8_E4M3:
    case st_dtype::F8_E5M2:
    case st_dtype::F8_E8M0:
    case st_dtype::F16:
    case st_dtype::BF16:
    case st_dtype::F32:
    case st_dtype::F64:
      return true;
    default:
      return false;
  }
}

/// The sanawm::dtype of the same element format (every st_dtype has one).
constexpr sanawm::dtype to_dtype(st_dtype d) noexcept {
  switch (d) {
    case st_dtype::BOOL:
      return sanawm::dtype::boolean;
    case st_dtype::U8:
      return sanawm::dtype::u8;
    case st_dtype::I8:
      return sanawm::dtype::i8;
    case st_dtype::U16:
      return sanawm::dtype::u16;
    case st_dtype::I16:
      return sanawm::dtype::i16;
    case st_dtype::U32:
      return sanawm::dtype::u32;
    case st_dtype::I32:
      return sanawm::dtype::i32;
    case st_dtype::U64:
      return sanawm::dtype::u64;
    case st_dtype::I64:
      return sanawm::dtype::i64;
    case st_dtype::F8_E4M3:
      return sanawm::dtype::f8_e4m3;
    case st_dtype::F8_E5M2:
      return sanawm::dtype::f8_e5m2;
    case st_dtype::F8_E8M0:
      return sanawm::dtype::ue8m0;
    case st_dtype::F16:
      return sanawm::dtype::f16;
    case st_dtype::BF16:
      return sanawm::dtype::bf16;
    case st_dtype::F32:
      return sanawm::dtype::f32;
    case st_dtype::F64:
      return sanawm::dtype::f64;
  }
  return sanawm::dtype::u8;
}

/// The st_dtype of a sanawm::dtype; std::nullopt for formats safetensors has no name for (ue4m3, f4_e2m1).
constexpr std::optional<st_dtype> to_st_dtype(sanawm::dtype d) noexcept {
  for (st_dtype s : all_st_dtypes)
    if (to_dtype(s) == d) return s;
  return std::nullopt;
}

/// The st_dtype whose in-memory element is exactly T (writers use it: `add<float>` stores F32).
template <class T>
inline constexpr st_dtype st_dtype_of = [] {
  static_assert(sizeof(T) == 0, "sanawm::io::st_dtype_of: no safetensors dtype for this type");
  return st_dtype::U8;
}();
template <>
inline constexpr st_dtype st_dtype_of<bool> = st_dtype::BOOL;
template <>
inline constexpr st_dtype st_dtype_of<std::uint8_t> = st_dtype::U8;
template <>
inline constexpr st_dtype st_dtype_of<std::int8_t> = st_dtype::I8;
template <>
inline constexpr st_dtype st_dtype_of<std::uint16_t> = st_dtype::U16;
template <>
inline constexpr st_dtype st_dtype_of<std::int16_t> = st_dtype::I16;
template <>
inline constexpr st_dtype st_dtype_of<std::uint32_t> = st_dtype::U32;
template <>
inline constexpr st_dtype st_dtype_of<std::int32_t> = st_dtype::I32;
template <>
inline constexpr st_dtype st_dtype_of<std::uint64_t> = st_dtype::U64;
template <>
inline constexpr st_dtype st_dtype_of<std::int64_t> = st_dtype::I64;
template <>
inline constexpr st_dtype st_dtype_of<sanawm::fp16> = st_dtype::F16;
template <>
inline constexpr st_dtype st_dtype_of<sanawm::bf16> = st_dtype::BF16;
template <>
inline constexpr st_dtype st_dtype_of<sanawm::fp8_e4m3> = st_dtype::F8_E4M3;
template <>
inline constexpr st_dtype st_dtype_of<sanawm::fp8_e5m2> = st_dtype::F8_E5M2;
template <>
inline constexpr st_dtype st_dtype_of<sanawm::ue8m0> = st_dtype::F8_E8M0;
template <>
inline constexpr st_dtype st_dtype_of<float> = st_dtype::F32;
template <>
inline constexpr st_dtype st_dtype_of<double> = st_dtype::F64;

/// Element types `read_as<T>` / `convert_elements<T>` can produce: floating point, non-bool integers, and
/// sanawm's bf16/fp16 (converted through float, round-to-nearest-even).
template <class T>
concept st_readable = std::floating_point<T> ||(std::integral<T> && !std::same_as<T, bool>) ||
                      std::same_as<T, sanawm::bf16> || std::same_as<T, sanawm::fp16>;

namespace detail {

/// Loads an unsigned little-endian integer of sizeof(U) bytes from a possibly unaligned address.
template <class U>
U load_le(const std::byte* p) noexcept {
  U v;
  std::memcpy(&v, p, sizeof(U));
  if constexpr (std::endian::native == std::endian::big) {
    U r = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) r = static_cast<U>((r << 8) | ((v >> (8 * i)) & 0xff));
    v = r;
  }
  return v;
}

/// Stores `v` little-endian at a possibly unaligned address.
template <class U>
void store_le(std::byte* p, U v) noexcept {
  for (std::size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

/// Decodes element `i` of a little-endian floating-point array as double (exact for every source type).
inline double load_float_as_double(st_dtype d, const std::byte* base, std::size_t i) noexcept {
  switch (d) {
    case st_dtype::F8_E4M3:
      return sanawm::fp8_e4m3::from_bits(static_cast<std::uint8_t>(base[i])).to_float();
    case st_dtype::F8_E5M2:
      return sanawm::fp8_e5m2::from_bits(static_cast<std::uint8_t>(base[i])).to_float();
    case st_dtype::F8_E8M0:
      return sanawm::ue8m0::from_bits(static_cast<std::uint8_t>(base[i])).to_float();
    case st_dtype::F16:
      return sanawm::fp16::from_bits(load_le<std::uint16_t>(base + 2 * i)).to_float();
    case st_dtype::BF16:
      return sanawm::bf16::from_bits(load_le<std::uint16_t>(base + 2 * i)).to_float();
    case st_dtype::F32:
      return std::bit_cast<float>(load_le<std::uint32_t>(base + 4 * i));
    case st_dtype::F64:
      return std::bit_cast<double>(load_le<std::uint64_t>(base + 8 * i));
    default:
      return 0.0;
  }
}

/// Decodes element `i` of a little-endian integer (or BOOL) array; U64 values above INT64_MAX are reported
/// through `big` so the caller can range-check them exactly.
inline std::int64_t load_int(st_dtype d, const std::byte* base, std::size_t i, std::uint64_t& big) noexcept {
  big = 0;
  switch (d) {
    case st_dtype::BOOL:
      return base[i] != std::byte{0} ? 1 : 0;  // any non-zero byte is true, as in NumPy
    case st_dtype::U8:
      return static_cast<std::uint8_t>(base[i]);
    case st_dtype::I8:
      return static_cast<std::int8_t>(static_cast<std::uint8_t>(base[i]));
    case st_dtype::U16:
      return load_le<std::uint16_t>(base + 2 * i);
    case st_dtype::I16:
      return static_cast<std::int16_t>(load_le<std::uint16_t>(base + 2 * i));
    case st_dtype::U32:
      return load_le<std::uint32_t>(base + 4 * i);
    case st_dtype::I32:
      return static_cast<std::int32_t>(load_le<std::uint32_t>(base + 4 * i));
    case st_dtype::U64: {
      const auto v = load_le<std::uint64_t>(base + 8 * i);
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        big = v;
        return 0;
      }
      return static_cast<std::int64_t>(v);
    }
    case st_dtype::I64:
      return static_cast<std::int64_t>(load_le<std::uint64_t>(base + 8 * i));
    default:
      return 0;
  }
}

template <class T>
void convert_float_source(st_dtype src, const std::byte* data, std::size_t count, T* out) {
  // The common exact-type cases are straight little-endian copies; everything else goes through double,
  // which represents every source value exactly.
  if constexpr (std::is_same_v<T, float>) {
    if (src == st_dtype::F32) {
      for (std::size_t i = 0; i < count; ++i)
        out[i] = std::bit_cast<float>(load_le<std::uint32_t>(data + 4 * i));
      return;
    }
  }
  if constexpr (std::is_same_v<T, sanawm::bf16>) {
    if (src == st_dtype::BF16) {
      for (std::size_t i = 0; i < count; ++i)
        out[i] = sanawm::bf16::from_bits(load_le<std::uint16_t>(data + 2 * i));
      return;
    }
  }
  if constexpr (std::is_same_v<T, sanawm::fp16>) {
    if (src == st_dtype::F16) {
      for (std::size_t i = 0; i < count; ++i)
        out[i] = sanawm::fp16::from_bits(load_le<std::uint16_t>(data + 2 * i));
      return;
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    const double v = load_float_as_double(src, data, i);
    if constexpr (std::is_same_v<T, sanawm::bf16> || std::is_same_v<T, sanawm::fp16>)
      out[i] = T(v);  // one rounding straight from the exact double value
    else
      out[i] = static_cast<T>(v);
  }
}

}  // namespace detail

/// Converts `count` little-endian elements of dtype `src` at `data` (any alignment) to T at `out`.
/// Floating-point targets accept every source dtype (integers convert as by static_cast; F64 → float rounds).
/// Integer targets accept integer and BOOL sources only, and every value must fit T; a float source or an
/// out-of-range value throws `make_error(op, context, ...)`.
template <st_readable T>
void convert_elements(st_dtype src, const std::byte* data, std::size_t count, T* out, std::string_view op,
                      std::string_view context) {
  if (st_dtype_is_float(src)) {
    if constexpr (std::integral<T>) {
      throw make_error(op, context, ": cannot read ", st_dtype_name(src),
                       " data as an integer type (read it as float or double)");
    } else {
      detail::convert_float_source(src, data, count, out);
    }
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t big = 0;
    const std::int64_t v = detail::load_int(src, data, i, big);
    if constexpr (std::integral<T>) {
      if (big != 0) {
        if (!std::in_range<T>(big))
          throw make_error(op, context, ": element ", i, " = ", big,
                           " does not fit the requested integer type");
        out[i] = static_cast<T>(big);
      } else {
        if (!std::in_range<T>(v))
          throw make_error(op, context, ": element ", i, " = ", v,
                           " does not fit the requested integer type");
        out[i] = static_cast<T>(v);
      }
    } else if constexpr (std::is_same_v<T, sanawm::bf16> || std::is_same_v<T, sanawm::fp16>) {
      out[i] = T(big != 0 ? static_cast<double>(big) : static_cast<double>(v));
    } else {
      out[i] = big != 0 ? static_cast<T>(big) : static_cast<T>(v);
    }
  }
}

/// Formats a shape as "[2, 3, 4]" for messages.
inline std::string shape_string(const std::vector<index_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += str_cat(i ? ", " : "", shape[i]);
  return out + "]";
}

namespace detail {

/// Product of `shape` as a byte count of `itemsize`-byte elements, or std::nullopt when a dimension is
/// negative or the count overflows (hostile headers may claim 2^63-element tensors).
inline std::optional<std::size_t> checked_nbytes(const std::vector<index_t>& shape,
                                                 std::size_t itemsize) noexcept {
  // Keep well below SIZE_MAX so numel() (index_t) and byte arithmetic on it cannot overflow either.
  constexpr std::uint64_t limit = std::uint64_t{1} << 62;
  std::uint64_t n = itemsize;
  for (index_t d : shape) {
    if (d < 0 || static_cast<std::uint64_t>(d) > limit) return std::nullopt;
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && n > limit / u) return std::nullopt;
    n *= u;
  }
  if (n > limit) return std::nullopt;
  return static_cast<std::size_t>(n);
}

/// Number of elements of a shape that passed `checked_nbytes` (a zero extent anywhere gives 0 before any
/// product of the others could overflow).
inline index_t numel_of(const std::vector<index_t>& shape) noexcept {
  for (index_t d : shape)
    if (d == 0) return 0;
  index_t n = 1;
  for (index_t d : shape) n *= d;
  return n;
}

}  // namespace detail

}  // namespace sanawm::io

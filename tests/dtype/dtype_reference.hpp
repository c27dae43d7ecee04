// SPDX-License-Identifier: Apache-2.0
// tests/dtype/dtype_reference.hpp — obviously-right float64 reference rounding for the narrow float types,
// the expected bytes of every documented rule, and the test points around each code (values, midpoints,
// ulps).
#pragma once

#include <algorithm>  // std::upper_bound, std::lower_bound
#include <cmath>      // std::ldexp, std::nextafter, std::isnan, std::signbit, std::fabs
#include <cstdint>
#include <ios>  // std::hex, std::hexfloat
#include <limits>
#include <sstream>  // std::ostringstream
#include <string>
#include <utility>  // std::move
#include <vector>

#include <gtest/gtest.h>

#include "sanawm/core/float_bits.hpp"  // round_mode, saturation

namespace sanawm::test {

/// A narrow binary float format with subnormals: magnitude codes 0..max_code are finite and their values
/// increase with the code.
struct narrow_format {
  int mant_bits;
  int bias;
  std::uint32_t max_code;  // largest finite magnitude code
};

inline constexpr narrow_format bf16_format{7, 127, 0x7F7F};
inline constexpr narrow_format fp16_format{10, 15, 0x7BFF};
inline constexpr narrow_format e4m3_format{3, 7, 0x7E};
inline constexpr narrow_format e5m2_format{2, 15, 0x7B};
inline constexpr narrow_format e2m1_format{1, 1, 0x7};

/// Value of magnitude code c by the textbook formula, independent of the library's bit tricks. c = max_code +
/// 1 is the value the format would have next if its exponents went on (the overflow neighbour of max).
inline double code_value(const narrow_format& f, std::uint32_t c) {
  const std::uint32_t e = c >> f.mant_bits;
  const std::uint32_t m = c & ((1u << f.mant_bits) - 1u);
  if (e == 0) return std::ldexp(static_cast<double>(m), 1 - f.bias - f.mant_bits);
  return std::ldexp(static_cast<double>((1u << f.mant_bits) + m), static_cast<int>(e) - f.bias - f.mant_bits);
}

/// The nonnegative values by magnitude code, 0..max_code + 1 (the last one is the overflow neighbour).
inline std::vector<double> value_table(const narrow_format& f) {
  std::vector<double> t(f.max_code + 2);
  for (std::uint32_t c = 0; c < t.size(); ++c) t[c] = code_value(f, c);
  return t;
}

/// Rounds |x| = ax (≥ 0, may be +inf) onto the table by enumerating the bracketing candidates: the largest
/// value ≤ ax and the next one; nearest wins, a tie goes to the even code. Returns table.size() − 1 (the
/// overflow neighbour's code) when the rounded value is at or past it.
inline std::uint32_t ref_round(const std::vector<double>& table, double ax, round_mode r) {
  const std::size_t top = table.size() - 1;
  if (ax >= table[top]) return static_cast<std::uint32_t>(top);
  const auto lo =
      static_cast<std::size_t>(std::upper_bound(table.begin(), table.end(), ax) - table.begin()) - 1;
  if (table[lo] == ax || r == round_mode::toward_zero) return static_cast<std::uint32_t>(lo);
  if (r == round_mode::toward_pos_inf) return static_cast<std::uint32_t>(lo + 1);
  const double mid = (table[lo] + table[lo + 1]) / 2;  // exact: both are short binary fractions
  if (ax < mid) return static_cast<std::uint32_t>(lo);
  if (ax > mid) return static_cast<std::uint32_t>(lo + 1);
  return static_cast<std::uint32_t>(lo % 2 == 0 ? lo : lo + 1);
}

/// The reference tables, built once.
struct reference_tables {
  std::vector<double> bf16 = value_table(bf16_format);
  std::vector<double> fp16 = value_table(fp16_format);
  std::vector<double> e4m3 = value_table(e4m3_format);
  std::vector<double> e5m2 = value_table(e5m2_format);
  std::vector<double> e2m1 = value_table(e2m1_format);
  std::vector<double> e8m0 = [] {  // 2^-127 … 2^128 (the last is the overflow neighbour)
    std::vector<double> t(256);
    for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = std::ldexp(1.0, c - 127);
    return t;
  }();
};
inline const reference_tables& tables() {
  static const reference_tables t;
  return t;
}

// ---- the documented rules, written out plainly (x is the exact input value; floats convert exactly)
// ----------

inline std::uint16_t expect_bf16(double x) {
  if (std::isnan(x)) return 0x7FFF;
  std::uint32_t c = ref_round(tables().bf16, std::fabs(x), round_mode::nearest_even);
  if (c > 0x7F7F) c = 0x7F80;  // IEEE overflow → inf
  return static_cast<std::uint16_t>((std::signbit(x) ? 0x8000u : 0u) | c);
}

inline std::uint16_t expect_fp16(double x) {
  if (std::isnan(x)) return 0x7FFF;
  std::uint32_t c = ref_round(tables().fp16, std::fabs(x), round_mode::nearest_even);
  if (c > 0x7BFF) c = 0x7C00;
  return static_cast<std::uint16_t>((std::signbit(x) ? 0x8000u : 0u) | c);
}

inline std::uint8_t expect_e4m3(double x, saturation s) {
  if (std::isnan(x)) return 0x7F;
  std::uint32_t c = ref_round(tables().e4m3, std::fabs(x), round_mode::nearest_even);
  if (c > 0x7E) c = s == saturation::satfinite ? 0x7E : 0x7F;  // no inf: nosat overflow is NaN
  return static_cast<std::uint8_t>((std::signbit(x) ? 0x80u : 0u) | c);
}

inline std::uint8_t expect_e5m2(double x, saturation s) {
  if (std::isnan(x)) return 0x7F;
  std::uint32_t c = ref_round(tables().e5m2, std::fabs(x), round_mode::nearest_even);
  if (c > 0x7B) c = s == saturation::satfinite ? 0x7B : 0x7C;
  return static_cast<std::uint8_t>((std::signbit(x) ? 0x80u : 0u) | c);
}

inline std::uint8_t expect_ue4m3(double x) {
  if (std::isnan(x)) return 0x7F;
  if (std::signbit(x)) return 0x00;  // negative, -0, -inf
  const std::uint32_t c = ref_round(tables().e4m3, x, round_mode::nearest_even);
  return static_cast<std::uint8_t>(c > 0x7E ? 0x7E : c);
}

inline std::uint8_t expect_e2m1(double x, round_mode r) {
  if (std::isnan(x)) return 0x7;
  std::uint32_t c = ref_round(tables().e2m1, std::fabs(x), r);
  if (c > 0x7) c = 0x7;  // always satfinite
  return static_cast<std::uint8_t>((std::signbit(x) ? 0x8u : 0u) | c);
}

inline std::uint8_t expect_ue8m0(double x, round_mode r, saturation s) {
  if (std::isnan(x)) return 0xFF;
  const auto& t = tables().e8m0;  // t[c] = 2^(c-127), c = 0..255
  const double ax = std::fabs(x);
  std::size_t c;
  if (r == round_mode::toward_zero) {
    // largest 2^k ≤ ax, clamped up to 2^-127
    const auto it = std::upper_bound(t.begin(), t.end(), ax);
    c = it == t.begin() ? 0 : static_cast<std::size_t>(it - t.begin()) - 1;
  } else {
    // smallest 2^k ≥ ax, clamped up to 2^-127 (past 2^128 counts as 255 as well)
    c = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), ax) - t.begin());
  }
  if (c >= 255) return s == saturation::satfinite ? 0xFE : 0xFF;
  return static_cast<std::uint8_t>(c);
}

// ---- test points
// ----------------------------------------------------------------------------------------------

/// For every finite magnitude code c: its value, the midpoint to the next code (for max: to the overflow
/// neighbour), and the floats one ulp either side of both; all with both signs. Points that are not floats
/// (a midpoint past FLT_MAX) are left out; the extremes (0, FLT_MAX, inf, subnormal floats) are added.
inline std::vector<float> float_points(const std::vector<double>& table) {
  std::vector<float> out;
  out.reserve(table.size() * 12 + 32);
  constexpr float inf = std::numeric_limits<float>::infinity();
  auto add = [&](double v) {
    const float f = static_cast<float>(v);
    if (static_cast<double>(f) != v) return;  // not representable as a float
    for (float p : {f, std::nextafter(f, inf), std::nextafter(f, -inf)}) {
      out.push_back(p);
      out.push_back(-p);
    }
  };
  for (std::size_t c = 0; c + 1 < table.size(); ++c) {
    add(table[c]);
    add((table[c] + table[c + 1]) / 2);
  }
  for (float f :
       {0.0f, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
        std::numeric_limits<float>::min(), inf, 0x1p-127f, 0x1.000008p-127f, 0x1.8p-127f, 1e30f, 1e-30f}) {
    out.push_back(f);
    out.push_back(-f);
  }
  return out;
}

/// The same neighbourhoods for double inputs (one double ulp either side, midpoints always representable).
inline std::vector<double> double_points(const std::vector<double>& table) {
  std::vector<double> out;
  out.reserve(table.size() * 12 + 32);
  constexpr double inf = std::numeric_limits<double>::infinity();
  auto add = [&](double v) {
    for (double p : {v, std::nextafter(v, inf), std::nextafter(v, -inf)}) {
      out.push_back(p);
      out.push_back(-p);
    }
  };
  for (std::size_t c = 0; c + 1 < table.size(); ++c) {
    add(table[c]);
    add((table[c] + table[c + 1]) / 2);
  }
  for (double d : {0.0, 1e300, 1e-300, std::numeric_limits<double>::denorm_min(),
                   static_cast<double>(std::numeric_limits<float>::max()), inf}) {
    out.push_back(d);
    out.push_back(-d);
  }
  return out;
}

/// NaN floats with different signs and payloads (quiet and signalling).
inline std::vector<float> nan_floats() {
  std::vector<float> out;
  for (std::uint32_t b : {0x7FC0'0000u, 0x7FFF'FFFFu, 0x7F80'0001u, 0x7FA0'0000u, 0x7FC0'1234u}) {
    out.push_back(__builtin_bit_cast(float, b));
    out.push_back(__builtin_bit_cast(float, b | 0x8000'0000u));
  }
  return out;
}

/// Float bit patterns u = i·stride + offset over the whole 32-bit space (stride odd, so every low-bit pattern
/// and every exponent is visited).
template <class F>
void for_each_strided_float(std::uint32_t stride, std::uint32_t offset, F&& f) {
  for (std::uint64_t u = offset; u <= 0xFFFF'FFFFull; u += stride)
    f(__builtin_bit_cast(float, static_cast<std::uint32_t>(u)));
}

/// Counts mismatches of an exhaustive loop and reports only the first few (input in hexfloat and bits, got
/// and want in hex), so a systematic bug fails readably instead of printing a million lines.
class mismatch_counter {
 public:
  explicit mismatch_counter(std::string what) : what_(std::move(what)) {}
  mismatch_counter(const mismatch_counter&) = delete;
  mismatch_counter& operator=(const mismatch_counter&) = delete;
  ~mismatch_counter() {
    EXPECT_EQ(count_, 0u) << what_ << ": " << count_ << " mismatches in " << checked_ << " checks";
  }

  template <class In>
  void check(std::uint64_t got, std::uint64_t want, In x) {
    ++checked_;
    if (got == want) return;
    if (++count_ <= 8) {
      std::ostringstream os;
      os << what_ << ": input " << std::hexfloat << static_cast<double>(x) << " gave 0x" << std::hex << got
         << ", want 0x" << want;
      ADD_FAILURE() << os.str();
    }
  }
  std::uint64_t checked() const { return checked_; }

 private:
  std::string what_;
  std::uint64_t count_ = 0;
  std::uint64_t checked_ = 0;
};

}  // namespace sanawm::test

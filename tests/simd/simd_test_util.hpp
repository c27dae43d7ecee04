// SPDX-License-Identifier: Apache-2.0
// tests/simd/simd_test_util.hpp — typed-test plumbing over every compiled SIMD variant, bit helpers, ulps.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sanawm/backend/cpu/simd.hpp"

namespace sanawm::test {

template <class L>
struct to_gtest_types;
template <class... Isas>
struct to_gtest_types<cpu::isa_list<Isas...>> {
  using type = ::testing::Types<Isas...>;
};
/// Every ISA tag this test binary was compiled with; typed suites run once per tag.
using compiled_isa_types = typename to_gtest_types<cpu::compiled_isas>::type;

/// Names typed-test instances after the ISA (SimdOps/avx512.Arithmetic rather than SimdOps/2.Arithmetic).
struct isa_name {
  template <class Isa>
  static std::string GetName(int) {
    return Isa::name;
  }
};

inline std::uint32_t bits(float f) {
  return std::bit_cast<std::uint32_t>(f);
}
inline float from_bits(std::uint32_t u) {
  return std::bit_cast<float>(u);
}

/// Same bits, or both NaN (NaN payloads are not part of any contract here).
inline bool same_or_both_nan(float a, float b) {
  return bits(a) == bits(b) || (std::isnan(a) && std::isnan(b));
}

/// Distance in representable floats between two non-NaN floats (+0 and -0 are 0 apart).
inline std::int64_t ulp_distance(float a, float b) {
  auto ordered = [](float f) -> std::int64_t {
    const std::uint32_t u = bits(f);
    return (u & 0x80000000u) ? -static_cast<std::int64_t>(u & 0x7fffffffu) : static_cast<std::int64_t>(u);
  };
  const std::int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

/// Values every elementwise op is checked on, besides random data.
inline std::vector<float> special_floats() {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  return {0.0f,
          -0.0f,
          1.0f,
          -1.0f,
          0.5f,
          -2.5f,
          3.0f,
          inf,
          -inf,
          nan,
          -nan,
          from_bits(0x7fa00001u),  // signalling NaN
          std::numeric_limits<float>::denorm_min(),
          -std::numeric_limits<float>::denorm_min(),
          from_bits(0x00400001u),  // a mid-range denormal
          std::numeric_limits<float>::min(),
          -std::numeric_limits<float>::min(),
          std::numeric_limits<float>::max(),
          -std::numeric_limits<float>::max(),
          1e-30f,
          -7.25e20f,
          0x1.fffffep-1f};
}

}  // namespace sanawm::test

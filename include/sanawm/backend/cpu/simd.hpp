// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/simd.hpp — the CPU SIMD layer: vec<float, Isa> for every variant the target flags allow
// (scalar always, AVX2+FMA, AVX-512), native_isa, and the math written once over them (exp, dot_bf16).
//
// Usage, in a kernel templated on the ISA so tests can run every variant:
//   using V = vec<float, Isa>;                       // or vec<float, native_isa>
//   V acc = V::zero();
//   for (i = 0; i + V::width <= n; i += V::width) acc = fma(V::load(x + i), V::load(y + i), acc);
//   acc = fma(V::load_partial(x + i, n - i), V::load_partial(y + i, n - i), acc);
//   float dot = reduce_add(acc);
//
// Results are specified for the default floating-point environment (round to nearest, MXCSR FTZ/DAZ off).
// Note that g++ contracts `a * b + c` on vec into an fma when the target has one (-ffp-contract=fast is
// its default for C++), exactly as for scalar floats: call fma() where the rounding must be explicit.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/backend/cpu/simd.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <cmath>        // std::fma
#include <type_traits>  // std::is_same_v

#include "sanawm/backend/cpu/simd_avx2.hpp"    // vec<float, avx2_isa> (when SANAWM_SIMD_AVX2)
#include "sanawm/backend/cpu/simd_avx512.hpp"  // vec<float, avx512_isa> (when SANAWM_SIMD_AVX512)
#include "sanawm/backend/cpu/simd_base.hpp"    // ISA tags, isa_list, cache_line, prefetch
#include "sanawm/backend/cpu/simd_scalar.hpp"  // vec<float, scalar_isa>
#include "sanawm/config.hpp"                   // SANAWM_FORCEINLINE

namespace sanawm::cpu {

/// The widest variant this translation unit compiles: what kernels use outside of tests.
#if SANAWM_SIMD_AVX512
using native_isa = avx512_isa;
/// Every variant this translation unit compiles, narrowest first (tests run each one).
using compiled_isas = isa_list<scalar_isa, avx2_isa, avx512_isa>;
#elif SANAWM_SIMD_AVX2
using native_isa = avx2_isa;
using compiled_isas = isa_list<scalar_isa, avx2_isa>;
#else
using native_isa = scalar_isa;
using compiled_isas = isa_list<scalar_isa>;
#endif

namespace detail {

/// a·b + c rounded once on every ISA (the scalar variant without hardware FMA pays for std::fma).
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> fused_fma(vec<float, Isa> a, vec<float, Isa> b,
                                             vec<float, Isa> c) noexcept {
  if constexpr (Isa::fused_fma) {
    return fma(a, b, c);
  } else {
    using V = vec<float, Isa>;
    float x[V::width], y[V::width], z[V::width];
    a.store(x);
    b.store(y);
    c.store(z);
    for (int i = 0; i < V::width; ++i) x[i] = std::fma(x[i], y[i], z[i]);
    return V::load(x);
  }
}

/// Denormal lanes → zero of the same sign (x·0 keeps the sign); NaN and normal lanes unchanged.
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> denormals_to_zero(vec<float, Isa> x) noexcept {
  using V = vec<float, Isa>;
  return select(abs(x) < V::broadcast(0x1p-126f), x * V::zero(), x);
}

/// acc + x·y as one vdpbf16ps step: fused, round to nearest even, and flushed to signed zero when the sum,
/// rounded to 24 bits as if the exponent were unbounded, is below 2^-126 (x86 detects tininess after
/// rounding). The plain fma rounds on the denormal grid instead, which differs just below 2^-126; the
/// same sum scaled by 2^24 is normal there, so its magnitude decides the flush. Scaling cannot overflow
/// when it matters: a nonzero sum that small needs operands below about 2^-100 (both operands' last bits
/// must lie below 2^-125), and for an exact zero flushing changes nothing.
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> bf16_dot_step(vec<float, Isa> acc, vec<float, Isa> x,
                                                 vec<float, Isa> y) noexcept {
  using V = vec<float, Isa>;
  const V two24 = V::broadcast(0x1p24f);
  const V r = fused_fma(x, y, acc);
  const V scaled = fused_fma(x, y * two24, acc * two24);
  return select(abs(scaled) < V::broadcast(0x1p-102f), r * V::zero(), r);
}

/// dot_bf16 computed with ordinary float operations, bit-identical to vdpbf16ps (see dot_bf16). Used by
/// every variant without AVX512-BF16; kept callable so tests can check it against the hardware.
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> dot_bf16_emulated(vec<float, Isa> acc, bf16_pairs<Isa> a,
                                                     bf16_pairs<Isa> b) noexcept {
  using V = vec<float, Isa>;
  V a_odd, a_even, b_odd, b_even;
  unpack_pairs(a, a_odd, a_even);
  unpack_pairs(b, b_odd, b_even);
  V r = denormals_to_zero(acc);
  r = bf16_dot_step(r, denormals_to_zero(a_odd), denormals_to_zero(b_odd));
  return bf16_dot_step(r, denormals_to_zero(a_even), denormals_to_zero(b_even));
}

}  // namespace detail

/// e^x per lane, within 2 ulp of the correctly rounded result over the whole float range (measured max
/// 1 ulp, see tests/simd), including gradual underflow: x < -103.97 gives +0, x > 88.72 gives +inf,
/// ±inf give +inf / +0, NaN gives a quiet NaN. The same operations on every ISA, so variants with fused
/// fma return bit-identical results.
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> exp(vec<float, Isa> x) noexcept {
  using V = vec<float, Isa>;
  // Clamping keeps n = round(x/ln2) in [-150, 128] (exp(-104) rounds to 0, exp(89) overflows) and sends
  // NaN to the lower bound (max returns its second operand for NaN); NaN is put back at the end.
  const V xc = min(max(x, V::broadcast(-104.0f)), V::broadcast(89.0f));
  // Adding 1.5·2^23 rounds to an integer (nearest even) in the low mantissa bits; subtracting it again
  // gives n as a float.
  const V round_magic = V::broadcast(0x1.8p23f);
  const V n = fma(xc, V::broadcast(1.44269504088896341f), round_magic) - round_magic;
  // r = x − n·ln2 in two steps (Cody–Waite): ln2_hi has few significant bits, so n·ln2_hi is exact and
  // the first subtraction loses nothing; |r| <= ln2/2.
  V r = fma(n, V::broadcast(-0.693359375f), xc);
  r = fma(n, V::broadcast(2.12194440e-4f), r);
  // e^r by its Taylor series to r^7 in Horner form: the truncation error is below 0.15 ulp on |r| <= ln2/2.
  V p = V::broadcast(1.0f / 5040.0f);
  p = fma(p, r, V::broadcast(1.0f / 720.0f));
  p = fma(p, r, V::broadcast(1.0f / 120.0f));
  p = fma(p, r, V::broadcast(1.0f / 24.0f));
  p = fma(p, r, V::broadcast(1.0f / 6.0f));
  p = fma(p, r, V::broadcast(0.5f));
  p = fma(p, r, V::broadcast(1.0f));
  p = fma(p, r, V::broadcast(1.0f));
  // 2^n as two factors 2^n1 · 2^n2, both within the normal exponent range: p·2^n1 is exact, and the one
  // rounding of the last multiply is correct both when it overflows (n = 128) and when it lands among
  // the denormals (n < -126).
  const V n1 = fma(n, V::broadcast(0.5f), round_magic) - round_magic;
  const V n2 = n - n1;
  const V y = (p * detail::pow2i(n1)) * detail::pow2i(n2);
  return select(is_nan(x), x + x, y);
}

/// acc + a·b on bf16 pairs, per lane j, with the exact semantics of x86 vdpbf16ps:
///   acc_j ← acc_j + a.odd_j · b.odd_j     (the high halves, bf16 index 2j+1, first)
///   acc_j ← acc_j + a.even_j · b.even_j   (the low halves, index 2j)
/// Each step is a fused multiply-add (the bf16 product is exact in fp32) rounded to nearest even; denormal
/// inputs (bf16 operands and acc) count as zero of their sign, and a step result whose magnitude, rounded
/// to 24 bits, is below 2^-126 becomes zero of its sign; MXCSR is neither read nor written.
/// One vdpbf16ps on AVX512-BF16, an emulation elsewhere that matches it bit for bit on non-NaN results
/// (NaN payloads may differ). For a dot product of length 2·K, call it K times with consecutive pairs.
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> dot_bf16(vec<float, Isa> acc, bf16_pairs<Isa> a,
                                            bf16_pairs<Isa> b) noexcept {
#if SANAWM_SIMD_AVX512_BF16
  if constexpr (std::is_same_v<Isa, avx512_isa>)
    return detail::dot_bf16_native(acc, a, b);
  else
#endif
    return detail::dot_bf16_emulated(acc, a, b);
}

}  // namespace sanawm::cpu

// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/simd_base.hpp — SIMD layer foundations: ISA tags picked from the target flags, the
// vec/mask/bf16_pairs templates that each ISA specialises, cache-line size and prefetch.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/backend/cpu/simd_base.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <bit>      // std::bit_cast
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint16_t, std::uint32_t

#include "sanawm/config.hpp"    // SANAWM_FORCEINLINE
#include "sanawm/core/int.hpp"  // index_t

// ---- which variants this translation unit compiles --------------------------------------------------------
// Chosen at compile time from the target flags (-march=...), never at run time: a binary built for AVX-512
// needs an AVX-512 CPU. Every translation unit of one program must therefore be built with the same target
// flags, or the inline functions below differ between TUs (an ODR violation, as with any header-only SIMD).

/// 1 when AVX2 and FMA are enabled (Haswell and later, Zen and later).
#if defined(__AVX2__) && defined(__FMA__)
#define SANAWM_SIMD_AVX2 1
#else
#define SANAWM_SIMD_AVX2 0
#endif

/// 1 when the AVX-512 subsets F, BW, VL and DQ are enabled (Skylake-SP and later, Zen 4 and later).
#if SANAWM_SIMD_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__)
#define SANAWM_SIMD_AVX512 1
#else
#define SANAWM_SIMD_AVX512 0
#endif

/// 1 when AVX512-BF16 is enabled too (Cooper Lake, Sapphire Rapids and later, Zen 4 and later): dot_bf16 is
/// then one vdpbf16ps instead of an emulation.
#if SANAWM_SIMD_AVX512 && defined(__AVX512BF16__)
#define SANAWM_SIMD_AVX512_BF16 1
#else
#define SANAWM_SIMD_AVX512_BF16 0
#endif

namespace sanawm::cpu {

/// Bytes per cache line on the x86-64 CPUs sanawm targets: the alignment of packed GEMM panels and the unit
/// of prefetching.
inline constexpr std::size_t cache_line = 64;

/// Requests the cache line holding `p` into L1 ahead of a read (a hint: never faults, any address allowed).
SANAWM_FORCEINLINE void prefetch(const void* p) noexcept {
  __builtin_prefetch(p, 0, 3);
}
/// Requests the cache line holding `p` into L2 only, for data needed a little later than prefetch()'s.
SANAWM_FORCEINLINE void prefetch_l2(const void* p) noexcept {
  __builtin_prefetch(p, 0, 2);
}

// ---- ISA tags ---------------------------------------------------------------------------------------------
// A tag names one variant; vec<float, Tag> is its vector. `lanes` is the float width, `fused_fma` whether
// fma() rounds once, `native_bf16_dot` whether dot_bf16 is a single hardware instruction.

/// Portable fallback: plain loops over a 4-wide array, correct on every target. fma() is fused only when
/// the target has FMA instructions (otherwise a fused multiply-add would be a slow library call).
struct scalar_isa {
  static constexpr const char* name = "scalar";
  static constexpr int lanes = 4;
#if defined(__FMA__)
  static constexpr bool fused_fma = true;
#else
  static constexpr bool fused_fma = false;
#endif
  static constexpr bool native_bf16_dot = false;
};

/// 256-bit AVX2 + FMA: 8 float lanes.
struct avx2_isa {
  static constexpr const char* name = "avx2";
  static constexpr int lanes = 8;
  static constexpr bool fused_fma = true;
  static constexpr bool native_bf16_dot = false;
};

/// 512-bit AVX-512 (F, BW, VL, DQ): 16 float lanes; dot_bf16 is native with AVX512-BF16.
struct avx512_isa {
  static constexpr const char* name = "avx512";
  static constexpr int lanes = 16;
  static constexpr bool fused_fma = true;
  static constexpr bool native_bf16_dot = SANAWM_SIMD_AVX512_BF16 != 0;
};

/// A list of ISA tags (see compiled_isas in simd.hpp).
template <class... Isas>
struct isa_list {};

// ---- the per-ISA templates --------------------------------------------------------------------------------

/// A SIMD vector of `T` for one ISA. Specialised for T = float by simd_scalar.hpp (always) and by
/// simd_avx2.hpp / simd_avx512.hpp (when compiled). Trivially copyable aggregate around the native register;
/// all operations are free functions or static members, force-inlined, and never allocate.
template <class T, class Isa>
struct vec;

/// The result of comparing two vec<T, Isa>: one boolean per lane, consumed by select() and any().
template <class T, class Isa>
struct mask;

/// `Isa::lanes` 32-bit lanes, each holding two bf16 values (the even-indexed one in the low 16 bits): the
/// operand layout of dot_bf16 / vdpbf16ps.
template <class Isa>
struct bf16_pairs;

namespace detail {

/// The float whose bits are the bf16 `b` followed by 16 zero bits (exact: bf16 is truncated fp32).
SANAWM_FORCEINLINE float bf16_bits_to_float(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

/// float → bf16 bits, round to nearest even; overflow rounds to infinity, denormals round like any other
/// value (no flush), and every NaN becomes the canonical quiet NaN 0x7FFF. Bit-identical to
/// sanawm::bf16(float) and CUDA's __float2bfloat16_rn, so CPU kernels, GPU kernels and scalar references
/// store the same bits.
SANAWM_FORCEINLINE std::uint16_t float_to_bf16_bits(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fff;
  // Adding 0x7fff (+1 when the kept part is odd) carries into bit 16 exactly when the dropped half is
  // above one half, or exactly one half with an odd kept part: round to nearest, ties to even.
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/// Lanes to touch for a partial load/store of `n` elements on a `width`-lane vector: n clamped to [0, width].
SANAWM_FORCEINLINE int clamp_lanes(index_t n, int width) noexcept {
  return n <= 0 ? 0 : (n >= width ? width : static_cast<int>(n));
}

}  // namespace detail

}  // namespace sanawm::cpu

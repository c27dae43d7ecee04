// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gemm/gemm_cpu.hpp — gemm(cpu_t, …): a packed, cache-blocked GEMM (GotoBLAS/BLIS loop structure)
// with fp32-FMA and bf16-dot (vdpbf16ps) register-blocked micro-kernels and a fused epilogue, on the thread pool.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/gemm/gemm_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <algorithm>    // std::min, std::max
#include <cstddef>      // std::byte, std::size_t
#include <cstdint>      // std::uint16_t, std::uint32_t
#include <cstring>      // std::memcpy
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_same_v, std::integral_constant
#include <vector>       // std::vector

#include "sanawm/backend/cpu/parallel.hpp"  // parallel_ranges, global_pool, static_partition
#include "sanawm/backend/cpu/simd.hpp"      // vec, bf16_pairs, dot_bf16, exp, native_isa, ISA tags
#include "sanawm/backend/tags.hpp"          // cpu_t
#include "sanawm/core/bf16.hpp"             // bf16
#include "sanawm/core/buffer.hpp"           // host_buffer
#include "sanawm/core/error.hpp"            // SANAWM_EXPECT
#include "sanawm/core/int.hpp"              // index_t
#include "sanawm/kernels/gemm/gemm.hpp"     // gemm_args, gemm_epilogue, check_gemm_args

// Structure (see docs/kernels/gemm.md for the derivation of the numbers):
//
//   for each batch, for each row chunk (only when partial sums need a scratch block, see `partial_mode`)
//     for jc over N in steps of nc                     B block  [kc × nc]  shared by all threads (L3)
//       for pc over K in steps of kc
//         pack B[jc.., pc..] into NR-wide panels        (parallel over panels)
//         for each (ic tile, jr group) work item        (parallel; a thread's items are contiguous)
//           pack A[ic.., pc..] into MR-tall panels       A block  [mc × kc]  per thread (L2)
//           for jr over the group's B panels             B micro-panel [kc × NR] (L2, reused by every ir)
//             for ir over A panels                       A micro-panel [MR × kc] (L2 → L1)
//               micro-kernel: MR×NR fp32 accumulators in registers, then the tile update / fused epilogue
//
// Thread-count independence: every element of C is produced by the same sequence of operations whatever the
// partition (K is never split across threads, kc depends only on K, and edge tiles run the full-size kernel on
// zero-padded panels), so 1 and N threads give bit-identical results.

namespace sanawm::cpu {

namespace detail {

// ---- configuration ------------------------------------------------------------------------------------------

/// What the packed panels hold: fp32 values (FMA kernel) or bf16 pairs along K in one 32-bit word (vdpbf16ps).
enum class gemm_kind : unsigned char { f32, bf16_dot };

/// Register tile and cache blocking of one (ISA, kind). MR×NR accumulators live in registers; KC is in elements
/// of K; MC/NC are upper bounds (the driver balances tiles below them).
template <class Isa, gemm_kind Kind>
struct gemm_config;

// AVX-512 fp32: 8×48 = 24 zmm accumulators + 3 B vectors + 1 broadcast = 28 of 32 registers. Per k step 24 FMAs
// against 3 vector loads and 8 broadcasts, so the FMA port (one zmm FMA per cycle on Zen 4), not the load ports,
// is the limit. KC is long because every K step beyond the first re-reads and re-writes the C tile (rows a page
// apart: TLB and cache misses), and that, not L1 residency, dominated at KC = 384 (measured, docs/kernels/gemm.md):
// the A micro-panel (8 × 1152 × 4 B = 36 KiB) and the B micro-panel (48 × 1152 × 4 B = 216 KiB) stream from L2 at
// ~7 B/cycle, far below its bandwidth. The A block (≤ 128 × 1152 × 4 B = 576 KiB) fits a 1 MiB L2; the B block
// (1152 × ≤ 1024 × 4 B = 4.5 MiB) sits in L3, shared by all threads.
template <>
struct gemm_config<avx512_isa, gemm_kind::f32> {
  static constexpr int mr = 8, nv = 3;
  static constexpr index_t kc = 1152, mc = 128, nc = 1024;
};
// AVX-512 bf16 dot: same register tile; each vdpbf16ps consumes 2 k steps, so the same bytes hold twice the K
// (K = 2240, SANA-WM's hidden size, is then a single K step).
template <>
struct gemm_config<avx512_isa, gemm_kind::bf16_dot> {
  static constexpr int mr = 8, nv = 3;
  static constexpr index_t kc = 2304, mc = 128, nc = 1024;
};
// AVX2 fp32: 6×16 = 12 ymm accumulators + 2 B + 1 broadcast of 16 registers.
template <>
struct gemm_config<avx2_isa, gemm_kind::f32> {
  static constexpr int mr = 6, nv = 2;
  static constexpr index_t kc = 512, mc = 120, nc = 1024;
};
// Portable: 4×8 on the 4-lane scalar vector (the compiler may still vectorise it).
template <>
struct gemm_config<scalar_isa, gemm_kind::f32> {
  static constexpr int mr = 4, nv = 2;
  static constexpr index_t kc = 256, mc = 64, nc = 1024;
};

/// The kind a compute mode runs as on `Isa`: bf16 products use vdpbf16ps where the hardware has it; elsewhere the
/// inputs are rounded to bf16 while packing and multiplied by the fp32 kernel (same products, exact in fp32).
template <class Isa>
constexpr gemm_kind kind_for(gemm_compute c) noexcept {
  return c == gemm_compute::bf16 && Isa::native_bf16_dot ? gemm_kind::bf16_dot : gemm_kind::f32;
}

/// Rows of C per chunk when partial sums go to a scratch block: bounds that block to chunk × nc × 4 B (8 MiB).
inline constexpr index_t gemm_scratch_rows = 2048;
/// Below this many multiply-adds a GEMM runs on the calling thread (a pool wake-up costs a few microseconds).
inline constexpr index_t gemm_serial_macs = index_t{1} << 18;

constexpr index_t ceil_div(index_t a, index_t b) noexcept { return (a + b - 1) / b; }
constexpr index_t round_up(index_t a, index_t b) noexcept { return ceil_div(a, b) * b; }

// ---- per-thread scratch arena --------------------------------------------------------------------------------

/// Packing buffers: one growable, 64-byte aligned block per purpose and thread, allocated outside the hot loops
/// and kept for the next call (steady-state GEMMs allocate nothing).
enum class gemm_slot : int { a_block = 0, b_block = 1, partial = 2 };

class gemm_arena {
 public:
  template <class T>
  T* get(gemm_slot slot, index_t count) {
    host_buffer<std::byte>& b = bufs_[static_cast<int>(slot)];
    const index_t bytes = count * static_cast<index_t>(sizeof(T));
    // Grow geometrically so that a sequence of slightly larger shapes does not reallocate every call.
    if (b.size() < bytes) b = host_buffer<std::byte>(std::max(bytes, b.size() + b.size() / 2));
    return reinterpret_cast<T*>(b.data());
  }

 private:
  host_buffer<std::byte> bufs_[3];
};

inline gemm_arena& thread_gemm_arena() {
  thread_local gemm_arena arena;
  return arena;
}

// ---- packing --------------------------------------------------------------------------------------------------

template <class T>
SANAWM_FORCEINLINE float load_as_float(const T* p) noexcept {
  if constexpr (std::is_same_v<T, float>) return *p;
  else return p->to_float();
}
template <class T>
SANAWM_FORCEINLINE std::uint32_t load_bf16_bits(const T* p) noexcept {
  if constexpr (std::is_same_v<T, float>) return float_to_bf16_bits(*p);
  else return p->bits();
}

/// Packs rows [0, rows) × k [0, kc) of `src` (row-major, leading dimension ld) into an R-wide fp32 panel:
/// dst[k·R + r] = src[r·ld + k], rows ≥ `rows` zero-filled. With RoundBf16 each value is rounded to bf16 first
/// (the bf16 compute mode on ISAs without vdpbf16ps).
template <int R, bool RoundBf16, class T>
void pack_panel_f32(const T* SANAWM_RESTRICT src, index_t ld, index_t rows, index_t kc, float* SANAWM_RESTRICT dst) {
  auto cvt = [](const T* p) {
    if constexpr (RoundBf16) return bf16_bits_to_float(static_cast<std::uint16_t>(load_bf16_bits(p)));
    else return load_as_float(p);
  };
  if (rows == R) {
    // Whole panel: R row streams read in k order, the panel written sequentially. Blocks of 16 k keep each row's
    // cache line hot while the panel is written (16 floats = one line).
    index_t k0 = 0;
    for (; k0 + 16 <= kc; k0 += 16) {
      for (int r = 0; r < R; ++r) {
        const T* s = src + r * ld + k0;
        float* d = dst + k0 * R + r;
        SANAWM_UNROLL for (int kk = 0; kk < 16; ++kk) d[kk * R] = cvt(s + kk);
      }
    }
    for (; k0 < kc; ++k0)
      for (int r = 0; r < R; ++r) dst[k0 * R + r] = cvt(src + r * ld + k0);
    return;
  }
  for (index_t k = 0; k < kc; ++k) {
    int r = 0;
    for (; r < rows; ++r) dst[k * R + r] = cvt(src + r * ld + k);
    for (; r < R; ++r) dst[k * R + r] = 0.0f;
  }
}

/// Packs rows [0, rows) × k [0, kc) as bf16 pairs along K: dst[p·R + r] = bf16(src[r][2p]) | bf16(src[r][2p+1]) << 16,
/// the operand layout of vdpbf16ps. An odd kc pads the last pair with +0; rows ≥ `rows` are zero.
template <int R, class T>
void pack_panel_pairs(const T* SANAWM_RESTRICT src, index_t ld, index_t rows, index_t kc,
                      std::uint32_t* SANAWM_RESTRICT dst) {
  const index_t full = kc / 2, pairs = (kc + 1) / 2;
  for (int r = 0; r < R; ++r) {
    std::uint32_t* d = dst + r;
    if (r >= rows) {
      for (index_t q = 0; q < pairs; ++q) d[q * R] = 0u;
      continue;
    }
    const T* s = src + r * ld;
    if constexpr (std::is_same_v<T, bf16>) {
      // Two bf16 are already one little-endian pair word.
      for (index_t q = 0; q < full; ++q) {
        std::uint32_t w;
        std::memcpy(&w, s + 2 * q, sizeof w);
        d[q * R] = w;
      }
    } else {
      for (index_t q = 0; q < full; ++q) d[q * R] = load_bf16_bits(s + 2 * q) | (load_bf16_bits(s + 2 * q + 1) << 16);
    }
    if (pairs != full) d[full * R] = load_bf16_bits(s + 2 * full);
  }
}

#if SANAWM_SIMD_AVX512
/// 16 consecutive packed words of one row, starting at element `k` (fp32 kind) or pair `k` (bf16 pairs): the
/// widening/rounding of the scalar packers above, 16 lanes at a time. Words are returned as float bits.
template <gemm_kind Kind, bool RoundBf16, class T>
SANAWM_FORCEINLINE __m512 load_packed_words(const T* row, index_t k) noexcept {
  if constexpr (Kind == gemm_kind::f32) {
    if constexpr (std::is_same_v<T, float>) {
      const __m512 x = _mm512_loadu_ps(row + k);
      if constexpr (!RoundBf16) return x;
      else return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, avx512_float_to_bf16_bits(x), 16));
    } else {
      // (zero-masked forms: the unmasked intrinsics start from an undefined vector, see pack_8x16)
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + k));
      return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, _mm512_maskz_cvtepu16_epi32(0xFFFF, h), 16));
    }
  } else if constexpr (std::is_same_v<T, bf16>) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row + 2 * k));  // 32 bf16 = 16 pair words
  } else {
    // 32 floats → 32 bf16 (round to nearest even) in order = 16 pair words: the low halves of the 32 lanes of
    // both vectors, gathered by one vpermt2w.
    const __m512i lo = avx512_float_to_bf16_bits(_mm512_loadu_ps(row + 2 * k));
    const __m512i hi = avx512_float_to_bf16_bits(_mm512_loadu_ps(row + 2 * k + 16));
    const __m512i even16 = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26,
                                            24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    return _mm512_castsi512_ps(_mm512_permutex2var_epi16(lo, even16, hi));
  }
}

/// dst[(k + j)·R + r] = word j of row r, for 8 rows × 16 words: an 8×16 transpose in registers (unpack within
/// 128-bit lanes, then 2-source lane permutes), stored as 16 runs of 8 words. Packing at ~0.25 cycle per element
/// instead of ~1.5 for the strided scalar loop (about 4 % of a SANA-WM GEMM before this).
template <gemm_kind Kind, bool RoundBf16, int R, class T>
SANAWM_FORCEINLINE void pack_8x16(const T* src, index_t ld, index_t k, float* dst) noexcept {
  __m512 a[8];
  SANAWM_UNROLL for (int r = 0; r < 8; ++r) a[r] = load_packed_words<Kind, RoundBf16>(src + r * ld, k);
  // The zero-masked forms with a full mask are the same instructions; the unmasked intrinsics start from
  // _mm512_undefined_ps(), which trips GCC 12's -Wmaybe-uninitialized once inlined.
  constexpr __mmask16 all = 0xFFFF;
  __m512 t[8], u[8];
  SANAWM_UNROLL for (int r = 0; r < 8; r += 2) {
    t[r] = _mm512_maskz_unpacklo_ps(all, a[r], a[r + 1]);      // per lane: r0[0] r1[0] r0[1] r1[1]
    t[r + 1] = _mm512_maskz_unpackhi_ps(all, a[r], a[r + 1]);  //           r0[2] r1[2] r0[3] r1[3]
  }
  SANAWM_UNROLL for (int h = 0; h < 8; h += 4) {
    u[h + 0] = _mm512_maskz_shuffle_ps(all, t[h], t[h + 2], 0x44);      // rows h..h+3 at word 4L+0 of lane L
    u[h + 1] = _mm512_maskz_shuffle_ps(all, t[h], t[h + 2], 0xEE);      // … 4L+1
    u[h + 2] = _mm512_maskz_shuffle_ps(all, t[h + 1], t[h + 3], 0x44);  // … 4L+2
    u[h + 3] = _mm512_maskz_shuffle_ps(all, t[h + 1], t[h + 3], 0xEE);  // … 4L+3
  }
  // Lane L of u[j] (rows 0-3) and of u[4 + j] (rows 4-7) together are the 8 rows of word 4L + j.
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  SANAWM_UNROLL for (int j = 0; j < 4; ++j) {
    const __m512 w01 = _mm512_permutex2var_ps(u[j], lo, u[4 + j]);  // words j, 4 + j
    const __m512 w23 = _mm512_permutex2var_ps(u[j], hi, u[4 + j]);  // words 8 + j, 12 + j
    // Masked stores write each 8-word half straight from the zmm (no extract shuffles): the upper half is stored
    // 8 words before its row so that lanes 8..15 land on it.
    _mm512_mask_storeu_ps(dst + (k + j) * R, 0x00FF, w01);
    _mm512_mask_storeu_ps(dst + (k + 4 + j) * R - 8, 0xFF00, w01);
    _mm512_mask_storeu_ps(dst + (k + 8 + j) * R, 0x00FF, w23);
    _mm512_mask_storeu_ps(dst + (k + 12 + j) * R - 8, 0xFF00, w23);
  }
}
#endif

/// Packs one block: ceil(rows / R) panels of R rows, panel i at dst + i·R·kpanel (kpanel = packed K length).
/// Full panels go through the AVX-512 transposer 16 words at a time when the ISA has it; tails and partial panels
/// take the scalar packers (same values bit for bit: both are plain copies or the same RNE rounding).
template <class Isa, gemm_kind Kind, int R, bool RoundBf16, class T, class P>
void pack_block(const T* src, index_t ld, index_t rows, index_t kc, P* dst) {
  const index_t kp = Kind == gemm_kind::bf16_dot ? (kc + 1) / 2 : kc;
  for (index_t r0 = 0, i = 0; r0 < rows; r0 += R, ++i) {
    const index_t nrows = std::min<index_t>(R, rows - r0);
    const T* s = src + r0 * ld;
    P* d = dst + i * R * kp;
    index_t kdone = 0;  // packed words already written by the vector path
#if SANAWM_SIMD_AVX512
    if constexpr (std::is_same_v<Isa, avx512_isa> && R % 8 == 0) {
      if (nrows == R) {
        const index_t kfull = Kind == gemm_kind::bf16_dot ? kc / 2 : kc;  // whole words available in every row
        for (; kdone + 16 <= kfull; kdone += 16)
          SANAWM_UNROLL for (int rb = 0; rb < R; rb += 8)
            pack_8x16<Kind, RoundBf16, R>(s + rb * ld, ld, kdone, reinterpret_cast<float*>(d) + rb);
      }
    }
#endif
    const index_t kskip = Kind == gemm_kind::bf16_dot ? 2 * kdone : kdone;  // in elements of K
    if constexpr (Kind == gemm_kind::bf16_dot) pack_panel_pairs<R>(s + kskip, ld, nrows, kc - kskip, d + kdone * R);
    else pack_panel_f32<R, RoundBf16>(s + kskip, ld, nrows, kc - kskip, d + kdone * R);
  }
}

// ---- micro-kernels --------------------------------------------------------------------------------------------

/// Asks for the R rows the tile update is about to read and write (C or the scratch block, `bytes` per row from
/// `rows`, ld in bytes) with write intent. Issued before the K loop, the misses (C rows are a page apart, so each
/// one is also a TLB miss) resolve while the FMAs run instead of stalling the update afterwards.
template <int R, int Bytes>
SANAWM_FORCEINLINE void prefetch_rows(const char* rows, index_t ld) noexcept {
  if (!rows) return;
  SANAWM_UNROLL for (int i = 0; i < R; ++i) SANAWM_UNROLL for (int b = 0; b < Bytes; b += 64)
    __builtin_prefetch(rows + i * ld + b, 1, 3);
}

/// tile[MR × NR] = Σ_k ap[k·MR + i] · bp[k·NR + j] over kc steps (fp32 FMA). The accumulators stay in registers
/// for the whole K loop; `tile` is a 64-byte aligned L1 buffer the tile update reads right away.
template <class Isa, int MR, int NV>
void micro_kernel_f32(index_t kc, const float* SANAWM_RESTRICT ap, const float* SANAWM_RESTRICT bp,
                      float* SANAWM_RESTRICT tile, const char* next_rows, index_t next_ld) noexcept {
  using V = vec<float, Isa>;
  constexpr int W = V::width, NR = NV * W;
  V acc[MR][NV];
  SANAWM_UNROLL for (int i = 0; i < MR; ++i) SANAWM_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
  const index_t kpf = kc - std::min<index_t>(kc, 64);
  for (index_t k = 0; k < kc; ++k) {
    if (k == kpf) prefetch_rows<MR, NR * 4>(next_rows, next_ld);
    V b[NV];
    SANAWM_UNROLL for (int j = 0; j < NV; ++j) b[j] = V::load_aligned(bp + j * W);
    SANAWM_UNROLL for (int i = 0; i < MR; ++i) {
      const V a = V::broadcast(ap[i]);
      SANAWM_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = fma(a, b[j], acc[i][j]);
    }
    ap += MR;
    bp += NR;
  }
  SANAWM_UNROLL for (int i = 0; i < MR; ++i) SANAWM_UNROLL for (int j = 0; j < NV; ++j)
    acc[i][j].store_aligned(tile + i * NR + j * W);
}

/// The bf16 twin: each step consumes one pair word per row of A (broadcast) and NR pair words of B, and one
/// dot_bf16 (vdpbf16ps) adds both products of the pair to the fp32 accumulator.
template <class Isa, int MR, int NV>
void micro_kernel_bf16(index_t kpairs, const std::uint32_t* SANAWM_RESTRICT ap, const std::uint32_t* SANAWM_RESTRICT bp,
                       float* SANAWM_RESTRICT tile, const char* next_rows, index_t next_ld) noexcept {
  using V = vec<float, Isa>;
  using P = bf16_pairs<Isa>;
  constexpr int W = V::width, NR = NV * W;
  prefetch_rows<MR, NR * 4>(next_rows, next_ld);
  V acc[MR][NV];
  SANAWM_UNROLL for (int i = 0; i < MR; ++i) SANAWM_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
  for (index_t q = 0; q < kpairs; ++q) {
    P b[NV];
    SANAWM_UNROLL for (int j = 0; j < NV; ++j) b[j] = P::load(reinterpret_cast<const std::uint16_t*>(bp + j * W));
    SANAWM_UNROLL for (int i = 0; i < MR; ++i) {
      const P a = P::broadcast(reinterpret_cast<const std::uint16_t*>(ap + i));
      SANAWM_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = dot_bf16(acc[i][j], a, b[j]);
    }
    ap += MR;
    bp += NR;
  }
  SANAWM_UNROLL for (int i = 0; i < MR; ++i) SANAWM_UNROLL for (int j = 0; j < NV; ++j)
    acc[i][j].store_aligned(tile + i * NR + j * W);
}

// ---- tile update and fused epilogue ----------------------------------------------------------------------------

/// Where a K step stands: the only one, the first/middle/last of several.
enum class k_stage : unsigned char { only, first, middle, last };

/// Partial sums over K steps live in C itself (fp32 C whose residual is not C: the in-place form, each step adds
/// alpha·acc) or in an fp32 scratch block (bf16 C, or a residual that is C and must be read before C is written:
/// the scratch holds the raw Σ acc and alpha, beta·C_old and the epilogue are applied at the last step).
enum class partial_mode : unsigned char { in_c, scratch };

/// Everything the tile update of one batch needs; pointers are batch-local.
template <class TC>
struct tile_sink {
  float alpha = 1.0f, beta = 0.0f;
  TC* c = nullptr;
  index_t ldc = 0;
  partial_mode mode = partial_mode::in_c;
  float* scratch = nullptr;  // [chunk rows, ld_scratch], row 0 = first row of the current chunk, column 0 = jc
  index_t ld_scratch = 0;
  const float* bias = nullptr;
  gemm_activation act = gemm_activation::none;
  const float* gate = nullptr;
  index_t ld_gate = 0, gate_group_rows = 1;
  const TC* residual = nullptr;
  index_t ld_residual = 0;
};

template <class Isa, class TC>
SANAWM_FORCEINLINE vec<float, Isa> load_lanes(const TC* p, index_t n) noexcept {
  using V = vec<float, Isa>;
  if constexpr (std::is_same_v<TC, float>) return n >= V::width ? V::load(p) : V::load_partial(p, n);
  else {
    const auto* q = reinterpret_cast<const std::uint16_t*>(p);
    return n >= V::width ? V::load_bf16(q) : V::load_bf16_partial(q, n);
  }
}
template <class Isa, class TC>
SANAWM_FORCEINLINE void store_lanes(vec<float, Isa> v, TC* p, index_t n) noexcept {
  using V = vec<float, Isa>;
  if constexpr (std::is_same_v<TC, float>) {
    if (n >= V::width) v.store(p);
    else v.store_partial(p, n);
  } else {
    auto* q = reinterpret_cast<std::uint16_t*>(p);
    if (n >= V::width) v.store_bf16(q);
    else v.store_bf16_partial(q, n);
  }
}

/// x·sigmoid(z) = x / (1 + e^(−z)): SiLU (z = x) and GELU-tanh (z = 2√(2/π)(x + 0.044715x³)), see gemm.hpp.
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> activate(gemm_activation act, vec<float, Isa> x) noexcept {
  using V = vec<float, Isa>;
  switch (act) {
    case gemm_activation::relu: return max(x, V::zero());
    case gemm_activation::silu: return x / (V::broadcast(1.0f) + exp(-x));
    case gemm_activation::gelu_tanh: {
      const V x3 = x * x * x;
      const V z = V::broadcast(static_cast<float>(gelu_tanh_two_sqrt_2_over_pi)) *
                  fma(V::broadcast(static_cast<float>(gelu_tanh_cubic)), x3, x);
      return x / (V::broadcast(1.0f) + exp(-z));
    }
    case gemm_activation::none: break;
  }
  return x;
}

/// Consumes one micro-kernel tile (rows × cols valid of an MR × NR buffer with row stride tile_ld) for the C tile
/// at (m, n) of the batch; `sm` is the row inside the scratch chunk. Vectorised along n; tails use masked lanes,
/// so nothing outside the valid tile is read or written. The epilogue runs on the tile while it is in L1, right
/// after the accumulators were stored: C is written exactly once at the last K step.
template <class Isa, class TC>
void update_tile(const tile_sink<TC>& s, k_stage st, const float* SANAWM_RESTRICT tile, index_t tile_ld,
                 index_t rows, index_t cols, index_t m, index_t n, index_t sm, index_t sn) noexcept {
  using V = vec<float, Isa>;
  constexpr int W = V::width;
  const V alpha = V::broadcast(s.alpha), beta = V::broadcast(s.beta);
  const bool use_beta = s.beta != 0.0f;
  for (index_t i = 0; i < rows; ++i) {
    const float* t = tile + i * tile_ld;
    TC* c = s.c + (m + i) * s.ldc + n;
    // Partial sums (several K steps only): C itself when it is fp32 and in_c, else the scratch block (which does not
    // exist for a single K step, hence no pointer at all then).
    float* part = nullptr;
    if (st != k_stage::only) {
      if constexpr (std::is_same_v<TC, float>)
        part = s.mode == partial_mode::in_c ? c : s.scratch + (sm + i) * s.ld_scratch + sn;
      else
        part = s.scratch + (sm + i) * s.ld_scratch + sn;
    }
    const float* gate = s.gate ? s.gate + ((m + i) / s.gate_group_rows) * s.ld_gate + n : nullptr;
    const TC* res = s.residual ? s.residual + (m + i) * s.ld_residual + n : nullptr;
    for (index_t j = 0; j < cols; j += W) {
      const index_t nl = cols - j;
      const V acc = V::load(t + j);  // the tile buffer is always NR wide
      V v;
      if (st == k_stage::first) {
        if (s.mode == partial_mode::in_c) {
          v = alpha * acc;
          if (use_beta) v = fma(beta, load_lanes<Isa>(part + j, nl), v);
        } else {
          v = acc;
        }
        store_lanes<Isa>(v, part + j, nl);
        continue;
      }
      if (st == k_stage::middle) {
        v = s.mode == partial_mode::in_c ? fma(alpha, acc, load_lanes<Isa>(part + j, nl))
                                         : load_lanes<Isa>(part + j, nl) + acc;
        store_lanes<Isa>(v, part + j, nl);
        continue;
      }
      // only / last: the complete sum, then the epilogue.
      if (st == k_stage::only || s.mode == partial_mode::scratch) {
        v = st == k_stage::only ? alpha * acc : alpha * (load_lanes<Isa>(part + j, nl) + acc);
        if (use_beta) v = fma(beta, load_lanes<Isa>(c + j, nl), v);
      } else {
        v = fma(alpha, acc, load_lanes<Isa>(part + j, nl));
      }
      if (s.bias) v = v + load_lanes<Isa>(s.bias + n + j, nl);
      v = activate<Isa>(s.act, v);
      if (gate) v = v * load_lanes<Isa>(gate + j, nl);
      if (res) v = v + load_lanes<Isa>(res + j, nl);
      store_lanes<Isa>(v, c + j, nl);
    }
  }
}

// ---- the driver -----------------------------------------------------------------------------------------------

/// How one batch's GEMM is cut into work: K steps, N blocks, M tiles (balanced: sizes differ by at most one
/// register panel, and the tile count is a multiple of the thread count when there are enough panels).
struct gemm_plan {
  index_t k_steps, kc;   // kc: K elements per step (even for bf16 pairs), last step shorter
  index_t n_blocks, nc;  // nc: columns per B block (multiple of NR), last block shorter
  index_t chunk_rows;    // rows per M chunk (M when partials live in C)
  index_t parts;         // thread-pool parts to use (1 = run on the caller)
};

template <class Cfg>
gemm_plan make_gemm_plan(index_t m, index_t n, index_t k, bool scratch, bool two_kunit, int threads) {
  gemm_plan p{};
  const index_t ku = two_kunit ? 2 : 1;
  p.k_steps = k == 0 ? 1 : ceil_div(k, Cfg::kc);
  p.kc = k == 0 ? 0 : round_up(ceil_div(k, p.k_steps), ku);
  p.n_blocks = ceil_div(n, Cfg::nc);
  p.nc = ceil_div(n, p.n_blocks);
  p.chunk_rows = scratch && p.k_steps > 1 ? std::min(m, gemm_scratch_rows) : m;
  p.parts = m * n * std::max<index_t>(k, 1) < gemm_serial_macs ? 1 : threads;
  return p;
}

}  // namespace detail

/// The B operand of the CPU GEMM ([N, K] row-major: a Linear's weight) packed once, ahead of time, into the
/// panels gemm(cpu_t, …) reads. A call with a packed B skips its per-call B packing, which is the dominant cost
/// of small-M GEMMs against a constant weight (a third of the 24-token DiT forward, docs/dit.md). Same products,
/// same kernel, so results are bit-identical to the unpacked call. Holds the panels of one (ISA, compute mode);
/// the packing order only depends on N and K, never on M or the thread count. Move-only; `bytes()` is its size
/// (N rounded up to the register tile × K, in the compute mode's element: 4 B fp32, 2 B per bf16).
class packed_gemm_b {
 public:
  packed_gemm_b() = default;
  packed_gemm_b(packed_gemm_b&&) noexcept = default;
  packed_gemm_b& operator=(packed_gemm_b&&) noexcept = default;

  index_t n() const noexcept { return n_; }
  index_t k() const noexcept { return k_; }
  /// The resolved compute mode the panels were packed for (fp32 or bf16).
  gemm_compute compute() const noexcept { return compute_; }
  /// Whether the source was bf16 (then `automatic` resolves to bf16 whatever A is).
  bool from_bf16() const noexcept { return from_bf16_; }
  /// The SIMD variant whose register tile the panels follow (Isa::name).
  const char* isa() const noexcept { return isa_; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(bytes_); }
  bool empty() const noexcept { return n_ == 0; }

  /// Panels of K step s and N block jb (internal layout of detail::gemm_run).
  template <class P>
  const P* block(index_t s, index_t jb) const noexcept {
    return reinterpret_cast<const P*>(data_.data() + offsets_[static_cast<std::size_t>(s * n_blocks_ + jb)]);
  }

 private:
  template <class Isa, class TB>
  friend void pack_gemm_b_into(packed_gemm_b& out, const TB* b, index_t n, index_t k, index_t ldb,
                               gemm_compute compute);

  host_buffer<std::byte> data_;  // capacity; the panels use the first bytes_
  index_t bytes_ = 0;
  std::vector<index_t> offsets_;  // byte offset of block (s, jb) at s·n_blocks + jb
  index_t n_ = 0, k_ = 0, n_blocks_ = 0;
  gemm_compute compute_ = gemm_compute::fp32;
  bool from_bf16_ = false;
  const char* isa_ = "";
};

namespace detail {

/// One (optionally batched) GEMM on `Isa` with packed-panel kind `Kind`. Preconditions: check_gemm_args passed.
/// With `pre`, B comes from those panels (packed by pack_gemm_b_with<Isa> for this kind; one B for all batches).
template <class Isa, gemm_kind Kind, bool RoundBf16, class TA, class TB, class TC>
void gemm_run(const gemm_args<TA, TB, TC>& p, const packed_gemm_b* pre = nullptr) {
  using Cfg = gemm_config<Isa, Kind>;
  using V = vec<float, Isa>;
  using P = std::conditional_t<Kind == gemm_kind::bf16_dot, std::uint32_t, float>;
  constexpr int MR = Cfg::mr, NR = Cfg::nv * V::width;
  constexpr bool pairs = Kind == gemm_kind::bf16_dot;

  if (p.batch == 0 || p.m == 0 || p.n == 0) return;
  const index_t M = p.m, N = p.n;
  const index_t K = p.alpha == 0.0f ? 0 : p.k;  // BLAS: alpha == 0 reads neither A nor B
  thread_pool& pool = global_pool();
  const bool residual_is_c = gemm_residual_is_c(p);
  const partial_mode mode = std::is_same_v<TC, float> && !residual_is_c ? partial_mode::in_c : partial_mode::scratch;

  gemm_plan plan = make_gemm_plan<Cfg>(M, N, K, mode == partial_mode::scratch, pairs, pool.size());
  plan.nc = round_up(plan.nc, NR);
  const index_t kp_max = pairs ? (plan.kc + 1) / 2 : plan.kc;  // packed K length of a full step
  const index_t nr_panels_max = ceil_div(plan.nc, NR);

  // Shared buffers, owned by the calling thread's arena and sized before any parallel work starts.
  gemm_arena& arena = thread_gemm_arena();
  P* bpack = pre ? nullptr : arena.get<P>(gemm_slot::b_block, std::max<index_t>(1, nr_panels_max * NR * kp_max));
  float* scratch = nullptr;
  if (mode == partial_mode::scratch && plan.k_steps > 1)
    scratch = arena.get<float>(gemm_slot::partial, plan.chunk_rows * plan.nc);

  for (index_t bt = 0; bt < p.batch; ++bt) {
    const TA* A = K > 0 ? p.a + bt * p.batch_stride_a : nullptr;
    const TB* B = K > 0 && !pre ? p.b + bt * p.batch_stride_b : nullptr;
    tile_sink<TC> sink;
    sink.alpha = p.alpha * (p.scale_a ? *p.scale_a : 1.0f) * (p.scale_b ? *p.scale_b : 1.0f);
    sink.beta = p.beta;
    sink.c = p.c + bt * p.batch_stride_c;
    sink.ldc = p.ldc;
    sink.mode = mode;
    sink.scratch = scratch;
    sink.ld_scratch = plan.nc;
    const auto& e = p.epilogue;
    sink.bias = e.bias ? e.bias + bt * e.batch_stride_bias : nullptr;
    sink.act = e.activation;
    sink.gate = e.gate ? e.gate + bt * e.batch_stride_gate : nullptr;
    sink.ld_gate = e.ld_gate;
    sink.gate_group_rows = e.gate_group_rows;
    sink.residual = e.residual ? e.residual + bt * e.batch_stride_residual : nullptr;
    sink.ld_residual = e.ld_residual;

    for (index_t m0 = 0; m0 < M; m0 += plan.chunk_rows) {
      const index_t mrows = std::min(plan.chunk_rows, M - m0);
      const index_t mr_panels = ceil_div(mrows, MR);
      // M tiles: enough to keep every part busy, none larger than MC; a multiple of the part count if possible.
      index_t tiles = std::max(ceil_div(mr_panels, Cfg::mc / MR), std::min<index_t>(plan.parts, mr_panels));
      tiles = std::min(mr_panels, round_up(tiles, plan.parts));
      for (index_t jc = 0; jc < N; jc += plan.nc) {
        const index_t ncols = std::min(plan.nc, N - jc);
        const index_t nr_panels = ceil_div(ncols, NR);
        // Few M tiles (small M): split the B panels into groups too, so that all parts have work.
        const index_t groups = tiles >= plan.parts ? 1 : std::min(nr_panels, ceil_div(plan.parts, tiles));
        const index_t items = tiles * groups;
        for (index_t s = 0; s < plan.k_steps; ++s) {
          const index_t k0 = s * plan.kc;
          const index_t kc = std::min(plan.kc, K - k0);
          const index_t kp = pairs ? (kc + 1) / 2 : kc;
          const k_stage stage = plan.k_steps == 1 ? k_stage::only
                                : s == 0           ? k_stage::first
                                : s + 1 == plan.k_steps ? k_stage::last
                                                        : k_stage::middle;
          // 1. B block [kc × ncols] → NR-wide panels, shared (parallel over panels), unless packed ahead.
          const P* bblock = pre && kc > 0 ? pre->block<P>(s, jc / plan.nc) : bpack;
          if (kc > 0 && !pre) {
            auto pack_b = [&](index_t b, index_t e2, int) {
              for (index_t jp = b; jp < e2; ++jp) {
                const index_t c0 = jp * NR;
                pack_block<Isa, Kind, NR, RoundBf16>(B + (jc + c0) * p.ldb + k0, p.ldb, std::min<index_t>(NR, ncols - c0), kc,
                                                bpack + jp * NR * kp);
              }
            };
            if (plan.parts > 1) parallel_ranges(pool, nr_panels, pack_b);
            else cpu::detail::run_range(pack_b, 0, nr_panels, 0);
          }
          // 2. Work items (M tile, B panel group), contiguous per part so a part packs each A block once.
          auto compute = [&](index_t b, index_t e2, int) {
            const index_t max_tile_rows = ceil_div(mr_panels, tiles) * MR;
            P* apack = thread_gemm_arena().get<P>(gemm_slot::a_block, std::max<index_t>(1, max_tile_rows * kp_max));
            alignas(64) float tile[MR * NR];
            index_t packed_tile = -1;
            for (index_t it = b; it < e2; ++it) {
              const index_t t = it / groups, g = it % groups;
              const range tp = static_partition(mr_panels, tiles, t);  // A panels of this tile
              const index_t r0 = tp.begin * MR, rows = std::min(tp.end * MR, mrows) - r0;
              if (packed_tile != t && kc > 0) {
                pack_block<Isa, Kind, MR, RoundBf16>(A + (m0 + r0) * p.lda + k0, p.lda, rows, kc, apack);
                packed_tile = t;
              }
              const range gp = static_partition(nr_panels, groups, g);  // B panels of this group
              for (index_t jp = gp.begin; jp < gp.end; ++jp) {
                const index_t c0 = jp * NR, cols = std::min<index_t>(NR, ncols - c0);
                const P* bpanel = bblock + jp * NR * kp;
                for (index_t ip = 0; ip * MR < rows; ++ip) {
                  const index_t i0 = ip * MR, irows = std::min<index_t>(MR, rows - i0);
                  const P* apanel = apack + ip * MR * kp;
                  const char* next = nullptr;
                  index_t next_ld = 0;
                  if (mode == partial_mode::in_c || stage == k_stage::only) {
                    next = reinterpret_cast<const char*>(sink.c + (m0 + r0 + i0) * p.ldc + jc + c0);
                    next_ld = p.ldc * static_cast<index_t>(sizeof(TC));
                  } else {
                    next = reinterpret_cast<const char*>(scratch + (r0 + i0) * plan.nc + c0);
                    next_ld = plan.nc * static_cast<index_t>(sizeof(float));
                  }
                  if constexpr (pairs) micro_kernel_bf16<Isa, MR, Cfg::nv>(kp, apanel, bpanel, tile, next, next_ld);
                  else micro_kernel_f32<Isa, MR, Cfg::nv>(kp, apanel, bpanel, tile, next, next_ld);
                  update_tile<Isa>(sink, stage, tile, NR, irows, cols, m0 + r0 + i0, jc + c0, r0 + i0, c0);
                }
              }
            }
          };
          if (plan.parts > 1) parallel_ranges(pool, items, compute);
          else cpu::detail::run_range(compute, 0, items, 0);  // the same code as the parts (see run_range)
        }
      }
    }
  }
}

/// The packed-panel kind and B rounding of a resolved compute mode on Isa (see gemm_with).
template <class Isa, class F>
void with_gemm_kind(gemm_compute c, F&& f) {
  if (c == gemm_compute::fp32) f(std::integral_constant<gemm_kind, gemm_kind::f32>{}, std::false_type{});
  else if constexpr (Isa::native_bf16_dot) f(std::integral_constant<gemm_kind, gemm_kind::bf16_dot>{}, std::false_type{});
  else f(std::integral_constant<gemm_kind, gemm_kind::f32>{}, std::true_type{});
}

}  // namespace detail

/// Packs B [n, k] (row-major, leading dimension ldb) into `out` for calls on `Isa` in compute mode `compute`
/// (automatic resolves as a call with fp32 A would: fp32 for an fp32 B, bf16 for a bf16 B), reusing out's storage
/// when it is large enough (a scratch packed B refilled call after call then costs no allocation or page faults).
/// Runs on the thread pool. Throws "[pack_gemm_b] …" for invalid sizes or pointers (out is then unchanged).
template <class Isa, class TB>
void pack_gemm_b_into(packed_gemm_b& out, const TB* b, index_t n, index_t k, index_t ldb, gemm_compute compute) {
  static_assert(std::is_same_v<TB, float> || std::is_same_v<TB, bf16>, "sanawm: pack_gemm_b takes float or bf16");
  SANAWM_EXPECT(n >= 1 && k >= 1, "pack_gemm_b", "sizes must be >= 1, got n=", n, " k=", k);
  SANAWM_EXPECT(ldb >= k, "pack_gemm_b", "ldb ", ldb, " < k ", k, ": rows of b [n, k] would overlap");
  SANAWM_EXPECT(b != nullptr, "pack_gemm_b", "b is null");
  const gemm_compute c = resolve_gemm_compute<float, TB>(compute);
  SANAWM_EXPECT(c == gemm_compute::fp32 || c == gemm_compute::bf16, "pack_gemm_b",
                "compute must be fp32 or bf16 on the CPU");
  out.n_ = n, out.k_ = k, out.compute_ = c, out.from_bf16_ = std::is_same_v<TB, bf16>, out.isa_ = Isa::name;
  out.offsets_.clear();
  detail::with_gemm_kind<Isa>(c, [&](auto kind, auto round) {
    constexpr detail::gemm_kind Kind = decltype(kind)::value;
    constexpr bool RoundBf16 = decltype(round)::value;
    using Cfg = detail::gemm_config<Isa, Kind>;
    using V = vec<float, Isa>;
    using P = std::conditional_t<Kind == detail::gemm_kind::bf16_dot, std::uint32_t, float>;
    constexpr int NR = Cfg::nv * V::width;
    constexpr bool pairs = Kind == detail::gemm_kind::bf16_dot;
    // The same K steps and N blocks gemm_run derives (they depend on n and k only).
    detail::gemm_plan plan = detail::make_gemm_plan<Cfg>(1, n, k, false, pairs, 1);
    plan.nc = detail::round_up(plan.nc, NR);
    out.n_blocks_ = detail::ceil_div(n, plan.nc);
    struct job { index_t s, jc, k0, kc, kp, ncols, offset; };
    std::vector<job> jobs;
    index_t bytes = 0;
    for (index_t s = 0; s < plan.k_steps; ++s) {
      const index_t k0 = s * plan.kc, kc = std::min(plan.kc, k - k0), kp = pairs ? (kc + 1) / 2 : kc;
      for (index_t jc = 0; jc < n; jc += plan.nc) {
        const index_t ncols = std::min(plan.nc, n - jc);
        jobs.push_back({s, jc, k0, kc, kp, ncols, bytes});
        out.offsets_.push_back(bytes);
        bytes += detail::round_up(detail::ceil_div(ncols, NR) * NR * kp * index_t{sizeof(P)}, 64);
      }
    }
    if (static_cast<index_t>(out.data_.size()) < bytes) {
      out.data_ = host_buffer<std::byte>();  // release before allocating the larger one
      out.data_ = host_buffer<std::byte>(bytes);
    }
    out.bytes_ = bytes;
    // Work unit: one NR-wide panel of one block.
    std::vector<index_t> first_panel(jobs.size() + 1, 0);
    for (std::size_t j = 0; j < jobs.size(); ++j)
      first_panel[j + 1] = first_panel[j] + detail::ceil_div(jobs[j].ncols, NR);
    cpu::parallel_ranges(first_panel.back(), [&](index_t b0, index_t e0, int) {
      std::size_t j = 0;
      for (index_t u = b0; u < e0; ++u) {
        while (first_panel[j + 1] <= u) ++j;
        const job& jb = jobs[j];
        const index_t jp = u - first_panel[j], c0 = jp * NR;
        P* dst = reinterpret_cast<P*>(out.data_.data() + jb.offset) + jp * NR * jb.kp;
        detail::pack_block<Isa, Kind, NR, RoundBf16>(b + (jb.jc + c0) * ldb + jb.k0, ldb,
                                                     std::min<index_t>(NR, jb.ncols - c0), jb.kc, dst);
      }
    });
  });
}

/// Packs B [n, k] into a new packed_gemm_b: see pack_gemm_b_into.
template <class Isa, class TB>
packed_gemm_b pack_gemm_b_with(const TB* b, index_t n, index_t k, index_t ldb, gemm_compute compute) {
  packed_gemm_b out;
  pack_gemm_b_into<Isa>(out, b, n, k, ldb, compute);
  return out;
}

/// gemm on an explicit SIMD variant (scalar_isa, avx2_isa or avx512_isa, as compiled): for tests and benchmarks
/// that compare variants. Checks the arguments; see gemm(cpu_t, …) for the semantics.
template <class Isa, class TA, class TB, class TC>
void gemm_with(const gemm_args<TA, TB, TC>& p) {
  static_assert(!std::is_same_v<TA, fp8_e4m3> && !std::is_same_v<TB, fp8_e4m3>,
                "sanawm: fp8 GEMMs run on CUDA only (cuBLASLt); dequantise to bf16 for the CPU");
  check_gemm_args(p, "gemm");
  const gemm_compute c = resolve_gemm_compute<TA, TB>(p.compute);
  SANAWM_EXPECT(c != gemm_compute::tf32, "gemm", "gemm_compute::tf32 is a CUDA tensor-core mode; use fp32 on the CPU");
  detail::with_gemm_kind<Isa>(c, [&](auto kind, auto round) {
    detail::gemm_run<Isa, decltype(kind)::value, decltype(round)::value>(p);
  });
}

/// gemm_with with B pre-packed by pack_gemm_b_with<Isa>: p.b and p.ldb are not used (p.b may be null); p.n and
/// p.k must be the packed B's, and the call's compute mode (resolved from TA, TB) the one it was packed for. With
/// batch > 1 every batch uses the one packed B (batch_stride_b must be 0).
template <class Isa, class TA, class TB, class TC>
void gemm_with(const gemm_args<TA, TB, TC>& p, const packed_gemm_b& b) {
  static_assert(!std::is_same_v<TA, fp8_e4m3>, "sanawm: fp8 GEMMs run on CUDA only (cuBLASLt)");
  check_gemm_args(p, "gemm", /*b_packed=*/true);
  const gemm_compute c = resolve_gemm_compute<TA, TB>(p.compute);
  SANAWM_EXPECT(!b.empty(), "gemm", "the packed b is empty (default-constructed or moved from)");
  SANAWM_EXPECT(p.n == b.n() && p.k == b.k(), "gemm", "the packed b is [", b.n(), ", ", b.k(), "] but the call is n=",
                p.n, " k=", p.k);
  SANAWM_EXPECT(c == b.compute(), "gemm", "b was packed for ", b.compute() == gemm_compute::bf16 ? "bf16" : "fp32",
                " compute but the call resolves to ", c == gemm_compute::bf16 ? "bf16" : c == gemm_compute::fp32 ? "fp32" : "tf32");
  SANAWM_EXPECT(std::string_view(b.isa()) == Isa::name, "gemm", "b was packed for the ", b.isa(),
                " kernels but the call runs ", Isa::name);
  SANAWM_EXPECT(p.batch <= 1 || p.batch_stride_b == 0, "gemm",
                "a packed b serves every batch: batch_stride_b must be 0, got ", p.batch_stride_b);
  detail::with_gemm_kind<Isa>(c, [&](auto kind, auto round) {
    detail::gemm_run<Isa, decltype(kind)::value, decltype(round)::value>(p, &b);
  });
}

/// pack_gemm_b_with on the native SIMD variant: the packed B that gemm(cpu_t, p, packed) takes.
template <class TB>
packed_gemm_b pack_gemm_b(const TB* b, index_t n, index_t k, index_t ldb, gemm_compute compute = gemm_compute::automatic) {
  return pack_gemm_b_with<native_isa>(b, n, k, ldb, compute);
}

/// pack_gemm_b_into on the native SIMD variant: refills `out`, reusing its storage when large enough.
template <class TB>
void pack_gemm_b_into(packed_gemm_b& out, const TB* b, index_t n, index_t k, index_t ldb,
                      gemm_compute compute = gemm_compute::automatic) {
  pack_gemm_b_into<native_isa>(out, b, n, k, ldb, compute);
}

}  // namespace sanawm::cpu

namespace sanawm {

/// C = epilogue(alpha·A·Bᵀ + beta·C) on the host thread pool (see gemm_args and gemm_epilogue in gemm.hpp).
/// Inputs fp32 or bf16 (any mix), C fp32 or bf16, fp32 accumulation; compute fp32 (FMA) or bf16 (vdpbf16ps on
/// AVX512-BF16, bf16-rounded inputs through the fp32 kernel elsewhere). Results do not depend on the thread count.
/// Throws sanawm::error("[gemm] …") for invalid arguments.
template <class TA, class TB, class TC>
void gemm(cpu_t, const gemm_args<TA, TB, TC>& p) {
  cpu::gemm_with<cpu::native_isa>(p);
}

/// The same GEMM with B packed ahead by cpu::pack_gemm_b (a constant weight used many times): bit-identical to
/// the call with the unpacked B, without the per-call packing. See cpu::gemm_with(p, packed) for the rules.
template <class TA, class TB, class TC>
void gemm(cpu_t, const gemm_args<TA, TB, TC>& p, const cpu::packed_gemm_b& b) {
  cpu::gemm_with<cpu::native_isa>(p, b);
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/nvfp4/nvfp4_cpu.hpp — NVFP4 on the host thread pool: quantise/dequantise, scale-layout conversion,
// and the W4A16/W4A4 GEMMs built on the packed GEMM's blocking and micro-kernels with the weight decoded on the fly.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/nvfp4/nvfp4_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <algorithm>    // std::min, std::max
#include <atomic>       // std::atomic (units handed out to the pool)
#include <bit>          // std::bit_cast
#include <cstdint>      // std::uint16_t, std::uint32_t
#include <cstring>      // std::memcpy
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

#include "sanawm/backend/cpu/parallel.hpp"    // parallel_for, parallel_reduce, parallel_ranges
#include "sanawm/backend/cpu/simd.hpp"        // vec, native_isa, ISA tags
#include "sanawm/backend/tags.hpp"            // cpu_t
#include "sanawm/core/buffer.hpp"             // host_buffer
#include "sanawm/core/dispatch.hpp"           // dispatch_int: row groups
#include "sanawm/kernels/gemm/gemm_cpu.hpp"   // the packed GEMM's configs, packers, micro-kernels, tile update
#include "sanawm/kernels/nvfp4/nvfp4.hpp"     // recipe bodies, views, nvfp4_gemm_args

namespace sanawm {

// ---- quantise / dequantise / layouts ----------------------------------------------------------------------------

/// max |x| over a row-major [rows, cols] input (after the RHT with `signs` when `rht`), NaN if any element is NaN.
/// Deterministic: blocks are reduced in a fixed order per part and parts in part order.
template <class T>
float nvfp4_amax(cpu_t, const T* x, index_t rows, index_t cols, index_t ldx, bool rht = false,
                 std::uint32_t signs = 0) {
  SANAWM_EXPECT(cols % nvfp4_block == 0, "nvfp4", "K = ", cols, " is not a multiple of the NVFP4 block (16)");
  const nvfp4_block_amax_body<T> body{x, ldx, cols / nvfp4_block, rht, signs};
  return parallel_reduce(cpu_t{}, rows * (cols / nvfp4_block), 0.0f, body,
                         [](float a, float b) { return detail::nvfp4_fmax_nan(a, b); });
}

/// Quantises x [rows, cols] (fp32 or bf16, row-major, leading dimension ldx) into `out` with the recipe of
/// nvfp4.hpp and returns the global decode scale S_dec. `amax` < 0 means "compute it" (otherwise it is the
/// calibrated amax to use, e.g. a static activation scale). Scales land in out.layout; a swizzled buffer's padding
/// must already be zero (nvfp4_tensor allocates it so).
template <class T>
float nvfp4_quantize(cpu_t, const T* x, index_t rows, index_t cols, index_t ldx, nvfp4_out out,
                     const nvfp4_options& opt = {}, float amax = -1.0f) {
  SANAWM_EXPECT(cols % nvfp4_block == 0, "nvfp4", "K = ", cols, " is not a multiple of the NVFP4 block (16)");
  SANAWM_EXPECT(out.rows == rows && out.cols == cols, "nvfp4", "output is [", out.rows, ", ", out.cols,
                "] but the input is [", rows, ", ", cols, "]");
  SANAWM_EXPECT(ldx >= cols || rows <= 1, "nvfp4", "ldx ", ldx, " < cols ", cols);
  if (rows == 0 || cols == 0) return 1.0f;
  const std::uint32_t signs = nvfp4_rht_signs(opt.rht_seed);
  if (amax < 0.0f) amax = nvfp4_amax(cpu_t{}, x, rows, cols, ldx, opt.rht, signs);
  const float s_enc = nvfp4_encode_scale(amax), s_dec = nvfp4_decode_scale(s_enc);
  const nvfp4_quantize_body<T> body{x, ldx, out, s_enc, s_dec, opt.rht, signs,
                                    opt.rounding == nvfp4_rounding::stochastic, opt.sr_seed};
  parallel_for(cpu_t{}, rows * (cols / nvfp4_block), body);
  return s_dec;
}

/// Convenience: quantises into a new host tensor with scales in `layout`.
template <class T>
nvfp4_tensor nvfp4_quantize(cpu_t, const T* x, index_t rows, index_t cols, index_t ldx, const nvfp4_options& opt = {},
                            nvfp4_scale_layout layout = nvfp4_scale_layout::linear) {
  nvfp4_tensor t(rows, cols, layout);
  t.global_scale = nvfp4_quantize(cpu_t{}, x, rows, cols, ldx, t.out(), opt);
  t.rht = opt.rht;
  t.rht_seed = opt.rht_seed;
  return t;
}

/// Decodes `in` into y [rows, cols] (fp32 or bf16, leading dimension ldy), the inverse RHT included.
template <class T>
void nvfp4_dequantize(cpu_t, const nvfp4_view& in, T* y, index_t ldy) {
  check_nvfp4(in, "nvfp4_dequantize");
  SANAWM_EXPECT(ldy >= in.cols || in.rows <= 1, "nvfp4_dequantize", "ldy ", ldy, " < cols ", in.cols);
  parallel_for(cpu_t{}, in.rows * in.scale_cols(), nvfp4_dequantize_body<T>{in, y, ldy});
}

/// Copies the scales of an NVFP4 matrix [rows, scale_cols·16] from layout `from` to layout `to`. `dst` must hold
/// nvfp4_scale_bytes(rows, cols, to) bytes; padding bytes of a swizzled destination are set to 0 here.
inline void nvfp4_convert_scales(cpu_t, const ue4m3* src, nvfp4_scale_layout from, ue4m3* dst, nvfp4_scale_layout to,
                                 index_t rows, index_t scale_cols) {
  if (to == nvfp4_scale_layout::swizzled_128x4) {
    const index_t n = nvfp4_swizzled_size(rows, scale_cols);
    for (index_t i = 0; i < n; ++i) dst[i] = ue4m3::from_bits(0);
  }
  parallel_for(cpu_t{}, rows * scale_cols, nvfp4_scale_convert_body{src, dst, rows, scale_cols, from, to});
}

/// The same tensor with its scales in `layout` (a copy; codes and global scale unchanged).
inline nvfp4_tensor nvfp4_with_layout(const nvfp4_tensor& t, nvfp4_scale_layout layout) {
  nvfp4_tensor r(t.rows, t.cols, layout);
  r.data = t.data;
  r.global_scale = t.global_scale;
  r.rht = t.rht;
  r.rht_seed = t.rht_seed;
  nvfp4_convert_scales(cpu_t{}, t.scales.data(), t.layout, r.scales.data(), layout, t.rows, t.cols / nvfp4_block);
  return r;
}

// ---- pre-arranged (panel-interleaved) weights ------------------------------------------------------------------

/// Weight rows (output columns n) per panel of an nvfp4_prepared weight: one zmm of fp32 lanes.
inline constexpr index_t nvfp4_panel_width = 16;

/// An NVFP4 weight [N, K] re-arranged once (at load time) for the CPU W4A16 kernels, still 4.5 bits per weight.
/// The N rows are cut into panels of 16 (the last one zero-padded); within a panel the codes of 8 consecutive k
/// ("a chunk") for all 16 rows are one 64-byte line:
///   codes [panels][K/8][64 B]: 16-bit word t = 2i + h of chunk c holds in its nibble j (bits 4j..4j+3) the code
///                              of row 16·panel + i at k = 8c + 2j + h (i < 16, h < 2, j < 4);
///   scales [panels][K/16][16]: the block scale (UE4M3 byte) of row 16·panel + i, block b.
/// So `(chunk >> 4j)` per 16-bit word indexes the E2M1 table (vpermw) straight into the bf16 pairs
/// (k = 8c + 2j, 8c + 2j + 1) of 16 rows — the B operand layout of vdpbf16ps — without any transpose.
struct nvfp4_prepared {
  index_t rows = 0, cols = 0;           ///< N, K (K a multiple of 16)
  host_buffer<std::uint8_t> codes;      ///< panels · K/8 · 64 bytes (panels · 16 · K/2)
  host_buffer<std::uint8_t> scales;     ///< panels · K/16 · 16 bytes
  float global_scale = 1.0f;            ///< S_dec
  bool rht = false;
  std::uint64_t rht_seed = 0;

  index_t panels() const noexcept { return (rows + nvfp4_panel_width - 1) / nvfp4_panel_width; }
  index_t chunks() const noexcept { return cols / 8; }
  index_t blocks() const noexcept { return cols / nvfp4_block; }
  /// The 64-byte chunk c (k ∈ [8c, 8c + 8)) of panel q, and the 16 scales of block b of panel q.
  const std::uint8_t* chunk(index_t q, index_t c) const noexcept { return codes.data() + (q * chunks() + c) * 64; }
  const std::uint8_t* block_scales(index_t q, index_t b) const noexcept {
    return scales.data() + (q * blocks() + b) * nvfp4_panel_width;
  }
  /// E2M1 code (0..15) of element (n, k) and the block scale of (n, k/16): the inverse of the arrangement.
  std::uint32_t code(index_t n, index_t k) const noexcept {
    const std::uint8_t* ch = chunk(n / nvfp4_panel_width, k / 8);
    const index_t t = 2 * (n % nvfp4_panel_width) + (k & 1), j = (k % 8) / 2;
    const std::uint32_t word = static_cast<std::uint32_t>(ch[2 * t]) | (static_cast<std::uint32_t>(ch[2 * t + 1]) << 8);
    return (word >> (4 * j)) & 0xFu;
  }
  ue4m3 scale(index_t n, index_t b) const noexcept {
    return ue4m3::from_bits(block_scales(n / nvfp4_panel_width, b)[n % nvfp4_panel_width]);
  }
  /// code · block scale · S_dec of element (n, k) (without the inverse RHT), as nvfp4_view::value.
  float value(index_t n, index_t k) const noexcept {
    return fp4_e2m1::from_bits(static_cast<std::uint8_t>(code(n, k))).to_float() * scale(n, k / nvfp4_block).to_float() *
           global_scale;
  }
  /// Bytes held (codes + scales + the fp32 global scale); = nvfp4_tensor::storage_bytes() when N % 16 == 0.
  index_t storage_bytes() const noexcept {
    return codes.size() + scales.size() + static_cast<index_t>(sizeof(float));
  }
};

/// Re-arranges `w` (either scale layout) into the panel layout of nvfp4_prepared. One pass over the weight on the
/// thread pool; do it once when the weight is loaded, then pass the result to nvfp4_gemm_w4a16(cpu_t, p, prepared).
inline nvfp4_prepared nvfp4_prepare(cpu_t, const nvfp4_view& w) {
  check_nvfp4(w, "nvfp4_prepare", "weight");
  nvfp4_prepared r;
  r.rows = w.rows;
  r.cols = w.cols;
  r.global_scale = w.global_scale;
  r.rht = w.rht;
  r.rht_seed = w.rht_seed;
  const index_t panels = r.panels(), chunks = r.chunks(), blocks = r.blocks();
  r.codes = host_buffer<std::uint8_t>(std::max<index_t>(1, panels * chunks * 64));
  r.scales = host_buffer<std::uint8_t>(std::max<index_t>(1, panels * blocks * nvfp4_panel_width));
  std::uint8_t* codes = r.codes.data();
  std::uint8_t* scales = r.scales.data();
  const index_t bpr = w.bytes_per_row();
  parallel_for(cpu_t{}, panels, [=](index_t q) {
    for (index_t i = 0; i < nvfp4_panel_width; ++i) {
      const index_t n = q * nvfp4_panel_width + i;
      const bool live = n < w.rows;
      for (index_t b = 0; b < blocks; ++b)
        scales[(q * blocks + b) * nvfp4_panel_width + i] = live ? w.scale(n, b).bits() : std::uint8_t{0};
      for (index_t c = 0; c < chunks; ++c) {
        // Bytes 4c..4c+3 of the row: byte j holds k = 8c + 2j (low nibble) and 8c + 2j + 1 (high nibble).
        std::uint32_t even = 0, odd = 0;
        if (live)
          for (int j = 0; j < 4; ++j) {
            const std::uint32_t byte = w.data[n * bpr + 4 * c + j].bits();
            even |= (byte & 0xFu) << (4 * j);
            odd |= (byte >> 4) << (4 * j);
          }
        std::uint8_t* ch = codes + (q * chunks + c) * 64 + 4 * i;  // words 2i (h = 0) and 2i + 1 (h = 1)
        ch[0] = static_cast<std::uint8_t>(even);
        ch[1] = static_cast<std::uint8_t>(even >> 8);
        ch[2] = static_cast<std::uint8_t>(odd);
        ch[3] = static_cast<std::uint8_t>(odd >> 8);
      }
    }
  });
  return r;
}

inline nvfp4_prepared nvfp4_prepare(cpu_t, const nvfp4_tensor& t) { return nvfp4_prepare(cpu_t{}, t.view()); }

// ---- W4A16 / W4A4 GEMM --------------------------------------------------------------------------------------------

// GCC 12 reports its own intrinsics' undefined-initialiser idiom (_mm512_undefined_*) as maybe-uninitialized once
// they are inlined into these kernels; simd_avx512.hpp silences the same false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace cpu {
/// Which CPU W4A16 kernel runs (tests and benchmarks pin one; `automatic` picks by M).
enum class nvfp4_cpu_path : unsigned char {
  automatic,  ///< view: direct for M ≤ nvfp4_direct_max_m on AVX512-BF16 with bf16 compute, else packed;
              ///< prepared weight: panel for M ≤ nvfp4_panel_max_m, else packed
  packed,     ///< decode into the packed GEMM's B blocks (always available)
  direct,     ///< decode in registers against unpacked activations (AVX512-BF16, bf16 compute; else packed);
              ///< on a prepared weight the same as panel
  panel,      ///< prepared weight: the panel micro-kernel (vdpbf16ps on AVX512-BF16 with bf16 compute, else the
              ///< portable fp32 one); on a view the same as direct
};
}  // namespace cpu

namespace cpu::detail {

/// bf16 bit patterns of the 8 E2M1 magnitudes, then their negatives: the vpermw table of the decoders.
inline constexpr std::uint16_t nvfp4_e2m1_bf16[16] = {0x0000, 0x3F00, 0x3F80, 0x3FC0, 0x4000, 0x4040, 0x4080, 0x40C0,
                                                      0x8000, 0xBF00, 0xBF80, 0xBFC0, 0xC000, 0xC040, 0xC080, 0xC0C0};

/// code · scale in fp32 (exact: at most 2 × 4 significant bits, well inside fp32's and bf16's exponent range).
SANAWM_FORCEINLINE float nvfp4_decode_scaled(std::uint32_t code, float scale) noexcept {
  return bf16_bits_to_float(nvfp4_e2m1_bf16[code & 0xFu]) * scale;
}

/// Scalar decode-pack of weight rows [n0, n0 + rows) × k [k0, k0 + kc) into an R-wide panel, in the layout of the
/// packed GEMM: f32 kind dst[k·R + r]; bf16 pairs dst[p·R + r] = bf16(w[2p]) | bf16(w[2p+1]) << 16. k0, kc are
/// multiples of 16 (whole blocks); rows ≥ `rows` are zero. The global scale is not applied (it goes to alpha).
template <gemm_kind Kind, int R, class P>
void nvfp4_pack_panel_scalar(const nvfp4_view& w, index_t n0, index_t rows, index_t k0, index_t kc, index_t kdone,
                             P* dst) {
  const index_t bpr = w.bytes_per_row(), sc = w.scale_cols();
  for (index_t r = 0; r < R; ++r) {
    const bool live = r < rows;
    const fp4x2* row = live ? w.data + (n0 + r) * bpr : nullptr;
    const ue4m3* srow = live ? w.scales + (n0 + r) * sc : nullptr;
    for (index_t k = kdone; k < kc; k += 2) {
      float v0 = 0.0f, v1 = 0.0f;
      if (live) {
        const float s = srow[(k0 + k) / nvfp4_block].to_float();
        const std::uint32_t b = row[(k0 + k) / 2].bits();
        v0 = nvfp4_decode_scaled(b, s);
        v1 = nvfp4_decode_scaled(b >> 4, s);
      }
      if constexpr (Kind == gemm_kind::bf16_dot) {
        // Exact products, so truncating to the top 16 bits is the bf16 value itself.
        dst[(k / 2) * R + r] = (bit_cast<std::uint32_t>(v0) >> 16) | (bit_cast<std::uint32_t>(v1) & 0xFFFF0000u);
      } else {
        dst[k * R + r] = v0;
        dst[(k + 1) * R + r] = v1;
      }
    }
  }
}

#if SANAWM_SIMD_AVX512
/// 16 bytes of one weight row (32 elements = 2 blocks) → 16 bf16 pair words, scaled by the two block scales in
/// `sc` (lanes 0-7 and 8-15). The code of each nibble indexes a 16-entry bf16 table (vpermw), both nibbles of a
/// byte at once (low nibble → low word, high nibble → high word); the scale multiply is exact in fp32.
SANAWM_FORCEINLINE __m512i nvfp4_decode16_pairs(__m128i bytes, __m512 sc, __m512i lut) noexcept {
  const __m512i v = _mm512_cvtepu8_epi32(bytes);
  const __m512i idx = _mm512_ternarylogic_epi32(v, _mm512_slli_epi32(v, 12), _mm512_set1_epi32(0x000F000F), 0xA8);
  const __m512i w = _mm512_permutexvar_epi16(idx, lut);
  const __m512 lo = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w, 16)), sc);
  const __m512 hi = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)))), sc);
  return _mm512_mask_blend_epi16(0xAAAAAAAAu, _mm512_srli_epi32(_mm512_castps_si512(lo), 16), _mm512_castps_si512(hi));
}

SANAWM_FORCEINLINE __m512i nvfp4_lut() noexcept {
  alignas(64) std::uint16_t t[32];
  for (int i = 0; i < 32; ++i) t[i] = nvfp4_e2m1_bf16[i & 15];
  return _mm512_load_si512(t);
}

/// Scale bytes → fp32 without a table: an E4M3 byte shifted into fp32's exponent/mantissa position is the value
/// times 2^-120 (subnormal scales included, as fp32 subnormals), so one multiply by 2^120 finishes it exactly.
SANAWM_FORCEINLINE __m512 nvfp4_scales16(__m128i bytes) noexcept {
  const __m512i v = _mm512_and_si512(_mm512_cvtepu8_epi32(bytes), _mm512_set1_epi32(0x7F));  // bit 7 is ignored
  return _mm512_mul_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 20)), _mm512_set1_ps(0x1p120f));
}

/// Vector j (0..3) of a prepared 64-byte chunk `x` → 16 lanes of bf16 pairs (k = 8c + 2j, 8c + 2j + 1) of the 16
/// panel rows, unscaled: each 16-bit word shifted by 4j has its code in bits 0..3 (bit 4 belongs to the next code;
/// the 32-entry table repeats the 16 codes, so it does not matter) and vpermw turns it into the bf16 code value.
SANAWM_FORCEINLINE __m512i nvfp4_panel_codes(__m512i x, int j, __m512i lut) noexcept {
  const __m512i idx = j == 0 ? x : _mm512_srli_epi16(x, static_cast<unsigned>(4 * j));
  return _mm512_permutexvar_epi16(idx, lut);
}

/// nvfp4_panel_codes with both halves of each pair multiplied by the lane's block scale `sc` in fp32 (exact: at
/// most 6 significant bits) and put back together as bf16 (the low 16 bits of each product are zero).
SANAWM_FORCEINLINE __m512i nvfp4_panel_decode_scaled(__m512i x, int j, __m512 sc, __m512i lut) noexcept {
  const __m512i w = nvfp4_panel_codes(x, j, lut);
  const __m512 lo = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w, 16)), sc);
  const __m512 hi = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)))), sc);
  return _mm512_or_si512(_mm512_castps_si512(hi), _mm512_srli_epi32(_mm512_castps_si512(lo), 16));
}

/// 8 weight rows × 32 k (16 bytes each) → packed bf16 pair panel rows: decode each row to 16 pair words, then the
/// 8×16 transpose of the packed GEMM (unpack, shuffle, 2-source permutes) and 16 runs of 8 words.
template <int R>
SANAWM_FORCEINLINE void nvfp4_pack_8x32(const fp4x2* const* rows, const ue4m3* const* srows, index_t byte0,
                                        index_t blk0, std::uint32_t* dst, __m512i lut) noexcept {
  __m512 a[8];
  SANAWM_UNROLL for (int r = 0; r < 8; ++r) {
    // Both block scales of the row in one vector (lanes 0-7, 8-15), decoded with the shift trick of
    // nvfp4_scales16: the scalar ue4m3::to_float per row cost more than the whole decode.
    const __m512i sb = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(srows[r][blk0].bits() & 0x7F),
                                               _mm512_set1_epi32(srows[r][blk0 + 1].bits() & 0x7F));
    const __m512 sc = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_slli_epi32(sb, 20)), _mm512_set1_ps(0x1p120f));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + byte0));
    a[r] = _mm512_castsi512_ps(nvfp4_decode16_pairs(b, sc, lut));
  }
  __m512 t[8], u[8];
  SANAWM_UNROLL for (int r = 0; r < 8; r += 2) {
    t[r] = _mm512_unpacklo_ps(a[r], a[r + 1]);
    t[r + 1] = _mm512_unpackhi_ps(a[r], a[r + 1]);
  }
  SANAWM_UNROLL for (int h = 0; h < 8; h += 4) {
    u[h + 0] = _mm512_shuffle_ps(t[h], t[h + 2], 0x44);
    u[h + 1] = _mm512_shuffle_ps(t[h], t[h + 2], 0xEE);
    u[h + 2] = _mm512_shuffle_ps(t[h + 1], t[h + 3], 0x44);
    u[h + 3] = _mm512_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
  }
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  float* d = reinterpret_cast<float*>(dst);
  SANAWM_UNROLL for (int j = 0; j < 4; ++j) {
    const __m512 w01 = _mm512_permutex2var_ps(u[j], lo, u[4 + j]);
    const __m512 w23 = _mm512_permutex2var_ps(u[j], hi, u[4 + j]);
    _mm256_storeu_ps(d + (j)*R, _mm512_castps512_ps256(w01));
    _mm256_storeu_ps(d + (4 + j) * R, _mm512_extractf32x8_ps(w01, 1));
    _mm256_storeu_ps(d + (8 + j) * R, _mm512_castps512_ps256(w23));
    _mm256_storeu_ps(d + (12 + j) * R, _mm512_extractf32x8_ps(w23, 1));
  }
}
#endif

/// Decode-packs weight rows [n0, n0 + rows) × [k0, k0 + kc) into one R-wide panel (see nvfp4_pack_panel_scalar).
template <class Isa, gemm_kind Kind, int R, class P>
void nvfp4_pack_panel(const nvfp4_view& w, index_t n0, index_t rows, index_t k0, index_t kc, P* dst) {
  index_t kdone = 0;
#if SANAWM_SIMD_AVX512
  if constexpr (std::is_same_v<Isa, avx512_isa> && Kind == gemm_kind::bf16_dot && R % 8 == 0) {
    if (rows == R) {
      const __m512i lut = nvfp4_lut();
      const index_t bpr = w.bytes_per_row(), sc = w.scale_cols();
      for (; kdone + 32 <= kc; kdone += 32)
        SANAWM_UNROLL for (int rb = 0; rb < R; rb += 8) {
          const fp4x2* rows_p[8];
          const ue4m3* srows[8];
          for (int r = 0; r < 8; ++r) {
            rows_p[r] = w.data + (n0 + rb + r) * bpr;
            srows[r] = w.scales + (n0 + rb + r) * sc;
          }
          nvfp4_pack_8x32<R>(rows_p, srows, (k0 + kdone) / 2, (k0 + kdone) / nvfp4_block,
                             reinterpret_cast<std::uint32_t*>(dst) + (kdone / 2) * R + rb, lut);
        }
    }
  }
#endif
  if (kdone < kc) nvfp4_pack_panel_scalar<Kind, R>(w, n0, rows, k0, kc, kdone, dst);
}

/// Decodes chunk c of panel q of a prepared weight into wk[kk][i] = code · block scale of row 16q + i at
/// k = 8c + kk (exact fp32, without S_dec): the portable kernels' unit of work.
inline void nvfp4_panel_chunk_f32(const nvfp4_prepared& w, index_t q, index_t c, float (*wk)[nvfp4_panel_width]) noexcept {
  const std::uint8_t* ch = w.chunk(q, c);
  const std::uint8_t* sc = w.block_scales(q, c / 2);
  for (int i = 0; i < static_cast<int>(nvfp4_panel_width); ++i) {
    const float s = ue4m3::from_bits(sc[i]).to_float();
    for (int h = 0; h < 2; ++h) {
      const std::uint32_t word = static_cast<std::uint32_t>(ch[4 * i + 2 * h]) | (static_cast<std::uint32_t>(ch[4 * i + 2 * h + 1]) << 8);
      for (int j = 0; j < 4; ++j) wk[2 * j + h][i] = nvfp4_decode_scaled(word >> (4 * j), s);
    }
  }
}

/// Decode-pack from a prepared weight into the same panel layout as nvfp4_pack_panel (rows n0.., k0.., whole blocks).
/// On AVX512-BF16 each 64-byte chunk decodes straight into the bf16 pair rows of 16 panel rows (no transpose).
template <class Isa, gemm_kind Kind, int R, class P>
void nvfp4_pack_panel(const nvfp4_prepared& w, index_t n0, index_t rows, index_t k0, index_t kc, P* dst) {
#if SANAWM_SIMD_AVX512
  if constexpr (std::is_same_v<Isa, avx512_isa> && Kind == gemm_kind::bf16_dot && R % nvfp4_panel_width == 0) {
    if (n0 % nvfp4_panel_width == 0) {
      const __m512i lut = nvfp4_lut();
      std::uint32_t* d0 = reinterpret_cast<std::uint32_t*>(dst);
      SANAWM_UNROLL for (int sp = 0; sp < R / nvfp4_panel_width; ++sp) {
        const index_t q = n0 / nvfp4_panel_width + sp;
        std::uint32_t* d = d0 + sp * nvfp4_panel_width;
        if (q >= w.panels() || sp * nvfp4_panel_width >= rows) {  // past the weight: zero rows
          for (index_t kp = 0; kp < kc / 2; ++kp) _mm512_storeu_si512(d + kp * R, _mm512_setzero_si512());
          continue;
        }
        for (index_t b = k0 / nvfp4_block; b < (k0 + kc) / nvfp4_block; ++b) {
          const __m512 sc = nvfp4_scales16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.block_scales(q, b))));
          std::uint32_t* db = d + ((b * nvfp4_block - k0) / 2) * R;
          SANAWM_UNROLL for (int c = 0; c < 2; ++c) {
            const __m512i x = _mm512_loadu_si512(w.chunk(q, 2 * b + c));
            SANAWM_UNROLL for (int j = 0; j < 4; ++j)
              _mm512_storeu_si512(db + (4 * c + j) * R, nvfp4_panel_decode_scaled(x, j, sc, lut));
          }
        }
      }
      return;
    }
  }
#endif
  // Portable: chunk by chunk (16 rows × 8 k decoded at once), copied into the rows of the panel it overlaps.
  alignas(64) float wk[8][nvfp4_panel_width];
  for (index_t k = 0; k < kc; k += 8) {
    for (index_t r = 0; r < R;) {
      const index_t n = n0 + r, q = n / nvfp4_panel_width, i0 = n % nvfp4_panel_width;
      const index_t span = std::min<index_t>(nvfp4_panel_width - i0, R - r);
      const bool live = r < rows && q < w.panels();
      if (live) nvfp4_panel_chunk_f32(w, q, (k0 + k) / 8, wk);
      for (index_t t = 0; t < span; ++t) {
        const bool on = live && r + t < rows;
        for (int kk = 0; kk < 8; kk += 2) {
          const float v0 = on ? wk[kk][i0 + t] : 0.0f, v1 = on ? wk[kk + 1][i0 + t] : 0.0f;
          if constexpr (Kind == gemm_kind::bf16_dot) {
            // Exact products, so truncating to the top 16 bits is the bf16 value itself.
            dst[((k + kk) / 2) * R + r + t] = (bit_cast<std::uint32_t>(v0) >> 16) | (bit_cast<std::uint32_t>(v1) & 0xFFFF0000u);
          } else {
            dst[(k + kk) * R + r + t] = v0;
            dst[(k + kk + 1) * R + r + t] = v1;
          }
        }
      }
      r += span;
    }
  }
}

/// Per-thread scratch of the NVFP4 GEMMs (transformed or decoded activations), kept between calls.
inline host_buffer<std::byte>& nvfp4_thread_scratch(int slot) {
  thread_local host_buffer<std::byte> bufs[2];
  return bufs[slot];
}
template <class T>
T* nvfp4_scratch(int slot, index_t count) {
  auto& b = nvfp4_thread_scratch(slot);
  const index_t bytes = count * static_cast<index_t>(sizeof(T));
  if (b.size() < bytes) b = host_buffer<std::byte>(std::max(bytes, b.size() + b.size() / 2));
  return reinterpret_cast<T*>(b.data());
}

/// The packed path: the blocked loop of gemm_run (B block per (jc, K step) shared by all threads, A blocks per
/// thread, MR×NR register micro-kernels, fused tile update) with the B block decode-packed from NVFP4. Decoding
/// once per cache block amortises it over all M rows; the dequantised weight is never materialised beyond one
/// kc × nc block.
template <class Isa, gemm_kind Kind, bool RoundBf16, class TA, class TC, class W>
void nvfp4_gemm_packed(const nvfp4_gemm_args<TA, TC>& p, const TA* A, index_t lda, float alpha, const W& wsrc) {
  using Cfg = gemm_config<Isa, Kind>;
  using V = vec<float, Isa>;
  using P = std::conditional_t<Kind == gemm_kind::bf16_dot, std::uint32_t, float>;
  constexpr int MR = Cfg::mr, NR = Cfg::nv * V::width;
  constexpr bool pairs = Kind == gemm_kind::bf16_dot;
  const index_t M = p.m, N = p.n(), K = alpha == 0.0f ? 0 : p.k();
  thread_pool& pool = global_pool();
  const bool residual_is_c = p.epilogue.residual != nullptr &&
                             static_cast<const void*>(p.epilogue.residual) == static_cast<const void*>(p.c);
  const partial_mode mode = std::is_same_v<TC, float> && !residual_is_c ? partial_mode::in_c : partial_mode::scratch;

  gemm_plan plan = make_gemm_plan<Cfg>(M, N, K, mode == partial_mode::scratch, false, pool.size());
  // K steps cover whole 32-element groups (16 bytes: two blocks), so the vector decoder never splits a byte/block.
  plan.kc = K == 0 ? 0 : round_up(ceil_div(K, plan.k_steps), 32);
  plan.k_steps = K == 0 ? 1 : ceil_div(K, plan.kc);
  plan.nc = round_up(plan.nc, NR);
  const index_t kp_max = pairs ? plan.kc / 2 : plan.kc;
  const index_t nr_panels_max = ceil_div(plan.nc, NR);

  gemm_arena& arena = thread_gemm_arena();
  P* bpack = arena.get<P>(gemm_slot::b_block, std::max<index_t>(1, nr_panels_max * NR * kp_max));
  float* scratch = nullptr;
  if (mode == partial_mode::scratch && plan.k_steps > 1)
    scratch = arena.get<float>(gemm_slot::partial, plan.chunk_rows * plan.nc);

  tile_sink<TC> sink;
  sink.alpha = alpha;
  sink.beta = p.beta;
  sink.c = p.c;
  sink.ldc = p.ldc;
  sink.mode = mode;
  sink.scratch = scratch;
  sink.ld_scratch = plan.nc;
  const auto& e = p.epilogue;
  sink.bias = e.bias;
  sink.act = e.activation;
  sink.gate = e.gate;
  sink.ld_gate = e.ld_gate;
  sink.gate_group_rows = e.gate_group_rows;
  sink.residual = e.residual;
  sink.ld_residual = e.ld_residual;

  for (index_t m0 = 0; m0 < M; m0 += plan.chunk_rows) {
    const index_t mrows = std::min(plan.chunk_rows, M - m0);
    const index_t mr_panels = ceil_div(mrows, MR);
    index_t tiles = std::max(ceil_div(mr_panels, Cfg::mc / MR), std::min<index_t>(plan.parts, mr_panels));
    tiles = std::min(mr_panels, round_up(tiles, plan.parts));
    for (index_t jc = 0; jc < N; jc += plan.nc) {
      const index_t ncols = std::min(plan.nc, N - jc);
      const index_t nr_panels = ceil_div(ncols, NR);
      const index_t groups = tiles >= plan.parts ? 1 : std::min(nr_panels, ceil_div(plan.parts, tiles));
      const index_t items = tiles * groups;
      for (index_t s = 0; s < plan.k_steps; ++s) {
        const index_t k0 = s * plan.kc;
        const index_t kc = std::min(plan.kc, K - k0);
        const index_t kp = pairs ? kc / 2 : kc;
        const k_stage stage = plan.k_steps == 1        ? k_stage::only
                              : s == 0                 ? k_stage::first
                              : s + 1 == plan.k_steps ? k_stage::last
                                                       : k_stage::middle;
        if (kc > 0) {
          auto pack_b = [&](index_t b, index_t e2, int) {
            for (index_t jp = b; jp < e2; ++jp) {
              const index_t c0 = jp * NR;
              nvfp4_pack_panel<Isa, Kind, NR>(wsrc, jc + c0, std::min<index_t>(NR, ncols - c0), k0, kc,
                                              bpack + jp * NR * kp);
            }
          };
          if (plan.parts > 1) parallel_ranges(pool, nr_panels, pack_b);
          else cpu::detail::run_range(pack_b, 0, nr_panels, 0);
        }
        auto compute = [&](index_t b, index_t e2, int) {
          const index_t max_tile_rows = ceil_div(mr_panels, tiles) * MR;
          P* apack = thread_gemm_arena().get<P>(gemm_slot::a_block, std::max<index_t>(1, max_tile_rows * kp_max));
          alignas(64) float tile[MR * NR];
          index_t packed_tile = -1;
          for (index_t it = b; it < e2; ++it) {
            const index_t t = it / groups, g = it % groups;
            const range tp = static_partition(mr_panels, tiles, t);
            const index_t r0 = tp.begin * MR, rows = std::min(tp.end * MR, mrows) - r0;
            if (packed_tile != t && kc > 0) {
              pack_block<Isa, Kind, MR, RoundBf16>(A + (m0 + r0) * lda + k0, lda, rows, kc, apack);
              packed_tile = t;
            }
            const range gp = static_partition(nr_panels, groups, g);
            for (index_t jp = gp.begin; jp < gp.end; ++jp) {
              const index_t c0 = jp * NR, cols = std::min<index_t>(NR, ncols - c0);
              const P* bpanel = bpack + jp * NR * kp;
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

/// Largest M that takes the direct (GEMV-style) kernel: above it the packed path's B block is reused by enough rows
/// to pay for writing and re-reading it (measured, see docs/performance.md "NVFP4").
inline constexpr index_t nvfp4_direct_max_m = 16;

#if SANAWM_SIMD_AVX512 && SANAWM_SIMD_AVX512_BF16
/// Direct kernel for MM ≤ 8 rows of bf16 activations (dense [MM, K] at `a`, row stride lda16, K a multiple of 16)
/// and NB weight columns: the weight bytes are decoded in registers (vpermw table) into bf16 pairs in natural K
/// order and dotted with the activation rows by vdpbf16ps, so the weight is read once as 4.5-bit data and never
/// written back. Block scales (lanes 0-7 hold one block, 8-15 the next): with few rows one FMA per row applies them
/// to the dot (Prescale = false); with more rows they are multiplied into the decoded pairs once (exact, see
/// nvfp4_decode16_pairs) and each row costs one vdpbf16ps. Writes the sums (without S_dec) to out[m·NB + j].
template <int MM, int NB, bool Prescale>
SANAWM_FORCEINLINE void nvfp4_direct_tile(const std::uint16_t* a, index_t lda16, index_t K, const fp4x2* const* wrows,
                                          const ue4m3* const* srows, float* out, __m512i lut) noexcept {
  __m512 acc[MM][NB];
  SANAWM_UNROLL for (int m = 0; m < MM; ++m) SANAWM_UNROLL for (int j = 0; j < NB; ++j) acc[m][j] = _mm512_setzero_ps();
  const index_t nblk = K / nvfp4_block;
  for (index_t b0 = 0; b0 < nblk; b0 += 16) {
    const index_t nb = std::min<index_t>(16, nblk - b0);  // blocks in this group of (up to) 16
    const __mmask16 smask = static_cast<__mmask16>((1u << nb) - 1u);
    __m512 sv[NB];
    SANAWM_UNROLL for (int j = 0; j < NB; ++j) sv[j] = nvfp4_scales16(_mm_maskz_loadu_epi8(smask, srows[j] + b0));
    __m512i sidx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    for (index_t q = 0; q < nb; q += 2) {
      const bool half = q + 1 == nb;  // an odd block count: the last step holds one block (8 bytes)
      const __mmask16 bmask = half ? 0x00FF : 0xFFFF;
      const index_t byte0 = (b0 + q) * 8;
      __m512i w[NB];
      __m512 sc[NB];
      SANAWM_UNROLL for (int j = 0; j < NB; ++j) {
        sc[j] = _mm512_permutexvar_ps(sidx, sv[j]);
        const __m128i bytes = _mm_maskz_loadu_epi8(bmask, wrows[j] + byte0);
        if constexpr (Prescale) {
          w[j] = nvfp4_decode16_pairs(bytes, sc[j], lut);
        } else {
          const __m512i v = _mm512_cvtepu8_epi32(bytes);
          const __m512i idx = _mm512_ternarylogic_epi32(v, _mm512_slli_epi32(v, 12), _mm512_set1_epi32(0x000F000F), 0xA8);
          w[j] = _mm512_permutexvar_epi16(idx, lut);
        }
      }
      SANAWM_UNROLL for (int m = 0; m < MM; ++m) {
        const __m512i av = _mm512_maskz_loadu_epi32(bmask, a + m * lda16 + byte0 * 2);
        SANAWM_UNROLL for (int j = 0; j < NB; ++j) {
          if constexpr (Prescale) {
            acc[m][j] = _mm512_dpbf16_ps(acc[m][j], std::bit_cast<__m512bh>(w[j]), std::bit_cast<__m512bh>(av));
          } else {
            const __m512 d = _mm512_dpbf16_ps(_mm512_setzero_ps(), std::bit_cast<__m512bh>(w[j]), std::bit_cast<__m512bh>(av));
            acc[m][j] = _mm512_fmadd_ps(d, sc[j], acc[m][j]);
          }
        }
      }
      sidx = _mm512_add_epi32(sidx, _mm512_set1_epi32(2));
    }
  }
  SANAWM_UNROLL for (int m = 0; m < MM; ++m) SANAWM_UNROLL for (int j = 0; j < NB; ++j)
    out[m * NB + j] = _mm512_reduce_add_ps(acc[m][j]);
}

/// Columns [n_begin, n_end) for MM rows: NB columns at a time (sharing each activation load), then single columns.
template <int MM>
void nvfp4_direct_rows(const std::uint16_t* a, index_t lda16, index_t K, const nvfp4_view& w, index_t n_begin,
                       index_t n_end, float* sums, index_t ld_sums) {
  constexpr bool pre = MM > 2;
  constexpr int NB = MM <= 4 ? 4 : 2;  // MM·NB accumulators + NB decoded + NB scale vectors within 32 zmm
  const __m512i lut = nvfp4_lut();
  const index_t bpr = w.bytes_per_row(), sc = w.scale_cols();
  index_t n = n_begin;
  for (; n + NB <= n_end; n += NB) {
    const fp4x2* wr[NB];
    const ue4m3* sr[NB];
    for (int j = 0; j < NB; ++j) {
      wr[j] = w.data + (n + j) * bpr;
      sr[j] = w.scales + (n + j) * sc;
    }
    float out[MM * NB];
    nvfp4_direct_tile<MM, NB, pre>(a, lda16, K, wr, sr, out, lut);
    for (int m = 0; m < MM; ++m)
      for (int j = 0; j < NB; ++j) sums[m * ld_sums + n + j] = out[m * NB + j];
  }
  for (; n < n_end; ++n) {
    const fp4x2* wr[1] = {w.data + n * bpr};
    const ue4m3* sr[1] = {w.scales + n * sc};
    float out[MM];
    nvfp4_direct_tile<MM, 1, pre>(a, lda16, K, wr, sr, out, lut);
    for (int m = 0; m < MM; ++m) sums[m * ld_sums + n] = out[m];
  }
}

/// Small-M W4A16: activations rounded to bf16 once ([M, K], L2-resident), columns split over the pool, rows in
/// groups of up to 8 (each group decodes the weight again: cheaper than spilling more accumulators).
template <class TA, class TC>
void nvfp4_gemm_direct(const nvfp4_gemm_args<TA, TC>& p, const TA* A, index_t lda, float alpha) {
  const index_t M = p.m, N = p.n(), K = p.k();
  std::uint16_t* a16 = nvfp4_scratch<std::uint16_t>(0, std::max<index_t>(1, M * K));
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) {
      if constexpr (std::is_same_v<TA, float>) a16[i * K + k] = float_to_bf16_bits(A[i * lda + k]);
      else a16[i * K + k] = A[i * lda + k].bits();
    }
  float* sums = nvfp4_scratch<float>(1, std::max<index_t>(1, M * N));
  auto run = [&](index_t b, index_t e, int) {
    for (index_t r0 = 0; r0 < M; r0 += 8) {
      const index_t rows = std::min<index_t>(8, M - r0);
      dispatch_int<1, 2, 3, 4, 5, 6, 7, 8>(rows, "nvfp4_gemm_w4a16", "row group", [&](auto MM) {
        nvfp4_direct_rows<MM()>(a16 + r0 * K, K, K, p.b, b, e, sums + r0 * N, N);
      });
    }
  };
  if (static_cast<double>(N) * static_cast<double>(K) < 65536.0) detail::run_range(run, 0, N, 0);  // = the parts' code
  else parallel_ranges(N, run, 16);
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      float t = alpha * sums[i * N + j];
      if (p.beta != 0.0f) t += p.beta * static_cast<float>(p.c[i * p.ldc + j]);
      t = gemm_epilogue_value(p.epilogue, 0, i, j, t);
      p.c[i * p.ldc + j] = gemm_store_cast<TC>(t);
    }
}
#endif

// ---- the panel micro-kernel (prepared weights, small M) ----------------------------------------------------------

/// Largest M for which nvfp4_cpu_path::automatic runs a prepared weight through the panel micro-kernel; from
/// M ≈ 32 on the packed path (one decode per cache block, 8×48 register tiles) is as fast or faster (measured,
/// docs/performance.md "Small M: the prepared weight").
inline constexpr index_t nvfp4_panel_max_m = 16;
/// Rows of A per group of the AVX-512 panel kernel: larger M runs in groups of this many rows, each group over the
/// same few panels while they are in L2 (measured on Zen 4, one thread, 16 rows: two groups of 8 with per-block
/// accumulators 200 GFLOP/s; one 16-row tile with the scales multiplied into the decoded weights 188 GFLOP/s).
inline constexpr int nvfp4_panel_rows = 8;
/// Panels of 16 columns per register tile for MR rows: MR·NP accumulators + as many per-block sums + NP decoded
/// vectors and scales within the 32 zmm registers (measured: MR 7-8 → 1, 5-6 → 2, 3-4 → 3, 1 → 6; MR = 2 takes 3
/// so that NP divides the 6-panel unit — 4 and 5 measured the same).
constexpr int nvfp4_panel_np(int mr) noexcept { return mr > 6 ? 1 : mr > 4 ? 2 : mr > 1 ? 3 : 6; }
/// Panels per unit of work of the pool (every nvfp4_panel_np divides it); all row groups walk these panels before
/// the next ones, so the second group reads them from L2 (6 · 16 · K/2 bytes: 107 KiB at K = 2240).
inline constexpr index_t nvfp4_panel_unit = 6;

/// Runs body(u) for every u in [0, units): on the calling thread when `serial`, otherwise on the pool with the
/// units handed out one at a time from a shared counter, so a thread that the OS preempts does not hold the others
/// up (every unit writes its own outputs and computes them the same way on any thread: the result does not depend
/// on the thread count or on which thread ran which unit).
template <class F>
void nvfp4_for_units(index_t units, bool serial, F&& body) {
  // Units always run through one out-of-line function (detail::run_range), serial or pooled: the same machine
  // code, so results do not depend on the thread count (see run_range).
  auto each = [&](index_t b, index_t e, int) {
    for (index_t u = b; u < e; ++u) body(u);
  };
  if (serial) {
    detail::run_range(each, 0, units, 0);
    return;
  }
  thread_pool& pool = global_pool();
  std::atomic<index_t> next{0};
  parallel_ranges(pool, std::min<index_t>(pool.size(), units), [&](index_t, index_t, int p) {
    for (index_t u = next.fetch_add(1, std::memory_order_relaxed); u < units;
         u = next.fetch_add(1, std::memory_order_relaxed))
      detail::run_range(each, u, u + 1, p);
  });
}

/// Bf16 pairs of rows [0, rows) of A ([rows, K], leading dimension lda) interleaved for broadcasting:
/// ap[kp·MR + m] = bf16(a[m][2kp]) | bf16(a[m][2kp + 1]) << 16, rows past `rows` zero.
template <class TA>
void nvfp4_pack_a_pairs(const TA* A, index_t lda, index_t rows, int mr, index_t K, std::uint32_t* ap) {
  for (index_t kp = 0; kp < K / 2; ++kp)
    for (int m = 0; m < mr; ++m) {
      std::uint32_t v = 0;
      if (m < rows) {
        const TA* a = A + m * lda + 2 * kp;
        if constexpr (std::is_same_v<TA, float>)
          v = float_to_bf16_bits(a[0]) | (static_cast<std::uint32_t>(float_to_bf16_bits(a[1])) << 16);
        else
          v = a[0].bits() | (static_cast<std::uint32_t>(a[1].bits()) << 16);
      }
      ap[kp * mr + m] = v;
    }
}

/// Finishes one panel tile: out[m·16 + i] holds the sum for row r0 + m, column n0 + i (without S_dec); applies
/// alpha (with S_dec), beta and the epilogue to the columns below N.
template <class TA, class TC>
SANAWM_FORCEINLINE void nvfp4_panel_store(const nvfp4_gemm_args<TA, TC>& p, float alpha, index_t r0, int rows,
                                          index_t n0, const float* out) {
  const int cols = static_cast<int>(std::min<index_t>(nvfp4_panel_width, p.n() - n0));
  const auto& e = p.epilogue;
  if (p.beta == 0.0f && e.bias == nullptr && e.activation == gemm_activation::none && e.gate == nullptr &&
      e.residual == nullptr) {  // plain product: a loop the compiler vectorises
    for (int m = 0; m < rows; ++m) {
      TC* c = p.c + (r0 + m) * p.ldc + n0;
      for (int i = 0; i < cols; ++i) c[i] = gemm_store_cast<TC>(alpha * out[m * nvfp4_panel_width + i]);
    }
    return;
  }
  for (int m = 0; m < rows; ++m) {
    TC* c = p.c + (r0 + m) * p.ldc + n0;
    for (int i = 0; i < cols; ++i) {
      float t = alpha * out[m * nvfp4_panel_width + i];
      if (p.beta != 0.0f) t += p.beta * static_cast<float>(c[i]);
      c[i] = gemm_store_cast<TC>(gemm_epilogue_value(p.epilogue, 0, r0 + m, n0 + i, t));
    }
  }
}

#if SANAWM_SIMD_AVX512 && SANAWM_SIMD_AVX512_BF16
/// MR rows × NP panels (16 columns each) over the whole K (nblk blocks): per 64-byte chunk of each panel, four
/// decoded vectors of 16 columns × 2 k (a shift and a vpermw each), each reused by the MR rows (one vdpbf16ps per
/// row against a broadcast bf16 pair of A). Each block is summed unscaled and folded into the accumulators by one
/// FMA with the 16 block scales, so the weight is read once as 4.5-bit data per row group and decoding costs
/// ~1.75 instructions per 32 weights, shared by MR rows. `ap` is [K/2][MR] (nvfp4_pack_a_pairs). Writes
/// out[(m·NP + q)·16 + i] (without S_dec).
template <int MR, int NP>
SANAWM_FORCEINLINE void nvfp4_panel_tile(const std::uint32_t* ap, const nvfp4_prepared& w, index_t nblk, index_t q0,
                                         float* out, __m512i lut) noexcept {
  const std::uint8_t* ch[NP];
  const std::uint8_t* sp[NP];
  SANAWM_UNROLL for (int q = 0; q < NP; ++q) {
    ch[q] = w.chunk(q0 + q, 0);
    sp[q] = w.block_scales(q0 + q, 0);
  }
  __m512 acc[MR][NP];
  SANAWM_UNROLL for (int m = 0; m < MR; ++m) SANAWM_UNROLL for (int q = 0; q < NP; ++q) acc[m][q] = _mm512_setzero_ps();
  for (index_t b = 0; b < nblk; ++b) {
    __m512 blk[MR][NP];
    SANAWM_UNROLL for (int m = 0; m < MR; ++m) SANAWM_UNROLL for (int q = 0; q < NP; ++q) blk[m][q] = _mm512_setzero_ps();
    SANAWM_UNROLL for (int c = 0; c < 2; ++c) {
      __m512i x[NP];
      SANAWM_UNROLL for (int q = 0; q < NP; ++q) x[q] = _mm512_loadu_si512(ch[q] + (2 * b + c) * 64);
      SANAWM_UNROLL for (int j = 0; j < 4; ++j) {
        __m512i wv[NP];
        SANAWM_UNROLL for (int q = 0; q < NP; ++q) wv[q] = nvfp4_panel_codes(x[q], j, lut);
        const std::uint32_t* a = ap + ((2 * b + c) * 4 + j) * MR;
        SANAWM_UNROLL for (int m = 0; m < MR; ++m) {
          const __m512bh av = std::bit_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[m])));
          SANAWM_UNROLL for (int q = 0; q < NP; ++q)
            blk[m][q] = _mm512_dpbf16_ps(blk[m][q], std::bit_cast<__m512bh>(wv[q]), av);
        }
      }
    }
    SANAWM_UNROLL for (int q = 0; q < NP; ++q) {
      const __m512 sc =
          nvfp4_scales16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sp[q] + b * nvfp4_panel_width)));
      SANAWM_UNROLL for (int m = 0; m < MR; ++m) acc[m][q] = _mm512_fmadd_ps(blk[m][q], sc, acc[m][q]);
    }
  }
  SANAWM_UNROLL for (int m = 0; m < MR; ++m) SANAWM_UNROLL for (int q = 0; q < NP; ++q)
    _mm512_storeu_ps(out + (m * NP + q) * nvfp4_panel_width, acc[m][q]);
}

/// Panels [q_begin, q_end) for the MR rows starting at r0 (A pairs in `ap`): NP panels per tile, then single ones.
template <int MR, class TA, class TC>
void nvfp4_panel_rows_bf16(const nvfp4_gemm_args<TA, TC>& p, const nvfp4_prepared& w, const std::uint32_t* ap,
                           index_t nblk, float alpha, index_t r0, index_t q_begin, index_t q_end) {
  constexpr int NP = nvfp4_panel_np(MR);
  const __m512i lut = nvfp4_lut();
  alignas(64) float out[MR * NP * nvfp4_panel_width];
  alignas(64) float one[MR * nvfp4_panel_width];
  index_t q = q_begin;
  for (; q + NP <= q_end; q += NP) {
    nvfp4_panel_tile<MR, NP>(ap, w, nblk, q, out, lut);
    for (int t = 0; t < NP; ++t) {
      for (int m = 0; m < MR; ++m)
        std::memcpy(one + m * nvfp4_panel_width, out + (m * NP + t) * nvfp4_panel_width, sizeof(float) * nvfp4_panel_width);
      nvfp4_panel_store(p, alpha, r0, MR, (q + t) * nvfp4_panel_width, one);
    }
  }
  for (; q < q_end; ++q) {
    nvfp4_panel_tile<MR, 1>(ap, w, nblk, q, one, lut);
    nvfp4_panel_store(p, alpha, r0, MR, q * nvfp4_panel_width, one);
  }
}

/// The panel kernel with vdpbf16ps: A rounded to bf16 and interleaved once per call (groups of 8 rows), units of
/// nvfp4_panel_unit panels handed out to the pool (nvfp4_for_units), every row group run over a unit before the
/// next one. Each output element is computed by one thread in a fixed order, so the result does not depend on the
/// thread count.
template <class TA, class TC>
void nvfp4_gemm_panel_bf16(const nvfp4_gemm_args<TA, TC>& p, const nvfp4_prepared& w, const TA* A, index_t lda,
                           float alpha) {
  const index_t M = p.m, K = alpha == 0.0f ? 0 : w.cols;
  const index_t groups = ceil_div(M, nvfp4_panel_rows);
  const index_t group_words = std::max<index_t>(1, (K / 2) * nvfp4_panel_rows);
  std::uint32_t* ap = nvfp4_scratch<std::uint32_t>(0, groups * group_words);
  for (index_t g = 0; g < groups; ++g) {
    const index_t r0 = g * nvfp4_panel_rows;
    const int rows = static_cast<int>(std::min<index_t>(nvfp4_panel_rows, M - r0));
    nvfp4_pack_a_pairs(A + r0 * lda, lda, rows, rows, K, ap + g * group_words);
  }
  const index_t panels = w.panels();
  const bool serial = static_cast<double>(M) * static_cast<double>(w.rows) * static_cast<double>(K) <
                      static_cast<double>(gemm_serial_macs);
  nvfp4_for_units(ceil_div(panels, nvfp4_panel_unit), serial, [&](index_t u) {
    const index_t q0 = u * nvfp4_panel_unit, q1 = std::min(q0 + nvfp4_panel_unit, panels);
    for (index_t g = 0; g < groups; ++g) {
      const index_t r0 = g * nvfp4_panel_rows;
      const int rows = static_cast<int>(std::min<index_t>(nvfp4_panel_rows, M - r0));
      static_assert(nvfp4_panel_rows == 8, "sanawm: the row-group menu below lists 1..nvfp4_panel_rows");
      dispatch_int<1, 2, 3, 4, 5, 6, 7, 8>(rows, "nvfp4_gemm_w4a16", "row group", [&](auto MR) {
        nvfp4_panel_rows_bf16<MR()>(p, w, ap + g * group_words, K / nvfp4_block, alpha, r0, q0, q1);
      });
    }
  });
}
#endif

/// Portable panel kernel (any ISA, and fp32 compute): per 64-byte chunk, the 16 columns × 8 k are decoded to fp32
/// once (code · scale, exact) and multiplied into up to 16 rows (`a16`: A, bf16-rounded under bf16 compute, dense
/// [rows, K]) by vec<float, Isa> FMAs in k order.
template <class Isa, class TA, class TC>
void nvfp4_panel_portable(const nvfp4_gemm_args<TA, TC>& p, const nvfp4_prepared& w, const float* a, index_t K,
                          float alpha, index_t r0, int rows, index_t q) {
  using V = vec<float, Isa>;
  constexpr int NV = static_cast<int>(nvfp4_panel_width) / V::width;
  static_assert(NV * V::width == nvfp4_panel_width, "sanawm: the panel width must be a multiple of the vector width");
  alignas(64) float out[16 * nvfp4_panel_width] = {};
  alignas(64) float wk[8][nvfp4_panel_width];
  for (index_t c = 0; c < K / 8; ++c) {
    nvfp4_panel_chunk_f32(w, q, c, wk);
    V wv[8][NV];
    SANAWM_UNROLL for (int kk = 0; kk < 8; ++kk) SANAWM_UNROLL for (int v = 0; v < NV; ++v) wv[kk][v] = V::load(wk[kk] + v * V::width);
    for (int m = 0; m < rows; ++m) {
      const float* am = a + m * K + 8 * c;
      V acc[NV];
      SANAWM_UNROLL for (int v = 0; v < NV; ++v) acc[v] = V::load(out + m * nvfp4_panel_width + v * V::width);
      SANAWM_UNROLL for (int kk = 0; kk < 8; ++kk) {
        const V av = V::broadcast(am[kk]);
        SANAWM_UNROLL for (int v = 0; v < NV; ++v) acc[v] = fma(av, wv[kk][v], acc[v]);
      }
      SANAWM_UNROLL for (int v = 0; v < NV; ++v) acc[v].store(out + m * nvfp4_panel_width + v * V::width);
    }
  }
  nvfp4_panel_store(p, alpha, r0, rows, q * nvfp4_panel_width, out);
}

template <class Isa, bool RoundBf16, class TA, class TC>
void nvfp4_gemm_panel_portable(const nvfp4_gemm_args<TA, TC>& p, const nvfp4_prepared& w, const TA* A, index_t lda,
                               float alpha) {
  const index_t M = p.m, K = alpha == 0.0f ? 0 : w.cols;
  float* a = nvfp4_scratch<float>(0, std::max<index_t>(1, M * K));
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) {
      float v = sanawm::detail::nvfp4_load(A[i * lda + k]);
      if constexpr (RoundBf16) v = bf16_bits_to_float(float_to_bf16_bits(v));
      a[i * K + k] = v;
    }
  const bool serial = static_cast<double>(M) * static_cast<double>(w.rows) * static_cast<double>(K) <
                      static_cast<double>(gemm_serial_macs);
  nvfp4_for_units(w.panels(), serial, [&](index_t q) {
    for (index_t r0 = 0; r0 < M; r0 += 16)
      nvfp4_panel_portable<Isa>(p, w, a + r0 * K, K, alpha, r0, static_cast<int>(std::min<index_t>(16, M - r0)), q);
  });
}

/// Dispatch of one W4A16 product on a prepared weight (A already in the weight's RHT space). `p.b` carries the
/// shape only (see nvfp4_prepared_shape): every kernel reads the weight from `w`.
template <class Isa, class TA, class TC>
void nvfp4_w4a16_prepared_dispatch(const nvfp4_gemm_args<TA, TC>& p, const nvfp4_prepared& w, const TA* A,
                                   index_t lda, float alpha, gemm_compute c, nvfp4_cpu_path path) {
  if (p.m == 0 || p.n() == 0) return;
  const bool panel = path == nvfp4_cpu_path::panel || path == nvfp4_cpu_path::direct ||
                     (path == nvfp4_cpu_path::automatic && p.m <= nvfp4_panel_max_m);
  if (panel) {
#if SANAWM_SIMD_AVX512 && SANAWM_SIMD_AVX512_BF16
    if constexpr (std::is_same_v<Isa, avx512_isa>) {
      if (c == gemm_compute::bf16) {
        nvfp4_gemm_panel_bf16(p, w, A, lda, alpha);
        return;
      }
    }
#endif
    if (c == gemm_compute::bf16) nvfp4_gemm_panel_portable<Isa, true>(p, w, A, lda, alpha);
    else nvfp4_gemm_panel_portable<Isa, false>(p, w, A, lda, alpha);
    return;
  }
  if (c == gemm_compute::fp32) nvfp4_gemm_packed<Isa, gemm_kind::f32, false>(p, A, lda, alpha, w);
  else if constexpr (Isa::native_bf16_dot) nvfp4_gemm_packed<Isa, gemm_kind::bf16_dot, false>(p, A, lda, alpha, w);
  else nvfp4_gemm_packed<Isa, gemm_kind::f32, true>(p, A, lda, alpha, w);
}

/// Dispatch of one W4A16 product with activations A (already in the weight's RHT space when it has one).
template <class Isa, class TA, class TC>
void nvfp4_w4a16_dispatch(const nvfp4_gemm_args<TA, TC>& p, const TA* A, index_t lda, float alpha, gemm_compute c,
                          nvfp4_cpu_path path) {
  if (p.m == 0 || p.n() == 0) return;
  if (c == gemm_compute::fp32) {
    nvfp4_gemm_packed<Isa, gemm_kind::f32, false>(p, A, lda, alpha, p.b);
    return;
  }
  if constexpr (Isa::native_bf16_dot) {
#if SANAWM_SIMD_AVX512 && SANAWM_SIMD_AVX512_BF16
    const bool direct = path == nvfp4_cpu_path::direct || path == nvfp4_cpu_path::panel ||
                        (path == nvfp4_cpu_path::automatic && p.m <= nvfp4_direct_max_m);
    if (direct && p.k() > 0 && alpha != 0.0f && std::is_same_v<Isa, avx512_isa>) {
      nvfp4_gemm_direct(p, A, lda, alpha);
      return;
    }
#endif
    nvfp4_gemm_packed<Isa, gemm_kind::bf16_dot, false>(p, A, lda, alpha, p.b);
  } else {
    nvfp4_gemm_packed<Isa, gemm_kind::f32, true>(p, A, lda, alpha, p.b);
  }
}

/// A [M, K] with the weight's RHT applied per block, as fp32 (scratch slot 0 must not be in use by the caller).
template <class TA>
const float* nvfp4_rht_activations(const TA* A, index_t lda, index_t M, index_t K, std::uint64_t seed, float* dst) {
  const std::uint32_t signs = nvfp4_rht_signs(seed);
  parallel_for(cpu_t{}, M * (K / nvfp4_block), [=](index_t i) {
    const index_t r = i / (K / nvfp4_block), b = i % (K / nvfp4_block);
    float v[16];
    for (int j = 0; j < 16; ++j) v[j] = sanawm::detail::nvfp4_load(A[r * lda + b * 16 + j]);
    nvfp4_rht_forward(v, signs);
    for (int j = 0; j < 16; ++j) dst[r * K + b * 16 + j] = v[j];
  });
  return dst;
}

}  // namespace cpu::detail

namespace cpu {

/// nvfp4_gemm_w4a16 on an explicit SIMD variant (for tests and benchmarks); see sanawm::nvfp4_gemm_w4a16.
template <class Isa, class TA, class TC>
void nvfp4_gemm_w4a16_with(const nvfp4_gemm_args<TA, TC>& p, nvfp4_cpu_path path = nvfp4_cpu_path::automatic) {
  check_nvfp4_gemm_args(p, "nvfp4_gemm_w4a16");
  SANAWM_EXPECT(p.b.layout == nvfp4_scale_layout::linear || p.m == 0 || p.n() == 0, "nvfp4_gemm_w4a16",
                "the CPU kernels read linear (row-major) block scales; convert swizzled scales with nvfp4_with_layout");
  const gemm_compute c = resolve_gemm_compute<TA, bf16>(p.compute);
  const float alpha = p.alpha * p.b.global_scale;
  if (p.b.rht && p.m > 0 && p.n() > 0 && p.k() > 0) {
    host_buffer<float> t(p.m * p.k());
    detail::nvfp4_rht_activations(p.a, p.lda, p.m, p.k(), p.b.rht_seed, t.data());
    nvfp4_gemm_args<float, TC> q;
    q.m = p.m; q.a = t.data(); q.lda = p.k(); q.b = p.b; q.c = p.c; q.ldc = p.ldc;
    q.alpha = p.alpha; q.beta = p.beta; q.epilogue = p.epilogue; q.compute = c;
    detail::nvfp4_w4a16_dispatch<Isa>(q, t.data(), p.k(), alpha, c, path);
    return;
  }
  detail::nvfp4_w4a16_dispatch<Isa>(p, p.a, p.lda, alpha, c, path);
}

/// nvfp4_gemm_w4a16 with a prepared weight on an explicit SIMD variant; see sanawm::nvfp4_gemm_w4a16(cpu_t, p, w).
template <class Isa, class TA, class TC>
void nvfp4_gemm_w4a16_with(const nvfp4_gemm_args<TA, TC>& p, const nvfp4_prepared& w,
                           nvfp4_cpu_path path = nvfp4_cpu_path::automatic) {
  const bool b_set = p.b.data != nullptr || p.b.rows != 0 || p.b.cols != 0;
  SANAWM_EXPECT(!b_set || (p.b.rows == w.rows && p.b.cols == w.cols), "nvfp4_gemm_w4a16",
                "args.b is [", p.b.rows, ", ", p.b.cols, "] but the prepared weight is [", w.rows, ", ", w.cols,
                "]; leave args.b empty or set it to the view the weight was prepared from");
  SANAWM_EXPECT(w.rows == 0 || w.cols == 0 || (w.codes.size() >= w.panels() * w.chunks() * 64 &&
                                              w.scales.size() >= w.panels() * w.blocks() * nvfp4_panel_width),
                "nvfp4_gemm_w4a16", "the prepared weight [", w.rows, ", ", w.cols,
                "] has no (or too little) data: build it with nvfp4_prepare");
  nvfp4_gemm_args<TA, TC> s = p;
  // The shape, global scale and RHT of `w`; the pointers only satisfy the argument checks (never dereferenced as a
  // row-major weight: every kernel below reads `w`).
  s.b = nvfp4_view{reinterpret_cast<const fp4x2*>(w.codes.data()), reinterpret_cast<const ue4m3*>(w.scales.data()),
                   w.global_scale, w.rows, w.cols, nvfp4_scale_layout::linear, w.rht, w.rht_seed};
  check_nvfp4_gemm_args(s, "nvfp4_gemm_w4a16");
  const gemm_compute c = resolve_gemm_compute<TA, bf16>(s.compute);
  const float alpha = s.alpha * w.global_scale;
  if (w.rht && s.m > 0 && s.n() > 0 && s.k() > 0) {
    host_buffer<float> t(s.m * s.k());
    detail::nvfp4_rht_activations(s.a, s.lda, s.m, s.k(), w.rht_seed, t.data());
    nvfp4_gemm_args<float, TC> q;
    q.m = s.m; q.a = t.data(); q.lda = s.k(); q.b = s.b; q.c = s.c; q.ldc = s.ldc;
    q.alpha = s.alpha; q.beta = s.beta; q.epilogue = s.epilogue; q.compute = c;
    detail::nvfp4_w4a16_prepared_dispatch<Isa>(q, w, t.data(), s.k(), alpha, c, path);
    return;
  }
  detail::nvfp4_w4a16_prepared_dispatch<Isa>(s, w, s.a, s.lda, alpha, c, path);
}

/// nvfp4_gemm_w4a4 on an explicit SIMD variant; see sanawm::nvfp4_gemm_w4a4. `a_amax` ≥ 0 is a calibrated
/// (static) activation amax; negative computes it from A per call.
template <class Isa, class TA, class TC>
void nvfp4_gemm_w4a4_with(const nvfp4_gemm_args<TA, TC>& p, float a_amax = -1.0f,
                          nvfp4_cpu_path path = nvfp4_cpu_path::automatic) {
  check_nvfp4_gemm_args(p, "nvfp4_gemm_w4a4");
  SANAWM_EXPECT(p.b.layout == nvfp4_scale_layout::linear || p.m == 0 || p.n() == 0, "nvfp4_gemm_w4a4",
                "the CPU kernels read linear (row-major) block scales; convert swizzled scales with nvfp4_with_layout");
  if (p.m == 0 || p.n() == 0) return;
  const index_t M = p.m, K = p.k();
  // Quantise A with the weight's RHT, then decode it without its global scale: code · block scale is exact in
  // bf16, so the bf16 W4A16 kernel multiplies exactly the NVFP4 operands and S_dec^A joins alpha.
  nvfp4_options opt;
  opt.rht = p.b.rht;
  opt.rht_seed = p.b.rht_seed;
  nvfp4_tensor aq(M, K);
  const float s_dec_a = nvfp4_quantize(cpu_t{}, p.a, M, K, p.lda, aq.out(), opt, a_amax);
  aq.global_scale = 1.0f;
  aq.rht = false;  // stay in the transformed space: the weight is stored there too
  host_buffer<bf16> ad(std::max<index_t>(1, M * K));
  nvfp4_dequantize(cpu_t{}, aq.view(), ad.data(), K);
  nvfp4_gemm_args<bf16, TC> q;
  q.m = M; q.a = ad.data(); q.lda = K; q.b = p.b; q.c = p.c; q.ldc = p.ldc;
  q.alpha = p.alpha; q.beta = p.beta; q.epilogue = p.epilogue; q.compute = gemm_compute::bf16;
  detail::nvfp4_w4a16_dispatch<Isa>(q, ad.data(), K, p.alpha * s_dec_a * p.b.global_scale, gemm_compute::bf16, path);
}

}  // namespace cpu

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// W4A16 on the host: C = epilogue(alpha · A · Ŵᵀ + beta · C) with Ŵ the decoded NVFP4 weight (linear scales).
/// gemm_compute::fp32 multiplies A unrounded (fp32 FMA); bf16/automatic rounds A to bf16 (vdpbf16ps where the CPU
/// has it). Weights with RHT transform A's blocks first. Results do not depend on the thread count.
template <class TA, class TC>
void nvfp4_gemm_w4a16(cpu_t, const nvfp4_gemm_args<TA, TC>& p) {
  cpu::nvfp4_gemm_w4a16_with<cpu::native_isa>(p);
}

/// W4A16 on the host with a weight prepared by nvfp4_prepare (same numbers as the view overload, within fp32
/// summation order). M ≤ nvfp4_panel_max_m (16) runs the panel micro-kernel — on AVX512-BF16 with bf16 compute each
/// 64-byte line of 4-bit codes decodes into 4 × 16 columns of bf16 pairs reused by all M rows; other ISAs and fp32
/// compute decode to fp32 per chunk — larger M the packed path. `p.b` is not read: leave it empty or set it to the
/// view `w` was prepared from (its shape is then checked). Results do not depend on the thread count.
template <class TA, class TC>
void nvfp4_gemm_w4a16(cpu_t, const nvfp4_gemm_args<TA, TC>& p, const nvfp4_prepared& w) {
  cpu::nvfp4_gemm_w4a16_with<cpu::native_isa>(p, w);
}

/// W4A4 on the host (emulation): A is quantised to NVFP4 per call (RNE, amax over A, the weight's RHT), then the
/// exact products of the two NVFP4 operands are accumulated in fp32 and scaled by alpha · S_dec^A · S_dec^W —
/// the numbers of "quantise A, dequantise both, GEMM" up to fp32 summation order.
template <class TA, class TC>
void nvfp4_gemm_w4a4(cpu_t, const nvfp4_gemm_args<TA, TC>& p) {
  cpu::nvfp4_gemm_w4a4_with<cpu::native_isa>(p);
}

}  // namespace sanawm

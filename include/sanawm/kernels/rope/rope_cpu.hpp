// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/rope/rope_cpu.hpp — the CPU fast path of the 3-D RoPE: per token the angles are gathered
// once from the factorised tables into duplicated cos / sign-folded sin rows, then every head rotates with
// SIMD as y = x ⊙ cos + swap_pairs(x) ⊙ sin, threaded over tokens.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/rope/rope_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <vector>  // std::vector (per-part angle rows)

#include "sanawm/backend/cpu/simd.hpp"               // vec, native_isa, ISA macros
#include "sanawm/backend/tags.hpp"                   // cpu_t
#include "sanawm/config.hpp"                         // SANAWM_FORCEINLINE
#include "sanawm/core/int.hpp"                       // index_t
#include "sanawm/kernels/elementwise/dense_cpu.hpp"  // dense::load/store, parallel_items
#include "sanawm/kernels/rope/rope.hpp"              // rope_spec, rope_table_view, checks

namespace sanawm {

namespace cpu::dense {

/// (v0, v1, v2, v3, …) → (v1, v0, v3, v2, …): the partner of every lane in its complex pair. Not in the SIMD
/// layer (only RoPE needs it), so defined here per variant.
SANAWM_FORCEINLINE vec<float, scalar_isa> swap_pairs(vec<float, scalar_isa> a) noexcept {
  vec<float, scalar_isa> r;
  for (int i = 0; i < scalar_isa::lanes; i += 2) r.v[i] = a.v[i + 1], r.v[i + 1] = a.v[i];
  return r;
}
#if SANAWM_SIMD_AVX2
SANAWM_FORCEINLINE vec<float, avx2_isa> swap_pairs(vec<float, avx2_isa> a) noexcept {
  return {_mm256_permute_ps(a.v, 0xB1)};
}
#endif
#if SANAWM_SIMD_AVX512
SANAWM_FORCEINLINE vec<float, avx512_isa> swap_pairs(vec<float, avx512_isa> a) noexcept {
  // The masked form with a defined pass-through operand: GCC 12's unmasked intrinsic passes an undefined
  // register and then warns (-Wmaybe-uninitialized) about its own header.
  return {_mm512_mask_permute_ps(a.v, static_cast<__mmask16>(0xFFFF), a.v, 0xB1)};
}
#endif

/// Rotates n = 2·pairs channels: y = x ⊙ cc + swap_pairs(x) ⊙ ss, where cc = (c0, c0, c1, c1, …) and
/// ss = (−s0, s0, −s1, s1, …). Pairs never straddle a vector (even widths, even offsets), so a zero-filled
/// tail is harmless.
template <class Isa, class TIn, class TOut>
void rotate_head(const TIn* x, TOut* y, const float* cc, const float* ss, index_t n) noexcept {
  using V = vec<float, Isa>;
  index_t i = 0;
  for (; i + V::width <= n; i += V::width) {
    const V v = load<Isa>(x + i);
    store<Isa>(fma(v, V::load(cc + i), swap_pairs(v) * V::load(ss + i)), y + i);
  }
  if (i < n) {
    const V v = load_partial<Isa>(x + i, n - i);
    store_partial<Isa>(fma(v, V::load_partial(cc + i, n - i), swap_pairs(v) * V::load_partial(ss + i, n - i)),
                       y + i, n - i);
  }
}

}  // namespace cpu::dense

namespace cpu {

/// rope(cpu_t, …) for one SIMD variant (the public entry uses native_isa; tests run every variant).
template <class Isa, dense_view<4> X, dense_out_view<4> Y>
void rope_isa(const X& x_in, const rope_table_view& tab, const rope_spec& spec, const Y& y_out,
              bool inverse) {
  sanawm::detail::check_rope_args("rope", x_in, tab, spec, y_out);
  const auto x = as_input(x_in);
  const auto y = as_output(y_out);
  const index_t tokens = x.extent(1), heads = x.extent(2), np = spec.pairs(), n = 2 * np;
  const index_t hh = tab.height(), ww = tab.width();
  const float sign = inverse ? -1.0f : 1.0f;
  dense::parallel_items(x.extent(0) * tokens, heads * n * 2, [&](index_t begin, index_t end) {
    std::vector<float> cc(static_cast<std::size_t>(n)), ss(static_cast<std::size_t>(n));
    for (index_t bt = begin; bt < end; ++bt) {
      const index_t b = bt / tokens, tok = bt % tokens;
      const index_t f = tok / (hh * ww), r = (tok / ww) % hh, c = tok % ww;
      index_t p = 0;
      auto put = [&](float cs, float sn) {
        cc[2 * p] = cs, cc[2 * p + 1] = cs;
        ss[2 * p] = -sign * sn, ss[2 * p + 1] = sign * sn;
        ++p;
      };
      for (index_t j = 0; j < spec.pairs_t; ++j) put(tab.t(f, j, 0), tab.t(f, j, 1));
      for (index_t j = 0; j < spec.pairs_h; ++j) put(tab.h(r, j, 0), tab.h(r, j, 1));
      for (index_t j = 0; j < spec.pairs_w; ++j) put(tab.w(c, j, 0), tab.w(c, j, 1));
      for (index_t h = 0; h < heads; ++h)
        dense::rotate_head<Isa>(&x(b, tok, h, spec.channel_offset), &y(b, tok, h, spec.channel_offset),
                                cc.data(), ss.data(), n);
    }
  });
}

}  // namespace cpu

/// The 3-D RoPE on the CPU (SIMD, threaded over tokens). x, y [B, N, heads, D] (float or bf16 each, fp32
/// math; y may be x; token, head and channel strides free except contiguous channels), N = T·H·W of the
/// tables' grid. Writes only the spec's rotated channels of y. `inverse` rotates by −θ. Throws sanawm::error
/// on mismatches.
template <dense_view<4> X, dense_out_view<4> Y>
void rope(cpu_t, const X& x, const rope_table_view& tab, const rope_spec& spec, const Y& y,
          bool inverse = false) {
  cpu::rope_isa<cpu::native_isa>(x, tab, spec, y, inverse);
}

}  // namespace sanawm

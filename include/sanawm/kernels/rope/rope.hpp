// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/rope/rope.hpp — SANA-WM's 3-D rotary position embedding (Wan-style, interleaved pairs): the
// per-head split into frame/row/column frequencies, the camera branch's sliced variant, float64-computed fp32
// tables factorised per axis, the portable body and the portable entry point.
#pragma once

#include <cmath>        // std::pow, std::cos, std::sin
#include <string_view>  // std::string_view

#include "sanawm/backend/tags.hpp"               // backend
#include "sanawm/config.hpp"                     // SANAWM_HD
#include "sanawm/core/error.hpp"                 // make_error
#include "sanawm/core/int.hpp"                   // index_t, dyn
#include "sanawm/core/shape.hpp"                 // extents
#include "sanawm/core/tensor.hpp"                // tensor, tensor_view
#include "sanawm/kernels/elementwise/dense.hpp"  // strided_view, dense_view, dense_load/store

namespace sanawm {

/// Real dimensions of a head given to the frame, row and column axes: h = w = 2·⌊D/6⌋, t = D − 2h
/// (D = 112 → 40/36/36, i.e. 20/18/18 complex pairs; D = 56 → 20/18/18 real, 10/9/9 pairs).
struct rope_axes {
  index_t t, h, w;
};
SANAWM_HD constexpr rope_axes rope_split(index_t dim) noexcept {
  const index_t hw = 2 * (dim / 6);
  return {dim - 2 * hw, hw, hw};
}

/// Which channels of a head rotate and with which frequencies. Pair j of axis a (dims 2j, 2j+1 of that axis'
/// block) rotates by position_a · θ^(−2j/freq_a); the blocks follow each other t, h, w from `channel_offset`.
struct rope_spec {
  index_t head_dim = 112;                            ///< channels per head
  rope_axes freq{40, 36, 36};                        ///< real dims whose split defines each axis' frequencies
  index_t pairs_t = 20, pairs_h = 18, pairs_w = 18;  ///< pairs rotated per axis (the first ones of each axis)
  index_t channel_offset = 0;                        ///< first rotated channel inside a head
  double theta = 10000.0;

  SANAWM_HD constexpr index_t pairs() const noexcept { return pairs_t + pairs_h + pairs_w; }

  /// The main branch (GDN numerator q/k, softmax q/k): every channel of the head rotates, split(D).
  static constexpr rope_spec main_branch(index_t head_dim = 112, double theta = 10000.0) noexcept {
    const rope_axes f = rope_split(head_dim);
    return {head_dim, f, f.t / 2, f.h / 2, f.w / 2, 0, theta};
  }
  /// The camera branch: the second half of each head rotates, with split(D/2) pairs per axis taken from the
  /// front of the main table (D = 112: channels [56, 112), the first 10 t-, 9 h- and 9 w-frequencies).
  static constexpr rope_spec camera_branch(index_t head_dim = 112, double theta = 10000.0) noexcept {
    const rope_axes f = rope_split(head_dim);
    const rope_axes c = rope_split(head_dim / 2);
    return {head_dim, f, c.t / 2, c.h / 2, c.w / 2, head_dim - head_dim / 2, theta};
  }
};

/// Read-only cos/sin tables factorised per axis, each [positions, pairs, 2] with (cos, sin) innermost:
/// t [T, freq.t/2, 2] for frames frame_offset … frame_offset+T−1, h [H, freq.h/2, 2], w [W, freq.w/2, 2].
/// A token (f, r, c) rotates with t[f], h[r], w[c]. Trivially copyable (passed to kernels by value); the
/// views must live where the backend runs.
struct rope_table_view {
  tensor_view<const float, extents<dyn, dyn, 2>> t, h, w;
  index_t frame_offset = 0;

  SANAWM_HD constexpr index_t frames() const noexcept { return t.extent(0); }
  SANAWM_HD constexpr index_t height() const noexcept { return h.extent(0); }
  SANAWM_HD constexpr index_t width() const noexcept { return w.extent(0); }
  SANAWM_HD constexpr index_t tokens() const noexcept { return frames() * height() * width(); }
};

/// Owning host tables (see rope_table_view). Built by make_rope_tables; copy to the device for CUDA
/// (rope_cuda.cuh: to_device).
struct rope_tables {
  tensor<float, extents<dyn, dyn, 2>> t, h, w;
  index_t frame_offset = 0;
  rope_table_view view() const noexcept { return {t.view(), h.view(), w.view(), frame_offset}; }
};

namespace detail {
// cos/sin of pos·θ^(−2j/dim) for pos in [first, first + n), j in [0, dim/2), in float64, stored fp32.
inline tensor<float, extents<dyn, dyn, 2>> rope_axis_table(index_t first, index_t n, index_t dim,
                                                           double theta) {
  tensor<float, extents<dyn, dyn, 2>> out(n, dim / 2);
  for (index_t j = 0; j < dim / 2; ++j) {
    // The frequency exactly as upstream forms it: 1 / θ^(2j/dim), float64 throughout.
    const double freq = 1.0 / std::pow(theta, static_cast<double>(2 * j) / static_cast<double>(dim));
    for (index_t p = 0; p < n; ++p) {
      const double angle = static_cast<double>(first + p) * freq;
      out(p, j, 0) = static_cast<float>(std::cos(angle));
      out(p, j, 1) = static_cast<float>(std::sin(angle));
    }
  }
  return out;
}

inline void check_rope_spec(std::string_view op, const rope_spec& s) {
  if (s.head_dim <= 0 || s.head_dim % 2 != 0)
    throw make_error(op, "head dim ", s.head_dim, " must be even and > 0");
  if (s.freq.t < 0 || s.freq.h < 0 || s.freq.w < 0 || s.freq.t % 2 || s.freq.h % 2 || s.freq.w % 2)
    throw make_error(op, "axis dims ", s.freq.t, "/", s.freq.h, "/", s.freq.w, " must be even and >= 0");
  if (s.pairs_t < 0 || s.pairs_h < 0 || s.pairs_w < 0 || 2 * s.pairs_t > s.freq.t ||
      2 * s.pairs_h > s.freq.h || 2 * s.pairs_w > s.freq.w)
    throw make_error(op, "pairs ", s.pairs_t, "/", s.pairs_h, "/", s.pairs_w, " exceed the axis frequencies ",
                     s.freq.t / 2, "/", s.freq.h / 2, "/", s.freq.w / 2);
  if (s.channel_offset < 0 || s.channel_offset % 2 != 0 || s.channel_offset + 2 * s.pairs() > s.head_dim)
    throw make_error(op, "rotated channels [", s.channel_offset, ", ", s.channel_offset + 2 * s.pairs(),
                     ") do not fit an even offset inside a head of ", s.head_dim);
  if (!(s.theta > 0.0)) throw make_error(op, "theta must be > 0, got ", s.theta);
}
}  // namespace detail

/// Builds the fp32 tables (computed in float64) for a [frames, height, width] latent grid whose first frame
/// is absolute frame `frame_offset` (streaming: the chunk's start frame; tables for a slice of the frames
/// equal the matching rows of the full tables). The axis frequencies come from spec.freq and spec.theta; both
/// rope_spec::main_branch and rope_spec::camera_branch of one head dim share the same tables.
inline rope_tables make_rope_tables(const rope_spec& spec, index_t frames, index_t height, index_t width,
                                    index_t frame_offset = 0) {
  detail::check_rope_spec("make_rope_tables", spec);
  if (frames < 0 || height < 0 || width < 0 || frame_offset < 0)
    throw make_error("make_rope_tables", "grid [", frames, ", ", height, ", ", width, "] with frame offset ",
                     frame_offset, " must be non-negative");
  rope_tables out;
  out.t = detail::rope_axis_table(frame_offset, frames, spec.freq.t, spec.theta);
  out.h = detail::rope_axis_table(0, height, spec.freq.h, spec.theta);
  out.w = detail::rope_axis_table(0, width, spec.freq.w, spec.theta);
  out.frame_offset = frame_offset;
  return out;
}

/// The per-token table [N, pairs, 2] of `spec` (what upstream stores as one complex row per token: pairs t,
/// then h, then w), N = T·H·W with token n = (f·H + r)·W + c. For checks against reference data; kernels use
/// the factorised tables.
inline tensor<float, extents<dyn, dyn, 2>> rope_token_table(const rope_table_view& tab,
                                                            const rope_spec& spec) {
  detail::check_rope_spec("rope_token_table", spec);
  tensor<float, extents<dyn, dyn, 2>> out(tab.tokens(), spec.pairs());
  const index_t hh = tab.height(), ww = tab.width();
  for (index_t n = 0; n < tab.tokens(); ++n) {
    const index_t f = n / (hh * ww), r = (n / ww) % hh, c = n % ww;
    index_t p = 0;
    for (index_t j = 0; j < spec.pairs_t; ++j, ++p)
      out(n, p, 0) = tab.t(f, j, 0), out(n, p, 1) = tab.t(f, j, 1);
    for (index_t j = 0; j < spec.pairs_h; ++j, ++p)
      out(n, p, 0) = tab.h(r, j, 0), out(n, p, 1) = tab.h(r, j, 1);
    for (index_t j = 0; j < spec.pairs_w; ++j, ++p)
      out(n, p, 0) = tab.w(c, j, 0), out(n, p, 1) = tab.w(c, j, 1);
  }
  return out;
}

/// One work item = one rotated pair of one head of one token:
///   (y[2j], y[2j+1]) = (x[2j]·cos − x[2j+1]·sin, x[2j]·sin + x[2j+1]·cos)   (inverse: sin → −sin)
/// for channels 2j, 2j+1 counted from spec.channel_offset. x, y [B, N, heads, D]; item i enumerates
/// (b, n, head, pair), pair fastest (adjacent threads touch adjacent channels).
template <class TIn, class TOut>
struct rope_body {
  strided_view<const TIn, 4> x;
  strided_view<TOut, 4> y;
  rope_table_view tab;
  index_t pairs_t, pairs_h, pairs_w, channel_offset;
  float sin_sign;  ///< +1 forward, −1 inverse

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t np = pairs_t + pairs_h + pairs_w, heads = x.extent(2), tokens = x.extent(1);
    const index_t j = i % np, hd = (i / np) % heads, n = (i / (np * heads)) % tokens,
                  b = i / (np * heads * tokens);
    const index_t hh = tab.height(), ww = tab.width();
    float c, s;
    if (j < pairs_t) {
      const index_t f = n / (hh * ww);
      c = tab.t(f, j, 0), s = tab.t(f, j, 1);
    } else if (j < pairs_t + pairs_h) {
      const index_t r = (n / ww) % hh;
      c = tab.h(r, j - pairs_t, 0), s = tab.h(r, j - pairs_t, 1);
    } else {
      const index_t col = n % ww;
      c = tab.w(col, j - pairs_t - pairs_h, 0), s = tab.w(col, j - pairs_t - pairs_h, 1);
    }
    s *= sin_sign;
    const index_t ch = channel_offset + 2 * j;
    const float a = detail::dense_load(x(b, n, hd, ch)), bb = detail::dense_load(x(b, n, hd, ch + 1));
    y(b, n, hd, ch) = detail::dense_store<TOut>(a * c - bb * s);
    y(b, n, hd, ch + 1) = detail::dense_store<TOut>(a * s + bb * c);
  }
};

namespace detail {
template <class X, class Y>
void check_rope_args(std::string_view op, const X& x, const rope_table_view& tab, const rope_spec& spec,
                     const Y& y) {
  check_rope_spec(op, spec);
  expect_same_shape(op, "x", x, "y", y);
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  expect_extent(op, "x", x, 3, spec.head_dim, "head dim");
  if (x.extent(1) != tab.tokens())
    throw make_error(op, "x has ", x.extent(1), " tokens but the tables describe a [", tab.frames(), ", ",
                     tab.height(), ", ", tab.width(), "] grid of ", tab.tokens());
  if (tab.t.extent(1) < spec.pairs_t || tab.h.extent(1) < spec.pairs_h || tab.w.extent(1) < spec.pairs_w)
    throw make_error(op, "tables hold ", tab.t.extent(1), "/", tab.h.extent(1), "/", tab.w.extent(1),
                     " frequencies per axis, the spec rotates ", spec.pairs_t, "/", spec.pairs_h, "/",
                     spec.pairs_w);
}
}  // namespace detail

/// Applies the 3-D RoPE with the portable body on backend `tag`: x, y [B, N, heads, D] (float or bf16 each; y
/// may be x, or a separate buffer: GDN keeps the unrotated q/k for its denominator), N = T·H·W tokens in
/// frame-major order. Only the spec's rotated channels of y are written (camera: [D/2, D)); the others are
/// left as they are. `inverse` rotates by −θ (the camera branch's output transform). Fast paths: rope(cpu_t,
/// …) in rope_cpu.hpp, rope(cuda_t, …) in rope_cuda.cuh.
template <backend Tag, dense_view<4> X, dense_out_view<4> Y>
void rope_portable(Tag tag, const X& x, const rope_table_view& tab, const rope_spec& spec, const Y& y,
                   bool inverse = false) {
  detail::check_rope_args("rope", x, tab, spec, y);
  const index_t n = x.extent(0) * x.extent(1) * x.extent(2) * spec.pairs();
  parallel_for(tag, n,
               rope_body<typename X::value_type, typename Y::value_type>{
                   as_input(x), as_output(y), tab, spec.pairs_t, spec.pairs_h, spec.pairs_w,
                   spec.channel_offset, inverse ? -1.0f : 1.0f});
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/rope/rope_ref.hpp — float64 reference twin of the 3-D RoPE: angles computed directly from
// the definition for every token (no tables), complex multiplication written out.
#pragma once

#include <cmath>  // std::pow, std::cos, std::sin
#include <span>   // std::span

#include "sanawm/core/error.hpp"         // make_error
#include "sanawm/core/int.hpp"           // index_t
#include "sanawm/kernels/rope/rope.hpp"  // rope_spec

namespace sanawm {

/// The latent grid a RoPE call covers: frames × height × width tokens, the first frame being absolute frame
/// `frame_offset`.
struct rope_grid {
  index_t frames, height, width, frame_offset = 0;
  constexpr index_t tokens() const noexcept { return frames * height * width; }
};

/// The angle of pair j (0 ≤ j < dim/2) of an axis with `dim` real dims at position `pos`, in float64.
inline double rope_angle_ref(double pos, index_t j, index_t dim, double theta) {
  return pos / std::pow(theta, static_cast<double>(2 * j) / static_cast<double>(dim));
}

/// y = RoPE(x) for row-major x, y [batch, N, heads, D], N = grid.tokens(). Writes only the spec's rotated
/// channels of y (like the fast paths); `inverse` rotates by the negative angle.
inline void rope_ref(std::span<const double> x, index_t batch, index_t heads, const rope_spec& spec,
                     rope_grid grid, bool inverse, std::span<double> y) {
  const index_t d = spec.head_dim, n_tok = grid.tokens();
  if (static_cast<index_t>(x.size()) != batch * n_tok * heads * d || y.size() != x.size())
    throw make_error("rope_ref", "sizes ", x.size(), " / ", y.size(), " do not match [", batch, ", ", n_tok,
                     ", ", heads, ", ", d, "]");
  for (index_t b = 0; b < batch; ++b)
    for (index_t n = 0; n < n_tok; ++n) {
      const index_t f = n / (grid.height * grid.width), r = (n / grid.width) % grid.height,
                    c = n % grid.width;
      for (index_t h = 0; h < heads; ++h) {
        const index_t base = ((b * n_tok + n) * heads + h) * d + spec.channel_offset;
        index_t p = 0;
        auto rotate = [&](double angle) {
          const double cs = std::cos(angle), sn = inverse ? -std::sin(angle) : std::sin(angle);
          const double re = x[base + 2 * p], im = x[base + 2 * p + 1];
          // (re + i·im) · (cos + i·sin)
          y[base + 2 * p] = re * cs - im * sn;
          y[base + 2 * p + 1] = re * sn + im * cs;
          ++p;
        };
        for (index_t j = 0; j < spec.pairs_t; ++j)
          rotate(rope_angle_ref(static_cast<double>(grid.frame_offset + f), j, spec.freq.t, spec.theta));
        for (index_t j = 0; j < spec.pairs_h; ++j)
          rotate(rope_angle_ref(static_cast<double>(r), j, spec.freq.h, spec.theta));
        for (index_t j = 0; j < spec.pairs_w; ++j)
          rotate(rope_angle_ref(static_cast<double>(c), j, spec.freq.w, spec.theta));
      }
    }
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/norms/norms_ref.hpp — float64 reference twins of the norms and the adaLN modulation, written
// straight from the definitions over row-major spans (the tests' ground truth for every fast path).
#pragma once

#include <cmath>  // std::sqrt
#include <span>   // std::span

#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/core/int.hpp"    // index_t

namespace sanawm {

/// The shape [B, T, S, C] of a token tensor (frames × tokens per frame × channels).
struct btsc_shape {
  index_t b, t, s, c;
  constexpr index_t rows() const noexcept { return b * t * s; }
  constexpr index_t size() const noexcept { return b * t * s * c; }
};

namespace detail {
inline void expect_ref_size(const char* op, const char* name, std::size_t got, index_t want) {
  if (static_cast<index_t>(got) != want)
    throw make_error(op, name, " has ", got, " elements, expected ", want);
}
}  // namespace detail

/// RMSNorm: y[r, :] = x[r, :] / sqrt(mean_c x[r, c]² + eps) · w (w empty: no weight). x, y [rows, cols].
inline void rms_norm_ref(std::span<const double> x, index_t rows, index_t cols, std::span<const double> w,
                         double eps, std::span<double> y) {
  detail::expect_ref_size("rms_norm_ref", "x", x.size(), rows * cols);
  detail::expect_ref_size("rms_norm_ref", "y", y.size(), rows * cols);
  if (!w.empty()) detail::expect_ref_size("rms_norm_ref", "w", w.size(), cols);
  for (index_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (index_t c = 0; c < cols; ++c) ss += x[r * cols + c] * x[r * cols + c];
    const double denom = std::sqrt(ss / static_cast<double>(cols) + eps);
    for (index_t c = 0; c < cols; ++c) y[r * cols + c] = x[r * cols + c] / denom * (w.empty() ? 1.0 : w[c]);
  }
}

/// LayerNorm without affine: y = (x − mean) / sqrt(var + eps), biased variance. x, y [rows, cols].
inline void layer_norm_ref(std::span<const double> x, index_t rows, index_t cols, double eps,
                           std::span<double> y) {
  detail::expect_ref_size("layer_norm_ref", "x", x.size(), rows * cols);
  detail::expect_ref_size("layer_norm_ref", "y", y.size(), rows * cols);
  for (index_t r = 0; r < rows; ++r) {
    double mean = 0;
    for (index_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= static_cast<double>(cols);
    double var = 0;
    for (index_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    var /= static_cast<double>(cols);
    const double denom = std::sqrt(var + eps);
    for (index_t c = 0; c < cols; ++c) y[r * cols + c] = (x[r * cols + c] - mean) / denom;
  }
}

/// adaLN modulation: y[b,t,s,c] = x[b,t,s,c]·(1 + scale[b,t,c]) + shift[b,t,c]. x, y [B,T,S,C]; shift, scale
/// [B,T,C].
inline void modulate_ref(std::span<const double> x, btsc_shape sh, std::span<const double> shift,
                         std::span<const double> scale, std::span<double> y) {
  detail::expect_ref_size("modulate_ref", "x", x.size(), sh.size());
  detail::expect_ref_size("modulate_ref", "y", y.size(), sh.size());
  detail::expect_ref_size("modulate_ref", "shift", shift.size(), sh.b * sh.t * sh.c);
  detail::expect_ref_size("modulate_ref", "scale", scale.size(), sh.b * sh.t * sh.c);
  for (index_t r = 0; r < sh.rows(); ++r) {
    const index_t frame = r / sh.s;  // b·T + t
    for (index_t c = 0; c < sh.c; ++c)
      y[r * sh.c + c] = x[r * sh.c + c] * (1.0 + scale[frame * sh.c + c]) + shift[frame * sh.c + c];
  }
}

/// Gated residual: x[b,t,s,c] += gate[b,t,c] · y[b,t,s,c]. x (in/out), y [B,T,S,C]; gate [B,T,C].
inline void gated_residual_ref(std::span<double> x, btsc_shape sh, std::span<const double> gate,
                               std::span<const double> y) {
  detail::expect_ref_size("gated_residual_ref", "x", x.size(), sh.size());
  detail::expect_ref_size("gated_residual_ref", "y", y.size(), sh.size());
  detail::expect_ref_size("gated_residual_ref", "gate", gate.size(), sh.b * sh.t * sh.c);
  for (index_t r = 0; r < sh.rows(); ++r) {
    const index_t frame = r / sh.s;
    for (index_t c = 0; c < sh.c; ++c) x[r * sh.c + c] += gate[frame * sh.c + c] * y[r * sh.c + c];
  }
}

/// LayerNorm followed by modulation, composed from the two references above.
inline void layer_norm_modulate_ref(std::span<const double> x, btsc_shape sh, std::span<const double> shift,
                                    std::span<const double> scale, double eps, std::span<double> y) {
  layer_norm_ref(x, sh.rows(), sh.c, eps, y);
  modulate_ref(std::span<const double>(y.data(), y.size()), sh, shift, scale, y);
}

}  // namespace sanawm

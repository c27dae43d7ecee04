// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/elementwise/elementwise_ref.hpp — float64 reference twins of the activations and the GLU
// split, written from the definitions (no shared code with the fast paths beyond the scalar formulas'
// meaning).
#pragma once

#include <cmath>    // std::exp, std::log1p, std::sqrt
#include <numbers>  // std::numbers::pi
#include <span>     // std::span

#include "sanawm/core/error.hpp"                       // make_error
#include "sanawm/core/int.hpp"                         // index_t
#include "sanawm/kernels/elementwise/elementwise.hpp"  // activation

namespace sanawm {

/// act(x) in float64, from the textbook definitions.
inline double activation_ref(activation a, double x) {
  switch (a) {
    case activation::identity:
      return x;
    case activation::relu:
      return x < 0.0 ? 0.0 : x;
    case activation::silu:
      return x / (1.0 + std::exp(-x));
    case activation::gelu_tanh: {
      // 0.5·x·(1 + tanh z) = x·σ(2z): the same function without the cancellation of 1 + tanh z for z ≪ 0.
      const double z = std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x);
      return x / (1.0 + std::exp(-2.0 * z));
    }
    case activation::sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case activation::softplus:
      return x > 20.0 ? x : std::log1p(std::exp(x));
  }
  throw make_error("activation_ref", "unknown activation ", static_cast<int>(a));
}

/// y[i] = act(x[i]) for every element (same sizes; y may be x).
inline void activation_ref(activation a, std::span<const double> x, std::span<double> y) {
  if (x.size() != y.size()) throw make_error("activation_ref", "x has ", x.size(), " elements, y ", y.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = activation_ref(a, x[i]);
}

/// The GLU split on row-major x [rows, 2·hidden] → y [rows, hidden]: y[r, c] = x[r, c] · act(x[r, hidden +
/// c]).
inline void glu_ref(activation gate_act, std::span<const double> x, index_t rows, index_t hidden,
                    std::span<double> y) {
  if (static_cast<index_t>(x.size()) != rows * 2 * hidden || static_cast<index_t>(y.size()) != rows * hidden)
    throw make_error("glu_ref", "sizes ", x.size(), " / ", y.size(), " do not match rows ", rows, " hidden ",
                     hidden);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < hidden; ++c)
      y[r * hidden + c] = x[r * 2 * hidden + c] * activation_ref(gate_act, x[r * 2 * hidden + hidden + c]);
}

}  // namespace sanawm

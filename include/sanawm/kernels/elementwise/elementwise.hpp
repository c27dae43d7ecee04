// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/elementwise/elementwise.hpp — activations (SiLU, GELU-tanh, ReLU, sigmoid, softplus) and the
// GLU split a ⊙ act(g): scalar math for host and device, portable bodies and the portable entry points.
#pragma once

#include <cmath>        // std::exp, std::log1p
#include <concepts>     // std::floating_point
#include <cstdint>      // std::uint8_t
#include <string_view>  // std::string_view
#include <type_traits>  // std::integral_constant

#include "sanawm/backend/tags.hpp"               // backend
#include "sanawm/config.hpp"                     // SANAWM_HD
#include "sanawm/core/error.hpp"                 // make_error
#include "sanawm/core/int.hpp"                   // index_t
#include "sanawm/kernels/elementwise/dense.hpp"  // strided_view, dense_view, dense_load/store

namespace sanawm {

/// The activations of SANA-WM and its VAE. Values are stable (they may be stored in configs).
enum class activation : std::uint8_t {
  identity = 0,
  relu = 1,       ///< max(x, 0): GDN q/k feature map
  silu = 2,       ///< x·σ(x): FFN inverted conv, GLU gate, GDN output gate, VAE
  gelu_tanh = 3,  ///< 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): caption projection MLP
  sigmoid = 4,    ///< 1/(1 + e^−x): GDN β gate
  softplus = 5,   ///< log(1 + e^x), x above 20 passed through (PyTorch's threshold): GDN decay
};

/// "identity", "relu", "silu", "gelu_tanh", "sigmoid", "softplus"; "unknown" otherwise.
SANAWM_HD constexpr const char* activation_name(activation a) noexcept {
  switch (a) {
    case activation::identity:
      return "identity";
    case activation::relu:
      return "relu";
    case activation::silu:
      return "silu";
    case activation::gelu_tanh:
      return "gelu_tanh";
    case activation::sigmoid:
      return "sigmoid";
    case activation::softplus:
      return "softplus";
  }
  return "unknown";
}

// ---- scalar math (float on the fast paths, double in the reference) ---------------------------------------
// Kept in detail with act_ names: gemm.hpp has non-template relu/silu/gelu_tanh(float) in namespace sanawm,
// and overloads of the same name would make these bodies call different functions depending on the includes.

namespace detail {
// max(x, 0); NaN propagates (PyTorch's relu keeps NaN).
template <std::floating_point T>
SANAWM_HD SANAWM_FORCEINLINE T act_relu(T x) noexcept {
  return x < T(0) ? T(0) : x;
}
// 1/(1 + e^−x). Saturates cleanly: e^−x = inf gives 0, e^−x = 0 gives 1.
template <std::floating_point T>
SANAWM_HD SANAWM_FORCEINLINE T act_sigmoid(T x) noexcept {
  return T(1) / (T(1) + std::exp(-x));
}
// x·σ(x) = x/(1 + e^−x) (one division, no x·0 at the tails: silu(−100) is −0, not NaN).
template <std::floating_point T>
SANAWM_HD SANAWM_FORCEINLINE T act_silu(T x) noexcept {
  return x / (T(1) + std::exp(-x));
}
// PyTorch's GELU(approximate="tanh"), 0.5·x·(1 + tanh z) with z = √(2/π)(x + 0.044715x³), evaluated as the
// equal x / (1 + e^−2z): 1 + tanh z cancels catastrophically for x below about −5 (in float and in double
// alike).
template <std::floating_point T>
SANAWM_HD SANAWM_FORCEINLINE T act_gelu_tanh(T x) noexcept {
  const T k0 = T(0.7978845608028654);  // √(2/π)
  const T k1 = T(0.044715);
  return x / (T(1) + std::exp(T(-2) * k0 * (x + k1 * x * x * x)));
}
// PyTorch's softplus(beta=1, threshold=20): x above 20 is returned as is (log1p(e^x) == x there in float).
template <std::floating_point T>
SANAWM_HD SANAWM_FORCEINLINE T act_softplus(T x) noexcept {
  return x > T(20) ? x : std::log1p(std::exp(x));
}
}  // namespace detail

/// The activation A applied to one value, float or double (compile-time choice: bodies are specialised per
/// activation). SiLU/sigmoid/GELU-tanh/softplus use std::exp and std::log1p.
template <activation A, std::floating_point T>
SANAWM_HD SANAWM_FORCEINLINE T apply_activation(T x) noexcept {
  if constexpr (A == activation::relu)
    return detail::act_relu(x);
  else if constexpr (A == activation::silu)
    return detail::act_silu(x);
  else if constexpr (A == activation::gelu_tanh)
    return detail::act_gelu_tanh(x);
  else if constexpr (A == activation::sigmoid)
    return detail::act_sigmoid(x);
  else if constexpr (A == activation::softplus)
    return detail::act_softplus(x);
  else
    return x;
}

/// Calls f(std::integral_constant<activation, A>{}) for the runtime value `a`; an unknown value throws
/// "[op] unknown activation <n>".
template <class F>
decltype(auto) dispatch_activation(activation a, std::string_view op, F&& f) {
  switch (a) {
    case activation::identity:
      return f(std::integral_constant<activation, activation::identity>{});
    case activation::relu:
      return f(std::integral_constant<activation, activation::relu>{});
    case activation::silu:
      return f(std::integral_constant<activation, activation::silu>{});
    case activation::gelu_tanh:
      return f(std::integral_constant<activation, activation::gelu_tanh>{});
    case activation::sigmoid:
      return f(std::integral_constant<activation, activation::sigmoid>{});
    case activation::softplus:
      return f(std::integral_constant<activation, activation::softplus>{});
  }
  throw make_error(op, "unknown activation ", static_cast<int>(a));
}

// ---- portable bodies --------------------------------------------------------------------------------------

/// y(r, c) = act(x(r, c)) for one element. x, y [N, C]; y may be x (in place).
template <activation A, class TIn, class TOut>
struct activation_body {
  strided_view<const TIn, 2> x;
  strided_view<TOut, 2> y;
  SANAWM_HD void operator()(index_t r, index_t c) const noexcept {
    y(r, c) = detail::dense_store<TOut>(apply_activation<A>(detail::dense_load(x(r, c))));
  }
};

/// The GLU split: y(r, c) = x(r, c) · act(x(r, H + c)) for c < H. x [N, 2H] (value half first, gate half
/// second, as torch.chunk(2) splits GLUMBConv's channels), y [N, H]; y must not overlap x.
template <activation A, class TIn, class TOut>
struct glu_body {
  strided_view<const TIn, 2> x;
  strided_view<TOut, 2> y;
  SANAWM_HD void operator()(index_t r, index_t c) const noexcept {
    const index_t h = y.extent(1);
    const float a = detail::dense_load(x(r, c));
    const float g = detail::dense_load(x(r, h + c));
    y(r, c) = detail::dense_store<TOut>(a * apply_activation<A>(g));
  }
};

/// dst[i] += src[i] (fp32): the residual adds of the model engines.
struct add_inplace_body {
  float* dst;
  const float* src;
  SANAWM_HD void operator()(index_t i) const noexcept { dst[i] += src[i]; }
};

namespace detail {
template <class X, class Y>
void check_activation_args(std::string_view op, const X& x, const Y& y) {
  expect_same_shape(op, "x", x, "y", y);
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
}
template <class X, class Y>
void check_glu_args(std::string_view op, const X& x, const Y& y) {
  if (x.extent(1) % 2 != 0)
    throw make_error(op, "x has ", x.extent(1), " channels; the GLU split needs an even count");
  if (x.extent(0) != y.extent(0) || y.extent(1) * 2 != x.extent(1))
    throw make_error(op, "x ", shape_text(x), " splits into [N, ", x.extent(1) / 2, "] halves but y is ",
                     shape_text(y));
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
}
}  // namespace detail

// ---- portable entry points (any backend: include its parallel_for header) ---------------------------------

/// y = act(x) elementwise on backend `tag`, with the portable body. x, y [N, C] (float or bf16 each; y may be
/// x). The fast paths are activate(cpu_t, …) in elementwise_cpu.hpp and activate(cuda_t, …) in
/// elementwise_cuda.cuh. Throws sanawm::error on shape mismatches or a non-contiguous innermost axis.
template <backend Tag, dense_view<2> X, dense_out_view<2> Y>
void activate_portable(Tag tag, activation a, const X& x, const Y& y) {
  detail::check_activation_args("activate", x, y);
  dispatch_activation(a, "activate", [&](auto act) {
    using TIn = typename X::value_type;
    using TOut = typename Y::value_type;
    parallel_for_2d(tag, x.extent(0), x.extent(1),
                    activation_body<decltype(act)::value, TIn, TOut>{as_input(x), as_output(y)});
  });
}

/// dst[0, n) += src[0, n) on backend `tag` (fp32, contiguous; src may equal dst, must not otherwise overlap it).
template <backend Tag>
void add_inplace_portable(Tag tag, float* dst, const float* src, index_t n) {
  parallel_for(tag, n, add_inplace_body{dst, src});
}

/// y = x[:, :H] ⊙ act(x[:, H:]) on backend `tag`, with the portable body. x [N, 2H], y [N, H].
template <backend Tag, dense_view<2> X, dense_out_view<2> Y>
void glu_portable(Tag tag, activation gate_act, const X& x, const Y& y) {
  detail::check_glu_args("glu", x, y);
  dispatch_activation(gate_act, "glu", [&](auto act) {
    using TIn = typename X::value_type;
    using TOut = typename Y::value_type;
    parallel_for_2d(tag, y.extent(0), y.extent(1),
                    glu_body<decltype(act)::value, TIn, TOut>{as_input(x), as_output(y)});
  });
}

}  // namespace sanawm

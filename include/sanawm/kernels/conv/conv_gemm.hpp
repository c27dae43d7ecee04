// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/conv/conv_gemm.hpp — the GEMM-shaped convolutions (1x1x1, the FFN temporal conv, the general 3-D
// conv) as gathers + gemm(Tag, …) on any backend: a portable im2col body writes a bounded chunk of rows of the
// implicit-GEMM operand into backend scratch, a second body lays the weight out as the GEMM's [Cout, K] operand, and
// the backend's GEMM does the math (cuBLASLt on tensor cores for CUDA). conv_cuda.cuh routes conv1x1 /
// temporal_conv3 / conv3d(cuda_t, …) here; the CPU has its own packed implicit GEMM (conv_cpu.hpp) and runs these
// entries in the tests, so the gathers are checked on any machine. Each *_via_gemm returns false, doing nothing, when
// the views are off its menu (non-contiguous channel rows, a residual whose type differs from y's); the caller then
// runs the portable body. Include after the backend's gemm and backend_memory headers (as conv_cuda.cuh does).
#pragma once

#include <algorithm>    // std::min, std::max
#include <type_traits>  // std::is_same_v

#include "sanawm/backend/memory.hpp"          // backend_memory
#include "sanawm/backend/tags.hpp"            // backend
#include "sanawm/core/bf16.hpp"                // bf16
#include "sanawm/kernels/conv/conv.hpp"       // frame_chunks, conv3d_padding, checks, detail::conv3d_frame_source
#include "sanawm/kernels/gemm/gemm.hpp"       // gemm_args, gemm_activation

namespace sanawm {

namespace detail {

/// Rows of the implicit-GEMM operand per call: the im2col scratch stays below 16 Mi elements (64 MiB of fp32).
inline constexpr index_t conv_gemm_max_scratch = index_t{1} << 24;

/// True when the rows (all leading axes flattened) of a channels-last view are equally spaced with contiguous
/// channels: row r starts at data + r·ld. Returns ld through `ld`.
template <class V>
bool uniform_rows(const V& v, index_t& ld) {
  constexpr std::size_t R = V::rank();
  if (v.stride(R - 1) != 1) return false;
  ld = v.stride(R - 2);
  index_t expect = ld;
  for (std::size_t d = R - 1; d-- > 0;) {
    if (v.extent(d) > 1 && v.stride(d) != expect) return false;
    expect *= v.extent(d);
  }
  return true;
}

/// The products the reference forms: both inputs widened to fp32 (bf16 compute when both are bf16 already, which is
/// the same math and keeps CUDA on its bf16 tensor-core path).
template <class TA, class TB>
constexpr gemm_compute exact_products() noexcept {
  return std::is_same_v<TA, bf16> && std::is_same_v<TB, bf16> ? gemm_compute::bf16 : gemm_compute::fp32;
}

inline bool gemm_activation_of(activation a, gemm_activation& g) noexcept {
  switch (a) {
    case activation::identity: g = gemm_activation::none; return true;
    case activation::relu: g = gemm_activation::relu; return true;
    case activation::silu: g = gemm_activation::silu; return true;
    case activation::gelu_tanh: g = gemm_activation::gelu_tanh; return true;
    default: return false;
  }
}

/// Temporal conv im2col: row r (= global row row0 + r over (b, t, s)) gets [x(t−1) ‖ x(t) ‖ x(t+1)] along the Cin
/// channels, the left context (or zeros) before frame 0 and zeros past the end of t's chunk.
template <class T>
struct temporal_im2col_body {
  strided_view<const T, 4> x;
  strided_view<const T, 3> left;
  frame_chunks chunks;
  index_t row0;
  T* a;  ///< [rows, 3·Cin]
  SANAWM_HD void operator()(index_t r, index_t k) const noexcept {
    const index_t ci_n = x.extent(3), s_n = x.extent(2), t_n = x.extent(1), g = row0 + r;
    const index_t s = g % s_n, t = (g / s_n) % t_n, b = g / (s_n * t_n), tap = k / ci_n, c = k % ci_n;
    T v = T(0.0f);
    if (tap == 0) {
      if (t > 0) v = x(b, t - 1, s, c);
      else if (left.size() > 0) v = left(b, s, c);
    } else if (tap == 1) {
      v = x(b, t, s, c);
    } else if (t + 1 < chunks.chunk_end(t, t_n)) {
      v = x(b, t + 1, s, c);
    }
    a[r * 3 * ci_n + k] = v;
  }
};

/// The temporal conv weight w [Cout, Cin, 3] as the GEMM operand [Cout, 3·Cin] (column tap·Cin + c).
template <class TW>
struct temporal_weight_body {
  strided_view<const TW, 3> w;
  TW* out;
  SANAWM_HD void operator()(index_t o, index_t k) const noexcept {
    const index_t ci_n = w.extent(1);
    out[o * 3 * ci_n + k] = w(o, k % ci_n, k / ci_n);
  }
};

/// conv3d im2col: row r (global row0 + r over (b, t, h, w) of y) gets the kt·kh·kw·Cin window, tap-major
/// ((dt, dh, dw) outer, channels inner), with conv3d's temporal and spatial padding rules and left context.
template <class T>
struct conv3d_im2col_body {
  strided_view<const T, 5> x;
  strided_view<const T, 5> left;
  conv3d_padding pad;
  index_t kt, kh, kw, t_out, row0;
  T* a;  ///< [rows, K]
  SANAWM_HD void operator()(index_t r, index_t k) const noexcept {
    const index_t ci_n = x.extent(4), hh = x.extent(2), ww = x.extent(3), K = kt * kh * kw * ci_n, g = row0 + r;
    const index_t wi = g % ww, h = (g / ww) % hh, t = (g / (ww * hh)) % t_out, b = g / (ww * hh * t_out);
    const index_t c = k % ci_n, tap = k / ci_n, dw = tap % kw, dh = (tap / kw) % kh, dt = tap / (kw * kh);
    T v = T(0.0f);
    const frame_source fs = conv3d_frame_source(pad.temporal, t, dt, kt, x.extent(1), left.extent(1));
    if (fs.kind != 2) {
      const index_t row = spatial_source(h + dh - kh / 2, hh, pad.spatial);
      const index_t col = spatial_source(wi + dw - kw / 2, ww, pad.spatial);
      if (row >= 0 && col >= 0) v = fs.kind == 0 ? x(b, fs.index, row, col, c) : left(b, fs.index, row, col, c);
    }
    a[r * K + k] = v;
  }
};

/// The conv3d weight [Cout, Cin, kt, kh, kw] as the GEMM operand [Cout, K], column ((dt·kh + dh)·kw + dw)·Cin + c.
template <class TW>
struct conv3d_weight_body {
  strided_view<const TW, 5> w;
  TW* out;
  SANAWM_HD void operator()(index_t o, index_t k) const noexcept {
    const index_t ci_n = w.extent(1), kh = w.extent(3), kw = w.extent(4), K = w.extent(2) * kh * kw * ci_n;
    const index_t c = k % ci_n, tap = k / ci_n, dw = tap % kw, dh = (tap / kw) % kh, dt = tap / (kw * kh);
    out[o * K + k] = w(o, c, dt, dh, dw);
  }
};

/// Runs `rows` GEMM rows in chunks: fill(row0, n, a) writes the [n, K] operand chunk, then C rows [row0, row0 + n)
/// = epilogue(A·Wᵀ).
template <backend Tag, class TA, class TW, class TC, class Fill>
void chunked_im2col_gemm(Tag tag, index_t rows, index_t K, const TW* wm, index_t n_out, TC* c, index_t ldc,
                         gemm_epilogue<TC> e, index_t ld_residual, Fill&& fill) {
  using mem = backend_memory<Tag>;
  const index_t chunk = std::max<index_t>(1, std::min(rows, conv_gemm_max_scratch / std::max<index_t>(K, 1)));
  auto a = mem::template make<TA>(tag, chunk * K);
  for (index_t r0 = 0; r0 < rows; r0 += chunk) {
    const index_t n = std::min(chunk, rows - r0);
    fill(r0, n, a.data());
    gemm_args<TA, TW, TC> p;
    p.m = n, p.n = n_out, p.k = K;
    p.a = a.data(), p.lda = K;
    p.b = wm, p.ldb = K;
    p.c = c + r0 * ldc, p.ldc = ldc;
    p.epilogue = e;
    p.compute = exact_products<TA, TW>();
    if (e.residual) p.epilogue.residual = e.residual + r0 * ld_residual;
    gemm(tag, p);
  }
}

}  // namespace detail

/// conv1x1 as one GEMM (bias and activation in its epilogue). False when a view's channel axis is not contiguous
/// or the activation has no GEMM epilogue.
template <backend Tag, dense_view<2> X, dense_view<2> W, f32_view<1> B, dense_out_view<2> Y>
bool conv1x1_via_gemm(Tag tag, const X& x, const W& w, const B& bias, const Y& y,
                      activation act = activation::identity) {
  detail::check_conv1x1_args("conv1x1", x, w, bias, y);
  gemm_activation ga{};
  if (!detail::gemm_activation_of(act, ga) || x.stride(1) != 1 || w.stride(1) != 1 || y.stride(1) != 1) return false;
  using TX = std::remove_const_t<typename X::element_type>;
  using TW = std::remove_const_t<typename W::element_type>;
  using TY = std::remove_const_t<typename Y::element_type>;
  gemm_args<TX, TW, TY> p;
  p.m = x.extent(0), p.n = w.extent(0), p.k = x.extent(1);
  p.a = x.data(), p.lda = x.extent(0) > 1 ? x.stride(0) : p.k;
  p.b = w.data(), p.ldb = w.extent(0) > 1 ? w.stride(0) : p.k;
  p.c = y.data(), p.ldc = y.extent(0) > 1 ? y.stride(0) : p.n;
  p.epilogue.bias = detail::optional_vector("conv1x1", "bias", bias, w.extent(0));
  p.epilogue.activation = ga;
  p.compute = detail::exact_products<TX, TW>();
  gemm(tag, p);
  return true;
}

/// The FFN temporal conv (see temporal_conv3_portable) as im2col over the three taps + one GEMM with K = 3·Cin;
/// the residual of opt.residual rides in the GEMM epilogue. False when x or y rows are not uniformly strided with
/// contiguous channels, or when a residual is asked with x's type differing from y's.
template <backend Tag, dense_view<4> X, dense_view<3> W, dense_out_view<4> Y, dense_view<3> L>
bool temporal_conv3_via_gemm(Tag tag, const X& x, const W& w, const Y& y, const temporal_conv_options& opt,
                             const L& left) {
  using TX = std::remove_const_t<typename X::element_type>;
  using TW = std::remove_const_t<typename W::element_type>;
  using TY = std::remove_const_t<typename Y::element_type>;
  detail::check_temporal_conv3_args("temporal_conv3", x, w, y, left, opt.residual);
  index_t ldx = 0, ldy = 0;
  if (!detail::uniform_rows(x, ldx) || !detail::uniform_rows(y, ldy)) return false;
  if (opt.residual && !std::is_same_v<TX, TY>) return false;
  const index_t rows = x.extent(0) * x.extent(1) * x.extent(2), ci = x.extent(3), co = w.extent(0), K = 3 * ci;
  if (rows == 0 || co == 0) return true;
  using mem = backend_memory<Tag>;
  auto wm = mem::template make<TW>(tag, co * K);
  parallel_for_2d(tag, co, K, detail::temporal_weight_body<TW>{as_input(w), wm.data()});
  gemm_epilogue<TY> e;
  if constexpr (std::is_same_v<TX, TY>)
    if (opt.residual) e.residual = x.data(), e.ld_residual = ldx;
  const auto xs = as_input(x);
  const auto ls = as_input(left);
  detail::chunked_im2col_gemm<Tag, TX>(tag, rows, K, wm.data(), co, y.data(), ldy, e, ldx,
                                       [&](index_t r0, index_t n, TX* a) {
                                         parallel_for_2d(tag, n, K,
                                                         detail::temporal_im2col_body<TX>{xs, ls, opt.chunks, r0, a});
                                       });
  return true;
}

/// The general stride-1 3-D conv (see conv3d_portable) as im2col (K = kt·kh·kw·Cin, bounded row chunks) + GEMM
/// with the bias in its epilogue. False when y's rows are not uniformly strided with contiguous channels.
template <backend Tag, dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y, dense_view<5> L>
bool conv3d_via_gemm(Tag tag, const X& x, const W& wt, const B& bias, const Y& y, conv3d_padding pad, const L& left) {
  using TX = std::remove_const_t<typename X::element_type>;
  using TW = std::remove_const_t<typename W::element_type>;
  using TY = std::remove_const_t<typename Y::element_type>;
  detail::check_conv3d_args("conv3d", x, wt, bias, y, left, pad);
  index_t ldy = 0;
  if (!detail::uniform_rows(y, ldy)) return false;
  const index_t co = wt.extent(0), kt = wt.extent(2), kh = wt.extent(3), kw = wt.extent(4);
  const index_t K = kt * kh * kw * x.extent(4), rows = y.extent(0) * y.extent(1) * y.extent(2) * y.extent(3);
  if (rows == 0 || co == 0) return true;
  using mem = backend_memory<Tag>;
  // A weight already laid out channels-last ([Cout, kt, kh, kw, Cin] memory, the VAE's store) is the GEMM operand
  // as it is; any other layout is gathered once per call.
  const index_t ci = x.extent(4);
  const bool gemm_layout = wt.stride(1) == 1 && wt.stride(4) == ci && wt.stride(3) == kw * ci &&
                           wt.stride(2) == kh * kw * ci && wt.stride(0) == K;
  auto wm = mem::template make<TW>(tag, gemm_layout ? 0 : co * K);
  if (!gemm_layout) parallel_for_2d(tag, co, K, detail::conv3d_weight_body<TW>{as_input(wt), wm.data()});
  const TW* wp = gemm_layout ? wt.data() : wm.data();
  gemm_epilogue<TY> e;
  e.bias = detail::optional_vector("conv3d", "bias", bias, co);
  const auto xs = as_input(x);
  const auto ls = as_input(left);
  const index_t t_out = y.extent(1);
  detail::chunked_im2col_gemm<Tag, TX>(tag, rows, K, wp, co, y.data(), ldy, e, 0,
                                       [&](index_t r0, index_t n, TX* a) {
                                         parallel_for_2d(tag, n, K,
                                                         detail::conv3d_im2col_body<TX>{xs, ls, pad, kt, kh, kw, t_out,
                                                                                        r0, a});
                                       });
  return true;
}

}  // namespace sanawm

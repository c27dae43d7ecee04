// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/conv/conv.hpp — the convolutions of SANA-WM and the LTX-2 VAE on channels-last tensors:
// 1x1x1 conv (a GEMM), depthwise 3x3 per frame (+ fused GLU), the FFN's temporal conv (kernel 3, full channel
// mixing, chunk-causal and streaming forms), the GDN short conv (depthwise kernel 4 along frames,
// bidirectional and chunk-causal), a general stride-1 3-D conv with causal/symmetric replicate/zero temporal
// and zero/reflect spatial padding, and the [B, C, T, H, W] ↔ [B, T, H, W, C] converters. Portable bodies,
// checks, portable entry points.
#pragma once

#include <cstdint>      // std::uint8_t
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_same_v

#include "sanawm/backend/tags.hpp"                     // backend
#include "sanawm/config.hpp"                           // SANAWM_HD
#include "sanawm/core/error.hpp"                       // make_error
#include "sanawm/core/int.hpp"                         // index_t
#include "sanawm/kernels/elementwise/dense.hpp"        // strided_view, dense_view, frame_chunks
#include "sanawm/kernels/elementwise/elementwise.hpp"  // activation, apply_activation

namespace sanawm {

// ---- padding vocabulary -----------------------------------------------------------------------------------

/// Temporal padding of conv3d (kernel kt along frames, stride 1).
enum class temporal_padding : std::uint8_t {
  causal_replicate,     ///< kt−1 copies of frame 0 in front (LTX-2 causal conv; with a left context: those
                        ///< frames)
  symmetric_replicate,  ///< (kt−1)/2 copies of the first frame in front and of the last frame behind (LTX-2
                        ///< non-causal)
  causal_zero,          ///< kt−1 zero frames in front
  symmetric_zero,       ///< (kt−1)/2 zero frames on each side (PyTorch Conv3d padding)
  valid,                ///< no padding: T − kt + 1 output frames
};

/// Spatial padding of conv3d: kh/2 rows and kw/2 columns on each side (odd kernels), output size = input
/// size.
enum class spatial_padding : std::uint8_t {
  zeros,    ///< LTX-2 encoder
  reflect,  ///< LTX-2 decoder: PyTorch "reflect" (index −1 → 1, H → H−2; the edge is not repeated)
};

/// How conv3d(cpu_t) computes (other backends take the implicit GEMM or their portable body).
enum class conv3d_algorithm : std::uint8_t {
  automatic,      ///< Winograd for kt×3×3 kernels with enough channels (cpu::dense::conv3d_winograd_pays), else
                  ///< the implicit GEMM
  implicit_gemm,  ///< one GEMM with K = kt·kh·kw·Cin over gathered input rows (any kernel)
  winograd,       ///< Winograd F(2×2, 3×3): 2.25× fewer products (kt×3×3 kernels only)
};

/// Padding of one conv3d call.
struct conv3d_padding {
  temporal_padding temporal = temporal_padding::causal_replicate;
  spatial_padding spatial = spatial_padding::zeros;
};

namespace detail {

// Where the input frame of tap dt of output frame t comes from: an input frame, a left-context frame or
// zeros.
struct frame_source {
  int kind;  // 0: x frame `index`, 1: left-context frame `index`, 2: zero frame
  index_t index;
};

SANAWM_HD constexpr frame_source conv3d_frame_source(temporal_padding mode, index_t t, index_t dt, index_t kt,
                                                     index_t frames, index_t left_frames) noexcept {
  const bool causal = mode == temporal_padding::causal_replicate || mode == temporal_padding::causal_zero;
  const bool replicate =
      mode == temporal_padding::causal_replicate || mode == temporal_padding::symmetric_replicate;
  const index_t tau = mode == temporal_padding::valid ? t + dt
                      : causal                        ? t + dt - (kt - 1)
                                                      : t + dt - (kt - 1) / 2;
  if (tau >= 0 && tau < frames) return {0, tau};
  if (tau < 0) {
    if (left_frames > 0) {
      const index_t li = left_frames + tau;
      // A history shorter than kt−1 frames is extended by repeating its oldest frame (LTX-2 streaming cache).
      if (li >= 0) return {1, li};
      return replicate ? frame_source{1, 0} : frame_source{2, 0};
    }
    return replicate ? frame_source{0, 0} : frame_source{2, 0};
  }
  return replicate ? frame_source{0, frames - 1} : frame_source{2, 0};
}

// Input row/column for padded position i (may be outside [0, n)); −1 means a zero pad.
SANAWM_HD constexpr index_t spatial_source(index_t i, index_t n, spatial_padding mode) noexcept {
  if (i >= 0 && i < n) return i;
  if (mode == spatial_padding::zeros) return -1;
  return i < 0 ? -i : 2 * (n - 1) - i;
}

// Σ_k a[k]·b[k] in fp32 with four partial sums (a, b contiguous).
template <class TA, class TB>
SANAWM_HD float dot_f32(const TA* a, const TB* b, index_t n) noexcept {
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  index_t k = 0;
  for (; k + 4 <= n; k += 4) {
    for (int j = 0; j < 4; ++j) acc[j] += dense_load(a[k + j]) * dense_load(b[k + j]);
  }
  for (; k < n; ++k) acc[0] += dense_load(a[k]) * dense_load(b[k]);
  return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

}  // namespace detail

// ---- portable bodies --------------------------------------------------------------------------------------

/// 1x1x1 conv = linear layer, one output element: y[n, o] = act(Σ_i x[n, i]·w[o, i] + bias[o]).
/// x [N, Cin], w [Cout, Cin] (PyTorch conv weight [Cout, Cin, 1, 1(, 1)] flattened), y [N, Cout].
template <activation A, class TIn, class TW, class TOut>
struct conv1x1_body {
  strided_view<const TIn, 2> x;
  strided_view<const TW, 2> w;
  const float* bias;
  strided_view<TOut, 2> y;
  SANAWM_HD void operator()(index_t n, index_t o) const noexcept {
    float acc = detail::dot_f32(&x(n, 0), &w(o, 0), x.extent(1));
    if (bias) acc += bias[o];
    y(n, o) = detail::dense_store<TOut>(apply_activation<A>(acc));
  }
};

namespace detail {
// The depthwise 3x3 conv of channel c at pixel (b, t, h, w) with zero padding (x [B, T, H, W, C], w [C, 3,
// 3]).
template <class TIn>
SANAWM_HD float depthwise3x3_at(const strided_view<const TIn, 5>& x, const strided_view<const float, 3>& w,
                                const float* bias, index_t b, index_t t, index_t h, index_t wi,
                                index_t c) noexcept {
  float acc = bias ? bias[c] : 0.0f;
  const index_t hh = x.extent(2), ww = x.extent(3);
  for (index_t dh = 0; dh < 3; ++dh) {
    const index_t r = h + dh - 1;
    if (r < 0 || r >= hh) continue;
    for (index_t dw = 0; dw < 3; ++dw) {
      const index_t col = wi + dw - 1;
      if (col < 0 || col >= ww) continue;
      acc += w(c, dh, dw) * dense_load(x(b, t, r, col, c));
    }
  }
  return acc;
}
}  // namespace detail

/// Depthwise 3x3 conv per frame, one output element (pixel, channel): zero padding 1, optional bias.
/// x, y [B, T, H, W, C]; w [C, 3, 3] fp32 (PyTorch [C, 1, 3, 3]); bias [C] or nullptr.
template <class TIn, class TOut>
struct depthwise_conv3x3_body {
  strided_view<const TIn, 5> x;
  strided_view<const float, 3> w;
  const float* bias;
  strided_view<TOut, 5> y;
  SANAWM_HD void operator()(index_t p, index_t c) const noexcept {
    const index_t ww = x.extent(3), hh = x.extent(2), tt = x.extent(1);
    const index_t wi = p % ww, h = (p / ww) % hh, t = (p / (ww * hh)) % tt, b = p / (ww * hh * tt);
    y(b, t, h, wi, c) = detail::dense_store<TOut>(detail::depthwise3x3_at(x, w, bias, b, t, h, wi, c));
  }
};

/// Depthwise 3x3 conv fused with the GLU split, one output element: with d = dwconv(x) over 2G channels,
/// y[…, c] = d[…, c] · act(d[…, G + c]). x [B, T, H, W, 2G], w [2G, 3, 3], bias [2G] or nullptr, y [B, T, H,
/// W, G].
template <activation A, class TIn, class TOut>
struct depthwise_conv3x3_glu_body {
  strided_view<const TIn, 5> x;
  strided_view<const float, 3> w;
  const float* bias;
  strided_view<TOut, 5> y;
  SANAWM_HD void operator()(index_t p, index_t c) const noexcept {
    const index_t ww = x.extent(3), hh = x.extent(2), tt = x.extent(1), g = y.extent(4);
    const index_t wi = p % ww, h = (p / ww) % hh, t = (p / (ww * hh)) % tt, b = p / (ww * hh * tt);
    const float a = detail::depthwise3x3_at(x, w, bias, b, t, h, wi, c);
    const float gate = detail::depthwise3x3_at(x, w, bias, b, t, h, wi, g + c);
    y(b, t, h, wi, c) = detail::dense_store<TOut>(a * apply_activation<A>(gate));
  }
};

/// The FFN's temporal conv (kernel 3 along frames, full channel mixing, no bias), one output element:
///   y[b,t,s,o] = Σ_i w[o,i,0]·x[t−1] + w[o,i,1]·x[t] + w[o,i,2]·x[t+1]   (+ x[b,t,s,o] when residual)
/// x[t−1] for t = 0 is the left context [B, S, Cin] when given (streaming), zeros otherwise; x[t+1] is zero
/// at the end of t's chunk (chunk-causal) and at t = T−1. x [B, T, S, Cin], w [Cout, Cin, 3], y [B, T, S,
/// Cout].
template <class TIn, class TW, class TOut>
struct temporal_conv3_body {
  strided_view<const TIn, 4> x;
  strided_view<const TW, 3> w;
  strided_view<TOut, 4> y;
  strided_view<const TIn, 3> left;
  frame_chunks chunks;
  bool residual;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t co_n = y.extent(3), s_n = x.extent(2), t_n = x.extent(1), ci_n = x.extent(3);
    const index_t o = i % co_n, s = (i / co_n) % s_n, t = (i / (co_n * s_n)) % t_n,
                  b = i / (co_n * s_n * t_n);
    const TIn* src[3] = {t > 0 ? &x(b, t - 1, s, 0) : (left.size() > 0 ? &left(b, s, 0) : nullptr),
                         &x(b, t, s, 0), t + 1 < chunks.chunk_end(t, t_n) ? &x(b, t + 1, s, 0) : nullptr};
    float acc = 0.0f;
    for (index_t k = 0; k < 3; ++k) {
      if (!src[k]) continue;
      for (index_t c = 0; c < ci_n; ++c)
        acc += detail::dense_load(w(o, c, k)) * detail::dense_load(src[k][c]);
    }
    if (residual) acc += detail::dense_load(x(b, t, s, o));
    y(b, t, s, o) = detail::dense_store<TOut>(acc);
  }
};

/// Taps of the GDN short conv.
inline constexpr index_t short_conv_taps = 4;

/// The GDN short conv on k (depthwise, kernel 4 along frames, no bias), one output element:
///   y[t] = Σ_j w_j·x[t−3+j] + Σ_j w_j·x[t+3−j] − w_3·x[t]       (j = 0..3)
/// = causal(x) + flip(causal(flip(x))) − w_3·x: a symmetric 7-tap filter [w0 w1 w2 w3 w2 w1 w0]. Frames
/// before 0 come from the left context [B, L, S, C] (L ≤ 3, its last frame being frame −1) or are zero;
/// frames at or past the end of t's chunk are zero in the backward sum. x, y [B, T, S, C], w [C, 4] fp32
/// (PyTorch [C, 1, 4]).
template <class TIn, class TOut>
struct short_conv4_body {
  strided_view<const TIn, 4> x;
  strided_view<const float, 2> w;
  strided_view<TOut, 4> y;
  strided_view<const TIn, 4> left;
  frame_chunks chunks;
  SANAWM_HD void operator()(index_t p, index_t c) const noexcept {
    const index_t s_n = x.extent(2), t_n = x.extent(1), l_n = left.extent(1);
    const index_t s = p % s_n, t = (p / s_n) % t_n, b = p / (s_n * t_n);
    const index_t end = chunks.chunk_end(t, t_n);
    float fwd = 0.0f, bwd = 0.0f;
    for (index_t j = 0; j < short_conv_taps; ++j) {
      const float wj = w(c, j);
      const index_t tf = t - 3 + j, tb = t + 3 - j;
      if (tf >= 0)
        fwd += wj * detail::dense_load(x(b, tf, s, c));
      else if (tf + l_n >= 0)
        fwd += wj * detail::dense_load(left(b, tf + l_n, s, c));
      if (tb < end) bwd += wj * detail::dense_load(x(b, tb, s, c));
    }
    y(b, t, s, c) = detail::dense_store<TOut>(fwd + bwd - w(c, 3) * detail::dense_load(x(b, t, s, c)));
  }
};

/// General stride-1 3-D conv on channels-last tensors, one output element:
///   y[b,t,h,w,o] = bias[o] + Σ_{dt,dh,dw,i} wt[o,i,dt,dh,dw] · xpad[b, t+dt, h+dh, w+dw, i]
/// with the temporal/spatial padding of `pad` (and the optional left context [B, L, H, W, Cin] standing in
/// for the frames before 0 in the causal modes). x [B, T, H, W, Cin], wt [Cout, Cin, kt, kh, kw] (PyTorch
/// Conv3d), y [B, T', H, W, Cout] with T' = T (T − kt + 1 for valid).
template <class TIn, class TW, class TOut>
struct conv3d_body {
  strided_view<const TIn, 5> x;
  strided_view<const TW, 5> wt;
  const float* bias;
  strided_view<TOut, 5> y;
  strided_view<const TIn, 5> left;
  conv3d_padding pad;
  SANAWM_HD void operator()(index_t p, index_t o) const noexcept {
    const index_t ww = y.extent(3), hh = y.extent(2), to_n = y.extent(1);
    const index_t wi = p % ww, h = (p / ww) % hh, t = (p / (ww * hh)) % to_n, b = p / (ww * hh * to_n);
    const index_t kt = wt.extent(2), kh = wt.extent(3), kw = wt.extent(4), ci_n = x.extent(4);
    float acc = bias ? bias[o] : 0.0f;
    for (index_t dt = 0; dt < kt; ++dt) {
      const detail::frame_source fs =
          detail::conv3d_frame_source(pad.temporal, t, dt, kt, x.extent(1), left.extent(1));
      if (fs.kind == 2) continue;
      for (index_t dh = 0; dh < kh; ++dh) {
        const index_t r = detail::spatial_source(h + dh - kh / 2, x.extent(2), pad.spatial);
        if (r < 0) continue;
        for (index_t dw = 0; dw < kw; ++dw) {
          const index_t col = detail::spatial_source(wi + dw - kw / 2, x.extent(3), pad.spatial);
          if (col < 0) continue;
          const TIn* px = fs.kind == 0 ? &x(b, fs.index, r, col, 0) : &left(b, fs.index, r, col, 0);
          for (index_t i = 0; i < ci_n; ++i)
            acc += detail::dense_load(wt(o, i, dt, dh, dw)) * detail::dense_load(px[i]);
        }
      }
    }
    y(b, t, h, wi, o) = detail::dense_store<TOut>(acc);
  }
};

/// Layout converter, one element: channels-first x [B, C, T, H, W] → channels-last y [B, T, H, W, C] (or
/// back, with `to_first`). The index is y's flattened row-major position.
template <class TIn, class TOut, bool ToFirst>
struct channel_layout_body {
  strided_view<const TIn, 5> x;
  strided_view<TOut, 5> y;
  SANAWM_HD void operator()(index_t i) const noexcept {
    index_t idx[5];
    for (int d = 4; d >= 0; --d) {
      idx[d] = i % y.extent(static_cast<std::size_t>(d));
      i /= y.extent(static_cast<std::size_t>(d));
    }
    // ToFirst: y [B, C, T, H, W] from x [B, T, H, W, C]; else y [B, T, H, W, C] from x [B, C, T, H, W].
    const float v = ToFirst ? detail::dense_load(x(idx[0], idx[2], idx[3], idx[4], idx[1]))
                            : detail::dense_load(x(idx[0], idx[4], idx[1], idx[2], idx[3]));
    y(idx[0], idx[1], idx[2], idx[3], idx[4]) = detail::dense_store<TOut>(v);
  }
};

// ---- argument checks (shared by every backend) ------------------------------------------------------------

namespace detail {

template <class B>
const float* optional_vector(std::string_view op, std::string_view name, const B& v, index_t n) {
  if (v.size() == 0) return nullptr;
  expect_extent(op, name, v, 0, n, "length");
  expect_inner_contiguous(op, name, v);
  return v.data();
}

template <class X, class W, class B, class Y>
void check_conv1x1_args(std::string_view op, const X& x, const W& w, const B& bias, const Y& y) {
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "weight", w);
  expect_inner_contiguous(op, "y", y);
  if (w.extent(1) != x.extent(1))
    throw make_error(op, "weight ", shape_text(w), " expects ", w.extent(1), " input channels, x ",
                     shape_text(x), " has ", x.extent(1));
  if (y.extent(0) != x.extent(0) || y.extent(1) != w.extent(0))
    throw make_error(op, "y is ", shape_text(y), ", expected [", x.extent(0), ", ", w.extent(0), "]");
  optional_vector(op, "bias", bias, w.extent(0));
}

template <class X, class W, class B, class Y>
void check_depthwise_args(std::string_view op, const X& x, const W& w, const B& bias, const Y& y, bool glu) {
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  expect_inner_contiguous(op, "weight", w);
  const index_t c = x.extent(4);
  if (w.extent(0) != c || w.extent(1) != 3 || w.extent(2) != 3)
    throw make_error(op, "weight is ", shape_text(w), ", expected [", c, ", 3, 3]");
  optional_vector(op, "bias", bias, c);
  if (glu && c % 2 != 0) throw make_error(op, "x has ", c, " channels; the GLU split needs an even count");
  const index_t cy = glu ? c / 2 : c;
  for (std::size_t d = 0; d < 4; ++d)
    if (y.extent(d) != x.extent(d))
      throw make_error(op, "y ", shape_text(y), " does not match x ", shape_text(x));
  if (y.extent(4) != cy) throw make_error(op, "y has ", y.extent(4), " channels, expected ", cy);
}

template <class X, class W, class Y, class L>
void check_temporal_conv3_args(std::string_view op, const X& x, const W& w, const Y& y, const L& left,
                               bool residual) {
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  if (w.extent(1) != x.extent(3) || w.extent(2) != 3)
    throw make_error(op, "weight is ", shape_text(w), ", expected [Cout, ", x.extent(3), ", 3]");
  for (std::size_t d = 0; d < 3; ++d)
    if (y.extent(d) != x.extent(d))
      throw make_error(op, "y ", shape_text(y), " does not match x ", shape_text(x));
  if (y.extent(3) != w.extent(0))
    throw make_error(op, "y has ", y.extent(3), " channels, weight has ", w.extent(0));
  if (residual && x.extent(3) != y.extent(3))
    throw make_error(op, "residual needs Cin == Cout, got ", x.extent(3), " and ", y.extent(3));
  if (left.size() > 0) {
    if (left.extent(0) != x.extent(0) || left.extent(1) != x.extent(2) || left.extent(2) != x.extent(3))
      throw make_error(op, "left context is ", shape_text(left), ", expected [B, S, Cin] = [", x.extent(0),
                       ", ", x.extent(2), ", ", x.extent(3), "]");
    expect_inner_contiguous(op, "left context", left);
  }
}

template <class X, class W, class Y, class L>
void check_short_conv4_args(std::string_view op, const X& x, const W& w, const Y& y, const L& left) {
  expect_same_shape(op, "x", x, "y", y);
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  if (w.extent(0) != x.extent(3) || w.extent(1) != short_conv_taps)
    throw make_error(op, "weight is ", shape_text(w), ", expected [", x.extent(3), ", 4]");
  if (left.size() > 0) {
    if (left.extent(0) != x.extent(0) || left.extent(1) > short_conv_taps - 1 ||
        left.extent(2) != x.extent(2) || left.extent(3) != x.extent(3))
      throw make_error(op, "left context is ", shape_text(left),
                       ", expected [B, L <= 3, S, C] with B = ", x.extent(0), ", S = ", x.extent(2),
                       ", C = ", x.extent(3));
    expect_inner_contiguous(op, "left context", left);
  }
}

template <class X, class W, class B, class Y, class L>
void check_conv3d_args(std::string_view op, const X& x, const W& wt, const B& bias, const Y& y, const L& left,
                       conv3d_padding pad) {
  expect_inner_contiguous(op, "x", x);
  expect_inner_contiguous(op, "y", y);
  const index_t kt = wt.extent(2), kh = wt.extent(3), kw = wt.extent(4);
  if (wt.extent(1) != x.extent(4))
    throw make_error(op, "weight ", shape_text(wt), " expects ", wt.extent(1), " input channels, x ",
                     shape_text(x), " has ", x.extent(4));
  if (kt < 1 || kh < 1 || kw < 1 || kh % 2 == 0 || kw % 2 == 0)
    throw make_error(op, "kernel ", kt, "x", kh, "x", kw,
                     ": need kt >= 1 and odd kh, kw ('same' spatial padding)");
  const bool symmetric = pad.temporal == temporal_padding::symmetric_replicate ||
                         pad.temporal == temporal_padding::symmetric_zero;
  if (symmetric && kt % 2 == 0) throw make_error(op, "symmetric temporal padding needs an odd kt, got ", kt);
  const index_t t_out = pad.temporal == temporal_padding::valid ? x.extent(1) - kt + 1 : x.extent(1);
  if (t_out < 0)
    throw make_error(op, "valid padding: ", x.extent(1), " frames are fewer than the kernel's ", kt);
  if (y.extent(0) != x.extent(0) || y.extent(1) != t_out || y.extent(2) != x.extent(2) ||
      y.extent(3) != x.extent(3) || y.extent(4) != wt.extent(0))
    throw make_error(op, "y is ", shape_text(y), ", expected [", x.extent(0), ", ", t_out, ", ", x.extent(2),
                     ", ", x.extent(3), ", ", wt.extent(0), "]");
  if (pad.spatial == spatial_padding::reflect && x.size() > 0 &&
      (kh / 2 >= x.extent(2) || kw / 2 >= x.extent(3)))
    throw make_error(op, "reflect padding of ", kh / 2, "x", kw / 2, " needs H > ", kh / 2, " and W > ",
                     kw / 2, ", x is ", shape_text(x));
  optional_vector(op, "bias", bias, wt.extent(0));
  if (left.size() > 0) {
    const bool causal =
        pad.temporal == temporal_padding::causal_replicate || pad.temporal == temporal_padding::causal_zero;
    if (!causal) throw make_error(op, "a left context needs causal temporal padding");
    if (left.extent(0) != x.extent(0) || left.extent(1) > kt - 1 || left.extent(2) != x.extent(2) ||
        left.extent(3) != x.extent(3) || left.extent(4) != x.extent(4))
      throw make_error(op, "left context is ", shape_text(left), ", expected [B, L <= ", kt - 1,
                       ", H, W, Cin]");
    expect_inner_contiguous(op, "left context", left);
  }
}

template <class X, class Y>
void check_layout_args(std::string_view op, const X& x, const Y& y, bool to_first) {
  // to_first: x [B, T, H, W, C] → y [B, C, T, H, W]; else x [B, C, T, H, W] → y [B, T, H, W, C].
  const index_t e[5] = {x.extent(0), x.extent(1), x.extent(2), x.extent(3), x.extent(4)};
  const index_t want[5] = {e[0], to_first ? e[4] : e[2], to_first ? e[1] : e[3], to_first ? e[2] : e[4],
                           to_first ? e[3] : e[1]};
  for (std::size_t d = 0; d < 5; ++d)
    if (y.extent(d) != want[d])
      throw make_error(op, "y is ", shape_text(y), " but x ", shape_text(x), " converts to [", want[0], ", ",
                       want[1], ", ", want[2], ", ", want[3], ", ", want[4], "]");
}

template <class T, std::size_t R>
strided_view<const T, R> empty_view() noexcept {
  return {};
}

}  // namespace detail

// ---- portable entry points (any backend; include its parallel_for header) ---------------------------------

/// 1x1x1 conv (a linear layer) with the portable body: y = act(x·wᵀ + bias). x [N, Cin], w [Cout, Cin] float
/// or bf16, bias [Cout] fp32 or empty, y [N, Cout]. Fast paths: conv1x1(cpu_t, …) (the packed GEMM),
/// conv1x1(cuda_t, …).
template <backend Tag, dense_view<2> X, dense_view<2> W, f32_view<1> B, dense_out_view<2> Y>
void conv1x1_portable(Tag tag, const X& x, const W& w, const B& bias, const Y& y,
                      activation act = activation::identity) {
  detail::check_conv1x1_args("conv1x1", x, w, bias, y);
  const float* b = detail::optional_vector("conv1x1", "bias", bias, w.extent(0));
  dispatch_activation(act, "conv1x1", [&](auto a) {
    parallel_for_2d(tag, y.extent(0), y.extent(1),
                    conv1x1_body<decltype(a)::value, typename X::value_type, typename W::value_type,
                                 typename Y::value_type>{as_input(x), as_input(w), b, as_output(y)});
  });
}

/// Depthwise 3x3 conv per frame (portable body): zero padding 1, stride 1. x, y [B, T, H, W, C] (y must not
/// overlap x); w [C, 3, 3] fp32; bias [C] fp32 or empty.
template <backend Tag, dense_view<5> X, f32_view<3> W, f32_view<1> B, dense_out_view<5> Y>
void depthwise_conv3x3_portable(Tag tag, const X& x, const W& w, const B& bias, const Y& y) {
  detail::check_depthwise_args("depthwise_conv3x3", x, w, bias, y, false);
  const float* b = detail::optional_vector("depthwise_conv3x3", "bias", bias, x.extent(4));
  parallel_for_2d(tag, x.extent(0) * x.extent(1) * x.extent(2) * x.extent(3), x.extent(4),
                  depthwise_conv3x3_body<typename X::value_type, typename Y::value_type>{
                      as_input(x), as_input(w), b, as_output(y)});
}

/// Depthwise 3x3 conv fused with the GLU split (portable body): y = d[…, :G] ⊙ act(d[…, G:]) with d =
/// dwconv(x). x [B, T, H, W, 2G], w [2G, 3, 3], bias [2G] or empty, y [B, T, H, W, G]. SANA-WM's FFN: act =
/// silu.
template <backend Tag, dense_view<5> X, f32_view<3> W, f32_view<1> B, dense_out_view<5> Y>
void depthwise_conv3x3_glu_portable(Tag tag, const X& x, const W& w, const B& bias, activation gate_act,
                                    const Y& y) {
  detail::check_depthwise_args("depthwise_conv3x3_glu", x, w, bias, y, true);
  const float* b = detail::optional_vector("depthwise_conv3x3_glu", "bias", bias, x.extent(4));
  dispatch_activation(gate_act, "depthwise_conv3x3_glu", [&](auto a) {
    parallel_for_2d(
        tag, y.extent(0) * y.extent(1) * y.extent(2) * y.extent(3), y.extent(4),
        depthwise_conv3x3_glu_body<decltype(a)::value, typename X::value_type, typename Y::value_type>{
            as_input(x), as_input(w), b, as_output(y)});
  });
}

/// Options of the FFN temporal conv.
struct temporal_conv_options {
  frame_chunks
      chunks{};  ///< chunk-causal mode: no look-ahead past a chunk's last frame (single(): bidirectional)
  bool residual = false;  ///< y = x + conv(x) (GLUMBConvTemp's `out = y + t_conv(y)`; needs Cin == Cout)
};

/// The FFN temporal conv (portable body): kernel 3 along frames, full channel mixing, zero padded, no bias.
/// x [B, T, S, Cin], w [Cout, Cin, 3] (PyTorch Conv2d [Cout, Cin, 3, 1]; any strides, see conv_cpu.hpp),
/// y [B, T, S, Cout] (must not overlap x). `left` [B, S, Cin]: the frame before frame 0 (streaming: the last
/// frame of the previous chunk); an empty view means zeros.
template <backend Tag, dense_view<4> X, dense_view<3> W, dense_out_view<4> Y, dense_view<3> L>
void temporal_conv3_portable(Tag tag, const X& x, const W& w, const Y& y, const temporal_conv_options& opt,
                             const L& left) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: temporal_conv3: the left context has x's element type");
  detail::check_temporal_conv3_args("temporal_conv3", x, w, y, left, opt.residual);
  parallel_for(tag, y.size(),
               temporal_conv3_body<typename X::value_type, typename W::value_type, typename Y::value_type>{
                   as_input(x), as_input(w), as_output(y), as_input(left), opt.chunks, opt.residual});
}
/// temporal_conv3_portable without a left context (zeros before frame 0).
template <backend Tag, dense_view<4> X, dense_view<3> W, dense_out_view<4> Y>
void temporal_conv3_portable(Tag tag, const X& x, const W& w, const Y& y,
                             const temporal_conv_options& opt = {}) {
  temporal_conv3_portable(tag, x, w, y, opt, detail::empty_view<typename X::value_type, 3>());
}

/// The GDN short conv (portable body): depthwise kernel 4 along frames, bidirectional form
/// causal(x) + flip(causal(flip(x))) − w_3·x, chunk-causal with `chunks` (the backward half stops at each
/// chunk's end), streaming with `left` [B, L ≤ 3, S, C] (the last L frames before frame 0; empty: zeros). x,
/// y [B, T, S, C] (y must not overlap x), w [C, 4] fp32.
template <backend Tag, dense_view<4> X, f32_view<2> W, dense_out_view<4> Y, dense_view<4> L>
void short_conv4_portable(Tag tag, const X& x, const W& w, const Y& y, frame_chunks chunks, const L& left) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: short_conv4: the left context has x's element type");
  detail::check_short_conv4_args("short_conv4", x, w, y, left);
  parallel_for_2d(tag, x.extent(0) * x.extent(1) * x.extent(2), x.extent(3),
                  short_conv4_body<typename X::value_type, typename Y::value_type>{
                      as_input(x), as_input(w), as_output(y), as_input(left), chunks});
}
/// short_conv4_portable without a left context.
template <backend Tag, dense_view<4> X, f32_view<2> W, dense_out_view<4> Y>
void short_conv4_portable(Tag tag, const X& x, const W& w, const Y& y, frame_chunks chunks = {}) {
  short_conv4_portable(tag, x, w, y, chunks, detail::empty_view<typename X::value_type, 4>());
}

/// General stride-1 3-D conv on channels-last tensors (portable body). x [B, T, H, W, Cin], wt [Cout, Cin,
/// kt, kh, kw] float or bf16 (PyTorch Conv3d layout, any strides), bias [Cout] fp32 or empty, y [B, T', H, W,
/// Cout] (must not overlap x), T' = T (T − kt + 1 with valid). `left` [B, L ≤ kt−1, H, W, Cin]: the frames
/// before frame 0 in the causal modes (the streaming decoder's cache); empty: the padding rule.
template <backend Tag, dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y, dense_view<5> L>
void conv3d_portable(Tag tag, const X& x, const W& wt, const B& bias, const Y& y, conv3d_padding pad,
                     const L& left) {
  static_assert(std::is_same_v<typename L::value_type, typename X::value_type>,
                "sanawm: conv3d: the left context has x's element type");
  detail::check_conv3d_args("conv3d", x, wt, bias, y, left, pad);
  const float* b = detail::optional_vector("conv3d", "bias", bias, wt.extent(0));
  parallel_for_2d(tag, y.extent(0) * y.extent(1) * y.extent(2) * y.extent(3), y.extent(4),
                  conv3d_body<typename X::value_type, typename W::value_type, typename Y::value_type>{
                      as_input(x), as_input(wt), b, as_output(y), as_input(left), pad});
}
/// conv3d_portable without a left context.
template <backend Tag, dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y>
void conv3d_portable(Tag tag, const X& x, const W& wt, const B& bias, const Y& y, conv3d_padding pad) {
  conv3d_portable(tag, x, wt, bias, y, pad, detail::empty_view<typename X::value_type, 5>());
}

/// Channels-first [B, C, T, H, W] (PyTorch video layout, golden data, VAE I/O) → channels-last [B, T, H, W,
/// C] (sanawm's layout for the DiT tokens and the VAE internals). Any backend, any strides, float/bf16 each.
template <backend Tag, dense_view<5> X, dense_out_view<5> Y>
void to_channels_last(Tag tag, const X& x, const Y& y) {
  detail::check_layout_args("to_channels_last", x, y, false);
  parallel_for(
      tag, y.size(),
      channel_layout_body<typename X::value_type, typename Y::value_type, false>{as_input(x), as_output(y)});
}

/// Channels-last [B, T, H, W, C] → channels-first [B, C, T, H, W].
template <backend Tag, dense_view<5> X, dense_out_view<5> Y>
void to_channels_first(Tag tag, const X& x, const Y& y) {
  detail::check_layout_args("to_channels_first", x, y, true);
  parallel_for(
      tag, y.size(),
      channel_layout_body<typename X::value_type, typename Y::value_type, true>{as_input(x), as_output(y)});
}

}  // namespace sanawm

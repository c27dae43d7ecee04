// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/conv/conv_ref.hpp — float64 reference twins of the convolutions, written the way upstream
// states them: explicit padding (torch.cat of replicated frames, F.pad zeros/reflect) followed by a valid
// convolution; chunks convolved one at a time; the GDN short conv as causal(x) + flip(causal(flip(x))) −
// w_3·x.
#pragma once

#include <algorithm>  // std::fill
#include <span>       // std::span
#include <vector>     // std::vector

#include "sanawm/core/error.hpp"                 // make_error
#include "sanawm/core/int.hpp"                   // index_t
#include "sanawm/kernels/conv/conv.hpp"          // temporal_padding, spatial_padding, short_conv_taps
#include "sanawm/kernels/elementwise/dense.hpp"  // frame_chunks
#include "sanawm/kernels/elementwise/elementwise_ref.hpp"  // activation_ref

namespace sanawm {

/// A channels-last 5-D shape [B, T, H, W, C].
struct bthwc_shape {
  index_t b, t, h, w, c;
  constexpr index_t size() const noexcept { return b * t * h * w * c; }
};

namespace detail {
inline void expect_conv_ref_size(const char* op, const char* name, std::size_t got, index_t want) {
  if (static_cast<index_t>(got) != want)
    throw make_error(op, name, " has ", got, " elements, expected ", want);
}
}  // namespace detail

/// y[n, o] = act(Σ_i x[n, i]·w[o, i] + bias[o]); x [N, Cin], w [Cout, Cin], bias [Cout] or empty, y [N,
/// Cout].
inline void conv1x1_ref(std::span<const double> x, index_t n, index_t cin, std::span<const double> w,
                        index_t cout, std::span<const double> bias, activation act, std::span<double> y) {
  detail::expect_conv_ref_size("conv1x1_ref", "x", x.size(), n * cin);
  detail::expect_conv_ref_size("conv1x1_ref", "w", w.size(), cout * cin);
  detail::expect_conv_ref_size("conv1x1_ref", "y", y.size(), n * cout);
  for (index_t r = 0; r < n; ++r)
    for (index_t o = 0; o < cout; ++o) {
      double acc = bias.empty() ? 0.0 : bias[o];
      for (index_t i = 0; i < cin; ++i) acc += x[r * cin + i] * w[o * cin + i];
      y[r * cout + o] = activation_ref(act, acc);
    }
}

/// Depthwise 3x3 per frame, zero padding 1: x, y [B, T, H, W, C], w [C, 3, 3], bias [C] or empty.
inline void depthwise_conv3x3_ref(std::span<const double> x, bthwc_shape s, std::span<const double> w,
                                  std::span<const double> bias, std::span<double> y) {
  detail::expect_conv_ref_size("depthwise_conv3x3_ref", "x", x.size(), s.size());
  detail::expect_conv_ref_size("depthwise_conv3x3_ref", "y", y.size(), s.size());
  detail::expect_conv_ref_size("depthwise_conv3x3_ref", "w", w.size(), s.c * 9);
  // Zero-pad each frame explicitly to [H+2, W+2], then slide the 3x3 window.
  const index_t hp = s.h + 2, wp = s.w + 2;
  std::vector<double> pad(static_cast<std::size_t>(hp * wp * s.c));
  for (index_t f = 0; f < s.b * s.t; ++f) {
    std::fill(pad.begin(), pad.end(), 0.0);
    for (index_t h = 0; h < s.h; ++h)
      for (index_t wi = 0; wi < s.w; ++wi)
        for (index_t c = 0; c < s.c; ++c)
          pad[((h + 1) * wp + wi + 1) * s.c + c] = x[((f * s.h + h) * s.w + wi) * s.c + c];
    for (index_t h = 0; h < s.h; ++h)
      for (index_t wi = 0; wi < s.w; ++wi)
        for (index_t c = 0; c < s.c; ++c) {
          double acc = bias.empty() ? 0.0 : bias[c];
          for (index_t dh = 0; dh < 3; ++dh)
            for (index_t dw = 0; dw < 3; ++dw)
              acc += w[c * 9 + dh * 3 + dw] * pad[((h + dh) * wp + wi + dw) * s.c + c];
          y[((f * s.h + h) * s.w + wi) * s.c + c] = acc;
        }
  }
}

/// The FFN temporal conv, chunk by chunk as upstream's ChunkGLUMBConvTemp: each chunk [c0, c1) is convolved
/// on its own, padded in front by the frame before it (x[c0−1], the left context [B, S, Cin] for c0 = 0, or
/// zeros when that is empty) and behind by zeros. x [B, T, S, Cin], w [Cout, Cin, 3], y [B, T, S, Cout] (+ x
/// with residual).
inline void temporal_conv3_ref(std::span<const double> x, index_t b_n, index_t t_n, index_t s_n, index_t cin,
                               std::span<const double> w, index_t cout, frame_chunks chunks,
                               std::span<const double> left, bool residual, std::span<double> y) {
  detail::expect_conv_ref_size("temporal_conv3_ref", "x", x.size(), b_n * t_n * s_n * cin);
  detail::expect_conv_ref_size("temporal_conv3_ref", "w", w.size(), cout * cin * 3);
  detail::expect_conv_ref_size("temporal_conv3_ref", "y", y.size(), b_n * t_n * s_n * cout);
  if (!left.empty()) detail::expect_conv_ref_size("temporal_conv3_ref", "left", left.size(), b_n * s_n * cin);
  if (residual && cin != cout) throw make_error("temporal_conv3_ref", "residual needs cin == cout");
  const std::vector<double> zeros(static_cast<std::size_t>(cin), 0.0);
  for (index_t c0 = 0; c0 < t_n;) {
    const index_t c1 = chunks.chunk_end(c0, t_n);
    for (index_t b = 0; b < b_n; ++b)
      for (index_t s = 0; s < s_n; ++s) {
        // The padded chunk: [front, x[c0], …, x[c1−1], zeros].
        std::vector<const double*> seq;
        seq.push_back(c0 > 0 ? &x[((b * t_n + c0 - 1) * s_n + s) * cin]
                             : (left.empty() ? zeros.data() : &left[(b * s_n + s) * cin]));
        for (index_t t = c0; t < c1; ++t) seq.push_back(&x[((b * t_n + t) * s_n + s) * cin]);
        seq.push_back(zeros.data());
        for (index_t t = c0; t < c1; ++t)
          for (index_t o = 0; o < cout; ++o) {
            double acc = 0;
            for (index_t k = 0; k < 3; ++k)
              for (index_t i = 0; i < cin; ++i)
                acc += w[(o * cin + i) * 3 + k] * seq[static_cast<std::size_t>(t - c0 + k)][i];
            if (residual) acc += x[((b * t_n + t) * s_n + s) * cin + o];
            y[((b * t_n + t) * s_n + s) * cout + o] = acc;
          }
      }
    c0 = c1;
  }
}

/// The GDN short conv as upstream writes it: y = causal(x) + flip(causal(flip(x))) − w_3·x with
/// causal(x)[t] = Σ_j w_j·x[t−3+j]; the forward pass runs over all frames (preceded by the left context
/// [B, L, S, C] or zeros), the flipped pass within each chunk. x, y [B, T, S, C], w [C, 4].
inline void short_conv4_ref(std::span<const double> x, index_t b_n, index_t t_n, index_t s_n, index_t c_n,
                            std::span<const double> w, frame_chunks chunks, std::span<const double> left,
                            index_t l_n, std::span<double> y) {
  detail::expect_conv_ref_size("short_conv4_ref", "x", x.size(), b_n * t_n * s_n * c_n);
  detail::expect_conv_ref_size("short_conv4_ref", "w", w.size(), c_n * 4);
  detail::expect_conv_ref_size("short_conv4_ref", "left", left.size(), b_n * l_n * s_n * c_n);
  auto xv = [&](index_t b, index_t t, index_t s, index_t c) {
    return x[((b * t_n + t) * s_n + s) * c_n + c];
  };
  for (index_t b = 0; b < b_n; ++b)
    for (index_t s = 0; s < s_n; ++s)
      for (index_t c = 0; c < c_n; ++c) {
        // Extended sequence: l_n left-context frames, then x; zeros before.
        auto ext = [&](index_t t) -> double {
          if (t >= 0) return xv(b, t, s, c);
          if (t + l_n >= 0) return left[((b * l_n + t + l_n) * s_n + s) * c_n + c];
          return 0.0;
        };
        for (index_t c0 = 0; c0 < t_n;) {
          const index_t c1 = chunks.chunk_end(c0, t_n), len = c1 - c0;
          // flip(causal(flip(segment))) over the chunk.
          std::vector<double> rev(static_cast<std::size_t>(len)), crev(static_cast<std::size_t>(len));
          for (index_t u = 0; u < len; ++u) rev[u] = xv(b, c1 - 1 - u, s, c);
          for (index_t u = 0; u < len; ++u) {
            double acc = 0;
            for (index_t j = 0; j < 4; ++j)
              if (u - 3 + j >= 0) acc += w[c * 4 + j] * rev[static_cast<std::size_t>(u - 3 + j)];
            crev[u] = acc;
          }
          for (index_t t = c0; t < c1; ++t) {
            double causal = 0;
            for (index_t j = 0; j < 4; ++j) causal += w[c * 4 + j] * ext(t - 3 + j);
            y[((b * t_n + t) * s_n + s) * c_n + c] =
                causal + crev[static_cast<std::size_t>(c1 - 1 - t)] - w[c * 4 + 3] * xv(b, t, s, c);
          }
          c0 = c1;
        }
      }
}

/// General stride-1 3-D conv, upstream style: pad explicitly (time first: replicated first/last frames, the
/// left context, or zero frames; then space: zeros or reflect by kh/2, kw/2), then a valid convolution. x [B,
/// T, H, W, Cin], wt [Cout, Cin, kt, kh, kw], bias [Cout] or empty, left [B, L, H, W, Cin] (L frames, causal
/// modes), y [B, T', H, W, Cout].
inline void conv3d_ref(std::span<const double> x, bthwc_shape s, std::span<const double> wt, index_t cout,
                       index_t kt, index_t kh, index_t kw, std::span<const double> bias, conv3d_padding pad,
                       std::span<const double> left, index_t l_n, std::span<double> y) {
  detail::expect_conv_ref_size("conv3d_ref", "x", x.size(), s.size());
  detail::expect_conv_ref_size("conv3d_ref", "wt", wt.size(), cout * s.c * kt * kh * kw);
  detail::expect_conv_ref_size("conv3d_ref", "left", left.size(), s.b * l_n * s.h * s.w * s.c);
  const bool causal =
      pad.temporal == temporal_padding::causal_replicate || pad.temporal == temporal_padding::causal_zero;
  const bool replicate = pad.temporal == temporal_padding::causal_replicate ||
                         pad.temporal == temporal_padding::symmetric_replicate;
  const index_t front = pad.temporal == temporal_padding::valid ? 0 : causal ? kt - 1 : (kt - 1) / 2;
  const index_t back = pad.temporal == temporal_padding::valid || causal ? 0 : (kt - 1) / 2;
  const index_t t_out = s.t + front + back - kt + 1;
  detail::expect_conv_ref_size("conv3d_ref", "y", y.size(), s.b * t_out * s.h * s.w * cout);
  const index_t ph = kh / 2, pw = kw / 2, hp = s.h + 2 * ph, wp = s.w + 2 * pw, tp = s.t + front + back;
  const std::size_t frame = static_cast<std::size_t>(s.h * s.w * s.c);
  for (index_t b = 0; b < s.b; ++b) {
    // 1. temporal padding: a list of [H, W, C] frames (nullptr = zeros).
    std::vector<const double*> frames;
    for (index_t k = 0; k < front; ++k) {
      const index_t back_from_zero = front - k;  // this padded frame sits at index −back_from_zero
      if (causal && l_n > 0) {
        const index_t li = l_n - back_from_zero;
        frames.push_back(
            li >= 0 ? &left[(b * l_n + li) * frame]
                    : (replicate ? &left[(b * l_n) * frame] : nullptr));  // short history: oldest frame
      } else {
        frames.push_back(replicate ? &x[(b * s.t) * frame] : nullptr);
      }
    }
    for (index_t t = 0; t < s.t; ++t) frames.push_back(&x[(b * s.t + t) * frame]);
    for (index_t k = 0; k < back; ++k)
      frames.push_back(replicate ? &x[(b * s.t + s.t - 1) * frame] : nullptr);
    // 2. spatial padding of every frame.
    std::vector<double> xp(static_cast<std::size_t>(tp * hp * wp * s.c), 0.0);
    for (index_t t = 0; t < tp; ++t) {
      const double* f = frames[static_cast<std::size_t>(t)];
      if (!f) continue;
      for (index_t h = 0; h < hp; ++h)
        for (index_t wi = 0; wi < wp; ++wi) {
          index_t sh = h - ph, sw = wi - pw;
          if (pad.spatial == spatial_padding::reflect) {
            sh = sh < 0 ? -sh : (sh >= s.h ? 2 * (s.h - 1) - sh : sh);
            sw = sw < 0 ? -sw : (sw >= s.w ? 2 * (s.w - 1) - sw : sw);
          } else if (sh < 0 || sh >= s.h || sw < 0 || sw >= s.w) {
            continue;
          }
          for (index_t c = 0; c < s.c; ++c)
            xp[((t * hp + h) * wp + wi) * s.c + c] = f[(sh * s.w + sw) * s.c + c];
        }
    }
    // 3. valid convolution.
    for (index_t t = 0; t < t_out; ++t)
      for (index_t h = 0; h < s.h; ++h)
        for (index_t wi = 0; wi < s.w; ++wi)
          for (index_t o = 0; o < cout; ++o) {
            double acc = bias.empty() ? 0.0 : bias[o];
            for (index_t i = 0; i < s.c; ++i)
              for (index_t dt = 0; dt < kt; ++dt)
                for (index_t dh = 0; dh < kh; ++dh)
                  for (index_t dw = 0; dw < kw; ++dw)
                    acc += wt[(((o * s.c + i) * kt + dt) * kh + dh) * kw + dw] *
                           xp[(((t + dt) * hp + h + dh) * wp + wi + dw) * s.c + i];
            y[(((b * t_out + t) * s.h + h) * s.w + wi) * cout + o] = acc;
          }
  }
}

}  // namespace sanawm

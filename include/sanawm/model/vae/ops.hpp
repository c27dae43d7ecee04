// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/ops.hpp — the LTX-2 VAE's CPU building blocks on channels-last clips [T, H, W, C]: the 3x3x3
// conv (implicit GEMM via kernels/conv), RMSNorm+SiLU, patchify/unpatchify, space-to-depth and depth-to-space.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/model/vae/ops.hpp: host-only header (CPU SIMD kernels); include it from .cpp files"
#endif

#include <algorithm>         // std::min, std::max
#include <array>             // std::array
#include <chrono>            // std::chrono::steady_clock (conv_profile)
#include <ctime>             // std::clock (conv_profile)
#include <cstring>           // std::memcpy
#include <initializer_list>  // std::initializer_list
#include <memory>            // std::shared_ptr
#include <mutex>             // std::mutex
#include <utility>           // std::pair

#include "sanawm/backend/cpu/parallel.hpp"                 // parallel_for
#include "sanawm/backend/tags.hpp"                         // cpu_t
#include "sanawm/core/buffer.hpp"                          // host_buffer
#include "sanawm/core/error.hpp"                           // make_error
#include "sanawm/core/int.hpp"                             // index_t
#include "sanawm/kernels/conv/conv_cpu.hpp"                // conv3d(cpu_t)
#include "sanawm/kernels/elementwise/elementwise_cpu.hpp"  // activate(cpu_t)
#include "sanawm/kernels/norms/norms_cpu.hpp"              // rms_norm(cpu_t), vae_rms_norm_eps
#include "sanawm/model/vae/conv_executor.hpp"              // conv_executor
#include "sanawm/model/vae/modules.hpp"                    // conv_weights

namespace sanawm::vae {

/// One sample's activations, channels-last: [T, H, W, C] fp32, row-major (a frame is H·W·C contiguous floats).
/// This is the VAE's internal layout: the 3x3x3 conv is an implicit GEMM over channels, and temporal slicing
/// (caches, chunks) is a contiguous range.
struct clip {
  index_t t = 0, h = 0, w = 0, c = 0;
  host_buffer<float> data;

  clip() = default;
  clip(index_t t_, index_t h_, index_t w_, index_t c_) : t(t_), h(h_), w(w_), c(c_), data(t_ * h_ * w_ * c_) {}
  index_t frame_size() const noexcept { return h * w * c; }
  index_t size() const noexcept { return t * frame_size(); }
  float* frame(index_t i) noexcept { return data.data() + i * frame_size(); }
  const float* frame(index_t i) const noexcept { return data.data() + i * frame_size(); }
  /// The clip as the [1, T, H, W, C] view the conv kernels take.
  tensor_view<float, dextents<5>> view5() noexcept { return {data.data(), dextents<5>(1, t, h, w, c)}; }
  tensor_view<const float, dextents<5>> view5() const noexcept { return {data.data(), dextents<5>(1, t, h, w, c)}; }
  /// The clip as [T·H·W, C] rows.
  tensor_view<float, dextents<2>> rows() noexcept { return {data.data(), dextents<2>(t * h * w, c)}; }
};

/// The frame ranges {clip, [begin, end)} concatenated in order into one new clip (all clips share H, W, C): conv
/// windows are assembled from cached history and new frames this way. An all-empty list gives a 0-frame clip.
inline clip concat_frames(std::initializer_list<std::pair<const clip*, std::array<index_t, 2>>> parts) {
  index_t t = 0;
  const clip* ref = nullptr;
  for (const auto& [c, r] : parts) {
    t += r[1] - r[0];
    if (r[1] > r[0]) ref = c;
  }
  if (!ref) return clip(0, parts.begin()->first->h, parts.begin()->first->w, parts.begin()->first->c);
  clip out(t, ref->h, ref->w, ref->c);
  index_t at = 0;
  for (const auto& [c, r] : parts)
    for (index_t i = r[0]; i < r[1]; ++i)
      std::memcpy(out.frame(at++), c->frame(i), static_cast<std::size_t>(out.frame_size()) * sizeof(float));
  return out;
}

/// Frames [begin, end) of `x` as a new clip.
inline clip slice_frames(const clip& x, index_t begin, index_t end) { return concat_frames({{&x, {begin, end}}}); }

/// Optional accounting of the 3x3x3 convs (benchmarks): FLOPs (2·MAC), wall time and process CPU time (all
/// threads, std::clock) spent inside conv(). FLOPs per CPU second is a per-core rate that stays meaningful on a
/// shared machine. Set `conv_profile::active` to a live object to enable; not thread-safe (the VAE calls conv from
/// one thread).
struct conv_profile {
  double flops = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  index_t calls = 0;
  static inline conv_profile* active = nullptr;
};

/// Output positions (frames × H × W) below which an implicit-GEMM conv call uses the packed-weight cache when it
/// is on (set_weight_packing): under ~1000 rows, packing the weights costs more than a few percent of the GEMM.
inline constexpr index_t conv_pack_rows = 1024;

/// conv()'s CPU path: conv3d(cpu_t) — Winograd for the convs it pays for (most of the VAE's FLOPs), the implicit
/// GEMM otherwise — with the prepared-weight caches when they are on (conv_weights::keep_prepared).
inline void conv_on_cpu(const conv_weights& wt, const clip& x, const conv3d_padding& p, const clip* left, clip& y) {
  const auto lv =
      left ? left->view5() : tensor_view<const float, dextents<5>>(nullptr, dextents<5>(0, 0, x.h, x.w, x.c));
  const gemm_compute mode = wt.is_bf16() ? gemm_compute::bf16 : gemm_compute::fp32;
  static std::mutex mu;  // builds each conv's prepared weights once, also with several decoders on one weight set
  const bool winograd = cpu::dense::conv3d_winograd_pays(wt.cin, wt.cout, wt.kh, wt.kw, x.h * x.w);
  if (winograd && wt.keep_prepared) {
    std::shared_ptr<const cpu::conv3d_winograd_weights> uw;
    {
      const std::lock_guard<std::mutex> lock(mu);
      if (!wt.winograd)
        wt.winograd = std::make_shared<const cpu::conv3d_winograd_weights>(
            wt.is_bf16() ? cpu::conv3d_winograd_weights::prepare(wt.view16(), mode)
                         : cpu::conv3d_winograd_weights::prepare(wt.view(), mode));
      uw = wt.winograd;
    }
    conv3d(cpu_t{}, x.view5(), *uw, wt.bias_view(), y.view5(), p, lv);
    return;
  }
  std::shared_ptr<const cpu::packed_gemm_b> packed;  // (a Winograd conv without the cache transforms per call)
  if (!winograd && wt.keep_prepared && y.t * y.h * y.w < conv_pack_rows) {
    const std::lock_guard<std::mutex> lock(mu);
    if (!wt.packed)
      wt.packed = std::make_shared<const cpu::packed_gemm_b>(
          wt.is_bf16() ? pack_conv3d_weights(wt.view16(), mode) : pack_conv3d_weights(wt.view(), mode));
    packed = wt.packed;
  }
  // The choice made above, passed on, so conv3d's own automatic rule cannot disagree with the caches.
  const conv3d_algorithm algo = winograd ? conv3d_algorithm::winograd : conv3d_algorithm::implicit_gemm;
  if (wt.is_bf16())
    conv3d(cpu_t{}, x.view5(), wt.view16(), wt.bias_view(), y.view5(), p, lv, mode, packed.get(), algo);
  else
    conv3d(cpu_t{}, x.view5(), wt.view(), wt.bias_view(), y.view5(), p, lv, mode, packed.get(), algo);
}

/// y = conv3d(x) with a 3x3x3 kernel, spatial 'same' padding (`pad`), and the temporal mode `tmode`: valid (the
/// caller has already padded the window), causal_replicate or symmetric_replicate (whole clip). With `left` (two
/// frames, causal_replicate only), output t reads left/x frames t−2, t−1, t: the valid conv of the window [left, x]
/// without building that window (bit-identical: the same gathered values and dot products). With `exec` the conv runs
/// there (conv_executor.hpp: another backend, e.g. the GPU) instead of the CPU's conv3d.
inline clip conv(const conv_weights& wt, const clip& x, temporal_padding tmode, vae_padding pad,
                 const clip* left = nullptr, conv_executor* exec = nullptr) {
  if (x.c != wt.cin)
    throw make_error("vae", wt.key, ": input has ", x.c, " channels, the conv expects ", wt.cin);
  if (left && (tmode != temporal_padding::causal_replicate || left->t != wt.kt - 1 || left->h != x.h ||
               left->w != x.w || left->c != x.c))
    throw make_error("vae", wt.key, ": the left context must be kt - 1 causal frames of x's shape");
  const index_t t_out = tmode == temporal_padding::valid ? x.t - (wt.kt - 1) : x.t;
  clip y(std::max<index_t>(t_out, 0), x.h, x.w, wt.cout);
  if (y.t == 0) return y;
  const conv3d_padding p{tmode, pad == vae_padding::zeros ? spatial_padding::zeros : spatial_padding::reflect};
  conv_profile* prof = conv_profile::active;
  const auto t0 = prof ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  const std::clock_t c0 = prof ? std::clock() : std::clock_t{};
  if (exec) {
    exec->conv(wt, x.data.data(), x.t, x.h, x.w, left ? left->data.data() : nullptr, left ? left->t : 0, p,
               y.data.data(), y.t);
  } else {
    conv_on_cpu(wt, x, p, left, y);
  }
  if (prof) {
    prof->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    prof->cpu_seconds += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    prof->flops += 2.0 * static_cast<double>(wt.kt * wt.kh * wt.kw * wt.cin * wt.cout) *
                   static_cast<double>(y.t * y.h * y.w);
    ++prof->calls;
  }
  return y;
}

/// y = SiLU(RMSNorm_channels(x)) with eps 1e-8 and no weight (PerChannelRMSNorm then nn.SiLU), in place.
inline void norm_silu(clip& x) {
  if (x.size() == 0) return;
  auto r = x.rows();
  rms_norm(cpu_t{}, r, tensor_view<const float, dextents<1>>(), vae_rms_norm_eps, r);
  activate(cpu_t{}, activation::silu, r, r);
}

/// y = x + r elementwise, in place on x.
inline void add_inplace(clip& x, const clip& r) {
  if (x.size() != r.size()) throw make_error("vae", "residual size mismatch ", x.size(), " vs ", r.size());
  float* a = x.data.data();
  const float* b = r.data.data();
  cpu::dense::parallel_items(x.size(), 1, [&](index_t s, index_t e) {
    for (index_t i = s; i < e; ++i) a[i] += b[i];
  });
}

/// Patchify of one sample: video [C, F, H, W] (channels-first, strides given) → clip [F, H/p, W/p, C·p²] with
/// channel `c·p² + iw·p + ih` for pixel (p·h + ih, p·w + iw) — width sub-index first, as upstream.
inline clip patchify(const float* video, index_t c_n, index_t f_n, index_t h_n, index_t w_n, index_t p) {
  clip y(f_n, h_n / p, w_n / p, c_n * p * p);
  const index_t hp = y.h, wp = y.w, pc = y.c;
  parallel_for(cpu_t{}, f_n * hp, [&](index_t row) {
    const index_t f = row / hp, h = row % hp;
    for (index_t w = 0; w < wp; ++w) {
      float* dst = y.data.data() + ((f * hp + h) * wp + w) * pc;
      for (index_t c = 0; c < c_n; ++c)
        for (index_t iw = 0; iw < p; ++iw)
          for (index_t ih = 0; ih < p; ++ih)
            dst[(c * p + iw) * p + ih] = video[((c * f_n + f) * h_n + h * p + ih) * w_n + w * p + iw];
    }
  });
  return y;
}

/// Unpatchify of one sample: clip [F, h, w, C·p²] → video frames [C, frames, h·p, w·p] written at frame offset
/// `f0` of an output with `f_total` frames (channels-first). Inverse of patchify.
inline void unpatchify(const clip& x, index_t p, float* video, index_t f_total, index_t f0) {
  const index_t c_n = x.c / (p * p), hh = x.h * p, ww = x.w * p;
  parallel_for(cpu_t{}, x.t * x.h, [&](index_t row) {
    const index_t f = row / x.h, h = row % x.h;
    for (index_t w = 0; w < x.w; ++w) {
      const float* src = x.data.data() + ((f * x.h + h) * x.w + w) * x.c;
      for (index_t c = 0; c < c_n; ++c)
        for (index_t iw = 0; iw < p; ++iw)
          for (index_t ih = 0; ih < p; ++ih)
            video[((c * f_total + f0 + f) * hh + h * p + ih) * ww + w * p + iw] = src[(c * p + iw) * p + ih];
    }
  });
}

/// Space-to-depth with stride (st, sh, sw): x [T, H, W, C] → [T/st, H/sh, W/sw, C·st·sh·sw], output channel
/// ((c·st + it)·sh + ih)·sw + iw from frame t·st + it, row h·sh + ih, column w·sw + iw. With `group` > 1 the
/// result is averaged over consecutive groups of `group` channels (the downsampler's residual).
inline clip space_to_depth(const clip& x, std::array<index_t, 3> s, index_t group = 1) {
  const index_t st = s[0], sh = s[1], sw = s[2], cf = x.c * st * sh * sw;
  clip y(x.t / st, x.h / sh, x.w / sw, cf / group);
  const float inv = 1.0f / static_cast<float>(group);
  parallel_for(cpu_t{}, y.t * y.h, [&](index_t row) {
    const index_t t = row / y.h, h = row % y.h;
    for (index_t w = 0; w < y.w; ++w) {
      float* dst = y.data.data() + ((t * y.h + h) * y.w + w) * y.c;
      for (index_t j = 0; j < y.c; ++j) dst[j] = 0.0f;
      for (index_t c = 0; c < x.c; ++c)
        for (index_t it = 0; it < st; ++it)
          for (index_t ih = 0; ih < sh; ++ih)
            for (index_t iw = 0; iw < sw; ++iw) {
              const index_t k = ((c * st + it) * sh + ih) * sw + iw;
              const float v = x.data[(((t * st + it) * x.h + h * sh + ih) * x.w + w * sw + iw) * x.c + c];
              if (group == 1) dst[k] = v;
              else dst[k / group] += v;
            }
      if (group > 1)
        for (index_t j = 0; j < y.c; ++j) dst[j] *= inv;
    }
  });
  return y;
}

/// Depth-to-space with stride (st, sh, sw), dropping the first `drop` output frames: x [T, H, W, C·st·sh·sw] →
/// [T·st − drop, H·sh, W·sw, C·repeat]; input channel ((c·st + it)·sh + ih)·sw + iw lands at frame t·st + it, row
/// h·sh + ih, column w·sw + iw. With repeat > 1 the C channels are tiled (output channel k reads channel k mod C:
/// the upsampler's residual). When `acc` is true the result is added to `y` instead of stored.
inline void depth_to_space(const clip& x, std::array<index_t, 3> s, index_t drop, index_t repeat, clip& y, bool acc) {
  const index_t st = s[0], sh = s[1], sw = s[2], c_n = x.c / (st * sh * sw);
  const index_t t_out = x.t * st - drop;
  if (y.t != t_out || y.h != x.h * sh || y.w != x.w * sw || y.c != c_n * repeat)
    throw make_error("vae", "depth_to_space: output clip has the wrong shape");
  parallel_for(cpu_t{}, std::max<index_t>(t_out, 0) * y.h, [&](index_t row) {
    const index_t to = row / y.h, ho = row % y.h;
    const index_t tf = to + drop, t = tf / st, it = tf % st, h = ho / sh, ih = ho % sh;
    for (index_t wo = 0; wo < y.w; ++wo) {
      const index_t w = wo / sw, iw = wo % sw;
      const float* src = x.data.data() + ((t * x.h + h) * x.w + w) * x.c;
      float* dst = y.data.data() + ((to * y.h + ho) * y.w + wo) * y.c;
      for (index_t r = 0; r < repeat; ++r)
        for (index_t c = 0; c < c_n; ++c) {
          const float v = src[((c * st + it) * sh + ih) * sw + iw];
          if (acc) dst[r * c_n + c] += v;
          else dst[r * c_n + c] = v;
        }
    }
  });
}

}  // namespace sanawm::vae

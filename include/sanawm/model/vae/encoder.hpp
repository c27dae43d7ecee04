// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/encoder.hpp — the LTX-2 video encoder (LTX2VideoEncoder3d) on the CPU: patchify, causal zero-
// padded 3x3x3 convs, space-to-depth downsamplers with group-mean residuals, and the posterior (mean, log-variance).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/model/vae/encoder.hpp: host-only header (CPU SIMD kernels); include it from .cpp files"
#endif

#include <algorithm>   // std::min, std::max
#include <functional>  // std::function
#include <string>      // std::string

#include "sanawm/core/error.hpp"         // make_error
#include "sanawm/core/int.hpp"           // index_t
#include "sanawm/core/shape.hpp"         // dextents
#include "sanawm/core/tensor.hpp"        // tensor
#include "sanawm/model/vae/modules.hpp"  // vae_weights
#include "sanawm/model/vae/ops.hpp"      // clip, conv, norm_silu, patchify, space_to_depth

namespace sanawm::vae {

/// The posterior of encode(): `mean` (= mode(), what SANA-WM uses) and `logvar` clamped to [−30, 20], both
/// [B, C_lat, T_lat, H/32, W/32] channels-first. Every log-variance channel holds the same values (upstream
/// predicts one channel and repeats it).
struct posterior {
  tensor<float, dextents<5>> mean;
  tensor<float, dextents<5>> logvar;
};

/// Options of encode().
struct encode_options {
  /// Callback for intermediate activations (channels-last clips) by module name: "encoder.patchify",
  /// "encoder.conv_in", "encoder.down_blocks.<i>", "encoder.mid_block", "encoder.conv_out". For tests.
  std::function<void(const std::string&, const clip&)> on_intermediate;
  conv_executor* executor = nullptr;  ///< where the convs run (nullptr: the CPU), see conv_executor.hpp
};

namespace detail {

/// The encoder on one sample's patchified clip → conv_out output [T_lat, h, w, C_lat + 1].
inline clip encode_clip(const vae_weights& w, clip x, const encode_options& opt) {
  const vae_config& cfg = w.config;
  const temporal_padding tm =
      cfg.encoder_causal ? temporal_padding::causal_replicate : temporal_padding::symmetric_replicate;
  const vae_padding pad = cfg.encoder_spatial_padding_mode;
  auto tap = [&](const std::string& name, const clip& c) {
    if (opt.on_intermediate) opt.on_intermediate(name, c);
  };
  auto resnet = [&](const resnet_weights& r, const clip& in) {
    clip h = slice_frames(in, 0, in.t);
    norm_silu(h);
    h = conv(r.conv1, h, tm, pad, nullptr, opt.executor);
    norm_silu(h);
    h = conv(r.conv2, h, tm, pad, nullptr, opt.executor);
    add_inplace(h, in);
    return h;
  };
  tap("encoder.patchify", x);
  x = conv(w.encoder.conv_in, x, tm, pad, nullptr, opt.executor);
  tap("encoder.conv_in", x);
  for (std::size_t i = 0; i < w.encoder.down_blocks.size(); ++i) {
    const auto& blk = w.encoder.down_blocks[i];
    for (const auto& r : blk.resnets) x = resnet(r, x);
    const auto s = blk.level.stride;
    // Prepend the first st − 1 frames (frame 0 again for st = 2), so the causal first frame forms its own group.
    clip xp = concat_frames({{&x, {0, s[0] - 1}}, {&x, {0, x.t}}});
    if (xp.t % s[0] != 0 || xp.h % s[1] != 0 || xp.w % s[2] != 0)
      throw make_error("vae", "encode: ", blk.downsampler.key, " needs T + ", s[0] - 1, " divisible by ", s[0], " and H, W by ",
                       s[1], ", ", s[2], "; got T=", x.t, " H=", x.h, " W=", x.w,
                       " (input frames must be 1 mod 8 and sides multiples of 32)");
    const clip y = conv(blk.downsampler, xp, tm, pad, nullptr, opt.executor);
    clip out = space_to_depth(y, s);
    add_inplace(out, space_to_depth(xp, s, blk.level.group));
    x = std::move(out);
    tap(str_cat("encoder.down_blocks.", i), x);
  }
  for (const auto& r : w.encoder.mid_block) x = resnet(r, x);
  tap("encoder.mid_block", x);
  norm_silu(x);
  x = conv(w.encoder.conv_out, x, tm, pad, nullptr, opt.executor);
  tap("encoder.conv_out", x);
  return x;
}

}  // namespace detail

/// `vae.encode(video).latent_dist`: video [B, 3, F, H, W] channels-first in [−1, 1], F ≡ 1 (mod 8), H and W
/// multiples of 32 → posterior mean / log-variance [B, 128, (F−1)/8 + 1, H/32, W/32]. One image (F = 1) gives one
/// latent frame (SANA-WM's first-frame conditioning).
inline posterior encode(const vae_weights& w, tensor_view<const float, dextents<5>> video, const encode_options& opt = {}) {
  if (!w.parts.encoder) throw make_error("vae", "encode: the weights were built without the encoder");
  if (!video.is_contiguous()) throw make_error("vae", "encode: the video must be contiguous");
  const vae_config& cfg = w.config;
  const index_t b_n = video.extent(0), c_n = video.extent(1), f_n = video.extent(2), h = video.extent(3),
                w_n = video.extent(4);
  if (c_n != cfg.in_channels)
    throw make_error("vae", "encode: video has ", c_n, " channels, the VAE expects ", cfg.in_channels);
  const auto comp = compression(cfg);
  if (f_n < 1 || (f_n - 1) % comp[0] != 0 || h % comp[1] != 0 || w_n % comp[2] != 0 || h == 0 || w_n == 0)
    throw make_error("vae", "encode: video is [", b_n, ", ", c_n, ", ", f_n, ", ", h, ", ", w_n, "]; need F = 1 mod ",
                     comp[0], " and H, W positive multiples of ", comp[1]);
  const index_t lc = cfg.latent_channels;
  const index_t t_l = (f_n - 1) / comp[0] + 1, h_l = h / comp[1], w_l = w_n / comp[2];
  posterior out{tensor<float, dextents<5>>(dextents<5>(b_n, lc, t_l, h_l, w_l)),
                tensor<float, dextents<5>>(dextents<5>(b_n, lc, t_l, h_l, w_l))};
  for (index_t b = 0; b < b_n; ++b) {
    const clip y = detail::encode_clip(
        w, patchify(video.data() + b * c_n * f_n * h * w_n, c_n, f_n, h, w_n, cfg.patch_size), opt);
    if (y.t != t_l || y.h != h_l || y.w != w_l || y.c != lc + 1)
      throw make_error("vae", "encode: internal shape error");
    for (index_t t = 0; t < t_l; ++t)
      for (index_t i = 0; i < h_l; ++i)
        for (index_t j = 0; j < w_l; ++j) {
          const float* px = y.data.data() + ((t * h_l + i) * w_l + j) * y.c;
          const float lv = std::min(20.0f, std::max(-30.0f, px[lc]));
          for (index_t c = 0; c < lc; ++c) {
            out.mean(b, c, t, i, j) = px[c];
            out.logvar(b, c, t, i, j) = lv;
          }
        }
  }
  return out;
}

/// SANA-WM's latent normalisation after encode: z_n = (mean − latents_mean) · scaling_factor / latents_std,
/// per channel, in place on [B, C_lat, T, H, W].
inline void normalize_latents(const vae_weights& w, tensor_view<float, dextents<5>> z) {
  if (z.extent(1) != w.config.latent_channels)
    throw make_error("vae", "normalize_latents: ", z.extent(1), " channels, expected ", w.config.latent_channels);
  const auto sf = static_cast<float>(w.config.scaling_factor);
  const index_t inner = z.extent(2) * z.extent(3) * z.extent(4);
  for (index_t b = 0; b < z.extent(0); ++b)
    for (index_t c = 0; c < z.extent(1); ++c) {
      float* p = &z(b, c, 0, 0, 0);
      for (index_t i = 0; i < inner; ++i) p[i] = (p[i] - w.latents_mean[c]) * sf / w.latents_std[c];
    }
}

/// SANA-WM's de-normalisation before decode: z = z_n · latents_std / scaling_factor + latents_mean, in place.
inline void denormalize_latents(const vae_weights& w, tensor_view<float, dextents<5>> z) {
  if (z.extent(1) != w.config.latent_channels)
    throw make_error("vae", "denormalize_latents: ", z.extent(1), " channels, expected ", w.config.latent_channels);
  const auto sf = static_cast<float>(w.config.scaling_factor);
  const index_t inner = z.extent(2) * z.extent(3) * z.extent(4);
  for (index_t b = 0; b < z.extent(0); ++b)
    for (index_t c = 0; c < z.extent(1); ++c) {
      float* p = &z(b, c, 0, 0, 0);
      for (index_t i = 0; i < inner; ++i) p[i] = p[i] * w.latents_std[c] / sf + w.latents_mean[c];
    }
}

}  // namespace sanawm::vae

// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/config.hpp — the LTX-2 video VAE configuration (diffusers AutoencoderKLLTX2Video constructor
// arguments), presets (the released LTX-2.0 checkpoint, the golden tiny config) and the derived layer widths.
#pragma once

#include <array>        // std::array
#include <cstdint>      // std::uint8_t
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/core/int.hpp"    // index_t

namespace sanawm::vae {

/// Spatial padding of the VAE's 3x3x3 convs (config `encoder_spatial_padding_mode` / `decoder_spatial_padding_mode`).
enum class vae_padding : std::uint8_t { zeros, reflect };

/// Down/up sampling type of one level: its stride (t, h, w).
enum class sample_type : std::uint8_t {
  spatial,         ///< stride (1, 2, 2)
  temporal,        ///< stride (2, 1, 1)
  spatiotemporal,  ///< stride (2, 2, 2)
};

/// The (t, h, w) stride of a sampling type.
constexpr std::array<index_t, 3> sample_stride(sample_type s) noexcept {
  switch (s) {
    case sample_type::spatial: return {1, 2, 2};
    case sample_type::temporal: return {2, 1, 1};
    case sample_type::spatiotemporal: break;
  }
  return {2, 2, 2};
}

/// Parses "spatial" / "temporal" / "spatiotemporal" (the diffusers strings).
inline sample_type parse_sample_type(std::string_view s) {
  if (s == "spatial") return sample_type::spatial;
  if (s == "temporal") return sample_type::temporal;
  if (s == "spatiotemporal") return sample_type::spatiotemporal;
  throw make_error("vae", "unknown sampling type '", s, "' (known: spatial, temporal, spatiotemporal; the plain "
                   "stride-2 'conv' downsampler is not used by LTX-2 and not implemented)");
}

/// The constructor arguments of diffusers' AutoencoderKLLTX2Video that shape the network. Field names follow the
/// config.json keys. Only what LTX-2.0 (and SANA-WM's `vae/`) uses is implemented: timestep conditioning, noise
/// injection and the `conv` downsampler are rejected by validate() with a message naming the key.
struct vae_config {
  index_t in_channels = 3;
  index_t out_channels = 3;
  index_t latent_channels = 128;
  std::vector<index_t> block_out_channels{256, 512, 1024, 2048};  ///< encoder level widths
  std::vector<index_t> decoder_block_out_channels{256, 512, 1024};
  std::vector<index_t> layers_per_block{4, 6, 6, 2, 2};          ///< per down block, then the mid block
  std::vector<index_t> decoder_layers_per_block{5, 5, 5, 5};     ///< the mid block, then per up block
  std::vector<bool> spatio_temporal_scaling{true, true, true, true};
  std::vector<bool> decoder_spatio_temporal_scaling{true, true, true};
  std::vector<bool> decoder_inject_noise{false, false, false, false};
  std::vector<sample_type> downsample_type{sample_type::spatial, sample_type::temporal, sample_type::spatiotemporal,
                                           sample_type::spatiotemporal};
  std::vector<sample_type> upsample_type{sample_type::spatiotemporal, sample_type::spatiotemporal,
                                         sample_type::spatiotemporal};
  std::vector<bool> upsample_residual{true, true, true};
  std::vector<index_t> upsample_factor{2, 2, 2};
  bool timestep_conditioning = false;
  index_t patch_size = 4;
  index_t patch_size_t = 1;
  double resnet_norm_eps = 1e-6;  ///< unused by the LTX-2 blocks (their RMSNorm has eps 1e-8), kept for fidelity
  double scaling_factor = 1.0;
  bool encoder_causal = true;
  bool decoder_causal = false;  ///< the LTX-2.0 conversion config (the diffusers constructor default is true)
  vae_padding encoder_spatial_padding_mode = vae_padding::zeros;
  vae_padding decoder_spatial_padding_mode = vae_padding::reflect;
  index_t spatial_compression_ratio = 32;
  index_t temporal_compression_ratio = 8;

  index_t num_down_blocks() const noexcept { return static_cast<index_t>(block_out_channels.size()); }
  index_t num_up_blocks() const noexcept { return static_cast<index_t>(decoder_block_out_channels.size()); }
};

/// The released LTX-2.0 VAE (SANA-WM's `vae/`): 128 latent channels, 8 × 32 × 32 compression.
inline vae_config ltx2_vae() { return vae_config{}; }

/// The golden tiny config (shared/golden vae_tiny_a): LTX-2.0's structure with widths (16, 32, 64, 128) /
/// (16, 32, 64) and one layer per block.
inline vae_config vae_tiny_a() {
  vae_config c;
  c.block_out_channels = {16, 32, 64, 128};
  c.decoder_block_out_channels = {16, 32, 64};
  c.layers_per_block = {1, 1, 1, 1, 1};
  c.decoder_layers_per_block = {1, 1, 1, 1};
  return c;
}

/// Widths derived from a config (diffusers' arithmetic; see docs/vae.md).
struct encoder_level {
  index_t channels;       ///< ResNet width (input of the level)
  index_t out_channels;   ///< after the space-to-depth downsampler
  index_t layers;         ///< ResNets
  std::array<index_t, 3> stride;
  index_t conv_out;       ///< downsampler conv output channels = out / (st·sh·sw)
  index_t group;          ///< residual group size = channels·st·sh·sw / out
};
struct decoder_level {
  index_t in_channels;    ///< upsampler input
  index_t out_channels;   ///< after depth-to-space = ResNet width
  index_t layers;
  std::array<index_t, 3> stride;
  index_t factor;         ///< upsample_factor
  index_t conv_out;       ///< upsampler conv output channels = in·st·sh·sw / factor
  bool residual;
};

/// The encoder levels in execution order. conv_in outputs `latent_channels` (not block_out_channels[0]: ltx2-vae.md
/// §3.2), and level i runs its ResNets at its input width, then a space-to-depth downsampler to
/// block_out_channels[i] (golden tiny: conv_in 48→128, level 0 at 128 ch → 16).
inline std::vector<encoder_level> encoder_levels(const vae_config& c) {
  std::vector<encoder_level> out;
  index_t ch = c.latent_channels;
  for (index_t i = 0; i < c.num_down_blocks(); ++i) {
    const auto st = sample_stride(c.downsample_type[static_cast<std::size_t>(i)]);
    const index_t prod = st[0] * st[1] * st[2];
    const index_t oc = c.block_out_channels[static_cast<std::size_t>(i)];
    out.push_back({ch, oc, c.layers_per_block[static_cast<std::size_t>(i)], st, oc / prod, ch * prod / oc});
    ch = oc;
  }
  return out;
}

/// The decoder levels, in execution order (diffusers reverses decoder_block_out_channels).
inline std::vector<decoder_level> decoder_levels(const vae_config& c) {
  std::vector<decoder_level> out;
  const index_t n = c.num_up_blocks();
  for (index_t i = 0; i < n; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    const index_t rev = c.decoder_block_out_channels[static_cast<std::size_t>(n - 1 - i)];
    const index_t u = c.upsample_factor[ui];
    const auto st = sample_stride(c.upsample_type[ui]);
    const index_t oc = rev / u;
    const index_t ic = oc * u;
    out.push_back({ic, oc, c.decoder_layers_per_block[ui + 1], st, u, ic * st[0] * st[1] * st[2] / u,
                   c.upsample_residual[ui]});
  }
  return out;
}

/// Width of the decoder's conv_in / mid block: the last (largest) decoder_block_out_channels entry.
inline index_t decoder_mid_channels(const vae_config& c) { return c.decoder_block_out_channels.back(); }
/// Width of the encoder's mid block: the last block_out_channels entry.
inline index_t encoder_mid_channels(const vae_config& c) { return c.block_out_channels.back(); }
/// Channels after patchify: in_channels · p_t · p².
inline index_t patch_channels(const vae_config& c) { return c.in_channels * c.patch_size_t * c.patch_size * c.patch_size; }

/// Total (t, h, w) compression of the encoder's strides and the patch.
inline std::array<index_t, 3> compression(const vae_config& c) {
  std::array<index_t, 3> r{c.patch_size_t, c.patch_size, c.patch_size};
  for (const auto t : c.downsample_type) {
    const auto s = sample_stride(t);
    for (std::size_t d = 0; d < 3; ++d) r[d] *= s[d];
  }
  return r;
}

/// Throws "[vae] <key>: <problem>" for configs this implementation cannot run (or that are inconsistent).
inline void validate(const vae_config& c) {
  auto fail = [](const auto&... parts) { return make_error("vae", "config: ", parts...); };
  const std::size_t nd = c.block_out_channels.size(), nu = c.decoder_block_out_channels.size();
  if (nd == 0 || nu == 0) throw fail("block_out_channels and decoder_block_out_channels must not be empty");
  if (c.layers_per_block.size() != nd + 1)
    throw fail("layers_per_block has ", c.layers_per_block.size(), " entries, expected ", nd + 1,
               " (one per down block + the mid block)");
  if (c.decoder_layers_per_block.size() != nu + 1)
    throw fail("decoder_layers_per_block has ", c.decoder_layers_per_block.size(), " entries, expected ", nu + 1);
  if (c.downsample_type.size() != nd) throw fail("downsample_type has ", c.downsample_type.size(), " entries, expected ", nd);
  if (c.upsample_type.size() != nu || c.upsample_residual.size() != nu || c.upsample_factor.size() != nu)
    throw fail("upsample_type/upsample_residual/upsample_factor need ", nu, " entries each");
  if (c.timestep_conditioning)
    throw fail("timestep_conditioning = true is not supported (LTX-2.0 and SANA-WM decode with temb = None)");
  for (bool b : c.decoder_inject_noise)
    if (b) throw fail("decoder_inject_noise = true is not supported (LTX-2.0 has no noise injection)");
  for (bool b : c.spatio_temporal_scaling)
    if (!b) throw fail("spatio_temporal_scaling = false is not supported (LTX-2.0 downsamples at every level)");
  for (bool b : c.decoder_spatio_temporal_scaling)
    if (!b) throw fail("decoder_spatio_temporal_scaling = false is not supported");
  if (c.patch_size_t != 1) throw fail("patch_size_t = ", c.patch_size_t, " is not supported (LTX-2 uses 1)");
  if (c.patch_size < 1) throw fail("patch_size = ", c.patch_size);
  for (const auto& l : encoder_levels(c)) {
    const index_t prod = l.stride[0] * l.stride[1] * l.stride[2];
    if (l.out_channels % prod != 0 || (l.channels * prod) % l.out_channels != 0)
      throw fail("down block at ", l.channels, " -> ", l.out_channels, " channels does not divide by its stride");
  }
  index_t prev = decoder_mid_channels(c);
  for (const auto& l : decoder_levels(c)) {
    // The up block's optional conv_in ResNet (in != out) is never built by LTX-2 and mis-sized upstream; require
    // the upsampler's input to be the previous level's output.
    if (l.in_channels != prev)
      throw fail("up block expects ", l.in_channels, " input channels but the previous level gives ", prev,
                 " (decoder_block_out_channels must halve per level with factor 2)");
    if ((l.in_channels * l.stride[0] * l.stride[1] * l.stride[2]) % l.factor != 0 || l.factor < 1)
      throw fail("upsample_factor ", l.factor, " does not divide the upsampler width");
    prev = l.out_channels;
  }
}

}  // namespace sanawm::vae

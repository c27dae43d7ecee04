// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/modules.hpp — the LTX-2 VAE's parameter tree keyed by the diffusers checkpoint names: conv
// weights (stored [Cout, kt, kh, kw, Cin] for the implicit-GEMM conv), ResNets, down/up blocks, encoder, decoder,
// latent statistics.
#pragma once

#include <cmath>       // std::sqrt
#include <cstdint>     // std::uint8_t
#include <memory>      // std::shared_ptr
#include <string>      // std::string
#include <utility>     // std::move
#include <vector>      // std::vector

#include "sanawm/core/bf16.hpp"          // bf16
#include "sanawm/core/buffer.hpp"        // host_buffer
#include "sanawm/core/error.hpp"         // make_error, str_cat
#include "sanawm/core/int.hpp"           // index_t
#include "sanawm/core/layout.hpp"        // layout_stride
#include "sanawm/core/shape.hpp"         // dextents
#include "sanawm/core/tensor.hpp"        // tensor_view
#include "sanawm/model/vae/config.hpp"   // vae_config, levels

namespace sanawm::cpu {
class packed_gemm_b;             // kernels/gemm/gemm_cpu.hpp (host only); built and used by vae::conv (ops.hpp)
class conv3d_winograd_weights;   // kernels/conv/conv_winograd_cpu.hpp (host only); likewise
}  // namespace sanawm::cpu

namespace sanawm::vae {

/// The conv weights' storage: fp32, or bf16 (conv_weights::to_bf16; the VAE's bf16 option, what upstream runs).
enum class weight_dtype : std::uint8_t { f32, bf16 };

/// One `LTX2VideoCausalConv3d`: checkpoint keys `<key>.conv.weight` [Cout, Cin, kt, kh, kw] and `<key>.conv.bias`
/// [Cout]. The weight is kept channels-last, [Cout, kt, kh, kw, Cin]: exactly the [Cout, 27·Cin] B operand of
/// conv3d(cpu_t)'s single implicit GEMM, so no call reorders it.
struct conv_weights {
  std::string key;  ///< module path, e.g. "decoder.up_blocks.0.upsamplers.0.conv"
  index_t cout = 0, cin = 0, kt = 3, kh = 3, kw = 3;
  host_buffer<float> taps;   ///< [Cout, kt, kh, kw, Cin] fp32 (empty after to_bf16())
  host_buffer<bf16> taps16;  ///< the same in bf16 after to_bf16(): the conv then runs in the bf16 compute mode
  host_buffer<float> bias;   ///< [Cout]
  /// With `keep_prepared` (set_weight_packing), conv() prepares the weights for the CPU's GEMMs once and reuses
  /// them: a conv that runs by Winograd (conv3d(cpu_t): 3×3 spatially, ≥ 32 channels in and out) keeps its
  /// transformed and packed weights (`winograd`, 1.78× this conv's weights; each call otherwise transforms them
  /// again), any other conv keeps its implicit-GEMM weights packed (`packed`, one more copy) for calls with few
  /// output positions (small frames), which otherwise spend as long packing the weights as multiplying. Reset
  /// whenever the weights change (call invalidate_packed() after writing `taps` directly).
  bool keep_prepared = false;
  mutable std::shared_ptr<const cpu::packed_gemm_b> packed;
  mutable std::shared_ptr<const cpu::conv3d_winograd_weights> winograd;
  void invalidate_packed() noexcept {
    packed.reset();
    winograd.reset();
  }

  conv_weights() = default;
  conv_weights(std::string k, index_t co, index_t ci)
      : key(std::move(k)), cout(co), cin(ci), taps(27 * co * ci), bias(co) {}

  std::string weight_key() const { return key + ".conv.weight"; }
  std::string bias_key() const { return key + ".conv.bias"; }
  std::vector<index_t> weight_shape() const { return {cout, cin, kt, kh, kw}; }
  index_t weight_numel() const noexcept { return cout * cin * kt * kh * kw; }

  /// Copies a PyTorch-layout weight [Cout, Cin, kt, kh, kw] (and the bias [Cout]) into the channels-last store of
  /// `dtype`. bf16 rounds to nearest even as to_bf16() does, and releases the fp32 taps without writing them, so they
  /// never become resident (load_weights' bf16 path).
  void set_from_pytorch(const float* w, const float* b, weight_dtype dtype = weight_dtype::f32) {
    invalidate_packed();
    if (dtype == weight_dtype::bf16) {
      taps = host_buffer<float>();
      if (taps16.size() != weight_numel()) taps16 = host_buffer<bf16>(weight_numel());
      to_channels_last(w, taps16.data());
    } else {
      taps16 = host_buffer<bf16>();
      if (taps.size() != weight_numel()) taps = host_buffer<float>(weight_numel());
      to_channels_last(w, taps.data());
    }
    for (index_t o = 0; o < cout; ++o) bias[o] = b[o];
  }

  /// The weight as the [Cout, Cin, kt, kh, kw] strided view conv3d expects (PyTorch axis order, channels-last
  /// memory).
  tensor_view<const float, dextents<5>, layout_stride> view() const noexcept {
    const index_t s[5] = {kt * kh * kw * cin, 1, kh * kw * cin, kw * cin, cin};
    using map = layout_stride::mapping<dextents<5>>;
    return {taps.data(), map(dextents<5>(cout, cin, kt, kh, kw), s)};
  }
  /// The bf16 weights (after to_bf16()) as the same strided view.
  tensor_view<const bf16, dextents<5>, layout_stride> view16() const noexcept {
    const index_t s[5] = {kt * kh * kw * cin, 1, kh * kw * cin, kw * cin, cin};
    using map = layout_stride::mapping<dextents<5>>;
    return {taps16.data(), map(dextents<5>(cout, cin, kt, kh, kw), s)};
  }
  tensor_view<const float, dextents<1>> bias_view() const noexcept { return {bias.data(), dextents<1>(cout)}; }
  bool is_bf16() const noexcept { return taps16.size() > 0; }

  /// [Cout, Cin, kt, kh, kw] → [Cout, kt, kh, kw, Cin], converted to T.
  template <class T>
  void to_channels_last(const float* w, T* out) const {
    const index_t taps_n = kt * kh * kw;
    for (index_t o = 0; o < cout; ++o)
      for (index_t i = 0; i < cin; ++i)
        for (index_t k = 0; k < taps_n; ++k) out[(o * taps_n + k) * cin + i] = T(w[(o * cin + i) * taps_n + k]);
  }

  /// Rounds the weights to bf16 (nearest even) and frees the fp32 copy: half the memory, and conv() multiplies
  /// bf16 weights by bf16-rounded activations with fp32 accumulation. The bias stays fp32. Idempotent.
  void to_bf16() {
    if (is_bf16() || taps.size() == 0) return;
    invalidate_packed();
    taps16 = host_buffer<bf16>(taps.size());
    for (index_t i = 0; i < taps.size(); ++i) taps16[i] = bf16(taps[i]);
    taps = host_buffer<float>();
  }
};

/// `LTX2VideoResnetBlock3d` with C_in == C_out and no conditioning: conv1, conv2 (the norms have no parameters).
struct resnet_weights {
  conv_weights conv1, conv2;
};

/// `LTX2VideoDownBlock3D`: ResNets at the level's input width, then the space-to-depth downsampler.
struct down_block_weights {
  encoder_level level{};
  std::vector<resnet_weights> resnets;
  conv_weights downsampler;  ///< `downsamplers.0.conv`
};

/// `LTX2VideoUpBlock3d`: the depth-to-space upsampler, then ResNets at the output width.
struct up_block_weights {
  decoder_level level{};
  conv_weights upsampler;  ///< `upsamplers.0.conv`
  std::vector<resnet_weights> resnets;
};

/// `LTX2VideoEncoder3d`.
struct encoder_weights {
  conv_weights conv_in;
  std::vector<down_block_weights> down_blocks;
  std::vector<resnet_weights> mid_block;  ///< `mid_block.resnets.*`
  conv_weights conv_out;                  ///< → latent_channels + 1 (mean ‖ one log-variance channel)
};

/// `LTX2VideoDecoder3d`.
struct decoder_weights {
  conv_weights conv_in;
  std::vector<resnet_weights> mid_block;
  std::vector<up_block_weights> up_blocks;
  conv_weights conv_out;
};

/// Which halves of the VAE to build (SANA-WM's generator needs the encoder only for the first frame; a decode-only
/// program saves the encoder's 694 M parameters).
struct vae_parts {
  bool encoder = true;
  bool decoder = true;
};

/// The whole VAE: config, encoder, decoder and the per-channel latent statistics `latents_mean`, `latents_std`.
struct vae_weights {
  vae_config config;
  vae_parts parts;
  encoder_weights encoder;
  decoder_weights decoder;
  host_buffer<float> latents_mean;  ///< [latent_channels]
  host_buffer<float> latents_std;   ///< [latent_channels]
};

namespace detail {
inline std::vector<resnet_weights> make_resnets(const std::string& prefix, index_t n, index_t c) {
  std::vector<resnet_weights> r;
  for (index_t i = 0; i < n; ++i) {
    const std::string p = str_cat(prefix, ".resnets.", i);
    r.push_back({conv_weights(p + ".conv1", c, c), conv_weights(p + ".conv2", c, c)});
  }
  return r;
}
}  // namespace detail

/// Allocates the parameter tree of `config` (values uninitialised; fill with load_vae or init_random).
inline vae_weights make_vae_weights(const vae_config& config, vae_parts parts = {}) {
  validate(config);
  vae_weights w;
  w.config = config;
  w.parts = parts;
  const index_t lc = config.latent_channels;
  if (parts.encoder) {
    auto& e = w.encoder;
    e.conv_in = conv_weights("encoder.conv_in", lc, patch_channels(config));
    index_t i = 0;
    for (const auto& l : encoder_levels(config)) {
      const std::string p = str_cat("encoder.down_blocks.", i++);
      e.down_blocks.push_back({l, detail::make_resnets(p, l.layers, l.channels),
                               conv_weights(p + ".downsamplers.0.conv", l.conv_out, l.channels)});
    }
    const index_t mc = encoder_mid_channels(config);
    e.mid_block = detail::make_resnets("encoder.mid_block", config.layers_per_block.back(), mc);
    e.conv_out = conv_weights("encoder.conv_out", lc + 1, mc);
  }
  if (parts.decoder) {
    auto& d = w.decoder;
    const index_t mc = decoder_mid_channels(config);
    d.conv_in = conv_weights("decoder.conv_in", mc, lc);
    d.mid_block = detail::make_resnets("decoder.mid_block", config.decoder_layers_per_block.front(), mc);
    index_t i = 0;
    index_t last = mc;
    for (const auto& l : decoder_levels(config)) {
      const std::string p = str_cat("decoder.up_blocks.", i++);
      d.up_blocks.push_back({l, conv_weights(p + ".upsamplers.0.conv", l.conv_out, l.in_channels),
                             detail::make_resnets(p, l.layers, l.out_channels)});
      last = l.out_channels;
    }
    d.conv_out = conv_weights("decoder.conv_out", patch_channels(config) / config.in_channels * config.out_channels,
                              last);
  }
  w.latents_mean = host_buffer<float>(lc);
  w.latents_std = host_buffer<float>(lc);
  return w;
}

/// Calls f(conv) for every conv of the tree, in checkpoint-key order within each module.
template <class F>
void for_each_conv(vae_weights& w, F&& f) {
  auto resnets = [&](std::vector<resnet_weights>& rs) {
    for (auto& r : rs) f(r.conv1), f(r.conv2);
  };
  if (w.parts.encoder) {
    f(w.encoder.conv_in);
    for (auto& b : w.encoder.down_blocks) resnets(b.resnets), f(b.downsampler);
    resnets(w.encoder.mid_block);
    f(w.encoder.conv_out);
  }
  if (w.parts.decoder) {
    f(w.decoder.conv_in);
    resnets(w.decoder.mid_block);
    for (auto& b : w.decoder.up_blocks) f(b.upsampler), resnets(b.resnets);
    f(w.decoder.conv_out);
  }
}

/// Switches every conv of the built parts to bf16 weights (conv_weights::to_bf16): the VAE's bf16 option. The
/// activations, norms and everything between the convs stay fp32; only the conv products are bf16 × bf16.
inline void convert_to_bf16(vae_weights& w) {
  for_each_conv(w, [](conv_weights& c) { c.to_bf16(); });
}

/// Turns the prepared-weight cache of every conv on or off (conv_weights::keep_prepared): a memory-for-speed
/// option (up to 1.78× the conv weights more) that pays most for small frames (previews, the low-resolution
/// stages), where preparing the weights is a large share of a call. Off by default.
inline void set_weight_packing(vae_weights& w, bool on) {
  for_each_conv(w, [on](conv_weights& c) {
    c.keep_prepared = on;
    if (!on) c.invalidate_packed();
  });
}

/// Number of parameters in the built parts (+ the 2·latent_channels statistics).
inline index_t parameter_count(vae_weights& w) {
  index_t n = 2 * w.config.latent_channels;
  for_each_conv(w, [&](const conv_weights& c) { n += c.weight_numel() + c.cout; });
  return n;
}

/// Fills every conv with PyTorch's default Conv3d initialisation shape (U(−1/√fan_in, 1/√fan_in)) from a seeded
/// generator, latents_mean = 0, latents_std = 1: weights for timing runs and structural tests.
inline void init_random(vae_weights& w, unsigned long long seed) {
  unsigned long long s = seed * 0x9E3779B97F4A7C15ull + 1;
  auto uniform = [&s]() {  // splitmix64 → [−1, 1)
    s += 0x9E3779B97F4A7C15ull;
    unsigned long long z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  };
  for_each_conv(w, [&](conv_weights& c) {
    c.invalidate_packed();
    const float bound = 1.0f / static_cast<float>(std::sqrt(static_cast<double>(c.cin * 27)));
    // Drawn tap-major (tap, Cout, Cin), the order of the earlier storage, so a seed gives the same weights as before.
    const index_t taps_n = c.kt * c.kh * c.kw;
    if (c.taps.size() > 0)
      for (index_t k = 0; k < taps_n; ++k)
        for (index_t o = 0; o < c.cout; ++o)
          for (index_t i = 0; i < c.cin; ++i) c.taps[(o * taps_n + k) * c.cin + i] = bound * uniform();
    for (float& v : c.bias) v = bound * uniform();
  });
  for (float& v : w.latents_mean) v = 0.0f;
  for (float& v : w.latents_std) v = 1.0f;
}

}  // namespace sanawm::vae

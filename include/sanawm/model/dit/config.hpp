// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/config.hpp — SANA-WM DiT configuration: plain struct, presets (released 2.6B, golden tiny,
// small test sizes) and validate(); the chunk split of the chunk-causal/streaming modes.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/core/int.hpp"    // index_t

namespace sanawm::dit {

/// Self-attention kind of one block: frame-wise Gated DeltaNet or full softmax attention (both carry the UCPE
/// camera branch).
enum class block_kind : std::uint8_t { gdn, softmax };

/// Constructor-level configuration of SanaMSVideoCamCtrl (only what changes the forward or the key set).
struct dit_config {
  index_t depth = 20;              ///< blocks
  index_t hidden = 2240;           ///< C
  index_t head_dim = 112;          ///< D (GDN, softmax, camera branch and cross-attention all use it)
  index_t in_channels = 128;       ///< latent channels (LTX-2); out = in (pred_sigma false)
  index_t caption_channels = 2304; ///< Gemma-2-2B hidden size
  index_t mlp_ratio = 3;           ///< GLUMBConvTemp: hidden = C·ratio, inverted conv → 2·hidden
  index_t softmax_every_n = 4;     ///< block i is softmax iff (i + 1) % n == 0 (0 = none)
  index_t conv_kernel = 4;         ///< GDN short conv on K (conv_k, conv_k_cam)
  index_t t_kernel = 3;            ///< FFN temporal conv
  index_t plucker_channels = 48;   ///< 8 raw frames × 6 Plücker components
  index_t plucker_blocks = 20;     ///< chunk_plucker_post_attn_blocks: blocks [0, n) get plucker_proj
  index_t timestep_freq_dim = 256; ///< sinusoidal timestep embedding width
  index_t chunk_size = 3;          ///< chunk-causal: chunks [chunk_size + 1, chunk_size, ...]
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;          ///< q/k RMSNorm (self + camera), attention_y_norm
  double cross_norm_eps = 1e-6;    ///< cross-attention q/k RMSNorm
  double ln_eps = 1e-6;            ///< norm1/norm2/final LayerNorm (no affine)
  double gdn_eps = 1e-8;           ///< num / (den + eps)
  double softmax_scale_main = 0.0; ///< 0 → 1/√D (upstream SDPA on unpadded heads)
  double softmax_scale_cam = 0.0;  ///< 0 → 1/√128 (upstream pads camera heads 112 → 128)

  index_t heads() const noexcept { return head_dim > 0 ? hidden / head_dim : 0; }
  index_t ffn_hidden() const noexcept { return hidden * mlp_ratio; }
  block_kind kind(index_t block) const noexcept {
    return softmax_every_n > 0 && (block + 1) % softmax_every_n == 0 ? block_kind::softmax : block_kind::gdn;
  }
  bool has_plucker_proj(index_t block) const noexcept { return block < plucker_blocks; }
  double main_scale() const noexcept { return softmax_scale_main > 0 ? softmax_scale_main : 1.0 / std::sqrt(double(head_dim)); }
  double cam_scale() const noexcept {
    if (softmax_scale_cam > 0) return softmax_scale_cam;
    // Upstream zero-pads camera heads to the next multiple of 128 before SDPA's default scale.
    const index_t padded = (head_dim + 127) / 128 * 128;
    return 1.0 / std::sqrt(double(padded));
  }

  /// Throws sanawm::error("[dit] ...") naming the first inconsistent field.
  void validate() const {
    auto bad = [](auto&&... parts) { return make_error("dit", "config: ", parts...); };
    if (depth < 1) throw bad("depth ", depth, " must be >= 1");
    if (head_dim < 8 || head_dim % 8 != 0)
      throw bad("head_dim ", head_dim, " must be a positive multiple of 8 (UCPE 4-vectors on D/2 channels)");
    if (hidden < head_dim || hidden % head_dim != 0)
      throw bad("hidden ", hidden, " must be a positive multiple of head_dim ", head_dim);
    if (in_channels < 1 || caption_channels < 1 || plucker_channels < 1)
      throw bad("in/caption/plucker channels must be >= 1 (got ", in_channels, "/", caption_channels, "/",
                plucker_channels, ")");
    if (mlp_ratio < 1) throw bad("mlp_ratio ", mlp_ratio, " must be >= 1");
    if (conv_kernel < 1) throw bad("conv_kernel ", conv_kernel, " must be >= 1");
    if (t_kernel != 3) throw bad("t_kernel ", t_kernel, " is not supported (only 3, as released)");
    if (timestep_freq_dim < 2 || timestep_freq_dim % 2 != 0)
      throw bad("timestep_freq_dim ", timestep_freq_dim, " must be even and >= 2");
    if (chunk_size < 1) throw bad("chunk_size ", chunk_size, " must be >= 1");
    if (softmax_every_n < 0) throw bad("softmax_every_n ", softmax_every_n, " must be >= 0");
    if (plucker_blocks < 0) throw bad("plucker_blocks ", plucker_blocks, " must be >= 0");
    if (!(norm_eps > 0) || !(cross_norm_eps > 0) || !(ln_eps > 0) || !(gdn_eps >= 0))
      throw bad("eps values must be positive");
  }

};

/// The released SANA-WM 2.6B ("1600M") DiT: 20 blocks, C = 2240, 20 heads × 112, softmax blocks {3,7,11,15,19}.
inline dit_config sana_wm_2_6b() { return dit_config{}; }

/// The golden dit_tiny_a config (shared/golden/README.md): depth 4, C = 224, 2 heads, caption 64.
inline dit_config golden_tiny() {
  dit_config c;
  c.depth = 4;
  c.hidden = 224;
  c.caption_channels = 64;
  return c;
}

/// A small config for examples and fast tests: 2 blocks (GDN + softmax), C = 112 (1 head), caption 32.
inline dit_config small_test() {
  dit_config c;
  c.depth = 2;
  c.hidden = 112;
  c.caption_channels = 32;
  c.softmax_every_n = 2;
  c.plucker_blocks = 2;
  return c;
}

/// Chunk starts of T latent frames ("first_chunk_plus_one"): T ≤ chunk_size + 1 → {0}; else {0} +
/// range(chunk_size + 1, T, chunk_size), with a last chunk shorter than chunk_size merged into the previous one.
inline std::vector<index_t> chunk_starts(index_t frames, index_t chunk_size) {
  std::vector<index_t> s{0};
  if (frames <= chunk_size + 1) return s;
  for (index_t c = chunk_size + 1; c < frames; c += chunk_size) s.push_back(c);
  if (s.size() > 1 && frames - s.back() < chunk_size) s.pop_back();
  return s;
}

}  // namespace sanawm::dit

// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/block_calls.hpp — how a DiT block hands one batch row to its attention kernels, shared by the CPU
// forward (dit.hpp) and the backend engine (engine.hpp): for GDN blocks the frame-wise scans' [1, T, S, H, D] strided
// views, β / γ gate views, options and streaming states; for softmax blocks the main and camera attention parameters
// (scales, strict chunk mask over [cached chunks ‖ segment]). Portable.
#pragma once

#include <vector>

#include "sanawm/kernels/attention/attention.hpp"  // attention_params, attention_mask
#include "sanawm/kernels/gdn/gdn.hpp"              // gdn_* views, gdn_options, gdn_state
#include "sanawm/model/dit/config.hpp"             // dit_config

namespace sanawm::dit {

/// One batch row of a GDN block: T frames of S tokens, H heads of D channels.
struct gdn_block_call {
  index_t T, S, H, D;

  /// Token vectors [1, T, S, H, D] of rows with stride `ld` (q, k, v inside the fused qkv output, or [N, C] rows).
  gdn_tokens_view tokens(const float* base, index_t ld) const {
    const index_t st[5] = {T * S * ld, S * ld, ld, D, 1};
    return gdn_tokens_view(base, layout_stride::mapping<extents<dyn, dyn, dyn, dyn, dyn>>(
                                     extents<dyn, dyn, dyn, dyn, dyn>(1, T, S, H, D), st));
  }
  gdn_tokens_out_view tokens_out(float* base, index_t ld) const {
    const index_t st[5] = {T * S * ld, S * ld, ld, D, 1};
    return gdn_tokens_out_view(base, layout_stride::mapping<extents<dyn, dyn, dyn, dyn, dyn>>(
                                         extents<dyn, dyn, dyn, dyn, dyn>(1, T, S, H, D), st));
  }
  /// Per-token gates β [N, H].
  gdn_token_gates_view token_gates(const float* beta) const {
    const index_t st[4] = {T * S * H, S * H, H, 1};
    return gdn_token_gates_view(beta, layout_stride::mapping<extents<dyn, dyn, dyn, dyn>>(
                                          extents<dyn, dyn, dyn, dyn>(1, T, S, H), st));
  }
  /// Per-token scalars out [N, H] (the camera branch's discounted β).
  gdn_token_scalars_out_view token_scalars_out(float* beta) const {
    const index_t st[4] = {T * S * H, S * H, H, 1};
    return gdn_token_scalars_out_view(beta, layout_stride::mapping<extents<dyn, dyn, dyn, dyn>>(
                                                extents<dyn, dyn, dyn, dyn>(1, T, S, H), st));
  }
  /// Per-frame decay γ [T, H].
  gdn_frame_gates_view frame_gates(const float* gamma) const {
    const index_t st[3] = {T * H, H, 1};
    return gdn_frame_gates_view(gamma, layout_stride::mapping<extents<dyn, dyn, dyn>>(extents<dyn, dyn, dyn>(1, T, H), st));
  }
  /// The scans' options: chunk-causal when the segment has several chunks, else bidirectional.
  static gdn_options options(const std::vector<index_t>& starts, double eps) {
    gdn_options go;
    go.mode = starts.size() > 1 ? gdn_mode::chunk_causal : gdn_mode::bidirectional;
    go.chunk_starts = starts;
    go.eps = static_cast<float>(eps);
    return go;
  }
  /// The streaming states of this row: the main scan's m [H, D, D] and z [H, D], the camera scan's m (read, and with
  /// `update` written in place: each head's state is read before it is written). nullptr m: no state.
  void bind_states(float* m, float* z, float* m_cam, bool update, gdn_state& main, gdn_state& cam) const {
    if (!m) return;
    main.m_in = gdn_state_m_cview(m, extents<dyn, dyn, dyn, dyn>(1, H, D, D));
    main.z_in = gdn_state_z_cview(z, extents<dyn, dyn, dyn>(1, H, D));
    cam.m_in = gdn_state_m_cview(m_cam, extents<dyn, dyn, dyn, dyn>(1, H, D, D));
    if (!update) return;
    main.m_out = gdn_state_m_view(m, extents<dyn, dyn, dyn, dyn>(1, H, D, D));
    main.z_out = gdn_state_z_view(z, extents<dyn, dyn, dyn>(1, H, D));
    cam.m_out = gdn_state_m_view(m_cam, extents<dyn, dyn, dyn, dyn>(1, H, D, D));
  }
};

/// The main and camera attention parameters of a softmax block over [Nc cached tokens ‖ this segment's T frames of S
/// tokens]. With `strict` a query sees every cached key and the segment's keys up to the end of its own chunk
/// (chunk-causal with the cached tokens as one leading chunk); without it, everything (upstream's non-cached model).
struct softmax_block_params {
  attention_params main, camera;
  softmax_block_params(const dit_config& c, const std::vector<index_t>& starts, index_t T, index_t S, index_t Nc,
                       bool strict) {
    if (strict) {
      std::vector<index_t> chunk_tokens;
      if (Nc > 0) chunk_tokens.push_back(Nc);
      for (std::size_t i = 0; i < starts.size(); ++i) {
        const index_t end = i + 1 < starts.size() ? starts[i + 1] : T;
        chunk_tokens.push_back((end - starts[i]) * S);
      }
      main.mask = attention_mask::chunk_causal(chunk_tokens);
      main.mask.q_offset = Nc;
    }
    camera = main;
    main.scale = static_cast<float>(c.main_scale());
    camera.scale = static_cast<float>(c.cam_scale());
  }
};

}  // namespace sanawm::dit

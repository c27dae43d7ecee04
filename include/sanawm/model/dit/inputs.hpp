// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/inputs.hpp — what one DiT call takes, shared by the CPU forward (dit.hpp) and the backend
// engine (engine.hpp): the forward mode, the model inputs, and their checks. Portable (g++ and nvcc).
#pragma once

#include <algorithm>  // std::is_sorted, std::adjacent_find
#include <cstdint>    // std::int64_t, std::uint8_t
#include <functional> // std::function
#include <string_view>
#include <vector>

#include "sanawm/core/error.hpp"           // make_error
#include "sanawm/core/int.hpp"             // index_t
#include "sanawm/kernels/plucker/ucpe.hpp" // camera_condition_width
#include "sanawm/model/dit/config.hpp"     // dit_config, chunk_starts

namespace sanawm::dit {

/// Forward mode of a full-sequence call.
enum class dit_mode : std::uint8_t {
  bidirectional,  ///< every GDN reverse scan, short conv and t_conv sees all frames
  chunk_causal,   ///< chunks [c+1, c, c, ...]: reverse paths reset at chunk starts, t_conv per chunk
};

/// Model inputs of one call (B batch rows, T latent frames on an Hl × Wl grid, L text tokens). All fp32, C order.
struct dit_inputs {
  index_t B = 1, T = 0, Hl = 0, Wl = 0, L = 0;
  std::vector<float> x;                  ///< [B, Cin, T, Hl, Wl]
  std::vector<float> timestep;           ///< [B, T] per-frame timesteps (embedded as trunc(t), like .long())
  std::vector<float> y;                  ///< [B, L, caption_channels]
  std::vector<std::int64_t> mask;        ///< [B, L], 1 = valid; empty = all valid
  std::vector<float> camera_conditions;  ///< [B, T, 20]
  std::vector<float> chunk_plucker;      ///< [B, plucker_channels, T, Hl, Wl]
};

/// Called with (name, values, shape) for the golden-file intermediates (act.x_embed, act.t_emb, act.t0,
/// act.y_normed, act.plucker_emb, act.block{i}_{attn_out,cross_attn_out,mlp_out,out}, act.final_layer_out).
using intermediate_fn = std::function<void(std::string_view, const std::vector<float>&, std::vector<index_t>)>;

struct forward_options {
  dit_mode mode = dit_mode::bidirectional;
  /// Chunk starts for chunk_causal (empty: chunk_starts(T, config.chunk_size)).
  std::vector<index_t> chunk_index;
  /// Upstream's non-cached chunk-causal softmax blocks apply no chunk mask (golden-verified); true applies the
  /// chunk-causal mask the streaming path implies, making chunk_causal == streaming chunk calls.
  bool strict_softmax_chunk_mask = false;
  /// bf16 compute: activations rounded to bf16 at every linear input (pair with weight_dtype::bf16).
  bool bf16_activations = false;
  intermediate_fn on_intermediate;
};

/// Throws "[dit] input … has N values, expected M (B=… T=…)" for the first input whose size disagrees with the
/// dims and the config, or for dims below 1.
inline void check_inputs(const dit_config& c, const dit_inputs& in) {
  const index_t B = in.B, T = in.T, N = in.T * in.Hl * in.Wl, L = in.L;
  if (B < 1 || T < 1 || in.Hl < 1 || in.Wl < 1 || L < 1)
    throw make_error("dit", "input dims B=", B, " T=", T, " Hl=", in.Hl, " Wl=", in.Wl, " L=", L, " must be >= 1");
  auto need = [&](const char* what, std::size_t got, index_t want) {
    if (got != static_cast<std::size_t>(want))
      throw make_error("dit", "input ", what, " has ", got, " values, expected ", want, " (B=", B, " T=", T,
                       " Hl=", in.Hl, " Wl=", in.Wl, " L=", L, ")");
  };
  need("x", in.x.size(), B * c.in_channels * N);
  need("timestep", in.timestep.size(), B * T);
  need("y", in.y.size(), B * L * c.caption_channels);
  if (!in.mask.empty()) need("mask", in.mask.size(), B * L);
  need("camera_conditions", in.camera_conditions.size(), B * T * camera_condition_width);
  need("chunk_plucker", in.chunk_plucker.size(), B * c.plucker_channels * N);
}

/// Throws unless `starts` are chunk starts of T frames: 0 first, strictly increasing, all < T.
inline void check_chunk_starts(const std::vector<index_t>& starts, index_t T) {
  for (index_t s : starts)
    if (s < 0 || s >= T) throw make_error("dit", "chunk start ", s, " outside [0, ", T, ")");
  if (starts.empty() || starts.front() != 0 || !std::is_sorted(starts.begin(), starts.end()) ||
      std::adjacent_find(starts.begin(), starts.end()) != starts.end())
    throw make_error("dit", "chunk_index must start at 0 and increase strictly");
}

/// The exclusive end of the chunk holding each of T frames (the short conv's and t_conv's right context stops
/// there); `starts` as checked by check_chunk_starts.
inline std::vector<index_t> chunk_ends(index_t T, const std::vector<index_t>& starts) {
  std::vector<index_t> end(static_cast<std::size_t>(T), T);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const index_t b = starts[i], e = i + 1 < starts.size() ? starts[i + 1] : T;
    for (index_t t = b; t < e; ++t) end[static_cast<std::size_t>(t)] = e;
  }
  return end;
}

}  // namespace sanawm::dit

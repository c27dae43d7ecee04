// SPDX-License-Identifier: Apache-2.0
// sanawm/model/sampler/denoiser.hpp — the model as the samplers see it: full-sequence and streaming chunk calls.
// Implemented by the CPU DiT (samplers.hpp: dit_denoiser) and the backend engine (model/dit/engine.hpp:
// engine_denoiser). Portable (g++ and nvcc).
#pragma once

#include <cstddef>  // std::size_t
#include <vector>

#include "sanawm/core/int.hpp"          // index_t
#include "sanawm/model/dit/inputs.hpp"  // dit_inputs

namespace sanawm::sampler {

class denoiser {
 public:
  virtual ~denoiser() = default;
  /// Velocity [B, C, T, H, W] of a full-sequence call; `chunk_starts` = {0} is the bidirectional call.
  virtual std::vector<float> forward(const dit::dit_inputs& in, const std::vector<index_t>& chunk_starts) = 0;
  /// Starts a streaming rollout (drops every cache).
  virtual void begin_stream() = 0;
  /// A streaming chunk call at the rollout's next frames; `write_cache` is the clean t = 0 pass.
  virtual std::vector<float> forward_stream(const dit::dit_inputs& in, bool write_cache) = 0;
  /// Bytes the streaming caches hold now (what a rollout carries between chunks).
  virtual std::size_t state_bytes() const noexcept { return 0; }
};

}  // namespace sanawm::sampler

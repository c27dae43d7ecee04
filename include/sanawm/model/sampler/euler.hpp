// SPDX-License-Identifier: Apache-2.0
// sanawm/model/sampler/euler.hpp — the flow-matching Euler update and classifier-free guidance, bit-identical to
// diffusers' per-token FlowMatchEulerDiscreteScheduler.step and the upstream samplers' float32 arithmetic, with
// the optional bf16 latent state of the upstream pipeline.
#pragma once

#include <cstdint>
#include <span>

#include "sanawm/core/bf16.hpp"
#include "sanawm/core/error.hpp"
#include "sanawm/core/int.hpp"
#include "sanawm/model/sampler/schedule.hpp"

namespace sanawm::sampler {

/// Precision of the latent state between steps. f32 (sanawm's default) keeps every step; bf16 reproduces the
/// upstream pipeline, which stores the latents in the model dtype — and, as a consequence, turns its first step
/// (t = 1000) into a no-op (see golden/README.md, "Upstream quirk").
enum class state_dtype : std::uint8_t { f32, bf16 };

inline float round_state(float v, state_dtype d) noexcept {
  return d == state_dtype::bf16 ? bf16(v).to_float() : v;
}

/// Rounds a whole latent state to `d` in place.
inline void round_state(std::span<float> x, state_dtype d) noexcept {
  if (d == state_dtype::f32) return;
  for (float& v : x) v = bf16(v).to_float();
}

/// Classifier-free guidance v = u + scale·(c − u), each operation rounded to float32 as PyTorch does.
inline void cfg_combine(std::span<const float> uncond, std::span<const float> cond, float scale, std::span<float> out) {
  if (uncond.size() != cond.size() || out.size() != cond.size())
    throw make_error("sampler", "cfg_combine: size mismatch (", uncond.size(), ", ", cond.size(), ", ", out.size(), ")");
  for (std::size_t i = 0; i < out.size(); ++i) {
    const float d = detail::rounded(cond[i] - uncond[i]);
    out[i] = detail::rounded(uncond[i] + detail::rounded(scale * d));
  }
}

/// σ of a per-token timestep: float32(t / 1000), as the scheduler divides the float32 timestep tensor.
inline float token_sigma(float t) noexcept { return detail::rounded(t / static_cast<float>(num_train_timesteps)); }

/// The per-token Euler step on one sample's latents x [C, T, S] (S tokens per frame) with velocity v [C, T, S]:
/// for every frame f with update[f] set, x ← round_state(x + dt·(−v)), dt = σ_f − next_sigma(σ_f), σ_f =
/// token_sigma(frame_t[f]). Frames with update[f] unset keep their value (the samplers' masks and conditioning).
inline void euler_step(std::span<float> x, std::span<const float> v, index_t C, index_t T, index_t S,
                       std::span<const float> frame_t, std::span<const std::uint8_t> update,
                       std::span<const float> sigmas, state_dtype d) {
  const auto n = static_cast<std::size_t>(C * T * S);
  if (x.size() != n || v.size() != n || frame_t.size() != static_cast<std::size_t>(T) ||
      update.size() != static_cast<std::size_t>(T))
    throw make_error("sampler", "euler_step: sizes do not match C=", C, " T=", T, " S=", S);
  for (index_t f = 0; f < T; ++f) {
    if (!update[static_cast<std::size_t>(f)]) continue;
    const float sig = token_sigma(frame_t[static_cast<std::size_t>(f)]);
    const float dt = detail::rounded(sig - next_sigma(sigmas, sig));
    for (index_t c = 0; c < C; ++c) {
      const std::size_t base = static_cast<std::size_t>((c * T + f) * S);
      for (index_t s = 0; s < S; ++s) {
        const std::size_t i = base + static_cast<std::size_t>(s);
        x[i] = round_state(detail::rounded(x[i] + detail::rounded(dt * -v[i])), d);
      }
    }
  }
}

/// LTXFlowEuler's token mask `t/1000 − 1e-6 < 1 − condition_mask` for an unconditioned frame, evaluated in the
/// state dtype: in bf16, 0.999999 rounds to 1, so the t = 1000 step is discarded (the upstream quirk).
inline bool ltx_denoise_frame(float t, state_dtype d) noexcept {
  const float lhs = detail::rounded(token_sigma(t) - 1e-6f);
  return round_state(lhs, d) < 1.0f;
}

}  // namespace sanawm::sampler

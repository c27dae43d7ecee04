// SPDX-License-Identifier: Apache-2.0
// sanawm/model/sampler/schedule.hpp — SANA-WM's flow-matching schedules, reproduced to the float32 bit:
// diffusers' FlowMatchEulerDiscreteScheduler (shift, the double-shifted σ_min quirk), the streaming student's
// explicit step list, the chunk-causal teacher's staggered per-chunk timestep matrix, and the chunk splits of the
// chunk-causal and streaming samplers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sanawm/core/error.hpp"
#include "sanawm/core/int.hpp"

namespace sanawm::sampler {

/// diffusers' num_train_timesteps: model timestep = σ · 1000.
inline constexpr index_t num_train_timesteps = 1000;

/// A sampling schedule: `sigmas` holds one value per step plus the terminal 0 (float32, exactly as the upstream
/// scheduler stores them); `timesteps[i]` = float32(sigmas[i] · 1000), the value the sampler feeds per frame.
struct flow_schedule {
  std::vector<float> sigmas;
  std::vector<float> timesteps;
  index_t steps() const noexcept { return static_cast<index_t>(timesteps.size()); }
};

namespace detail {

/// One float32 operation result, kept out of reach of FMA contraction: the schedule and the Euler step are
/// compared bit for bit with PyTorch, which rounds every multiply and add separately.
inline float rounded(float v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __asm__ volatile("" : "+m"(v));
#endif
  return v;
}

inline void check_shift(double shift) {
  if (!(shift > 0.0) || !std::isfinite(shift))
    throw make_error("schedule", "flow shift ", shift, " must be a positive finite number");
}

/// σ after the scheduler's shift, evaluated like torch does it in the scheduler's constructor (float32 tensor
/// arithmetic with the Python scalars rounded to float32).
inline float shifted_f32(double shift, float s) noexcept {
  const float num = rounded(static_cast<float>(shift) * s);
  const float den = rounded(1.0f + rounded(static_cast<float>(shift - 1.0) * s));
  return rounded(num / den);
}

}  // namespace detail

/// The training range the scheduler derives in its constructor: σ(t) for t = 1000 and t = 1, already shifted
/// (float32). For shift 9.8: σ_max = 1, σ_min = 0.009714513… — set_timesteps then shifts the linspace between them
/// a second time (the upstream "double shift", reproduced on purpose).
inline float train_sigma_max(double shift) {
  detail::check_shift(shift);
  return detail::shifted_f32(shift, 1.0f);
}
inline float train_sigma_min(double shift) {
  detail::check_shift(shift);
  return detail::shifted_f32(shift, static_cast<float>(1.0 / static_cast<double>(num_train_timesteps)));
}

/// FlowMatchEulerDiscreteScheduler(shift).set_timesteps(steps): s = linspace(σ_max·1000, σ_min·1000, steps)/1000
/// (numpy float64: i·step + start, last = stop), σ = shift·s/(1 + (shift − 1)·s) in float64, cast to float32,
/// terminal 0 appended; timesteps = float32(σ)·1000 in float32.
inline flow_schedule flow_match_schedule(index_t steps, double shift) {
  if (steps < 1 || steps > 10000) throw make_error("schedule", "steps ", steps, " must be in [1, 10000]");
  const double start = static_cast<double>(train_sigma_max(shift)) * static_cast<double>(num_train_timesteps);
  const double stop = static_cast<double>(train_sigma_min(shift)) * static_cast<double>(num_train_timesteps);
  flow_schedule s;
  s.sigmas.reserve(static_cast<std::size_t>(steps + 1));
  const double step = steps > 1 ? (stop - start) / static_cast<double>(steps - 1) : 0.0;
  for (index_t i = 0; i < steps; ++i) {
    double t = static_cast<double>(i) * step + start;
    if (steps > 1 && i == steps - 1) t = stop;
    const double sig = t / static_cast<double>(num_train_timesteps);
    const double shifted = shift * sig / (1.0 + (shift - 1.0) * sig);
    s.sigmas.push_back(static_cast<float>(shifted));
  }
  for (float sg : s.sigmas) s.timesteps.push_back(detail::rounded(sg * static_cast<float>(num_train_timesteps)));
  s.sigmas.push_back(0.0f);
  return s;
}

/// The streaming student's verbatim list (upstream `denoising_step_list`, e.g. 1000, 960, 889, 727, 0): σ_i =
/// float32(t_i / 1000) with shift 1 (no second shift); the trailing 0 is the terminal sigma.
inline flow_schedule explicit_schedule(std::span<const index_t> step_list) {
  if (step_list.size() < 2 || step_list.back() != 0)
    throw make_error("schedule", "denoising step list must have at least 2 entries and end with 0 (got ",
                     step_list.size(), " entries)");
  flow_schedule s;
  for (std::size_t i = 0; i + 1 < step_list.size(); ++i) {
    const index_t t = step_list[i];
    if (t <= 0 || t > num_train_timesteps)
      throw make_error("schedule", "denoising step ", t, " must be in (0, ", num_train_timesteps, "]");
    if (i > 0 && t >= step_list[i - 1])
      throw make_error("schedule", "denoising step list must decrease strictly (", step_list[i - 1], " then ", t, ")");
    s.sigmas.push_back(static_cast<float>(static_cast<double>(t) / static_cast<double>(num_train_timesteps)));
  }
  for (float sg : s.sigmas) s.timesteps.push_back(detail::rounded(sg * static_cast<float>(num_train_timesteps)));
  s.sigmas.push_back(0.0f);
  return s;
}

/// The released streaming schedule: 1000, 960, 889, 727 → 0.
inline std::vector<index_t> default_streaming_steps() { return {1000, 960, 889, 727, 0}; }

/// The schedule sigma a token at timestep `t` steps to: the largest schedule sigma below t/1000 − 1e-6 (float32
/// arithmetic, as diffusers' per-token step), 0 when none is.
inline float next_sigma(std::span<const float> sigmas, float token_sigma) noexcept {
  const float thr = detail::rounded(token_sigma - 1e-6f);
  float best = 0.0f;
  for (float s : sigmas)
    if (s < thr && s > best) best = s;
  return best;
}

/// A half-open range of latent frames.
struct frame_range {
  index_t begin = 0, end = 0;
  index_t size() const noexcept { return end - begin; }
};

/// The streaming sampler's chunks (upstream create_autoregressive_segments): chunks of `chunk` frames, the first
/// absorbing the remainder (T = 3k + 1 → [4, 3, 3, ...]). Needs T > chunk.
inline std::vector<frame_range> streaming_chunks(index_t frames, index_t chunk) {
  if (chunk < 1) throw make_error("schedule", "streaming chunk size ", chunk, " must be >= 1");
  if (frames <= chunk)
    throw make_error("schedule", "streaming needs more than ", chunk, " latent frames (got ", frames,
                     "); use the bidirectional mode for short clips");
  std::vector<frame_range> out;
  const index_t first = chunk + frames % chunk;
  out.push_back({0, first});
  for (index_t b = first; b < frames; b += chunk) out.push_back({b, b + chunk});
  return out;
}

/// Chunks of the chunk-causal teacher from chunk starts (upstream ChunkFlowEuler.create_temporal_chunks): starts
/// outside [0, T) dropped, sorted, 0 prepended when missing.
inline std::vector<frame_range> chunks_from_starts(index_t frames, std::span<const index_t> starts) {
  if (frames < 1) throw make_error("schedule", "frame count ", frames, " must be >= 1");
  std::vector<index_t> s{0};
  for (index_t v : starts)
    if (v > 0 && v < frames) s.push_back(v);
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  std::vector<frame_range> out;
  for (std::size_t i = 0; i < s.size(); ++i) out.push_back({s[i], i + 1 < s.size() ? s[i + 1] : frames});
  return out;
}

/// The chunk-causal teacher's staggered schedule (upstream ChunkFlowEuler): chunk c starts
/// int(c · interval_k · steps) global steps late, runs the full schedule, then sits at t = 0; before its start it
/// is inactive (−1, not fed to the model). Returns [chunks][total_steps] timesteps.
struct staggered_schedule {
  index_t chunks = 0, total_steps = 0;
  std::vector<index_t> start_step;  ///< per chunk
  std::vector<float> t;             ///< [chunks, total_steps]; −1 = inactive
  float at(index_t c, index_t g) const noexcept { return t[static_cast<std::size_t>(c * total_steps + g)]; }
};

inline staggered_schedule make_staggered_schedule(const flow_schedule& s, index_t chunks, double interval_k) {
  if (chunks < 1) throw make_error("schedule", "chunk count ", chunks, " must be >= 1");
  if (!(interval_k > 0.0) || !std::isfinite(interval_k))
    throw make_error("schedule", "interval_k ", interval_k, " must be positive");
  staggered_schedule m;
  m.chunks = chunks;
  const index_t steps = s.steps();
  for (index_t c = 0; c < chunks; ++c)
    m.start_step.push_back(
        static_cast<index_t>(static_cast<double>(c) * interval_k * static_cast<double>(steps)));
  m.total_steps = m.start_step.back() + steps;
  m.t.assign(static_cast<std::size_t>(chunks * m.total_steps), -1.0f);
  for (index_t c = 0; c < chunks; ++c)
    for (index_t g = m.start_step[static_cast<std::size_t>(c)]; g < m.total_steps; ++g) {
      const index_t i = g - m.start_step[static_cast<std::size_t>(c)];
      m.t[static_cast<std::size_t>(c * m.total_steps + g)] = i < steps ? s.timesteps[static_cast<std::size_t>(i)] : 0.0f;
    }
  return m;
}

}  // namespace sanawm::sampler

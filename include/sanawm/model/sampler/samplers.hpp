// SPDX-License-Identifier: Apache-2.0
// sanawm/model/sampler/samplers.hpp — SANA-WM's three sampling loops over a denoiser (the DiT, or any model with
// its call signature): the bidirectional flow-Euler sampler with CFG and first-frame conditioning (upstream
// LTXFlowEuler), the chunk-causal teacher's staggered sampler (ChunkFlowEuler) and the streaming self-forcing
// sampler (SelfForcingFlowEulerCamCtrl: chunks of 3 latent frames, caches written by a clean t = 0 pass).
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/sampler/samplers.hpp: host-only header (sampling loops over the CPU DiT); include it from host code only"
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "sanawm/model/dit/dit.hpp"
#include "sanawm/model/sampler/denoiser.hpp"  // denoiser
#include "sanawm/model/sampler/euler.hpp"
#include "sanawm/model/sampler/schedule.hpp"

namespace sanawm::sampler {

/// Text and camera conditioning of one rollout (B = 1). The negative prompt must have the positive prompt's
/// length (upstream pads both to 300 tokens).
struct conditions {
  index_t L = 0, Cy = 0;
  std::vector<float> cond_y, uncond_y;               ///< [L, Cy]
  std::vector<std::int64_t> cond_mask, uncond_mask;  ///< [L], 1 = valid; empty = all valid
  std::vector<float> camera_conditions;              ///< [T, 20] relative to frame 0 of the rollout
  std::vector<float> chunk_plucker;                  ///< [plucker_channels, T, H, W]
};

/// Latent geometry [C, T, H, W] of one sample.
struct latent_shape {
  index_t C = 0, T = 0, H = 0, W = 0;
  index_t tokens_per_frame() const noexcept { return H * W; }
  index_t numel() const noexcept { return C * T * H * W; }
};

/// The SANA-WM DiT as a denoiser.
class dit_denoiser final : public denoiser {
 public:
  /// `window`: streaming softmax window in chunks including the sink chunk (upstream num_cached_blocks = 2;
  /// 0 = keep every chunk). `opt` carries precision and the strict softmax chunk mask.
  explicit dit_denoiser(const dit::dit_weights& w, dit::forward_options opt = {}, index_t window = 2)
      : w_(&w), opt_(std::move(opt)), window_(window) {}
  std::vector<float> forward(const dit::dit_inputs& in, const std::vector<index_t>& chunk_starts) override {
    dit::forward_options o = opt_;
    o.mode = chunk_starts.size() > 1 ? dit::dit_mode::chunk_causal : dit::dit_mode::bidirectional;
    o.chunk_index = chunk_starts;
    return dit::dit_forward(*w_, in, o);
  }
  void begin_stream() override {
    state_ = {};
    state_.num_cached_chunks = window_;
  }
  std::vector<float> forward_stream(const dit::dit_inputs& in, bool write_cache) override {
    return dit::dit_forward_stream(*w_, state_, in, write_cache, opt_);
  }
  std::size_t state_bytes() const noexcept override { return dit::state_bytes(state_); }
  const dit::stream_state& stream() const noexcept { return state_; }
  const dit::dit_weights& weights() const noexcept { return *w_; }

 private:
  const dit::dit_weights* w_;
  dit::forward_options opt_;
  index_t window_;
  dit::stream_state state_;
};

/// Reported after every model step.
struct step_event {
  index_t step = 0, total = 0;    ///< global step (0-based) and the number of steps of the whole run
  index_t chunk = 0, chunks = 1;  ///< streaming / chunk-causal chunk
  double seconds = 0;             ///< wall time of this step
  latent_shape shape;             ///< of `latents`
  std::span<const float> latents; ///< the state after the step (the active frames)
};

struct sampler_options {
  index_t steps = 60;
  double flow_shift = 9.8;
  double cfg_scale = 5.0;                       ///< > 1: batched [uncond, cond] calls
  state_dtype state = state_dtype::f32;
  std::vector<index_t> condition_frames = {0};  ///< frames held clean at t = 0 (the image latent)
  // chunk-causal
  std::vector<index_t> chunk_starts;            ///< empty: dit::chunk_starts(T, chunk_size)
  index_t chunk_size = 3;
  double interval_k = 0;                        ///< stagger; 0 = 1 / number of chunks
  // streaming
  std::vector<index_t> step_list = default_streaming_steps();  ///< empty: flow_match_schedule(steps, shift)
  std::function<void(const step_event&)> on_step;
};

namespace detail {

inline bool is_condition_frame(const sampler_options& o, index_t f) {
  return std::find(o.condition_frames.begin(), o.condition_frames.end(), f) != o.condition_frames.end();
}

inline void check_conditions(const conditions& c, const latent_shape& s, index_t plucker_channels) {
  auto need = [](const char* what, std::size_t got, index_t want) {
    if (got != static_cast<std::size_t>(want))
      throw make_error("sampler", what, " has ", got, " values, expected ", want);
  };
  if (s.C < 1 || s.T < 1 || s.H < 1 || s.W < 1) throw make_error("sampler", "empty latent shape");
  if (c.L < 1 || c.Cy < 1) throw make_error("sampler", "text conditioning is empty (L=", c.L, ", Cy=", c.Cy, ")");
  need("cond_y", c.cond_y.size(), c.L * c.Cy);
  need("uncond_y", c.uncond_y.size(), c.L * c.Cy);
  if (!c.cond_mask.empty()) need("cond_mask", c.cond_mask.size(), c.L);
  if (!c.uncond_mask.empty()) need("uncond_mask", c.uncond_mask.size(), c.L);
  need("camera_conditions", c.camera_conditions.size(), s.T * camera_condition_width);
  need("chunk_plucker", c.chunk_plucker.size(), plucker_channels * s.T * s.H * s.W);
}

/// Model inputs for frames [r.begin, r.end) of the rollout: x holds exactly those frames of one sample ([C, n, H,
/// W]); with CFG the batch is [uncond, cond] with x, camera and Plücker duplicated.
inline dit::dit_inputs model_inputs(const conditions& c, const latent_shape& s, index_t pc, frame_range r,
                                    std::span<const float> x, std::span<const float> frame_t, bool cfg) {
  dit::dit_inputs in;
  const index_t n = r.size(), S = s.tokens_per_frame(), B = cfg ? 2 : 1;
  in.B = B, in.T = n, in.Hl = s.H, in.Wl = s.W, in.L = c.L;
  auto mask_or_ones = [&](const std::vector<std::int64_t>& m) {
    return m.empty() ? std::vector<std::int64_t>(static_cast<std::size_t>(c.L), 1) : m;
  };
  for (index_t b = 0; b < B; ++b) {
    const bool cond = !cfg || b == 1;
    in.x.insert(in.x.end(), x.begin(), x.end());
    in.timestep.insert(in.timestep.end(), frame_t.begin(), frame_t.end());
    const auto& y = cond ? c.cond_y : c.uncond_y;
    in.y.insert(in.y.end(), y.begin(), y.end());
    const auto m = mask_or_ones(cond ? c.cond_mask : c.uncond_mask);
    in.mask.insert(in.mask.end(), m.begin(), m.end());
    in.camera_conditions.insert(in.camera_conditions.end(),
                                c.camera_conditions.begin() + r.begin * camera_condition_width,
                                c.camera_conditions.begin() + r.end * camera_condition_width);
    for (index_t ch = 0; ch < pc; ++ch) {
      const auto* p = c.chunk_plucker.data() + (ch * s.T + r.begin) * S;
      in.chunk_plucker.insert(in.chunk_plucker.end(), p, p + n * S);
    }
  }
  return in;
}

/// The guided velocity of a model output [B, C, n, H, W] (B = 2 with CFG).
inline std::vector<float> guided(std::vector<float> out, bool cfg, double scale) {
  if (!cfg) return out;
  const std::size_t half = out.size() / 2;
  std::vector<float> v(half);
  cfg_combine(std::span<const float>(out.data(), half), std::span<const float>(out.data() + half, half),
              static_cast<float>(scale), v);
  return v;
}

/// Frames [r.begin, r.end) of x [C, T, S] → [C, n, S].
inline std::vector<float> gather_frames(std::span<const float> x, const latent_shape& s, frame_range r) {
  const index_t S = s.tokens_per_frame(), n = r.size();
  std::vector<float> out(static_cast<std::size_t>(s.C * n * S));
  for (index_t c = 0; c < s.C; ++c)
    std::copy_n(x.data() + (c * s.T + r.begin) * S, n * S, out.data() + c * n * S);
  return out;
}

inline void scatter_frames(std::span<const float> part, const latent_shape& s, frame_range r, std::span<float> x) {
  const index_t S = s.tokens_per_frame(), n = r.size();
  for (index_t c = 0; c < s.C; ++c)
    std::copy_n(part.data() + c * n * S, n * S, x.data() + (c * s.T + r.begin) * S);
}

class step_clock {
 public:
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t_).count();
    t_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point t_ = std::chrono::steady_clock::now();
};

}  // namespace detail

/// Bidirectional sampling (upstream LTXFlowEuler, `flow_euler_ltx`): `z` [C, T, H, W] holds the initial noise
/// with the condition frames already set to the clean image latent; returns the denoised latent. Every step feeds
/// per-frame timesteps min(t, (1 − cond)·1000), guides with CFG when cfg_scale > 1 and applies the per-token Euler
/// step to the unconditioned frames.
inline std::vector<float> sample_bidirectional(denoiser& model, const conditions& c, const latent_shape& s,
                                               std::vector<float> z, const sampler_options& o, index_t pc) {
  detail::check_conditions(c, s, pc);
  if (z.size() != static_cast<std::size_t>(s.numel()))
    throw make_error("sampler", "initial latent has ", z.size(), " values, expected ", s.numel());
  const flow_schedule sched = flow_match_schedule(o.steps, o.flow_shift);
  const bool cfg = o.cfg_scale > 1.0;
  round_state(z, o.state);
  std::vector<float> frame_t(static_cast<std::size_t>(s.T));
  std::vector<std::uint8_t> update(static_cast<std::size_t>(s.T));
  detail::step_clock clock;
  for (index_t i = 0; i < sched.steps(); ++i) {
    const float t = sched.timesteps[static_cast<std::size_t>(i)];
    for (index_t f = 0; f < s.T; ++f) {
      const bool cond = detail::is_condition_frame(o, f);
      frame_t[static_cast<std::size_t>(f)] = cond ? 0.0f : t;
      update[static_cast<std::size_t>(f)] = !cond && ltx_denoise_frame(t, o.state);
    }
    const auto in = detail::model_inputs(c, s, pc, {0, s.T}, z, frame_t, cfg);
    const auto v = detail::guided(model.forward(in, {0}), cfg, o.cfg_scale);
    euler_step(z, v, s.C, s.T, s.tokens_per_frame(), frame_t, update, sched.sigmas, o.state);
    if (o.on_step) o.on_step({i, sched.steps(), 0, 1, clock.lap(), s, z});
  }
  return z;
}

/// The chunk-causal teacher (upstream ChunkFlowEuler): chunk c joins the run int(c·interval_k·steps) global steps
/// late; each global step feeds the active prefix of chunks (finished ones at t = 0) with their chunk starts.
/// A single chunk falls back to sample_bidirectional, as upstream does.
inline std::vector<float> sample_chunk_causal(denoiser& model, const conditions& c, const latent_shape& s,
                                              std::vector<float> z, const sampler_options& o, index_t pc) {
  detail::check_conditions(c, s, pc);
  if (z.size() != static_cast<std::size_t>(s.numel()))
    throw make_error("sampler", "initial latent has ", z.size(), " values, expected ", s.numel());
  const std::vector<index_t> starts = o.chunk_starts.empty() ? dit::chunk_starts(s.T, o.chunk_size) : o.chunk_starts;
  const std::vector<frame_range> chunks = chunks_from_starts(s.T, starts);
  if (chunks.size() <= 1) return sample_bidirectional(model, c, s, std::move(z), o, pc);
  const auto nc = static_cast<index_t>(chunks.size());
  const flow_schedule sched = flow_match_schedule(o.steps, o.flow_shift);
  const staggered_schedule m =
      make_staggered_schedule(sched, nc, o.interval_k > 0 ? o.interval_k : 1.0 / static_cast<double>(nc));
  const bool cfg = o.cfg_scale > 1.0;
  round_state(z, o.state);
  detail::step_clock clock;
  for (index_t g = 0; g < m.total_steps; ++g) {
    index_t active = 0;
    while (active < nc && m.at(active, g) >= 0.0f) ++active;
    if (active == 0) continue;
    const frame_range r{0, chunks[static_cast<std::size_t>(active - 1)].end};
    std::vector<float> frame_t(static_cast<std::size_t>(r.end));
    std::vector<index_t> active_starts;
    for (index_t k = 0; k < active; ++k) {
      const frame_range ch = chunks[static_cast<std::size_t>(k)];
      active_starts.push_back(ch.begin);
      for (index_t f = ch.begin; f < ch.end; ++f)
        frame_t[static_cast<std::size_t>(f)] = detail::is_condition_frame(o, f) ? 0.0f : m.at(k, g);
    }
    const latent_shape sa{s.C, r.end, s.H, s.W};
    std::vector<float> xa = detail::gather_frames(z, s, r);
    const auto in = detail::model_inputs(c, s, pc, r, xa, frame_t, cfg);
    const auto v = detail::guided(model.forward(in, active_starts), cfg, o.cfg_scale);
    // Every active token steps; finished chunks and the condition frame sit at t = 0, where dt = 0.
    const std::vector<std::uint8_t> update(static_cast<std::size_t>(r.end), 1);
    euler_step(xa, v, sa.C, sa.T, sa.tokens_per_frame(), frame_t, update, sched.sigmas, o.state);
    detail::scatter_frames(xa, s, r, z);
    if (o.on_step) o.on_step({g, m.total_steps, active - 1, nc, clock.lap(), sa, xa});
  }
  return z;
}

/// The streaming self-forcing sampler (upstream SelfForcingFlowEulerCamCtrl). Chunks of `chunk_size` latent frames
/// (the first absorbs the remainder); `init(range)` supplies a chunk's initial latent [C, n, H, W] (noise, with
/// the condition frames set to the clean image latent), so the whole rollout is never held; every chunk runs the
/// step list (condition frames held at t = 0 and restored after each step), hands its clean latent to
/// `on_chunk(range, latent)` and runs one clean t = 0 pass that writes the caches. Memory is constant in the
/// number of chunks (softmax window + fixed GDN states).
inline void sample_streaming(denoiser& model, const conditions& c, const latent_shape& s,
                             const std::function<std::vector<float>(frame_range)>& init,
                             const std::function<void(frame_range, std::span<const float>)>& on_chunk,
                             const sampler_options& o, index_t pc) {
  detail::check_conditions(c, s, pc);
  const std::vector<frame_range> chunks = streaming_chunks(s.T, o.chunk_size);
  const flow_schedule sched = o.step_list.empty() ? flow_match_schedule(o.steps, o.flow_shift)
                                                  : explicit_schedule(o.step_list);
  const bool cfg = o.cfg_scale > 1.0;
  const auto nc = static_cast<index_t>(chunks.size());
  const index_t total = nc * sched.steps();
  model.begin_stream();
  detail::step_clock clock;
  for (index_t k = 0; k < nc; ++k) {
    const frame_range r = chunks[static_cast<std::size_t>(k)];
    const latent_shape sc{s.C, r.size(), s.H, s.W};
    std::vector<float> x = init(r);
    if (x.size() != static_cast<std::size_t>(sc.numel()))
      throw make_error("sampler", "chunk init returned ", x.size(), " values, expected ", sc.numel());
    round_state(x, o.state);
    std::vector<float> frame_t(static_cast<std::size_t>(r.size()));
    std::vector<std::uint8_t> update(static_cast<std::size_t>(r.size()));
    for (index_t i = 0; i < sched.steps(); ++i) {
      for (index_t f = 0; f < r.size(); ++f) {
        const bool cond = detail::is_condition_frame(o, r.begin + f);
        frame_t[static_cast<std::size_t>(f)] = cond ? 0.0f : sched.timesteps[static_cast<std::size_t>(i)];
        update[static_cast<std::size_t>(f)] = !cond;
      }
      const auto in = detail::model_inputs(c, s, pc, r, x, frame_t, cfg);
      const auto v = detail::guided(model.forward_stream(in, false), cfg, o.cfg_scale);
      // Condition frames are not stepped, so they keep their clean value exactly (upstream restores them).
      euler_step(x, v, sc.C, sc.T, sc.tokens_per_frame(), frame_t, update, sched.sigmas, o.state);
      if (o.on_step) o.on_step({k * sched.steps() + i, total, k, nc, clock.lap(), sc, x});
    }
    on_chunk(r, x);
    const std::vector<float> zero_t(static_cast<std::size_t>(r.size()), 0.0f);
    (void)model.forward_stream(detail::model_inputs(c, s, pc, r, x, zero_t, cfg), true);
  }
}

}  // namespace sanawm::sampler

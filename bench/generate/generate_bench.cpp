// SPDX-License-Identifier: Apache-2.0
// bench/generate/generate_bench.cpp — the embedded preset's generation cost: one bidirectional denoising step
// (batched CFG call + Euler update), one streaming chunk (4 student steps + the cache pass), and whole videos
// (seconds per generated second of video at 16 fps).
#include <benchmark/benchmark.h>

#include <cmath>

#include "sanawm/model/camera/presets.hpp"
#include "sanawm/model/dit/prepack.hpp"
#include "sanawm/model/pipeline/generate.hpp"

namespace {

using namespace sanawm;

const pipeline::embedded_model& model() {
  static const pipeline::embedded_model m = [] {
    pipeline::embedded_model e = pipeline::make_embedded_model();
    dit::pack_for_cpu(e.dit, /*bf16_activations=*/false);  // as sanawm-generate does (fp32 here)
    return e;
  }();
  return m;
}

/// Conditions of the embedded default geometry (256×128 → 4×8 latent) for T latent frames.
sampler::conditions conditions(index_t T) {
  const index_t frames = 8 * (T - 1) + 1;
  preset_options po;
  po.frames = frames;
  trajectory tr = preset_trajectory(camera_preset::dolly_in, po);
  tr.K = {intrinsics_from_fov(60.0, 256, 128)};
  tr.image_width = 256, tr.image_height = 128;
  camera_geometry g;
  g.width = 256, g.height = 128;
  const auto cam = prepare_camera(tr, g);
  const auto pl = make_chunk_plucker(cam);
  const auto text = pipeline::empty_text(model().dit.config.caption_channels);
  sampler::conditions c;
  c.L = text.L, c.Cy = text.Cy, c.cond_y = text.y, c.uncond_y = text.negative_y;
  c.cond_mask = text.mask, c.uncond_mask = text.negative_mask;
  c.camera_conditions.assign(cam.camera_conditions.data(), cam.camera_conditions.data() + T * 20);
  c.chunk_plucker.assign(pl.data(), pl.data() + pl.size());
  return c;
}

std::vector<float> noise(index_t n) {
  std::vector<float> z(static_cast<std::size_t>(n));
  sampler::fill_normal(z, 1);
  return z;
}

/// One step of the bidirectional sampler with CFG 5 on T = 5 latent frames (33 video frames).
void BM_EmbeddedBidirectionalStep(benchmark::State& st) {
  const index_t T = 5;
  const sampler::latent_shape s{model().dit.config.in_channels, T, 4, 8};
  const auto c = conditions(T);
  sampler::dit_denoiser den(model().dit);
  sampler::sampler_options o;
  o.steps = 1;
  auto z = noise(s.numel());
  for (auto _ : st) benchmark::DoNotOptimize(sampler::sample_bidirectional(den, c, s, z, o, 48));
  st.counters["tokens"] = double(2 * T * s.H * s.W);
  st.counters["steps/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EmbeddedBidirectionalStep)->Unit(benchmark::kMillisecond)->UseRealTime();

/// Two streaming chunks (4 + 3 latent frames), each 4 student steps + the cache pass, CFG baked in.
void BM_EmbeddedStreamingTwoChunks(benchmark::State& st) {
  const index_t T = 7;
  const sampler::latent_shape s{model().dit.config.in_channels, T, 4, 8};
  const auto c = conditions(T);
  sampler::dit_denoiser den(model().dit);
  sampler::sampler_options o;
  o.cfg_scale = 1;
  const auto z = noise(s.numel());
  for (auto _ : st)
    sampler::sample_streaming(
        den, c, s, [&](sampler::frame_range r) { return sampler::detail::gather_frames(z, s, r); },
        [](sampler::frame_range, std::span<const float> x) { benchmark::DoNotOptimize(x.data()); }, o, 48);
  st.counters["chunks/s"] = benchmark::Counter(2.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EmbeddedStreamingTwoChunks)->Unit(benchmark::kMillisecond)->UseRealTime();

/// A whole embedded-default video (256×128, image encode, sampling, decode), per mode; the counter is seconds of
/// compute per second of 16 fps video.
void BM_EmbeddedVideo(benchmark::State& st) {
  const auto mode = static_cast<pipeline::gen_mode>(st.range(0));
  const index_t frames = st.range(1);
  pipeline::generation_inputs in;
  in.height = 128, in.width = 256, in.frames = frames;
  in.image.assign(3 * 128 * 256, 0.25f);
  preset_options po;
  po.frames = frames;
  in.camera = preset_trajectory(camera_preset::dolly_in, po);
  in.camera.K = {intrinsics_from_fov(60.0, 256, 128)};
  in.camera.image_width = 256, in.camera.image_height = 128;
  in.text = pipeline::empty_text(model().dit.config.caption_channels);
  pipeline::generation_options o;
  o.mode = mode;
  if (mode == pipeline::gen_mode::streaming) o.sampler.cfg_scale = 1;
  for (auto _ : st) benchmark::DoNotOptimize(pipeline::generate(model().dit, model().vae, in, o));
  st.counters["s_per_video_s"] =
      benchmark::Counter(double(frames) / 16.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  st.SetLabel(std::string(pipeline::mode_name(mode)) + ", " + std::to_string(frames) + " frames");
}
BENCHMARK(BM_EmbeddedVideo)
    ->Args({int(pipeline::gen_mode::bidirectional), 33})
    ->Args({int(pipeline::gen_mode::streaming), 57})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

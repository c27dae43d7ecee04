// SPDX-License-Identifier: Apache-2.0
// tests/pipeline/pipeline_test_util.hpp — the pipeline tests' shared setup: the embedded tiny model, inputs from a
// preset camera, and a run that captures every frame.
#pragma once

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "sanawm/model/camera/presets.hpp"
#include "sanawm/model/pipeline/generate.hpp"

namespace sanawm::test::pipeline_util {

using namespace sanawm::pipeline;

inline const embedded_model& tiny() {
  static const embedded_model m = make_embedded_model(7);
  return m;
}

inline generation_inputs make_inputs(index_t frames, index_t h = 64, index_t w = 64) {
  generation_inputs in;
  in.height = h, in.width = w, in.frames = frames;
  in.image.resize(static_cast<std::size_t>(3 * h * w));
  for (std::size_t i = 0; i < in.image.size(); ++i) in.image[i] = std::sin(0.37f * float(i)) * 0.8f;
  preset_options po;
  po.frames = frames;
  in.camera = preset_trajectory(camera_preset::orbit_left, po);
  in.camera.K = {intrinsics_from_fov(60.0, w, h)};
  in.camera.image_width = w, in.camera.image_height = h;
  in.text = empty_text(tiny().dit.config.caption_channels);
  return in;
}

struct captured {
  std::vector<std::vector<float>> frames;
  generation_result res;
};

inline captured run(gen_mode mode, index_t frames, std::uint64_t seed = 1, index_t steps = 2,
             sampler::denoiser* model = nullptr, vae::conv_executor* vae_convs = nullptr) {
  generation_options o;
  o.model = model;
  o.vae_convs = vae_convs;
  o.mode = mode;
  o.seed = seed;
  o.sampler.steps = steps;
  if (mode == gen_mode::streaming) o.sampler.step_list = {1000, 727, 0};
  captured c;
  o.on_frame = [&](index_t f, std::span<const float> chw) {
    EXPECT_EQ(f, static_cast<index_t>(c.frames.size())) << "frames must arrive in order";
    c.frames.emplace_back(chw.begin(), chw.end());
  };
  c.res = generate(tiny().dit, tiny().vae, make_inputs(frames), o);
  return c;
}

inline void expect_video(const captured& c, index_t frames) {
  ASSERT_EQ(static_cast<index_t>(c.frames.size()), frames);
  EXPECT_EQ(c.res.frames, frames);
  for (const auto& f : c.frames) {
    ASSERT_EQ(f.size(), 3u * 64 * 64);
    for (float v : f) ASSERT_TRUE(std::isfinite(v));
  }
  EXPECT_NE(c.frames.front(), c.frames.back());
}

}  // namespace sanawm::test::pipeline_util

// SPDX-License-Identifier: Apache-2.0
// tests/pipeline/pipeline_test.cpp — the generation pipeline end to end on the embedded tiny model: every mode
// produces 8(T − 1) + 1 finite frames, the same seed gives identical video at 1 and 2 threads, streaming state stays
// flat between 41 and 121 latent frames, and bad inputs are clear errors.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sanawm/backend/cpu/thread_pool.hpp"
#include "sanawm/model/camera/presets.hpp"
#include "sanawm/model/dit/engine_cpu.hpp"
#include "sanawm/model/pipeline/generate.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::pipeline;

const embedded_model& tiny() {
  static const embedded_model m = make_embedded_model(7);
  return m;
}

generation_inputs make_inputs(index_t frames, index_t h = 64, index_t w = 64) {
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

captured run(gen_mode mode, index_t frames, std::uint64_t seed = 1, index_t steps = 2,
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

void expect_video(const captured& c, index_t frames) {
  ASSERT_EQ(static_cast<index_t>(c.frames.size()), frames);
  EXPECT_EQ(c.res.frames, frames);
  for (const auto& f : c.frames) {
    ASSERT_EQ(f.size(), 3u * 64 * 64);
    for (float v : f) ASSERT_TRUE(std::isfinite(v));
  }
  EXPECT_NE(c.frames.front(), c.frames.back());
}

TEST(Pipeline, BidirectionalProducesEveryFrame) { expect_video(run(gen_mode::bidirectional, 17), 17); }
TEST(Pipeline, ChunkCausalProducesEveryFrame) { expect_video(run(gen_mode::chunk_causal, 57), 57); }
TEST(Pipeline, StreamingProducesEveryFrame) { expect_video(run(gen_mode::streaming, 57), 57); }

TEST(Pipeline, SameSeedIsIdenticalAtOneAndTwoThreads) {
  const int before = cpu::num_threads();
  cpu::set_num_threads(1);
  const captured a = run(gen_mode::bidirectional, 9, 5);
  const captured sa = run(gen_mode::streaming, 41, 5);
  cpu::set_num_threads(2);
  const captured b = run(gen_mode::bidirectional, 9, 5);
  const captured sb = run(gen_mode::streaming, 41, 5);
  cpu::set_num_threads(before);
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(sa.frames, sb.frames);
  EXPECT_NE(a.frames, run(gen_mode::bidirectional, 9, 6).frames) << "a different seed must change the video";
}

// The pipeline's hooks with the backend engines (the --device cuda path: the DiT engine and the VAE's convs on a
// conv executor, here both on the host): the same video as the CPU path up to float rounding, in the full-sequence
// and streaming modes, and the same streaming state size.
TEST(Pipeline, BackendEnginesGiveTheSameVideo) {
  for (gen_mode mode : {gen_mode::bidirectional, gen_mode::streaming}) {
    dit::engine_denoiser<cpu_t> engine(cpu_t{}, dit::refs_of(tiny().dit), {}, {}, 2);
    vae::backend_conv_executor<cpu_t> convs;
    const index_t frames = mode == gen_mode::streaming ? 41 : 17;
    const captured a = run(mode, frames, 3), b = run(mode, frames, 3, 2, &engine, &convs);
    EXPECT_GT(convs.weight_bytes(), 0u) << "the VAE convs ran on the executor";
    expect_video(b, frames);
    double worst = 0;
    for (std::size_t f = 0; f < a.frames.size(); ++f)
      for (std::size_t i = 0; i < a.frames[f].size(); ++i)
        worst = std::max(worst, double(std::abs(a.frames[f][i] - b.frames[f][i])));
    EXPECT_LE(worst, 1e-3) << "mode " << int(mode);
    if (mode == gen_mode::streaming) {
      EXPECT_EQ(a.res.peak_state_bytes, b.res.peak_state_bytes);
    }
  }
}

TEST(Pipeline, StreamingStateIsFlatInVideoLength) {
  // 41 and 121 latent frames (321 and 961 pixel frames): once the softmax window is full the state carried
  // between chunks stops growing. 41 = 5 + 12·3 has a 5-frame sink chunk, 121 = 4 + 39·3 and 40 = 4 + 12·3 a
  // 4-frame one, so 40 and 121 carry exactly the same state and 41 one sink frame more.
  generation_options o;
  o.mode = gen_mode::streaming;
  o.sampler.step_list = {1000, 0};
  index_t frames = 0;
  o.on_frame = [&](index_t, std::span<const float>) { ++frames; };
  auto state = [&](index_t latent) {
    frames = 0;
    const auto r = generate(tiny().dit, tiny().vae, make_inputs(8 * (latent - 1) + 1), o);
    EXPECT_EQ(frames, 8 * (latent - 1) + 1);
    return r.peak_state_bytes;
  };
  const std::size_t s40 = state(40), s41 = state(41), s121 = state(121);
  EXPECT_GT(s40, 0u);
  EXPECT_EQ(s40, s121);
  EXPECT_GE(s41, s121);
}

std::string error_of(const generation_inputs& in, gen_mode mode = gen_mode::bidirectional) {
  generation_options o;
  o.mode = mode;
  o.sampler.steps = 1;
  try {
    generate(tiny().dit, tiny().vae, in, o);
  } catch (const sanawm::error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Pipeline, BadInputsAreClearErrors) {
  auto in = make_inputs(9);
  in.frames = 10;
  EXPECT_NE(error_of(in).find("not 8k + 1"), std::string::npos) << error_of(in);

  in = make_inputs(9);
  in.camera.c2w.pop_back();
  in.camera.K.resize(1);
  EXPECT_NE(error_of(in).find("poses but the video has 9 frames"), std::string::npos) << error_of(in);

  in = make_inputs(9);
  in.width = 48;
  EXPECT_NE(error_of(in).find("multiple of"), std::string::npos) << error_of(in);

  in = make_inputs(9);
  in.image[5] = std::nanf("");
  EXPECT_NE(error_of(in).find("NaN"), std::string::npos) << error_of(in);

  in = make_inputs(9);
  in.text = empty_text(17);
  EXPECT_NE(error_of(in).find("17-dimensional"), std::string::npos) << error_of(in);

  in = make_inputs(17);
  EXPECT_NE(error_of(in, gen_mode::streaming).find("streaming needs more than 3 latent frames"), std::string::npos)
      << error_of(in, gen_mode::streaming);

  in = make_inputs(9);
  in.camera.c2w[3].m[0] = 5.0;  // not a rotation
  EXPECT_NE(error_of(in), "no error");
}

TEST(Pipeline, ModeNamesParse) {
  EXPECT_EQ(parse_mode("chunk-causal"), gen_mode::chunk_causal);
  EXPECT_EQ(parse_mode("streaming"), gen_mode::streaming);
  EXPECT_THROW(parse_mode("fast"), sanawm::error);
}

}  // namespace
}  // namespace sanawm::test

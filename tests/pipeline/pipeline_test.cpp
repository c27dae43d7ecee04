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
#include "pipeline_test_util.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::pipeline;
using namespace sanawm::test::pipeline_util;

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

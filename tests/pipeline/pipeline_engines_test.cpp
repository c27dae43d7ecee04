// SPDX-License-Identifier: Apache-2.0
// tests/pipeline/pipeline_engines_test.cpp — the pipeline's backend hooks, in their own translation unit (it
// instantiates the DiT engine and the VAE conv executor on top of the pipeline).
#include "pipeline_test_util.hpp"
#include "sanawm/model/dit/engine_cpu.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::pipeline;
using namespace sanawm::test::pipeline_util;

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

}  // namespace
}  // namespace sanawm::test

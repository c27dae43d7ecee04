// SPDX-License-Identifier: Apache-2.0
// tests/text/gemma2_engine_cuda_test.cpp — gemma2_engine<cuda_t> (gemma2_engine_runner_cuda.cu): the checks of
// gemma2_engine_test.cpp on the GPU. Skips, with the reason, without a CUDA device or the golden data.
#include "gemma2_engine_checks.hpp"
#include "support/cuda_device.hpp"

namespace sanawm::test {
namespace {

TEST(Gemma2EngineCuda, HiddenStatesMatchHuggingFace) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  SANAWM_REQUIRE_GEMMA_GOLDEN();
  check_gemma_engine_golden(make_cuda_gemma);
}
TEST(Gemma2EngineCuda, MatchesGemma2Encoder) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  SANAWM_REQUIRE_GEMMA_GOLDEN();
  check_gemma_engine_matches_encoder(make_cuda_gemma);
}
TEST(Gemma2EngineCuda, Errors) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  SANAWM_REQUIRE_GEMMA_GOLDEN();
  check_gemma_engine_errors(make_cuda_gemma);
}

}  // namespace
}  // namespace sanawm::test

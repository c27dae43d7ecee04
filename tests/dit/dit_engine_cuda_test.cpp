// SPDX-License-Identifier: Apache-2.0
// tests/dit/dit_engine_cuda_test.cpp — dit_engine<cuda_t> (built in engine_runner_cuda.cu) against the golden data
// and the CPU forward: the same checks as dit_engine_test.cpp. Skips, with the reason, without a CUDA device.
#include "engine_checks.hpp"
#include "support/cuda_device.hpp"

namespace sanawm::test {
namespace {

TEST(DitEngineCuda, GoldenBidirectionalOutputAndIntermediates) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  SANAWM_REQUIRE_GOLDEN();
  check_engine_golden_bidirectional(make_cuda_runner);
}
TEST(DitEngineCuda, GoldenChunkCausal) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  SANAWM_REQUIRE_GOLDEN();
  check_engine_golden_chunk_causal(make_cuda_runner);
}
TEST(DitEngineCuda, StreamingEqualsStrictChunkCausal) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  SANAWM_REQUIRE_GOLDEN();
  check_engine_streaming(make_cuda_runner);
}
TEST(DitEngineCuda, MatchesCpuForwardWithBatchMaskAndWindow) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  check_engine_matches_cpu_forward(make_cuda_runner);
}
TEST(DitEngineCuda, Bf16CloseToFloat64) {
  SANAWM_REQUIRE_CUDA_DEVICE();
  SANAWM_REQUIRE_GOLDEN();
  check_engine_bf16(make_cuda_runner);
}

}  // namespace
}  // namespace sanawm::test

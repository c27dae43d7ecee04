// SPDX-License-Identifier: Apache-2.0
// tests/text/gemma2_engine_test.cpp — gemma2_engine<cpu_t>: the GPU encoder's steps checked on the host.
#include "gemma2_engine_checks.hpp"

namespace sanawm::test {
namespace {

std::unique_ptr<gemma_runner> make_cpu_gemma(const text::gemma2_refs& refs, gemm_compute compute) {
  return std::make_unique<gemma_runner_for<text::gemma2_engine<cpu_t>>>(cpu_t{}, refs, compute);
}

TEST(Gemma2EngineCpu, HiddenStatesMatchHuggingFace) { check_gemma_engine_golden(make_cpu_gemma); }
TEST(Gemma2EngineCpu, MatchesGemma2Encoder) { check_gemma_engine_matches_encoder(make_cpu_gemma); }
TEST(Gemma2EngineCpu, Errors) { check_gemma_engine_errors(make_cpu_gemma); }

}  // namespace
}  // namespace sanawm::test

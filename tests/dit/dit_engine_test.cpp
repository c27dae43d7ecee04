// SPDX-License-Identifier: Apache-2.0
// tests/dit/dit_engine_test.cpp — dit_engine<cpu_t>: the backend engine's sequence of steps (the GPU path) checked
// on the host against the golden data and the CPU forward; refs_of and the engine's input errors.
#include "engine_checks.hpp"
#include "sanawm/model/dit/engine_cpu.hpp"
#include "sanawm/model/dit/prepack.hpp"

namespace sanawm::test {
namespace {

std::unique_ptr<engine_runner> make_cpu_runner(const dit::dit_refs& refs, bool bf16) {
  dit::engine_options o;
  o.bf16 = bf16;
  return std::make_unique<engine_runner_for<dit::dit_engine<cpu_t>, dit::engine_stream_state<cpu_t>>>(cpu_t{}, refs, o);
}

TEST(DitEngineCpu, GoldenBidirectionalOutputAndIntermediates) {
  SANAWM_REQUIRE_GOLDEN();
  check_engine_golden_bidirectional(make_cpu_runner);
}
TEST(DitEngineCpu, GoldenChunkCausal) {
  SANAWM_REQUIRE_GOLDEN();
  check_engine_golden_chunk_causal(make_cpu_runner);
}
TEST(DitEngineCpu, StreamingEqualsStrictChunkCausal) {
  SANAWM_REQUIRE_GOLDEN();
  check_engine_streaming(make_cpu_runner);
}
TEST(DitEngineCpu, MatchesCpuForwardWithBatchMaskAndWindow) { check_engine_matches_cpu_forward(make_cpu_runner); }
TEST(DitEngineCpu, Bf16CloseToFloat64) {
  SANAWM_REQUIRE_GOLDEN();
  check_engine_bf16(make_cpu_runner);
}

TEST(DitEngineCpu, RefsOfRejectsPackedWeightsByName) {
  dit::dit_weights w = dit::make_random_dit(dit::small_test(), 3);
  EXPECT_NO_THROW((void)dit::refs_of(w));
  dit::pack_for_cpu(w, false);
  try {
    (void)dit::refs_of(w);
    FAIL() << "refs_of accepted packed weights";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("pack_for_cpu"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x_embedder"), std::string::npos) << e.what();
  }
}

TEST(DitEngineCpu, RejectsMismatchedRefsAndInputs) {
  const dit::dit_weights w = dit::make_random_dit(dit::small_test(), 4);
  dit::dit_refs r = dit::refs_of(w);
  r.blocks.pop_back();
  EXPECT_THROW((dit::dit_engine<cpu_t>(cpu_t{}, r)), error);
  r = dit::refs_of(w);
  r.blocks[0].attn.qkv.weight.n -= 1;
  try {
    dit::dit_engine<cpu_t> bad(cpu_t{}, r);
    FAIL() << "a short qkv weight was accepted";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks.0.attn.qkv.weight"), std::string::npos) << e.what();
  }
  dit::dit_engine<cpu_t> e(cpu_t{}, dit::refs_of(w));
  dit::dit_inputs in = random_engine_inputs(w.config, 1, 2, 2, 2, 3, 1);
  in.x.pop_back();
  try {
    (void)e.forward(in);
    FAIL() << "a short x was accepted";
  } catch (const error& ex) {
    EXPECT_NE(std::string(ex.what()).find("input x has"), std::string::npos) << ex.what();
  }
  in = random_engine_inputs(w.config, 1, 2, 2, 2, 3, 1);
  dit::forward_options o;
  o.mode = dit::dit_mode::chunk_causal;
  o.chunk_index = {1};
  EXPECT_THROW((void)e.forward(in, o), error);
}

}  // namespace
}  // namespace sanawm::test

// SPDX-License-Identifier: Apache-2.0
// tests/dit/dit_nvfp4_test.cpp — NVFP4 (W4A16) DiT: the quantised forward equals the forward with the dequantised
// weights, stays close to the fp32 model on the golden tiny DiT, quantises exactly upstream's stage-1 layer set, and
// rejects layers whose K is not a multiple of the block.
#include <algorithm>
#include <cstdio>
#include <random>

#include "dit_common.hpp"
#include "sanawm/model/dit/quantize.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::dit;

/// `w` with every NVFP4 layer replaced by its dequantised fp32 weights (the oracle of the W4A16 path).
dit_weights dequantized(const dit_weights& w) {
  dit_weights d = w;
  auto back = [](linear_w& l) {
    if (!l.nvfp4) return;
    l.weight.f32.resize(static_cast<std::size_t>(l.out * l.in));
    nvfp4_dequantize(cpu_t{}, l.nvfp4->view(), l.weight.f32.data(), l.in);
    l.nvfp4.reset();
  };
  for (block_w& b : d.blocks) {
    for (linear_w* l : {&b.attn.qkv, &b.attn.proj, &b.attn.beta_proj, &b.attn.gate_proj, &b.attn.output_gate,
                        &b.attn.q_proj_cam, &b.attn.k_proj_cam, &b.attn.v_proj_cam, &b.attn.out_proj_cam,
                        &b.cross.q_linear, &b.cross.kv_linear, &b.cross.proj, &b.mlp.inverted_conv, &b.mlp.point_conv,
                        &b.plucker_proj})
      back(*l);
  }
  return d;
}

/// Random small-model inputs (T latent frames on a 2×3 grid).
dit_inputs random_inputs(const dit_config& c, index_t T, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd;
  dit_inputs in;
  in.B = 1, in.T = T, in.Hl = 2, in.Wl = 3, in.L = 4;
  const index_t N = T * 6;
  for (index_t i = 0; i < c.in_channels * N; ++i) in.x.push_back(nd(rng));
  for (index_t t = 0; t < T; ++t) in.timestep.push_back(t == 0 ? 0.0f : 700.0f);
  for (index_t i = 0; i < in.L * c.caption_channels; ++i) in.y.push_back(nd(rng));
  in.mask = {1, 1, 1, 0};
  for (index_t t = 0; t < T; ++t) {
    const float row[20] = {1, 0, 0, 0.1f * float(t), 0, 1, 0, 0, 0, 0, 1, 0.2f * float(t), 0, 0, 0, 1, 3, 3, 1.5f, 1};
    in.camera_conditions.insert(in.camera_conditions.end(), row, row + 20);
  }
  for (index_t i = 0; i < c.plucker_channels * N; ++i) in.chunk_plucker.push_back(0.3f * nd(rng));
  return in;
}

TEST(DitNvfp4, QuantisedLinearEqualsDequantisedWeights) {
  // Every quantised layer of a block: ops::linear through the W4A16 GEMM == the fp32 GEMM on the dequantised
  // weights with the same bf16-rounded inputs (only the accumulation order differs).
  dit_weights w = make_random_dit(small_test(), 5);
  quantize_nvfp4(w, nvfp4_layers::all_blocks);
  const dit_weights ref = dequantized(w);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> nd;
  const block_w &bq = w.blocks[1], &br = ref.blocks[1];
  const std::pair<const linear_w*, const linear_w*> layers[] = {
      {&bq.attn.qkv, &br.attn.qkv}, {&bq.attn.beta_proj, &br.attn.beta_proj}, {&bq.cross.kv_linear, &br.cross.kv_linear},
      {&bq.mlp.inverted_conv, &br.mlp.inverted_conv}, {&bq.mlp.point_conv, &br.mlp.point_conv},
      {&bq.attn.q_proj_cam, &br.attn.q_proj_cam}};
  for (const auto& [lq, lr] : layers) {
    ASSERT_TRUE(lq->nvfp4) << lq->weight.key;
    const index_t rows = 37;
    std::vector<float> x(static_cast<std::size_t>(rows * lq->in)), got(static_cast<std::size_t>(rows * lq->out), NAN),
        want(got.size(), NAN);
    for (auto& v : x) v = nd(rng);
    ops::linear(*lq, x.data(), rows, got.data(), /*bf16_in=*/true);
    ops::linear(*lr, x.data(), rows, want.data(), /*bf16_in=*/true);
    double worst = 0, mx = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      worst = std::max(worst, double(std::abs(got[i] - want[i])));
      mx = std::max(mx, double(std::abs(want[i])));
    }
    EXPECT_LE(worst / mx, 1e-5) << lq->weight.key << ": max abs " << worst;
  }
}

TEST(DitNvfp4, QuantisedForwardTracksTheDequantisedModel) {
  // Whole network, bf16 activations: one-ulp bf16 flips propagate, so hold it to the bf16 tolerance.
  for (const nvfp4_layers set : {nvfp4_layers::self_attn_cross_ffn, nvfp4_layers::all_blocks}) {
    dit_weights w = make_random_dit(small_test(), 5);
    quantize_nvfp4(w, set);
    const dit_weights ref = dequantized(w);
    const dit_inputs in = random_inputs(w.config, 3, 9);
    forward_options o;
    o.bf16_activations = true;
    const auto out = dit_forward(w, in, o);
    const auto want = dit_forward(ref, in, o);
    double worst = 0, mx = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      worst = std::max(worst, double(std::abs(out[i] - want[i])));
      mx = std::max(mx, double(std::abs(want[i])));
    }
    EXPECT_LE(worst / mx, 1e-2) << "layer set " << int(set) << ": max abs " << worst;
  }
}

TEST(DitNvfp4, QuantisesUpstreamsStageOneLayerSet) {
  dit_weights w = make_random_dit(golden_tiny(), 3);
  const auto rep = quantize_nvfp4(w);
  EXPECT_EQ(rep.layers.size(), 4u * 10u);
  auto has = [&](const std::string& k) { return std::find(rep.layers.begin(), rep.layers.end(), k) != rep.layers.end(); };
  for (const char* k : {"blocks.0.attn.qkv.weight", "blocks.3.attn.output_gate.weight", "blocks.2.attn.beta_proj.weight",
                        "blocks.1.cross_attn.kv_linear.weight", "blocks.3.mlp.point_conv.conv.weight"})
    EXPECT_TRUE(has(k)) << k;
  for (const char* k : {"blocks.0.attn.q_proj_cam.weight", "blocks.0.plucker_proj.weight", "x_embedder.proj.weight",
                        "final_layer.linear.weight", "t_block.1.weight"})
    EXPECT_FALSE(has(k)) << k;
  EXPECT_TRUE(w.blocks[0].attn.qkv.weight.empty()) << "the fp32 weight must be released";
  EXPECT_FALSE(w.blocks[0].attn.q_proj_cam.weight.empty());
  // 4.5 bits per weight (codes + one E4M3 scale per 16) against 32.
  EXPECT_LT(rep.bytes_after * 7, rep.bytes_before);
}

TEST(DitNvfp4, GoldenTinyStaysCloseToTheFp32Model) {
  SANAWM_REQUIRE_GOLDEN();
  dit_weights w = load_dit(golden_dir() / "dit_tiny_a.weights.safetensors");
  quantize_nvfp4(w);
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a.io.safetensors");
  forward_options o;
  o.bf16_activations = true;
  const err_stats e = compare(dit_forward(w, inputs_from(io), o), io.read_as<double>("output_f64"));
  std::printf("  nvfp4 (W4A16, stage-1 layer set) output vs output_f64: max abs %.3g rel %.3g\n", e.max_abs, e.rel());
  EXPECT_LE(e.rel(), 0.15);
  EXPECT_GT(e.rel(), 1e-3) << "suspiciously exact: are the layers really quantised?";
}

TEST(DitNvfp4, KNotAMultipleOfTheBlockIsAClearError) {
  dit_config c = small_test();
  c.head_dim = 8;
  c.hidden = 8;
  dit_weights w = make_random_dit(c, 1);
  try {
    quantize_nvfp4(w);
    FAIL() << "expected an error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of the NVFP4 block"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sanawm::test

// SPDX-License-Identifier: Apache-2.0
// tests/dit/dit_golden_test.cpp — the golden tiny SANA-WM DiT (upstream NVlabs/Sana on CPU): bidirectional and
// chunk-causal outputs and per-block intermediates, bf16 compute, streaming == strict chunk-causal.
#include <cstdio>
#include <map>

#include "dit_common.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::dit;

const dit_weights& tiny_weights() {
  static const dit_weights w = load_dit(golden_dir() / "dit_tiny_a.weights.safetensors");
  return w;
}

TEST(DitGolden, ConfigFromMetadataIsTheTinyPreset) {
  SANAWM_REQUIRE_GOLDEN();
  const dit_config& c = tiny_weights().config;
  const dit_config g = golden_tiny();
  EXPECT_EQ(c.depth, g.depth);
  EXPECT_EQ(c.hidden, g.hidden);
  EXPECT_EQ(c.heads(), 2);
  EXPECT_EQ(c.caption_channels, g.caption_channels);
  EXPECT_EQ(c.kind(3), block_kind::softmax);
  EXPECT_EQ(c.kind(2), block_kind::gdn);
}

TEST(DitGolden, BidirectionalMatchesOutputAndIntermediates) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a.io.safetensors");
  std::map<std::string, std::vector<float>> acts;
  forward_options opt;
  opt.on_intermediate = [&](std::string_view n, const std::vector<float>& v, std::vector<index_t>) {
    acts[std::string(n)] = v;
  };
  const auto out = dit_forward(tiny_weights(), inputs_from(io), opt);
  for (const auto& [name, v] : acts) {
    if (!io.contains(name)) continue;
    const err_stats e = compare(v, io.read_as<double>(name));
    std::printf("  %-26s max abs %.3g  max ref %.3g  rel %.3g\n", name.c_str(), e.max_abs, e.max_ref, e.rel());
    EXPECT_LE(e.rel(), 1e-4) << name;
    EXPECT_LE(e.max_abs, 1e-3) << name;
  }
  EXPECT_EQ(acts.count("act.block3_out"), 1u);
  const err_stats e = compare(out, io.read_as<double>("output_f64"));
  std::printf("  output vs output_f64: max abs %.3g rel %.3g\n", e.max_abs, e.rel());
  EXPECT_LE(e.rel(), 1e-4);
  EXPECT_LE(e.max_abs, 1e-3);
}

}  // namespace
}  // namespace sanawm::test

namespace sanawm::test {
namespace {

using namespace sanawm::dit;

const dit_weights& tiny() {
  static const dit_weights w = load_dit(golden_dir() / "dit_tiny_a.weights.safetensors");
  return w;
}

TEST(DitGolden, ChunkCausalMatchesOutputProbeAndIntermediates) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a_chunk_causal.io.safetensors");
  std::map<std::string, std::vector<float>> acts;
  forward_options opt;
  opt.mode = dit_mode::chunk_causal;
  opt.on_intermediate = [&](std::string_view n, const std::vector<float>& v, std::vector<index_t>) {
    acts[std::string(n)] = v;
  };
  const dit_inputs in = inputs_from(io);
  EXPECT_EQ(chunk_starts(in.T, tiny().config.chunk_size), (std::vector<index_t>{0, 4}));
  const auto out = dit_forward(tiny(), in, opt);
  for (const auto& [name, v] : acts) {
    if (!io.contains(name)) continue;
    const err_stats e = compare(v, io.read_as<double>(name));
    std::printf("  %-26s max abs %.3g  max ref %.3g  rel %.3g\n", name.c_str(), e.max_abs, e.max_ref, e.rel());
    EXPECT_LE(e.rel(), 1e-4) << name;
  }
  const err_stats e = compare(out, io.read_as<double>("output_f64"));
  std::printf("  output vs output_f64: max abs %.3g rel %.3g\n", e.max_abs, e.rel());
  EXPECT_LE(e.rel(), 1e-4);

  opt.on_intermediate = nullptr;
  const auto probe = dit_forward(tiny(), inputs_from(io, "probe.x"), opt);
  const err_stats ep = compare(probe, io.read_as<double>("probe.output_f64"));
  std::printf("  probe.output vs probe.output_f64: max abs %.3g rel %.3g\n", ep.max_abs, ep.rel());
  EXPECT_LE(ep.rel(), 1e-4);

  // The bidirectional model on the same inputs differs (by about 1.03 max).
  const auto bidir = dit_forward(tiny(), in, {});
  const err_stats eb = compare(bidir, io.read_as<double>("output_bidirectional_model"));
  EXPECT_LE(eb.rel(), 1e-4);
}

TEST(DitGolden, StrictChunkMaskMakesChunk0IndependentOfLaterFrames) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a_chunk_causal.io.safetensors");
  forward_options opt;
  opt.mode = dit_mode::chunk_causal;
  opt.strict_softmax_chunk_mask = true;
  const auto a = dit_forward(tiny(), inputs_from(io), opt);
  const auto b = dit_forward(tiny(), inputs_from(io, "probe.x"), opt);
  const index_t per_c = 7 * 2 * 4;
  double diff0 = 0, diff1 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const index_t t = (static_cast<index_t>(i) % per_c) / 8;
    (t < 4 ? diff0 : diff1) = std::max(t < 4 ? diff0 : diff1, double(std::abs(a[i] - b[i])));
  }
  EXPECT_EQ(diff0, 0.0);
  EXPECT_GT(diff1, 0.1);
}

TEST(DitGolden, Bf16ComputeIsCloseToFp32) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a.io.safetensors");
  dit_load_options lo;
  lo.dtype = weight_dtype::bf16;
  const dit_weights wb = load_dit(golden_dir() / "dit_tiny_a.weights.safetensors", lo);
  EXPECT_FALSE(wb.blocks[0].attn.qkv.weight.b16.empty());
  EXPECT_TRUE(wb.blocks[0].attn.qkv.weight.f32.empty());
  forward_options opt;
  opt.bf16_activations = true;
  const auto out = dit_forward(wb, inputs_from(io), opt);
  const err_stats e = compare(out, io.read_as<double>("output_f64"));
  std::printf("  bf16 output vs output_f64: max abs %.3g rel %.3g\n", e.max_abs, e.rel());
  EXPECT_LE(e.rel(), 1e-2);
}

TEST(DitGolden, CfgBatchOfTheSamplerMatches) {
  SANAWM_REQUIRE_GOLDEN();
  const auto f = io::safetensors_file::open(golden_dir() / "sampler_bidir_a.safetensors");
  dit_inputs in;
  const auto& xs = f.at("step0.model_x").shape;
  in.B = xs[0], in.T = xs[2], in.Hl = xs[3], in.Wl = xs[4];
  in.L = f.at("step0.model_y").shape[2];
  in.x = f.read_as<float>("step0.model_x");
  in.timestep = f.read_as<float>("step0.model_timestep");
  in.y = f.read_as<float>("step0.model_y");
  in.mask = f.read_as<std::int64_t>("step0.model_mask");
  in.camera_conditions = f.read_as<float>("step0.model_camera_conditions");
  in.chunk_plucker = f.read_as<float>("step0.model_chunk_plucker");
  const auto out = dit_forward(tiny(), in);
  const err_stats e = compare(out, f.read_as<double>("step0.model_out_f64"));
  std::printf("  sampler step0 (B=2, uncond + cond) vs model_out_f64: max abs %.3g rel %.3g\n", e.max_abs, e.rel());
  EXPECT_LE(e.rel(), 1e-4);
}

TEST(DitStreaming, ChunkCallsWithCachesEqualStrictChunkCausal) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a_chunk_causal.io.safetensors");
  const dit_inputs in = inputs_from(io);
  forward_options opt;
  opt.mode = dit_mode::chunk_causal;
  opt.strict_softmax_chunk_mask = true;
  const auto full = dit_forward(tiny(), in, opt);
  const index_t cin = tiny().config.in_channels, S = in.Hl * in.Wl;
  stream_state st;
  double worst = 0;
  const std::vector<index_t> starts{0, 4, 7};
  for (std::size_t c = 0; c + 1 < starts.size(); ++c) {
    const index_t f = starts[c], n = starts[c + 1] - f;
    const dit_inputs s = slice_frames(in, f, n, cin, tiny().config.plucker_channels);
    const auto read_only = dit_forward_stream(tiny(), st, s, false);  // a denoising step: caches untouched
    const auto out = dit_forward_stream(tiny(), st, s, true);         // the cache-writing pass
    EXPECT_EQ(read_only, out);
    for (index_t ch = 0; ch < cin; ++ch)
      for (index_t i = 0; i < n * S; ++i)
        worst = std::max(worst, double(std::abs(out[static_cast<std::size_t>(ch * n * S + i)] -
                                                full[static_cast<std::size_t>((ch * in.T + f) * S + i)])));
  }
  EXPECT_EQ(st.frames_done, 7);
  std::printf("  streaming vs strict chunk-causal: max abs %.3g\n", worst);
  EXPECT_LE(worst, 1e-5);
}

}  // namespace
}  // namespace sanawm::test

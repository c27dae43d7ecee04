// SPDX-License-Identifier: Apache-2.0
// tests/sampler/sampler_test.cpp — schedules against golden/sigmas.txt, the bidirectional sampler against the
// upstream LTXFlowEuler trajectory (bit-exact scheduler, float32 and bf16 state, end to end with the tiny DiT),
// CFG scale 1, the chunk-causal teacher's staggered schedule, and the streaming sampler against the strict
// chunk-causal full-sequence computation it must equal.
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "dit/dit_common.hpp"
#include "sanawm/model/sampler/samplers.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::sampler;

std::map<std::string, std::vector<double>> read_sigmas_txt() {
  std::ifstream f(golden_dir() / "sigmas.txt");
  std::map<std::string, std::vector<double>> out;
  std::string line, section;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    out[section].push_back(std::stod(line));
  }
  return out;
}

/// Both values print as the same 9-significant-digit float32.
void expect_same_f32(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], static_cast<float>(want[i])) << what << "[" << i << "]";
}

TEST(Schedule, SixtyStepShiftedScheduleMatchesGolden) {
  SANAWM_REQUIRE_GOLDEN();
  const auto g = read_sigmas_txt();
  const flow_schedule s = flow_match_schedule(60, 9.8);
  expect_same_f32(s.sigmas, g.at("sigmas_60"), "sigmas_60");
  expect_same_f32(s.timesteps, g.at("timesteps_60"), "timesteps_60");
  const auto& mt = g.at("model_timesteps_60");
  ASSERT_EQ(mt.size(), s.timesteps.size());
  for (std::size_t i = 0; i < mt.size(); ++i)
    EXPECT_EQ(static_cast<double>(static_cast<std::int64_t>(s.timesteps[i])), mt[i]) << i;
}

TEST(Schedule, TrainingSigmaMinIsTheFloat32ShiftedMinimum) {
  EXPECT_EQ(static_cast<double>(train_sigma_min(9.8)), 0.009714513085782528);
  EXPECT_EQ(train_sigma_max(9.8), 1.0f);
  EXPECT_EQ(train_sigma_max(3.0), 1.0f);
}

TEST(Schedule, StreamingStepListMatchesGolden) {
  SANAWM_REQUIRE_GOLDEN();
  const auto g = read_sigmas_txt();
  const auto list = default_streaming_steps();
  const flow_schedule s = explicit_schedule(list);
  expect_same_f32(s.sigmas, g.at("sigmas_4step"), "sigmas_4step");
  expect_same_f32(s.timesteps, g.at("timesteps_4step"), "timesteps_4step");
}

TEST(Schedule, SixStepScheduleMatchesSamplerFile) {
  SANAWM_REQUIRE_GOLDEN();
  const auto f = io::safetensors_file::open(golden_dir() / "sampler_bidir_a.safetensors");
  const flow_schedule s = flow_match_schedule(6, 9.8);
  EXPECT_EQ(s.sigmas, f.read_as<float>("sigmas"));
  EXPECT_EQ(s.timesteps, f.read_as<float>("timesteps"));
}

TEST(Schedule, BadArgumentsAreClearErrors) {
  EXPECT_THROW(flow_match_schedule(0, 9.8), sanawm::error);
  EXPECT_THROW(flow_match_schedule(10, -1.0), sanawm::error);
  EXPECT_THROW(explicit_schedule(std::vector<index_t>{1000, 500}), sanawm::error);       // no terminal 0
  EXPECT_THROW(explicit_schedule(std::vector<index_t>{500, 900, 0}), sanawm::error);     // not decreasing
  EXPECT_THROW(explicit_schedule(std::vector<index_t>{1200, 0}), sanawm::error);         // out of range
  EXPECT_THROW(streaming_chunks(3, 3), sanawm::error);
  EXPECT_THROW(make_staggered_schedule(flow_match_schedule(4, 3.0), 2, 0.0), sanawm::error);
}

TEST(Schedule, StreamingChunksPutTheRemainderFirst) {
  auto sizes = [](index_t T) {
    std::vector<index_t> v;
    for (auto r : streaming_chunks(T, 3)) v.push_back(r.size());
    return v;
  };
  EXPECT_EQ(sizes(4), (std::vector<index_t>{4}));
  EXPECT_EQ(sizes(7), (std::vector<index_t>{4, 3}));
  EXPECT_EQ(sizes(6), (std::vector<index_t>{3, 3}));
  EXPECT_EQ(sizes(8), (std::vector<index_t>{5, 3}));
  EXPECT_EQ(sizes(121).size(), 40u);
}

TEST(Schedule, StaggeredMatrixFollowsChunkFlowEuler) {
  const flow_schedule s = flow_match_schedule(6, 9.8);
  const staggered_schedule m = make_staggered_schedule(s, 3, 1.0 / 3.0);
  EXPECT_EQ(m.start_step, (std::vector<index_t>{0, 2, 4}));
  EXPECT_EQ(m.total_steps, 10);
  EXPECT_EQ(m.at(1, 1), -1.0f);               // not started
  EXPECT_EQ(m.at(1, 2), s.timesteps[0]);      // starts with the first timestep
  EXPECT_EQ(m.at(0, 5), s.timesteps[5]);
  EXPECT_EQ(m.at(0, 6), 0.0f);                // finished: held clean
  EXPECT_EQ(m.at(2, 9), s.timesteps[5]);
}

TEST(Euler, NextSigmaIsTheLargestBelowTheToken) {
  const flow_schedule s = flow_match_schedule(6, 9.8);
  EXPECT_EQ(next_sigma(s.sigmas, s.sigmas[0]), s.sigmas[1]);
  EXPECT_EQ(next_sigma(s.sigmas, s.sigmas[5]), 0.0f);
  EXPECT_EQ(next_sigma(s.sigmas, 0.0f), 0.0f);
}

TEST(Euler, Bf16StateDiscardsTheFirstStepLikeUpstream) {
  EXPECT_FALSE(ltx_denoise_frame(1000.0f, state_dtype::bf16));
  EXPECT_TRUE(ltx_denoise_frame(1000.0f, state_dtype::f32));
  EXPECT_TRUE(ltx_denoise_frame(975.41833f, state_dtype::bf16));
}

// ---- the bidirectional sampler against upstream LTXFlowEuler -------------------------------------------------

struct sampler_golden {
  io::safetensors_file f;
  latent_shape s;
  conditions c;
  index_t pc = 48;
  static sampler_golden open() {
    sampler_golden g{io::safetensors_file::open(golden_dir() / "sampler_bidir_a.safetensors"), {}, {}};
    const auto& zs = g.f.at("z_init").shape;
    g.s = {zs[1], zs[2], zs[3], zs[4]};
    g.c.L = g.f.at("cond_y").shape[2];
    g.c.Cy = g.f.at("cond_y").shape[3];
    g.c.cond_y = g.f.read_as<float>("cond_y");
    g.c.uncond_y = g.f.read_as<float>("uncond_y");
    g.c.cond_mask = g.f.read_as<std::int64_t>("cond_mask");
    g.c.uncond_mask = g.f.read_as<std::int64_t>("uncond_mask");
    g.c.camera_conditions = g.f.read_as<float>("camera_conditions");
    g.c.chunk_plucker = g.f.read_as<float>("chunk_plucker");
    return g;
  }
};

/// Replays the stored model outputs and checks every model input against the stored trajectory.
class replay_denoiser final : public denoiser {
 public:
  replay_denoiser(const sampler_golden& g, std::string suffix) : g_(g) {
    out_ = g.f.read_as<float>("steps.model_out" + suffix);
    lat_ = g.f.read_as<float>("steps.latents" + suffix);
    ts_ = g.f.read_as<float>("steps.model_timestep");
  }
  std::vector<float> forward(const dit::dit_inputs& in, const std::vector<index_t>& starts) override {
    const auto n = static_cast<std::size_t>(g_.s.numel());
    EXPECT_EQ(in.B, 2);
    EXPECT_EQ(starts, (std::vector<index_t>{0}));
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t i = 0; i < n; ++i)
        if (in.x[b * n + i] != lat_[step_ * n + i]) {
          ADD_FAILURE() << "step " << step_ << ": model input differs from the stored latent at " << i;
          b = 2;
          break;
        }
    for (std::size_t i = 0; i < in.timestep.size(); ++i)
      EXPECT_EQ(static_cast<std::int64_t>(in.timestep[i]), static_cast<std::int64_t>(ts_[step_ * 6 + i]));
    EXPECT_EQ(std::vector<float>(in.y.begin(), in.y.begin() + static_cast<std::ptrdiff_t>(g_.c.uncond_y.size())),
              g_.c.uncond_y);
    std::vector<float> o(out_.begin() + static_cast<std::ptrdiff_t>(step_ * 2 * n),
                         out_.begin() + static_cast<std::ptrdiff_t>((step_ + 1) * 2 * n));
    ++step_;
    return o;
  }
  void begin_stream() override {}
  std::vector<float> forward_stream(const dit::dit_inputs&, bool) override { return {}; }
  std::size_t step_ = 0;

 private:
  const sampler_golden& g_;
  std::vector<float> out_, lat_, ts_;
};

TEST(SamplerGolden, SchedulerReproducesTheFloat32TrajectoryBitExactly) {
  SANAWM_REQUIRE_GOLDEN();
  const auto g = sampler_golden::open();
  replay_denoiser model(g, "");
  sampler_options o;
  o.steps = 6;
  std::size_t seen = 0;
  const auto lat = g.f.read_as<float>("steps.latents");
  const auto n = static_cast<std::size_t>(g.s.numel());
  o.on_step = [&](const step_event& e) {
    ASSERT_EQ(e.latents.size(), n);
    EXPECT_EQ(std::memcmp(e.latents.data(), lat.data() + (seen + 1) * n, n * sizeof(float)), 0)
        << "latent after step " << seen << " is not bit-identical";
    ++seen;
  };
  const auto out = sample_bidirectional(model, g.c, g.s, g.f.read_as<float>("z_init"), o, g.pc);
  EXPECT_EQ(seen, 6u);
  EXPECT_EQ(out, g.f.read_as<float>("final_latent"));
}

TEST(SamplerGolden, Bf16StateReproducesUpstreamIncludingTheNoOpFirstStep) {
  SANAWM_REQUIRE_GOLDEN();
  const auto g = sampler_golden::open();
  replay_denoiser model(g, ".bf16state");
  sampler_options o;
  o.steps = 6;
  o.state = state_dtype::bf16;
  const auto out = sample_bidirectional(model, g.c, g.s, g.f.read_as<float>("z_init"), o, g.pc);
  EXPECT_EQ(out, g.f.read_as<float>("final_latent.bf16state"));
  const auto lat = g.f.read_as<float>("steps.latents.bf16state");
  const auto n = static_cast<std::size_t>(g.s.numel());
  EXPECT_EQ(std::memcmp(lat.data(), lat.data() + n, n * sizeof(float)), 0) << "step 0 must be a no-op";
}

const dit::dit_weights& tiny_weights() {
  static const dit::dit_weights w = dit::load_dit(golden_dir() / "dit_tiny_a.weights.safetensors");
  return w;
}

TEST(SamplerGolden, EndToEndWithTheTinyDitMatchesFloat64Reference) {
  SANAWM_REQUIRE_GOLDEN();
  const auto g = sampler_golden::open();
  dit_denoiser model(tiny_weights());
  sampler_options o;
  o.steps = 6;
  const auto out = sample_bidirectional(model, g.c, g.s, g.f.read_as<float>("z_init"), o, g.pc);
  const err_stats e = compare(out, g.f.read_as<double>("final_latent.f64"));
  std::printf("final latent vs float64 reference: max abs %.3g, relative %.3g\n", e.max_abs, e.rel());
  EXPECT_LE(e.max_abs, 1e-3);
  EXPECT_LE(e.rel(), 1e-4);
  // Frame 0 is the image latent, untouched.
  const auto z0 = g.f.read_as<float>("image_latent");
  const index_t S = g.s.tokens_per_frame();
  for (index_t c = 0; c < g.s.C; ++c)
    for (index_t i = 0; i < S; ++i)
      ASSERT_EQ(out[static_cast<std::size_t>(c * g.s.T * S + i)], z0[static_cast<std::size_t>(c * S + i)]);
}

TEST(SamplerGolden, EndToEndBf16StateStaysWithinTwoUlps) {
  SANAWM_REQUIRE_GOLDEN();
  const auto g = sampler_golden::open();
  dit_denoiser model(tiny_weights());
  sampler_options o;
  o.steps = 6;
  o.state = state_dtype::bf16;
  const auto out = sample_bidirectional(model, g.c, g.s, g.f.read_as<float>("z_init"), o, g.pc);
  const auto ref = g.f.read_as<float>("final_latent.bf16state");
  double max_abs = 0, se = 0, sr = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double d = double(out[i]) - double(ref[i]);
    max_abs = std::max(max_abs, std::abs(d));
    se += d * d;
    sr += double(ref[i]) * double(ref[i]);
  }
  std::printf("bf16 state vs upstream: max abs %.3g, rel RMS %.3g\n", max_abs, std::sqrt(se / sr));
  EXPECT_LE(max_abs, 0.125);
  EXPECT_LE(std::sqrt(se / sr), 5e-3);
}

// ---- CFG, chunk-causal, streaming on a small random model ------------------------------------------------------

/// A small random DiT (seeded) and matching conditions for T latent frames on an H×W grid.
struct small_setup {
  dit::dit_weights w;
  latent_shape s;
  conditions c;
  static small_setup make(index_t T, index_t H, index_t W, std::uint64_t seed) {
    small_setup u;
    u.w = dit::make_random_dit(dit::small_test(), seed);
    u.s = {u.w.config.in_channels, T, H, W};
    std::mt19937_64 rng(seed + 1);
    std::normal_distribution<float> nd;
    u.c.L = 5, u.c.Cy = u.w.config.caption_channels;
    for (index_t i = 0; i < u.c.L * u.c.Cy; ++i) u.c.cond_y.push_back(nd(rng)), u.c.uncond_y.push_back(nd(rng));
    u.c.cond_mask = {1, 1, 1, 1, 0};
    u.c.uncond_mask = {1, 1, 0, 0, 0};
    for (index_t t = 0; t < T; ++t) {
      const float pose[16] = {1, 0, 0, 0.05f * float(t), 0, 1, 0, 0, 0, 0, 1, 0.1f * float(t), 0, 0, 0, 1};
      u.c.camera_conditions.insert(u.c.camera_conditions.end(), pose, pose + 16);
      const float k[4] = {float(W), float(W), 0.5f * float(W), 0.5f * float(H)};
      u.c.camera_conditions.insert(u.c.camera_conditions.end(), k, k + 4);
    }
    for (index_t i = 0; i < u.w.config.plucker_channels * T * H * W; ++i) u.c.chunk_plucker.push_back(0.3f * nd(rng));
    return u;
  }
  std::vector<float> noise(std::uint64_t seed) const {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd;
    std::vector<float> z(static_cast<std::size_t>(s.numel()));
    for (auto& v : z) v = nd(rng);
    return z;
  }
};

TEST(Sampler, CfgScaleOneIsTheConditionalModelAlone) {
  auto u = small_setup::make(3, 2, 2, 7);
  dit_denoiser model(u.w);
  sampler_options o;
  o.steps = 3;
  o.cfg_scale = 1.0;
  const auto z = u.noise(3);
  const auto out = sample_bidirectional(model, u.c, u.s, z, o, u.w.config.plucker_channels);
  // Hand-written conditional-only loop.
  std::vector<float> x = z;
  const flow_schedule sch = flow_match_schedule(3, 9.8);
  for (index_t i = 0; i < 3; ++i) {
    const std::vector<float> ft{0.0f, sch.timesteps[static_cast<std::size_t>(i)], sch.timesteps[static_cast<std::size_t>(i)]};
    const auto in = sampler::detail::model_inputs(u.c, u.s, u.w.config.plucker_channels, {0, 3}, x, ft, false);
    EXPECT_EQ(in.B, 1);
    EXPECT_EQ(in.y, u.c.cond_y);
    const auto v = dit::dit_forward(u.w, in);
    euler_step(x, v, u.s.C, u.s.T, 4, ft, std::vector<std::uint8_t>{0, 1, 1}, sch.sigmas, state_dtype::f32);
  }
  EXPECT_EQ(out, x);
}

TEST(Sampler, ChunkCausalFeedsTheActivePrefixWithStaggeredTimesteps) {
  auto u = small_setup::make(7, 2, 2, 11);
  struct spy final : denoiser {
    dit_denoiser inner;
    std::vector<std::pair<index_t, std::vector<index_t>>> calls;  // (frames, starts)
    std::vector<std::vector<float>> ts;
    explicit spy(const dit::dit_weights& w) : inner(w) {}
    std::vector<float> forward(const dit::dit_inputs& in, const std::vector<index_t>& s) override {
      calls.emplace_back(in.T, s);
      ts.push_back(in.timestep);
      return inner.forward(in, s);
    }
    void begin_stream() override {}
    std::vector<float> forward_stream(const dit::dit_inputs&, bool) override { return {}; }
  } model(u.w);
  sampler_options o;
  o.steps = 4;
  o.cfg_scale = 1.0;
  const auto out = sample_chunk_causal(model, u.c, u.s, u.noise(5), o, u.w.config.plucker_channels);
  // chunks [0,4) and [4,7); interval 1/2 → chunk 1 starts at global step 2; 6 global steps in all.
  ASSERT_EQ(model.calls.size(), 6u);
  EXPECT_EQ(model.calls[0].first, 4);
  EXPECT_EQ(model.calls[0].second, (std::vector<index_t>{0}));
  EXPECT_EQ(model.calls[2].first, 7);
  EXPECT_EQ(model.calls[2].second, (std::vector<index_t>{0, 4}));
  const flow_schedule sch = flow_match_schedule(4, 9.8);
  EXPECT_EQ(model.ts[2][0], 0.0f);                 // condition frame
  EXPECT_EQ(model.ts[2][1], sch.timesteps[2]);     // chunk 0 is two steps ahead
  EXPECT_EQ(model.ts[2][4], sch.timesteps[0]);     // chunk 1 starts
  EXPECT_EQ(model.ts[5][1], 0.0f);                 // chunk 0 finished, held clean
  EXPECT_EQ(model.ts[5][6], sch.timesteps[3]);
  for (float v : out) ASSERT_TRUE(std::isfinite(v));
}

TEST(Sampler, StreamingEqualsStrictChunkCausalRecomputation) {
  // Streaming with caches and no window == for every chunk, a strict chunk-causal full-sequence forward over all
  // frames so far with the finished chunks clean at t = 0 (the property upstream's cached model is built on).
  auto u = small_setup::make(7, 2, 2, 21);
  const index_t pc = u.w.config.plucker_channels;
  dit_denoiser model(u.w, {}, /*window=*/0);
  sampler_options o;
  o.cfg_scale = 1.0;
  const auto z = u.noise(9);
  std::vector<float> streamed(z.size());
  sample_streaming(
      model, u.c, u.s, [&](frame_range r) { return sampler::detail::gather_frames(z, u.s, r); },
      [&](frame_range r, std::span<const float> x) { sampler::detail::scatter_frames(x, u.s, r, streamed); }, o, pc);

  // Reference.
  const flow_schedule sch = explicit_schedule(o.step_list);
  std::vector<float> ref = z;
  for (frame_range r : streaming_chunks(u.s.T, 3)) {
    const frame_range pre{0, r.end};
    const latent_shape sp{u.s.C, r.end, u.s.H, u.s.W};
    std::vector<index_t> starts;
    for (frame_range q : streaming_chunks(u.s.T, 3))
      if (q.begin < r.end) starts.push_back(q.begin);
    std::vector<float> x = sampler::detail::gather_frames(ref, u.s, pre);
    for (index_t i = 0; i < sch.steps(); ++i) {
      std::vector<float> ft(static_cast<std::size_t>(r.end), 0.0f);
      std::vector<std::uint8_t> upd(static_cast<std::size_t>(r.end), 0);
      for (index_t f = r.begin; f < r.end; ++f)
        if (f != 0) ft[static_cast<std::size_t>(f)] = sch.timesteps[static_cast<std::size_t>(i)], upd[static_cast<std::size_t>(f)] = 1;
      dit::forward_options fo;
      fo.mode = dit::dit_mode::chunk_causal;
      fo.chunk_index = starts;
      fo.strict_softmax_chunk_mask = true;
      const auto v = dit::dit_forward(u.w, sampler::detail::model_inputs(u.c, u.s, pc, pre, x, ft, false), fo);
      euler_step(x, v, sp.C, sp.T, sp.tokens_per_frame(), ft, upd, sch.sigmas, state_dtype::f32);
    }
    sampler::detail::scatter_frames(x, u.s, pre, ref);
  }
  double worst = 0, mx = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    worst = std::max(worst, double(std::abs(streamed[i] - ref[i])));
    mx = std::max(mx, double(std::abs(ref[i])));
  }
  std::printf("streaming vs strict chunk-causal recomputation: max abs %.3g, relative %.3g\n", worst, worst / mx);
  EXPECT_LE(worst / mx, 1e-4) << "max abs diff " << worst;
  // The chunks really were denoised (they moved away from the noise).
  EXPECT_NE(streamed, z);
}

TEST(Sampler, StreamingCacheIsBoundedByTheWindow) {
  auto u = small_setup::make(22, 1, 2, 31);
  dit_denoiser model(u.w, {}, /*window=*/2);
  sampler_options o;
  o.cfg_scale = 1.0;
  o.step_list = {1000, 0};
  const auto z = u.noise(1);
  std::vector<std::size_t> kv_chunks;
  sample_streaming(
      model, u.c, u.s, [&](frame_range r) { return sampler::detail::gather_frames(z, u.s, r); },
      [&](frame_range, std::span<const float>) {
        kv_chunks.push_back(model.stream().blocks.empty() ? 0 : model.stream().blocks[1].kv.size());
      },
      o, u.w.config.plucker_channels);
  ASSERT_EQ(kv_chunks.size(), 7u);
  for (std::size_t k = 1; k < kv_chunks.size(); ++k) EXPECT_LE(kv_chunks[k], 2u) << "chunk " << k;
}

TEST(Sampler, BadConditioningIsAClearError) {
  auto u = small_setup::make(3, 2, 2, 3);
  dit_denoiser model(u.w);
  sampler_options o;
  o.steps = 1;
  auto c = u.c;
  c.camera_conditions.pop_back();
  try {
    sample_bidirectional(model, c, u.s, u.noise(1), o, u.w.config.plucker_channels);
    FAIL() << "expected an error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("camera_conditions"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sample_bidirectional(model, u.c, u.s, std::vector<float>(5), o, u.w.config.plucker_channels),
               sanawm::error);
}

}  // namespace
}  // namespace sanawm::test

// SPDX-License-Identifier: Apache-2.0
// tests/dit/engine_checks.hpp — the backend engine's checks, run on dit_engine<cpu_t> (dit_engine_test.cpp) and on
// dit_engine<cuda_t> (dit_engine_cuda_test.cpp) through engine_runner: the golden tiny model in every mode with its
// intermediates, streaming == strict chunk-causal, agreement with the CPU forward (dit.hpp) on a random model with
// two batch rows, a padded caption and a sliding softmax window, and bf16 compute.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>

#include "dit_common.hpp"
#include "engine_runner.hpp"

namespace sanawm::test {

/// Makes an engine over `refs` (fp32 or bf16 compute).
using runner_factory = std::function<std::unique_ptr<engine_runner>(const dit::dit_refs&, bool)>;

inline const dit::dit_weights& engine_tiny(dit::weight_dtype dt = dit::weight_dtype::f32) {
  static const dit::dit_weights w32 = dit::load_dit(golden_dir() / "dit_tiny_a.weights.safetensors");
  static const dit::dit_weights w16 = [] {
    dit::dit_load_options lo;
    lo.dtype = dit::weight_dtype::bf16;
    return dit::load_dit(golden_dir() / "dit_tiny_a.weights.safetensors", lo);
  }();
  return dt == dit::weight_dtype::bf16 ? w16 : w32;
}

/// Largest |a − b| relative to the largest |b|.
inline double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0, r = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double e = std::abs(double(a[i]) - double(b[i]));
    d = std::isfinite(e) ? std::max(d, e) : INFINITY;
    r = std::max(r, std::abs(double(b[i])));
  }
  return r > 0 ? d / r : d;
}

inline void check_engine_golden_bidirectional(const runner_factory& make) {
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a.io.safetensors");
  auto e = make(dit::refs_of(engine_tiny()), false);
  std::map<std::string, std::vector<float>> acts;
  dit::forward_options opt;
  opt.on_intermediate = [&](std::string_view n, const std::vector<float>& v, std::vector<index_t>) {
    acts[std::string(n)] = v;
  };
  const auto out = e->forward(inputs_from(io), opt);
  int compared = 0;
  for (const auto& [name, v] : acts) {
    if (!io.contains(name)) continue;
    const err_stats s = compare(v, io.read_as<double>(name));
    std::printf("  %-26s max abs %.3g  max ref %.3g  rel %.3g\n", name.c_str(), s.max_abs, s.max_ref, s.rel());
    EXPECT_LE(s.rel(), 1e-4) << name;
    EXPECT_LE(s.max_abs, 1e-3) << name;
    ++compared;
  }
  EXPECT_GE(compared, 10);
  const err_stats s = compare(out, io.read_as<double>("output_f64"));
  std::printf("  output vs output_f64: max abs %.3g rel %.3g\n", s.max_abs, s.rel());
  EXPECT_LE(s.rel(), 1e-4);
  EXPECT_LE(s.max_abs, 1e-3);
}

inline void check_engine_golden_chunk_causal(const runner_factory& make) {
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a_chunk_causal.io.safetensors");
  auto e = make(dit::refs_of(engine_tiny()), false);
  dit::forward_options opt;
  opt.mode = dit::dit_mode::chunk_causal;
  const err_stats s = compare(e->forward(inputs_from(io), opt), io.read_as<double>("output_f64"));
  std::printf("  chunk-causal output vs output_f64: max abs %.3g rel %.3g\n", s.max_abs, s.rel());
  EXPECT_LE(s.rel(), 1e-4);
  const err_stats p = compare(e->forward(inputs_from(io, "probe.x"), opt), io.read_as<double>("probe.output_f64"));
  std::printf("  probe output vs probe.output_f64: max abs %.3g rel %.3g\n", p.max_abs, p.rel());
  EXPECT_LE(p.rel(), 1e-4);
  const err_stats b = compare(e->forward(inputs_from(io), {}), io.read_as<double>("output_bidirectional_model"));
  EXPECT_LE(b.rel(), 1e-4);
}

inline void check_engine_streaming(const runner_factory& make) {
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a_chunk_causal.io.safetensors");
  const dit::dit_weights& w = engine_tiny();
  auto e = make(dit::refs_of(w), false);
  const dit::dit_inputs in = inputs_from(io);
  dit::forward_options opt;
  opt.mode = dit::dit_mode::chunk_causal;
  opt.strict_softmax_chunk_mask = true;
  const auto full = e->forward(in, opt);
  const index_t cin = w.config.in_channels, S = in.Hl * in.Wl;
  e->reset_stream(0);
  double worst = 0, read_vs_write = 0;
  const std::vector<index_t> starts{0, 4, 7};
  for (std::size_t c = 0; c + 1 < starts.size(); ++c) {
    const index_t f = starts[c], n = starts[c + 1] - f;
    const dit::dit_inputs s = slice_frames(in, f, n, cin, w.config.plucker_channels);
    const auto read_only = e->forward_stream(s, false);  // a denoising step: caches untouched
    const auto out = e->forward_stream(s, true);         // the cache-writing pass
    read_vs_write = std::max(read_vs_write, rel_diff(read_only, out));
    worst = std::max(worst, max_diff_frames(out, full, cin, in.T, f, n, S));
  }
  EXPECT_EQ(e->frames_done(), 7);
  std::printf("  streaming vs strict chunk-causal: max abs %.3g; read-only vs cache-writing pass: rel %.3g\n", worst,
              read_vs_write);
  EXPECT_LE(worst, 1e-5);
  EXPECT_LE(read_vs_write, 1e-6);
}

/// A random input for `c`: B rows, T frames on Hl × Wl, L caption tokens with the last ones padded, a moving camera.
inline dit::dit_inputs random_engine_inputs(const dit::dit_config& c, index_t B, index_t T, index_t Hl, index_t Wl,
                                            index_t L, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  dit::dit_inputs in;
  in.B = B, in.T = T, in.Hl = Hl, in.Wl = Wl, in.L = L;
  const index_t N = T * Hl * Wl;
  auto fill = [&](std::vector<float>& v, index_t n) {
    v.resize(static_cast<std::size_t>(n));
    for (float& x : v) x = u(rng);
  };
  fill(in.x, B * c.in_channels * N);
  fill(in.y, B * L * c.caption_channels);
  fill(in.chunk_plucker, B * c.plucker_channels * N);
  for (index_t i = 0; i < B * T; ++i) in.timestep.push_back(50.0f + 900.0f * (u(rng) * 0.5f + 0.5f));
  for (index_t b = 0; b < B; ++b)
    for (index_t l = 0; l < L; ++l) in.mask.push_back(l < L - 1 - b ? 1 : 0);
  in.camera_conditions.assign(static_cast<std::size_t>(B * T * camera_condition_width), 0.0f);
  for (index_t bt = 0; bt < B * T; ++bt) {
    float* p = in.camera_conditions.data() + bt * camera_condition_width;
    const float a = 0.05f * float(bt % T);  // yaw about y, moving forward
    p[0] = std::cos(a), p[2] = std::sin(a), p[5] = 1.0f, p[8] = -std::sin(a), p[10] = std::cos(a), p[15] = 1.0f;
    p[3] = 0.02f * float(bt / T), p[11] = 0.1f * float(bt % T);
    p[16] = 1.2f * float(Wl), p[17] = 1.2f * float(Hl), p[18] = 0.5f * float(Wl), p[19] = 0.5f * float(Hl);
  }
  return in;
}

/// Engine vs the CPU forward on a random model: bidirectional and chunk-causal with B = 2 and a padded caption,
/// then a streaming rollout with a one-chunk softmax window (sink + eviction).
inline void check_engine_matches_cpu_forward(const runner_factory& make) {
  dit::dit_config c = dit::small_test();
  c.depth = 4;  // two GDN and two softmax blocks
  const dit::dit_weights w = dit::make_random_dit(c, 11);
  auto e = make(dit::refs_of(w), false);
  const dit::dit_inputs in = random_engine_inputs(c, 2, 7, 3, 4, 6, 5);
  for (auto mode : {dit::dit_mode::bidirectional, dit::dit_mode::chunk_causal}) {
    dit::forward_options o;
    o.mode = mode;
    const double d = rel_diff(e->forward(in, o), dit::dit_forward(w, in, o));
    std::printf("  %s: rel diff to dit_forward %.3g\n", mode == dit::dit_mode::chunk_causal ? "chunk-causal" : "bidirectional", d);
    EXPECT_LE(d, 1e-5);
  }
  dit::stream_state st;
  st.num_cached_chunks = 1;
  e->reset_stream(1);
  double worst = 0;
  for (index_t f : {0, 2, 4, 6}) {
    const index_t n = f == 6 ? 1 : 2;
    const dit::dit_inputs s = dit::slice_frames(in, f, n, c.in_channels, c.plucker_channels);
    for (bool write : {false, true})
      worst = std::max(worst, rel_diff(e->forward_stream(s, write), dit::dit_forward_stream(w, st, s, write)));
  }
  std::printf("  streaming (window 1 + sink): rel diff to dit_forward_stream %.3g\n", worst);
  EXPECT_LE(worst, 1e-5);
  EXPECT_EQ(e->frames_done(), 7);
}

inline void check_engine_bf16(const runner_factory& make) {
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a.io.safetensors");
  auto e = make(dit::refs_of(engine_tiny(dit::weight_dtype::bf16)), true);
  const err_stats s = compare(e->forward(inputs_from(io), {}), io.read_as<double>("output_f64"));
  std::printf("  bf16 engine output vs output_f64: max abs %.3g rel %.3g\n", s.max_abs, s.rel());
  EXPECT_LE(s.rel(), 1e-2);
}

}  // namespace sanawm::test

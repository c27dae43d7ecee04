// SPDX-License-Identifier: Apache-2.0
// bench/gdn/gdn_bench.cpp — frame-wise GDN at SANA-WM's production shapes (H = 20, D = 112, S = 880, 720p)
// and the token-wise gated delta rule (recurrent vs chunked), with FLOP/s and the fraction of the machine's
// fp32 peak.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <random>
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/backend/cpu/simd.hpp"
#include "sanawm/kernels/gdn/delta_rule_cpu.hpp"
#include "sanawm/kernels/gdn/gdn_cpu.hpp"

namespace {

using sanawm::index_t;
using V = sanawm::cpu::vec<float, sanawm::cpu::native_isa>;

// ---- calibration: fp32 FMA peak
// -------------------------------------------------------------------------------- The build machines are
// shared (other jobs compete for the same cores), so every rate is reported twice: per wall-clock second, and
// per CPU second actually granted to this process (CLOCK_PROCESS_CPUTIME_ID, all threads). The per-CPU-second
// figure compared with the per-core peak is the kernel's efficiency; on an idle machine the two agree.

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// 16 independent FMA chains (more than latency × issue width on any x86 core): FLOPs of `iters` iterations.
double fma_loop(index_t iters) {
  constexpr int chains = 16;
  V acc[chains];
  for (int i = 0; i < chains; ++i) acc[i] = V::broadcast(static_cast<float>(i) * 1e-3f);
  const V a = V::broadcast(0.999f), b = V::broadcast(1e-4f);
  for (index_t it = 0; it < iters; ++it) {
    SANAWM_UNROLL for (int i = 0; i < chains; ++i) acc[i] = fma(acc[i], a, b);
  }
  float sink = 0;
  for (int i = 0; i < chains; ++i) sink += reduce_add(acc[i]);
  benchmark::DoNotOptimize(sink);
  return 2.0 * V::width * chains * static_cast<double>(iters);
}

/// fp32 FMA peak of one core per CPU second of the measuring thread (best of 5).
double core_peak_fp32() {
  static const double peak = [] {
    double best = 0;
    for (int r = 0; r < 5; ++r) {
      const double t0 = thread_cpu_seconds();
      const double f = fma_loop(index_t{1} << 22);
      best = std::max(best, f / (thread_cpu_seconds() - t0));
    }
    return best;
  }();
  return peak;
}

/// The FMA loop on every pool thread at once, per wall-clock second (best of 5): the machine's peak as this
/// process sees it right now (below threads × core peak when other jobs hold the cores).
double machine_peak_fp32_wall() {
  auto& pool = sanawm::cpu::global_pool();
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    std::vector<double> flops(static_cast<std::size_t>(pool.size()));
    const auto t0 = std::chrono::steady_clock::now();
    pool.run([&](int p) { flops[static_cast<std::size_t>(p)] = fma_loop(index_t{1} << 21); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double total = 0;
    for (double f : flops) total += f;
    best = std::max(best, total / s);
  }
  return best;
}

void BM_peak_fp32_fma(benchmark::State& state) {
  for (auto _ : state) {
    state.counters["core_GFLOP/s"] = core_peak_fp32() / 1e9;
    state.counters["all_threads_wall_GFLOP/s"] = machine_peak_fp32_wall() / 1e9;
  }
  state.counters["threads"] = sanawm::cpu::num_threads();
}
BENCHMARK(BM_peak_fp32_fma)->Iterations(1);

/// Sets GFLOP/s and peak-fraction counters from the loop's wall and CPU time.
void set_rate_counters(benchmark::State& state, double flops_per_iter, double wall_s, double cpu_s) {
  const double flops = flops_per_iter * static_cast<double>(state.iterations());
  const double threads = sanawm::cpu::num_threads();
  state.counters["GFLOP/s"] = flops / wall_s / 1e9;
  state.counters["peak_frac"] = flops / wall_s / (core_peak_fp32() * threads);
  state.counters["GFLOP/cpu_s"] = flops / cpu_s / 1e9;
  state.counters["peak_frac_cpu"] = flops / cpu_s / core_peak_fp32();
}

// ---- frame-wise GDN
// -------------------------------------------------------------------------------------------

struct frame_inputs {
  index_t B, T, S, H, D;
  std::vector<float> q, qr, k, kr, v, beta, gamma, out;
  frame_inputs(index_t b, index_t t, index_t s, index_t h, index_t d) : B(b), T(t), S(s), H(h), D(d) {
    const auto n = static_cast<std::size_t>(b * t * s * h * d);
    std::mt19937 gen(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const float ks = 1.0f / std::sqrt(static_cast<float>(d * s));
    for (auto* x : {&q, &qr, &k, &kr, &v}) {
      x->resize(n);
      for (auto& e : *x) e = nd(gen);
    }
    for (auto* x : {&q, &qr})
      for (auto& e : *x) e = std::max(e, 0.0f);
    for (auto* x : {&k, &kr})
      for (auto& e : *x) e = std::max(e, 0.0f) * ks;
    beta.resize(static_cast<std::size_t>(b * t * s * h));
    for (auto& e : beta) e = 1.0f / (1.0f + std::exp(-(1.0f + 0.8f * nd(gen))));
    gamma.resize(static_cast<std::size_t>(b * t * h));
    for (auto& e : gamma) e = 0.9f + 0.09f * std::abs(nd(gen)) / 3.0f;
    out.resize(n);
  }
  sanawm::gdn_tokens_view tv(const std::vector<float>& x) const {
    using E = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn>;
    return sanawm::tensor_view<const float, E>(x.data(), E(B, T, S, H, D));
  }
  sanawm::gdn_inputs inputs() const {
    using E4 = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn>;
    using E3 = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn>;
    return {tv(q),
            tv(qr),
            tv(k),
            tv(kr),
            tv(v),
            sanawm::tensor_view<const float, E4>(beta.data(), E4(B, T, S, H)),
            sanawm::tensor_view<const float, E3>(gamma.data(), E3(B, T, H))};
  }
  sanawm::gdn_tokens_out_view out_view() {
    using E = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn>;
    return sanawm::tensor_view<float, E>(out.data(), E(B, T, S, H, D));
  }
};

/// Nominal (dense) FLOPs of one main-branch call: per head and frame P, A, Pz (3 · 2SD²), q̂ʳM (2SD²), q̂·z
/// (2SD) and the scans (2D³ each, two when bidirectional), as in gdn-kernels.md §3.2 and as PyTorch executes
/// them. sanawm computes only one half of the symmetric P and Pz, so it executes ~19% fewer FMAs than this
/// count (docs/kernels/gdn.md).
double gdn_flops(const frame_inputs& p, bool bidir) {
  const double S = static_cast<double>(p.S), D = static_cast<double>(p.D);
  return static_cast<double>(p.B * p.H * p.T) * (8 * S * D * D + 2 * S * D + (bidir ? 4 : 2) * D * D * D);
}

void BM_gdn_frame(benchmark::State& state) {
  const index_t T = state.range(0);
  const auto mode = static_cast<sanawm::gdn_mode>(state.range(1));
  frame_inputs p(1, T, 880, 20, 112);
  sanawm::gdn_options opt;
  opt.mode = mode;
  const index_t starts[] = {0, 4};
  opt.chunk_starts = starts;
  core_peak_fp32();
  double wall = 0, cpu = 0;
  for (auto _ : state) {
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    sanawm::gdn_frame(sanawm::cpu_t{}, p.inputs(), {p.out_view(), {}, {}}, opt);
    cpu += cpu_seconds() - c0;
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    benchmark::DoNotOptimize(p.out.data());
  }
  set_rate_counters(state, gdn_flops(p, mode != sanawm::gdn_mode::causal), wall, cpu);
  state.SetLabel(mode == sanawm::gdn_mode::causal ? "causal" : "bidirectional");
}
// Production shapes: B = 1, 20 heads of 112, 880 tokens per latent frame (704×1280), T latent frames.
BENCHMARK(BM_gdn_frame)
    ->Args({11, static_cast<int>(sanawm::gdn_mode::bidirectional)})
    ->Args({41, static_cast<int>(sanawm::gdn_mode::bidirectional)})
    ->Args({121, static_cast<int>(sanawm::gdn_mode::bidirectional)})
    ->Args({41, static_cast<int>(sanawm::gdn_mode::causal)})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

// ---- token-wise gated delta rule
// ----------------------------------------------------------------------------

void BM_delta_rule(benchmark::State& state) {
  const index_t T = state.range(0), H = 4, HV = 8, K = 128, Vd = 128;
  const bool chunked = state.range(1) != 0;
  using E4 = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn>;
  using E3 = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn>;
  std::mt19937 gen(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(static_cast<std::size_t>(T * H * K)), k(q.size()),
      v(static_cast<std::size_t>(T * HV * Vd)), o(v.size()), g(static_cast<std::size_t>(T * HV)), b(g.size());
  for (auto* x : {&q, &k, &v})
    for (auto& e : *x) e = nd(gen);
  for (auto& e : g) e = -0.05f * std::abs(nd(gen));
  for (auto& e : b) e = 0.6f;
  const sanawm::delta_rule_inputs in{sanawm::tensor_view<const float, E4>(q.data(), E4(1, T, H, K)),
                                     sanawm::tensor_view<const float, E4>(k.data(), E4(1, T, H, K)),
                                     sanawm::tensor_view<const float, E4>(v.data(), E4(1, T, HV, Vd)),
                                     sanawm::tensor_view<const float, E3>(g.data(), E3(1, T, HV)),
                                     sanawm::tensor_view<const float, E3>(b.data(), E3(1, T, HV))};
  const sanawm::delta_rule_tokens_out_view out(sanawm::tensor_view<float, E4>(o.data(), E4(1, T, HV, Vd)));
  sanawm::delta_rule_options opt;
  opt.qk_l2norm = true;
  double wall = 0, cpu = 0;
  for (auto _ : state) {
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    if (chunked)
      sanawm::delta_rule_chunked(sanawm::cpu_t{}, in, out, opt);
    else
      sanawm::delta_rule_recurrent(sanawm::cpu_t{}, in, out, opt);
    cpu += cpu_seconds() - c0;
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    benchmark::DoNotOptimize(o.data());
  }
  const double n = static_cast<double>(T) * static_cast<double>(state.iterations());
  state.counters["tokens/s"] = n / wall;
  state.counters["tokens/cpu_s"] = n / cpu;
  state.SetLabel(chunked ? "chunked C=64" : "recurrent");
}
// Qwen3-Next-like heads (4 q/k heads, 8 value heads, K = V = 128), one prefill of T tokens.
BENCHMARK(BM_delta_rule)->Args({1024, 0})->Args({1024, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

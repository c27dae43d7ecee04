// SPDX-License-Identifier: Apache-2.0
// gemm_bench — gemm(cpu_t, …) at SANA-WM's linear-layer shapes, fp32 and bf16, 1 thread and all threads, with
// FLOP/s and the fraction of this machine's measured peak (calibration micro-kernels for fp32 FMA and bf16 dot).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "sanawm/backend/cpu/simd.hpp"
#include "sanawm/backend/cpu/thread_pool.hpp"
#include "sanawm/core/bf16.hpp"
#include "sanawm/kernels/gemm/gemm.hpp"
#include "sanawm/kernels/gemm/gemm_cpu.hpp"

namespace {

using sanawm::bf16;
using sanawm::index_t;
using V = sanawm::cpu::vec<float, sanawm::cpu::native_isa>;

// ---- calibration: this core's peak ----------------------------------------------------------------------------

// Thread CPU time: the calibration measures what a core does while it runs this thread, so time the machine spends
// on other processes (the build machine is shared) does not lower the "peak".
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// 16 independent accumulator chains: more than FMA latency × issue width on any x86 core, so the loop runs at the
// FMA port's throughput. Returns FLOP/s (2 per lane per FMA) on the calling thread.
double measure_peak_fp32(index_t iters) {
  constexpr int chains = 16;
  V acc[chains];
  for (int i = 0; i < chains; ++i) acc[i] = V::broadcast(static_cast<float>(i) * 1e-3f);
  const V a = V::broadcast(0.999f), b = V::broadcast(1e-4f);
  const double t0 = thread_seconds();
  for (index_t it = 0; it < iters; ++it) {
    SANAWM_UNROLL for (int i = 0; i < chains; ++i) acc[i] = fma(acc[i], a, b);
  }
  const double s = thread_seconds() - t0;
  float sink = 0;
  for (int i = 0; i < chains; ++i) sink += reduce_add(acc[i]);
  benchmark::DoNotOptimize(sink);
  return 2.0 * V::width * chains * static_cast<double>(iters) / s;
}

// The same with dot_bf16 (vdpbf16ps on AVX512-BF16): each lane does 2 multiply-adds = 4 FLOP per instruction.
double measure_peak_bf16(index_t iters) {
  using P = sanawm::cpu::bf16_pairs<sanawm::cpu::native_isa>;
  constexpr int chains = 16;
  V acc[chains];
  for (int i = 0; i < chains; ++i) acc[i] = V::zero();
  const std::uint16_t one_pair[2] = {0x3f80, 0x3f80}, tiny_pair[2] = {0x3000, 0x3000};
  const P a = P::broadcast(one_pair), b = P::broadcast(tiny_pair);
  const double t0 = thread_seconds();
  for (index_t it = 0; it < iters; ++it) {
    SANAWM_UNROLL for (int i = 0; i < chains; ++i) acc[i] = dot_bf16(acc[i], a, b);
  }
  const double s = thread_seconds() - t0;
  float sink = 0;
  for (int i = 0; i < chains; ++i) sink += reduce_add(acc[i]);
  benchmark::DoNotOptimize(sink);
  return 4.0 * V::width * chains * static_cast<double>(iters) / s;
}

// Peaks measured once per process (best of a few 20 ms runs) for the "fraction of peak" counters.
double peak_fp32_per_core() {
  static const double peak = [] {
    double best = 0;
    for (int r = 0; r < 5; ++r) best = std::max(best, measure_peak_fp32(index_t{1} << 20));
    return best;
  }();
  return peak;
}
double peak_bf16_per_core() {
  static const double peak = [] {
    double best = 0;
    for (int r = 0; r < 5; ++r) best = std::max(best, measure_peak_bf16(index_t{1} << 20));
    return best;
  }();
  return peak;
}

void BM_peak_fp32_fma(benchmark::State& state) {
  for (auto _ : state) state.counters["GFLOP/s"] = measure_peak_fp32(index_t{1} << 20) / 1e9;
  state.SetLabel(sanawm::cpu::native_isa::name);
}
void BM_peak_bf16_dot(benchmark::State& state) {
  for (auto _ : state) state.counters["GFLOP/s"] = measure_peak_bf16(index_t{1} << 20) / 1e9;
  state.SetLabel(sanawm::cpu::native_isa::native_bf16_dot ? "vdpbf16ps" : "emulated");
}
BENCHMARK(BM_peak_fp32_fma)->Iterations(5);
BENCHMARK(BM_peak_bf16_dot)->Iterations(5);

// ---- GEMMs ----------------------------------------------------------------------------------------------------

template <class T>
std::vector<T> random_matrix(index_t n, std::uint64_t seed) {
  std::mt19937 gen(static_cast<std::uint32_t>(seed));
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = T(d(gen));
  return v;
}

// Args: M, N, K, threads (0 = all hardware threads).
template <class TA, class TB, class TC>
void BM_gemm(benchmark::State& state) {
  const index_t m = state.range(0), n = state.range(1), k = state.range(2);
  const int threads = state.range(3) == 0 ? sanawm::cpu::default_thread_count() : static_cast<int>(state.range(3));
  sanawm::cpu::set_num_threads(threads);
  const auto a = random_matrix<TA>(m * k, 1);
  const auto b = random_matrix<TB>(n * k, 2);
  std::vector<TC> c(static_cast<std::size_t>(m * n));
  sanawm::gemm_args<TA, TB, TC> p;
  p.m = m, p.n = n, p.k = k;
  p.a = a.data(), p.lda = k;
  p.b = b.data(), p.ldb = k;
  p.c = c.data(), p.ldc = n;
  sanawm::gemm(sanawm::cpu_t{}, p);  // warm-up: grows the packing arenas, faults the pages in
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    sanawm::gemm(sanawm::cpu_t{}, p);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::ClobberMemory();
  }
  const double flop = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const bool bf16_path = sanawm::resolve_gemm_compute<TA, TB>(p.compute) == sanawm::gemm_compute::bf16;
  const double peak = (bf16_path ? peak_bf16_per_core() : peak_fp32_per_core()) * threads;
  const double rate = flop * static_cast<double>(state.iterations()) / seconds;
  state.counters["FLOP/s"] = benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["frac_peak"] = rate / peak;
  state.counters["threads"] = threads;
  sanawm::cpu::set_num_threads(sanawm::cpu::default_thread_count());
}

// SANA-WM linear layers (C = 2240, FFN 6720, GLU 13440) at 1, 3 and 11 latent frames of 880 tokens:
//   attn.proj / cam projections [M, 2240] × [2240, 2240]ᵀ, attn.qkv ×[6720, 2240]ᵀ, mlp.inverted_conv ×[13440, 2240]ᵀ,
//   mlp.point_conv ×[2240, 6720]ᵀ.
void sana_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "threads"});
  const index_t shapes[][3] = {
      {880, 2240, 2240},   // proj, 1 frame
      {2640, 6720, 2240},  // qkv, 3 frames
      {880, 13440, 2240},  // inverted_conv (GLU up), 1 frame
      {2640, 2240, 6720},  // point_conv (down), 3 frames
      {9680, 2240, 2240},  // proj, 11 frames
  };
  for (int threads : {1, 0})
    for (const auto& s : shapes) b->Args({s[0], s[1], s[2], threads});
  b->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
}

BENCHMARK_TEMPLATE(BM_gemm, float, float, float)->Apply(sana_shapes)->Name("gemm_fp32");
BENCHMARK_TEMPLATE(BM_gemm, bf16, bf16, float)->Apply(sana_shapes)->Name("gemm_bf16");
BENCHMARK_TEMPLATE(BM_gemm, float, bf16, float)->Apply(sana_shapes)->Name("gemm_fp32_x_bf16w");

}  // namespace

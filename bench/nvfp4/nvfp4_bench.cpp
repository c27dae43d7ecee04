// SPDX-License-Identifier: Apache-2.0
// nvfp4_bench — W4A16 (and W4A4) CPU GEMMs against gemm(cpu_t, …) in bf16 at SANA-WM's linear-layer shapes
// (M ∈ {1, 16, 880, 2640} tokens, N/K ∈ {2240, 6720}), plus the weight quantiser. Run with
// --benchmark_filter and compare the *_bf16 and *_w4a16 rows of one shape; the weight bytes read per call are
// reported as a counter.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "sanawm/core/bf16.hpp"
#include "sanawm/kernels/gemm/gemm.hpp"
#include "sanawm/kernels/gemm/gemm_cpu.hpp"
#include "sanawm/kernels/nvfp4/nvfp4.hpp"
#include "sanawm/kernels/nvfp4/nvfp4_cpu.hpp"

namespace {

using sanawm::bf16;
using sanawm::index_t;

struct operands {
  index_t m, n, k;
  std::vector<bf16> a, w16;
  std::vector<float> c;
  sanawm::nvfp4_tensor w4;
};

operands make(index_t m, index_t n, index_t k) {
  operands o{m, n, k, {}, {}, {}, {}};
  std::mt19937 gen(42);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  o.a.resize(static_cast<std::size_t>(m * k));
  for (auto& v : o.a) v = bf16(nd(gen));
  std::vector<float> w(static_cast<std::size_t>(n * k));
  for (auto& v : w) v = 0.02f * nd(gen);
  o.w16.resize(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) o.w16[i] = bf16(w[i]);
  o.w4 = sanawm::nvfp4_quantize(sanawm::cpu_t{}, w.data(), n, k, k);
  o.c.resize(static_cast<std::size_t>(m * n));
  return o;
}

void set_counters(benchmark::State& st, const operands& o, double weight_bytes) {
  const double flops = 2.0 * static_cast<double>(o.m) * static_cast<double>(o.n) * static_cast<double>(o.k);
  st.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  st.counters["weight_MB"] = weight_bytes / 1e6;
}

void bm_bf16(benchmark::State& st) {
  const operands o = make(st.range(0), st.range(1), st.range(2));
  std::vector<float> c(o.c.size());
  sanawm::gemm_args<bf16, bf16, float> p;
  p.m = o.m; p.n = o.n; p.k = o.k;
  p.a = o.a.data(); p.lda = o.k; p.b = o.w16.data(); p.ldb = o.k; p.c = c.data(); p.ldc = o.n;
  for (auto _ : st) {
    sanawm::gemm(sanawm::cpu_t{}, p);
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(st, o, 2.0 * static_cast<double>(o.n * o.k));
}

template <bool W4A4, sanawm::cpu::nvfp4_cpu_path Path = sanawm::cpu::nvfp4_cpu_path::automatic>
void bm_nvfp4(benchmark::State& st) {
  const operands o = make(st.range(0), st.range(1), st.range(2));
  std::vector<float> c(o.c.size());
  sanawm::nvfp4_gemm_args<bf16, float> p;
  p.m = o.m; p.a = o.a.data(); p.lda = o.k; p.b = o.w4.view(); p.c = c.data(); p.ldc = o.n;
  for (auto _ : st) {
    if constexpr (W4A4) sanawm::cpu::nvfp4_gemm_w4a4_with<sanawm::cpu::native_isa>(p, -1.0f, Path);
    else sanawm::cpu::nvfp4_gemm_w4a16_with<sanawm::cpu::native_isa>(p, Path);
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(st, o, static_cast<double>(o.w4.storage_bytes()));
}

void bm_quantize(benchmark::State& st) {
  const index_t n = st.range(0), k = st.range(1);
  std::vector<float> w(static_cast<std::size_t>(n * k), 0.5f);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 97) - 48) * 0.01f;
  sanawm::nvfp4_tensor t(n, k);
  for (auto _ : st) {
    t.global_scale = sanawm::nvfp4_quantize(sanawm::cpu_t{}, w.data(), n, k, k, t.out());
    benchmark::DoNotOptimize(t.data.data());
  }
  st.SetItemsProcessed(st.iterations() * n * k);  // elements quantised per second (no custom counter: CSV needs
                                                  // the same counters in every row)
}

void shapes(benchmark::internal::Benchmark* b) {
  for (index_t m : {1, 16, 880, 2640})
    for (auto nk : {std::pair<index_t, index_t>{2240, 2240}, {6720, 2240}, {2240, 6720}}) b->Args({m, nk.first, nk.second});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

// The crossover between the two CPU kernels (the automatic choice switches at nvfp4_direct_max_m).
void small_shapes(benchmark::internal::Benchmark* b) {
  for (index_t m : {1, 4, 8, 16, 32})
    for (auto nk : {std::pair<index_t, index_t>{6720, 2240}, {2240, 6720}}) b->Args({m, nk.first, nk.second});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK(bm_bf16)->Apply(shapes);
BENCHMARK(bm_nvfp4<false>)->Name("bm_w4a16")->Apply(shapes);
BENCHMARK(bm_nvfp4<true>)->Name("bm_w4a4")->Apply(shapes);
BENCHMARK(bm_nvfp4<false, sanawm::cpu::nvfp4_cpu_path::packed>)->Name("bm_w4a16_packed")->Apply(small_shapes);
BENCHMARK(bm_nvfp4<false, sanawm::cpu::nvfp4_cpu_path::direct>)->Name("bm_w4a16_direct")->Apply(small_shapes);
BENCHMARK(bm_quantize)->Args({6720, 2240})->Unit(benchmark::kMillisecond)->UseRealTime();

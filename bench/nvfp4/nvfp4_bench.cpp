// SPDX-License-Identifier: Apache-2.0
// nvfp4_bench — W4A16 (and W4A4) CPU GEMMs against gemm(cpu_t, …) in bf16 at SANA-WM's linear-layer shapes
// (M ∈ {1, 16, 880, 2640} tokens, N/K ∈ {2240, 6720}), on the row-major NVFP4 view and on the prepared
// (panel-interleaved) weight, plus the weight quantiser and nvfp4_prepare. Run with
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
  sanawm::nvfp4_prepared w4p;  // the same weight pre-arranged into 16-column panels (nvfp4_prepare)
};

operands make(index_t m, index_t n, index_t k) {
  operands o{m, n, k, {}, {}, {}, {}, {}};
  std::mt19937 gen(42);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  o.a.resize(static_cast<std::size_t>(m * k));
  for (auto& v : o.a) v = bf16(nd(gen));
  std::vector<float> w(static_cast<std::size_t>(n * k));
  for (auto& v : w) v = 0.02f * nd(gen);
  o.w16.resize(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) o.w16[i] = bf16(w[i]);
  o.w4 = sanawm::nvfp4_quantize(sanawm::cpu_t{}, w.data(), n, k, k);
  o.w4p = sanawm::nvfp4_prepare(sanawm::cpu_t{}, o.w4);
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

// The bf16 GEMM with its B packed once ahead (cpu::pack_gemm_b), as a model's weights are (dit::pack_for_cpu):
// the fair baseline for a prepared NVFP4 weight, since neither side then re-arranges B per call.
void bm_bf16_packed(benchmark::State& st) {
  const operands o = make(st.range(0), st.range(1), st.range(2));
  std::vector<float> c(o.c.size());
  const auto pb = sanawm::cpu::pack_gemm_b(o.w16.data(), o.n, o.k, o.k);
  sanawm::gemm_args<bf16, bf16, float> p;
  p.m = o.m; p.n = o.n; p.k = o.k;
  p.a = o.a.data(); p.lda = o.k; p.c = c.data(); p.ldc = o.n;
  for (auto _ : st) {
    sanawm::gemm(sanawm::cpu_t{}, p, pb);
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

// W4A16 on the prepared (panel-interleaved) weight: the automatic choice (panel micro-kernel for M <= 16, packed
// path above) or one path pinned.
template <sanawm::cpu::nvfp4_cpu_path Path = sanawm::cpu::nvfp4_cpu_path::automatic>
void bm_prepared(benchmark::State& st) {
  const operands o = make(st.range(0), st.range(1), st.range(2));
  std::vector<float> c(o.c.size());
  sanawm::nvfp4_gemm_args<bf16, float> p;
  p.m = o.m; p.a = o.a.data(); p.lda = o.k; p.c = c.data(); p.ldc = o.n;
  for (auto _ : st) {
    sanawm::cpu::nvfp4_gemm_w4a16_with<sanawm::cpu::native_isa>(p, o.w4p, Path);
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(st, o, static_cast<double>(o.w4p.storage_bytes()));
}

void bm_prepare(benchmark::State& st) {
  const operands o = make(1, st.range(0), st.range(1));
  for (auto _ : st) {
    sanawm::nvfp4_prepared w = sanawm::nvfp4_prepare(sanawm::cpu_t{}, o.w4);
    benchmark::DoNotOptimize(w.codes.data());
  }
  st.SetItemsProcessed(st.iterations() * st.range(0) * st.range(1));
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
  for (index_t m : {1, 4, 8, 16, 32, 64})
    for (auto nk : {std::pair<index_t, index_t>{6720, 2240}, {2240, 6720}}) b->Args({m, nk.first, nk.second});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

// Small M side by side, registered shape by shape so that one filter runs bf16 GEMM, W4A16 on the row-major view
// (direct kernel) and W4A16 on the prepared weight (panel kernel) next to each other:
//   SANAWM_NUM_THREADS=2 nvfp4_bench --benchmark_filter='bm_small/' --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
// and compare the medians of one shape.
[[maybe_unused]] static const bool small_m_registered = [] {
  for (index_t m : {1, 2, 4, 8, 12, 16})
    for (auto nk : {std::pair<index_t, index_t>{2240, 2240}, {6720, 2240}, {2240, 6720}}) {
      const std::vector<std::int64_t> args{m, nk.first, nk.second};
      benchmark::RegisterBenchmark("bm_small/bf16", bm_bf16)->Args(args)->Unit(benchmark::kMicrosecond)->UseRealTime();
      benchmark::RegisterBenchmark("bm_small/bf16_packed", bm_bf16_packed)->Args(args)->Unit(benchmark::kMicrosecond)->UseRealTime();
      benchmark::RegisterBenchmark("bm_small/w4a16_view", bm_nvfp4<false>)->Args(args)->Unit(benchmark::kMicrosecond)->UseRealTime();
      benchmark::RegisterBenchmark("bm_small/w4a16_prepared", bm_prepared<>)->Args(args)->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
  return true;
}();

BENCHMARK(bm_bf16)->Apply(shapes);
BENCHMARK(bm_nvfp4<false>)->Name("bm_w4a16")->Apply(shapes);
BENCHMARK(bm_nvfp4<true>)->Name("bm_w4a4")->Apply(shapes);
BENCHMARK(bm_nvfp4<false, sanawm::cpu::nvfp4_cpu_path::packed>)->Name("bm_w4a16_packed")->Apply(small_shapes);
BENCHMARK(bm_nvfp4<false, sanawm::cpu::nvfp4_cpu_path::direct>)->Name("bm_w4a16_direct")->Apply(small_shapes);
BENCHMARK(bm_prepared<>)->Name("bm_w4a16_prepared")->Apply(shapes);
BENCHMARK(bm_prepared<sanawm::cpu::nvfp4_cpu_path::panel>)->Name("bm_w4a16_panel")->Apply(small_shapes);
BENCHMARK(bm_prepared<sanawm::cpu::nvfp4_cpu_path::packed>)->Name("bm_w4a16_prepared_packed")->Apply(small_shapes);
BENCHMARK(bm_prepare)->Args({6720, 2240})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_quantize)->Args({6720, 2240})->Unit(benchmark::kMillisecond)->UseRealTime();

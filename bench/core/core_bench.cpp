// SPDX-License-Identifier: Apache-2.0
// core_bench — zero-overhead proof for views (mdspan-style pairs: tensor_view vs raw pointer on the same loop)
// and the cost of one parallel_for dispatch on the CPU thread pool.
#include <benchmark/benchmark.h>

#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/core/tensor.hpp"

namespace {

using sanawm::dyn;
using sanawm::extents;
using sanawm::index_t;

constexpr index_t cols = 112;  // SANA-WM head dim

// Sum of a [rows, 112] matrix through a raw pointer.
void BM_sum_raw_pointer(benchmark::State& state) {
  const index_t rows = state.range(0);
  std::vector<float> data(static_cast<std::size_t>(rows * cols), 1.0f);
  for (auto _ : state) {
    const float* p = data.data();
    float acc = 0;
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) acc += p[r * cols + c];
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(state.iterations() * rows * cols * static_cast<int64_t>(sizeof(float)));
}

// The same loop through tensor_view<const float, extents<dyn, 112>>: must match the raw pointer.
void BM_sum_tensor_view(benchmark::State& state) {
  const index_t rows = state.range(0);
  std::vector<float> data(static_cast<std::size_t>(rows * cols), 1.0f);
  const auto v = sanawm::make_view(static_cast<const float*>(data.data()), extents<dyn, cols>(rows));
  for (auto _ : state) {
    float acc = 0;
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) acc += v(r, c);
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(state.iterations() * rows * cols * static_cast<int64_t>(sizeof(float)));
}

// The same loop through a fully dynamic strided view (strides read from memory).
void BM_sum_strided_view(benchmark::State& state) {
  const index_t rows = state.range(0);
  std::vector<float> data(static_cast<std::size_t>(rows * cols), 1.0f);
  using E = extents<dyn, dyn>;
  const index_t str[2] = {cols, 1};
  const sanawm::tensor_view<const float, E, sanawm::layout_stride> v(
      data.data(), sanawm::layout_stride::mapping<E>(E(rows, cols), str));
  for (auto _ : state) {
    float acc = 0;
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) acc += v(r, c);
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(state.iterations() * rows * cols * static_cast<int64_t>(sizeof(float)));
}

// Latency of one parallel_for over all pool threads with trivial work (wake-up + join cost).
void BM_parallel_for_overhead(benchmark::State& state) {
  std::vector<float> sink(static_cast<std::size_t>(sanawm::cpu::num_threads()) * 16, 0.f);
  struct body {
    float* out;
    void operator()(index_t i) const { out[i * 16] += 1.f; }
  };
  const index_t n = sanawm::cpu::num_threads();
  for (auto _ : state) {
    sanawm::parallel_for(sanawm::cpu_t{}, n, body{sink.data()});
    benchmark::ClobberMemory();
  }
  state.counters["threads"] = static_cast<double>(n);
}

BENCHMARK(BM_sum_raw_pointer)->Arg(880)->Arg(9680);
BENCHMARK(BM_sum_tensor_view)->Arg(880)->Arg(9680);
BENCHMARK(BM_sum_strided_view)->Arg(880)->Arg(9680);
BENCHMARK(BM_parallel_for_overhead)->UseRealTime();

}  // namespace

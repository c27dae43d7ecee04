// SPDX-License-Identifier: Apache-2.0
// bench/attention/attention_bench.cpp — CPU softmax attention (flash-style) at SANA-WM shapes: B = 1, H = 20,
// D = 112, N ∈ {2640, 9680} tokens (3 and 11 latent frames of 880 tokens), fp32 and bf16 inputs, bidirectional
// and chunk-causal; plus ReLU linear attention at the same shapes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/kernels/attention/attention_cpu.hpp"
#include "sanawm/kernels/linear_attention/linear_attention_cpu.hpp"

namespace {

using namespace sanawm;

constexpr index_t H = 20, D = 112, S = 880;

template <class T>
std::vector<T> random_tokens(index_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<T> x(static_cast<std::size_t>(n));
  for (auto& e : x) e = static_cast<T>(nd(gen));
  return x;
}

/// state.range(0) = N, range(1) = 1 for chunk-causal ([4, 3, 3, ...] latent frames), T = input type.
template <class T>
void BM_attention_cpu(benchmark::State& state) {
  const index_t n = state.range(0);
  const bool chunked = state.range(1) != 0;
  const auto q = random_tokens<T>(n * H * D, 1), k = random_tokens<T>(n * H * D, 2), v = random_tokens<T>(n * H * D, 3);
  std::vector<T> out(static_cast<std::size_t>(n * H * D));
  attention_shape s{1, n, n, H, H, D};
  attention_params p;
  p.scale = 1.0f / std::sqrt(static_cast<float>(D));
  if (chunked) {
    std::vector<index_t> chunks;
    for (index_t done = 0, c = 0; done < n; ++c) {
      const index_t len = std::min<index_t>((c == 0 ? 4 : 3) * S, n - done);
      chunks.push_back(len);
      done += len;
    }
    p.mask = attention_mask::chunk_causal(chunks);
  }
  for (auto _ : state) {
    attention(cpu_t{}, s, p, contiguous_heads(q.data(), n, H, D), contiguous_heads(k.data(), n, H, D),
              contiguous_heads(v.data(), n, H, D), contiguous_heads(out.data(), n, H, D));
    benchmark::DoNotOptimize(out.data());
  }
  // Dense-equivalent FLOPs (Q·Kᵀ and P·V) for the bidirectional case.
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * static_cast<double>(n) * static_cast<double>(n) * H * D,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["threads"] = cpu::num_threads();
}

void BM_linear_attention_cpu(benchmark::State& state) {
  const index_t n = state.range(0);
  const auto q = random_tokens<float>(n * H * D, 1), k = random_tokens<float>(n * H * D, 2),
             v = random_tokens<float>(n * H * D, 3);
  std::vector<float> out(static_cast<std::size_t>(n * H * D)), kv(static_cast<std::size_t>(H * D * D)),
      z(static_cast<std::size_t>(H * D));
  linear_attention_shape s{1, n, H, D, D, state.range(1) != 0 ? S : 0};
  for (auto _ : state) {
    linear_attention(cpu_t{}, s, {}, contiguous_heads(q.data(), n, H, D), contiguous_heads(k.data(), n, H, D),
                     contiguous_heads(v.data(), n, H, D), heads_view<const float>{}, heads_view<const float>{},
                     contiguous_heads(out.data(), n, H, D), {}, {kv.data(), z.data()});
    benchmark::DoNotOptimize(out.data());
  }
}

}  // namespace

BENCHMARK(BM_attention_cpu<float>)->Args({2640, 0})->Args({2640, 1})->Args({9680, 0})->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK(BM_attention_cpu<sanawm::bf16>)->Args({2640, 0})->Args({9680, 0})->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK(BM_linear_attention_cpu)->Args({2640, 0})->Args({9680, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

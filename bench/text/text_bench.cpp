// SPDX-License-Identifier: Apache-2.0
// bench/text/text_bench.cpp — Gemma-2-2B text encoder on the CPU: one prompt of N tokens through the full 2B
// config (random bf16 weights generated in memory), wall time and peak resident memory.

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "sanawm/backend/cpu/memory_stats.hpp"
#include "sanawm/model/text/gemma2.hpp"

namespace {

using namespace sanawm::text;
using sanawm::cpu::peak_rss_gib;

/// The 2B encoder, built once (generating 2.6 B weights takes a while). SANAWM_TEXT_COMPUTE=bf16 selects the
/// bf16 compute mode (one encoder per process: two copies of the weights would not fit on small machines).
const gemma2_encoder& encoder_2b() {
  static const std::unique_ptr<gemma2_encoder> e = [] {
    const char* mode = std::getenv("SANAWM_TEXT_COMPUTE");
    const bool bf16 = mode != nullptr && std::string_view(mode) == "bf16";
    return std::make_unique<gemma2_encoder>(gemma2_weights::random(gemma2_config::gemma2_2b(), true),
                                            bf16 ? sanawm::gemm_compute::bf16 : sanawm::gemm_compute::fp32);
  }();
  return *e;
}

void BM_gemma2_2b_encode(benchmark::State& state) {
  const auto& enc = encoder_2b();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<std::int32_t> ids(n), mask(n, 1);
  for (std::size_t i = 0; i < n; ++i) ids[i] = i == 0 ? 2 : static_cast<std::int32_t>(1000 + 37 * i % 200000);
  for (std::size_t i = n * 3 / 4; i < n; ++i)
    mask[i] = 0, ids[i] = 0;  // a quarter padding, like a short prompt
  for (auto _ : state) {
    auto h = enc.forward(ids, mask);
    benchmark::DoNotOptimize(h.data());
  }
  const auto& c = enc.config();
  // Multiply-adds of the projections (the attention is a few % at these lengths).
  const double macs = static_cast<double>(n) * static_cast<double>(c.num_layers) *
                      static_cast<double>(c.hidden_size) *
                      static_cast<double>((c.num_heads + 2 * c.num_kv_heads) * c.head_dim +
                                          c.num_heads * c.head_dim + 3 * c.intermediate_size);
  state.counters["GFLOP/s"] = benchmark::Counter(2 * macs * static_cast<double>(state.iterations()) * 1e-9,
                                                 benchmark::Counter::kIsRate);
  state.counters["weights_GiB"] = static_cast<double>(enc.weights().bytes()) / (1024.0 * 1024.0 * 1024.0);
  state.counters["peak_rss_GiB"] = peak_rss_gib();
}
BENCHMARK(BM_gemma2_2b_encode)->Arg(300)->Arg(410)->Unit(benchmark::kSecond)->Iterations(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

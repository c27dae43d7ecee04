// SPDX-License-Identifier: Apache-2.0
// dense_bench — the dense kernels' CPU fast paths at SANA-WM shapes: tokens N ∈ {880, 2640, 9680} (1, 3, 11
// latent frames of 22×40), C = 2240, FFN hidden 6720 (13440 before the GLU), 20 heads × 112; plus LTX-2 VAE
// conv3d shapes. Memory-bound kernels report bytes/s (every byte read once + written once), GEMM-shaped ones
// FLOP/s.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <type_traits>

#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/core/tensor.hpp"
#include "sanawm/kernels/conv/conv_cpu.hpp"
#include "sanawm/kernels/elementwise/elementwise_cpu.hpp"
#include "sanawm/kernels/norms/norms_cpu.hpp"
#include "sanawm/kernels/rope/rope_cpu.hpp"

namespace {

using namespace sanawm;

constexpr index_t hidden = 2240, heads = 20, head_dim = 112, ffn = 6720, lat_h = 22, lat_w = 40,
                  frame_tokens = 880;

template <class T, std::size_t R>
using ht = tensor<T, dextents<R>>;

template <class T, class... Is>
ht<T, sizeof...(Is)> filled(std::uint32_t seed, double lo, double hi, Is... dims) {
  ht<T, sizeof...(Is)> t(static_cast<index_t>(dims)...);
  std::minstd_rand gen(seed);
  const double scale = (hi - lo) / static_cast<double>(std::minstd_rand::max());
  for (auto& v : t) {
    const double d = lo + scale * static_cast<double>(gen());
    if constexpr (std::is_same_v<T, bf16>)
      v = bf16(d);
    else
      v = static_cast<T>(d);
  }
  return t;
}

// Writes every element once, so page faults of fresh output buffers stay out of the timed loop.
template <class T, class E>
void touch(tensor<T, E>& t) {
  if constexpr (std::is_same_v<T, bf16>)
    t.fill(bf16(0.0f));
  else
    t.fill(T{});
}

void set_bytes(benchmark::State& st, double bytes_per_iter) {
  st.counters["bytes/s"] = benchmark::Counter(bytes_per_iter, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1024);
}
void set_flops(benchmark::State& st, double flops_per_iter) {
  st.counters["FLOP/s"] = benchmark::Counter(flops_per_iter, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- norms ------------------------------------------------------------------------------------------------

template <class T>
void BM_rms_norm(benchmark::State& st) {
  const index_t n = st.range(0);
  auto x = filled<T>(1, -2, 2, n, hidden);
  auto w = filled<float>(2, 0.5, 1.5, hidden);
  ht<T, 2> y(n, hidden);
  touch(y);
  for (auto _ : st) rms_norm(cpu_t{}, x.view(), w.view(), rms_norm_eps, y.view());
  set_bytes(st, 2.0 * n * hidden * sizeof(T));
}

template <class T>
void BM_layer_norm(benchmark::State& st) {
  const index_t n = st.range(0);
  auto x = filled<T>(3, -2, 2, n, hidden);
  ht<T, 2> y(n, hidden);
  touch(y);
  for (auto _ : st) layer_norm(cpu_t{}, x.view(), layer_norm_eps, y.view());
  set_bytes(st, 2.0 * n * hidden * sizeof(T));
}

// LN(x)·(1+scale)+shift with per-frame terms: fused vs composed (layer_norm into fp32, then modulate).
template <class T, bool Fused>
void BM_layer_norm_modulate(benchmark::State& st) {
  const index_t n = st.range(0), t = n / frame_tokens;
  auto x = filled<T>(4, -2, 2, 1, t, frame_tokens, hidden);
  auto shift = filled<float>(5, -1, 1, 1, t, hidden);
  auto scale = filled<float>(6, -1, 1, 1, t, hidden);
  ht<T, 4> y(1, t, frame_tokens, hidden);
  touch(y);
  ht<float, 4> tmp(Fused ? 0 : 1, t, frame_tokens, hidden);
  touch(tmp);
  for (auto _ : st) {
    if constexpr (Fused) {
      layer_norm_modulate(cpu_t{}, x.view(), shift.view(), scale.view(), layer_norm_eps, y.view());
    } else {
      layer_norm(cpu_t{}, make_view(static_cast<const T*>(x.data()), extents<dyn, dyn>(n, hidden)),
                 layer_norm_eps, make_view(tmp.data(), extents<dyn, dyn>(n, hidden)));
      modulate(cpu_t{}, tmp.view(), shift.view(), scale.view(), y.view());
    }
  }
  set_bytes(st, 2.0 * n * hidden * sizeof(T));
}

template <class T>
void BM_gated_residual(benchmark::State& st) {
  const index_t n = st.range(0), t = n / frame_tokens;
  auto x = filled<float>(7, -2, 2, 1, t, frame_tokens, hidden);
  auto y = filled<T>(8, -1e-3, 1e-3, 1, t, frame_tokens, hidden);
  auto gate = filled<float>(9, -1, 1, 1, t, hidden);
  for (auto _ : st) gated_residual(cpu_t{}, x.view(), gate.view(), y.view());
  set_bytes(st, (2.0 * sizeof(float) + sizeof(T)) * n * hidden);
}

// ---- RoPE -------------------------------------------------------------------------------------------------

template <class T, bool Camera>
void BM_rope(benchmark::State& st) {
  const index_t n = st.range(0), t = n / frame_tokens;
  const rope_spec spec = Camera ? rope_spec::camera_branch() : rope_spec::main_branch();
  const auto tabs = make_rope_tables(spec, t, lat_h, lat_w);
  auto x = filled<T>(10, -1, 1, 1, n, heads, head_dim);
  ht<T, 4> y(1, n, heads, head_dim);
  touch(y);
  for (auto _ : st) rope(cpu_t{}, x.view(), tabs.view(), spec, y.view());
  set_bytes(st, 2.0 * n * heads * 2 * spec.pairs() * sizeof(T));
}

// ---- activations ------------------------------------------------------------------------------------------

template <class T, activation A>
void BM_activation(benchmark::State& st) {
  const index_t n = st.range(0);
  auto x = filled<T>(11, -6, 6, n, 2 * ffn);
  ht<T, 2> y(n, 2 * ffn);
  touch(y);
  for (auto _ : st) activate(cpu_t{}, A, x.view(), y.view());
  set_bytes(st, 2.0 * n * 2 * ffn * sizeof(T));
}

template <class T>
void BM_glu(benchmark::State& st) {
  const index_t n = st.range(0);
  auto x = filled<T>(12, -6, 6, n, 2 * ffn);
  ht<T, 2> y(n, ffn);
  touch(y);
  for (auto _ : st) glu(cpu_t{}, activation::silu, x.view(), y.view());
  set_bytes(st, 3.0 * n * ffn * sizeof(T));
}

// ---- convolutions -----------------------------------------------------------------------------------------

// FFN inverted conv 2240 → 13440 with SiLU (the GEMM with a fused epilogue).
template <class T>
void BM_conv1x1(benchmark::State& st) {
  const index_t n = st.range(0);
  auto x = filled<T>(13, -1, 1, n, hidden);
  auto w = filled<T>(14, -0.05, 0.05, 2 * ffn, hidden);
  auto b = filled<float>(15, -0.1, 0.1, 2 * ffn);
  ht<T, 2> y(n, 2 * ffn);
  touch(y);
  for (auto _ : st) conv1x1(cpu_t{}, x.view(), w.view(), b.view(), y.view(), activation::silu);
  set_flops(st, 2.0 * n * hidden * 2 * ffn);
}

// FFN depthwise 3x3 over 13440 channels, alone and fused with the GLU (13440 → 6720).
template <class T, bool Glu>
void BM_depthwise(benchmark::State& st) {
  const index_t n = st.range(0), t = n / frame_tokens;
  auto x = filled<T>(16, -1, 1, 1, t, lat_h, lat_w, 2 * ffn);
  auto w = filled<float>(17, -0.3, 0.3, 2 * ffn, 3, 3);
  auto b = filled<float>(18, -0.1, 0.1, 2 * ffn);
  ht<T, 5> y(1, t, lat_h, lat_w, Glu ? ffn : 2 * ffn);
  touch(y);
  for (auto _ : st) {
    if constexpr (Glu)
      depthwise_conv3x3_glu(cpu_t{}, x.view(), w.view(), b.view(), activation::silu, y.view());
    else
      depthwise_conv3x3(cpu_t{}, x.view(), w.view(), b.view(), y.view());
  }
  set_bytes(st, (2.0 * ffn + (Glu ? ffn : 2.0 * ffn)) * n * sizeof(T));
}

// FFN temporal conv 2240 → 2240, kernel 3, residual; chunk-causal adds no work.
template <class T>
void BM_temporal_conv3(benchmark::State& st) {
  const index_t n = st.range(0), t = n / frame_tokens;
  auto x = filled<T>(19, -1, 1, 1, t, frame_tokens, hidden);
  // Tap-major weights (what a loader would keep), viewed as [Cout, Cin, 3].
  auto wt = filled<T>(20, -0.02, 0.02, 3, hidden, hidden);
  const strided_view<const T, 3> w(
      wt.data(),
      layout_stride::mapping<dextents<3>>(dextents<3>(hidden, hidden, 3), {hidden, 1, hidden * hidden}));
  ht<T, 4> y(1, t, frame_tokens, hidden);
  touch(y);
  for (auto _ : st) temporal_conv3(cpu_t{}, x.view(), w, y.view(), {frame_chunks::sana_wm(), true});
  // Frame 0 has no t−1 tap and the last frame of each chunk no t+1 tap: count the MACs actually done.
  index_t taps = 0;
  for (index_t f = 0; f < t; ++f)
    taps += 1 + (f > 0 ? 1 : 0) + (frame_chunks::sana_wm().chunk_end(f, t) > f + 1 ? 1 : 0);
  set_flops(st, 2.0 * taps * frame_tokens * hidden * hidden);
}

// GDN short conv on k: depthwise kernel 4 along frames, bidirectional.
template <class T>
void BM_short_conv4(benchmark::State& st) {
  const index_t n = st.range(0), t = n / frame_tokens;
  auto x = filled<T>(21, -1, 1, 1, t, frame_tokens, hidden);
  auto w = filled<float>(22, -0.5, 0.5, hidden, 4);
  ht<T, 4> y(1, t, frame_tokens, hidden);
  touch(y);
  for (auto _ : st) short_conv4(cpu_t{}, x.view(), w.view(), y.view());
  set_bytes(st, 2.0 * n * hidden * sizeof(T));
}

// LTX-2 VAE decoder ResNet conv (3x3x3, causal replicate time, reflect space), one output frame.
// Args: channels, height, width, algorithm (0: implicit GEMM, 1: Winograd F(2x2, 3x3) transforming the weights
// per call, 2: Winograd with the weights prepared once, as the VAE keeps them). FLOP/s counts the direct
// convolution's 2·27·C²·H·W for both, so Winograd's rate is an effective one (it can exceed the machine's peak).
template <class T>
void BM_conv3d(benchmark::State& st) {
  const index_t c = st.range(0), h = st.range(1), wd = st.range(2), t = 1;
  const conv3d_algorithm algo = st.range(3) ? conv3d_algorithm::winograd : conv3d_algorithm::implicit_gemm;
  auto x = filled<T>(23, -1, 1, 1, t, h, wd, c);
  auto w = filled<T>(24, -0.02, 0.02, c, c, 3, 3, 3);
  auto b = filled<float>(25, -0.1, 0.1, c);
  ht<T, 5> y(1, t, h, wd, c);
  touch(y);
  const auto none = tensor_view<const T, dextents<5>>(nullptr, dextents<5>(0, 0, h, wd, c));
  const conv3d_padding pad{temporal_padding::causal_replicate, spatial_padding::reflect};
  if (st.range(3) == 2) {
    const gemm_compute mode = std::is_same_v<T, bf16> ? gemm_compute::bf16 : gemm_compute::fp32;
    const auto prepared = cpu::conv3d_winograd_weights::prepare(w.view(), mode);
    for (auto _ : st) conv3d(cpu_t{}, x.view(), prepared, b.view(), y.view(), pad, none);
  } else {
    for (auto _ : st)
      conv3d(cpu_t{}, x.view(), w.view(), b.view(), y.view(), pad, none, gemm_compute::automatic, nullptr, algo);
  }
  set_flops(st, 2.0 * 27 * c * c * h * wd * t);
  st.SetLabel(st.range(3) == 0 ? "implicit_gemm" : st.range(3) == 1 ? "winograd" : "winograd_prepared");
}

void conv3d_sizes(benchmark::internal::Benchmark* b) {
  for (int algo : {0, 1, 2}) {
    b->Args({256, 44, 80, algo})->Args({128, 88, 160, algo});
    // The automatic choice's channel threshold (conv3d_winograd_pays): same pixels, 16 to 512 channels.
    for (index_t c : {16, 32, 64, 512}) b->Args({c, c >= 512 ? 22 : 44, c >= 512 ? 40 : 80, algo});
  }
  b->Unit(benchmark::kMillisecond);
}

void token_sizes(benchmark::internal::Benchmark* b) {
  for (index_t n : {880, 2640, 9680}) b->Arg(n);
  b->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_rms_norm<float>)->Apply(token_sizes);
BENCHMARK(BM_rms_norm<bf16>)->Apply(token_sizes);
BENCHMARK(BM_layer_norm<float>)->Apply(token_sizes);
BENCHMARK(BM_layer_norm_modulate<float, true>)->Apply(token_sizes);
BENCHMARK(BM_layer_norm_modulate<float, false>)->Apply(token_sizes);
BENCHMARK(BM_layer_norm_modulate<bf16, true>)->Apply(token_sizes);
BENCHMARK(BM_gated_residual<float>)->Apply(token_sizes);
BENCHMARK(BM_rope<float, false>)->Apply(token_sizes);
BENCHMARK(BM_rope<bf16, false>)->Apply(token_sizes);
BENCHMARK(BM_rope<float, true>)->Apply(token_sizes);
BENCHMARK(BM_activation<float, activation::silu>)->Apply(token_sizes);
BENCHMARK(BM_activation<bf16, activation::silu>)->Apply(token_sizes);
BENCHMARK(BM_activation<bf16, activation::gelu_tanh>)->Apply(token_sizes);
BENCHMARK(BM_glu<bf16>)->Apply(token_sizes);
BENCHMARK(BM_conv1x1<bf16>)->Apply(token_sizes);
BENCHMARK(BM_conv1x1<float>)->Apply(token_sizes);
BENCHMARK(BM_depthwise<bf16, false>)->Apply(token_sizes);
BENCHMARK(BM_depthwise<bf16, true>)->Apply(token_sizes);
BENCHMARK(BM_temporal_conv3<bf16>)->Apply(token_sizes);
BENCHMARK(BM_temporal_conv3<float>)->Apply(token_sizes);
BENCHMARK(BM_short_conv4<float>)->Apply(token_sizes);
BENCHMARK(BM_short_conv4<bf16>)->Apply(token_sizes);
BENCHMARK(BM_conv3d<float>)->Apply(conv3d_sizes);
BENCHMARK(BM_conv3d<bf16>)->Apply(conv3d_sizes);

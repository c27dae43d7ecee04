// SPDX-License-Identifier: Apache-2.0
// bench/generate/dit_chunk_bench.cpp — the full-size SANA-WM DiT (2.6B, 20 blocks, C = 2240) on the CPU: streaming
// chunks at 704×1280 (22×40 latent tokens per frame), each 4 student steps + the cache-writing pass, with random
// bf16 (default) or fp32 weights and 300 caption tokens. Prints every model call, the seconds per chunk and per
// generated second of video, and the peak RSS.
//   dit_chunk_bench [--precision bf16|fp32] [--chunks N] [--threads N] [--height H --width W] [--single]
//                   [--device cpu|cuda] [--reps N]
// --single: chunk 0's cache pass only, then one denoising call of the 3-frame chunk 1 (the steady-state call),
// reported with its FLOP count and FLOP/s against --peak GFLOP/s (default 470.8: 2 × the bf16-dot peak that
// gemm_bench measures on this machine's cores; with --device cuda 989,400: the H100 SXM dense bf16 tensor peak).
// --device cuda runs the DiT engine on the GPU (built when the CUDA backend is); --reps repeats the single call
// and reports the fastest and the median (each call includes its host ↔ device input/output copies).
#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "sanawm/backend/cpu/heap.hpp"          // keep_freed_memory
#include "sanawm/backend/cpu/memory_stats.hpp"
#include "sanawm/backend/cpu/thread_pool.hpp"
#include "sanawm/model/dit/prepack.hpp"
#include "sanawm/model/sampler/noise.hpp"
#include "sanawm/model/sampler/samplers.hpp"
#if SANAWM_BENCH_HAVE_CUDA
#include "dit_engine_cuda.hpp"
#endif

namespace {

using namespace sanawm;
using clk = std::chrono::steady_clock;

using sanawm::cpu::peak_rss_gib;

double since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

/// Times every streaming call of the wrapped DiT.
class timed_denoiser final : public sampler::denoiser {
 public:
  explicit timed_denoiser(sampler::denoiser& d) : d_(d) {}
  std::vector<float> forward(const dit::dit_inputs& in, const std::vector<index_t>& s) override { return d_.forward(in, s); }
  void begin_stream() override { d_.begin_stream(); }
  std::vector<float> forward_stream(const dit::dit_inputs& in, bool write_cache) override {
    const auto t = clk::now();
    auto out = d_.forward_stream(in, write_cache);
    std::printf("  call: %ld frames x %ld tokens, %s: %.2f s\n", long(in.T), long(in.Hl * in.Wl),
                write_cache ? "cache pass (t = 0)" : "denoising step", since(t));
    std::fflush(stdout);
    return out;
  }

 private:
  sampler::denoiser& d_;
};

}  // namespace

int main(int argc, char** argv) {
  sanawm::cpu::keep_freed_memory();  // as sanawm-generate does (backend/cpu/heap.hpp)
  std::string precision = "bf16";
  index_t chunks = 2, height = 704, width = 1280;
  bool single = false;
  double peak = 0;
  std::string device = "cpu";
  int reps = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--precision") precision = next();
    else if (a == "--chunks") chunks = std::atol(next());
    else if (a == "--threads") cpu::set_num_threads(std::atoi(next()));
    else if (a == "--height") height = std::atol(next());
    else if (a == "--width") width = std::atol(next());
    else if (a == "--single") single = true;
    else if (a == "--peak") peak = std::atof(next());
    else if (a == "--device") device = next();
    else if (a == "--reps") reps = std::max(1, std::atoi(next()));
    else {
      std::fprintf(stderr, "usage: dit_chunk_bench [--precision bf16|fp32] [--chunks N] [--threads N] [--height H --width W] "
                           "[--single] [--device cpu|cuda] [--reps N] [--peak GFLOP/s]\n");
      return 2;
    }
  }
  const bool bf16 = precision == "bf16", on_gpu = device == "cuda";
  if (device != "cpu" && !on_gpu) {
    std::fprintf(stderr, "--device must be cpu or cuda\n");
    return 2;
  }
#if !SANAWM_BENCH_HAVE_CUDA
  if (on_gpu) {
    std::fprintf(stderr, "--device cuda: this dit_chunk_bench was built without the CUDA backend\n");
    return 2;
  }
#endif
  if (peak <= 0) peak = on_gpu ? 989400.0 : 470.8;
  const dit::dit_config cfg = dit::sana_wm_2_6b();
  auto t = clk::now();
  dit::dit_weights w = dit::make_random_dit(cfg, 1, bf16 ? dit::weight_dtype::bf16 : dit::weight_dtype::f32);
  std::unique_ptr<sampler::denoiser> gpu;
  dit::forward_options fo;
  fo.bf16_activations = bf16;
#if SANAWM_BENCH_HAVE_CUDA
  if (on_gpu) {
    gpu = bench_cuda::make_cuda_dit(dit::refs_of(w), bf16);
    std::printf("DiT engine on %s (weights uploaded)\n", bench_cuda::device_summary().c_str());
    w.blocks.clear();  // the host copy is no longer needed
  }
#endif
  if (!on_gpu) dit::pack_for_cpu(w, bf16);  // as sanawm-generate does: GEMM weights packed once
  std::printf("2.6B DiT, random %s weights: built in %.1f s, peak RSS %.1f GiB, %d threads\n", precision.c_str(),
              since(t), peak_rss_gib(), cpu::num_threads());

  const index_t H = height / 32, W = width / 32, T = 4 + 3 * (chunks - 1), S = H * W, L = 300;
  const sampler::latent_shape s{cfg.in_channels, T, H, W};
  sampler::conditions c;
  c.L = L, c.Cy = cfg.caption_channels;
  c.cond_y.resize(static_cast<std::size_t>(L * c.Cy));
  sampler::fill_normal(c.cond_y, 2);
  c.uncond_y = c.cond_y;
  for (index_t t0 = 0; t0 < T; ++t0) {
    const float row[20] = {1, 0, 0, 0, 0, 1, 0, 0.02f * float(t0), 0, 0, 1, 0.1f * float(t0), 0, 0, 0, 1,
                           float(W) * 0.9f, float(H) * 1.6f, float(W) / 2, float(H) / 2};
    c.camera_conditions.insert(c.camera_conditions.end(), row, row + 20);
  }
  c.chunk_plucker.resize(static_cast<std::size_t>(cfg.plucker_channels * T * S));
  sampler::fill_normal(c.chunk_plucker, 3);
  std::vector<float> z(static_cast<std::size_t>(s.numel()));
  sampler::fill_normal(z, 4);

  sampler::dit_denoiser cpu_dit(w, fo, 2);
  sampler::denoiser& inner = gpu ? *gpu : static_cast<sampler::denoiser&>(cpu_dit);
  timed_denoiser den(inner);
  if (single) {
    // Chunk 0 [0, 4) written to the caches at t = 0, then one t = 1000 call of chunk 1 [4, 7).
    if (T < 7) {
      std::fprintf(stderr, "--single needs --chunks >= 2\n");
      return 2;
    }
    inner.begin_stream();
    const std::vector<float> t0(4, 0.0f), t1(3, 1000.0f);
    auto x0 = sampler::detail::gather_frames(z, s, {0, 4});
    (void)inner.forward_stream(sampler::detail::model_inputs(c, s, cfg.plucker_channels, {0, 4}, x0, t0, false), true);
    auto x1 = sampler::detail::gather_frames(z, s, {4, 7});
    const auto in1 = sampler::detail::model_inputs(c, s, cfg.plucker_channels, {4, 7}, x1, t1, false);
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
      const auto tc1 = clk::now();
      (void)inner.forward_stream(in1, false);
      times.push_back(since(tc1));
    }
    std::sort(times.begin(), times.end());
    const double sec = times.front();
    if (reps > 1) std::printf("%d calls: fastest %.4f s, median %.4f s\n", reps, times.front(), times[times.size() / 2]);
    // FLOPs of the call: linear layers (+ t_conv), cross-attention K/V on the caption, softmax attention (main +
    // camera branch over 4 cached + 3 own frames), GDN scans (main numerator + denominator, camera).
    const double N = 3.0 * double(S), C = double(cfg.hidden), F = double(cfg.ffn_hidden()), Lc = double(L);
    const double Dh = double(cfg.head_dim), Hh = double(cfg.heads()), Nk = 7.0 * double(S);
    double flop = 0;
    for (index_t b = 0; b < cfg.depth; ++b) {
      double per_token = 3 * C * C + 4 * C * C + C * C + C * C + 2 * C * C + 2 * F * C + F * C + 3 * C * C;
      if (cfg.has_plucker_proj(b)) per_token += C * C;
      flop += 2 * N * per_token + 2 * Lc * 2 * C * C + 2 * N * Lc * C * 2;
      if (cfg.kind(b) == dit::block_kind::softmax) flop += 2 * (2 * N * Nk * C * 2);
      else flop += 3 * (2 * N * Hh * Dh * Dh * 3);
    }
    flop += 2 * N * C * (double(cfg.in_channels) * 2 + double(cfg.plucker_channels));
    std::printf("one steady-state streaming call (3 latent frames = %ld tokens, 4 cached frames): %.4g s, %.2f TFLOP, "
                "%.0f GFLOP/s = %.0f%% of %.0f GFLOP/s; peak RSS %.1f GiB\n",
                long(3 * S), sec, flop / 1e12, flop / sec / 1e9, 100.0 * flop / sec / 1e9 / peak, peak, peak_rss_gib());
    return 0;
  }
  sampler::sampler_options o;
  o.cfg_scale = 1;  // the distilled student: guidance baked in
  auto tc = clk::now();
  double total = 0;
  sampler::sample_streaming(
      den, c, s, [&](sampler::frame_range r) { return sampler::detail::gather_frames(z, s, r); },
      [&](sampler::frame_range r, std::span<const float>) {
        std::printf("chunk [%ld, %ld): %ld latent frames, steps done after %.1f s\n", long(r.begin), long(r.end),
                    long(r.size()), since(tc));
      },
      o, cfg.plucker_channels);
  total = since(tc);
  std::printf("%ld chunks (%ld latent frames = %ld video frames = %.2f s at 16 fps) in %.1f s: %.1f s per chunk, "
              "%.1f s per generated second; peak RSS %.1f GiB\n",
              long(chunks), long(T), long(8 * (T - 1) + 1), double(8 * (T - 1) + 1) / 16.0, total,
              total / double(chunks), total / (double(8 * (T - 1) + 1) / 16.0), peak_rss_gib());
  return 0;
}

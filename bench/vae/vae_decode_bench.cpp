// SPDX-License-Identifier: Apache-2.0
// vae_decode_bench — streams random latents through the LTX-2 decoder (random weights of a preset) and prints the
// decode time per output frame, the achieved FLOP/s of the 3x3x3 convs and the process's peak RSS.
//   vae_decode_bench [--preset tiny|full] [--frames T_lat] [--height H] [--width W] [--chunk n] [--causal]
//                    [--tile t --stride s] [--encode]
// Output frames are consumed (checksummed) and dropped, as a streaming writer would, so the peak RSS is the
// decoder's working set: run it at two lengths to see it does not grow with the video.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sanawm/model/vae/vae.hpp"

namespace {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sanawm;
  std::string preset = "tiny";
  index_t frames = 4, height = 256, width = 256, chunk = 1, tile = 0, stride = 0;
  bool causal = false, encode = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--preset") preset = next();
    else if (a == "--frames") frames = std::atoll(next());
    else if (a == "--height") height = std::atoll(next());
    else if (a == "--width") width = std::atoll(next());
    else if (a == "--chunk") chunk = std::atoll(next());
    else if (a == "--tile") tile = std::atoll(next());
    else if (a == "--stride") stride = std::atoll(next());
    else if (a == "--causal") causal = true;
    else if (a == "--encode") encode = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  try {
    const vae::vae_config cfg = preset == "full" ? vae::ltx2_vae() : vae::vae_tiny_a();
    vae::vae_weights w = vae::make_vae_weights(cfg, {encode, !encode});
    vae::init_random(w, 1234);
    const double rss_weights = peak_rss_mib();
    vae::conv_profile prof;
    vae::conv_profile::active = &prof;
    const auto t0 = std::chrono::steady_clock::now();
    double checksum = 0;
    index_t out_frames = 0;
    if (encode) {
      tensor<float, dextents<5>> img(dextents<5>(1, 3, 8 * (frames - 1) + 1, height, width));
      for (index_t i = 0; i < img.size(); ++i) img.data()[i] = static_cast<float>((i * 7919) % 2001) / 1000.0f - 1.0f;
      const auto post = vae::encode(w, img.view());
      for (float v : post.mean) checksum += v;
      out_frames = img.extent(2);
    } else {
      const index_t h = height / 32, wl = width / 32, c = cfg.latent_channels;
      std::vector<float> z(static_cast<std::size_t>(c * chunk * h * wl));
      std::optional<vae::decoder_stream> plain;
      std::optional<vae::tiled_decoder_stream> tiled;
      if (tile > 0) tiled.emplace(w, 1, h, wl, vae::spatial_tiling{tile, stride > 0 ? stride : tile}, causal);
      else plain.emplace(w, 1, causal);
      unsigned long long s = 42;
      for (index_t t0l = 0; t0l < frames; t0l += chunk) {
        const index_t n = std::min(chunk, frames - t0l);
        for (index_t i = 0; i < c * n * h * wl; ++i) {
          s = s * 6364136223846793005ull + 1442695040888963407ull;
          z[static_cast<std::size_t>(i)] = static_cast<float>(static_cast<double>(s >> 11) * 0x1.0p-53 * 2.0 - 1.0);
        }
        const bool last = t0l + n >= frames;
        if (tiled) {
          const auto vc = tiled->push(z.data(), 1, c, n, h, wl, last);
          for (index_t i = 0; i < vc.data.size(); i += 97) checksum += vc.data[i];
          out_frames += vc.t;
        } else {  // the sink form: frames leave a few at a time, as a video writer would take them
          plain->push(z.data(), 1, c, n, h, wl, last, [&](index_t, const vae::video_chunk& vc) {
            for (index_t i = 0; i < vc.data.size(); i += 97) checksum += vc.data[i];
            out_frames += vc.t;
          });
        }
        if (std::getenv("VAE_BENCH_VERBOSE") && plain)
          std::printf("push %lld: %lld frames out so far, state %.1f MiB, peak RSS %.1f MiB\n", static_cast<long long>(t0l),
                      static_cast<long long>(out_frames), static_cast<double>(plain->state_bytes()) / 1048576.0, peak_rss_mib());
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    vae::conv_profile::active = nullptr;
    std::printf("preset %s %s %lldx%lld latent_frames %lld chunk %lld causal %d tile %lld/%lld threads %d\n",
                preset.c_str(), encode ? "encode" : "decode", static_cast<long long>(height),
                static_cast<long long>(width), static_cast<long long>(frames), static_cast<long long>(chunk), causal,
                static_cast<long long>(tile), static_cast<long long>(stride), cpu::num_threads());
    std::printf("frames %lld  total %.3f s  per frame %.4f s  conv %.3f s (%.1f%%)  conv %.2f GFLOP  %.1f GFLOP/s\n",
                static_cast<long long>(out_frames), secs, secs / static_cast<double>(out_frames), prof.seconds,
                100.0 * prof.seconds / secs, prof.flops * 1e-9, prof.flops * 1e-9 / prof.seconds);
    std::printf("peak RSS %.1f MiB (after weights %.1f MiB, working set %.1f MiB)  checksum %.6g\n", peak_rss_mib(),
                rss_weights, peak_rss_mib() - rss_weights, checksum);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

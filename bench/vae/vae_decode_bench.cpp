// SPDX-License-Identifier: Apache-2.0
// vae_decode_bench — streams random latents through the LTX-2 decoder (random weights of a preset) and prints the
// decode time per output frame, the achieved FLOP/s of the 3x3x3 convs and the process's peak RSS.
//   vae_decode_bench [--preset tiny|full] [--frames T_lat] [--height H] [--width W] [--chunk n] [--causal]
//                    [--tile t --stride s] [--encode] [--repeat N] [--bf16] [--pack] [--stage-pixels n]
//                    [--weights PATH [--input FILE [--key NAME] [--output FILE]]]
// Output frames are consumed (checksummed) and dropped, as a streaming writer would, so the peak RSS is the
// decoder's working set: run it at two lengths to see it does not grow with the video.
// --weights loads a checkpoint through vae::load_vae (a diffusers `vae/` folder, or one .safetensors whose metadata
// holds the config) instead of random weights. --input takes the tensor --key (default `latent` for decoding,
// `video` for --encode; [B, C, T, H, W] fp32/bf16/f64) from a safetensors file and runs vae::decode on it (the whole
// latent at once, or --chunk n latent frames per push) or vae::encode; --output writes the result (`video`, or
// `mean` and `logvar`) as fp32 safetensors. This is the sanawm side of bench/peers/vae_vs_diffusers.sh.
// --repeat N runs the whole decode/encode N times and also prints the best wall time (`best_s`) and the best process
// CPU time (`best_cpu_s`, all threads: robust on a shared machine with SANAWM_NUM_THREADS=1). --bf16 switches the convs
// to bf16 weights x bf16 activations with fp32 accumulation (vae::convert_to_bf16); --pack turns on the
// prepared-weight caches (vae::set_weight_packing: Winograd convs keep their transformed weights, implicit-GEMM convs
// their packed weights for calls with few output positions; prepared on first use, so time a second run).
// --stage-pixels sets the decoder stream's piece size (decoder_stream::set_stage_pixels; 0 = one frame per stage step).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sanawm/backend/cpu/heap.hpp"          // keep_freed_memory
#include "sanawm/backend/cpu/memory_stats.hpp"
#include "sanawm/io/safetensors.hpp"
#include "sanawm/model/vae/vae.hpp"

namespace {

double cpu_seconds() {  // process CPU time, all threads
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}


}  // namespace

using sanawm::cpu::peak_rss_mib;

int main(int argc, char** argv) {
  using namespace sanawm;
  cpu::keep_freed_memory();  // as sanawm-generate does (backend/cpu/heap.hpp; SANAWM_KEEP_FREED_MEMORY=0 opts out)
  std::string preset = "tiny";
  std::string weights_path, input_path, input_key, output_path;
  index_t frames = 4, height = 256, width = 256, chunk = 1, tile = 0, stride = 0, repeat = 1;
  index_t stage_pixels = -1;
  bool causal = false, encode = false, chunk_given = false, use_bf16 = false, pack = false;
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
    else if (a == "--chunk") chunk = std::atoll(next()), chunk_given = true;
    else if (a == "--tile") tile = std::atoll(next());
    else if (a == "--stride") stride = std::atoll(next());
    else if (a == "--causal") causal = true;
    else if (a == "--encode") encode = true;
    else if (a == "--repeat") repeat = std::max<index_t>(1, std::atoll(next()));
    else if (a == "--weights") weights_path = next();
    else if (a == "--bf16") use_bf16 = true;
    else if (a == "--pack") pack = true;
    else if (a == "--stage-pixels") stage_pixels = std::atoll(next());
    else if (a == "--input") input_path = next();
    else if (a == "--key") input_key = next();
    else if (a == "--output") output_path = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  try {
    if (!input_path.empty() && weights_path.empty()) throw sanawm::error("--input needs --weights");
    if (!output_path.empty() && input_path.empty()) throw sanawm::error("--output needs --input");
    vae::vae_weights w = weights_path.empty()
                             ? vae::make_vae_weights(preset == "full" ? vae::ltx2_vae() : vae::vae_tiny_a(),
                                                     {encode, !encode})
                             : vae::load_vae(weights_path, {encode, !encode}, std::nullopt,
                                             use_bf16 ? vae::weight_dtype::bf16 : vae::weight_dtype::f32);
    if (weights_path.empty()) vae::init_random(w, 1234);
    else preset = weights_path;
    if (use_bf16 && weights_path.empty()) vae::convert_to_bf16(w);  // (a checkpoint was loaded as bf16 above)
    if (pack) vae::set_weight_packing(w, true);
    const vae::vae_config& cfg = w.config;
    const double rss_weights = peak_rss_mib();

    // --input: the tensor to decode/encode, [B, C, T, H, W].
    tensor<float, dextents<5>> input;
    if (!input_path.empty()) {
      const auto f = io::safetensors_file::open(input_path);
      const std::string key = !input_key.empty() ? input_key : encode ? "video" : "latent";
      const auto& t = f.at(key);
      if (t.shape.size() != 5)
        throw make_error("vae_decode_bench", input_path, ": '", key, "' must be [B, C, T, H, W], got ", t.shape.size(),
                         " dims");
      input = tensor<float, dextents<5>>(dextents<5>(t.shape[0], t.shape[1], t.shape[2], t.shape[3], t.shape[4]));
      const std::vector<float> v = f.read_as<float>(key);
      std::copy(v.begin(), v.end(), input.data());
      frames = input.extent(2);
      height = input.extent(3) * (encode ? 1 : 32);
      width = input.extent(4) * (encode ? 1 : 32);
      if (!chunk_given) chunk = 0;
    }

    vae::conv_profile prof;
    double best = 0, best_cpu = 0, checksum = 0;
    index_t out_frames = 0;
    double secs = 0, cpu = 0;
    for (index_t rep = 0; rep < repeat; ++rep) {
      prof = {};
      vae::conv_profile::active = &prof;
      checksum = 0;
      out_frames = 0;
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      if (!input_path.empty()) {
        io::safetensors_writer out;
        const bool save = !output_path.empty() && rep == 0;
        auto add = [&](const char* name, const tensor<float, dextents<5>>& t) {
          const auto& e = t.extents();
          out.add<float>(name, {e.extent(0), e.extent(1), e.extent(2), e.extent(3), e.extent(4)},
                         std::span<const float>(t.data(), t.size()));
        };
        if (encode) {
          const auto post = vae::encode(w, input.view());
          secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          cpu = cpu_seconds() - c0;
          for (float v : post.mean) checksum += v;
          out_frames = input.extent(2);
          if (save) add("mean", post.mean), add("logvar", post.logvar);
        } else {
          const auto video = vae::decode(w, input.view(), {.causal = causal, .chunk_frames = chunk});
          secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          cpu = cpu_seconds() - c0;
          for (index_t i = 0; i < video.size(); i += 97) checksum += video.data()[i];
          out_frames = video.extent(2);
          if (save) add("video", video);
        }
        if (save) out.write(output_path);
      } else if (encode) {
        tensor<float, dextents<5>> img(dextents<5>(1, 3, 8 * (frames - 1) + 1, height, width));
        for (index_t i = 0; i < img.size(); ++i) img.data()[i] = static_cast<float>((i * 7919) % 2001) / 1000.0f - 1.0f;
        const auto post = vae::encode(w, img.view());
        for (float v : post.mean) checksum += v;
        out_frames = img.extent(2);
      } else {
        const index_t h = height / 32, wl = width / 32, c = cfg.latent_channels;
        if (chunk < 1) chunk = frames;
        std::vector<float> z(static_cast<std::size_t>(c * chunk * h * wl));
        std::optional<vae::decoder_stream> plain;
        std::optional<vae::tiled_decoder_stream> tiled;
        if (tile > 0) tiled.emplace(w, 1, h, wl, vae::spatial_tiling{tile, stride > 0 ? stride : tile}, causal);
        else plain.emplace(w, 1, causal);
        if (plain && stage_pixels >= 0) plain->set_stage_pixels(stage_pixels);
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
            std::printf("push %lld: %lld frames out so far, state %.1f MiB, peak RSS %.1f MiB\n",
                        static_cast<long long>(t0l), static_cast<long long>(out_frames),
                        static_cast<double>(plain->state_bytes()) / 1048576.0, peak_rss_mib());
        }
      }
      if (input_path.empty()) {
        secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        cpu = cpu_seconds() - c0;
      }
      vae::conv_profile::active = nullptr;
      best = rep == 0 ? secs : std::min(best, secs);
      best_cpu = rep == 0 ? cpu : std::min(best_cpu, cpu);
    }
    std::printf("preset %s %s%s %lldx%lld latent_frames %lld chunk %lld causal %d tile %lld/%lld threads %d\n",
                preset.c_str(), encode ? "encode" : "decode",
                use_bf16 ? (pack ? " bf16 packed" : " bf16") : pack ? " packed" : "", static_cast<long long>(height),
                static_cast<long long>(width), static_cast<long long>(frames), static_cast<long long>(chunk), causal,
                static_cast<long long>(tile), static_cast<long long>(stride), cpu::num_threads());
    std::printf("frames %lld  total %.3f s  per frame %.4f s  conv %.3f s (%.1f%%)  conv %.2f GFLOP  %.1f GFLOP/s  "
                "%.1f GFLOP per CPU-s (conv CPU %.3f s of %.3f s)\n",
                static_cast<long long>(out_frames), secs, secs / static_cast<double>(out_frames), prof.seconds,
                100.0 * prof.seconds / secs, prof.flops * 1e-9, prof.flops * 1e-9 / prof.seconds,
                prof.flops * 1e-9 / prof.cpu_seconds, prof.cpu_seconds, cpu);
    std::printf("best_s %.6f of %lld run(s)  best_cpu_s %.6f\n", best, static_cast<long long>(repeat), best_cpu);
    std::printf("peak RSS %.1f MiB (after weights %.1f MiB, working set %.1f MiB)  checksum %.17g\n", peak_rss_mib(),
                rss_weights, peak_rss_mib() - rss_weights, checksum);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

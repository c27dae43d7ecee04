// SPDX-License-Identifier: Apache-2.0
// bench/generate/dit_load_bench.cpp — checkpoint loading of the full-size SANA-WM DiT: writes a synthetic 2.6B
// safetensors file (upstream key names and shapes, F32 or BF16, __metadata__.config) and, in a separate process,
// loads it into bf16 or fp32 compute weights, reporting the load time and the peak RSS against the weights'
// in-memory size. scripts/dit_load_rss.sh runs both and deletes the file.
//   dit_load_bench --write FILE [--file-dtype f32|bf16]
//   dit_load_bench --load FILE [--dtype bf16|f32]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/backend/cpu/memory_stats.hpp"
#include "sanawm/io/json.hpp"
#include "sanawm/model/dit/weights.hpp"

namespace {

using namespace sanawm;

using sanawm::cpu::peak_rss_gib;

int write_checkpoint(const std::string& path, bool bf16_file) {
  const dit::dit_config cfg = dit::sana_wm_2_6b();
  const auto tensors = dit::expected_tensors(cfg);
  const std::size_t esize = bf16_file ? 2 : 4;
  io::json header = io::json::object();
  std::size_t off = 0;
  for (const auto& [name, shape] : tensors) {
    std::size_t n = 1;
    for (index_t d : shape) n *= static_cast<std::size_t>(d);
    header[name] = {{"dtype", bf16_file ? "BF16" : "F32"}, {"shape", shape}, {"data_offsets", {off, off + n * esize}}};
    off += n * esize;
  }
  header["__metadata__"] = {{"config", dit::config_to_json(cfg)}, {"format", "pt"}};
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');
  std::ofstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 1;
  }
  const std::uint64_t hl = h.size();
  f.write(reinterpret_cast<const char*>(&hl), 8);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  // Small finite values (|x| ≤ 0.05) from a splitmix64 stream, written in 16 MiB pieces.
  std::uint64_t state = 7;
  std::vector<char> buf(16u << 20);
  std::size_t left = off;
  while (left > 0) {
    const std::size_t n = std::min(left, buf.size());
    for (std::size_t i = 0; i < n; i += esize) {
      std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      const float v = static_cast<float>(static_cast<double>((z ^ (z >> 31)) % 2001) - 1000.0) * 5e-5f;
      if (bf16_file) {
        const std::uint16_t b = bf16(v).bits();
        std::memcpy(buf.data() + i, &b, 2);
      } else {
        std::memcpy(buf.data() + i, &v, 4);
      }
    }
    f.write(buf.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
  std::printf("wrote %s: %zu tensors, %.2f GB of %s data\n", path.c_str(), tensors.size(), double(off) / 1e9,
              bf16_file ? "BF16" : "F32");
  return f ? 0 : 1;
}

int load_checkpoint(const std::string& path, bool bf16_weights) {
  const auto t = std::chrono::steady_clock::now();
  dit::dit_load_options lo;
  lo.dtype = bf16_weights ? dit::weight_dtype::bf16 : dit::weight_dtype::f32;
  const dit::dit_weights w = dit::load_dit(path, lo);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  double bytes = 0;
  for (const auto& [name, shape] : dit::expected_tensors(w.config)) {
    double n = 1;
    for (index_t d : shape) n *= double(d);
    bytes += n * (bf16_weights ? 2.0 : 4.0);
  }
  const double rss = peak_rss_gib(), gib = bytes / (1024.0 * 1024.0 * 1024.0);
  std::printf("loaded %s into %s weights in %.1f s: weights %.2f GiB, peak RSS %.2f GiB = %.3fx the weights\n",
              path.c_str(), bf16_weights ? "bf16" : "fp32", sec, gib, rss, rss / gib);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string write, load, file_dtype = "f32", dtype = "bf16";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    if (a == "--write") write = argv[i + 1];
    else if (a == "--load") load = argv[i + 1];
    else if (a == "--file-dtype") file_dtype = argv[i + 1];
    else if (a == "--dtype") dtype = argv[i + 1];
  }
  try {
    if (!write.empty()) return write_checkpoint(write, file_dtype == "bf16");
    if (!load.empty()) return load_checkpoint(load, dtype == "bf16");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dit_load_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: dit_load_bench --write FILE [--file-dtype f32|bf16] | --load FILE [--dtype bf16|f32]\n");
  return 2;
}

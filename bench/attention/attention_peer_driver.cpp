// SPDX-License-Identifier: Apache-2.0
// bench/attention/attention_peer_driver.cpp — the sanawm side of bench/peers/attention_vs_pytorch.sh: generates
// SANA-WM-shaped q/k/v (B = 1, H = 20, D = 112, fp32), writes them as .npy (the PyTorch peer reads the very same
// arrays), times the CPU flash attention on them and writes the output and the timings.
//   attention_peer_driver <dir> <N> [reps]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/kernels/attention/attention_cpu.hpp"

namespace {

using sanawm::index_t;

// Minimal .npy (format 1.0) writer for little-endian float32 C-order arrays.
void write_npy(const std::filesystem::path& path, const std::vector<float>& x, const std::vector<index_t>& shape) {
  std::string dims;
  for (index_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char len_le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(len_le, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(float)));
  if (!f) throw sanawm::make_error("attention_peer_driver", "cannot write ", path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <dir> <N> [reps]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const index_t N = std::atoll(argv[2]);
  const int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  const index_t H = 20, D = 112;
  std::filesystem::create_directories(dir);
  // RMS-normalised q/k (≈ N(0,1) entries, as after the block's RMSNorm), N(0,1) values.
  const auto n = static_cast<std::size_t>(N * H * D);
  std::mt19937_64 gen(20260102);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(n), k(n), v(n), out(n);
  for (auto* x : {&q, &k, &v})
    for (auto& e : *x) e = nd(gen);
  write_npy(dir / "q.npy", q, {1, N, H, D});
  write_npy(dir / "k.npy", k, {1, N, H, D});
  write_npy(dir / "v.npy", v, {1, N, H, D});

  const sanawm::attention_shape s{1, N, N, H, H, D};
  sanawm::attention_params p;
  p.scale = 1.0f / std::sqrt(static_cast<float>(D));
  double best_wall = 1e30, best_cpu = 1e30;
  for (int r = 0; r < reps + 1; ++r) {  // the first run warms the pool and the page cache
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    sanawm::attention(sanawm::cpu_t{}, s, p, sanawm::contiguous_heads(q.data(), N, H, D),
                      sanawm::contiguous_heads(k.data(), N, H, D), sanawm::contiguous_heads(v.data(), N, H, D),
                      sanawm::contiguous_heads(out.data(), N, H, D));
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    if (r > 0 || reps == 0) best_wall = std::min(best_wall, wall), best_cpu = std::min(best_cpu, cpu);
  }
  write_npy(dir / "out.npy", out, {1, N, H, D});
  std::ofstream(dir / "sanawm.json") << "{\"wall_s\": " << best_wall << ", \"cpu_s\": " << best_cpu
                                      << ", \"threads\": " << sanawm::cpu::num_threads() << "}\n";
  std::printf("sanawm attention N=%lld H=%lld D=%lld threads=%d: wall %.3f s, cpu %.3f s (%.1f GFLOP/s)\n",
              static_cast<long long>(N), static_cast<long long>(H), static_cast<long long>(D),
              sanawm::cpu::num_threads(), best_wall, best_cpu,
              4.0 * static_cast<double>(N) * static_cast<double>(N) * H * D / best_wall * 1e-9);
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// bench/gdn/gdn_peer_driver.cpp — the sanawm side of bench/peers/gdn_vs_pytorch.sh: generates SANA-WM-shaped
// frame-GDN inputs, writes them as .npy (the PyTorch peer reads the very same arrays), times gdn_frame on
// them and writes the output and the timings.
//   gdn_peer_driver <dir> <T> [reps] [mode: bidirectional|causal]
#include <algorithm>
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
#include "sanawm/kernels/gdn/gdn_cpu.hpp"

namespace {

using sanawm::index_t;

// Minimal .npy (format 1.0) writer for little-endian float32 C-order arrays: written straight from the
// vector, so multi-GB inputs need no second copy in memory.
void write_npy(const std::filesystem::path& path, const std::vector<float>& x,
               const std::vector<index_t>& shape) {
  std::string dims;
  for (index_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  const char magic[] = "\x93NUMPY\x01\x00";
  f.write(magic, 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char len_le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(len_le, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(float)));
  if (!f) throw sanawm::make_error("gdn_peer_driver", "cannot write ", path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <dir> <T> [reps] [bidirectional|causal]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const index_t T = std::atoll(argv[2]);
  const int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  const std::string mode = argc > 4 ? argv[4] : "bidirectional";
  const index_t B = 1, S = 880, H = 20, D = 112;
  std::filesystem::create_directories(dir);

  // Upstream statistics: ReLU'd RMS-normalised q/k (≈ N(0,1) before ReLU), keys scaled 1/√(D·S), β = σ(1 +
  // 0.8 N), γ near its init value σ(5) ≈ 0.993.
  const auto n = static_cast<std::size_t>(B * T * S * H * D);
  std::mt19937_64 gen(20260101);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const float ks = 1.0f / std::sqrt(static_cast<float>(D * S));
  std::vector<float> q(n), qr(n), k(n), kr(n), v(n), beta(static_cast<std::size_t>(B * T * S * H)),
      gamma(static_cast<std::size_t>(B * T * H)), out(n);
  for (auto& e : q) e = std::max(nd(gen), 0.0f);
  for (auto& e : qr) e = std::max(nd(gen), 0.0f);
  for (auto& e : k) e = std::max(nd(gen), 0.0f) * ks;
  for (auto& e : kr) e = std::max(nd(gen), 0.0f) * ks;
  for (auto& e : v) e = nd(gen);
  for (auto& e : beta) e = 1.0f / (1.0f + std::exp(-(1.0f + 0.8f * nd(gen))));
  std::uniform_real_distribution<float> ud(0.9f, 0.999f);
  for (auto& e : gamma) e = ud(gen);
  const std::vector<index_t> tok = {B, T, S, H, D};
  write_npy(dir / "q.npy", q, tok);
  write_npy(dir / "q_rot.npy", qr, tok);
  write_npy(dir / "k.npy", k, tok);
  write_npy(dir / "k_rot.npy", kr, tok);
  write_npy(dir / "v.npy", v, tok);
  write_npy(dir / "beta.npy", beta, {B, T, S, H});
  write_npy(dir / "gamma.npy", gamma, {B, T, H});

  using E5 = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn>;
  using E4 = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn, sanawm::dyn>;
  using E3 = sanawm::extents<sanawm::dyn, sanawm::dyn, sanawm::dyn>;
  const E5 e5(B, T, S, H, D);
  auto tv = [&](const std::vector<float>& x) { return sanawm::tensor_view<const float, E5>(x.data(), e5); };
  const sanawm::gdn_inputs in{tv(q),
                              tv(qr),
                              tv(k),
                              tv(kr),
                              tv(v),
                              sanawm::tensor_view<const float, E4>(beta.data(), E4(B, T, S, H)),
                              sanawm::tensor_view<const float, E3>(gamma.data(), E3(B, T, H))};
  sanawm::gdn_options opt;
  opt.mode = mode == "causal" ? sanawm::gdn_mode::causal : sanawm::gdn_mode::bidirectional;
  opt.eps = 1e-8f;
  const sanawm::gdn_outputs o{sanawm::tensor_view<float, E5>(out.data(), e5), {}, {}};
  // Wall-clock and process CPU time (all threads): on a shared machine the CPU time is the comparable figure.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  std::vector<double> secs, cpu_secs;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    sanawm::gdn_frame(sanawm::cpu_t{}, in, o, opt);
    cpu_secs.push_back(cpu_now() - c0);
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  write_npy(dir / "out_sanawm.npy", out, tok);
  std::ofstream j(dir / "sanawm.json");
  j << "{\"T\": " << T << ", \"mode\": \"" << mode << "\", \"threads\": " << sanawm::cpu::num_threads()
    << ", \"isa\": \"" << sanawm::cpu::native_isa::name << "\", \"seconds\": [";
  for (std::size_t i = 0; i < secs.size(); ++i) j << (i ? ", " : "") << secs[i];
  j << "], \"cpu_seconds\": [";
  for (std::size_t i = 0; i < cpu_secs.size(); ++i) j << (i ? ", " : "") << cpu_secs[i];
  j << "]}\n";
  std::sort(secs.begin(), secs.end());
  std::printf("sanawm gdn_frame %s T=%lld: median %.3f s over %d runs (%d threads, %s)\n", mode.c_str(),
              static_cast<long long>(T), secs[secs.size() / 2], reps, sanawm::cpu::num_threads(),
              sanawm::cpu::native_isa::name);
  return 0;
}

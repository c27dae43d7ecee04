// SPDX-License-Identifier: Apache-2.0
// gemm_vs_openblas — sanawm's CPU GEMM (fp32, bf16) against OpenBLAS cblas_sgemm at SANA-WM shapes, side by side
// in one process, 1 thread and all threads. Built and run by gemm_vs_openblas.sh (not part of the CMake build).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <thread>
#include <vector>

#include "sanawm/backend/cpu/simd.hpp"
#include "sanawm/backend/cpu/thread_pool.hpp"
#include "sanawm/core/bf16.hpp"
#include "sanawm/kernels/gemm/gemm_cpu.hpp"

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

namespace {

using sanawm::bf16;
using sanawm::index_t;
using clk = std::chrono::steady_clock;

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Best-of timing: interference from other processes only ever slows a run down, so the minimum over repetitions
// is the least noisy estimate on a shared machine. `cpu` is the calling thread's CPU time, which is the whole
// story for 1-thread runs (both libraries then compute on the calling thread) and immune to time-slicing.
struct timing {
  double wall = 1e30, cpu = 1e30;
};
template <class F>
timing best_seconds(F&& f, int reps) {
  timing t;
  for (int r = 0; r < reps; ++r) {
    const auto w0 = clk::now();
    const double c0 = thread_seconds();
    f();
    t.cpu = std::min(t.cpu, thread_seconds() - c0);
    t.wall = std::min(t.wall, seconds_since(w0));
  }
  return t;
}

// Per-core peak: 16 independent accumulator chains of FMA (fp32) or dot_bf16 (vdpbf16ps), best of 10 runs, timed
// in thread CPU time (what the core does while it runs us).
double peak_gflops(bool bf16_dot) {
  using isa = sanawm::cpu::native_isa;
  using V = sanawm::cpu::vec<float, isa>;
  using P = sanawm::cpu::bf16_pairs<isa>;
  constexpr int chains = 16;
  const index_t iters = index_t{1} << 21;
  double best = 0;
  for (int r = 0; r < 10; ++r) {
    V acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = V::broadcast(1e-3f * static_cast<float>(i));
    const V a = V::broadcast(0.999f), b = V::broadcast(1e-4f);
    const std::uint16_t pa[2] = {0x3f80, 0x3f80}, pb[2] = {0x3000, 0x3000};
    const P qa = P::broadcast(pa), qb = P::broadcast(pb);
    const double t0 = thread_seconds();
    for (index_t it = 0; it < iters; ++it) {
      if (bf16_dot) {
        SANAWM_UNROLL for (int i = 0; i < chains; ++i) acc[i] = dot_bf16(acc[i], qa, qb);
      } else {
        SANAWM_UNROLL for (int i = 0; i < chains; ++i) acc[i] = fma(acc[i], a, b);
      }
    }
    const double s = thread_seconds() - t0;
    volatile float sink = 0;
    for (int i = 0; i < chains; ++i) sink = sink + reduce_add(acc[i]);
    best = std::max(best, (bf16_dot ? 4.0 : 2.0) * V::width * chains * static_cast<double>(iters) / s / 1e9);
  }
  return best;
}

template <class T>
std::vector<T> random_matrix(index_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = T(d(gen));
  return v;
}

template <class TA, class TB>
timing ours(index_t m, index_t n, index_t k, const std::vector<TA>& a, const std::vector<TB>& b, std::vector<float>& c,
            int reps) {
  sanawm::gemm_args<TA, TB, float> p;
  p.m = m, p.n = n, p.k = k;
  p.a = a.data(), p.lda = k;
  p.b = b.data(), p.ldb = k;
  p.c = c.data(), p.ldc = n;
  sanawm::gemm(sanawm::cpu_t{}, p);  // warm-up (arenas, page faults)
  return best_seconds([&] { sanawm::gemm(sanawm::cpu_t{}, p); }, reps);
}

timing openblas(index_t m, index_t n, index_t k, const std::vector<float>& a, const std::vector<float>& b,
                std::vector<float>& c, int reps) {
  // Row-major C[M,N] = A[M,K] · B[N,K]ᵀ: the same operation and layout as sanawm's gemm.
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                1.0f, a.data(), static_cast<int>(k), b.data(), static_cast<int>(k), 0.0f, c.data(), static_cast<int>(n));
  };
  run();
  const timing t = best_seconds(run, reps);
  // OpenBLAS workers spin for a while after a call; let them go idle before sanawm's pool runs again.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int all = sanawm::cpu::default_thread_count();
  const int reps = argc > 1 ? std::atoi(argv[1]) : 3;
  const double peak32 = peak_gflops(false), peak16 = peak_gflops(true);
  std::printf("OpenBLAS core: %s; sanawm ISA: %s; threads: 1 and %d; best of %d runs\n", openblas_get_corename(),
              sanawm::cpu::native_isa::name, all, reps);
  std::printf("per-core peak (thread CPU time): fp32 FMA %.1f GFLOP/s, bf16 dot %.1f GFLOP/s\n", peak32, peak16);
  std::printf("GFLOP/s from wall time; the 1-thread rows add [thread-CPU-time figures] (immune to time-slicing)\n\n");
  std::printf("| M | N | K | threads | OpenBLAS sgemm | ours fp32 | ours bf16 | ours fp32·bf16w | fp32 / OpenBLAS | "
              "bf16 / OpenBLAS | fp32 %% peak | bf16 %% peak |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  const index_t shapes[][3] = {{880, 2240, 2240}, {2640, 6720, 2240}, {880, 13440, 2240}, {2640, 2240, 6720},
                               {9680, 2240, 2240}};
  for (int threads : {1, all}) {
    sanawm::cpu::set_num_threads(threads);
    openblas_set_num_threads(threads);
    for (const auto& s : shapes) {
      const index_t m = s[0], n = s[1], k = s[2];
      const double gf = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / 1e9;
      const auto a = random_matrix<float>(m * k, 1), b = random_matrix<float>(n * k, 2);
      const auto a16 = random_matrix<bf16>(m * k, 1);
      const auto b16 = random_matrix<bf16>(n * k, 2);
      std::vector<float> c(static_cast<std::size_t>(m * n));
      const timing ob = openblas(m, n, k, a, b, c, reps);
      const timing f32 = ours(m, n, k, a, b, c, reps);
      const timing h16 = ours(m, n, k, a16, b16, c, reps);
      const timing mix = ours(m, n, k, a, b16, c, reps);
      std::printf("| %ld | %ld | %ld | %d | %.1f | %.1f | %.1f | %.1f | %.2f× | %.2f× | %.0f%% | %.0f%% |\n", m, n, k,
                  threads, gf / ob.wall, gf / f32.wall, gf / h16.wall, gf / mix.wall, ob.wall / f32.wall,
                  ob.wall / h16.wall, 100 * gf / f32.wall / (peak32 * threads), 100 * gf / h16.wall / (peak16 * threads));
      if (threads == 1)
        std::printf("| | | | 1, CPU time | [%.1f] | [%.1f] | [%.1f] | [%.1f] | [%.2f×] | [%.2f×] | [%.0f%%] | [%.0f%%] |\n",
                    gf / ob.cpu, gf / f32.cpu, gf / h16.cpu, gf / mix.cpu, ob.cpu / f32.cpu, ob.cpu / h16.cpu,
                    100 * gf / f32.cpu / peak32, 100 * gf / h16.cpu / peak16);
      std::fflush(stdout);
    }
  }
  return 0;
}

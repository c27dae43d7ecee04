// SPDX-License-Identifier: Apache-2.0
// sanawm-quickstart — the library in one screen: shapes with static and dynamic axes, a portable kernel body
// run on the CPU thread pool, checked against a float64 reference and timed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "sanawm/backend/cpu/parallel.hpp"  // parallel_for(cpu_t, ...)
#include "sanawm/core/tensor.hpp"           // tensor, tensor_view, extents
#include "sanawm/version.hpp"               // sanawm::version

namespace {

using sanawm::dyn;
using sanawm::extents;
using sanawm::index_t;
using sanawm::tensor_view;

// SANA-WM token rows: [N tokens, 2240 channels], hidden size static, token count dynamic.
constexpr index_t hidden = 2240;
using rows_t = extents<dyn, hidden>;

/// RMSNorm of one row: y = x / sqrt(mean(x²) + eps) · w. A portable body: the same struct would launch on CUDA.
struct rms_norm_row {
  tensor_view<const float, rows_t> x;
  tensor_view<const float, extents<hidden>> w;
  tensor_view<float, rows_t> y;
  float eps;
  void operator()(index_t r) const {
    float ss = 0.f;
    for (index_t c = 0; c < hidden; ++c) ss += x(r, c) * x(r, c);
    const float inv = 1.f / std::sqrt(ss / static_cast<float>(hidden) + eps);
    for (index_t c = 0; c < hidden; ++c) y(r, c) = x(r, c) * inv * w[c];
  }
};

}  // namespace

int main() {
  std::printf("sanawm %d.%d.%d quickstart: RMSNorm over SANA-WM token rows on %d CPU threads\n",
              sanawm::version.major, sanawm::version.minor, sanawm::version.patch, sanawm::cpu::num_threads());
  const index_t tokens = 2640;  // one 3-latent-frame streaming chunk at 704x1280 (3 x 22 x 40)
  sanawm::tensor<float, rows_t> x(tokens), y(tokens);
  sanawm::tensor<float, extents<hidden>> w;
  std::mt19937 gen(42);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (float& v : x) v = dist(gen);
  for (float& v : w) v = 1.f + 0.1f * dist(gen);
  y.fill(std::nanf(""));

  const auto t0 = std::chrono::steady_clock::now();
  sanawm::parallel_for(sanawm::cpu_t{}, tokens, rms_norm_row{x.view(), w.view(), y.view(), 1e-6f});
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // float64 reference on every element.
  double max_rel = 0;
  for (index_t r = 0; r < tokens; ++r) {
    double ss = 0;
    for (index_t c = 0; c < hidden; ++c) ss += double(x(r, c)) * x(r, c);
    const double inv = 1.0 / std::sqrt(ss / hidden + 1e-6);
    for (index_t c = 0; c < hidden; ++c) {
      const double ref = x(r, c) * inv * w(c);
      max_rel = std::max(max_rel, std::abs(y(r, c) - ref) / std::max(std::abs(ref), 1e-3));
    }
  }
  const double gbps = 2.0 * double(x.size()) * sizeof(float) / (ms * 1e-3) / 1e9;
  std::printf("  x: [%lld, %lld] float32  ->  y in %.2f ms (%.1f GB/s), max relative error vs float64 %.2e\n",
              static_cast<long long>(tokens), static_cast<long long>(hidden), ms, gbps, max_rel);
  const bool ok = max_rel < 1e-5;
  std::printf("  %s\n", ok ? "OK: matches the float64 reference" : "FAILED: differs from the float64 reference");
  std::printf("  (the SANA-WM video generator, sanawm-generate, replaces this example as the main job once it lands)\n");
  return ok ? 0 : 1;
}

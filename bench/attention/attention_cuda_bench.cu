// SPDX-License-Identifier: Apache-2.0
// bench/attention/attention_cuda_bench.cu — CUDA flash attention (bf16 in, fp32 accumulate) at SANA-WM shapes,
// B = 1, H = 20, D = 112, N ∈ {2640, 9680}, timed with CUDA events; the composed path once for comparison and as an
// agreement check. Prints one line per case; exits with the reason when there is no device.
//   attention_cuda_bench [reps]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "sanawm/backend/cuda/device.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/backend/cuda/stream.cuh"
#include "sanawm/kernels/attention/attention_cuda.cuh"

namespace {

using namespace sanawm;

template <class F>
float time_ms(int reps, F&& f) {
  cudaEvent_t a, b;
  SANAWM_CUDA_CHECK(cudaEventCreate(&a));
  SANAWM_CUDA_CHECK(cudaEventCreate(&b));
  f();  // warm-up
  SANAWM_CUDA_CHECK(cudaEventRecord(a));
  for (int r = 0; r < reps; ++r) f();
  SANAWM_CUDA_CHECK(cudaEventRecord(b));
  SANAWM_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  SANAWM_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  SANAWM_CUDA_CHECK(cudaEventDestroy(a));
  SANAWM_CUDA_CHECK(cudaEventDestroy(b));
  return ms / static_cast<float>(reps);
}

}  // namespace

int main(int argc, char** argv) {
  if (!has_cuda_device()) {
    std::printf("attention_cuda_bench: skipped: %s\n", no_cuda_device_reason().c_str());
    return 0;
  }
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  const index_t H = 20, D = 112, S = 880;
  cudaDeviceProp prop{};
  SANAWM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  for (index_t n : {index_t{2640}, index_t{9680}}) {
    // q, k, v as views into one fused [1, N, 3, H, D] bf16 buffer, as the qkv projection produces them.
    std::vector<bf16> h(static_cast<std::size_t>(n * 3 * H * D));
    std::mt19937 gen(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& e : h) e = bf16(nd(gen));
    device_buffer<bf16> qkv(static_cast<index_t>(h.size()));
    SANAWM_CUDA_CHECK(cudaMemcpy(qkv.data(), h.data(), h.size() * 2, cudaMemcpyHostToDevice));
    device_buffer<bf16> out(n * H * D);
    device_buffer<float> out_c(n * H * D), out_f(n * H * D);
    const heads_view<const bf16> q{qkv.data(), n * 3 * H * D, 3 * H * D, D};
    const heads_view<const bf16> k{qkv.data() + H * D, n * 3 * H * D, 3 * H * D, D};
    const heads_view<const bf16> v{qkv.data() + 2 * H * D, n * 3 * H * D, 3 * H * D, D};
    const attention_shape s{1, n, n, H, H, D};
    attention_params p;
    p.scale = 1.0f / std::sqrt(112.0f);
    const double flops = 4.0 * static_cast<double>(n) * static_cast<double>(n) * H * D;
    const float ms = time_ms(reps, [&] { attention(cuda_t{}, s, p, q, k, v, contiguous_heads(out.data(), n, H, D)); });
    attention_params pc = p;
    std::vector<index_t> chunks;
    for (index_t done = 0, c = 0; done < n; ++c) {
      const index_t len = std::min<index_t>((c == 0 ? 4 : 3) * S, n - done);
      chunks.push_back(len);
      done += len;
    }
    pc.mask = attention_mask::chunk_causal(chunks);
    const float ms_cc =
        time_ms(reps, [&] { attention(cuda_t{}, s, pc, q, k, v, contiguous_heads(out.data(), n, H, D)); });
    const float ms_comp = time_ms(1, [&] {
      attention_composed(cuda_t{}, s, p, q, k, v, contiguous_heads(out_c.data(), n, H, D));
    });
    attention(cuda_t{}, s, p, q, k, v, contiguous_heads(out_f.data(), n, H, D));
    synchronize(cuda_t{});
    std::vector<float> a(static_cast<std::size_t>(n * H * D)), c(a.size());
    SANAWM_CUDA_CHECK(cudaMemcpy(a.data(), out_f.data(), a.size() * 4, cudaMemcpyDeviceToHost));
    SANAWM_CUDA_CHECK(cudaMemcpy(c.data(), out_c.data(), c.size() * 4, cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) num += (a[i] - c[i]) * (a[i] - c[i]), den += c[i] * c[i];
    std::printf(
        "N=%5lld H=%lld D=%lld bf16: flash %8.3f ms (%6.1f TFLOP/s) | chunk-causal [4,3,3..]x880 %8.3f ms | "
        "composed %8.3f ms | flash vs composed rel RMS %.1e\n",
        static_cast<long long>(n), static_cast<long long>(H), static_cast<long long>(D), ms, flops / ms * 1e-9, ms_cc,
        ms_comp, std::sqrt(num / den));
  }
  return 0;
}

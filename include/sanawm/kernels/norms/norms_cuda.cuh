// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/norms/norms_cuda.cuh — the CUDA path of the norms: warp-per-row kernels for the row
// reductions (RMSNorm, LayerNorm, fused LayerNorm+modulate); modulation and the gated residual launch their
// portable bodies.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/norms/norms_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaStream_t

#include <algorithm>  // std::min

#include "sanawm/backend/cuda/check.cuh"   // SANAWM_CUDA_CHECK_LAUNCH
#include "sanawm/backend/cuda/config.cuh"  // SANAWM_KERNEL
#include "sanawm/backend/cuda/launch.cuh"  // parallel_for_2d(cuda_t, ...)
#include "sanawm/backend/cuda/stream.cuh"  // native_stream
#include "sanawm/backend/tags.hpp"         // cuda_t
#include "sanawm/kernels/norms/norms.hpp"  // bodies, checks

namespace sanawm {

namespace cuda::norms {

/// Rows handled by one 256-thread block: one warp per row. A row of C = 2240 is 70 elements per lane; every
/// pass after the first re-reads the row from L1/L2, so the kernel streams x once from DRAM.
inline constexpr int warps_per_block = 8;

__device__ SANAWM_FORCEINLINE float warp_sum(float v) {
  SANAWM_UNROLL for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <class T>
__device__ SANAWM_FORCEINLINE float lane_sum(const T* x, index_t n, int lane) {
  float acc = 0.0f;
  for (index_t c = lane; c < n; c += 32) acc += sanawm::detail::dense_load(x[c]);
  return warp_sum(acc);
}
template <class T>
__device__ SANAWM_FORCEINLINE float lane_sum_sq_dev(const T* x, index_t n, float m, int lane) {
  float acc = 0.0f;
  for (index_t c = lane; c < n; c += 32) {
    const float d = sanawm::detail::dense_load(x[c]) - m;
    acc += d * d;
  }
  return warp_sum(acc);
}

// One warp per row, warps striding over rows (the row index is warp-uniform, so full-mask shuffles are safe).
template <class TIn, class TOut>
SANAWM_KERNEL __launch_bounds__(256) void rms_norm_kernel(rms_norm_body<TIn, TOut> b, index_t rows) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const index_t warps = static_cast<index_t>(gridDim.x) * warps_per_block;
  const index_t n = b.x.extent(1);
  for (index_t r = (static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
    const TIn* xr = b.x.data() + r * b.x.stride(0);
    TOut* yr = b.y.data() + r * b.y.stride(0);
    const float inv = 1.0f / sqrtf(lane_sum_sq_dev(xr, n, 0.0f, lane) / static_cast<float>(n) + b.eps);
    for (index_t c = lane; c < n; c += 32) {
      const float v = sanawm::detail::dense_load(xr[c]) * inv;
      yr[c] = sanawm::detail::dense_store<TOut>(b.w ? v * b.w[c] : v);
    }
  }
}

template <class TIn, class TOut>
SANAWM_KERNEL __launch_bounds__(256) void layer_norm_kernel(layer_norm_body<TIn, TOut> b, index_t rows) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const index_t warps = static_cast<index_t>(gridDim.x) * warps_per_block;
  const index_t n = b.x.extent(1);
  for (index_t r = (static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
    const TIn* xr = b.x.data() + r * b.x.stride(0);
    TOut* yr = b.y.data() + r * b.y.stride(0);
    const float m = lane_sum(xr, n, lane) / static_cast<float>(n);
    const float inv = 1.0f / sqrtf(lane_sum_sq_dev(xr, n, m, lane) / static_cast<float>(n) + b.eps);
    for (index_t c = lane; c < n; c += 32)
      yr[c] = sanawm::detail::dense_store<TOut>((sanawm::detail::dense_load(xr[c]) - m) * inv);
  }
}

template <class TIn, class TOut>
SANAWM_KERNEL __launch_bounds__(256) void layer_norm_modulate_kernel(layer_norm_modulate_body<TIn, TOut> b,
                                                                     index_t rows) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const index_t warps = static_cast<index_t>(gridDim.x) * warps_per_block;
  const index_t n = b.x.extent(3), s = b.x.extent(2), t = b.x.extent(1);
  for (index_t r = (static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
    const TIn* xr = sanawm::detail::row_of(b.x, r);
    TOut* yr = sanawm::detail::row_of(b.y, r);
    const float* sh = sanawm::detail::frame_vector(b.shift, r, s, t);
    const float* sc = sanawm::detail::frame_vector(b.scale, r, s, t);
    const float m = lane_sum(xr, n, lane) / static_cast<float>(n);
    const float inv = 1.0f / sqrtf(lane_sum_sq_dev(xr, n, m, lane) / static_cast<float>(n) + b.eps);
    for (index_t c = lane; c < n; c += 32) {
      const float v = (sanawm::detail::dense_load(xr[c]) - m) * inv;
      yr[c] = sanawm::detail::dense_store<TOut>(v * (1.0f + sc[c]) + sh[c]);
    }
  }
}

inline unsigned row_blocks(index_t rows) {
  const index_t blocks = (rows + warps_per_block - 1) / warps_per_block;
  return static_cast<unsigned>(std::min<index_t>(blocks, index_t{1} << 20));
}

}  // namespace cuda::norms

/// RMSNorm on be.stream, one warp per row: y = x / sqrt(mean(x²) + eps) ⊙ w. Shapes and dtypes as
/// rms_norm(cpu_t, …); all views in device memory. Asynchronous.
template <dense_view<2> X, f32_view<1> W, dense_out_view<2> Y>
void rms_norm(cuda_t be, const X& x, const W& w, float eps, const Y& y) {
  detail::check_rms_norm_args("rms_norm", x, w, eps, y);
  const index_t rows = x.extent(0);
  if (rows == 0) return;
  using B = rms_norm_body<typename X::value_type, typename Y::value_type>;
  cuda::norms::rms_norm_kernel<<<cuda::norms::row_blocks(rows), 256, 0, native_stream(be)>>>(
      B{as_input(x), w.size() ? w.data() : nullptr, as_output(y), eps}, rows);
  SANAWM_CUDA_CHECK_LAUNCH();
}

/// LayerNorm without affine on be.stream, one warp per row. x, y [N, C] in device memory.
template <dense_view<2> X, dense_out_view<2> Y>
void layer_norm(cuda_t be, const X& x, float eps, const Y& y) {
  detail::check_layer_norm_args("layer_norm", x, eps, y);
  const index_t rows = x.extent(0);
  if (rows == 0) return;
  using B = layer_norm_body<typename X::value_type, typename Y::value_type>;
  cuda::norms::layer_norm_kernel<<<cuda::norms::row_blocks(rows), 256, 0, native_stream(be)>>>(
      B{as_input(x), as_output(y), eps}, rows);
  SANAWM_CUDA_CHECK_LAUNCH();
}

/// Fused LayerNorm + modulation on be.stream, one warp per row. x, y [B, T, S, C]; shift, scale [B, T, C].
template <dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void layer_norm_modulate(cuda_t be, const X& x, const Sh& shift, const Sc& scale, float eps, const Y& y) {
  detail::check_modulate_args("layer_norm_modulate", x, shift, scale, y);
  detail::check_eps("layer_norm_modulate", eps);
  const index_t rows = x.extent(0) * x.extent(1) * x.extent(2);
  if (x.extent(3) == 0 && rows > 0) throw make_error("layer_norm_modulate", "x has rows of 0 channels");
  if (rows == 0) return;
  using B = layer_norm_modulate_body<typename X::value_type, typename Y::value_type>;
  cuda::norms::layer_norm_modulate_kernel<<<cuda::norms::row_blocks(rows), 256, 0, native_stream(be)>>>(
      B{as_input(x), as_input(shift), as_input(scale), as_output(y), eps}, rows);
  SANAWM_CUDA_CHECK_LAUNCH();
}

/// adaLN modulation on be.stream (portable body, one thread per element).
template <dense_view<4> X, f32_view<3> Sh, f32_view<3> Sc, dense_out_view<4> Y>
void modulate(cuda_t be, const X& x, const Sh& shift, const Sc& scale, const Y& y) {
  modulate_portable(be, x, shift, scale, y);
}

/// Gated residual on be.stream (portable body): x += gate[b,t] ⊙ y.
template <dense_out_view<4> X, f32_view<3> G, dense_view<4> Y>
void gated_residual(cuda_t be, const X& x, const G& gate, const Y& y) {
  gated_residual_portable(be, x, gate, y);
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/launch.cuh — parallel_for(cuda_t, ...): portable bodies as grid-stride CUDA kernels.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/launch.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaStream_t

#include <algorithm>    // std::min
#include <cstdint>      // INT64_MAX
#include <type_traits>  // std::is_trivially_copyable_v, std::is_invocable_v

#include "sanawm/backend/cuda/check.cuh"   // cuda::check_launch, SANAWM_CUDA_DEBUG_SYNC_ENABLED
#include "sanawm/backend/cuda/config.cuh"  // SANAWM_KERNEL, SANAWM_BEGIN/END_KERNELS
#include "sanawm/backend/cuda/stream.cuh"  // native_stream
#include "sanawm/backend/tags.hpp"         // cuda_t
#include "sanawm/core/error.hpp"           // make_error
#include "sanawm/core/int.hpp"             // index_t

namespace sanawm {

namespace cuda {

/// Threads per block of the generic launchers: 8 warps, enough to hide latency, small enough that a body
/// using up to 255 registers per thread still fits (hence __launch_bounds__ with the same number).
inline constexpr int launch_block_threads = 256;

/// The most blocks a generic launch uses; past it, each thread loops (grid-stride). 2^20 blocks is hundreds
/// of waves on any GPU, so the cap costs nothing in occupancy, while keeping the grid far below the 2^31 - 1
/// limit of gridDim.x for any n.
inline constexpr index_t max_launch_blocks = index_t{1} << 20;

SANAWM_BEGIN_KERNELS

// The kernels take the body by value: it lives in the kernel's parameter space, one copy for the whole grid.
template <class B>
SANAWM_KERNEL __launch_bounds__(launch_block_threads) void for_each_kernel(B body, index_t n) {
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) body(i);
}

// The flattened index space [0, n0 * n1), walked grid-stride; (i, j) is advanced incrementally, so each
// thread divides once rather than once per element. Consecutive threads get consecutive j (coalesced rows).
template <class B>
SANAWM_KERNEL __launch_bounds__(launch_block_threads) void for_each_2d_kernel(B body, index_t n0,
                                                                              index_t n1) {
  const index_t total = n0 * n1;
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  index_t k = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= total) return;
  index_t i = k / n1, j = k % n1;
  const index_t di = stride / n1, dj = stride % n1;
  for (; k < total; k += stride) {
    body(i, j);
    i += di;
    j += dj;
    if (j >= n1) {
      j -= n1;
      ++i;
    }
  }
}

SANAWM_END_KERNELS

// Blocks needed for one thread per item (written so that n near INT64_MAX cannot overflow).
constexpr index_t ceil_div_threads(index_t n) noexcept {
  return n / launch_block_threads + (n % launch_block_threads != 0 ? 1 : 0);
}

// Extended lambdas (nvcc --extended-lambda) reach templates as nvcc-made wrapper types: the host pass sees a
// `__device__` lambda's wrapper as not invocable and a `__host__ __device__` one's as not trivially copyable,
// yet both are valid kernel arguments. The host-side checks below therefore skip them (nvcc checks them
// itself).
template <class B>
inline constexpr bool is_extended_lambda_v =
#if defined(__CUDACC_EXTENDED_LAMBDA__)
    __nv_is_extended_device_lambda_closure_type(B) || __nv_is_extended_host_device_lambda_closure_type(B);
#else
    false;
#endif

template <class B>
constexpr void check_body_1d() {
  if constexpr (!is_extended_lambda_v<B>) {
    static_assert(
        std::is_trivially_copyable_v<B>,
        "sanawm: parallel_for(cuda_t, ...): kernel bodies are copied to the device by value; hold views "
        "(tensor_view, pointers), not containers");
    static_assert(
        std::is_invocable_v<const B&, index_t>,
        "sanawm: parallel_for(cuda_t, ...): the body must be callable as body(index_t) on a const object "
        "(a `SANAWM_HD void operator()(index_t) const`)");
  }
  static_assert(
      sizeof(B) + sizeof(index_t) <= 32764,
      "sanawm: parallel_for(cuda_t, ...): the body exceeds CUDA's 32 KiB kernel-parameter limit; hold "
      "views of device memory, not arrays");
}

template <class B>
constexpr void check_body_2d() {
  if constexpr (!is_extended_lambda_v<B>) {
    static_assert(
        std::is_trivially_copyable_v<B>,
        "sanawm: parallel_for_2d(cuda_t, ...): kernel bodies are copied to the device by value; hold "
        "views (tensor_view, pointers), not containers");
    static_assert(
        std::is_invocable_v<const B&, index_t, index_t>,
        "sanawm: parallel_for_2d(cuda_t, ...): the body must be callable as body(index_t, index_t) on a "
        "const object (a `SANAWM_HD void operator()(index_t, index_t) const`)");
  }
  static_assert(
      sizeof(B) + 2 * sizeof(index_t) <= 32764,
      "sanawm: parallel_for_2d(cuda_t, ...): the body exceeds CUDA's 32 KiB kernel-parameter limit; hold "
      "views of device memory, not arrays");
}

/// parallel_for on `stream` with at most `max_blocks` blocks (tests use a small cap to exercise the
/// grid-stride loop without astronomically large n). Precondition: max_blocks >= 1.
template <class B>
void launch_for_each(cudaStream_t stream, index_t n, const B& body, index_t max_blocks = max_launch_blocks) {
  check_body_1d<B>();
  if (n <= 0) return;
  const index_t blocks = std::min(ceil_div_threads(n), max_blocks);
  for_each_kernel<B><<<static_cast<unsigned>(blocks), launch_block_threads, 0, stream>>>(body, n);
  check_launch("parallel_for kernel launch", __FILE__, __LINE__, SANAWM_CUDA_DEBUG_SYNC_ENABLED);
}

/// parallel_for_2d on `stream` with at most `max_blocks` blocks. Precondition: max_blocks >= 1.
template <class B>
void launch_for_each_2d(cudaStream_t stream, index_t n0, index_t n1, const B& body,
                        index_t max_blocks = max_launch_blocks) {
  check_body_2d<B>();
  if (n0 <= 0 || n1 <= 0) return;
  if (n0 > INT64_MAX / n1) throw make_error("parallel_for_2d", n0, " x ", n1, " work items overflow index_t");
  const index_t total = n0 * n1;
  const index_t blocks = std::min(ceil_div_threads(total), max_blocks);
  for_each_2d_kernel<B><<<static_cast<unsigned>(blocks), launch_block_threads, 0, stream>>>(body, n0, n1);
  check_launch("parallel_for_2d kernel launch", __FILE__, __LINE__, SANAWM_CUDA_DEBUG_SYNC_ENABLED);
}

}  // namespace cuda

/// Runs body(i) for every i in [0, n) on the current CUDA device, asynchronously on be.stream (nullptr = the
/// default stream); n <= 0 launches nothing. Each i is visited exactly once, in no particular order.
/// `body` is a kernel_body (core/concepts.hpp) whose `operator()(index_t) const` is SANAWM_HD (or
/// __device__): a namespace-scope struct of views over device memory, or an extended lambda (nvcc
/// --extended-lambda). Types local to a function cannot be kernel template arguments in CUDA, so body structs
/// live at namespace scope. Throws cuda_error if the launch fails; faults inside the kernel surface at the
/// next synchronisation (or right here with SANAWM_CUDA_DEBUG_SYNC, which must then be defined for the whole
/// program, like NDEBUG).
template <class B>
void parallel_for(cuda_t be, index_t n, const B& body) {
  cuda::launch_for_each(native_stream(be), n, body);
}

/// Runs body(i, j) for every i in [0, n0), j in [0, n1) on be.stream; consecutive threads take consecutive j.
/// Empty when n0 <= 0 or n1 <= 0. Throws sanawm::error if n0 * n1 overflows index_t, cuda_error if the launch
/// fails. Same body requirements as parallel_for, with `operator()(index_t, index_t) const`.
template <class B>
void parallel_for_2d(cuda_t be, index_t n0, index_t n1, const B& body) {
  cuda::launch_for_each_2d(native_stream(be), n0, n1, body);
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/backend_memory.cuh — backend_memory<cuda_t> (see backend/memory.hpp): stream-ordered
// device_buffers and cudaMemcpyAsync on the tag's stream.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/backend_memory.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaMemcpyAsync, cudaMemsetAsync, cudaStreamSynchronize

#include "sanawm/backend/cuda/check.cuh"   // SANAWM_CUDA_CHECK
#include "sanawm/backend/cuda/memory.cuh"  // device_buffer
#include "sanawm/backend/cuda/stream.cuh"  // native_stream
#include "sanawm/backend/memory.hpp"       // backend_memory

namespace sanawm {

template <>
struct backend_memory<cuda_t> {
  template <class T>
  using buffer = device_buffer<T>;

  /// Stream-ordered (cudaMallocAsync): cheap to take per call from the stream's pool, freed on the same stream.
  template <class T>
  static buffer<T> make(cuda_t be, index_t n) {
    return device_buffer<T>(n, native_stream(be));
  }
  /// Queued on be.stream; the host source may be reused on return (pageable copies are staged by the driver).
  template <class T>
  static void to_backend(cuda_t be, T* dst, const T* src, index_t n) {
    if (n > 0)
      SANAWM_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyHostToDevice,
                                        native_stream(be)));
  }
  /// Waits for be.stream, so the values are in dst on return.
  template <class T>
  static void to_host(cuda_t be, T* dst, const T* src, index_t n) {
    if (n <= 0) return;
    SANAWM_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToHost,
                                      native_stream(be)));
    SANAWM_CUDA_CHECK(cudaStreamSynchronize(native_stream(be)));
  }
  template <class T>
  static void copy(cuda_t be, T* dst, const T* src, index_t n) {
    if (n > 0)
      SANAWM_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice,
                                        native_stream(be)));
  }
  template <class T>
  static void zero(cuda_t be, T* dst, index_t n) {
    if (n > 0) SANAWM_CUDA_CHECK(cudaMemsetAsync(dst, 0, static_cast<std::size_t>(n) * sizeof(T), native_stream(be)));
  }
  static void synchronize(cuda_t be) { SANAWM_CUDA_CHECK(cudaStreamSynchronize(native_stream(be))); }
};

}  // namespace sanawm

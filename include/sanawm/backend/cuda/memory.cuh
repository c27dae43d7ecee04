// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/memory.cuh — device_buffer<T>, pinned_buffer<T>, host <-> device copies, device views.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/memory.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaMalloc*, cudaFree*, cudaMemcpy*, cudaMemset*

#include <cstddef>      // std::size_t
#include <span>         // std::span
#include <type_traits>  // std::is_trivially_copyable_v
#include <utility>      // std::exchange

#include "sanawm/backend/cuda/check.cuh"   // SANAWM_CUDA_CHECK, cuda::throw_cuda_error, cuda::ignore_error
#include "sanawm/backend/cuda/config.cuh"  // tier guard
#include "sanawm/backend/tags.hpp"         // cuda_t
#include "sanawm/core/error.hpp"           // make_error, str_cat
#include "sanawm/core/int.hpp"             // index_t
#include "sanawm/core/shape.hpp"           // extents_like
#include "sanawm/core/tensor.hpp"          // tensor_view, tensor

namespace sanawm {

namespace cuda {

// Bytes for n elements of T, rejecting negative counts and size_t overflow (as host_buffer does).
template <class T>
std::size_t checked_bytes(index_t n, const char* op) {
  if (n < 0) throw make_error(op, "negative element count ", n);
  if (static_cast<std::size_t>(n) > static_cast<std::size_t>(-1) / sizeof(T))
    throw make_error(op, "element count ", n, " overflows size_t");
  return static_cast<std::size_t>(n) * sizeof(T);
}

inline void expect_same_count(const char* op, index_t host, index_t device) {
  if (host != device)
    throw make_error(op, "host range has ", host, " elements, the device buffer ", device,
                     "; they must match");
}

}  // namespace cuda

/// Owning array of trivially copyable elements in device memory. Elements start uninitialised. Move-only.
///
/// Two allocation modes:
///   device_buffer<float> a(n);          // cudaMalloc; freed with cudaFree
///   device_buffer<float> b(n, stream);  // cudaMallocAsync, stream-ordered; freed with cudaFreeAsync on
///   `stream`
/// A stream-ordered buffer must not outlive its stream, and its memory may be used only by work ordered after
/// the allocation on that stream (or synchronised with it). The "synchronous" members below run on the
/// buffer's own stream (the default stream for cudaMalloc buffers) and wait for it, so they are ordered after
/// any work queued there.
template <class T>
class device_buffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "sanawm: device_buffer holds trivially copyable elements only");

 public:
  device_buffer() noexcept = default;
  /// Allocates n elements with cudaMalloc (n == 0 allocates nothing and needs no device).
  explicit device_buffer(index_t n) : size_(n) {
    const std::size_t b = cuda::checked_bytes<T>(n, "device_buffer");
    if (b == 0) return;
    void* p = nullptr;
    if (const cudaError_t e = cudaMalloc(&p, b); e != cudaSuccess)
      cuda::throw_cuda_error(e, str_cat("cudaMalloc(", b, " bytes)"), __FILE__, __LINE__);
    data_ = static_cast<T*>(p);
  }
  /// Allocates n elements with cudaMallocAsync on `stream`; the memory is freed on the same stream.
  device_buffer(index_t n, cudaStream_t stream) : size_(n), stream_(stream), stream_ordered_(true) {
    const std::size_t b = cuda::checked_bytes<T>(n, "device_buffer");
    if (b == 0) return;
    void* p = nullptr;
    if (const cudaError_t e = cudaMallocAsync(&p, b, stream); e != cudaSuccess)
      cuda::throw_cuda_error(e, str_cat("cudaMallocAsync(", b, " bytes)"), __FILE__, __LINE__);
    data_ = static_cast<T*>(p);
  }
  device_buffer(index_t n, cuda_t be) : device_buffer(n, static_cast<cudaStream_t>(be.stream)) {}

  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        stream_(std::exchange(o.stream_, nullptr)),
        stream_ordered_(std::exchange(o.stream_ordered_, false)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      stream_ = std::exchange(o.stream_, nullptr);
      stream_ordered_ = std::exchange(o.stream_ordered_, false);
    }
    return *this;
  }
  ~device_buffer() { release(); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  index_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(size_) * sizeof(T); }
  bool empty() const noexcept { return size_ == 0; }
  /// The stream the buffer was allocated on (nullptr for cudaMalloc buffers) and its synchronous members use.
  cudaStream_t stream() const noexcept { return stream_; }

  // ---- copies ---------------------------------------------------------------------------------------------
  // Precondition: the host range has exactly size() elements (checked; throws sanawm::error otherwise).
  // The _async forms are truly asynchronous only for page-locked host memory (pinned_buffer); from pageable
  // memory the driver stages the data first. Either way keep the host range alive and unmodified until the
  // stream has passed the copy.

  /// Copies src (size() elements) to the device and waits for the copy. Empty buffers make no CUDA call.
  void copy_from_host(std::span<const T> src) {
    copy_from_host_async(src, stream_);
    if (size_ > 0) SANAWM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  /// Copies size() elements to dst and waits for the copy. Empty buffers make no CUDA call.
  void copy_to_host(std::span<T> dst) const {
    copy_to_host_async(dst, stream_);
    if (size_ > 0) SANAWM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  /// Queues the host → device copy on `stream`.
  void copy_from_host_async(std::span<const T> src, cudaStream_t stream) {
    cuda::expect_same_count("device_buffer::copy_from_host", static_cast<index_t>(src.size()), size_);
    if (size_ > 0)
      SANAWM_CUDA_CHECK(cudaMemcpyAsync(data_, src.data(), bytes(), cudaMemcpyHostToDevice, stream));
  }
  /// Queues the device → host copy on `stream`.
  void copy_to_host_async(std::span<T> dst, cudaStream_t stream) const {
    cuda::expect_same_count("device_buffer::copy_to_host", static_cast<index_t>(dst.size()), size_);
    if (size_ > 0)
      SANAWM_CUDA_CHECK(cudaMemcpyAsync(dst.data(), data_, bytes(), cudaMemcpyDeviceToHost, stream));
  }
  /// Sets every byte to `byte` (cudaMemset semantics: 0 gives zeros for every arithmetic T) and waits.
  void memset(unsigned char byte) {
    memset_async(byte, stream_);
    if (size_ > 0) SANAWM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void memset_async(unsigned char byte, cudaStream_t stream) {
    if (size_ > 0) SANAWM_CUDA_CHECK(cudaMemsetAsync(data_, byte, bytes(), stream));
  }

  // ---- views ----------------------------------------------------------------------------------------------
  /// A row-major view of the first e.size() elements with extents e. Throws if they do not fit.
  template <extents_like E>
  tensor_view<T, E> view(const E& e) {
    expect_fits(e);
    return tensor_view<T, E>(data_, e);
  }
  template <extents_like E>
  tensor_view<const T, E> view(const E& e) const {
    expect_fits(e);
    return tensor_view<const T, E>(data_, e);
  }
  /// The whole buffer as a rank-1 view.
  tensor_view<T, extents<dyn>> view() noexcept { return {data_, extents<dyn>(size_)}; }
  tensor_view<const T, extents<dyn>> view() const noexcept { return {data_, extents<dyn>(size_)}; }

 private:
  template <class E>
  void expect_fits(const E& e) const {
    if (e.size() > size_)
      throw make_error("device_buffer::view", "extents need ", e.size(), " elements, the buffer has ", size_);
  }
  void release() noexcept {
    if (data_) cuda::ignore_error(stream_ordered_ ? cudaFreeAsync(data_, stream_) : cudaFree(data_));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  index_t size_ = 0;
  cudaStream_t stream_ = nullptr;
  bool stream_ordered_ = false;
};

/// Owning array of trivially copyable elements in page-locked host memory (cudaMallocHost): the source or
/// destination of truly asynchronous copies. Elements start uninitialised. Move-only.
template <class T>
class pinned_buffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "sanawm: pinned_buffer holds trivially copyable elements only");

 public:
  pinned_buffer() noexcept = default;
  /// Allocates n elements (n == 0 allocates nothing and needs no device).
  explicit pinned_buffer(index_t n) : size_(n) {
    const std::size_t b = cuda::checked_bytes<T>(n, "pinned_buffer");
    if (b == 0) return;
    void* p = nullptr;
    if (const cudaError_t e = cudaMallocHost(&p, b); e != cudaSuccess)
      cuda::throw_cuda_error(e, str_cat("cudaMallocHost(", b, " bytes)"), __FILE__, __LINE__);
    data_ = static_cast<T*>(p);
  }
  pinned_buffer(const pinned_buffer&) = delete;
  pinned_buffer& operator=(const pinned_buffer&) = delete;
  pinned_buffer(pinned_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  pinned_buffer& operator=(pinned_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~pinned_buffer() { release(); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  index_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(size_) * sizeof(T); }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](index_t i) noexcept { return data_[i]; }
  const T& operator[](index_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  std::span<T> span() noexcept { return {data_, static_cast<std::size_t>(size_)}; }
  std::span<const T> span() const noexcept { return {data_, static_cast<std::size_t>(size_)}; }

 private:
  void release() noexcept {
    if (data_) cuda::ignore_error(cudaFreeHost(data_));
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  index_t size_ = 0;
};

// ---- tensors <-> device memory ----------------------------------------------------------------------------

/// A device copy of a host tensor: a cudaMalloc device_buffer with t.size() elements, filled synchronously.
/// Pair with device_view_like(d, t) or d.view(t.extents()) for a device tensor_view of the same shape.
template <class T, extents_like E>
device_buffer<T> to_device(const tensor<T, E>& t) {
  device_buffer<T> d(t.size());
  d.copy_from_host(std::span<const T>(t.data(), static_cast<std::size_t>(t.size())));
  return d;
}

/// Copies a device buffer back into a host tensor of the same element count and waits.
template <class T, extents_like E>
void copy_to_host(const device_buffer<T>& d, tensor<T, E>& t) {
  d.copy_to_host(std::span<T>(t.data(), static_cast<std::size_t>(t.size())));
}

/// A device view with the same extents as a host tensor, over `d` (which must hold at least t.size()
/// elements).
template <class T, extents_like E>
tensor_view<T, E> device_view_like(device_buffer<T>& d, const tensor<T, E>& t) {
  return d.view(t.extents());
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/stream.cuh — RAII CUDA streams and events, and an event timer for benchmarks.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/stream.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaStream_t, cudaEvent_t

#include <utility>  // std::exchange

#include "sanawm/backend/cuda/check.cuh"   // SANAWM_CUDA_CHECK, cuda::ignore_error
#include "sanawm/backend/cuda/config.cuh"  // tier guard
#include "sanawm/backend/tags.hpp"         // cuda_t

namespace sanawm {

/// The CUDA stream a cuda_t tag runs on (its `stream` member, kept as void* so tags.hpp needs no toolkit).
inline cudaStream_t native_stream(cuda_t be) noexcept {
  return static_cast<cudaStream_t>(be.stream);
}

/// Waits until all work queued on be's stream has finished; throws cuda_error if any of it failed.
inline void synchronize(cuda_t be) {
  SANAWM_CUDA_CHECK(cudaStreamSynchronize(native_stream(be)));
}

/// An owned CUDA stream on the current device. Move-only; a moved-from object holds the default stream
/// (nullptr) and destroys nothing.
class cuda_stream {
 public:
  /// Creates a stream; by default non-blocking, i.e. it does not implicitly wait for the legacy default
  /// stream.
  explicit cuda_stream(unsigned flags = cudaStreamNonBlocking) {
    SANAWM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, flags));
  }
  cuda_stream(const cuda_stream&) = delete;
  cuda_stream& operator=(const cuda_stream&) = delete;
  cuda_stream(cuda_stream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  cuda_stream& operator=(cuda_stream&& o) noexcept {
    if (this != &o) {
      reset();
      stream_ = std::exchange(o.stream_, nullptr);
    }
    return *this;
  }
  /// Work still queued on the stream completes; the stream is released afterwards (cudaStreamDestroy).
  ~cuda_stream() { reset(); }

  cudaStream_t get() const noexcept { return stream_; }
  /// The backend tag that runs on this stream: parallel_for(s.backend(), n, body).
  cuda_t backend() const noexcept { return cuda_t{stream_}; }
  /// Waits for all work queued so far; throws cuda_error if any of it failed.
  void synchronize() const { SANAWM_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  /// True when all queued work has finished (cudaStreamQuery); throws on errors other than "not ready".
  bool ready() const {
    const cudaError_t e = cudaStreamQuery(stream_);
    if (e == cudaErrorNotReady) {
      (void)cudaGetLastError();  // "not ready" is an answer, not a failure
      return false;
    }
    SANAWM_CUDA_CHECK(e);
    return true;
  }

 private:
  void reset() noexcept {
    if (stream_) cuda::ignore_error(cudaStreamDestroy(stream_));
    stream_ = nullptr;
  }
  cudaStream_t stream_ = nullptr;
};

/// An owned CUDA event. Move-only; a moved-from object holds nothing.
class cuda_event {
 public:
  /// cudaEventDefault records timing; pass cudaEventDisableTiming for pure synchronisation (cheaper).
  explicit cuda_event(unsigned flags = cudaEventDefault) {
    SANAWM_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags));
  }
  cuda_event(const cuda_event&) = delete;
  cuda_event& operator=(const cuda_event&) = delete;
  cuda_event(cuda_event&& o) noexcept : event_(std::exchange(o.event_, nullptr)) {}
  cuda_event& operator=(cuda_event&& o) noexcept {
    if (this != &o) {
      reset();
      event_ = std::exchange(o.event_, nullptr);
    }
    return *this;
  }
  ~cuda_event() { reset(); }

  cudaEvent_t get() const noexcept { return event_; }
  /// Captures the work queued on `stream` so far (nullptr = the default stream).
  void record(cudaStream_t stream = nullptr) { SANAWM_CUDA_CHECK(cudaEventRecord(event_, stream)); }
  void record(cuda_t be) { record(native_stream(be)); }
  /// Makes `stream` wait (on the device, without blocking the host) for the recorded work.
  void make_wait(cudaStream_t stream) const { SANAWM_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0)); }
  /// Blocks the host until the recorded work has finished.
  void synchronize() const { SANAWM_CUDA_CHECK(cudaEventSynchronize(event_)); }
  /// True when the recorded work has finished (or nothing was recorded).
  bool ready() const {
    const cudaError_t e = cudaEventQuery(event_);
    if (e == cudaErrorNotReady) {
      (void)cudaGetLastError();
      return false;
    }
    SANAWM_CUDA_CHECK(e);
    return true;
  }

 private:
  void reset() noexcept {
    if (event_) cuda::ignore_error(cudaEventDestroy(event_));
    event_ = nullptr;
  }
  cudaEvent_t event_ = nullptr;
};

/// Milliseconds of device time between two recorded events (resolution about 0.5 us). Precondition: both were
/// created with timing enabled and recorded, `stop` after `start`. Waits for `stop` to complete.
inline float elapsed_ms(const cuda_event& start, const cuda_event& stop) {
  stop.synchronize();
  float ms = 0.0f;
  SANAWM_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  return ms;
}

/// Times device work on one stream with a pair of events (for Google Benchmark's UseManualTime):
///   event_timer t(s.get()); t.start(); parallel_for(s.backend(), n, body); t.stop();
///   state.SetIterationTime(t.elapsed_ms() / 1e3);
class event_timer {
 public:
  explicit event_timer(cudaStream_t stream = nullptr) : stream_(stream) {}
  explicit event_timer(cuda_t be) : stream_(native_stream(be)) {}

  void start() { start_.record(stream_); }
  void stop() { stop_.record(stream_); }
  /// Device time from start() to stop() in milliseconds; waits for the stop event.
  float elapsed_ms() const { return ::sanawm::elapsed_ms(start_, stop_); }

 private:
  cudaStream_t stream_;
  cuda_event start_, stop_;
};

}  // namespace sanawm

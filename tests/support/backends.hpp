// SPDX-License-Identifier: Apache-2.0
// tests/support/backends.hpp — write a test once, run it on every backend built in: the CPU always, CUDA when
// the test is compiled by nvcc against sanawm::cuda and a device exists (otherwise it skips, saying why).
//
// Three patterns:
//   1. run_on_all_backends([&](auto be) { ...; test::mirror y(be, y_host); parallel_for(be, n,
//   body{y.view()});
//                                         y.to_host(); EXPECT_...(y_host ...); });
//   2. Typed tests, one case per backend, so the CUDA case shows up (and skips) on its own:
//        template <class Be> using MyOp = test::backend_test<Be>;
//        TYPED_TEST_SUITE(MyOp, test::all_backends);
//        TYPED_TEST(MyOp, Matches) { auto be = this->be; ... }
//   3. CUDA-only cases (nvcc builds): SANAWM_SKIP_WITHOUT_CUDA_DEVICE(); at the top of the test, or derive
//   the
//      fixture from test::cuda_device_test.
// The same source compiles under g++ (CPU only) and nvcc (both backends): CUDA pieces are behind
// SANAWM_TEST_HAS_CUDA_BACKEND.
#pragma once

#include <gtest/gtest.h>

#include <string>       // std::string
#include <type_traits>  // std::is_same_v

#include <span>
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"  // parallel_for(cpu_t, ...)
#include "sanawm/backend/tags.hpp"          // cpu_t, cuda_t
#include "sanawm/config.hpp"                // SANAWM_HAS_CUDA_COMPILER, SANAWM_WITH_CUDA
#include "sanawm/core/shape.hpp"            // extents_like
#include "sanawm/core/tensor.hpp"           // tensor, tensor_view

#if SANAWM_HAS_CUDA_COMPILER && SANAWM_WITH_CUDA
#define SANAWM_TEST_HAS_CUDA_BACKEND 1
#include "sanawm/backend/cuda/device.cuh"  // has_cuda_device, no_cuda_device_reason
#include "sanawm/backend/cuda/launch.cuh"  // parallel_for(cuda_t, ...)
#include "sanawm/backend/cuda/memory.cuh"  // device_buffer, to_device, copy_to_host
#include "sanawm/backend/cuda/stream.cuh"  // synchronize(cuda_t)
#else
#define SANAWM_TEST_HAS_CUDA_BACKEND 0
#endif

namespace sanawm::test {

inline const char* backend_name(cpu_t) noexcept {
  return "cpu";
}
inline const char* backend_name(cuda_t) noexcept {
  return "cuda";
}

/// Why CUDA cases cannot run in this binary on this machine; empty when they can.
inline std::string cuda_unavailable_reason() {
#if SANAWM_TEST_HAS_CUDA_BACKEND
  return no_cuda_device_reason();  // empty when a device exists
#else
  return "CUDA backend not compiled into this binary (host compiler build, or no sanawm::cuda)";
#endif
}

/// Waits for the backend's queued work (a no-op on the CPU, whose parallel_for returns when done).
inline void sync(cpu_t be) noexcept { synchronize(be); }
#if SANAWM_TEST_HAS_CUDA_BACKEND
inline void sync(cuda_t be) { synchronize(be); }

/// Device copy of a host vector (tests that keep flat std::vector data).
template <class T>
device_buffer<T> to_device(const std::vector<T>& host) {
  device_buffer<T> d(static_cast<index_t>(host.size()));
  d.copy_from_host(std::span<const T>(host));
  return d;
}

/// Runs a portable body over [0, n) on the GPU's default stream and waits, so the test can read results.
template <class B>
void run_body_on_gpu(const B& body, index_t n) {
  parallel_for(cuda_t{}, n, body);
  synchronize(cuda_t{});
}

/// Host copy of a device buffer.
template <class T>
std::vector<T> to_host(const device_buffer<T>& d) {
  std::vector<T> host(static_cast<std::size_t>(d.size()));
  d.copy_to_host(std::span<T>(host));
  return host;
}
#endif

/// Runs f(cpu_t{}) and, in nvcc builds with sanawm::cuda, f(cuda_t{}) on the default stream, each under a
/// SCOPED_TRACE naming the backend (failures say which half failed). In an nvcc build without a device the
/// CPU half runs and the calling test is then marked skipped with the reason (a CPU failure still fails it).
/// In a host-compiler build there is no CUDA half to skip.
template <class F>
void run_on_all_backends(F&& f) {
  {
    SCOPED_TRACE("backend: cpu");
    f(cpu_t{});
  }
#if SANAWM_TEST_HAS_CUDA_BACKEND
  if (!has_cuda_device()) GTEST_SKIP() << "CUDA half skipped (the CPU half ran): " << no_cuda_device_reason();
  SCOPED_TRACE("backend: cuda");
  f(cuda_t{});
  sync(cuda_t{});  // a kernel fault surfaces in this test, not in the next one
#endif
}

// ---- typed tests: one case per backend --------------------------------------------------------------------

#if SANAWM_TEST_HAS_CUDA_BACKEND
using all_backends = ::testing::Types<cpu_t, cuda_t>;
#else
using all_backends = ::testing::Types<cpu_t>;
#endif

// No custom name generator on purpose: CMake 3.25's gtest_discover_tests only understands numeric type
// indices and would turn "MyOp/cuda.Matches" into a garbled test name. With indices, ctest shows
// "MyOp.Matches<sanawm::cpu_t>" and "MyOp.Matches<sanawm::cuda_t>".

/// Fixture for TYPED_TEST_SUITE(..., all_backends): `this->be` is the backend; the CUDA case skips with the
/// reason when there is no device.
template <class Be>
class backend_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Be, cuda_t>) {
#if SANAWM_TEST_HAS_CUDA_BACKEND
      if (!has_cuda_device()) GTEST_SKIP() << no_cuda_device_reason();
#endif
    }
  }
  void TearDown() override {
    if constexpr (std::is_same_v<Be, cuda_t>) {
#if SANAWM_TEST_HAS_CUDA_BACKEND
      if (has_cuda_device()) sync(be);
#endif
    }
  }
  Be be{};
};

// ---- data where a backend can reach it --------------------------------------------------------------------

/// A host tensor's data where backend Be can reach it. On the CPU it is the tensor itself; on CUDA a device
/// copy, made when the mirror is constructed and copied back by to_host(). So one test body serves both
/// backends:
///   test::mirror x(be, x_host), y(be, y_host);
///   parallel_for(be, n, body{x.cview(), y.view()});
///   y.to_host();  // y_host now holds the result, whichever backend ran
/// The host tensor must outlive the mirror.
template <class Be, class T, class E>
class mirror;

template <class T, class E>
class mirror<cpu_t, T, E> {
 public:
  mirror(cpu_t, tensor<T, E>& host) : host_(&host) {}
  tensor_view<T, E> view() const noexcept { return host_->view(); }
  tensor_view<const T, E> cview() const noexcept { return host_->view(); }
  void to_host() noexcept {}

 private:
  tensor<T, E>* host_;
};

#if SANAWM_TEST_HAS_CUDA_BACKEND
template <class T, class E>
class mirror<cuda_t, T, E> {
 public:
  mirror(cuda_t be, tensor<T, E>& host) : host_(&host), dev_(to_device(host)), be_(be) {}
  tensor_view<T, E> view() { return dev_.view(host_->extents()); }
  tensor_view<const T, E> cview() const { return dev_.view(host_->extents()); }
  /// Waits for the backend's stream, then copies the device data back into the host tensor.
  void to_host() {
    sync(be_);
    copy_to_host(dev_, *host_);
  }

 private:
  tensor<T, E>* host_;
  device_buffer<T> dev_;
  cuda_t be_;
};
#endif

template <class Be, class T, class E>
mirror(Be, tensor<T, E>&) -> mirror<Be, T, E>;

}  // namespace sanawm::test

#if SANAWM_TEST_HAS_CUDA_BACKEND
/// First statement of a CUDA-only test: skips it, printing why, when there is no usable device.
#define SANAWM_SKIP_WITHOUT_CUDA_DEVICE()                                                \
  do {                                                                                   \
    if (!::sanawm::has_cuda_device()) GTEST_SKIP() << ::sanawm::no_cuda_device_reason(); \
  } while (0)

namespace sanawm::test {
/// Fixture for CUDA-only suites: every case skips with the reason when there is no device.
class cuda_device_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!has_cuda_device()) GTEST_SKIP() << no_cuda_device_reason();
  }
};
}  // namespace sanawm::test
#endif

// SPDX-License-Identifier: Apache-2.0
// Device memory, streams, events and device properties on a GPU; every case skips with the reason without
// one.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sanawm/backend/cuda/device.cuh"
#include "sanawm/backend/cuda/launch.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/backend/cuda/stream.cuh"
#include "sanawm/core/tensor.hpp"
#include "support/backends.hpp"

namespace sanawm {
namespace {

using CudaDeviceInfo = test::cuda_device_test;
using CudaBuffer = test::cuda_device_test;
using CudaStream = test::cuda_device_test;

std::vector<float> iota_vector(std::size_t n, float start) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

// y[i] = y[i] * 2 + 1: a cheap body whose result shows whether (and how often) it ran.
struct twice_plus_one {
  tensor_view<float, extents<dyn>> y;
  SANAWM_HD void operator()(index_t i) const { y[i] = y[i] * 2.0f + 1.0f; }
};

// Spins for about `cycles` clocks in every thread, to make a kernel slow enough to observe ordering.
struct spin_then_write {
  tensor_view<float, extents<dyn>> y;
  long long cycles;
  float value;
  SANAWM_HD void operator()(index_t i) const {
#if SANAWM_DEVICE_PASS
    const long long start = clock64();
    while (clock64() - start < cycles) {
    }
#endif
    y[i] = value;
  }
};

// ---- device properties ------------------------------------------------------------------------------------

TEST_F(CudaDeviceInfo, PropertiesAreSaneAndCached) {
  const cuda_device_info& info = cuda_device_properties();
  std::printf("[   INFO   ] %s\n", info.summary().c_str());
  EXPECT_EQ(info.ordinal, current_cuda_device());
  EXPECT_FALSE(info.name.empty());
  EXPECT_GE(info.sm_version, 50);
  EXPECT_EQ(info.sm_version, info.cc_major * 10 + info.cc_minor);
  EXPECT_GT(info.multiprocessor_count, 0);
  EXPECT_GT(info.global_memory_bytes, std::size_t{1} << 30);
  EXPECT_GT(info.shared_memory_per_block_optin, 0u);
  EXPECT_GT(info.sm_clock_khz, 0);
  EXPECT_GT(info.peak_memory_bandwidth(), 0.0);
  EXPECT_NE(info.summary().find(info.name), std::string::npos);
  EXPECT_EQ(&info, &cuda_device_properties(info.ordinal));
}

// ---- device_buffer ----------------------------------------------------------------------------------------

TEST_F(CudaBuffer, SynchronousRoundTrip) {
  const std::vector<float> src = iota_vector(1000, -3.0f);
  device_buffer<float> d(1000);
  ASSERT_NE(d.data(), nullptr);
  EXPECT_EQ(d.bytes(), 4000u);
  d.copy_from_host(src);
  std::vector<float> back(1000, -1.0f);
  d.copy_to_host(back);
  EXPECT_EQ(back, src);
}

TEST_F(CudaBuffer, MemsetZeroes) {
  device_buffer<std::int32_t> d(77);
  d.memset(0xFF);
  std::vector<std::int32_t> back(77, 0);
  d.copy_to_host(back);
  for (std::int32_t v : back) EXPECT_EQ(v, -1);
  d.memset(0);
  d.copy_to_host(back);
  for (std::int32_t v : back) EXPECT_EQ(v, 0);
}

TEST_F(CudaBuffer, MoveTransfersOwnership) {
  device_buffer<float> a(16);
  float* p = a.data();
  device_buffer<float> b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 16);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.size(), 0);
  device_buffer<float> c(8);
  c = std::move(b);  // frees c's old memory
  EXPECT_EQ(c.data(), p);
}

TEST_F(CudaBuffer, StreamOrderedAllocationWithPinnedAsyncCopies) {
  cuda_stream s;
  const index_t n = 4096;
  pinned_buffer<float> host(n);
  for (index_t i = 0; i < n; ++i) host[i] = static_cast<float>(i);
  {
    device_buffer<float> d(n, s.get());
    EXPECT_EQ(d.stream(), s.get());
    d.copy_from_host_async(host.span(), s.get());
    parallel_for(s.backend(), n, twice_plus_one{d.view()});
    d.copy_to_host_async(host.span(), s.get());
    s.synchronize();
    // d is freed with cudaFreeAsync on s here, while s is still alive.
  }
  s.synchronize();
  for (index_t i = 0; i < n; ++i) ASSERT_EQ(host[i], 2.0f * static_cast<float>(i) + 1.0f) << "i = " << i;
}

TEST_F(CudaBuffer, TensorHelpersKeepShape) {
  tensor<float, extents<dyn, 3>> t(5);
  for (index_t r = 0; r < 5; ++r)
    for (index_t c = 0; c < 3; ++c) t(r, c) = static_cast<float>(10 * r + c);
  device_buffer<float> d = to_device(t);
  ASSERT_EQ(d.size(), 15);
  auto v = device_view_like(d, t);
  static_assert(std::is_same_v<decltype(v), tensor_view<float, extents<dyn, 3>>>);
  EXPECT_EQ(v.data(), d.data());
  EXPECT_EQ(v.extent(0), 5);
  parallel_for(cuda_t{}, 15, twice_plus_one{d.view()});
  tensor<float, extents<dyn, 3>> back(5);
  copy_to_host(d, back);  // copies on the default stream, after the kernel
  for (index_t r = 0; r < 5; ++r)
    for (index_t c = 0; c < 3; ++c) EXPECT_EQ(back(r, c), 2.0f * t(r, c) + 1.0f);
  const device_buffer<float>& cd = d;
  const auto cv = cd.view(extents<3, 5>{});
  static_assert(std::is_same_v<decltype(cv), const tensor_view<const float, extents<3, 5>>>);
  EXPECT_EQ(cv.data(), d.data());
}

// ---- streams and events -----------------------------------------------------------------------------------

TEST_F(CudaStream, EventOrdersWorkAcrossStreams) {
  cuda_stream producer, consumer;
  const index_t n = 1024;
  device_buffer<float> d(n);
  d.memset(0);
  // A slow write on `producer`, then `consumer` waits for it through an event before doubling: without the
  // wait the consumer would read zeros.
  parallel_for(producer.backend(), n, spin_then_write{d.view(), 2'000'000, 3.0f});
  cuda_event done(cudaEventDisableTiming);
  done.record(producer.get());
  done.make_wait(consumer.get());
  parallel_for(consumer.backend(), n, twice_plus_one{d.view()});
  consumer.synchronize();
  EXPECT_TRUE(consumer.ready());
  EXPECT_TRUE(done.ready());
  std::vector<float> back(static_cast<std::size_t>(n));
  d.copy_to_host(back);
  for (float v : back) ASSERT_EQ(v, 7.0f);
}

TEST_F(CudaStream, EventTimerMeasuresDeviceTime) {
  cuda_stream s;
  device_buffer<float> d(256);
  event_timer t(s.backend());
  t.start();
  parallel_for(s.backend(), 256, spin_then_write{d.view(), 1'000'000, 1.0f});
  t.stop();
  const float ms = t.elapsed_ms();
  EXPECT_GT(ms, 0.0f);
  EXPECT_LT(ms, 10'000.0f);
}

TEST_F(CudaStream, MovedFromStreamAndEventAreEmpty) {
  cuda_stream a;
  cudaStream_t raw = a.get();
  ASSERT_NE(raw, nullptr);
  cuda_stream b = std::move(a);
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(a.get(), nullptr);  // NOLINT(bugprone-use-after-move)
  cuda_event e1;
  cudaEvent_t ev = e1.get();
  cuda_event e2 = std::move(e1);
  EXPECT_EQ(e2.get(), ev);
  EXPECT_EQ(e1.get(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(e2.ready()) << "an event never recorded counts as complete";
}

}  // namespace
}  // namespace sanawm

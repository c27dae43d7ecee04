// SPDX-License-Identifier: Apache-2.0
// parallel_for(cuda_t, ...) on a GPU: grid-stride coverage past the block cap and past int32, 2-D walks,
// extended lambdas, streams, launch-failure reporting. Every case skips with the reason without a device.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sanawm/backend/cuda/check.cuh"
#include "sanawm/backend/cuda/launch.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/backend/cuda/stream.cuh"
#include "sanawm/core/tensor.hpp"
#include "support/backends.hpp"

namespace sanawm {
namespace {

using CudaLaunchGpu = test::cuda_device_test;

// Counts visits per index with an atomic, so a double visit shows up as 2 even under a race.
struct count_visits {
  tensor_view<int, extents<dyn>> hits;
  SANAWM_HD void operator()(index_t i) const {
#if SANAWM_DEVICE_PASS
    atomicAdd(&hits[i], 1);
#else
    hits[i] += 1;
#endif
  }
};

// Records (i, j) as its flattened index and counts the visit.
struct record_2d {
  tensor_view<std::int64_t, extents<dyn, dyn>> at;
  tensor_view<int, extents<dyn, dyn>> hits;
  SANAWM_HD void operator()(index_t i, index_t j) const {
    at(i, j) = i * at.extent(1) + j;
#if SANAWM_DEVICE_PASS
    atomicAdd(&hits(i, j), 1);
#else
    hits(i, j) += 1;
#endif
  }
};

// Only the last `tail` indices of [0, n) write, to out[i - (n - tail)] = i: proves 64-bit indices reach past
// int32 without allocating n elements.
struct tail_marker {
  tensor_view<std::int64_t, extents<dyn>> out;
  index_t n, tail;
  SANAWM_HD void operator()(index_t i) const {
    if (i >= n - tail) out[i - (n - tail)] = i;
  }
};

template <class T>
std::vector<T> download(const device_buffer<T>& d) {
  std::vector<T> v(static_cast<std::size_t>(d.size()));
  d.copy_to_host(v);
  return v;
}

void expect_each_visited_once(index_t n, index_t max_blocks) {
  device_buffer<int> hits(n);
  hits.memset(0);
  cuda::launch_for_each(nullptr, n, count_visits{hits.view()}, max_blocks);
  const std::vector<int> h = download(hits);
  for (index_t i = 0; i < n; ++i) ASSERT_EQ(h[static_cast<std::size_t>(i)], 1) << "i = " << i;
}

TEST_F(CudaLaunchGpu, GridStrideCoversPastTheBlockCap) {
  expect_each_visited_once(100'000, 1);  // one block of 256 threads loops ~390 times
  expect_each_visited_once(100'000, 3);
  expect_each_visited_once(257, 1);
  expect_each_visited_once(5 * cuda::launch_block_threads, 1000);  // cap above need: exact grid
}

TEST_F(CudaLaunchGpu, IndicesPastInt32AreReached) {
  const index_t n = (index_t{1} << 31) + 37, tail = 64;
  device_buffer<std::int64_t> out(tail);
  out.memset(0xFF);
  parallel_for(cuda_t{}, n, tail_marker{out.view(), n, tail});
  const std::vector<std::int64_t> h = download(out);
  for (index_t k = 0; k < tail; ++k) ASSERT_EQ(h[static_cast<std::size_t>(k)], n - tail + k) << "k = " << k;
}

void expect_2d_walk(index_t n0, index_t n1, index_t max_blocks) {
  SCOPED_TRACE(::testing::Message() << n0 << " x " << n1 << ", max_blocks " << max_blocks);
  device_buffer<std::int64_t> at(n0 * n1);
  device_buffer<int> hits(n0 * n1);
  at.memset(0xFF);
  hits.memset(0);
  cuda::launch_for_each_2d(
      nullptr, n0, n1, record_2d{at.view(extents<dyn, dyn>(n0, n1)), hits.view(extents<dyn, dyn>(n0, n1))},
      max_blocks);
  const std::vector<std::int64_t> a = download(at);
  const std::vector<int> h = download(hits);
  for (index_t k = 0; k < n0 * n1; ++k) {
    ASSERT_EQ(h[static_cast<std::size_t>(k)], 1) << "k = " << k;
    ASSERT_EQ(a[static_cast<std::size_t>(k)], k) << "k = " << k;
  }
}

TEST_F(CudaLaunchGpu, TwoDimensionalWalkMatchesRowMajorOrder) {
  expect_2d_walk(37, 1000, 2);  // grid stride (512) < row length: j wraps within a row step
  expect_2d_walk(1000, 5, 3);   // grid stride (768) spans many rows
  expect_2d_walk(3, 256, 1);    // stride == row length
  expect_2d_walk(123, 77, cuda::max_launch_blocks);
  expect_2d_walk(1, 1, 1);
}

// Extended lambdas must live in a named function with public access (nvcc's rules), not in a TEST body.
void fill_with_lambdas(tensor_view<float, extents<dyn>> y, index_t n) {
  parallel_for(cuda_t{}, n, [=] __device__(index_t i) { y[i] = static_cast<float>(i); });
  parallel_for(cuda_t{}, n, [=] __host__ __device__(index_t i) { y[i] += 0.5f; });
}

TEST_F(CudaLaunchGpu, ExtendedLambdasAreBodies) {
  device_buffer<float> y(1000);
  fill_with_lambdas(y.view(), 1000);
  const std::vector<float> h = download(y);
  for (std::size_t i = 0; i < h.size(); ++i) ASSERT_EQ(h[i], static_cast<float>(i) + 0.5f);
}

TEST_F(CudaLaunchGpu, RunsOnTheGivenStream) {
  cuda_stream s;
  device_buffer<int> hits(4096, s.get());
  hits.memset_async(0, s.get());
  parallel_for(s.backend(), 4096, count_visits{hits.view()});
  parallel_for(s.backend(), 4096, count_visits{hits.view()});
  std::vector<int> h(4096);
  hits.copy_to_host(h);  // runs on (and waits for) the buffer's stream, s
  for (int v : h) ASSERT_EQ(v, 2);
}

SANAWM_BEGIN_KERNELS
template <class T>
SANAWM_KERNEL void never_runs(T) {}
SANAWM_END_KERNELS

TEST_F(CudaLaunchGpu, FailedLaunchIsReportedOnceAndCleared) {
  // 4096 threads per block exceeds every GPU's limit (1024): the launch itself fails, non-stickily.
  never_runs<<<1, 4096>>>(0);
  const int line = __LINE__ + 2;
  try {
    SANAWM_CUDA_CHECK_LAUNCH();
    FAIL() << "an invalid launch configuration was not reported";
  } catch (const cuda_error& e) {
    // The runtime names a bad block size cudaErrorInvalidConfiguration on most GPUs/drivers, but which code a
    // given driver picks is not ours to pin (the H200 run of stop 11 reported a different one than this test
    // expected): any launch-configuration error will do; the message must carry that code and the call site.
    const cudaError_t c = e.code();
    EXPECT_TRUE(c == cudaErrorInvalidConfiguration || c == cudaErrorInvalidValue ||
                c == cudaErrorLaunchOutOfResources)
        << "unexpected error " << static_cast<int>(c) << " (" << cudaGetErrorName(c) << "): " << e.what();
    EXPECT_EQ(std::string(e.what()), cuda::check_message(c, "kernel launch", __FILE__, line));
  }
  EXPECT_EQ(cudaPeekAtLastError(), cudaSuccess) << "the reported error must not leak into the next check";
  device_buffer<int> hits(10);
  hits.memset(0);
  EXPECT_NO_THROW(parallel_for(cuda_t{}, 10, count_visits{hits.view()}));
  for (int v : download(hits)) EXPECT_EQ(v, 1);
}

}  // namespace
}  // namespace sanawm

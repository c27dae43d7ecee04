// SPDX-License-Identifier: Apache-2.0
// Built with SANAWM_CUDA_DEBUG_SYNC: a fault inside a kernel is reported by the launch that caused it.
// ctest runs each case in its own process, which matters: a trapped kernel leaves the context unusable.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sanawm/backend/cuda/check.cuh"
#include "sanawm/backend/cuda/launch.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "support/backends.hpp"

#if !defined(SANAWM_CUDA_DEBUG_SYNC)
#error "debug_sync_test.cu must be compiled with SANAWM_CUDA_DEBUG_SYNC"
#endif

namespace sanawm {
namespace {

using CudaDebugSync = test::cuda_device_test;

struct write_index {
  tensor_view<float, extents<dyn>> y;
  SANAWM_HD void operator()(index_t i) const { y[i] = static_cast<float>(i); }
};

// Traps in the device pass; on the host it would do nothing (it never runs there).
struct trap_at {
  index_t where;
  SANAWM_HD void operator()(index_t i) const {
#if SANAWM_DEVICE_PASS
    if (i == where) __trap();
#else
    (void)i;
#endif
  }
};

static_assert(SANAWM_CUDA_DEBUG_SYNC_ENABLED, "this binary checks the debug-sync path");

TEST_F(CudaDebugSync, GoodLaunchesStillPass) {
  device_buffer<float> y(1000);
  EXPECT_NO_THROW(parallel_for(cuda_t{}, 1000, write_index{y.view()}));
  std::vector<float> h(1000);
  y.copy_to_host(h);
  for (std::size_t i = 0; i < h.size(); ++i) ASSERT_EQ(h[i], static_cast<float>(i));
}

TEST_F(CudaDebugSync, KernelFaultIsReportedAtTheLaunch) {
  try {
    parallel_for(cuda_t{}, 1000, trap_at{123});
    FAIL() << "a trapping kernel was not reported by its launch";
  } catch (const cuda_error& e) {
    // Usually caught by the debug synchronisation ("... (SANAWM_CUDA_DEBUG_SYNC: kernel execution) failed");
    // if the trap lands before the post-launch peek, the peek reports it. Either way this launch reports it.
    EXPECT_NE(e.code(), cudaSuccess);
    EXPECT_EQ(std::string(e.what()).rfind("[cuda] parallel_for kernel launch", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace sanawm

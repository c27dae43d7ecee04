// SPDX-License-Identifier: Apache-2.0
// CUDA backend behaviour that needs no GPU: error checks and their messages, device detection, empty buffers,
// argument validation. Runs (and must pass) on GPU-less machines as well as on GPU machines.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sanawm/backend/cuda/check.cuh"
#include "sanawm/backend/cuda/config.cuh"
#include "sanawm/backend/cuda/cublas_check.cuh"
#include "sanawm/backend/cuda/device.cuh"
#include "sanawm/backend/cuda/launch.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/backend/cuda/stream.cuh"
#include "support/backends.hpp"

namespace sanawm {
namespace {

// A stand-in for a failing runtime call: deterministic with or without a device.
cudaError_t fails_with(cudaError_t e, int& calls) {
  ++calls;
  return e;
}

cublasStatus_t cublas_fails_with(cublasStatus_t s) {
  return s;
}

// ---- SANAWM_CUDA_CHECK ------------------------------------------------------------------------------------

TEST(CudaCheck, MessageNamesStatementErrorAndSite) {
  EXPECT_EQ(
      cuda::check_message(cudaErrorInvalidValue, "cudaMemcpy(dst, src, n, kind)", "kernel.cu", 42),
      "[cuda] cudaMemcpy(dst, src, n, kind) failed: cudaErrorInvalidValue: invalid argument at kernel.cu:42");
}

TEST(CudaCheck, SuccessPassesAndEvaluatesOnce) {
  int calls = 0;
  EXPECT_NO_THROW(SANAWM_CUDA_CHECK(fails_with(cudaSuccess, calls)));
  EXPECT_EQ(calls, 1);
}

TEST(CudaCheck, FailureThrowsCudaErrorWithStatementFileAndLine) {
  int calls = 0;
  const int line = __LINE__ + 2;
  try {
    SANAWM_CUDA_CHECK(fails_with(cudaErrorInvalidValue, calls));
    FAIL() << "SANAWM_CUDA_CHECK did not throw";
  } catch (const cuda_error& e) {
    EXPECT_EQ(e.code(), cudaErrorInvalidValue);
    EXPECT_EQ(std::string(e.what()),
              cuda::check_message(cudaErrorInvalidValue, "fails_with(cudaErrorInvalidValue, calls)", __FILE__,
                                  line));
  }
  EXPECT_EQ(calls, 1) << "the checked expression must be evaluated exactly once";
}

TEST(CudaCheck, CudaErrorIsASanawmError) {
  int calls = 0;
  EXPECT_THROW(SANAWM_CUDA_CHECK(fails_with(cudaErrorMemoryAllocation, calls)), sanawm::error);
}

TEST(CudaCheck, RealRuntimeFailureIsReported) {
  // cudaSetDevice(-1) fails everywhere: cudaErrorInvalidDevice with a GPU, a driver error without one.
  try {
    SANAWM_CUDA_CHECK(cudaSetDevice(-1));
    FAIL() << "cudaSetDevice(-1) succeeded";
  } catch (const cuda_error& e) {
    EXPECT_NE(e.code(), cudaSuccess);
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("[cuda] cudaSetDevice(-1) failed: cudaError", 0), 0u) << what;
    EXPECT_NE(what.find(" at "), std::string::npos) << what;
    EXPECT_NE(what.find("check_test.cu:"), std::string::npos) << what;
  }
  if (has_cuda_device()) {
    // The failed call's "last error" was reset, so a later launch check does not misreport it.
    EXPECT_EQ(cudaPeekAtLastError(), cudaSuccess);
  }
}

TEST(CudaCheck, LaunchCheckReflectsRuntimeState) {
  if (has_cuda_device()) {
    EXPECT_NO_THROW(SANAWM_CUDA_CHECK_LAUNCH());
  } else {
    // Without a driver every runtime call, cudaPeekAtLastError included, reports the missing driver.
    try {
      SANAWM_CUDA_CHECK_LAUNCH();
      FAIL() << "no device, yet cudaPeekAtLastError reported success";
    } catch (const cuda_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("[cuda] kernel launch failed: ", 0), 0u) << e.what();
    }
  }
}

// ---- SANAWM_CUBLAS_CHECK ----------------------------------------------------------------------------------

TEST(CudaCublasCheck, MessageNamesStatementStatusAndSite) {
  const std::string msg =
      cuda::cublas_check_message(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLtMatmul(...)", "gemm.cu", 7);
  EXPECT_EQ(msg.rfind("[cublas] cublasLtMatmul(...) failed: CUBLAS_STATUS_NOT_SUPPORTED: ", 0), 0u) << msg;
  EXPECT_EQ(msg.substr(msg.size() - std::string(" at gemm.cu:7").size()), " at gemm.cu:7") << msg;
}

TEST(CudaCublasCheck, FailureThrowsCublasError) {
  try {
    SANAWM_CUBLAS_CHECK(cublas_fails_with(CUBLAS_STATUS_INVALID_VALUE));
    FAIL() << "SANAWM_CUBLAS_CHECK did not throw";
  } catch (const cublas_error& e) {
    EXPECT_EQ(e.status(), CUBLAS_STATUS_INVALID_VALUE);
    EXPECT_NE(std::string(e.what()).find("CUBLAS_STATUS_INVALID_VALUE"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(SANAWM_CUBLAS_CHECK(cublas_fails_with(CUBLAS_STATUS_SUCCESS)));
}

// ---- device detection -------------------------------------------------------------------------------------

TEST(CudaDevice, DetectionNeverThrowsAndIsStable) {
  const bool first = has_cuda_device();
  EXPECT_EQ(has_cuda_device(), first);
  EXPECT_EQ(cuda_device_count() > 0, first);
  const std::string reason = no_cuda_device_reason();
  if (first) {
    EXPECT_TRUE(reason.empty()) << reason;
    EXPECT_EQ(cuda::probe_devices().error, cudaSuccess);
  } else {
    EXPECT_EQ(reason.rfind("no CUDA device: ", 0), 0u) << reason;
    EXPECT_GT(reason.size(), std::string("no CUDA device: ").size()) << "the reason says what failed";
    std::printf("[   INFO   ] %s\n", reason.c_str());
  }
  EXPECT_EQ(test::cuda_unavailable_reason(), reason);
}

TEST(CudaDevice, PropertiesWithoutDeviceThrowTheReason) {
  if (has_cuda_device()) {
    const cuda_device_info& info = cuda_device_properties();
    EXPECT_EQ(&info, &cuda_device_properties(current_cuda_device())) << "cached per device";
    EXPECT_THROW(cuda_device_properties(cuda_device_count()), sanawm::error);
    return;
  }
  try {
    (void)cuda_device_properties();
    FAIL() << "no device, yet properties were returned";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
}

// ---- buffers and views without touching the device --------------------------------------------------------

TEST(CudaMemory, EmptyBuffersMakeNoCudaCalls) {
  device_buffer<float> d(0);
  EXPECT_EQ(d.size(), 0);
  EXPECT_EQ(d.data(), nullptr);
  EXPECT_TRUE(d.empty());
  std::vector<float> none;
  EXPECT_NO_THROW(d.copy_from_host(std::span<const float>(none)));
  EXPECT_NO_THROW(d.copy_to_host(std::span<float>(none)));
  EXPECT_NO_THROW(d.memset(0));
  device_buffer<float> moved = std::move(d);
  EXPECT_EQ(moved.size(), 0);
  pinned_buffer<double> p(0);
  EXPECT_EQ(p.data(), nullptr);
  EXPECT_TRUE(p.span().empty());
  EXPECT_EQ(d.view().size(), 0);
}

TEST(CudaMemory, BadArgumentsAreSanawmErrors) {
  EXPECT_THROW(device_buffer<float>(-1), sanawm::error);
  EXPECT_THROW(pinned_buffer<float>(-4), sanawm::error);
  device_buffer<float> d;
  EXPECT_THROW((void)d.view(extents<dyn, 4>(2)), sanawm::error);  // 8 elements needed, 0 held
  std::vector<float> three(3);
  try {
    d.copy_from_host(std::span<const float>(three));
    FAIL() << "size mismatch accepted";
  } catch (const sanawm::error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "[device_buffer::copy_from_host] host range has 3 elements, the device buffer 0; they must match");
  }
}

TEST(CudaMemory, AllocationWithoutDeviceThrowsCudaError) {
  if (has_cuda_device()) GTEST_SKIP() << "a CUDA device is present; this case checks the no-device path";
  try {
    device_buffer<float> d(16);
    FAIL() << "cudaMalloc succeeded without a device";
  } catch (const cuda_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[cuda] cudaMalloc(64 bytes) failed: ", 0), 0u) << e.what();
  }
}

// ---- tags, views and launch plumbing ----------------------------------------------------------------------

struct noop_1d {
  SANAWM_HD void operator()(index_t) const {}
};
struct noop_2d {
  SANAWM_HD void operator()(index_t, index_t) const {}
};

TEST(CudaLaunch, ZeroWorkLaunchesNothingEvenWithoutDevice) {
  // n <= 0 returns before any CUDA call, so this passes on GPU-less machines too.
  EXPECT_NO_THROW(parallel_for(cuda_t{}, 0, noop_1d{}));
  EXPECT_NO_THROW(parallel_for(cuda_t{}, -5, noop_1d{}));
  EXPECT_NO_THROW(parallel_for_2d(cuda_t{}, 0, 7, noop_2d{}));
  EXPECT_NO_THROW(parallel_for_2d(cuda_t{}, 7, -1, noop_2d{}));
}

TEST(CudaLaunch, TwoDimensionalOverflowIsRejected) {
  EXPECT_THROW(parallel_for_2d(cuda_t{}, index_t{1} << 40, index_t{1} << 40, noop_2d{}), sanawm::error);
}

TEST(CudaLaunch, StreamTagRoundTrip) {
  EXPECT_EQ(native_stream(cuda_t{}), nullptr);
  int dummy = 0;
  auto* fake = reinterpret_cast<cudaStream_t>(&dummy);  // never used as a stream, only passed through
  EXPECT_EQ(native_stream(cuda_t{fake}), fake);
  static_assert(sizeof(tensor_view<float, extents<dyn, 64>>) == sizeof(float*) + sizeof(index_t));
}

TEST(CudaConfig, ArchMacrosAreZeroInTheHostPass) {
  // This test body is host code: the device-pass macros must read 0 here whatever the target architecture.
  EXPECT_EQ(SANAWM_CUDA_ARCH, 0);
  EXPECT_FALSE(SANAWM_SM90);
  EXPECT_FALSE(SANAWM_SM90A);
  EXPECT_FALSE(SANAWM_SM100_FAMILY);
}

}  // namespace
}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// tests/support/cuda_device.hpp — for host (.cpp, g++) test files linked into a CUDA executable: why no CUDA device is
// usable (empty when one is), answered by the CUDA runtime in cuda_device.cu, and the skip macro built on it.
// (nvcc-compiled test files use backends.hpp's cuda_unavailable_reason / SANAWM_SKIP_WITHOUT_CUDA_DEVICE instead;
// under g++ those can only say the backend is not compiled in.)
#pragma once

#include <string>

namespace sanawm::test {
/// Empty when a CUDA device is usable, else the driver's reason (tests/support/cuda_device.cu).
std::string cuda_runtime_unavailable_reason();
}  // namespace sanawm::test

#define SANAWM_REQUIRE_CUDA_DEVICE()                                 \
  do {                                                               \
    const std::string why_ = ::sanawm::test::cuda_runtime_unavailable_reason(); \
    if (!why_.empty()) GTEST_SKIP() << why_;                         \
  } while (0)

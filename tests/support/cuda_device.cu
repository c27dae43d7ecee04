// SPDX-License-Identifier: Apache-2.0
// tests/support/cuda_device.cu — cuda_runtime_unavailable_reason() for host test files (see cuda_device.hpp).
#include "support/cuda_device.hpp"

#include "sanawm/backend/cuda/device.cuh"  // has_cuda_device, no_cuda_device_reason

namespace sanawm::test {
std::string cuda_runtime_unavailable_reason() { return has_cuda_device() ? std::string{} : no_cuda_device_reason(); }
}  // namespace sanawm::test

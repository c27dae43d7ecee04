// SPDX-License-Identifier: Apache-2.0
// tests/vae/vae_executor_cuda.cu — backend_conv_executor<cuda_t> for vae_executor_cuda_test.
#include <memory>
#include <string>

#include "sanawm/backend/cuda/device.cuh"               // has_cuda_device
#include "sanawm/model/vae/conv_executor_cuda.cuh"

namespace sanawm::test {

std::unique_ptr<vae::conv_executor> make_cuda_conv_executor() {
  return std::make_unique<vae::backend_conv_executor<cuda_t>>(cuda_t{});
}
std::string vae_cuda_unavailable_reason() { return has_cuda_device() ? std::string{} : no_cuda_device_reason(); }

}  // namespace sanawm::test

// SPDX-License-Identifier: Apache-2.0
// tests/vae/vae_executor_cuda.cu — backend_conv_executor<cuda_t> for vae_executor_cuda_test.
#include <memory>
#include <string>

#include "sanawm/model/vae/conv_executor_cuda.cuh"

namespace sanawm::test {

std::unique_ptr<vae::conv_executor> make_cuda_conv_executor() {
  return std::make_unique<vae::backend_conv_executor<cuda_t>>(cuda_t{});
}

}  // namespace sanawm::test

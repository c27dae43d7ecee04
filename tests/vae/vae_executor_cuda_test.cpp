// SPDX-License-Identifier: Apache-2.0
// tests/vae/vae_executor_cuda_test.cpp — the golden VAE with its convs on the GPU (backend_conv_executor<cuda_t>,
// built in vae_executor_cuda.cu): the checks vae_test runs with the CPU executor. Skips without a CUDA device.
#include <filesystem>
#include <memory>
#include <string>

#include "support/cuda_device.hpp"
#include "vae_executor_checks.hpp"

namespace sanawm::test {
std::unique_ptr<vae::conv_executor> make_cuda_conv_executor();

namespace {

std::filesystem::path vae_golden(const char* name) {
  const char* env = std::getenv("SANAWM_GOLDEN_DIR");
  const std::filesystem::path dir = env && *env ? env : SANAWM_GOLDEN_DIR;
  return dir / name;
}

#define SANAWM_REQUIRE_VAE_GPU()                                                                         \
  do {                                                                                                   \
    SANAWM_REQUIRE_CUDA_DEVICE();                                                                        \
    if (!std::filesystem::exists(vae_golden("vae_tiny_a.weights.safetensors")))                          \
      GTEST_SKIP() << "golden vae_tiny_a not found under " << vae_golden("");                           \
  } while (0)

TEST(VaeConvExecutorCuda, DecodesAndEncodesLikeTheCpu) {
  SANAWM_REQUIRE_VAE_GPU();
  const auto w = vae::load_vae(vae_golden("vae_tiny_a.weights.safetensors"));
  const auto io = io::safetensors_file::open(vae_golden("vae_tiny_a.io.safetensors"));
  auto exec = make_cuda_conv_executor();
  check_vae_conv_executor(w, io, *exec);
}
TEST(VaeConvExecutorCuda, Bf16Weights) {
  SANAWM_REQUIRE_VAE_GPU();
  const auto io = io::safetensors_file::open(vae_golden("vae_tiny_a.io.safetensors"));
  auto exec = make_cuda_conv_executor();
  check_vae_conv_executor_bf16(vae::load_vae(vae_golden("vae_tiny_a.weights.safetensors")), io, *exec);
}

}  // namespace
}  // namespace sanawm::test

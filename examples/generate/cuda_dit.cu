// SPDX-License-Identifier: Apache-2.0
// examples/generate/cuda_dit.cu — sanawm-generate's GPU parts: dit::engine_denoiser<cuda_t> and the VAE's
// backend_conv_executor<cuda_t>, text::gemma2_engine<cuda_t>.
#include "cuda_dit.hpp"

#include "sanawm/backend/cuda/device.cuh"    // has_cuda_device, cuda_device_properties
#include "sanawm/model/dit/engine_cuda.cuh"  // engine_denoiser<cuda_t>
#include "sanawm/model/text/gemma2_engine_cuda.cuh"  // gemma2_engine<cuda_t>
#include "sanawm/model/vae/conv_executor_cuda.cuh"  // backend_conv_executor<cuda_t>

namespace generate_cli {

std::string cuda_unavailable_reason() {
  return sanawm::has_cuda_device() ? std::string{} : sanawm::no_cuda_device_reason();
}

std::unique_ptr<sanawm::sampler::denoiser> make_cuda_dit(const sanawm::dit::dit_refs& refs, bool bf16,
                                                         const sanawm::dit::forward_options& opt, long window) {
  sanawm::dit::engine_options eo;
  eo.bf16 = bf16;
  return std::make_unique<sanawm::dit::engine_denoiser<sanawm::cuda_t>>(sanawm::cuda_t{}, refs, eo, opt,
                                                                       static_cast<sanawm::index_t>(window));
}

std::unique_ptr<sanawm::vae::conv_executor> make_cuda_vae_convs() {
  return std::make_unique<sanawm::vae::backend_conv_executor<sanawm::cuda_t>>(sanawm::cuda_t{});
}

namespace {
class cuda_gemma final : public prompt_encoder {
 public:
  explicit cuda_gemma(const sanawm::text::gemma2_refs& refs) : e_(sanawm::cuda_t{}, refs, sanawm::gemm_compute::fp32) {}
  std::vector<float> forward(std::span<const std::int32_t> ids, std::span<const std::int32_t> mask) override {
    return e_.forward(ids, mask);
  }

 private:
  sanawm::text::gemma2_engine<sanawm::cuda_t> e_;
};
}  // namespace

std::unique_ptr<prompt_encoder> make_cuda_gemma(const sanawm::text::gemma2_refs& refs) {
  return std::make_unique<cuda_gemma>(refs);
}

std::string cuda_device_summary() {
  const sanawm::cuda_device_info& p = sanawm::cuda_device_properties();
  return sanawm::str_cat(p.name, " (sm_", p.sm_version, ", ", p.global_memory_bytes / (1024 * 1024), " MiB)");
}

}  // namespace generate_cli

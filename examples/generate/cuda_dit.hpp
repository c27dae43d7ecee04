// SPDX-License-Identifier: Apache-2.0
// examples/generate/cuda_dit.hpp — sanawm-generate --device cuda: the DiT, the VAE's convs and the Gemma-2 text
// encoder on the GPU. The
// factories are compiled by nvcc in cuda_dit.cu (built only when the CUDA backend is); the rest stays host C++.
#pragma once

#include <memory>
#include <string>

#include "sanawm/model/dit/inputs.hpp"        // forward_options
#include "sanawm/model/dit/refs.hpp"          // dit_refs
#include "sanawm/model/sampler/denoiser.hpp"  // sampler::denoiser
#include "sanawm/model/text/gemma2_engine.hpp"  // text::gemma2_refs
#include "sanawm/model/vae/conv_executor.hpp"   // vae::conv_executor
#include <cstdint>
#include <span>
#include <vector>

namespace generate_cli {

/// Empty when a CUDA device is usable, else why not.
std::string cuda_unavailable_reason();
/// engine_denoiser<cuda_t> over `refs` (weights uploaded now); bf16 compute when `bf16`.
std::unique_ptr<sanawm::sampler::denoiser> make_cuda_dit(const sanawm::dit::dit_refs& refs, bool bf16,
                                                         const sanawm::dit::forward_options& opt, long window);
/// The VAE's convs on the GPU (backend_conv_executor<cuda_t>); the rest of the VAE stays on the CPU.
std::unique_ptr<sanawm::vae::conv_executor> make_cuda_vae_convs();
/// The Gemma-2 text encoder on the GPU (gemma2_engine<cuda_t>, fp32 compute), behind a host interface.
class prompt_encoder {
 public:
  virtual ~prompt_encoder() = default;
  virtual std::vector<float> forward(std::span<const std::int32_t> ids, std::span<const std::int32_t> mask) = 0;
};
std::unique_ptr<prompt_encoder> make_cuda_gemma(const sanawm::text::gemma2_refs& refs);
/// The device's name and memory, for the log line.
std::string cuda_device_summary();

}  // namespace generate_cli

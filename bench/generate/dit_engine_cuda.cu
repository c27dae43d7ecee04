// SPDX-License-Identifier: Apache-2.0
// bench/generate/dit_engine_cuda.cu — the GPU DiT of dit_chunk_bench --device cuda.
#include "dit_engine_cuda.hpp"

#include "sanawm/backend/cuda/device.cuh"    // cuda_device_properties
#include "sanawm/model/dit/engine_cuda.cuh"  // engine_denoiser<cuda_t>

namespace bench_cuda {

std::unique_ptr<sanawm::sampler::denoiser> make_cuda_dit(const sanawm::dit::dit_refs& refs, bool bf16) {
  if (!sanawm::has_cuda_device()) throw sanawm::make_error("dit_chunk_bench", sanawm::no_cuda_device_reason());
  sanawm::dit::engine_options eo;
  eo.bf16 = bf16;
  return std::make_unique<sanawm::dit::engine_denoiser<sanawm::cuda_t>>(sanawm::cuda_t{}, refs, eo,
                                                                       sanawm::dit::forward_options{}, 2);
}

std::string device_summary() {
  const sanawm::cuda_device_info& p = sanawm::cuda_device_properties();
  return sanawm::str_cat(p.name, " (sm_", p.sm_version, ", ", p.global_memory_bytes / (1024 * 1024), " MiB)");
}

}  // namespace bench_cuda

// SPDX-License-Identifier: Apache-2.0
// bench/generate/dit_engine_cuda.hpp — dit_chunk_bench --device cuda: the DiT engine on the GPU, built in
// dit_engine_cuda.cu (nvcc) and used from the host benchmark.
#pragma once

#include <memory>
#include <string>

#include "sanawm/model/dit/refs.hpp"          // dit_refs
#include "sanawm/model/sampler/denoiser.hpp"  // sampler::denoiser

namespace bench_cuda {

/// engine_denoiser<cuda_t> over `refs` (softmax window 2, as upstream); throws without a usable device.
std::unique_ptr<sanawm::sampler::denoiser> make_cuda_dit(const sanawm::dit::dit_refs& refs, bool bf16);
/// The device's name, compute capability and memory.
std::string device_summary();

}  // namespace bench_cuda

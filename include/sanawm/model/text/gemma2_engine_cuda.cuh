// SPDX-License-Identifier: Apache-2.0
// sanawm/model/text/gemma2_engine_cuda.cuh — gemma2_engine<cuda_t>: the Gemma-2 text encoder on the GPU (engine in
// gemma2_engine.hpp over cuBLASLt GEMMs, the composed attention, the warp-per-row RMSNorm and the GLU kernel). Include
// from a .cu file; load the weights in host code (gemma2_weights::load) and pass refs_of(weights).
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/model/text/gemma2_engine_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include "sanawm/backend/cuda/backend_memory.cuh"          // backend_memory<cuda_t>
#include "sanawm/backend/cuda/launch.cuh"                  // parallel_for(cuda_t, …)
#include "sanawm/kernels/attention/attention_cuda.cuh"     // attention_composed(cuda_t, …)
#include "sanawm/kernels/elementwise/elementwise_cuda.cuh" // glu(cuda_t, …)
#include "sanawm/kernels/gemm/gemm_cuda.cuh"               // gemm(cuda_t, …)
#include "sanawm/kernels/norms/norms_cuda.cuh"             // rms_norm(cuda_t, …)
#include "sanawm/model/text/gemma2_engine.hpp"

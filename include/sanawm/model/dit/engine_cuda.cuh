// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/engine_cuda.cuh — dit_engine<cuda_t>: the SANA-WM DiT on the GPU (engine.hpp over the CUDA kernels:
// cuBLASLt GEMMs, the flash/composed attention, the frame-wise GDN scans, the warp-per-row norms, RoPE and the
// portable bodies). Include from a .cu file; load the weights in host code (load_dit) and pass refs_of(weights).
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/model/dit/engine_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include "sanawm/backend/cuda/backend_memory.cuh"       // backend_memory<cuda_t>
#include "sanawm/backend/cuda/launch.cuh"               // parallel_for(cuda_t, …)
#include "sanawm/kernels/attention/attention_cuda.cuh"  // attention(cuda_t, …), attention_composed
#include "sanawm/kernels/conv/conv_cuda.cuh"            // depthwise_conv3x3_glu(cuda_t, …)
#include "sanawm/kernels/gdn/gdn_cuda.cuh"              // gdn_frame(cuda_t, …)
#include "sanawm/kernels/gemm/gemm_cuda.cuh"            // gemm(cuda_t, …)
#include "sanawm/kernels/norms/norms_cuda.cuh"          // rms_norm, layer_norm_modulate, gated_residual
#include "sanawm/kernels/rope/rope_cuda.cuh"            // rope(cuda_t, …)
#include "sanawm/model/dit/engine.hpp"

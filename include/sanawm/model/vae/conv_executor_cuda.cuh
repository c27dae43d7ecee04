// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/conv_executor_cuda.cuh — backend_conv_executor<cuda_t>: the LTX-2 VAE's convs on the GPU (im2col
// + cuBLASLt, bf16 tensor cores for bf16 weights) with the streaming bookkeeping on the host. Include from a .cu file;
// hand the executor to decode_options / encode_options / decoder_stream::set_conv_executor in host code.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/model/vae/conv_executor_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include "sanawm/backend/cuda/backend_memory.cuh"  // backend_memory<cuda_t>
#include "sanawm/backend/cuda/launch.cuh"          // parallel_for(cuda_t, …)
#include "sanawm/kernels/gemm/gemm_cuda.cuh"       // gemm(cuda_t, …)
#include "sanawm/model/vae/conv_executor.hpp"

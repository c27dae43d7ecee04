// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/elementwise/elementwise_cuda.cuh — the CUDA path of the activations and the GLU split: the
// portable bodies launched grid-stride (memory-bound; the index arithmetic hides under the loads).
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/elementwise/elementwise_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include "sanawm/backend/cuda/launch.cuh"              // parallel_for_2d(cuda_t, ...)
#include "sanawm/backend/tags.hpp"                     // cuda_t
#include "sanawm/kernels/elementwise/elementwise.hpp"  // activate_portable, glu_portable

namespace sanawm {

/// y = act(x) elementwise on be.stream; x, y [N, C] in device memory (float or bf16 each; y may be x).
/// Asynchronous; throws sanawm::error on shape mismatches, cuda_error if the launch fails.
template <dense_view<2> X, dense_out_view<2> Y>
void activate(cuda_t be, activation a, const X& x, const Y& y) {
  activate_portable(be, a, x, y);
}

/// The GLU split on be.stream: y[r, c] = x[r, c] · act(x[r, H + c]); x [N, 2H], y [N, H] in device memory.
template <dense_view<2> X, dense_out_view<2> Y>
void glu(cuda_t be, activation gate_act, const X& x, const Y& y) {
  glu_portable(be, gate_act, x, y);
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/conv/conv_cuda.cuh — the CUDA path of the convolutions. The GEMM-shaped ones (1x1, the temporal
// conv, conv3d) run as im2col gathers + cuBLASLt GEMMs (conv_gemm.hpp: tensor cores for bf16), falling back to the
// portable body for views off that menu; the depthwise and short convs are memory-bound and run their portable
// bodies grid-stride (see docs/kernels/conv.md, "CUDA").
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/conv/conv_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include "sanawm/backend/cuda/backend_memory.cuh"  // backend_memory<cuda_t>: im2col scratch
#include "sanawm/backend/cuda/launch.cuh"          // parallel_for(cuda_t, ...)
#include "sanawm/backend/tags.hpp"         // cuda_t
#include "sanawm/kernels/conv/conv.hpp"       // *_portable
#include "sanawm/kernels/conv/conv_gemm.hpp"  // *_via_gemm
#include "sanawm/kernels/gemm/gemm_cuda.cuh"  // gemm(cuda_t, …)

namespace sanawm {

/// 1x1x1 conv on be.stream: y = act(x·wᵀ + bias) as one cuBLASLt GEMM; shapes as conv1x1(cpu_t, …), views in device
/// memory.
template <dense_view<2> X, dense_view<2> W, f32_view<1> B, dense_out_view<2> Y>
void conv1x1(cuda_t be, const X& x, const W& w, const B& bias, const Y& y,
             activation act = activation::identity) {
  if (!conv1x1_via_gemm(be, x, w, bias, y, act)) conv1x1_portable(be, x, w, bias, y, act);
}

/// Depthwise 3x3 conv per frame on be.stream.
template <dense_view<5> X, f32_view<3> W, f32_view<1> B, dense_out_view<5> Y>
void depthwise_conv3x3(cuda_t be, const X& x, const W& w, const B& bias, const Y& y) {
  depthwise_conv3x3_portable(be, x, w, bias, y);
}

/// Depthwise 3x3 conv fused with the GLU split on be.stream.
template <dense_view<5> X, f32_view<3> W, f32_view<1> B, dense_out_view<5> Y>
void depthwise_conv3x3_glu(cuda_t be, const X& x, const W& w, const B& bias, activation gate_act,
                           const Y& y) {
  depthwise_conv3x3_glu_portable(be, x, w, bias, gate_act, y);
}

/// The FFN temporal conv on be.stream (with a left context).
template <dense_view<4> X, dense_view<3> W, dense_out_view<4> Y, dense_view<3> L>
void temporal_conv3(cuda_t be, const X& x, const W& w, const Y& y, const temporal_conv_options& opt,
                    const L& left) {
  if (!temporal_conv3_via_gemm(be, x, w, y, opt, left)) temporal_conv3_portable(be, x, w, y, opt, left);
}
/// The FFN temporal conv on be.stream (zeros before frame 0).
template <dense_view<4> X, dense_view<3> W, dense_out_view<4> Y>
void temporal_conv3(cuda_t be, const X& x, const W& w, const Y& y, const temporal_conv_options& opt = {}) {
  temporal_conv3(be, x, w, y, opt, detail::empty_view<typename X::value_type, 3>());
}

/// The GDN short conv on be.stream (with a left context).
template <dense_view<4> X, f32_view<2> W, dense_out_view<4> Y, dense_view<4> L>
void short_conv4(cuda_t be, const X& x, const W& w, const Y& y, frame_chunks chunks, const L& left) {
  short_conv4_portable(be, x, w, y, chunks, left);
}
/// The GDN short conv on be.stream (zeros before frame 0).
template <dense_view<4> X, f32_view<2> W, dense_out_view<4> Y>
void short_conv4(cuda_t be, const X& x, const W& w, const Y& y, frame_chunks chunks = {}) {
  short_conv4_portable(be, x, w, y, chunks);
}

/// General stride-1 3-D conv on be.stream (with a left context).
template <dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y, dense_view<5> L>
void conv3d(cuda_t be, const X& x, const W& w, const B& bias, const Y& y, conv3d_padding pad, const L& left) {
  if (!conv3d_via_gemm(be, x, w, bias, y, pad, left)) conv3d_portable(be, x, w, bias, y, pad, left);
}
/// General stride-1 3-D conv on be.stream.
template <dense_view<5> X, dense_view<5> W, f32_view<1> B, dense_out_view<5> Y>
void conv3d(cuda_t be, const X& x, const W& w, const B& bias, const Y& y, conv3d_padding pad) {
  conv3d(be, x, w, bias, y, pad, detail::empty_view<typename X::value_type, 5>());
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/engine_cpu.hpp — dit_engine<cpu_t>: the backend engine (engine.hpp) over the CPU kernels. The
// fast host forward is dit.hpp; this instantiation runs the device path's exact sequence of steps on the host, which
// is how that path is checked against the golden data without a GPU.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/dit/engine_cpu.hpp: host-only header (the CPU SIMD kernels); include it from .cpp files"
#endif

#include "sanawm/backend/cpu/parallel.hpp"            // parallel_for(cpu_t, …)
#include "sanawm/kernels/attention/attention_cpu.hpp" // attention(cpu_t, …)
#include "sanawm/kernels/conv/conv_cpu.hpp"           // depthwise_conv3x3_glu(cpu_t, …)
#include "sanawm/kernels/gdn/gdn_cpu.hpp"             // gdn_frame(cpu_t, …)
#include "sanawm/kernels/gemm/gemm_cpu.hpp"           // gemm(cpu_t, …)
#include "sanawm/kernels/norms/norms_cpu.hpp"         // rms_norm, layer_norm_modulate, gated_residual
#include "sanawm/kernels/rope/rope_cpu.hpp"           // rope(cpu_t, …)
#include "sanawm/model/dit/engine.hpp"

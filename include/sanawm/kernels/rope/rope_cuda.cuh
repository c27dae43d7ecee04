// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/rope/rope_cuda.cuh — the CUDA path of the 3-D RoPE (the portable body, one thread per
// rotated pair: adjacent threads touch adjacent channels, so loads coalesce) and device copies of the tables.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/kernels/rope/rope_cuda.cuh: include from .cu files only (nvcc)"
#endif

#include "sanawm/backend/cuda/launch.cuh"  // parallel_for(cuda_t, ...)
#include "sanawm/backend/cuda/memory.cuh"  // device_buffer, to_device
#include "sanawm/backend/tags.hpp"         // cuda_t
#include "sanawm/kernels/rope/rope.hpp"    // rope_portable, rope_tables

namespace sanawm {

/// RoPE tables in device memory (a copy of host rope_tables). Move-only; view() is what rope(cuda_t, …)
/// takes.
struct rope_device_tables {
  device_buffer<float> t, h, w;
  index_t frames = 0, height = 0, width = 0, pairs_t = 0, pairs_h = 0, pairs_w = 0, frame_offset = 0;

  rope_table_view view() const noexcept {
    using E = extents<dyn, dyn, 2>;
    return {{t.data(), E(frames, pairs_t)},
            {h.data(), E(height, pairs_h)},
            {w.data(), E(width, pairs_w)},
            frame_offset};
  }
};

/// Copies host tables to the current device (synchronously).
inline rope_device_tables to_device(const rope_tables& host) {
  rope_device_tables d;
  d.t = to_device(host.t);
  d.h = to_device(host.h);
  d.w = to_device(host.w);
  d.frames = host.t.extent(0), d.pairs_t = host.t.extent(1);
  d.height = host.h.extent(0), d.pairs_h = host.h.extent(1);
  d.width = host.w.extent(0), d.pairs_w = host.w.extent(1);
  d.frame_offset = host.frame_offset;
  return d;
}

/// The 3-D RoPE on be.stream: shapes and semantics of rope(cpu_t, …); x, y and the tables in device memory.
template <dense_view<4> X, dense_out_view<4> Y>
void rope(cuda_t be, const X& x, const rope_table_view& tab, const rope_spec& spec, const Y& y,
          bool inverse = false) {
  rope_portable(be, x, tab, spec, y, inverse);
}

}  // namespace sanawm

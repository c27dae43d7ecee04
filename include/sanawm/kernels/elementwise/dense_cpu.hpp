// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/elementwise/dense_cpu.hpp — CPU helpers shared by the dense kernels' fast paths: SIMD loads
// and stores of float or bf16 rows, a row-parallel driver that keeps tiny problems on one thread, and per-thread
// scratch buffers.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/elementwise/dense_cpu.hpp: host-only header (SIMD intrinsics)"
#endif

#include <algorithm>    // std::max
#include <cstdint>      // std::uint16_t
#include <type_traits>  // std::is_same_v

#include "sanawm/backend/cpu/parallel.hpp"       // cpu::parallel_ranges
#include "sanawm/backend/cpu/simd.hpp"           // vec, native_isa
#include "sanawm/config.hpp"                     // SANAWM_FORCEINLINE
#include "sanawm/core/buffer.hpp"                // host_buffer
#include "sanawm/core/bf16.hpp"                  // bf16
#include "sanawm/core/int.hpp"                   // index_t
#include "sanawm/kernels/elementwise/dense.hpp"  // dense_element

namespace sanawm::cpu::dense {

/// `width` lanes from p (float or bf16; bf16 is widened exactly).
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> load(const float* p) noexcept {
  return vec<float, Isa>::load(p);
}
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> load(const bf16* p) noexcept {
  // bf16 is a standard-layout wrapper of one uint16_t: its storage is the raw bit pattern the SIMD layer
  // reads.
  return vec<float, Isa>::load_bf16(reinterpret_cast<const std::uint16_t*>(p));
}
/// Lanes p[0..n) and zeros above (n clamped to [0, width]); nothing past p[n-1] is read.
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> load_partial(const float* p, index_t n) noexcept {
  return vec<float, Isa>::load_partial(p, n);
}
template <class Isa>
SANAWM_FORCEINLINE vec<float, Isa> load_partial(const bf16* p, index_t n) noexcept {
  return vec<float, Isa>::load_bf16_partial(reinterpret_cast<const std::uint16_t*>(p), n);
}
/// Writes all lanes to p (bf16: round to nearest even).
template <class Isa>
SANAWM_FORCEINLINE void store(vec<float, Isa> v, float* p) noexcept {
  v.store(p);
}
template <class Isa>
SANAWM_FORCEINLINE void store(vec<float, Isa> v, bf16* p) noexcept {
  v.store_bf16(reinterpret_cast<std::uint16_t*>(p));
}
/// Writes lanes [0, n) to p[0..n).
template <class Isa>
SANAWM_FORCEINLINE void store_partial(vec<float, Isa> v, float* p, index_t n) noexcept {
  v.store_partial(p, n);
}
template <class Isa>
SANAWM_FORCEINLINE void store_partial(vec<float, Isa> v, bf16* p, index_t n) noexcept {
  v.store_bf16_partial(reinterpret_cast<std::uint16_t*>(p), n);
}

/// Work below which a loop is not worth waking the pool for (one wake-up + join costs about 6 µs, the time to
/// stream roughly this many floats through one core).
inline constexpr index_t min_work_per_part = 1 << 14;

/// Calls fn(begin, end) on contiguous ranges of [0, n) items on the global pool, each part getting at least
/// min_work_per_part / cost_per_item items, so small problems run on the calling thread alone. Deterministic:
/// the partition depends only on n, the cost and the pool size, and items never share a reduction.
template <class F>
void parallel_items(index_t n, index_t cost_per_item, F&& fn) {
  const index_t min_items = std::max<index_t>(1, min_work_per_part / std::max<index_t>(1, cost_per_item));
  parallel_ranges(
      n, [&fn](index_t b, index_t e, int) { fn(b, e); }, min_items);
}

/// A per-thread scratch of at least n elements of T, grown on demand and reused by later calls on that thread (no
/// per-call allocation or page faults). `Slot` tells apart buffers that are live at the same time (conv3d: 0 and 1
/// for the implicit GEMM, 2 and 3 for Winograd). The pointer stays valid until the next call with the same T and
/// Slot on the same thread.
template <class T, int Slot>
T* thread_scratch(index_t n) {
  thread_local host_buffer<T> buf;
  if (buf.size() < n) {
    buf = host_buffer<T>();  // release before allocating the larger one
    buf = host_buffer<T>(n);
  }
  return buf.data();
}

}  // namespace sanawm::cpu::dense


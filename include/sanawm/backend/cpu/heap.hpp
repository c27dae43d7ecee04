// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/heap.hpp — keep_freed_memory(): a program-wide allocator policy that keeps large freed blocks
// in the process for reuse instead of handing them back to the kernel. sanawm's programs opt in at startup; the
// library itself never changes the allocator.
#pragma once

#include <cstddef>  // std::size_t
#include <cstdlib>  // std::getenv
#include <cstring>  // std::strcmp
#include <limits>   // std::numeric_limits

#if defined(__GLIBC__)
#include <malloc.h>  // mallopt, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
#endif

namespace sanawm::cpu {

/// Largest block keep_freed_memory() keeps on the heap by default (1 GiB: more than any activation the VAE or the
/// DiT allocates at 704×1280).
inline constexpr std::size_t keep_freed_memory_default_bytes = std::size_t{1} << 30;

/// Makes the C heap keep the memory the process frees. By default glibc's malloc serves every block above its mmap
/// threshold (at most 32 MiB) with a fresh mmap and unmaps it on free, and trims the heap's top above twice that;
/// each later allocation of that size then gets new pages that the kernel zeroes on first touch. The VAE decoder at
/// 704×1280 allocates and frees tens of MB per conv: a 9-frame streaming decode took 2.8 M page faults (6–10 of ~75
/// CPU-seconds on the build VM, depending on the host's memory state), and 1.5 M (every page of the peak once, 5 CPU-s)
/// with this policy (docs/performance.md, "Keeping freed memory"). After the call, blocks up to `max_block_bytes` (at
/// most INT_MAX) come from the heap and freed memory stays there for reuse (the heap is trimmed only above 2 GiB of
/// free top), so the process keeps its peak heap until exit (≈ 3 % above the peak RSS without it in that decode).
/// That suits programs that run one job, which is why the library never applies it on its own.
///
/// Returns true when applied; false on a C library without these knobs (non-glibc), when mallopt refuses (e.g. under
/// AddressSanitizer's allocator), or when the environment variable SANAWM_KEEP_FREED_MEMORY is "0" (the opt-out).
inline bool keep_freed_memory(std::size_t max_block_bytes = keep_freed_memory_default_bytes) noexcept {
  if (const char* v = std::getenv("SANAWM_KEEP_FREED_MEMORY"); v && std::strcmp(v, "0") == 0) return false;
#if defined(__GLIBC__)
  constexpr int int_max = std::numeric_limits<int>::max();
  const int bytes = max_block_bytes > static_cast<std::size_t>(int_max) ? int_max : static_cast<int>(max_block_bytes);
  // The trim threshold too: with only a raised mmap threshold, big blocks would land on the heap's top and be
  // trimmed (returned to the kernel) again when freed.
  return mallopt(M_TRIM_THRESHOLD, int_max) == 1 && mallopt(M_MMAP_THRESHOLD, bytes) == 1;
#else
  (void)max_block_bytes;
  return false;
#endif
}

}  // namespace sanawm::cpu

// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/parallel.hpp — parallel_for(cpu_t, ...) and friends on the thread pool, with deterministic
// static partitioning: part p of P always gets the same contiguous index range.
#pragma once

#include <algorithm>  // std::min
#include <vector>     // std::vector (parallel_reduce partials)

#include "sanawm/backend/cpu/thread_pool.hpp"  // thread_pool, global_pool
#include "sanawm/backend/tags.hpp"             // cpu_t
#include "sanawm/core/concepts.hpp"            // kernel_body, kernel_body_2d
#include "sanawm/core/int.hpp"                 // index_t

namespace sanawm {

namespace cpu {

/// The contiguous range [begin, end) that part p of `parts` owns in [0, n): sizes differ by at most one,
/// larger parts first. Pure function of (n, parts, p): results never depend on scheduling.
struct range {
  index_t begin, end;
};
constexpr range static_partition(index_t n, index_t parts, index_t p) noexcept {
  const index_t q = n / parts, r = n % parts;
  const index_t begin = p * q + std::min(p, r);
  return {begin, begin + q + (p < r ? 1 : 0)};
}

namespace detail {
/// Runs fn(begin, end, part) from one out-of-line function per body type, so the serial path (one part, or a
/// nested call) and every pool part execute the same machine code. Otherwise the body is inlined into different
/// callers and compiled differently there: GCC contracts a·b + c into an FMA in one copy and not in another (it
/// contracts by default at -O2), and a result then depends on the thread count by an ulp (seen: the generator's
/// 1- and 2-thread videos differed in a few pixels). Kernels that run a body directly on the caller for small
/// problems call it through here too.
template <class F>
SANAWM_NOIPA void run_range(F& fn, index_t begin, index_t end, int part) {
  fn(begin, end, part);
}
}  // namespace detail

/// Calls fn(begin, end, part) for each part's range of [0, n) on `pool`; empty ranges are skipped.
/// `min_per_part` limits splitting of small loops (fewer parts, less wake-up overhead).
template <class F>
void parallel_ranges(thread_pool& pool, index_t n, F&& fn, index_t min_per_part = 1) {
  if (n <= 0) return;
  const index_t by_work = min_per_part > 1 ? (n + min_per_part - 1) / min_per_part : n;
  const index_t parts = std::min<index_t>(pool.size(), by_work);
  if (parts <= 1 || thread_pool::in_parallel_region()) {
    detail::run_range(fn, index_t{0}, n, 0);
    return;
  }
  pool.run([&](int p) {
    if (p >= parts) return;
    const range r = static_partition(n, parts, p);
    if (r.begin < r.end) detail::run_range(fn, r.begin, r.end, p);
  });
}

template <class F>
void parallel_ranges(index_t n, F&& fn, index_t min_per_part = 1) {
  parallel_ranges(global_pool(), n, static_cast<F&&>(fn), min_per_part);
}

}  // namespace cpu

/// CPU work is complete when parallel_for returns; this exists so backend-generic code can call
/// synchronize(be) for either backend (the CUDA overload waits for the stream).
inline void synchronize(cpu_t) noexcept {}

/// Runs body(i) for every i in [0, n) on the global thread pool.
template <kernel_body B>
void parallel_for(cpu_t, index_t n, const B& body) {
  cpu::parallel_ranges(n, [&body](index_t b, index_t e, int) {
    for (index_t i = b; i < e; ++i) body(i);
  });
}

/// Runs body(i, j) for every i in [0, n0), j in [0, n1); the flattened index space is partitioned.
template <kernel_body_2d B>
void parallel_for_2d(cpu_t, index_t n0, index_t n1, const B& body) {
  if (n0 <= 0 || n1 <= 0) return;
  cpu::parallel_ranges(n0 * n1, [&body, n1](index_t b, index_t e, int) {
    index_t i = b / n1, j = b % n1;
    for (index_t k = b; k < e; ++k) {
      body(i, j);
      if (++j == n1) j = 0, ++i;
    }
  });
}

/// Deterministic reduction: each part folds its own range left to right starting from `init`, then the
/// partials are combined in part order. For a fixed thread count the result is bit-identical run to run.
template <class T, class Map, class Combine>
T parallel_reduce(cpu_t, index_t n, T init, const Map& map, const Combine& combine) {
  auto& pool = cpu::global_pool();
  std::vector<T> partial(static_cast<std::size_t>(pool.size()), init);
  std::vector<char> used(partial.size(), 0);
  cpu::parallel_ranges(pool, n, [&](index_t b, index_t e, int p) {
    T acc = init;
    for (index_t i = b; i < e; ++i) acc = combine(acc, map(i));
    partial[static_cast<std::size_t>(p)] = acc;
    used[static_cast<std::size_t>(p)] = 1;
  });
  T out = init;
  for (std::size_t p = 0; p < partial.size(); ++p)
    if (used[p]) out = combine(out, partial[p]);
  return out;
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/memory_stats.hpp — the process's peak resident set size, for the generator's progress report,
// its JSON sidecar and the benchmarks' memory figures (one definition instead of one per program).
#pragma once

#include <cstdint>  // std::int64_t

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>  // getrusage
#endif

namespace sanawm::cpu {

/// Peak resident set size of this process in bytes (getrusage's ru_maxrss: KiB on Linux, bytes on macOS), 0 where
/// the platform does not report it.
inline std::int64_t peak_rss_bytes() noexcept {
#if defined(__unix__) || defined(__APPLE__)
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
#if defined(__APPLE__)
  return static_cast<std::int64_t>(u.ru_maxrss);
#else
  return static_cast<std::int64_t>(u.ru_maxrss) * 1024;
#endif
#else
  return 0;
#endif
}

/// peak_rss_bytes() in MiB / GiB.
inline double peak_rss_mib() noexcept { return static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0); }
inline double peak_rss_gib() noexcept { return static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0 * 1024.0); }

}  // namespace sanawm::cpu

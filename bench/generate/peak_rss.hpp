// SPDX-License-Identifier: Apache-2.0
// bench/generate/peak_rss.hpp — peak resident set size of this process (VmHWM), for the plain benchmark programs.
#pragma once

#include <fstream>
#include <string>

namespace sanawm_bench {

/// VmHWM in GiB, 0 when /proc is unavailable.
inline double peak_rss_gib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / (1024.0 * 1024.0);
  return 0;
}

}  // namespace sanawm_bench

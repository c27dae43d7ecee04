// SPDX-License-Identifier: Apache-2.0
// examples/generate/progress.hpp — sanawm-generate's progress report: a bar with ETA, per-step time and peak
// memory on a terminal, one plain line per step otherwise (logs, CI).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "sanawm/backend/cpu/memory_stats.hpp"  // peak_rss_mib

namespace generate_cli {

using sanawm::cpu::peak_rss_mib;

inline std::string format_seconds(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

class progress {
 public:
  explicit progress(bool enabled) : enabled_(enabled), tty_(isatty(fileno(stderr)) != 0) {}

  void step(long step, long total, long chunk, long chunks, double seconds) {
    if (!enabled_) return;
    elapsed_ += seconds;
    const long done = step + 1;
    const double eta = done > 0 ? elapsed_ / double(done) * double(total - done) : 0;
    char chunk_txt[48] = "";
    if (chunks > 1) std::snprintf(chunk_txt, sizeof chunk_txt, " chunk %ld/%ld", chunk + 1, chunks);
    if (tty_) {
      constexpr int width = 28;
      const int filled = int(double(width) * double(done) / double(std::max(total, 1L)));
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(width, '.');
      std::fprintf(stderr, "\r  [%s] %ld/%ld%s  %.2fs/step  ETA %s  peak %.0f MiB   ", bar.c_str(), done, total,
                   chunk_txt, seconds, format_seconds(eta).c_str(), peak_rss_mib());
      if (done == total) std::fputc('\n', stderr);
    } else {
      std::fprintf(stderr, "step %ld/%ld%s: %.3f s, ETA %s, peak %.0f MiB\n", done, total, chunk_txt, seconds,
                   format_seconds(eta).c_str(), peak_rss_mib());
    }
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  double elapsed_ = 0;
};

}  // namespace generate_cli

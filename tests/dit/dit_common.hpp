// SPDX-License-Identifier: Apache-2.0
// tests/dit/dit_common.hpp — golden-file helpers shared by the DiT tests (inputs, comparisons).
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sanawm/io/safetensors.hpp"
#include "sanawm/model/dit/dit.hpp"

namespace sanawm::test {

/// The golden data: $SANAWM_GOLDEN_DIR when set (a GPU machine running packed binaries, scripts/gpu_pack.sh), else
/// the directory configured at build time.
inline std::filesystem::path golden_dir() {
  if (const char* e = std::getenv("SANAWM_GOLDEN_DIR"); e && *e) return e;
  return SANAWM_GOLDEN_DIR;
}
inline bool have_golden() {
  return !golden_dir().empty() && std::filesystem::exists(golden_dir() / "dit_tiny_a.weights.safetensors");
}
#define SANAWM_REQUIRE_GOLDEN()                                                                             \
  do {                                                                                                      \
    if (!::sanawm::test::have_golden())                                                                     \
      GTEST_SKIP() << "golden data not available (SANAWM_GOLDEN_DIR='" << ::sanawm::test::golden_dir() << "')"; \
  } while (0)

/// dit_inputs from a golden io file (x, timestep, y, mask, camera_conditions, chunk_plucker).
inline dit::dit_inputs inputs_from(const io::safetensors_file& f, const std::string& x_name = "x") {
  dit::dit_inputs in;
  const auto& xs = f.at(x_name).shape;  // [B, C, T, H, W]
  in.B = xs[0], in.T = xs[2], in.Hl = xs[3], in.Wl = xs[4];
  in.L = f.at("y").shape[2];
  in.x = f.read_as<float>(x_name);
  in.timestep = f.read_as<float>("timestep");
  in.y = f.read_as<float>("y");
  in.mask = f.read_as<std::int64_t>("mask");
  in.camera_conditions = f.read_as<float>("camera_conditions");
  in.chunk_plucker = f.read_as<float>("chunk_plucker");
  return in;
}

using dit::slice_frames;

/// Largest |a − full[frames f..f+n)| where a is [B, C, n, S] and full is [B, C, T, S].
inline double max_diff_frames(const std::vector<float>& a, const std::vector<float>& full, index_t BC, index_t T,
                              index_t f, index_t n, index_t S) {
  double worst = 0;
  for (index_t bc = 0; bc < BC; ++bc)
    for (index_t i = 0; i < n * S; ++i)
      worst = std::max(worst, double(std::abs(a[static_cast<std::size_t>(bc * n * S + i)] -
                                              full[static_cast<std::size_t>((bc * T + f) * S + i)])));
  return worst;
}

struct err_stats {
  double max_abs = 0, max_ref = 0;
  double rel() const { return max_ref > 0 ? max_abs / max_ref : max_abs; }
};
inline err_stats compare(const std::vector<float>& a, const std::vector<double>& ref) {
  err_stats e;
  EXPECT_EQ(a.size(), ref.size());
  for (std::size_t i = 0; i < a.size() && i < ref.size(); ++i) {
    const double d = std::abs(double(a[i]) - ref[i]);
    e.max_abs = std::isfinite(d) ? std::max(e.max_abs, d) : INFINITY;
    e.max_ref = std::max(e.max_ref, std::abs(ref[i]));
  }
  return e;
}

}  // namespace sanawm::test

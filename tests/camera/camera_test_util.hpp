// SPDX-License-Identifier: Apache-2.0
// tests/camera/camera_test_util.hpp — random rigid poses and intrinsics, and a reader for the numeric blocks
// of
// ../shared/golden/camera_a.txt (numpy's float32 repr round-trips, so the text holds the exact float32
// values).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sanawm/model/camera/pose.hpp"

namespace sanawm::test {

/// A uniformly random rotation (from a normalised Gaussian quaternion).
inline mat3 random_rotation(std::mt19937_64& gen) {
  std::normal_distribution<double> n(0, 1);
  quat q{n(gen), n(gen), n(gen), n(gen)};
  const double s = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
  return to_mat3({q.w / s, q.x / s, q.y / s, q.z / s});
}

/// A random rigid pose with translation in [−scale, scale]³.
inline mat4 random_pose(std::mt19937_64& gen, double scale = 2.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  return make_pose(random_rotation(gen), u(gen), u(gen), u(gen));
}

/// All numbers in `text` (numpy array repr: brackets, commas, exponents).
inline std::vector<double> numbers_in(const std::string& text) {
  std::vector<double> out;
  const char* p = text.c_str();
  while (*p) {
    const char c = *p;
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
      char* end = nullptr;
      const double v = std::strtod(p, &end);
      if (end != p) {
        out.push_back(v);
        p = end;
        continue;
      }
    }
    ++p;
  }
  return out;
}

/// The contents of a golden file, or "" when absent.
inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Blocks "<label> k:" … up to the next label or the next "##" header, inside the section starting at
/// `header`. Returns the numbers of each block in order.
inline std::vector<std::vector<double>> golden_blocks(const std::string& text, const std::string& header,
                                                      const std::string& label) {
  std::vector<std::vector<double>> out;
  std::size_t pos = text.find(header);
  if (pos == std::string::npos) return out;
  pos = text.find('\n', pos);
  const std::size_t section_end = text.find("\n##", pos);
  const std::string sec =
      text.substr(pos, section_end == std::string::npos ? std::string::npos : section_end - pos);
  std::size_t at = 0;
  while (true) {
    const std::size_t l = sec.find("\n" + label + " ", at);
    if (l == std::string::npos) break;
    const std::size_t colon = sec.find(':', l);
    const std::size_t next = sec.find("\n" + label + " ", colon);
    out.push_back(
        numbers_in(sec.substr(colon + 1, next == std::string::npos ? std::string::npos : next - colon - 1)));
    at = colon;
  }
  return out;
}

/// Path of a golden file, or "" when the golden directory is not configured.
inline std::string golden_path(const std::string& name) {
  const std::string dir = SANAWM_GOLDEN_DIR;
  return dir.empty() ? std::string() : dir + "/" + name;
}

}  // namespace sanawm::test

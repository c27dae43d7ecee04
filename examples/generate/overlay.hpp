// SPDX-License-Identifier: Apache-2.0
// examples/generate/overlay.hpp — the optional on-video overlay of sanawm-generate: the held keys of an action
// string as a small key cluster (W/A/S/D and I/J/K/L, lit when pressed) and a top-down minimap of the camera path
// with the current position. Drawn with plain rectangles (no font), so it costs nothing and needs no assets.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "sanawm/io/image.hpp"
#include "sanawm/model/camera/action.hpp"
#include "sanawm/model/camera/trajectory.hpp"

namespace generate_cli {

class overlay {
 public:
  /// `keys_per_pose`: held keys for pose i of the trajectory (empty when the camera did not come from an action
  /// string); `path`: the trajectory the video follows.
  overlay(std::vector<std::uint8_t> keys_per_pose, const sanawm::trajectory& path) : keys_(std::move(keys_per_pose)) {
    for (const auto& p : path.c2w) xz_.push_back({p.t(0), p.t(2)});
    for (const auto& q : xz_) {
      lo_[0] = std::min(lo_[0], q[0]), hi_[0] = std::max(hi_[0], q[0]);
      lo_[1] = std::min(lo_[1], q[1]), hi_[1] = std::max(hi_[1], q[1]);
    }
  }

  /// Keys held at each DSL frame: pose i of the (N + 1)-pose rollout follows action frame i − 1.
  static std::vector<std::uint8_t> keys_of_actions(const std::vector<sanawm::action_segment>& segs) {
    std::vector<std::uint8_t> k{0};
    for (const auto& s : segs) k.insert(k.end(), static_cast<std::size_t>(s.frames), s.keys);
    return k;
  }

  void draw(sanawm::io::image_u8& img, sanawm::index_t frame, sanawm::index_t frames) const {
    const double at = frames > 1 ? double(frame) / double(frames - 1) : 0;
    const int unit = std::max(4, int(std::min(img.width, img.height) / 24));
    if (!keys_.empty()) {
      const auto k = keys_[static_cast<std::size_t>(std::lround(at * double(keys_.size() - 1)))];
      // Two clusters: movement (W A S D + J L strafe as the outer pair) and look (I K).
      const int x0 = unit, y0 = int(img.height) - 3 * unit - unit / 2;
      key(img, x0 + 2 * unit, y0, unit, k & sanawm::key_forward);
      key(img, x0 + unit, y0 + unit + 2, unit, k & sanawm::key_yaw_left);
      key(img, x0 + 2 * unit, y0 + unit + 2, unit, k & sanawm::key_back);
      key(img, x0 + 3 * unit, y0 + unit + 2, unit, k & sanawm::key_yaw_right);
      key(img, x0, y0 + unit + 2, unit, k & sanawm::key_strafe_left);
      key(img, x0 + 4 * unit, y0 + unit + 2, unit, k & sanawm::key_strafe_right);
      key(img, x0 + 6 * unit, y0, unit, k & sanawm::key_pitch_up);
      key(img, x0 + 6 * unit, y0 + unit + 2, unit, k & sanawm::key_pitch_down);
    }
    if (xz_.size() > 1) {
      const int size = 4 * unit, mx = int(img.width) - size - unit, my = unit;
      rect(img, mx, my, size, size, 24, 24, 24, 160);
      const double span = std::max({hi_[0] - lo_[0], hi_[1] - lo_[1], 1e-6});
      auto px = [&](const std::array<double, 2>& q, int& x, int& y) {
        x = mx + int((q[0] - lo_[0]) / span * (size - 4)) + 2;
        y = my + size - 3 - int((q[1] - lo_[1]) / span * (size - 4));  // +z (forward) points up
      };
      for (const auto& q : xz_) {
        int x, y;
        px(q, x, y);
        rect(img, x, y, 1, 1, 200, 200, 200, 255);
      }
      int x, y;
      px(xz_[static_cast<std::size_t>(std::lround(at * double(xz_.size() - 1)))], x, y);
      rect(img, x - 2, y - 2, 5, 5, 255, 64, 32, 255);
    }
  }

 private:
  static void rect(sanawm::io::image_u8& img, int x0, int y0, int w, int h, int r, int g, int b, int alpha) {
    for (int y = std::max(0, y0); y < std::min<int>(int(img.height), y0 + h); ++y)
      for (int x = std::max(0, x0); x < std::min<int>(int(img.width), x0 + w); ++x) {
        const int rgb[3] = {r, g, b};
        for (int c = 0; c < 3; ++c) {
          auto& p = img.at(y, x, c);
          p = static_cast<std::uint8_t>((rgb[c] * alpha + p * (255 - alpha)) / 255);
        }
      }
  }
  static void key(sanawm::io::image_u8& img, int x, int y, int unit, bool pressed) {
    rect(img, x, y, unit - 2, unit - 2, pressed ? 255 : 40, pressed ? 210 : 40, pressed ? 0 : 40, 200);
  }

  std::vector<std::uint8_t> keys_;
  std::vector<std::array<double, 2>> xz_;
  std::array<double, 2> lo_{1e300, 1e300}, hi_{-1e300, -1e300};
};

}  // namespace generate_cli

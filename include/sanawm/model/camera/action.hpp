// SPDX-License-Identifier: Apache-2.0
// sanawm/model/camera/action.hpp — SANA-WM's action DSL ("w-30,dl-20,none-10"): parser with clear errors and
// the upstream rollout (velocity targets, snap-on-press / exponential smoothing, yaw about world y, clamped
// pitch, translation on the horizontal plane) to an (N+1)-pose c2w trajectory.
#pragma once

#include <algorithm>    // std::clamp
#include <cmath>        // std::exp, std::sqrt, std::fabs, std::isfinite
#include <cstdint>      // std::uint8_t
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "sanawm/core/error.hpp"               // make_error
#include "sanawm/core/int.hpp"                 // index_t
#include "sanawm/model/camera/pose.hpp"        // mat4, rot_x, rot_y
#include "sanawm/model/camera/trajectory.hpp"  // trajectory

namespace sanawm {

/// Controls held in one DSL frame, as bits. Letters (current upstream mapping): w/s forward/back, a/d yaw
/// left/right, i/k pitch up/down, j/l strafe left/right. (SANA-WM's first release had a/d and j/l swapped.)
enum action_key : std::uint8_t {
  key_forward = 1u << 0,       ///< w
  key_back = 1u << 1,          ///< s
  key_yaw_left = 1u << 2,      ///< a
  key_yaw_right = 1u << 3,     ///< d
  key_pitch_up = 1u << 4,      ///< i
  key_pitch_down = 1u << 5,    ///< k
  key_strafe_left = 1u << 6,   ///< j
  key_strafe_right = 1u << 7,  ///< l
};

/// The key bit of a lower-case DSL letter, or 0 when the letter is not a key.
inline constexpr std::uint8_t action_key_of(char c) noexcept {
  switch (c) {
    case 'w':
      return key_forward;
    case 's':
      return key_back;
    case 'a':
      return key_yaw_left;
    case 'd':
      return key_yaw_right;
    case 'i':
      return key_pitch_up;
    case 'k':
      return key_pitch_down;
    case 'j':
      return key_strafe_left;
    case 'l':
      return key_strafe_right;
    default:
      return 0;
  }
}

/// One `<keys>-<frames>` segment: the held keys (bits of action_key; 0 = "none") for `frames` frames.
struct action_segment {
  std::uint8_t keys = 0;
  index_t frames = 0;
};

/// Longest rollout the parser accepts (about 17 hours at 16 fps): bounds memory for hostile input.
inline constexpr index_t max_action_frames = 1'000'000;

/// Parses an action string into segments, like upstream: whitespace is ignored, "，" counts as ",", letters
/// are case-insensitive, "none" (or an empty key list) holds nothing, durations are positive decimal
/// integers. Throws sanawm::error("[action_dsl] ...") on an empty string, an empty segment, a missing '-', a
/// zero, negative or non-numeric frame count, an unknown key, or more than max_action_frames frames in total.
inline std::vector<action_segment> parse_action_string(std::string_view text) {
  constexpr std::string_view op = "action_dsl";
  // Drop whitespace (ASCII, NBSP U+00A0, ideographic space U+3000); fold the full-width comma U+FF0C to ','.
  std::string s;
  s.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') continue;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      ++i;
      continue;
    }
    if (c == 0xE3 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        static_cast<unsigned char>(text[i + 2]) == 0x80) {
      i += 2;
      continue;
    }
    if (c == 0xEF && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xBC &&
        static_cast<unsigned char>(text[i + 2]) == 0x8C) {
      s.push_back(',');
      i += 2;
      continue;
    }
    s.push_back(static_cast<char>(c));
  }
  if (s.empty())
    throw make_error(op, "action string is empty; expected '<keys>-<frames>' segments such as 'w-30,a-10'");

  std::vector<action_segment> out;
  index_t total = 0;
  std::size_t begin = 0, index = 0;
  while (true) {
    const std::size_t end = s.find(',', begin);
    const std::string_view seg =
        std::string_view(s).substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (seg.empty())
      throw make_error(op, "segment ", index, " is empty (a stray comma?) in '", detail::printable(s), "'");
    const std::size_t dash = seg.rfind('-');
    if (dash == std::string_view::npos)
      throw make_error(op, "segment '", detail::printable(seg),
                       "' has no '-'; expected '<keys>-<frames>', e.g. 'w-30'");
    const std::string_view keys = seg.substr(0, dash), dur = seg.substr(dash + 1);
    if (!keys.empty() && keys.back() == '-')
      throw make_error(op, "segment '", detail::printable(seg),
                       "' has a negative frame count; frame counts are positive");
    if (dur.empty())
      throw make_error(op, "segment '", detail::printable(seg), "' has no frame count after '-'");
    index_t n = 0;
    for (char c : dur) {
      if (c < '0' || c > '9')
        throw make_error(op, "segment '", detail::printable(seg), "' has a non-numeric frame count '",
                         detail::printable(dur), "'");
      n = n * 10 + (c - '0');
      if (n > max_action_frames)
        throw make_error(op, "segment '", detail::printable(seg), "' asks for more than ", max_action_frames,
                         " frames");
    }
    if (n == 0)
      throw make_error(op, "segment '", detail::printable(seg),
                       "' has a zero frame count; frame counts are positive");
    std::string lower(keys);
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    std::uint8_t bits = 0;
    if (lower != "none") {
      for (char c : lower) {
        const std::uint8_t k = action_key_of(c);
        if (k == 0)
          throw make_error(op, "segment '", detail::printable(seg), "' has unknown key '",
                           detail::printable(std::string_view(&c, 1)),
                           "'; keys are w/s (move), a/d (yaw), i/k (pitch), j/l (strafe) or 'none'");
        bits = static_cast<std::uint8_t>(bits | k);
      }
    }
    total += n;
    if (total > max_action_frames)
      throw make_error(op, "action string asks for more than ", max_action_frames, " frames in total");
    out.push_back({bits, n});
    if (end == std::string::npos) break;
    begin = end + 1;
    ++index;
  }
  return out;
}

/// Rollout parameters; the defaults are upstream's (current release).
struct action_options {
  double translation_speed = 0.025;  ///< world units per frame at full speed
  double rotation_speed_deg = 0.6;   ///< degrees per frame at full speed (yaw and pitch)
  double pitch_limit_deg = 60.0;     ///< |pitch| never exceeds this (yaw is unlimited)
  bool smooth = true;                ///< velocity smoothing; false = constant velocity per key set
  double fps = 16.0;                 ///< smoothing time step dt = 1/fps
  double tau_press_s = 0.45;         ///< time constant toward a non-zero target
  double tau_coast_s = 1.0;          ///< time constant toward zero (keys released)
};

/// Rolls the DSL out to N + 1 camera-to-world poses (N = total frames), starting at the identity, as
/// upstream: per frame the held keys give a target velocity (forward, strafe, yaw, pitch); with smoothing a
/// newly pressed key snaps the velocity to the target, otherwise each component eases toward it with 1 −
/// exp(−dt/τ) (τ_press for a non-zero target, τ_coast for zero). Then pitch is clamped, R ←
/// rot_y(yaw)·R·rot_x(Δpitch), and the camera moves along its forward/right axes projected on the horizontal
/// plane (y zeroed, divided by norm + 1e-6).
inline std::vector<mat4> action_to_c2w(const std::vector<action_segment>& segments,
                                       const action_options& o = {}) {
  constexpr std::string_view op = "action_dsl";
  if (!(o.fps > 0) || !(o.tau_press_s > 0) || !(o.tau_coast_s > 0))
    throw make_error(op, "fps and smoothing time constants must be positive (fps=", o.fps,
                     ", tau_press=", o.tau_press_s, ", tau_coast=", o.tau_coast_s, ")");
  if (!std::isfinite(o.translation_speed) || !std::isfinite(o.rotation_speed_deg) ||
      !(o.pitch_limit_deg >= 0))
    throw make_error(op, "speeds must be finite and the pitch limit non-negative");
  const double rot = deg_to_rad(o.rotation_speed_deg), limit = deg_to_rad(o.pitch_limit_deg),
               dt = 1.0 / o.fps;
  struct velocity {
    double fwd = 0, strafe = 0, yaw = 0, pitch = 0;
  } vel, target;
  mat3 R;
  double T[3] = {0, 0, 0}, pitch = 0;
  std::uint8_t last = 0;
  std::vector<mat4> poses;
  index_t total = 0;
  for (const action_segment& s : segments) total += s.frames;
  poses.reserve(static_cast<std::size_t>(total + 1));
  poses.push_back(mat4::identity());
  auto held = [](std::uint8_t k, std::uint8_t bit) { return (k & bit) ? 1.0 : 0.0; };
  for (const action_segment& s : segments) {
    if (s.frames < 0) throw make_error(op, "negative frame count ", s.frames);
    target.fwd = (held(s.keys, key_forward) - held(s.keys, key_back)) * o.translation_speed;
    target.strafe = (held(s.keys, key_strafe_right) - held(s.keys, key_strafe_left)) * o.translation_speed;
    target.yaw = (held(s.keys, key_yaw_right) - held(s.keys, key_yaw_left)) * rot;
    target.pitch = (held(s.keys, key_pitch_up) - held(s.keys, key_pitch_down)) * rot;
    for (index_t f = 0; f < s.frames; ++f) {
      if (!o.smooth) {
        vel = target;
      } else if (s.keys & ~last) {
        vel = target;  // a fresh press takes effect at once
      } else {
        auto ease = [&](double& v, double tgt) {
          const double tau = std::fabs(tgt) > 1e-12 ? o.tau_press_s : o.tau_coast_s;
          v += (1.0 - std::exp(-dt / tau)) * (tgt - v);
        };
        ease(vel.fwd, target.fwd), ease(vel.strafe, target.strafe), ease(vel.yaw, target.yaw);
        ease(vel.pitch, target.pitch);
      }
      last = s.keys;
      const double new_pitch = std::clamp(pitch + vel.pitch, -limit, limit);
      const double dpitch = new_pitch - pitch;
      pitch = new_pitch;
      R = rot_y(vel.yaw) * R * rot_x(dpitch);
      double fwd[3] = {R(0, 2), 0.0, R(2, 2)}, rgt[3] = {R(0, 0), 0.0, R(2, 0)};
      const double fn = std::sqrt(fwd[0] * fwd[0] + fwd[2] * fwd[2]),
                   rn = std::sqrt(rgt[0] * rgt[0] + rgt[2] * rgt[2]);
      if (fn > 0) fwd[0] /= fn + 1e-6, fwd[2] /= fn + 1e-6;
      if (rn > 0) rgt[0] /= rn + 1e-6, rgt[2] /= rn + 1e-6;
      for (int i = 0; i < 3; ++i) T[i] += fwd[i] * vel.fwd + rgt[i] * vel.strafe;
      poses.push_back(make_pose(R, T[0], T[1], T[2]));
    }
  }
  return poses;
}

/// parse_action_string + action_to_c2w.
inline std::vector<mat4> action_to_c2w(std::string_view text, const action_options& o = {}) {
  return action_to_c2w(parse_action_string(text), o);
}

/// The DSL rollout as a trajectory (no intrinsics; fps = o.fps).
inline trajectory action_trajectory(std::string_view text, const action_options& o = {}) {
  trajectory tr;
  tr.c2w = action_to_c2w(text, o);
  tr.fps = o.fps;
  return tr;
}

}  // namespace sanawm

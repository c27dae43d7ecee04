// SPDX-License-Identifier: Apache-2.0
// sanawm/model/camera/presets.hpp — named camera moves (static, dolly, pan, tilt, truck, crane, orbit) as c2w
// trajectories starting at the identity, with per-frame speed parameters.
#pragma once

#include <array>        // std::array
#include <cmath>        // std::isnan, std::isfinite, std::sin, std::cos
#include <limits>       // std::numeric_limits
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "sanawm/core/error.hpp"               // make_error
#include "sanawm/core/int.hpp"                 // index_t
#include "sanawm/model/camera/pose.hpp"        // mat4, rot_x, rot_y, make_pose
#include "sanawm/model/camera/trajectory.hpp"  // trajectory

namespace sanawm {

/// Named camera moves. OpenCV axes: +x right, +y down (world up is −y), +z forward.
enum class camera_preset {
  static_camera,  ///< no motion
  dolly_in,       ///< move forward (+z)
  dolly_out,      ///< move backward (−z)
  pan_left,       ///< turn left in place (yaw about world y)
  pan_right,      ///< turn right in place
  tilt_up,        ///< look up in place (pitch about the camera x axis)
  tilt_down,      ///< look down in place
  truck_left,     ///< slide left (−x)
  truck_right,    ///< slide right (+x)
  crane_up,       ///< rise (−y, world up)
  crane_down,     ///< sink (+y)
  orbit_left,     ///< circle the point `radius` ahead, moving to the camera's left while keeping it centred
  orbit_right,    ///< the same circle the other way
};

inline constexpr std::array<std::string_view, 13> camera_preset_names = {
    "static",     "dolly_in",    "dolly_out", "pan_left",   "pan_right",  "tilt_up",    "tilt_down",
    "truck_left", "truck_right", "crane_up",  "crane_down", "orbit_left", "orbit_right"};

inline std::string_view preset_name(camera_preset p) noexcept {
  return camera_preset_names[static_cast<std::size_t>(p)];
}

/// Parses a preset name: case-insensitive, '-' or ' ' allowed for '_'; "orbit" means orbit_left.
inline camera_preset parse_camera_preset(std::string_view name) {
  std::string n(name);
  for (char& c : n) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-' || c == ' ') c = '_';
  }
  if (n == "orbit") return camera_preset::orbit_left;
  for (std::size_t i = 0; i < camera_preset_names.size(); ++i)
    if (n == camera_preset_names[i]) return static_cast<camera_preset>(i);
  std::string list;
  for (std::string_view s : camera_preset_names) list += str_cat(list.empty() ? "" : ", ", s);
  throw make_error("camera_preset", "unknown preset '", detail::printable(name), "'; known presets: ", list,
                   ", orbit");
}

/// Parameters of a preset. `speed` is world units per frame for dolly/truck/crane and degrees per frame for
/// pan/tilt/orbit; NaN picks the DSL's defaults (0.025 units, 0.6°).
struct preset_options {
  index_t frames = 81;  ///< poses in the trajectory (the first is the identity)
  double speed = std::numeric_limits<double>::quiet_NaN();  ///< per-frame step (see above)
  double radius = 2.0;                                      ///< orbit: distance to the orbited point
};

/// Whether a preset's speed is an angle (degrees per frame) rather than a distance.
inline constexpr bool preset_speed_is_angle(camera_preset p) noexcept {
  return p == camera_preset::pan_left || p == camera_preset::pan_right || p == camera_preset::tilt_up ||
         p == camera_preset::tilt_down || p == camera_preset::orbit_left || p == camera_preset::orbit_right;
}

/// The preset as `o.frames` c2w poses; pose i has moved i steps (constant speed, no easing).
inline std::vector<mat4> preset_c2w(camera_preset p, const preset_options& o = {}) {
  constexpr std::string_view op = "camera_preset";
  if (o.frames < 1) throw make_error(op, preset_name(p), ": frame count must be at least 1, got ", o.frames);
  if (o.frames > 1'000'000) throw make_error(op, preset_name(p), ": frame count ", o.frames, " is too large");
  const bool angular = preset_speed_is_angle(p);
  const double speed = std::isnan(o.speed) ? (angular ? 0.6 : 0.025) : o.speed;
  if (!std::isfinite(speed)) throw make_error(op, preset_name(p), ": speed must be finite, got ", speed);
  if ((p == camera_preset::orbit_left || p == camera_preset::orbit_right) &&
      !(o.radius > 0 && std::isfinite(o.radius)))
    throw make_error(op, preset_name(p), ": orbit radius must be positive, got ", o.radius);
  std::vector<mat4> out;
  out.reserve(static_cast<std::size_t>(o.frames));
  for (index_t i = 0; i < o.frames; ++i) {
    const double s = speed * static_cast<double>(i), a = deg_to_rad(s);
    switch (p) {
      case camera_preset::static_camera:
        out.push_back(mat4::identity());
        break;
      case camera_preset::dolly_in:
        out.push_back(make_pose(mat3{}, 0, 0, s));
        break;
      case camera_preset::dolly_out:
        out.push_back(make_pose(mat3{}, 0, 0, -s));
        break;
      case camera_preset::pan_left:
        out.push_back(make_pose(rot_y(-a), 0, 0, 0));
        break;
      case camera_preset::pan_right:
        out.push_back(make_pose(rot_y(a), 0, 0, 0));
        break;
      case camera_preset::tilt_up:
        out.push_back(make_pose(rot_x(a), 0, 0, 0));
        break;
      case camera_preset::tilt_down:
        out.push_back(make_pose(rot_x(-a), 0, 0, 0));
        break;
      case camera_preset::truck_left:
        out.push_back(make_pose(mat3{}, -s, 0, 0));
        break;
      case camera_preset::truck_right:
        out.push_back(make_pose(mat3{}, s, 0, 0));
        break;
      case camera_preset::crane_up:
        out.push_back(make_pose(mat3{}, 0, -s, 0));
        break;
      case camera_preset::crane_down:
        out.push_back(make_pose(mat3{}, 0, s, 0));
        break;
      case camera_preset::orbit_left:
      case camera_preset::orbit_right: {
        // Rotate the camera about the vertical axis through the target (0, 0, r): R = rot_y(φ),
        // centre = target + R·(0, 0, −r). Moving left means turning right (φ > 0) to keep the target centred.
        const double phi = p == camera_preset::orbit_left ? a : -a, r = o.radius;
        out.push_back(make_pose(rot_y(phi), -r * std::sin(phi), 0, r - r * std::cos(phi)));
        break;
      }
    }
  }
  return out;
}

/// The preset as a trajectory (no intrinsics, 16 fps).
inline trajectory preset_trajectory(camera_preset p, const preset_options& o = {}) {
  trajectory tr;
  tr.c2w = preset_c2w(p, o);
  return tr;
}

}  // namespace sanawm

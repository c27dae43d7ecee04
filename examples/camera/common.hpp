// SPDX-License-Identifier: Apache-2.0
// examples/camera/common.hpp — shared by the camera examples: building a trajectory from --action / --preset
// /
// --load arguments, and per-frame heading angles for printing and plotting.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sanawm/io/trajectory.hpp"
#include "sanawm/model/camera/action.hpp"
#include "sanawm/model/camera/presets.hpp"

namespace camera_example {

/// Where a trajectory comes from and how to build it.
struct source {
  enum class kind { none, action, preset, file } what = kind::none;
  std::string text;                            ///< DSL string, preset name or path
  std::optional<std::string> intrinsics_path;  ///< --intrinsics for .npy files
  sanawm::action_options action;
  sanawm::preset_options preset;
};

inline double parse_number(std::string_view flag, const char* value) {
  char* end = nullptr;
  const double v = std::strtod(value, &end);
  if (end == value || *end != '\0')
    throw sanawm::make_error("cli", flag, " expects a number, got '", value, "'");
  return v;
}

/// Consumes one trajectory-source flag at argv[i] (advancing i past its value); false if argv[i] is not one.
inline bool parse_source_flag(source& s, int argc, char** argv, int& i) {
  const std::string_view a = argv[i];
  auto value = [&]() -> const char* {
    if (i + 1 >= argc) throw sanawm::make_error("cli", a, " needs a value");
    return argv[++i];
  };
  if (a == "--action")
    s.what = source::kind::action, s.text = value();
  else if (a == "--preset")
    s.what = source::kind::preset, s.text = value();
  else if (a == "--load")
    s.what = source::kind::file, s.text = value();
  else if (a == "--intrinsics")
    s.intrinsics_path = value();
  else if (a == "--frames")
    s.preset.frames = static_cast<sanawm::index_t>(parse_number(a, value()));
  else if (a == "--speed")
    s.preset.speed = parse_number(a, value());
  else if (a == "--radius")
    s.preset.radius = parse_number(a, value());
  else if (a == "--translation-speed")
    s.action.translation_speed = parse_number(a, value());
  else if (a == "--rotation-speed-deg")
    s.action.rotation_speed_deg = parse_number(a, value());
  else if (a == "--pitch-limit-deg")
    s.action.pitch_limit_deg = parse_number(a, value());
  else if (a == "--no-smooth")
    s.action.smooth = false;
  else
    return false;
  return true;
}

inline sanawm::trajectory build(const source& s) {
  switch (s.what) {
    case source::kind::action:
      return sanawm::action_trajectory(s.text, s.action);
    case source::kind::preset:
      return sanawm::preset_trajectory(sanawm::parse_camera_preset(s.text), s.preset);
    case source::kind::file:
      return sanawm::io::load_trajectory(
          s.text,
          s.intrinsics_path ? std::optional<std::filesystem::path>(*s.intrinsics_path) : std::nullopt);
    case source::kind::none:
      break;
  }
  throw sanawm::make_error("cli", "give a trajectory: --action DSL, --preset NAME or --load FILE");
}

/// Heading of a c2w pose in degrees: yaw (+ = right, about world y) and pitch (+ = up) of the optical axis.
inline void heading_deg(const sanawm::mat4& p, double& yaw, double& pitch) {
  yaw = sanawm::rad_to_deg(std::atan2(p(0, 2), p(2, 2))) + 0.0;  // + 0.0 turns −0 into 0 for printing
  pitch = sanawm::rad_to_deg(std::asin(std::clamp(-p(1, 2), -1.0, 1.0))) + 0.0;
}

}  // namespace camera_example

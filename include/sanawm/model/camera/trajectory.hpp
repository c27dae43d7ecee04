// SPDX-License-Identifier: Apache-2.0
// sanawm/model/camera/trajectory.hpp — a camera trajectory (per-frame c2w poses + intrinsics), its
// validation, relativisation to the first frame, resampling to a frame count or frame rate, and the 8k+1
// frame-count snap.
#pragma once

#include <algorithm>  // std::min
#include <cmath>      // std::floor, std::isfinite
#include <cstddef>    // std::size_t
#include <string>     // std::string (messages)
#include <vector>     // std::vector

#include "sanawm/core/error.hpp"               // make_error, str_cat
#include "sanawm/core/int.hpp"                 // index_t
#include "sanawm/model/camera/intrinsics.hpp"  // intrinsics, intrinsics_units, fov_bounds
#include "sanawm/model/camera/pose.hpp"        // mat4, validate_rigid, quaternions

namespace sanawm {

namespace detail {
/// Text safe to put in an error message: printable ASCII kept, other bytes as \xNN.
inline std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f)
      out.push_back(static_cast<char>(c));
    else
      out += str_cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
  }
  return out;
}
}  // namespace detail

/// A camera trajectory: one camera-to-world pose per frame (OpenCV axes, world units as given, typically
/// metres) and the intrinsics, either one per frame, one shared by every frame, or none (to be supplied
/// later).
struct trajectory {
  std::vector<mat4> c2w;      ///< [F] camera-to-world poses
  std::vector<intrinsics> K;  ///< [F], [1] (shared) or [] (unknown)
  intrinsics_units units = intrinsics_units::pixels;
  index_t image_width = 0;  ///< size of the image the pixel intrinsics refer to (0 = unknown)
  index_t image_height = 0;
  double fps = 16.0;  ///< frame rate the poses are sampled at (SANA-WM runs at 16)

  index_t frames() const noexcept { return static_cast<index_t>(c2w.size()); }
  bool has_intrinsics() const noexcept { return !K.empty(); }
  /// Intrinsics of frame i (the shared entry when there is one). Precondition: has_intrinsics().
  const intrinsics& intrinsics_at(index_t i) const noexcept {
    return K.size() == 1 ? K[0] : K[static_cast<std::size_t>(i)];
  }
};

/// Checks applied to poses and intrinsics before a trajectory conditions the model.
struct camera_validation {
  double rotation_tolerance = 1e-3;  ///< max |RᵀR − I| and |det R − 1| (float32 files sit near 1e-7)
  bool check_fov = true;             ///< enforce `fov` on the target-image intrinsics
  fov_bounds fov{};
};

/// Throws sanawm::error naming the first bad frame: empty trajectory, a non-rigid or non-finite pose, an
/// intrinsics count that is neither 0, 1 nor F, or non-finite / non-positive focal lengths.
inline void validate_trajectory(const trajectory& tr, const camera_validation& v = {},
                                std::string_view op = "trajectory") {
  if (tr.c2w.empty()) throw make_error(op, "trajectory has no frames");
  for (std::size_t i = 0; i < tr.c2w.size(); ++i)
    validate_rigid(tr.c2w[i], v.rotation_tolerance, op, str_cat("c2w frame ", i));
  if (!tr.K.empty() && tr.K.size() != 1 && tr.K.size() != tr.c2w.size())
    throw make_error(op, "trajectory has ", tr.c2w.size(), " poses but ", tr.K.size(),
                     " intrinsics; expected 1 (shared) or one per frame");
  for (std::size_t i = 0; i < tr.K.size(); ++i) {
    const intrinsics& k = tr.K[i];
    if (!std::isfinite(k.fx) || !std::isfinite(k.fy) || !std::isfinite(k.cx) || !std::isfinite(k.cy))
      throw make_error(op, "intrinsics of frame ", i, " are not finite: fx=", k.fx, " fy=", k.fy,
                       " cx=", k.cx, " cy=", k.cy);
    if (!(k.fx > 0) || !(k.fy > 0))
      throw make_error(op, "intrinsics of frame ", i, " need positive focal lengths: fx=", k.fx,
                       " fy=", k.fy);
  }
  if (!(tr.fps > 0) || !std::isfinite(tr.fps))
    throw make_error(op, "frame rate must be positive, got ", tr.fps);
}

/// Poses relative to the first frame: inv(c2w_0)·c2w_i, with frame 0 exactly the identity (SANA-WM's input).
inline std::vector<mat4> relative_to_first(const std::vector<mat4>& c2w) {
  std::vector<mat4> out(c2w.size());
  if (c2w.empty()) return out;
  const mat4 inv0 = inverse_rigid(c2w[0]);
  out[0] = mat4::identity();
  for (std::size_t i = 1; i < c2w.size(); ++i) out[i] = inv0 * c2w[i];
  return out;
}

/// World-to-camera ↔ camera-to-world for every pose (the rigid inverse).
inline std::vector<mat4> invert_poses(const std::vector<mat4>& poses) {
  std::vector<mat4> out(poses.size());
  for (std::size_t i = 0; i < poses.size(); ++i) out[i] = inverse_rigid(poses[i]);
  return out;
}

/// The nearest valid LTX-2 clip length stride·k + 1 (ties go up, never above `upper_bound` when one is given;
/// n < 1 gives 1). Upstream's snap_num_frames: 160 → 161, 164 → 161, 165 → 169.
inline index_t snap_num_frames(index_t n, index_t stride = 8, index_t upper_bound = -1) {
  if (stride <= 0) throw make_error("snap_num_frames", "stride must be positive, got ", stride);
  if (n < 1) return 1;
  if ((n - 1) % stride == 0) return upper_bound > 0 ? std::min(n, upper_bound) : n;
  const index_t lo = n - (n - 1) % stride, hi = lo + stride;
  index_t s = (n - lo < hi - n) ? lo : hi;
  if (upper_bound > 0 && s > upper_bound) s = lo;
  return s < 1 ? 1 : s;
}

/// The trajectory sampled at fractional frame positions `at` (0 = first frame, F − 1 = last): rotations by
/// slerp, translations and intrinsics linearly; positions outside [0, F − 1] clamp to the ends.
inline trajectory sample_at(const trajectory& tr, const std::vector<double>& at) {
  if (tr.c2w.empty()) throw make_error("resample", "cannot resample an empty trajectory");
  trajectory out;
  out.units = tr.units, out.image_width = tr.image_width, out.image_height = tr.image_height,
  out.fps = tr.fps;
  const index_t f = tr.frames();
  out.c2w.reserve(at.size());
  if (tr.K.size() > 1) out.K.reserve(at.size());
  for (double s : at) {
    if (!std::isfinite(s)) throw make_error("resample", "non-finite sample position ", s);
    s = std::clamp(s, 0.0, static_cast<double>(f - 1));
    const index_t i0 = std::min<index_t>(static_cast<index_t>(std::floor(s)), f - 1),
                  i1 = std::min(i0 + 1, f - 1);
    const double a = s - static_cast<double>(i0);
    const mat4& p0 = tr.c2w[static_cast<std::size_t>(i0)];
    const mat4& p1 = tr.c2w[static_cast<std::size_t>(i1)];
    if (a == 0.0) {  // on a frame: copy it exactly (no quaternion round trip)
      out.c2w.push_back(p0);
      if (tr.K.size() > 1) out.K.push_back(tr.K[static_cast<std::size_t>(i0)]);
      continue;
    }
    const mat3 R = to_mat3(slerp(to_quat(rotation_of(p0)), to_quat(rotation_of(p1)), a));
    out.c2w.push_back(make_pose(R, (1 - a) * p0.t(0) + a * p1.t(0), (1 - a) * p0.t(1) + a * p1.t(1),
                                (1 - a) * p0.t(2) + a * p1.t(2)));
    if (tr.K.size() > 1) {
      const intrinsics& k0 = tr.K[static_cast<std::size_t>(i0)];
      const intrinsics& k1 = tr.K[static_cast<std::size_t>(i1)];
      out.K.push_back({(1 - a) * k0.fx + a * k1.fx, (1 - a) * k0.fy + a * k1.fy, (1 - a) * k0.cx + a * k1.cx,
                       (1 - a) * k0.cy + a * k1.cy});
    }
  }
  if (tr.K.size() == 1) out.K = tr.K;
  return out;
}

/// Resamples the whole trajectory to exactly `n` frames spread evenly from its first to its last pose (the
/// clip's duration changes, the path does not). n = 1 keeps the first pose. The fps is scaled so the duration
/// is kept.
inline trajectory resample(const trajectory& tr, index_t n) {
  if (n < 1) throw make_error("resample", "frame count must be at least 1, got ", n);
  if (tr.c2w.empty()) throw make_error("resample", "cannot resample an empty trajectory");
  std::vector<double> at(static_cast<std::size_t>(n));
  const double span = static_cast<double>(tr.frames() - 1);
  for (index_t k = 0; k < n; ++k)
    at[static_cast<std::size_t>(k)] = n == 1 ? 0.0 : span * k / static_cast<double>(n - 1);
  trajectory out = sample_at(tr, at);
  if (n > 1 && tr.frames() > 1) out.fps = tr.fps * static_cast<double>(n - 1) / span;
  return out;
}

/// Resamples in time from tr.fps to `fps` (same duration, (F − 1)·fps/tr.fps + 1 frames, rounded down).
inline trajectory resample_fps(const trajectory& tr, double fps) {
  if (!(fps > 0) || !std::isfinite(fps))
    throw make_error("resample_fps", "target frame rate must be positive, got ", fps);
  if (tr.c2w.empty()) throw make_error("resample_fps", "cannot resample an empty trajectory");
  const double ratio = tr.fps / fps;
  const double count = std::floor(static_cast<double>(tr.frames() - 1) / ratio + 1e-9) + 1;
  if (!(count <= 10'000'000))
    throw make_error("resample_fps", tr.frames(), " frames from ", tr.fps, " fps to ", fps,
                     " fps would give ", count, " frames");
  const index_t n = static_cast<index_t>(count);
  std::vector<double> at(static_cast<std::size_t>(n));
  for (index_t k = 0; k < n; ++k) at[static_cast<std::size_t>(k)] = static_cast<double>(k) * ratio;
  trajectory out = sample_at(tr, at);
  out.fps = fps;
  return out;
}

/// The first `n` frames; when the trajectory is shorter, the last pose (and intrinsics) is held — what a clip
/// of n frames sees when the camera stops. Throws for n < 1.
inline trajectory take_frames(const trajectory& tr, index_t n) {
  if (n < 1) throw make_error("take_frames", "frame count must be at least 1, got ", n);
  if (tr.c2w.empty()) throw make_error("take_frames", "cannot take frames of an empty trajectory");
  std::vector<double> at(static_cast<std::size_t>(n));
  for (index_t k = 0; k < n; ++k)
    at[static_cast<std::size_t>(k)] = static_cast<double>(std::min(k, tr.frames() - 1));
  return sample_at(tr, at);
}

}  // namespace sanawm

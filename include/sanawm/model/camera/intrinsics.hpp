// SPDX-License-Identifier: Apache-2.0
// sanawm/model/camera/intrinsics.hpp — pinhole intrinsics (fx, fy, cx, cy): pixel/normalised units, the
// aspect-preserving resize + centre crop to the target size, scaling to the latent grid, and FOV checks.
#pragma once

#include <algorithm>    // std::max
#include <cmath>        // std::atan, std::tan, std::isfinite, std::nearbyint
#include <string_view>  // std::string_view

#include "sanawm/core/error.hpp"         // make_error
#include "sanawm/core/int.hpp"           // index_t
#include "sanawm/model/camera/pose.hpp"  // rad_to_deg

namespace sanawm {

/// Pinhole intrinsics K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]. Units are whatever the owner says: pixels of
/// some image, normalised by its width/height (RealEstate10K), or latent-grid cells.
struct intrinsics {
  double fx = 0, fy = 0, cx = 0, cy = 0;
};

/// How a trajectory's intrinsics are expressed.
enum class intrinsics_units {
  pixels,      ///< pixels of the source image (SANA-WM's --intrinsics, SANA-WM-Bench)
  normalized,  ///< divided by the image width (fx, cx) and height (fy, cy) (RealEstate10K)
};

/// Normalised → pixel intrinsics of a width × height image.
inline intrinsics to_pixels(const intrinsics& k, index_t width, index_t height) noexcept {
  const double w = static_cast<double>(width), h = static_cast<double>(height);
  return {k.fx * w, k.fy * h, k.cx * w, k.cy * h};
}

/// Horizontal and vertical field of view in degrees of pixel intrinsics for a width × height image.
inline double fov_x_deg(const intrinsics& k, index_t width) noexcept {
  return rad_to_deg(2.0 * std::atan(static_cast<double>(width) / (2.0 * k.fx)));
}
inline double fov_y_deg(const intrinsics& k, index_t height) noexcept {
  return rad_to_deg(2.0 * std::atan(static_cast<double>(height) / (2.0 * k.fy)));
}

/// Square-pixel intrinsics with horizontal field of view `fov_x_deg` for a width × height image, principal
/// point at the centre: a default when a trajectory comes without intrinsics (upstream estimates them with
/// Pi3X instead).
inline intrinsics intrinsics_from_fov(double fov_x_deg, index_t width, index_t height) {
  if (!(fov_x_deg > 0 && fov_x_deg < 180))
    throw make_error("intrinsics", "field of view must be in (0°, 180°), got ", fov_x_deg);
  const double f = static_cast<double>(width) / (2.0 * std::tan(deg_to_rad(fov_x_deg) / 2.0));
  return {f, f, static_cast<double>(width) / 2.0, static_cast<double>(height) / 2.0};
}

/// Geometry of the aspect-preserving resize that covers the target, then the centre crop (upstream's rule):
/// scale = max(H_t/H_s, W_t/W_s), resized = max(target, round(src·scale)), offset = (resized − target)/2
/// (floor).
struct resize_crop {
  index_t resized_width = 0, resized_height = 0, left = 0, top = 0;
};

/// Python's round() is round-half-to-even; std::nearbyint in the default rounding mode is the same rule.
inline resize_crop compute_resize_crop(index_t src_width, index_t src_height, index_t dst_width,
                                       index_t dst_height) {
  constexpr index_t max_side = index_t{1} << 20;  // far above any video; keeps the rounding below in range
  if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0 || src_width > max_side ||
      src_height > max_side || dst_width > max_side || dst_height > max_side)
    throw make_error("resize_crop", "image sizes must be in [1, ", max_side, "]: source ", src_width, "x",
                     src_height, ", target ", dst_width, "x", dst_height);
  const double sw = static_cast<double>(src_width), sh = static_cast<double>(src_height);
  const double scale = std::max(static_cast<double>(dst_height) / sh, static_cast<double>(dst_width) / sw);
  resize_crop g;
  g.resized_width = std::max(dst_width, static_cast<index_t>(std::nearbyint(sw * scale)));
  g.resized_height = std::max(dst_height, static_cast<index_t>(std::nearbyint(sh * scale)));
  g.left = (g.resized_width - dst_width) / 2;
  g.top = (g.resized_height - dst_height) / 2;
  return g;
}

/// Pixel intrinsics of a src_width × src_height image → the same camera after resize + crop `g`:
/// fx·sx, fy·sy, cx·sx − left, cy·sy − top, with sx = resized_width/src_width (the rounded ratio).
inline intrinsics apply_resize_crop(const intrinsics& k, index_t src_width, index_t src_height,
                                    const resize_crop& g) noexcept {
  const double sx = static_cast<double>(g.resized_width) / static_cast<double>(src_width);
  const double sy = static_cast<double>(g.resized_height) / static_cast<double>(src_height);
  return {k.fx * sx, k.fy * sy, k.cx * sx - static_cast<double>(g.left),
          k.cy * sy - static_cast<double>(g.top)};
}

/// Pixel intrinsics of a width × height image → latent-grid units: fx, cx × Wl/W; fy, cy × Hl/H.
inline intrinsics to_latent_grid(const intrinsics& k, index_t width, index_t height, index_t latent_width,
                                 index_t latent_height) noexcept {
  const double sx = static_cast<double>(latent_width) / static_cast<double>(width);
  const double sy = static_cast<double>(latent_height) / static_cast<double>(height);
  return {k.fx * sx, k.fy * sy, k.cx * sx, k.cy * sy};
}

/// Field-of-view bounds SANA-WM accepts (it refuses estimates outside 25°–120°).
struct fov_bounds {
  double min_deg = 25.0, max_deg = 120.0;
};

/// Throws unless the pixel intrinsics `k` of a width × height image are finite, have positive focal lengths
/// and both fields of view inside `bounds` (inclusive). `what` names the frame in the message.
inline void validate_intrinsics(const intrinsics& k, index_t width, index_t height, const fov_bounds& bounds,
                                std::string_view op, std::string_view what) {
  const double v[4] = {k.fx, k.fy, k.cx, k.cy};
  for (double x : v)
    if (!std::isfinite(x))
      throw make_error(op, what, " intrinsics are not finite: fx=", k.fx, " fy=", k.fy, " cx=", k.cx,
                       " cy=", k.cy);
  if (!(k.fx > 0) || !(k.fy > 0))
    throw make_error(op, what, " focal lengths must be positive: fx=", k.fx, " fy=", k.fy);
  const double fx_deg = fov_x_deg(k, width), fy_deg = fov_y_deg(k, height);
  if (fx_deg < bounds.min_deg || fx_deg > bounds.max_deg || fy_deg < bounds.min_deg ||
      fy_deg > bounds.max_deg)
    throw make_error(op, what, " field of view ", fx_deg, "° × ", fy_deg, "° (fx=", k.fx, ", fy=", k.fy,
                     " on ", width, "x", height, ") is outside [", bounds.min_deg, "°, ", bounds.max_deg,
                     "°]; are the intrinsics normalised or for another image size?");
}

}  // namespace sanawm

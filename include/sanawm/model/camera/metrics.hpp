// SPDX-License-Identifier: Apache-2.0
// sanawm/model/camera/metrics.hpp — camera-accuracy metrics between a reference and an estimated trajectory:
// relativisation, Umeyama Sim(3)/SE(3) alignment, RotErr, TransErr and CamMC (SANA-WM App. D.3 / CamI2V).
#pragma once

#include <algorithm>    // std::max
#include <array>        // std::array
#include <cmath>        // std::sqrt, std::fabs
#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "sanawm/core/error.hpp"               // make_error
#include "sanawm/model/camera/pose.hpp"        // mat4, mat3, svd3, nearest_rotation
#include "sanawm/model/camera/trajectory.hpp"  // relative_to_first

namespace sanawm {

/// y ≈ s·R·x + t.
struct similarity3 {
  double scale = 1;
  mat3 R;
  double t[3] = {0, 0, 0};
  /// s·R·x + t.
  void apply(const double* x, double* y) const noexcept {
    for (int i = 0; i < 3; ++i) y[i] = scale * (R(i, 0) * x[0] + R(i, 1) * x[1] + R(i, 2) * x[2]) + t[i];
  }
};

/// Umeyama's least-squares similarity mapping points x_i onto y_i (minimises Σ‖y_i − (s·R·x_i + t)‖²).
/// With `with_scale` false the scale stays 1 (SE(3)). Degenerate inputs: when every x_i coincides the
/// rotation is `fallback_R` (identity by default) and the scale 1; when the x_i are collinear the rotation
/// about the line is undetermined, so `fallback_R` is used and scale/translation are refitted for it. n ≥ 1.
inline similarity3 umeyama(const std::vector<std::array<double, 3>>& x,
                           const std::vector<std::array<double, 3>>& y, bool with_scale = true,
                           const mat3& fallback_R = mat3{}) {
  if (x.size() != y.size() || x.empty())
    throw make_error("umeyama", "need equally many points, at least one; got ", x.size(), " and ", y.size());
  const double n = static_cast<double>(x.size());
  double mx[3] = {0, 0, 0}, my[3] = {0, 0, 0};
  for (std::size_t i = 0; i < x.size(); ++i)
    for (int k = 0; k < 3; ++k) mx[k] += x[i][k] / n, my[k] += y[i][k] / n;
  mat3 S;  // cross-covariance (1/n) Σ (y − μy)(x − μx)ᵀ
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) S(r, c) = 0;
  double var_x = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    double dx[3], dy[3];
    for (int k = 0; k < 3; ++k) dx[k] = x[i][k] - mx[k], dy[k] = y[i][k] - my[k];
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) S(r, c) += dy[r] * dx[c] / n;
    var_x += (dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2]) / n;
  }
  similarity3 out;
  const svd3_result d = svd3(S);
  const bool all_same = var_x <= 1e-24;
  const bool collinear = !all_same && d.s[1] <= 1e-9 * d.s[0];
  if (all_same || collinear) {
    out.R = fallback_R;
    double num = 0;
    if (collinear && with_scale) {  // best scale for the fixed rotation: Σ⟨y − μy, R(x − μx)⟩ / Σ‖x − μx‖²
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) num += S(r, c) * out.R(r, c);
      out.scale = num / var_x;
    }
  } else {
    const double sgn = det(d.U) * det(d.V) < 0 ? -1.0 : 1.0;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        out.R(i, j) = d.U(i, 0) * d.V(j, 0) + d.U(i, 1) * d.V(j, 1) + sgn * d.U(i, 2) * d.V(j, 2);
    if (with_scale) out.scale = (d.s[0] + d.s[1] + sgn * d.s[2]) / var_x;
  }
  for (int i = 0; i < 3; ++i)
    out.t[i] = my[i] - out.scale * (out.R(i, 0) * mx[0] + out.R(i, 1) * mx[1] + out.R(i, 2) * mx[2]);
  return out;
}

/// How the estimated trajectory is aligned to the reference before comparing (on camera centres).
enum class camera_alignment { none, se3, sim3 };
/// Translation normalisation (CamI2V): none; divide both by the reference's largest distance from its first
/// camera
/// ("abs"); or each trajectory by its own ("rel").
enum class translation_normalization { none, reference_scale, own_scale };

/// Metric settings. The defaults are SANA-WM's (App. D.3): relativise to frame 0, Umeyama Sim(3), mean over
/// frames, RotErr in degrees. CamI2V's protocol: alignment none, normalization own_scale, sum, radians.
struct camera_metric_options {
  bool relativize = true;
  camera_alignment alignment = camera_alignment::sim3;
  translation_normalization normalization = translation_normalization::none;
  bool degrees = true;  ///< RotErr in degrees (else radians)
  bool mean = true;     ///< mean over frames (else sum)
};

/// RotErr = Σ or mean of arccos((tr(R_refᵀR_est) − 1)/2); TransErr of ‖t_ref − t_est‖; CamMC of ‖[R|t]_ref −
/// [R|t]_est‖_F (3x4). Per-frame values are kept; `alignment` is the similarity applied to the estimate.
struct camera_metrics {
  double rot_err = 0, trans_err = 0, cam_mc = 0;
  std::vector<double> rot_err_per_frame, trans_err_per_frame, cam_mc_per_frame;
  similarity3 alignment;
};

/// Compares an estimated c2w trajectory with the reference (same length ≥ 1). The alignment maps estimated
/// camera centres onto the reference ones; estimated rotations are rotated by the same R.
inline camera_metrics compare_trajectories(const std::vector<mat4>& reference,
                                           const std::vector<mat4>& estimate,
                                           const camera_metric_options& o = {}) {
  constexpr std::string_view op = "camera_metrics";
  if (reference.empty() || reference.size() != estimate.size())
    throw make_error(op, "trajectories must be non-empty and equally long; got ", reference.size(), " and ",
                     estimate.size(), " frames (resample one first)");
  for (std::size_t i = 0; i < reference.size(); ++i) {
    validate_rigid(reference[i], 1e-3, op, str_cat("reference frame ", i));
    validate_rigid(estimate[i], 1e-3, op, str_cat("estimated frame ", i));
  }
  std::vector<mat4> ref = o.relativize ? relative_to_first(reference) : reference;
  std::vector<mat4> est = o.relativize ? relative_to_first(estimate) : estimate;
  const std::size_t n = ref.size();
  camera_metrics m;
  if (o.alignment != camera_alignment::none) {
    std::vector<std::array<double, 3>> xs(n), ys(n);
    // Fallback rotation for degenerate (collinear / static) centres: the rotation that best maps the
    // estimated orientations onto the reference ones, nearest_rotation(Σ R_ref·R_estᵀ).
    mat3 acc;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) acc(r, c) = 0;
    for (std::size_t i = 0; i < n; ++i) {
      xs[i] = {est[i].t(0), est[i].t(1), est[i].t(2)};
      ys[i] = {ref[i].t(0), ref[i].t(1), ref[i].t(2)};
      const mat3 a = rotation_of(ref[i]) * transpose(rotation_of(est[i]));
      for (int k = 0; k < 9; ++k) acc.a[k] += a.a[k];
    }
    m.alignment = umeyama(xs, ys, o.alignment == camera_alignment::sim3, nearest_rotation(acc));
    for (std::size_t i = 0; i < n; ++i) {
      const mat3 R = m.alignment.R * rotation_of(est[i]);
      double c[3];
      m.alignment.apply(xs[i].data(), c);
      est[i] = make_pose(R, c[0], c[1], c[2]);
    }
  }
  auto max_dist = [](const std::vector<mat4>& p) {
    double s = 0;
    for (const mat4& q : p) s = std::max(s, std::sqrt(q.t(0) * q.t(0) + q.t(1) * q.t(1) + q.t(2) * q.t(2)));
    return s + 1e-9;
  };
  double s_ref = 1, s_est = 1;
  if (o.normalization == translation_normalization::reference_scale) s_ref = s_est = max_dist(ref);
  if (o.normalization == translation_normalization::own_scale) s_ref = max_dist(ref), s_est = max_dist(est);
  m.rot_err_per_frame.resize(n), m.trans_err_per_frame.resize(n), m.cam_mc_per_frame.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const mat3 Ra = rotation_of(ref[i]), Rb = rotation_of(est[i]);
    const double ang = rotation_angle_between(Ra, Rb);
    double dt2 = 0, mc2 = 0;
    for (int r = 0; r < 3; ++r) {
      const double d = ref[i].t(r) / s_ref - est[i].t(r) / s_est;
      dt2 += d * d;
      for (int c = 0; c < 3; ++c) mc2 += (Ra(r, c) - Rb(r, c)) * (Ra(r, c) - Rb(r, c));
    }
    mc2 += dt2;
    m.rot_err_per_frame[i] = o.degrees ? rad_to_deg(ang) : ang;
    m.trans_err_per_frame[i] = std::sqrt(dt2);
    m.cam_mc_per_frame[i] = std::sqrt(mc2);
    m.rot_err += m.rot_err_per_frame[i], m.trans_err += m.trans_err_per_frame[i],
        m.cam_mc += m.cam_mc_per_frame[i];
  }
  if (o.mean) {
    const double dn = static_cast<double>(n);
    m.rot_err /= dn, m.trans_err /= dn, m.cam_mc /= dn;
  }
  return m;
}

}  // namespace sanawm

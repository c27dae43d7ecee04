// SPDX-License-Identifier: Apache-2.0
// sanawm/model/camera/pose.hpp — 4x4 camera poses (c2w / w2c, OpenCV axes) in float64 on the host: products,
// rigid inverses, elementary rotations, quaternions, a 3x3 SVD, projection onto SO(3) and rotation
// validation.
#pragma once

#include <algorithm>  // std::max, std::swap
#include <cmath>      // std::sqrt, std::cos, std::sin, std::acos, std::fabs, std::isfinite
#include <numbers>    // std::numbers::pi
#include <string_view>

#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/core/int.hpp"    // index_t

namespace sanawm {

/// A row-major 4x4 matrix of doubles: a camera pose [[R, t], [0, 0, 0, 1]] (c2w unless a name says w2c).
/// Convention everywhere in sanawm: OpenCV camera axes, +x right, +y down, +z forward; world "up" is −y.
struct mat4 {
  double m[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};

  static constexpr mat4 identity() noexcept { return {}; }
  constexpr double& operator()(int r, int c) noexcept { return m[4 * r + c]; }
  constexpr double operator()(int r, int c) const noexcept { return m[4 * r + c]; }
  /// Translation column (the camera centre of a c2w pose).
  constexpr double t(int i) const noexcept { return m[4 * i + 3]; }
};

/// A row-major 3x3 matrix of doubles.
struct mat3 {
  double a[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  constexpr double& operator()(int r, int c) noexcept { return a[3 * r + c]; }
  constexpr double operator()(int r, int c) const noexcept { return a[3 * r + c]; }
};

inline constexpr double deg_to_rad(double d) noexcept {
  return d * std::numbers::pi / 180.0;
}
inline constexpr double rad_to_deg(double r) noexcept {
  return r * 180.0 / std::numbers::pi;
}

inline mat4 operator*(const mat4& a, const mat4& b) noexcept {
  mat4 c;
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 4; ++k) {
      double s = 0;
      for (int j = 0; j < 4; ++j) s += a(r, j) * b(j, k);
      c(r, k) = s;
    }
  return c;
}

inline mat3 operator*(const mat3& a, const mat3& b) noexcept {
  mat3 c;
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) c(r, k) = a(r, 0) * b(0, k) + a(r, 1) * b(1, k) + a(r, 2) * b(2, k);
  return c;
}

inline mat3 transpose(const mat3& a) noexcept {
  mat3 t;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) t(r, c) = a(c, r);
  return t;
}

inline double det(const mat3& a) noexcept {
  return a(0, 0) * (a(1, 1) * a(2, 2) - a(1, 2) * a(2, 1)) -
         a(0, 1) * (a(1, 0) * a(2, 2) - a(1, 2) * a(2, 0)) +
         a(0, 2) * (a(1, 0) * a(2, 1) - a(1, 1) * a(2, 0));
}

/// The rotation block of a pose.
inline mat3 rotation_of(const mat4& p) noexcept {
  mat3 r;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r(i, j) = p(i, j);
  return r;
}

/// [[R, t], [0, 1]].
inline mat4 make_pose(const mat3& R, double tx, double ty, double tz) noexcept {
  mat4 p;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) p(i, j) = R(i, j);
  p(0, 3) = tx, p(1, 3) = ty, p(2, 3) = tz;
  return p;
}

/// Inverse of a rigid pose: [[Rᵀ, −Rᵀt], [0, 1]] (c2w ↔ w2c). Assumes R is a rotation (validate first).
inline mat4 inverse_rigid(const mat4& p) noexcept {
  mat4 q;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) q(i, j) = p(j, i);
    q(i, 3) = -(p(0, i) * p(0, 3) + p(1, i) * p(1, 3) + p(2, i) * p(2, 3));
  }
  return q;
}

/// Rotation by `a` radians about x: the DSL's pitch (positive = the camera's +z turns toward −y, i.e. up).
inline mat3 rot_x(double a) noexcept {
  const double c = std::cos(a), s = std::sin(a);
  return {{1, 0, 0, 0, c, -s, 0, s, c}};
}
/// Rotation by `a` radians about y: the DSL's yaw (positive = the camera's +z turns toward +x, i.e. right).
inline mat3 rot_y(double a) noexcept {
  const double c = std::cos(a), s = std::sin(a);
  return {{c, 0, s, 0, 1, 0, -s, 0, c}};
}
/// Rotation by `a` radians about z (roll).
inline mat3 rot_z(double a) noexcept {
  const double c = std::cos(a), s = std::sin(a);
  return {{c, -s, 0, s, c, 0, 0, 0, 1}};
}

/// Geodesic angle between two rotations in radians: arccos(clamp((tr(AᵀB) − 1)/2, −1, 1)).
inline double rotation_angle_between(const mat3& a, const mat3& b) noexcept {
  double tr = 0;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k) tr += a(k, i) * b(k, i);
  return std::acos(std::clamp((tr - 1.0) / 2.0, -1.0, 1.0));
}

/// Unit quaternion (w, x, y, z) of a rotation matrix (Shepperd's method: largest diagonal term first).
struct quat {
  double w = 1, x = 0, y = 0, z = 0;
};
inline quat to_quat(const mat3& R) noexcept {
  const double tr = R(0, 0) + R(1, 1) + R(2, 2);
  quat q;
  if (tr > 0) {
    const double s = 2 * std::sqrt(tr + 1.0);
    q = {s / 4, (R(2, 1) - R(1, 2)) / s, (R(0, 2) - R(2, 0)) / s, (R(1, 0) - R(0, 1)) / s};
  } else if (R(0, 0) > R(1, 1) && R(0, 0) > R(2, 2)) {
    const double s = 2 * std::sqrt(1.0 + R(0, 0) - R(1, 1) - R(2, 2));
    q = {(R(2, 1) - R(1, 2)) / s, s / 4, (R(0, 1) + R(1, 0)) / s, (R(0, 2) + R(2, 0)) / s};
  } else if (R(1, 1) > R(2, 2)) {
    const double s = 2 * std::sqrt(1.0 + R(1, 1) - R(0, 0) - R(2, 2));
    q = {(R(0, 2) - R(2, 0)) / s, (R(0, 1) + R(1, 0)) / s, s / 4, (R(1, 2) + R(2, 1)) / s};
  } else {
    const double s = 2 * std::sqrt(1.0 + R(2, 2) - R(0, 0) - R(1, 1));
    q = {(R(1, 0) - R(0, 1)) / s, (R(0, 2) + R(2, 0)) / s, (R(1, 2) + R(2, 1)) / s, s / 4};
  }
  const double n = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
  return {q.w / n, q.x / n, q.y / n, q.z / n};
}
inline mat3 to_mat3(const quat& q) noexcept {
  const double w = q.w, x = q.x, y = q.y, z = q.z;
  return {{1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y), 2 * (x * y + w * z),
           1 - 2 * (x * x + z * z), 2 * (y * z - w * x), 2 * (x * z - w * y), 2 * (y * z + w * x),
           1 - 2 * (x * x + y * y)}};
}
/// Spherical interpolation a → b at s ∈ [0, 1] along the shorter arc.
inline quat slerp(quat a, quat b, double s) noexcept {
  double d = a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z;
  if (d < 0) b = {-b.w, -b.x, -b.y, -b.z}, d = -d;
  double wa, wb;
  if (d > 0.9995) {  // nearly parallel: lerp, then renormalise (sin θ would cancel badly)
    wa = 1 - s, wb = s;
  } else {
    const double th = std::acos(d), st = std::sin(th);
    wa = std::sin((1 - s) * th) / st, wb = std::sin(s * th) / st;
  }
  quat q{wa * a.w + wb * b.w, wa * a.x + wb * b.x, wa * a.y + wb * b.y, wa * a.z + wb * b.z};
  const double n = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
  return {q.w / n, q.x / n, q.y / n, q.z / n};
}

/// A = U·diag(s)·Vᵀ with U, V rotations or reflections (orthonormal) and s ≥ 0 sorted descending.
struct svd3_result {
  mat3 U, V;
  double s[3];
};

/// SVD of a 3x3 matrix by one-sided Jacobi rotations (accurate for small singular values, no squaring).
/// Null-space columns of U are completed to an orthonormal basis, so U is always orthonormal.
inline svd3_result svd3(const mat3& A) noexcept {
  mat3 B = A, V;  // B's columns are rotated until mutually orthogonal; V accumulates the rotations
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        double alpha = 0, beta = 0, gamma = 0;
        for (int i = 0; i < 3; ++i)
          alpha += B(i, p) * B(i, p), beta += B(i, q) * B(i, q), gamma += B(i, p) * B(i, q);
        if (gamma == 0.0 || std::fabs(gamma) <= 1e-300) continue;
        off = std::max(off, std::fabs(gamma) / std::sqrt(alpha * beta + 1e-300));
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        for (int i = 0; i < 3; ++i) {
          const double bp = B(i, p), bq = B(i, q);
          B(i, p) = c * bp - s * bq, B(i, q) = s * bp + c * bq;
          const double vp = V(i, p), vq = V(i, q);
          V(i, p) = c * vp - s * vq, V(i, q) = s * vp + c * vq;
        }
      }
    if (off < 1e-15) break;
  }
  svd3_result r;
  double sv[3];
  for (int j = 0; j < 3; ++j) sv[j] = std::sqrt(B(0, j) * B(0, j) + B(1, j) * B(1, j) + B(2, j) * B(2, j));
  int order[3] = {0, 1, 2};
  for (int i = 0; i < 3; ++i)
    for (int j = i + 1; j < 3; ++j)
      if (sv[order[j]] > sv[order[i]]) std::swap(order[i], order[j]);
  const double smax = sv[order[0]];
  int rank = 0;
  for (int k = 0; k < 3; ++k) {
    const int j = order[k];
    r.s[k] = sv[j];
    for (int i = 0; i < 3; ++i) r.V(i, k) = V(i, j);
    if (sv[j] > 1e-14 * smax && sv[j] > 0) {
      for (int i = 0; i < 3; ++i) r.U(i, k) = B(i, j) / sv[j];
      ++rank;
    }
  }
  // Complete U: a unit vector orthogonal to the known columns, then the cross product.
  auto col = [&](int k, int i) -> double& { return r.U(i, k); };
  if (rank == 0) r.U = mat3{};
  if (rank == 1) {
    const double ax = std::fabs(col(0, 0)), ay = std::fabs(col(0, 1)), az = std::fabs(col(0, 2));
    double e[3] = {0, 0, 0};
    e[(ax <= ay && ax <= az) ? 0 : (ay <= az ? 1 : 2)] = 1;  // the axis least aligned with u0
    const double d = e[0] * col(0, 0) + e[1] * col(0, 1) + e[2] * col(0, 2);
    double u1[3] = {e[0] - d * col(0, 0), e[1] - d * col(0, 1), e[2] - d * col(0, 2)};
    const double n = std::sqrt(u1[0] * u1[0] + u1[1] * u1[1] + u1[2] * u1[2]);
    for (int i = 0; i < 3; ++i) col(1, i) = u1[i] / n;
  }
  if (rank <= 2 && rank >= 1) {
    col(2, 0) = col(0, 1) * col(1, 2) - col(0, 2) * col(1, 1);
    col(2, 1) = col(0, 2) * col(1, 0) - col(0, 0) * col(1, 2);
    col(2, 2) = col(0, 0) * col(1, 1) - col(0, 1) * col(1, 0);
  }
  return r;
}

/// The rotation closest to M in the Frobenius norm (U·diag(1, 1, det(UVᵀ))·Vᵀ): re-orthonormalises noisy
/// input.
inline mat3 nearest_rotation(const mat3& M) noexcept {
  const svd3_result d = svd3(M);
  const double sgn = det(d.U) * det(d.V) < 0 ? -1.0 : 1.0;
  mat3 R;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      R(i, j) = d.U(i, 0) * d.V(j, 0) + d.U(i, 1) * d.V(j, 1) + sgn * d.U(i, 2) * d.V(j, 2);
  return R;
}

/// Throws unless `p` is a rigid pose: finite entries, bottom row (0, 0, 0, 1), RᵀR = I and det R = +1 within
/// `tol` (max abs deviation). `what` names the matrix in the message ("c2w frame 12").
inline void validate_rigid(const mat4& p, double tol, std::string_view op, std::string_view what) {
  for (int i = 0; i < 16; ++i)
    if (!std::isfinite(p.m[i]))
      throw make_error(op, what, " has a non-finite entry (", p.m[i], ") at row ", i / 4, ", column ", i % 4);
  const double bottom[4] = {0, 0, 0, 1};
  // Comparisons are written as !(x <= tol) so that a NaN (e.g. inf − inf from huge entries) fails them.
  for (int c = 0; c < 4; ++c)
    if (!(std::fabs(p(3, c) - bottom[c]) <= tol))
      throw make_error(op, what, " is not a rigid transform: bottom row is (", p(3, 0), ", ", p(3, 1), ", ",
                       p(3, 2), ", ", p(3, 3), "), expected (0, 0, 0, 1)");
  const mat3 R = rotation_of(p);
  double worst = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const double g = R(0, i) * R(0, j) + R(1, i) * R(1, j) + R(2, i) * R(2, j);
      const double dev = std::fabs(g - (i == j ? 1.0 : 0.0));
      if (dev != dev || dev > worst) worst = dev;  // a NaN sticks
    }
  if (!(worst <= tol))
    throw make_error(op, what, " has a rotation block that is not orthonormal: max |RᵀR − I| = ", worst,
                     " > tolerance ", tol,
                     " (a scaled or sheared matrix; re-orthonormalise it or check the format)");
  const double d = det(R);
  if (!(std::fabs(d - 1.0) <= tol))
    throw make_error(
        op, what, " has det R = ", d, ", expected +1",
        d < 0 ? " (a reflection: mixed OpenGL/OpenCV axes? flip y and z with c2w·diag(1, −1, −1, 1))" : "");
}

/// c2w_cv = c2w_gl · diag(1, −1, −1, 1): converts an OpenGL/Blender camera (x right, y up, z back) to OpenCV.
inline mat4 opengl_to_opencv(const mat4& c2w_gl) noexcept {
  mat4 p = c2w_gl;
  for (int r = 0; r < 4; ++r) p(r, 1) = -p(r, 1), p(r, 2) = -p(r, 2);
  return p;
}

}  // namespace sanawm

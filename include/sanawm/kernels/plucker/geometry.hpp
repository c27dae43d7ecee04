// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/plucker/geometry.hpp — 3-vector helpers and the pinhole ray of a latent-grid pixel, shared
// by the Plücker and UCPE bodies (SANAWM_HD, any floating-point type).
#pragma once

#include <cmath>  // std::sqrt

#include "sanawm/config.hpp"  // SANAWM_HD

namespace sanawm {

/// A 3-vector of T; plain aggregate so it lives in registers inside kernel bodies.
template <class T>
struct vec3 {
  T x, y, z;
};

template <class T>
SANAWM_HD constexpr T dot(const vec3<T>& a, const vec3<T>& b) noexcept {
  return a.x * b.x + a.y * b.y + a.z * b.z;
}

/// a × b (right-handed).
template <class T>
SANAWM_HD constexpr vec3<T> cross(const vec3<T>& a, const vec3<T>& b) noexcept {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

template <class T>
SANAWM_HD T norm(const vec3<T>& a) noexcept {
  return std::sqrt(dot(a, a));
}

/// a / max(‖a‖, eps): PyTorch's F.normalize rule, which upstream uses for the UCPE ray frame (eps = 1e-6).
template <class T>
SANAWM_HD vec3<T> normalize_eps(const vec3<T>& a, T eps) noexcept {
  T n = norm(a);
  n = n > eps ? n : eps;
  return {a.x / n, a.y / n, a.z / n};
}

/// a / ‖a‖ with no guard (a zero vector gives NaN, which callers detect on purpose).
template <class T>
SANAWM_HD vec3<T> normalize(const vec3<T>& a) noexcept {
  const T n = norm(a);
  return {a.x / n, a.y / n, a.z / n};
}

/// R·a for the rotation block of a row-major 4x4 matrix `m` (16 values of any arithmetic type S).
template <class T, class S>
SANAWM_HD constexpr vec3<T> rotate(const S* m, const vec3<T>& a) noexcept {
  return {T(m[0]) * a.x + T(m[1]) * a.y + T(m[2]) * a.z, T(m[4]) * a.x + T(m[5]) * a.y + T(m[6]) * a.z,
          T(m[8]) * a.x + T(m[9]) * a.y + T(m[10]) * a.z};
}

/// The translation column of a row-major 4x4 matrix (the camera centre of a c2w pose).
template <class T, class S>
SANAWM_HD constexpr vec3<T> translation_of(const S* m) noexcept {
  return {T(m[3]), T(m[7]), T(m[11])};
}

/// Camera-frame direction of latent pixel (u, v) for intrinsics k = [fx, fy, cx, cy] (latent-grid units), not
/// normalised: ((u − cx)/fx, (v − cy)/fy, 1). Integer pixel coordinates, no +0.5: SANA-WM's convention.
template <class T, class S>
SANAWM_HD constexpr vec3<T> pinhole_direction(const S* k, T u, T v) noexcept {
  return {(u - T(k[2])) / T(k[0]), (v - T(k[3])) / T(k[1]), T(1)};
}

}  // namespace sanawm

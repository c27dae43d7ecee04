// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/plucker/ucpe_ref.hpp — float64 reference twin of the UCPE matrices and q/k/v/o transforms:
// the ray frame built with explicit 3x3 algebra and a general 4x4 inverse (Gauss–Jordan), not the closed
// SE(3) form.
#pragma once

#include <cmath>    // std::sqrt, std::isnan, std::fabs
#include <utility>  // std::swap

#include "sanawm/core/error.hpp"            // make_error
#include "sanawm/core/int.hpp"              // index_t
#include "sanawm/core/tensor.hpp"           // tensor_view
#include "sanawm/kernels/plucker/ucpe.hpp"  // ucpe_op, camera_condition_width

namespace sanawm {

namespace detail {
inline void ref_normalize(double* a, double eps) {
  double n = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  if (n < eps) n = eps;
  for (int i = 0; i < 3; ++i) a[i] /= n;
}
inline void ref_cross(const double* a, const double* b, double* c) {
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}
}  // namespace detail

/// float64 UCPE matrix of latent pixel (u, v) for one camera_conditions row (20 floats); same contract as
/// ucpe_raymat. P = inverse of the ray→world transform [[x y z], o].
inline void ucpe_raymat_ref(const float* cond, index_t u, index_t v, double* P) {
  double dc[3] = {(static_cast<double>(u) - cond[18]) / cond[16],
                  (static_cast<double>(v) - cond[19]) / cond[17], 1.0};
  detail::ref_normalize(dc, 0.0);
  double z[3];
  for (int r = 0; r < 3; ++r) z[r] = cond[4 * r] * dc[0] + cond[4 * r + 1] * dc[1] + cond[4 * r + 2] * dc[2];
  if (std::isnan(z[0]) || std::isnan(z[1]) || std::isnan(z[2])) {
    for (int i = 0; i < 16; ++i) P[i] = (i % 5 == 0) ? 1.0 : 0.0;
    return;
  }
  detail::ref_normalize(z, 1e-6);
  const double yc[3] = {cond[1], cond[5], cond[9]};
  double x[3], y[3];
  detail::ref_cross(yc, z, x);
  detail::ref_normalize(x, 1e-6);
  detail::ref_cross(z, x, y);
  detail::ref_normalize(y, 1e-6);
  // ray→world = [[x y z] (columns), o]; P is its inverse, computed generically.
  double F[16] = {x[0], y[0], z[0], cond[3],  x[1], y[1], z[1], cond[7],
                  x[2], y[2], z[2], cond[11], 0,    0,    0,    1};
  double I[16];
  for (int i = 0; i < 16; ++i) I[i] = (i % 5 == 0) ? 1.0 : 0.0;
  // Gauss–Jordan with partial pivoting on the 4x4 augmented system F·P = I.
  for (int c = 0; c < 4; ++c) {
    int piv = c;
    for (int r = c + 1; r < 4; ++r)
      if (std::fabs(F[4 * r + c]) > std::fabs(F[4 * piv + c])) piv = r;
    if (F[4 * piv + c] == 0.0)
      throw make_error("ucpe_raymat_ref", "singular ray frame at pixel (", u, ", ", v, ")");
    for (int k = 0; k < 4; ++k)
      std::swap(F[4 * c + k], F[4 * piv + k]), std::swap(I[4 * c + k], I[4 * piv + k]);
    const double inv = 1.0 / F[4 * c + c];
    for (int k = 0; k < 4; ++k) F[4 * c + k] *= inv, I[4 * c + k] *= inv;
    for (int r = 0; r < 4; ++r) {
      if (r == c) continue;
      const double f = F[4 * r + c];
      for (int k = 0; k < 4; ++k) F[4 * r + k] -= f * F[4 * c + k], I[4 * r + k] -= f * I[4 * c + k];
    }
  }
  for (int i = 0; i < 16; ++i) P[i] = I[i];
}

/// float64 raymats [B, T, Hl, Wl, 16] from camera_conditions [B, T, 20].
inline void ucpe_raymats_ref(tensor_view<const float, extents<dyn, dyn, camera_condition_width>> cond,
                             tensor_view<double, extents<dyn, dyn, dyn, dyn, 16>> raymats) {
  for (index_t b = 0; b < raymats.extent(0); ++b)
    for (index_t t = 0; t < raymats.extent(1); ++t)
      for (index_t v = 0; v < raymats.extent(2); ++v)
        for (index_t u = 0; u < raymats.extent(3); ++u)
          ucpe_raymat_ref(&cond(b, t, 0), u, v, &raymats(b, t, v, u, 0));
}

/// float64 UCPE transform of x [B, N, H, D] (read as float, written as double) with raymats [B, N, 16]:
/// channels [0, D/2) in 4-vectors multiplied by Pᵀ, P⁻¹ (general inverse) or P; channels [D/2, D) copied.
template <index_t D>
void ucpe_transform_ref(ucpe_op op, tensor_view<const float, extents<dyn, dyn, dyn, D>> x,
                        tensor_view<const double, extents<dyn, dyn, 16>> raymats,
                        tensor_view<double, extents<dyn, dyn, dyn, D>> out) {
  for (index_t b = 0; b < x.extent(0); ++b)
    for (index_t n = 0; n < x.extent(1); ++n) {
      double P[16], M[16];
      for (int k = 0; k < 16; ++k) P[k] = raymats(b, n, k);
      if (op == ucpe_op::query) {
        for (int r = 0; r < 4; ++r)
          for (int c = 0; c < 4; ++c) M[4 * r + c] = P[4 * c + r];
      } else if (op == ucpe_op::output) {
        for (int k = 0; k < 16; ++k) M[k] = P[k];
      } else {
        // General inverse by cofactors: independent of the rigid-transform assumption of se3_inverse.
        const double* m = P;
        double inv[16];
        inv[0] = m[5] * m[10] * m[15] - m[5] * m[11] * m[14] - m[9] * m[6] * m[15] + m[9] * m[7] * m[14] +
                 m[13] * m[6] * m[11] - m[13] * m[7] * m[10];
        inv[4] = -m[4] * m[10] * m[15] + m[4] * m[11] * m[14] + m[8] * m[6] * m[15] - m[8] * m[7] * m[14] -
                 m[12] * m[6] * m[11] + m[12] * m[7] * m[10];
        inv[8] = m[4] * m[9] * m[15] - m[4] * m[11] * m[13] - m[8] * m[5] * m[15] + m[8] * m[7] * m[13] +
                 m[12] * m[5] * m[11] - m[12] * m[7] * m[9];
        inv[12] = -m[4] * m[9] * m[14] + m[4] * m[10] * m[13] + m[8] * m[5] * m[14] - m[8] * m[6] * m[13] -
                  m[12] * m[5] * m[10] + m[12] * m[6] * m[9];
        inv[1] = -m[1] * m[10] * m[15] + m[1] * m[11] * m[14] + m[9] * m[2] * m[15] - m[9] * m[3] * m[14] -
                 m[13] * m[2] * m[11] + m[13] * m[3] * m[10];
        inv[5] = m[0] * m[10] * m[15] - m[0] * m[11] * m[14] - m[8] * m[2] * m[15] + m[8] * m[3] * m[14] +
                 m[12] * m[2] * m[11] - m[12] * m[3] * m[10];
        inv[9] = -m[0] * m[9] * m[15] + m[0] * m[11] * m[13] + m[8] * m[1] * m[15] - m[8] * m[3] * m[13] -
                 m[12] * m[1] * m[11] + m[12] * m[3] * m[9];
        inv[13] = m[0] * m[9] * m[14] - m[0] * m[10] * m[13] - m[8] * m[1] * m[14] + m[8] * m[2] * m[13] +
                  m[12] * m[1] * m[10] - m[12] * m[2] * m[9];
        inv[2] = m[1] * m[6] * m[15] - m[1] * m[7] * m[14] - m[5] * m[2] * m[15] + m[5] * m[3] * m[14] +
                 m[13] * m[2] * m[7] - m[13] * m[3] * m[6];
        inv[6] = -m[0] * m[6] * m[15] + m[0] * m[7] * m[14] + m[4] * m[2] * m[15] - m[4] * m[3] * m[14] -
                 m[12] * m[2] * m[7] + m[12] * m[3] * m[6];
        inv[10] = m[0] * m[5] * m[15] - m[0] * m[7] * m[13] - m[4] * m[1] * m[15] + m[4] * m[3] * m[13] +
                  m[12] * m[1] * m[7] - m[12] * m[3] * m[5];
        inv[14] = -m[0] * m[5] * m[14] + m[0] * m[6] * m[13] + m[4] * m[1] * m[14] - m[4] * m[2] * m[13] -
                  m[12] * m[1] * m[6] + m[12] * m[2] * m[5];
        inv[3] = -m[1] * m[6] * m[11] + m[1] * m[7] * m[10] + m[5] * m[2] * m[11] - m[5] * m[3] * m[10] -
                 m[9] * m[2] * m[7] + m[9] * m[3] * m[6];
        inv[7] = m[0] * m[6] * m[11] - m[0] * m[7] * m[10] - m[4] * m[2] * m[11] + m[4] * m[3] * m[10] +
                 m[8] * m[2] * m[7] - m[8] * m[3] * m[6];
        inv[11] = -m[0] * m[5] * m[11] + m[0] * m[7] * m[9] + m[4] * m[1] * m[11] - m[4] * m[3] * m[9] -
                  m[8] * m[1] * m[7] + m[8] * m[3] * m[5];
        inv[15] = m[0] * m[5] * m[10] - m[0] * m[6] * m[9] - m[4] * m[1] * m[10] + m[4] * m[2] * m[9] +
                  m[8] * m[1] * m[6] - m[8] * m[2] * m[5];
        const double det = m[0] * inv[0] + m[1] * inv[4] + m[2] * inv[8] + m[3] * inv[12];
        if (det == 0.0) throw make_error("ucpe_transform_ref", "singular ray matrix at token ", n);
        for (int k = 0; k < 16; ++k) M[k] = inv[k] / det;
      }
      for (index_t h = 0; h < x.extent(2); ++h) {
        for (index_t g = 0; g < D / 8; ++g)
          for (int r = 0; r < 4; ++r) {
            double s = 0;
            for (int c = 0; c < 4; ++c) s += M[4 * r + c] * static_cast<double>(x(b, n, h, 4 * g + c));
            out(b, n, h, 4 * g + r) = s;
          }
        for (index_t d = D / 2; d < D; ++d) out(b, n, h, d) = x(b, n, h, d);
      }
    }
}

}  // namespace sanawm

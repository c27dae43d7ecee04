// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/plucker/ucpe.hpp — UCPE (SANA-WM's camera-branch relative encoding): per-token world→ray
// SE(3) matrices P and the 4×4 transforms of q (Pᵀ), k/v (P⁻¹) and the output (P) on the first D/2 channels
// of a head. Portable bodies for the attention kernels; the RoPE half [D/2, D) belongs to the RoPE code.
#pragma once

#include <cmath>  // std::sqrt

#include "sanawm/backend/tags.hpp"              // backend
#include "sanawm/config.hpp"                    // SANAWM_HD
#include "sanawm/core/error.hpp"                // SANAWM_EXPECT
#include "sanawm/core/int.hpp"                  // index_t, dyn
#include "sanawm/core/tensor.hpp"               // tensor_view
#include "sanawm/kernels/plucker/geometry.hpp"  // vec3, cross, normalize_eps

namespace sanawm {

/// Width of one camera_conditions row: c2w 4x4 row-major (16) ‖ fx, fy, cx, cy in latent-grid units.
inline constexpr index_t camera_condition_width = 20;

/// Which side of attention a UCPE transform is for: q ← Pᵀq, k/v ← P⁻¹k, o ← P·o.
enum class ucpe_op { query, key_value, output };

/// The world→ray-local matrix P (row-major 4x4) of latent pixel (u, v) for one camera_conditions row `cond`:
/// z = normalize(R·d_c) (the ray in world), y_c = R·e_y (the camera's y axis), x = normalize(y_c × z),
/// y = normalize(z × x), R_ray = [x y z], P = [[R_rayᵀ, −R_rayᵀ·o], [0, 1]] with o the camera centre.
/// A ray with a NaN world direction (degenerate intrinsics) gets P = I, as upstream. Normalisations use
/// max(‖·‖, 1e-6) like PyTorch's F.normalize.
template <class T, class S>
SANAWM_HD void ucpe_raymat(const S* cond, T u, T v, T* P) noexcept {
  const vec3<T> dw = rotate<T>(cond, normalize(pinhole_direction<T>(cond + 16, u, v)));
  if (dw.x != dw.x || dw.y != dw.y || dw.z != dw.z) {
    for (int i = 0; i < 16; ++i) P[i] = (i % 5 == 0) ? T(1) : T(0);
    return;
  }
  const T eps = T(1e-6);
  const vec3<T> z = normalize_eps(dw, eps);
  const vec3<T> yc = {T(cond[1]), T(cond[5]), T(cond[9])};
  const vec3<T> x = normalize_eps(cross(yc, z), eps);
  const vec3<T> y = normalize_eps(cross(z, x), eps);
  const vec3<T> o = translation_of<T>(cond);
  // Rows of R_rayᵀ are the ray axes; the translation is −R_rayᵀ·o.
  P[0] = x.x, P[1] = x.y, P[2] = x.z, P[3] = -dot(x, o);
  P[4] = y.x, P[5] = y.y, P[6] = y.z, P[7] = -dot(y, o);
  P[8] = z.x, P[9] = z.y, P[10] = z.z, P[11] = -dot(z, o);
  P[12] = T(0), P[13] = T(0), P[14] = T(0), P[15] = T(1);
}

/// Closed-form inverse of a rigid P = [[A, b], [0, 1]]: [[Aᵀ, −Aᵀb], [0, 1]].
template <class T>
SANAWM_HD constexpr void se3_inverse(const T* P, T* Pinv) noexcept {
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) Pinv[4 * r + c] = P[4 * c + r];
    Pinv[4 * r + 3] = -(P[r] * P[3] + P[4 + r] * P[7] + P[8 + r] * P[11]);
  }
  Pinv[12] = T(0), Pinv[13] = T(0), Pinv[14] = T(0), Pinv[15] = T(1);
}

/// The matrix M that `op` multiplies each 4-vector by: Pᵀ (query), P⁻¹ (key_value) or P (output).
/// Compute it once per token, then apply it to every head with ucpe_apply_head.
template <ucpe_op Op, class T>
SANAWM_HD constexpr void ucpe_matrix(const T* P, T* M) noexcept {
  if constexpr (Op == ucpe_op::query) {
    for (int r = 0; r < 4; ++r) {
      for (int c = 0; c < 4; ++c) M[4 * r + c] = P[4 * c + r];
    }
  } else if constexpr (Op == ucpe_op::key_value) {
    se3_inverse(P, M);
  } else {
    for (int i = 0; i < 16; ++i) M[i] = P[i];
  }
}

/// x ← M·x for one 4-vector (out_i = Σ_j M[i][j]·x_j).
template <class T>
SANAWM_HD constexpr void ucpe_mul4(const T* M, T* x) noexcept {
  const T a = x[0], b = x[1], c = x[2], d = x[3];
  for (int r = 0; r < 4; ++r) x[r] = M[4 * r] * a + M[4 * r + 1] * b + M[4 * r + 2] * c + M[4 * r + 3] * d;
}

/// Applies M to channels [0, D/2) of one head, viewed as D/8 consecutive 4-vectors; channels [D/2, D) (the
/// RoPE half) are not touched. E is the storage type of the head (float, or a wider accumulator).
template <index_t D, class T, class E>
SANAWM_HD constexpr void ucpe_apply_head(const T* M, E* head) noexcept {
  static_assert(D % 8 == 0, "sanawm: UCPE needs a head dimension divisible by 8 (D/2 channels in 4-vectors)");
  for (index_t g = 0; g < D / 8; ++g) {
    T x[4] = {T(head[4 * g]), T(head[4 * g + 1]), T(head[4 * g + 2]), T(head[4 * g + 3])};
    ucpe_mul4(M, x);
    for (int i = 0; i < 4; ++i) head[4 * g + i] = static_cast<E>(x[i]);
  }
}

/// One work item = one latent token (b, t, v, u): its P from camera_conditions.
///   cond [B, T, 20] (relative c2w ‖ latent intrinsics) → raymats [B, T, Hl, Wl, 16] (row-major P).
template <class Acc = float>
struct ucpe_raymats_body {
  tensor_view<const float, extents<dyn, dyn, camera_condition_width>> cond;
  tensor_view<float, extents<dyn, dyn, dyn, dyn, 16>> raymats;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t w = raymats.extent(3), h = raymats.extent(2), nt = raymats.extent(1);
    const index_t u = i % w, v = (i / w) % h, t = (i / (w * h)) % nt, b = i / (w * h * nt);
    Acc P[16];
    ucpe_raymat<Acc>(&cond(b, t, 0), Acc(u), Acc(v), P);
    for (int k = 0; k < 16; ++k) raymats(b, t, v, u, k) = static_cast<float>(P[k]);
  }
};

/// One work item = one (b, token n, head h): x[b, n, h, 0:D/2] ← M(op, P[b, n])·x in 4-vector groups, in
/// place.
///   x [B, N, H, D] (q, k, v or the attention output), raymats [B, N, 16] with N = T·Hl·Wl in (t, v, u)
///   order.
template <index_t D, ucpe_op Op, class Acc = float>
struct ucpe_transform_body {
  tensor_view<float, extents<dyn, dyn, dyn, D>> x;
  tensor_view<const float, extents<dyn, dyn, 16>> raymats;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t nh = x.extent(2), nn = x.extent(1);
    const index_t h = i % nh, n = (i / nh) % nn, b = i / (nh * nn);
    Acc P[16], M[16];
    for (int k = 0; k < 16; ++k) P[k] = Acc(raymats(b, n, k));
    ucpe_matrix<Op>(P, M);
    ucpe_apply_head<D>(M, &x(b, n, h, 0));
  }
};

/// Fills raymats [B, T, Hl, Wl, 16] from camera_conditions [B, T, 20] on backend `tag`.
template <backend Tag>
void ucpe_raymats(Tag tag, tensor_view<const float, extents<dyn, dyn, camera_condition_width>> cond,
                  tensor_view<float, extents<dyn, dyn, dyn, dyn, 16>> raymats) {
  SANAWM_EXPECT(cond.extent(0) == raymats.extent(0) && cond.extent(1) == raymats.extent(1), "ucpe_raymats",
                "camera_conditions [", cond.extent(0), ", ", cond.extent(1), ", 20] and raymats [",
                raymats.extent(0), ", ", raymats.extent(1), ", ...] disagree on batch or latent frames");
  const index_t n = raymats.extent(0) * raymats.extent(1) * raymats.extent(2) * raymats.extent(3);
  parallel_for(tag, n, ucpe_raymats_body<float>{cond, raymats});
}

/// Applies the UCPE transform `Op` in place to the first D/2 channels of every head of x [B, N, H, D], with
/// raymats [B, N, 16] (N = T·Hl·Wl). The composed (unfused) path; attention kernels call ucpe_apply_head
/// directly.
template <index_t D, ucpe_op Op, backend Tag>
void ucpe_transform(Tag tag, tensor_view<float, extents<dyn, dyn, dyn, D>> x,
                    tensor_view<const float, extents<dyn, dyn, 16>> raymats) {
  SANAWM_EXPECT(x.extent(0) == raymats.extent(0) && x.extent(1) == raymats.extent(1), "ucpe_transform", "x [",
                x.extent(0), ", ", x.extent(1), ", ", x.extent(2), ", ", D, "] and raymats [",
                raymats.extent(0), ", ", raymats.extent(1), ", 16] disagree on batch or tokens");
  parallel_for(tag, x.extent(0) * x.extent(1) * x.extent(2), ucpe_transform_body<D, Op, float>{x, raymats});
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/plucker/plucker.hpp — SANA-WM's raw-frame Plücker conditioning: per latent pixel and raw
// frame the ray (d, o × d), eight raw frames packed into the 48 channels of `chunk_plucker`. Portable body +
// host API.
#pragma once

#include "sanawm/backend/tags.hpp"              // backend
#include "sanawm/config.hpp"                    // SANAWM_HD
#include "sanawm/core/error.hpp"                // SANAWM_EXPECT
#include "sanawm/core/int.hpp"                  // index_t, dyn
#include "sanawm/core/tensor.hpp"               // tensor_view
#include "sanawm/kernels/plucker/geometry.hpp"  // vec3, rotate, pinhole_direction

namespace sanawm {

/// Raw frames the causal LTX-2 VAE folds into one latent frame.
inline constexpr index_t plucker_temporal_stride = 8;
/// Channels of one latent frame's Plücker stack: 8 raw frames × (d_x, d_y, d_z, m_x, m_y, m_z).
inline constexpr index_t plucker_channels = 6 * plucker_temporal_stride;

/// Latent frames of a clip with `raw_frames` frames: (F − 1)/8 + 1 (F = 8k + 1 gives k + 1).
SANAWM_HD constexpr index_t latent_frame_count(index_t raw_frames) noexcept {
  return (raw_frames - 1) / plucker_temporal_stride + 1;
}

/// The raw frame in slot j (0..7) of latent frame t's chunk: latent 0 takes raw 0..7 and latent t ≥ 1 takes
/// raw 8t−7..8t (the frames the causal VAE folds into it). Frames past the end repeat the last one (short
/// tails).
SANAWM_HD constexpr index_t plucker_source_frame(index_t t, index_t j, index_t raw_frames) noexcept {
  const index_t start = t == 0 ? 0 : t * plucker_temporal_stride - (plucker_temporal_stride - 1);
  const index_t f = start + j;
  return f < raw_frames ? f : raw_frames - 1;
}

/// The Plücker coordinates of latent pixel (u, v) (integer coordinates) for one pose and intrinsics:
/// d = normalize(R·((u − cx)/fx, (v − cy)/fy, 1)), m = t × d; out = (d_x, d_y, d_z, m_x, m_y, m_z).
/// `pose`: 16 values, row-major c2w (relative to frame 0); `k`: [fx, fy, cx, cy] in latent-grid units.
/// The direction is normalised after the rotation, as upstream does (R need not be exactly orthonormal).
template <class T, class S>
SANAWM_HD void plucker_ray(const S* pose, const S* k, T u, T v, T* out) noexcept {
  const vec3<T> d = normalize(rotate<T>(pose, pinhole_direction<T>(k, u, v)));
  const vec3<T> m = cross(translation_of<T>(pose), d);
  out[0] = d.x, out[1] = d.y, out[2] = d.z;
  out[3] = m.x, out[4] = m.y, out[5] = m.z;
}

/// One work item = one latent pixel (b, t, v, u): the 8 raw frames of its chunk, 48 output channels.
///   poses      [B, F, 16]  relative c2w per raw frame (row-major 4x4), float
///   intrinsics [B, F, 4]   fx, fy, cx, cy per raw frame, latent-grid units
///   out        [B, 48, T, Hl, Wl]  channel 6·j + c for slot j of the chunk, component c
/// Acc is the arithmetic type (float matches upstream; double for the mixed-precision check).
template <class Acc = float>
struct chunk_plucker_body {
  tensor_view<const float, extents<dyn, dyn, 16>> poses;
  tensor_view<const float, extents<dyn, dyn, 4>> intrinsics;
  tensor_view<float, extents<dyn, plucker_channels, dyn, dyn, dyn>> out;

  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t w = out.extent(4), h = out.extent(3), nt = out.extent(2), nf = poses.extent(1);
    const index_t u = i % w, v = (i / w) % h, t = (i / (w * h)) % nt, b = i / (w * h * nt);
    for (index_t j = 0; j < plucker_temporal_stride; ++j) {
      const index_t f = plucker_source_frame(t, j, nf);
      Acc ray[6];
      plucker_ray<Acc>(&poses(b, f, 0), &intrinsics(b, f, 0), Acc(u), Acc(v), ray);
      for (index_t c = 0; c < 6; ++c) out(b, 6 * j + c, t, v, u) = static_cast<float>(ray[c]);
    }
  }
};

namespace detail {
inline void check_chunk_plucker_shapes(index_t b_poses, index_t f_poses, index_t b_k, index_t f_k,
                                       index_t b_out, index_t t_out) {
  SANAWM_EXPECT(f_poses >= 1, "chunk_plucker", "trajectory has ", f_poses, " raw frames; need at least 1");
  SANAWM_EXPECT(b_poses == b_k && f_poses == f_k, "chunk_plucker", "poses [", b_poses, ", ", f_poses,
                ", 16] and intrinsics [", b_k, ", ", f_k, ", 4] disagree");
  SANAWM_EXPECT(b_out == b_poses, "chunk_plucker", "output batch ", b_out, " != pose batch ", b_poses);
  SANAWM_EXPECT(t_out >= 1 && t_out <= latent_frame_count(f_poses), "chunk_plucker", "output has ", t_out,
                " latent frames but ", f_poses, " raw frames give at most ", latent_frame_count(f_poses));
}
}  // namespace detail

/// Fills chunk_plucker [B, 48, T, Hl, Wl] from relative poses [B, F, 16] and latent-grid intrinsics [B, F, 4]
/// on the backend `tag` (the views must live where the backend runs; include the backend's parallel header).
/// Preconditions: 1 ≤ T ≤ (F − 1)/8 + 1. Throws sanawm::error on shape mismatches.
template <backend Tag>
void chunk_plucker(Tag tag, tensor_view<const float, extents<dyn, dyn, 16>> poses,
                   tensor_view<const float, extents<dyn, dyn, 4>> intrinsics,
                   tensor_view<float, extents<dyn, plucker_channels, dyn, dyn, dyn>> out) {
  detail::check_chunk_plucker_shapes(poses.extent(0), poses.extent(1), intrinsics.extent(0),
                                     intrinsics.extent(1), out.extent(0), out.extent(2));
  const index_t n = out.extent(0) * out.extent(2) * out.extent(3) * out.extent(4);
  parallel_for(tag, n, chunk_plucker_body<float>{poses, intrinsics, out});
}

}  // namespace sanawm

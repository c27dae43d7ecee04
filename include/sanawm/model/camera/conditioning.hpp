// SPDX-License-Identifier: Apache-2.0
// sanawm/model/camera/conditioning.hpp — a trajectory → the DiT's camera inputs: relative poses, target- and
// latent-grid intrinsics, camera_conditions [B, T, 20], chunk_plucker [B, 48, T, Hl, Wl] and UCPE raymats.
#pragma once

#include <cstddef>  // std::size_t
#include <span>     // std::span
#include <vector>   // std::vector

#include "sanawm/backend/cpu/parallel.hpp"     // parallel_for(cpu_t, ...) for the CPU convenience overloads
#include "sanawm/backend/tags.hpp"             // cpu_t, backend
#include "sanawm/core/error.hpp"               // make_error
#include "sanawm/core/int.hpp"                 // index_t, dyn
#include "sanawm/core/tensor.hpp"              // tensor
#include "sanawm/kernels/plucker/plucker.hpp"  // chunk_plucker, latent_frame_count
#include "sanawm/kernels/plucker/ucpe.hpp"     // ucpe_raymats, camera_condition_width
#include "sanawm/model/camera/intrinsics.hpp"  // resize/crop and latent scaling
#include "sanawm/model/camera/trajectory.hpp"  // trajectory, validation

namespace sanawm {

/// Target video geometry: pixel size and the VAE strides (SANA-WM: 704×1280, 8 frames, 32 pixels → 22×40).
struct camera_geometry {
  index_t height = 704, width = 1280;
  index_t temporal_stride = plucker_temporal_stride;
  index_t spatial_stride = 32;
  index_t latent_height() const noexcept { return height / spatial_stride; }
  index_t latent_width() const noexcept { return width / spatial_stride; }
};

/// The per-frame, model-ready camera data for B trajectories of F raw frames each (float32, as upstream).
struct camera_conditioning {
  index_t raw_frames = 0, latent_frames = 0, latent_height = 0, latent_width = 0;
  tensor<float, extents<dyn, dyn, 16>> poses_rel;         ///< [B, F, 16] inv(c2w_0)·c2w_i
  tensor<float, extents<dyn, dyn, 4>> intrinsics_latent;  ///< [B, F, 4] fx, fy, cx, cy (latent grid)
  tensor<float, extents<dyn, dyn, camera_condition_width>> camera_conditions;  ///< [B, T, 20]
};

/// Target-image pixel intrinsics of frame i: normalised → source pixels, then the resize + centre crop from
/// the source image size to `g` (skipped when the source size is unknown or already equal).
inline intrinsics target_intrinsics(const trajectory& tr, index_t i, const camera_geometry& g) {
  const index_t sw = tr.image_width > 0 ? tr.image_width : g.width;
  const index_t sh = tr.image_height > 0 ? tr.image_height : g.height;
  intrinsics k = tr.intrinsics_at(i);
  if (tr.units == intrinsics_units::normalized) k = to_pixels(k, sw, sh);
  if (sw != g.width || sh != g.height)
    k = apply_resize_crop(k, sw, sh, compute_resize_crop(sw, sh, g.width, g.height));
  return k;
}

/// Validates B ≥ 1 trajectories (equal frame counts, intrinsics present, rigid poses, FOV of the target-image
/// intrinsics within bounds) and builds poses_rel, intrinsics_latent and camera_conditions (row t = relative
/// pose of raw frame 8t ‖ its latent intrinsics). All frames are used: F raw frames give T = (F − 1)/8 + 1
/// latent frames (make F = 8k + 1 with snap_num_frames + resample/take_frames first). Throws
/// sanawm::error("[prepare_camera] ...").
inline camera_conditioning prepare_camera(std::span<const trajectory> batch, const camera_geometry& g = {},
                                          const camera_validation& v = {}) {
  constexpr std::string_view op = "prepare_camera";
  if (batch.empty()) throw make_error(op, "no trajectories given");
  if (g.height <= 0 || g.width <= 0 || g.spatial_stride <= 0 || g.height % g.spatial_stride ||
      g.width % g.spatial_stride)
    throw make_error(op, "target size ", g.width, "x", g.height,
                     " must be a positive multiple of the spatial stride ", g.spatial_stride);
  if (g.temporal_stride != plucker_temporal_stride)
    throw make_error(op, "temporal stride ", g.temporal_stride, " is not supported (the model packs ",
                     plucker_temporal_stride, " raw frames per latent frame)");
  const index_t B = static_cast<index_t>(batch.size()), F = batch[0].frames();
  camera_conditioning out;
  out.raw_frames = F;
  out.latent_frames = F >= 1 ? latent_frame_count(F) : 0;
  out.latent_height = g.latent_height(), out.latent_width = g.latent_width();
  for (index_t b = 0; b < B; ++b) {
    const trajectory& tr = batch[static_cast<std::size_t>(b)];
    validate_trajectory(tr, v, op);
    if (tr.frames() != F)
      throw make_error(op, "trajectory ", b, " has ", tr.frames(), " frames but trajectory 0 has ", F);
    if (!tr.has_intrinsics())
      throw make_error(op, "trajectory ", b,
                       " has no intrinsics; load them or set a default (e.g. a 60° FOV)");
  }
  out.poses_rel = tensor<float, extents<dyn, dyn, 16>>(B, F);
  out.intrinsics_latent = tensor<float, extents<dyn, dyn, 4>>(B, F);
  out.camera_conditions = tensor<float, extents<dyn, dyn, camera_condition_width>>(B, out.latent_frames);
  for (index_t b = 0; b < B; ++b) {
    const trajectory& tr = batch[static_cast<std::size_t>(b)];
    const std::vector<mat4> rel = relative_to_first(tr.c2w);
    for (index_t f = 0; f < F; ++f) {
      const intrinsics kt = target_intrinsics(tr, f, g);
      if (v.check_fov)
        validate_intrinsics(kt, g.width, g.height, v.fov, op, str_cat("trajectory ", b, " frame ", f));
      const intrinsics kl = to_latent_grid(kt, g.width, g.height, out.latent_width, out.latent_height);
      for (int k = 0; k < 16; ++k)
        out.poses_rel(b, f, k) = static_cast<float>(rel[static_cast<std::size_t>(f)].m[k]);
      out.intrinsics_latent(b, f, 0) = static_cast<float>(kl.fx);
      out.intrinsics_latent(b, f, 1) = static_cast<float>(kl.fy);
      out.intrinsics_latent(b, f, 2) = static_cast<float>(kl.cx);
      out.intrinsics_latent(b, f, 3) = static_cast<float>(kl.cy);
    }
    for (index_t t = 0; t < out.latent_frames; ++t) {
      const index_t f = t * plucker_temporal_stride;  // the raw frame latent t is anchored on ("last" sample)
      for (int k = 0; k < 16; ++k) out.camera_conditions(b, t, k) = out.poses_rel(b, f, k);
      for (int k = 0; k < 4; ++k) out.camera_conditions(b, t, 16 + k) = out.intrinsics_latent(b, f, k);
    }
  }
  return out;
}

/// One trajectory (B = 1).
inline camera_conditioning prepare_camera(const trajectory& tr, const camera_geometry& g = {},
                                          const camera_validation& v = {}) {
  return prepare_camera(std::span<const trajectory>(&tr, 1), g, v);
}

/// chunk_plucker [B, 48, T, Hl, Wl] of prepared camera data, computed on the CPU thread pool.
inline tensor<float, extents<dyn, plucker_channels, dyn, dyn, dyn>> make_chunk_plucker(
    const camera_conditioning& c) {
  tensor<float, extents<dyn, plucker_channels, dyn, dyn, dyn>> out(c.poses_rel.extent(0), c.latent_frames,
                                                                   c.latent_height, c.latent_width);
  chunk_plucker(cpu_t{}, c.poses_rel.view(), c.intrinsics_latent.view(), out.view());
  return out;
}

/// UCPE raymats [B, T, Hl, Wl, 16] of prepared camera data, computed on the CPU thread pool.
inline tensor<float, extents<dyn, dyn, dyn, dyn, 16>> make_ucpe_raymats(const camera_conditioning& c) {
  tensor<float, extents<dyn, dyn, dyn, dyn, 16>> out(c.camera_conditions.extent(0), c.latent_frames,
                                                     c.latent_height, c.latent_width);
  ucpe_raymats(cpu_t{}, c.camera_conditions.view(), out.view());
  return out;
}

}  // namespace sanawm

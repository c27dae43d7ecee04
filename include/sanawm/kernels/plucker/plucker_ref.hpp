// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/plucker/plucker_ref.hpp — float64 reference twin of chunk_plucker: plain loops, normalise
// the camera ray first, then rotate and renormalise; no shared code with the fast body beyond the frame rule.
#pragma once

#include <cmath>  // std::sqrt

#include "sanawm/core/int.hpp"                 // index_t
#include "sanawm/core/tensor.hpp"              // tensor_view
#include "sanawm/kernels/plucker/plucker.hpp"  // plucker_channels, plucker_source_frame, shape checks

namespace sanawm {

/// float64 chunk_plucker: same shapes and contract as `chunk_plucker`, output in double.
inline void chunk_plucker_ref(tensor_view<const float, extents<dyn, dyn, 16>> poses,
                              tensor_view<const float, extents<dyn, dyn, 4>> intrinsics,
                              tensor_view<double, extents<dyn, plucker_channels, dyn, dyn, dyn>> out) {
  detail::check_chunk_plucker_shapes(poses.extent(0), poses.extent(1), intrinsics.extent(0),
                                     intrinsics.extent(1), out.extent(0), out.extent(2));
  const index_t nf = poses.extent(1);
  for (index_t b = 0; b < out.extent(0); ++b)
    for (index_t t = 0; t < out.extent(2); ++t)
      for (index_t j = 0; j < plucker_temporal_stride; ++j) {
        const index_t f = plucker_source_frame(t, j, nf);
        double R[3][3], o[3];
        for (int r = 0; r < 3; ++r) {
          for (int c = 0; c < 3; ++c) R[r][c] = poses(b, f, 4 * r + c);
          o[r] = poses(b, f, 4 * r + 3);
        }
        const double fx = intrinsics(b, f, 0), fy = intrinsics(b, f, 1), cx = intrinsics(b, f, 2),
                     cy = intrinsics(b, f, 3);
        for (index_t v = 0; v < out.extent(3); ++v)
          for (index_t u = 0; u < out.extent(4); ++u) {
            double dc[3] = {(static_cast<double>(u) - cx) / fx, (static_cast<double>(v) - cy) / fy, 1.0};
            const double nc = std::sqrt(dc[0] * dc[0] + dc[1] * dc[1] + dc[2] * dc[2]);
            for (double& x : dc) x /= nc;
            double d[3];
            for (int r = 0; r < 3; ++r) d[r] = R[r][0] * dc[0] + R[r][1] * dc[1] + R[r][2] * dc[2];
            const double nd = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
            for (double& x : d) x /= nd;
            const double m[3] = {o[1] * d[2] - o[2] * d[1], o[2] * d[0] - o[0] * d[2],
                                 o[0] * d[1] - o[1] * d[0]};
            for (int c = 0; c < 3; ++c) {
              out(b, 6 * j + c, t, v, u) = d[c];
              out(b, 6 * j + 3 + c, t, v, u) = m[c];
            }
          }
      }
}

}  // namespace sanawm

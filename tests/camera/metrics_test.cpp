// SPDX-License-Identifier: Apache-2.0
// Camera metrics: Umeyama recovers a known similarity exactly, degenerate centre sets, RotErr/TransErr/CamMC
// on hand-made offsets, alignment and normalisation options.
#include "sanawm/model/camera/metrics.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "camera_test_util.hpp"
#include "sanawm/model/camera/presets.hpp"
#include "support/test_util.hpp"

namespace sanawm {
namespace {

TEST(Umeyama, RecoversAKnownSimilarityExactly) {
  std::mt19937_64 gen(test::test_seed());
  std::uniform_real_distribution<double> u(-3, 3);
  for (int rep = 0; rep < 20; ++rep) {
    const mat3 R = test::random_rotation(gen);
    const double s = 0.3 + std::fabs(u(gen)), t[3] = {u(gen), u(gen), u(gen)};
    std::vector<std::array<double, 3>> x(7), y(7);
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = {u(gen), u(gen), u(gen)};
      for (int r = 0; r < 3; ++r)
        y[i][r] = s * (R(r, 0) * x[i][0] + R(r, 1) * x[i][1] + R(r, 2) * x[i][2]) + t[r];
    }
    const similarity3 a = umeyama(x, y);
    EXPECT_NEAR(a.scale, s, 1e-12);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(a.R.a[k], R.a[k], 1e-12);
    for (int r = 0; r < 3; ++r) EXPECT_NEAR(a.t[r], t[r], 1e-11);
    // Without scale it still finds the rotation of a rigid motion.
    for (std::size_t i = 0; i < x.size(); ++i)
      for (int r = 0; r < 3; ++r) y[i][r] = R(r, 0) * x[i][0] + R(r, 1) * x[i][1] + R(r, 2) * x[i][2] + t[r];
    const similarity3 b = umeyama(x, y, false);
    EXPECT_EQ(b.scale, 1.0);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(b.R.a[k], R.a[k], 1e-12);
  }
  // Planar points (rank-2 covariance) still give a proper rotation.
  std::vector<std::array<double, 3>> x = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 1, 0}}, y;
  const mat3 R = rot_z(0.4) * rot_x(0.2);
  for (const auto& p : x)
    y.push_back(
        {R(0, 0) * p[0] + R(0, 1) * p[1], R(1, 0) * p[0] + R(1, 1) * p[1], R(2, 0) * p[0] + R(2, 1) * p[1]});
  const similarity3 c = umeyama(x, y);
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(c.R.a[k], R.a[k], 1e-12);
  EXPECT_THROW((void)umeyama({}, {}), error);
}

TEST(Umeyama, DegenerateCentresUseTheFallbackRotation) {
  // Collinear: a dolly scaled by 2 → scale 2, fallback rotation (identity) kept, no NaN.
  std::vector<std::array<double, 3>> x, y;
  for (int i = 0; i < 5; ++i) x.push_back({0, 0, 0.1 * i}), y.push_back({1, 0, 0.2 * i});
  const similarity3 a = umeyama(x, y);
  EXPECT_NEAR(a.scale, 2, 1e-12);
  EXPECT_NEAR(a.t[0], 1, 1e-12);
  for (int k = 0; k < 9; ++k) EXPECT_EQ(a.R.a[k], (k % 4 == 0) ? 1.0 : 0.0);
  // All centres equal (pure rotation in place): translation only.
  const similarity3 b = umeyama({{0, 0, 0}, {0, 0, 0}}, {{1, 2, 3}, {1, 2, 3}});
  EXPECT_EQ(b.scale, 1);
  EXPECT_EQ(b.t[2], 3);
}

TEST(CameraMetrics, IdenticalTrajectoriesScoreZero) {
  preset_options po;
  po.frames = 30;
  po.speed = 1.5;
  const auto ref = preset_c2w(camera_preset::orbit_left, po);
  const camera_metrics m = compare_trajectories(ref, ref);
  EXPECT_NEAR(m.rot_err, 0, 1e-6);
  EXPECT_NEAR(m.trans_err, 0, 1e-12);
  EXPECT_NEAR(m.cam_mc, 0, 1e-6);
}

TEST(CameraMetrics, Sim3AlignmentRemovesWorldFrameAndScale) {
  std::mt19937_64 gen(4);
  preset_options po;
  po.frames = 30;
  po.speed = 1.5;
  const auto ref = preset_c2w(camera_preset::orbit_right, po);
  // The estimate lives in another world frame at 3× the scale (as SfM output would).
  const mat4 G = test::random_pose(gen);
  std::vector<mat4> est;
  for (mat4 p : ref) {
    for (int r = 0; r < 3; ++r) p(r, 3) *= 3;
    est.push_back(G * p);
  }
  const camera_metrics m = compare_trajectories(ref, est);
  EXPECT_NEAR(m.rot_err, 0, 1e-5);
  EXPECT_NEAR(m.trans_err, 0, 1e-9);
  EXPECT_NEAR(m.alignment.scale, 1.0 / 3, 1e-9);
  camera_metric_options se3;
  se3.alignment = camera_alignment::se3;
  EXPECT_GT(compare_trajectories(ref, est, se3).trans_err, 0.1);  // the scale is not removed
}

TEST(CameraMetrics, HandMadeErrors) {
  // Reference static at the identity; estimate turned by 10° about y and shifted 0.3 along x on every frame
  // after the first. No alignment, relativised (frame 0 is identical by construction).
  const std::size_t n = 5;
  std::vector<mat4> ref(n), est(n);
  for (std::size_t i = 1; i < n; ++i) est[i] = make_pose(rot_y(deg_to_rad(10)), 0.3, 0, 0);
  camera_metric_options o;
  o.alignment = camera_alignment::none;
  const camera_metrics m = compare_trajectories(ref, est, o);
  EXPECT_NEAR(m.rot_err, 10.0 * 4 / 5, 1e-9);  // mean over 5 frames, degrees
  EXPECT_NEAR(m.trans_err, 0.3 * 4 / 5, 1e-12);
  const mat3 D = rot_y(deg_to_rad(10));
  double fro = 0.09;
  for (int k = 0; k < 9; ++k)
    fro += (D.a[k] - ((k % 4 == 0) ? 1.0 : 0.0)) * (D.a[k] - ((k % 4 == 0) ? 1.0 : 0.0));
  EXPECT_NEAR(m.cam_mc, std::sqrt(fro) * 4 / 5, 1e-12);
  EXPECT_NEAR(m.rot_err_per_frame[3], 10.0, 1e-9);
  // CamI2V style: sums, radians.
  o.mean = false;
  o.degrees = false;
  const camera_metrics s = compare_trajectories(ref, est, o);
  EXPECT_NEAR(s.rot_err, deg_to_rad(10) * 4, 1e-9);
  EXPECT_NEAR(s.trans_err, 0.3 * 4, 1e-12);
  // Translation normalisation by the reference's extent: a reference that moves 2 units.
  std::vector<mat4> ref2(n), est2(n);
  for (std::size_t i = 0; i < n; ++i)
    ref2[i] = make_pose(mat3{}, 0.5 * static_cast<double>(i), 0, 0), est2[i] = ref2[i];
  est2[4] = make_pose(mat3{}, 2.2, 0, 0);
  o.normalization = translation_normalization::reference_scale;
  EXPECT_NEAR(compare_trajectories(ref2, est2, o).trans_err, 0.2 / 2, 1e-8);
  o.normalization = translation_normalization::own_scale;  // both normalised to 1 at frame 4
  EXPECT_NEAR(compare_trajectories(ref2, est2, o).trans_err_per_frame[4], 0, 1e-8);
}

TEST(CameraMetrics, RejectsBadInput) {
  std::vector<mat4> a(3), b(4);
  EXPECT_THROW((void)compare_trajectories(a, b), error);
  EXPECT_THROW((void)compare_trajectories({}, {}), error);
  std::vector<mat4> c(3);
  c[1](0, 0) = 2;
  EXPECT_THROW((void)compare_trajectories(a, c), error);
}

}  // namespace
}  // namespace sanawm

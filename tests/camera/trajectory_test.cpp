// SPDX-License-Identifier: Apache-2.0
// Camera model layer: pose validation, intrinsics (resize + crop, latent grid, FOV bounds), relativisation,
// resampling, frame-count snapping, presets, and prepare_camera's errors.
#include "sanawm/model/camera/trajectory.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "camera_test_util.hpp"
#include "sanawm/model/camera/conditioning.hpp"
#include "sanawm/model/camera/presets.hpp"

namespace sanawm {
namespace {

// Runs f, expects sanawm::error whose message contains every needle.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const error& e) {
    for (const std::string& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(PoseValidation, AcceptsRigidAndNamesTheProblem) {
  std::mt19937_64 gen(1);
  for (int i = 0; i < 20; ++i) EXPECT_NO_THROW(validate_rigid(test::random_pose(gen), 1e-9, "t", "pose"));
  mat4 p = make_pose(rot_y(0.3), 1, 2, 3);
  p(0, 0) *= 1.01;
  expect_error([&] { validate_rigid(p, 1e-3, "t", "c2w frame 4"); }, {"[t] c2w frame 4", "not orthonormal"});
  mat4 refl;
  refl(1, 1) = -1;
  expect_error([&] { validate_rigid(refl, 1e-3, "t", "pose"); }, {"det R = -1", "reflection"});
  mat4 nan;
  nan(2, 3) = std::numeric_limits<double>::quiet_NaN();
  expect_error([&] { validate_rigid(nan, 1e-3, "t", "pose"); }, {"non-finite", "row 2, column 3"});
  mat4 bottom;
  bottom(3, 0) = 0.5;
  expect_error([&] { validate_rigid(bottom, 1e-3, "t", "pose"); }, {"bottom row"});
  // Small float32 noise passes the default tolerance; nearest_rotation repairs larger noise.
  mat4 noisy = make_pose(rot_x(0.7), 0, 0, 0);
  noisy(0, 1) += 2e-4;
  EXPECT_NO_THROW(validate_rigid(noisy, 1e-3, "t", "pose"));
  const mat3 fixed = nearest_rotation(rotation_of(noisy));
  const mat3 I = transpose(fixed) * fixed;
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(I.a[k], (k % 4 == 0) ? 1.0 : 0.0, 1e-12);
}

TEST(Svd3, ReconstructsAndOrdersSingularValues) {
  std::mt19937_64 gen(3);
  std::uniform_real_distribution<double> u(-2, 2);
  for (int rep = 0; rep < 50; ++rep) {
    mat3 A;
    for (double& a : A.a) a = u(gen);
    if (rep % 5 == 1)
      for (int c = 0; c < 3; ++c) A(2, c) = A(0, c) + A(1, c);  // rank 2
    if (rep % 5 == 2)
      for (int r = 0; r < 3; ++r) A(r, 1) = 2 * A(r, 0), A(r, 2) = -A(r, 0);  // rank 1
    const svd3_result d = svd3(A);
    EXPECT_GE(d.s[0], d.s[1]);
    EXPECT_GE(d.s[1], d.s[2]);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) {
        double s = 0;
        for (int k = 0; k < 3; ++k) s += d.U(r, k) * d.s[k] * d.V(c, k);
        EXPECT_NEAR(s, A(r, c), 1e-12) << "rep " << rep;
      }
    const mat3 UtU = transpose(d.U) * d.U, VtV = transpose(d.V) * d.V;
    for (int k = 0; k < 9; ++k) {
      EXPECT_NEAR(UtU.a[k], (k % 4 == 0) ? 1.0 : 0.0, 1e-12) << "rep " << rep;
      EXPECT_NEAR(VtV.a[k], (k % 4 == 0) ? 1.0 : 0.0, 1e-12) << "rep " << rep;
    }
  }
}

TEST(Intrinsics, ResizeCropMatchesUpstreamRule) {
  // 1920×1080 → 1280×704: scale max(704/1080, 1280/1920) = 2/3 → 1280×720, crop 8 rows from the top.
  const resize_crop g = compute_resize_crop(1920, 1080, 1280, 704);
  EXPECT_EQ(g.resized_width, 1280);
  EXPECT_EQ(g.resized_height, 720);
  EXPECT_EQ(g.left, 0);
  EXPECT_EQ(g.top, 8);
  const intrinsics k = apply_resize_crop({1500, 1500, 960, 540}, 1920, 1080, g);
  EXPECT_DOUBLE_EQ(k.fx, 1000);
  EXPECT_DOUBLE_EQ(k.cx, 640);
  EXPECT_DOUBLE_EQ(k.cy, 540.0 * 720 / 1080 - 8);
  // Portrait 720×1280 → scale max(704/1280, 1280/720) = 16/9 → 1280×2276 (2275.56 rounds up), crop 786 rows.
  const resize_crop p = compute_resize_crop(720, 1280, 1280, 704);
  EXPECT_EQ(p.resized_width, 1280);
  EXPECT_EQ(p.resized_height, 2276);
  EXPECT_EQ(p.top, (2276 - 704) / 2);
  // Python's round() is half-to-even: 101×1.5 = 151.5 → 152 and 99×1.5 = 148.5 → 148.
  EXPECT_EQ(compute_resize_crop(101, 10, 150, 15).resized_width, 152);
  EXPECT_EQ(compute_resize_crop(99, 10, 148, 15).resized_width, 148);
  EXPECT_THROW((void)compute_resize_crop(0, 10, 10, 10), error);
  const intrinsics l = to_latent_grid({800, 780, 640, 352}, 1280, 704, 40, 22);
  EXPECT_DOUBLE_EQ(l.fx, 25);
  EXPECT_DOUBLE_EQ(l.cy, 11);
  const intrinsics px = to_pixels({0.5, 0.8, 0.5, 0.5}, 640, 360);
  EXPECT_DOUBLE_EQ(px.fx, 320);
  EXPECT_DOUBLE_EQ(px.fy, 288);
}

TEST(Intrinsics, FovBounds) {
  // fx = W/2 → 90°.
  EXPECT_NEAR(fov_x_deg({640, 640, 640, 352}, 1280), 90.0, 1e-12);
  EXPECT_NO_THROW(validate_intrinsics({640, 640, 640, 352}, 1280, 704, {}, "t", "frame 0"));
  expect_error(
      [] {
        validate_intrinsics({5000, 5000, 640, 352}, 1280, 704, {}, "t", "frame 3");
      },
      {"frame 3", "field of view", "outside [25"});
  expect_error([] { validate_intrinsics({200, 200, 640, 352}, 1280, 704, {}, "t", "frame 0"); }, {"outside"});
  expect_error(
      [] {
        validate_intrinsics({0.5, 0.9, 0.5, 0.5}, 1280, 704, {}, "t", "frame 0");
      },
      {"normalised"});
  expect_error([] { validate_intrinsics({-1, 5, 0, 0}, 1280, 704, {}, "t", "frame 0"); }, {"positive"});
  expect_error(
      [] {
        validate_intrinsics({std::nan(""), 5, 0, 0}, 1280, 704, {}, "t", "frame 0");
      },
      {"not finite"});
}

TEST(Trajectory, RelativeToFirstStartsAtIdentity) {
  std::mt19937_64 gen(9);
  std::vector<mat4> c2w;
  for (int i = 0; i < 5; ++i) c2w.push_back(test::random_pose(gen));
  const auto rel = relative_to_first(c2w);
  for (int k = 0; k < 16; ++k) EXPECT_EQ(rel[0].m[k], (k % 5 == 0) ? 1.0 : 0.0);
  // c2w_0 · rel_i = c2w_i, and the relative poses do not depend on the world frame.
  const mat4 G = test::random_pose(gen);
  std::vector<mat4> moved;
  for (const mat4& p : c2w) moved.push_back(G * p);
  const auto rel2 = relative_to_first(moved);
  for (int i = 1; i < 5; ++i) {
    const mat4 back = c2w[0] * rel[static_cast<std::size_t>(i)];
    for (int k = 0; k < 16; ++k) {
      EXPECT_NEAR(back.m[k], c2w[static_cast<std::size_t>(i)].m[k], 1e-12);
      EXPECT_NEAR(rel2[static_cast<std::size_t>(i)].m[k], rel[static_cast<std::size_t>(i)].m[k], 1e-12);
    }
  }
}

TEST(Trajectory, ValidationErrors) {
  trajectory empty;
  expect_error([&] { validate_trajectory(empty); }, {"no frames"});
  trajectory tr = preset_trajectory(camera_preset::dolly_in, {});
  tr.K = {{1, 1, 0, 0}, {1, 1, 0, 0}};
  expect_error([&] { validate_trajectory(tr); }, {"81 poses but 2 intrinsics"});
  tr.K = {{0, 1, 0, 0}};
  expect_error([&] { validate_trajectory(tr); }, {"positive focal"});
  tr.K = {{100, 100, 0, 0}};
  tr.c2w[40](0, 0) = 3;
  expect_error([&] { validate_trajectory(tr); }, {"c2w frame 40"});
}

TEST(Trajectory, ResampleInterpolatesAndKeepsEnds) {
  preset_options po;
  po.frames = 11;
  po.speed = 3;  // 3°/frame → 30° at the end
  trajectory pan = preset_trajectory(camera_preset::pan_right, po);
  pan.K = {{500, 500, 320, 240}};
  const trajectory r = resample(pan, 21);
  ASSERT_EQ(r.frames(), 21);
  for (int k = 0; k < 16; ++k) {
    EXPECT_EQ(r.c2w[0].m[k], pan.c2w[0].m[k]);
    EXPECT_EQ(r.c2w[20].m[k], pan.c2w[10].m[k]);
    EXPECT_NEAR(r.c2w[1].m[k], make_pose(rot_y(deg_to_rad(1.5)), 0, 0, 0).m[k], 1e-12);  // slerp midpoint
  }
  EXPECT_NEAR(r.fps, 32.0, 1e-12);
  trajectory dolly = preset_trajectory(camera_preset::dolly_in, po);
  EXPECT_NEAR(resample(dolly, 5).c2w[1].t(2), 2.5 * 3, 1e-12);
  EXPECT_EQ(resample(dolly, 1).frames(), 1);
  expect_error([&] { (void)resample(dolly, -3); }, {"at least 1", "-3"});
  expect_error([&] { (void)resample(trajectory{}, 3); }, {"empty"});
  // Frame rate: 11 frames at 16 fps (10/16 s) → 8 fps gives 6 frames, every other pose.
  const trajectory h = resample_fps(pan, 8);
  ASSERT_EQ(h.frames(), 6);
  for (int k = 0; k < 16; ++k) EXPECT_EQ(h.c2w[3].m[k], pan.c2w[6].m[k]);
  expect_error([&] { (void)resample_fps(pan, 0); }, {"positive"});
  // take_frames truncates or holds the last pose.
  const trajectory t = take_frames(pan, 14);
  ASSERT_EQ(t.frames(), 14);
  for (int k = 0; k < 16; ++k) EXPECT_EQ(t.c2w[13].m[k], pan.c2w[10].m[k]);
  EXPECT_EQ(take_frames(pan, 4).frames(), 4);
  expect_error([&] { (void)take_frames(pan, 0); }, {"at least 1"});
}

TEST(Trajectory, SnapNumFramesMatchesUpstream) {
  EXPECT_EQ(snap_num_frames(161), 161);
  EXPECT_EQ(snap_num_frames(160), 161);
  EXPECT_EQ(snap_num_frames(164), 161);
  EXPECT_EQ(snap_num_frames(165), 169);  // tie goes up
  EXPECT_EQ(snap_num_frames(0), 1);
  EXPECT_EQ(snap_num_frames(-5), 1);
  EXPECT_EQ(snap_num_frames(168, 8, 165), 161);
  EXPECT_EQ(snap_num_frames(961), 961);
}

TEST(Presets, MoveTheWayTheirNamesSay) {
  preset_options po;
  po.frames = 5;
  auto last = [&](camera_preset p) { return preset_c2w(p, po).back(); };
  EXPECT_GT(last(camera_preset::dolly_in).t(2), 0);
  EXPECT_LT(last(camera_preset::dolly_out).t(2), 0);
  EXPECT_LT(last(camera_preset::truck_left).t(0), 0);
  EXPECT_GT(last(camera_preset::truck_right).t(0), 0);
  EXPECT_LT(last(camera_preset::crane_up).t(1), 0);  // up is −y
  EXPECT_GT(last(camera_preset::crane_down).t(1), 0);
  EXPECT_LT(last(camera_preset::pan_left)(0, 2), 0);  // forward turns toward −x
  EXPECT_GT(last(camera_preset::pan_right)(0, 2), 0);
  EXPECT_LT(last(camera_preset::tilt_up)(1, 2), 0);  // forward turns toward −y (up)
  EXPECT_GT(last(camera_preset::tilt_down)(1, 2), 0);
  for (int k = 0; k < 16; ++k) EXPECT_EQ(last(camera_preset::static_camera).m[k], (k % 5 == 0) ? 1.0 : 0.0);
  EXPECT_NEAR(last(camera_preset::dolly_in).t(2), 4 * 0.025, 1e-15);  // default speed
  // Orbits keep the target (radius ahead of the first camera) on the optical axis, at constant distance.
  po.frames = 60;
  po.speed = 2;
  po.radius = 3;
  for (camera_preset p : {camera_preset::orbit_left, camera_preset::orbit_right}) {
    for (const mat4& c : preset_c2w(p, po)) {
      const double d[3] = {0 - c.t(0), 0 - c.t(1), 3 - c.t(2)};
      const double n = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
      EXPECT_NEAR(n, 3, 1e-12);
      for (int i = 0; i < 3; ++i) EXPECT_NEAR(c(i, 2), d[i] / n, 1e-12);
    }
  }
  EXPECT_LT(preset_c2w(camera_preset::orbit_left, po)[5].t(0), 0);
  EXPECT_GT(preset_c2w(camera_preset::orbit_right, po)[5].t(0), 0);
}

TEST(Presets, ParsingAndErrors) {
  EXPECT_EQ(parse_camera_preset("Dolly-In"), camera_preset::dolly_in);
  EXPECT_EQ(parse_camera_preset("orbit"), camera_preset::orbit_left);
  EXPECT_EQ(parse_camera_preset("crane up"), camera_preset::crane_up);
  for (std::size_t i = 0; i < camera_preset_names.size(); ++i)
    EXPECT_EQ(parse_camera_preset(camera_preset_names[i]), static_cast<camera_preset>(i));
  expect_error([] { (void)parse_camera_preset("zoom_in"); }, {"unknown preset 'zoom_in'", "dolly_in"});
  preset_options po;
  po.frames = -1;
  expect_error([&] { (void)preset_c2w(camera_preset::dolly_in, po); }, {"frame count", "-1"});
  po.frames = 5;
  po.radius = 0;
  expect_error([&] { (void)preset_c2w(camera_preset::orbit_left, po); }, {"radius"});
}

TEST(PrepareCamera, ErrorsAreClear) {
  trajectory tr = preset_trajectory(camera_preset::dolly_in, {});
  expect_error([&] { (void)prepare_camera(tr); }, {"[prepare_camera]", "no intrinsics"});
  tr.K = {{5000, 5000, 640, 352}};
  expect_error([&] { (void)prepare_camera(tr); }, {"[prepare_camera]", "frame 0", "field of view"});
  tr.K = {{800, 800, 640, 352}};
  camera_geometry g;
  g.width = 1000;
  expect_error([&] { (void)prepare_camera(tr, g); }, {"multiple of the spatial stride"});
  std::vector<trajectory> two = {tr, take_frames(tr, 17)};
  expect_error([&] { (void)prepare_camera(std::span<const trajectory>(two)); }, {"17 frames", "81"});
  const camera_conditioning c = prepare_camera(tr);
  EXPECT_EQ(c.latent_frames, 11);
  EXPECT_EQ(c.camera_conditions.extent(1), 11);
  EXPECT_NEAR(c.camera_conditions(0, 10, 11), 80 * 0.025, 1e-6);  // latent 10 = raw frame 80
}

}  // namespace
}  // namespace sanawm

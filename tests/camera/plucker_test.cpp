// SPDX-License-Identifier: Apache-2.0
// Plücker conditioning: hand cases (identity, pure yaw, pure translation), the dossier's test vector, the
// chunk frame rule, the fast float body against the float64 twin on random data, shape errors, and the GPU
// run (twin).
#include "sanawm/kernels/plucker/plucker.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "camera_test_util.hpp"
#include "support/backends.hpp"
#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/kernels/plucker/plucker_ref.hpp"
#include "sanawm/model/camera/conditioning.hpp"
#include "support/test_util.hpp"

namespace sanawm {
namespace {

// Random inputs: B trajectories of F raw frames with rigid poses and plausible latent intrinsics.
struct plucker_case {
  index_t B, F, T, H, W;
  std::vector<float> poses, intr;
  plucker_case(index_t b, index_t f, index_t h, index_t w, std::uint64_t seed)
      : B(b),
        F(f),
        T(latent_frame_count(f)),
        H(h),
        W(w),
        poses(static_cast<std::size_t>(b * f * 16)),
        intr(static_cast<std::size_t>(b * f * 4)) {
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> fx(0.6 * static_cast<double>(w), 1.4 * static_cast<double>(w));
    std::uniform_real_distribution<double> jitter(-0.3, 0.3);
    for (index_t i = 0; i < b * f; ++i) {
      const mat4 p = test::random_pose(gen);
      for (int k = 0; k < 16; ++k) poses[static_cast<std::size_t>(16 * i + k)] = static_cast<float>(p.m[k]);
      const double f0 = fx(gen);
      intr[static_cast<std::size_t>(4 * i + 0)] = static_cast<float>(f0);
      intr[static_cast<std::size_t>(4 * i + 1)] = static_cast<float>(f0 * (1 + 0.1 * jitter(gen)));
      intr[static_cast<std::size_t>(4 * i + 2)] =
          static_cast<float>((static_cast<double>(w) - 1) / 2 + jitter(gen));
      intr[static_cast<std::size_t>(4 * i + 3)] =
          static_cast<float>((static_cast<double>(h) - 1) / 2 + jitter(gen));
    }
  }
  auto poses_view() const {
    return tensor_view<const float, extents<dyn, dyn, 16>>(poses.data(), extents<dyn, dyn, 16>(B, F));
  }
  auto intr_view() const {
    return tensor_view<const float, extents<dyn, dyn, 4>>(intr.data(), extents<dyn, dyn, 4>(B, F));
  }
  index_t out_size() const { return B * plucker_channels * T * H * W; }
};

using out_extents = extents<dyn, plucker_channels, dyn, dyn, dyn>;

TEST(PluckerFrameRule, ChunksAreTheFramesTheCausalVaeFolds) {
  // F = 17: latent 0 = raw 0..7, latent 1 = raw 1..8, latent 2 = raw 9..16.
  for (index_t j = 0; j < 8; ++j) {
    EXPECT_EQ(plucker_source_frame(0, j, 17), j);
    EXPECT_EQ(plucker_source_frame(1, j, 17), 1 + j);
    EXPECT_EQ(plucker_source_frame(2, j, 17), 9 + j);
  }
  // Short clip (F = 3): the tail repeats the last pose.
  EXPECT_EQ(plucker_source_frame(0, 0, 3), 0);
  EXPECT_EQ(plucker_source_frame(0, 2, 3), 2);
  EXPECT_EQ(plucker_source_frame(0, 7, 3), 2);
  EXPECT_EQ(latent_frame_count(1), 1);
  EXPECT_EQ(latent_frame_count(17), 3);
  EXPECT_EQ(latent_frame_count(961), 121);
  EXPECT_EQ(latent_frame_count(20), 3);
}

TEST(PluckerHand, IdentityPoseHasCameraRaysAndZeroMoment) {
  const float pose[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  const float k[4] = {2.0f, 3.0f, 1.5f, 0.5f};
  for (int v = 0; v < 3; ++v)
    for (int u = 0; u < 4; ++u) {
      double r[6];
      plucker_ray<double>(pose, k, u, v, r);
      const double x = (u - 1.5) / 2.0, y = (v - 0.5) / 3.0, n = std::sqrt(x * x + y * y + 1);
      EXPECT_NEAR(r[0], x / n, 1e-15);
      EXPECT_NEAR(r[1], y / n, 1e-15);
      EXPECT_NEAR(r[2], 1 / n, 1e-15);
      for (int c = 3; c < 6; ++c) EXPECT_EQ(r[c], 0.0);
    }
}

TEST(PluckerHand, PureYawRotatesTheRayAboutY) {
  const double th = deg_to_rad(30);
  const mat4 p = make_pose(rot_y(th), 0, 0, 0);
  float pose[16];
  for (int i = 0; i < 16; ++i) pose[i] = static_cast<float>(p.m[i]);
  const float k[4] = {2, 2, 1, 1};
  double r[6];
  plucker_ray<double>(pose, k, 1.0, 1.0, r);  // the principal ray (0, 0, 1) turns right by 30°
  EXPECT_NEAR(r[0], std::sin(th), 1e-7);
  EXPECT_NEAR(r[1], 0.0, 1e-7);
  EXPECT_NEAR(r[2], std::cos(th), 1e-7);
  plucker_ray<double>(pose, k, 1.0, 3.0, r);  // (0, 1, 1)/√2 keeps its y and turns its z
  EXPECT_NEAR(r[0], std::sin(th) / std::sqrt(2.0), 1e-7);
  EXPECT_NEAR(r[1], 1 / std::sqrt(2.0), 1e-7);
  EXPECT_NEAR(r[2], std::cos(th) / std::sqrt(2.0), 1e-7);
  for (int c = 3; c < 6; ++c) EXPECT_EQ(r[c], 0.0);
}

TEST(PluckerHand, PureTranslationKeepsDirectionsAndMomentIsOCrossD) {
  const float pose[16] = {1, 0, 0, 0.5f, 0, 1, 0, -1.0f, 0, 0, 1, 2.0f, 0, 0, 0, 1};
  const float k[4] = {2, 2, 1, 1};
  double r[6];
  plucker_ray<double>(pose, k, 0.0, 1.0, r);  // d = (−1, 0, 2)/√5
  const double s = std::sqrt(5.0), d[3] = {-1 / s, 0, 2 / s}, o[3] = {0.5, -1, 2};
  EXPECT_NEAR(r[0], d[0], 1e-15);
  EXPECT_NEAR(r[1], d[1], 1e-15);
  EXPECT_NEAR(r[2], d[2], 1e-15);
  EXPECT_NEAR(r[3], o[1] * d[2] - o[2] * d[1], 1e-15);
  EXPECT_NEAR(r[4], o[2] * d[0] - o[0] * d[2], 1e-15);
  EXPECT_NEAR(r[5], o[0] * d[1] - o[1] * d[0], 1e-15);
  EXPECT_NEAR(r[0] * r[3] + r[1] * r[4] + r[2] * r[5], 0.0, 1e-15);  // a Plücker line: d·m = 0
}

// nvfp4-plucker-ucpe.md B.7: 9 raw frames, 64×64 image, 2×2 latent grid, local yaw 2°/frame and forward
// 0.1/frame on top of an arbitrary world placement.
TEST(PluckerDossier, TestVectorB7) {
  std::mt19937_64 gen(7);
  const mat4 world = test::random_pose(gen);
  trajectory tr;
  for (int i = 0; i < 9; ++i) tr.c2w.push_back(world * make_pose(rot_y(deg_to_rad(2.0 * i)), 0, 0, 0.1 * i));
  tr.K = {{64, 64, 32, 32}};
  tr.image_width = tr.image_height = 64;
  camera_geometry g;
  g.height = g.width = 64;
  const camera_conditioning c = prepare_camera(tr, g);
  ASSERT_EQ(c.latent_frames, 2);
  ASSERT_EQ(c.latent_height, 2);
  const auto cp = make_chunk_plucker(c);
  // Latent 1 holds raw frames 1..8; frame 8 sits in slot j = 7, channels 42..47.
  const double want00[6] = {-0.167376, -0.408248, 0.897395, 0.326599, -0.133901, 0};
  const double want11[6] = {0.275637, 0, 0.961262, 0, 0.220510, 0};
  for (int ch = 0; ch < 6; ++ch) {
    EXPECT_NEAR(cp(0, 42 + ch, 1, 0, 0), want00[ch], 2e-6) << "channel " << ch;
    EXPECT_NEAR(cp(0, 42 + ch, 1, 1, 1), want11[ch], 2e-6) << "channel " << ch;
  }
  // Raymap rows: latent 0 = frame 0 (identity), latent 1 = frame 8 = rot_y(16°), t = (0, 0, 0.8).
  EXPECT_NEAR(c.camera_conditions(0, 1, 0), 0.961262, 2e-6);
  EXPECT_NEAR(c.camera_conditions(0, 1, 2), 0.275637, 2e-6);
  EXPECT_NEAR(c.camera_conditions(0, 1, 8), -0.275637, 2e-6);
  EXPECT_NEAR(c.camera_conditions(0, 1, 11), 0.8, 2e-6);
  EXPECT_EQ(c.camera_conditions(0, 0, 0), 1.0f);
  EXPECT_EQ(c.camera_conditions(0, 0, 16), 2.0f);  // fx in latent cells
  EXPECT_EQ(c.camera_conditions(0, 0, 18), 1.0f);  // cx
}

TEST(ChunkPlucker, FastBodyMatchesFloat64TwinOnRandomData) {
  for (const auto& [B, F, H, W] :
       {std::array<index_t, 4>{2, 17, 3, 5}, {1, 12, 4, 4}, {1, 3, 2, 3}, {3, 25, 2, 2}}) {
    const plucker_case pc(B, F, H, W, test::test_seed() + static_cast<std::uint64_t>(F));
    std::vector<float> out(static_cast<std::size_t>(pc.out_size()));
    test::poison(std::span<float>(out));
    std::vector<double> ref(out.size());
    chunk_plucker(cpu_t{}, pc.poses_view(), pc.intr_view(),
                  tensor_view<float, out_extents>(out.data(), out_extents(B, pc.T, H, W)));
    chunk_plucker_ref(pc.poses_view(), pc.intr_view(),
                      tensor_view<double, out_extents>(ref.data(), out_extents(B, pc.T, H, W)));
    double worst = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(std::isfinite(out[i])) << "element " << i << " not written";
      worst = std::max(worst, std::fabs(out[i] - ref[i]));
    }
    // Directions are unit vectors and |moment| ≤ |t| ≤ 3.5: float32 keeps them within a few ulps.
    EXPECT_LT(worst, 4e-6) << "B=" << B << " F=" << F;
  }
}

TEST(ChunkPlucker, RejectsMismatchedShapes) {
  const plucker_case pc(1, 9, 2, 2, 3);
  std::vector<float> out(static_cast<std::size_t>(1 * 48 * 3 * 2 * 2));
  // T = 3 latent frames, but 9 raw frames only make 2.
  EXPECT_THROW(chunk_plucker(cpu_t{}, pc.poses_view(), pc.intr_view(),
                             tensor_view<float, out_extents>(out.data(), out_extents(1, 3, 2, 2))),
               error);
  EXPECT_THROW(chunk_plucker(
                   cpu_t{}, pc.poses_view(),
                   tensor_view<const float, extents<dyn, dyn, 4>>(pc.intr.data(), extents<dyn, dyn, 4>(1, 8)),
                   tensor_view<float, out_extents>(out.data(), out_extents(1, 2, 2, 2))),
               error);
  try {
    chunk_plucker(cpu_t{}, pc.poses_view(), pc.intr_view(),
                  tensor_view<float, out_extents>(out.data(), out_extents(2, 2, 2, 2)));
    FAIL() << "batch mismatch accepted";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("[chunk_plucker]"), std::string::npos) << e.what();
  }
}

TEST(ChunkPlucker, RunsOnTheGpu) {
#if SANAWM_TEST_HAS_CUDA_BACKEND
  if (const std::string why = test::cuda_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const plucker_case pc(2, 17, 22, 40, test::test_seed());
  std::vector<float> poisoned(static_cast<std::size_t>(pc.out_size()));
  test::poison(std::span<float>(poisoned));
  const auto dp = test::to_device(pc.poses);
  const auto dk = test::to_device(pc.intr);
  auto dout = test::to_device(poisoned);
  const chunk_plucker_body<float> body{
      tensor_view<const float, extents<dyn, dyn, 16>>(dp.data(), extents<dyn, dyn, 16>(pc.B, pc.F)),
      tensor_view<const float, extents<dyn, dyn, 4>>(dk.data(), extents<dyn, dyn, 4>(pc.B, pc.F)),
      tensor_view<float, out_extents>(dout.data(), out_extents(pc.B, pc.T, pc.H, pc.W))};
  test::run_body_on_gpu(body, pc.B * pc.T * pc.H * pc.W);
  const std::vector<float> out = test::to_host(dout);
  std::vector<double> ref(out.size());
  chunk_plucker_ref(pc.poses_view(), pc.intr_view(),
                    tensor_view<double, out_extents>(ref.data(), out_extents(pc.B, pc.T, pc.H, pc.W)));
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 4e-6) << "element " << i;
#else
  GTEST_SKIP() << "host build: the GPU run is in the nvcc twin (camera_test_cuda)";
#endif
}

}  // namespace
}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// UCPE: the dossier's test vector, ray-frame properties, the NaN → identity rule, raymats and q/k/v/o
// transforms against the float64 twin on random data, world-frame invariance of the logits, and the GPU run
// (nvcc twin).
#include "sanawm/kernels/plucker/ucpe.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "camera_test_util.hpp"
#include "support/backends.hpp"
#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/kernels/plucker/ucpe_ref.hpp"
#include "support/test_util.hpp"

namespace sanawm {
namespace {

using cond_extents = extents<dyn, dyn, camera_condition_width>;
using raymat_extents = extents<dyn, dyn, dyn, dyn, 16>;

// camera_conditions rows for random rigid poses and plausible latent intrinsics of an H × W grid.
std::vector<float> random_conditions(index_t rows, index_t h, index_t w, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> j(-0.4, 0.4);
  std::vector<float> c(static_cast<std::size_t>(rows * 20));
  for (index_t r = 0; r < rows; ++r) {
    const mat4 p = test::random_pose(gen);
    for (int k = 0; k < 16; ++k) c[static_cast<std::size_t>(20 * r + k)] = static_cast<float>(p.m[k]);
    const double f = static_cast<double>(w) * (0.8 + 0.4 * (j(gen) + 0.4));
    c[static_cast<std::size_t>(20 * r + 16)] = static_cast<float>(f);
    c[static_cast<std::size_t>(20 * r + 17)] = static_cast<float>(f * (1 + 0.1 * j(gen)));
    c[static_cast<std::size_t>(20 * r + 18)] = static_cast<float>((static_cast<double>(w) - 1) / 2 + j(gen));
    c[static_cast<std::size_t>(20 * r + 19)] = static_cast<float>((static_cast<double>(h) - 1) / 2 + j(gen));
  }
  return c;
}

TEST(UcpeRaymat, DossierTestVectorC8) {
  const float cond[20] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 2, 1, 1};
  double P[16];
  ucpe_raymat<double>(cond, 0.0, 1.0, P);
  const double want[16] = {0.894427, 0, 0.447214, 0, 0, 1, 0, 0, -0.447214, 0, 0.894427, 0, 0, 0, 0, 1};
  for (int k = 0; k < 16; ++k) EXPECT_NEAR(P[k], want[k], 1e-6) << "entry " << k;
}

TEST(UcpeRaymat, IsARigidWorldToRayTransform) {
  const std::vector<float> c = random_conditions(8, 5, 7, test::test_seed());
  for (index_t r = 0; r < 8; ++r)
    for (int v = 0; v < 5; ++v)
      for (int u = 0; u < 7; ++u) {
        const float* row = &c[static_cast<std::size_t>(20 * r)];
        double P[16], Pi[16];
        ucpe_raymat<double>(row, u, v, P);
        // Rotation block orthonormal with det +1.
        mat3 R;
        for (int i = 0; i < 3; ++i)
          for (int k = 0; k < 3; ++k) R(i, k) = P[4 * i + k];
        const mat3 RtR = transpose(R) * R;
        for (int i = 0; i < 9; ++i) ASSERT_NEAR(RtR.a[i], (i % 4 == 0) ? 1.0 : 0.0, 1e-6);
        ASSERT_NEAR(det(R), 1.0, 1e-6);
        // The camera centre maps to the ray origin and centre + ray direction to (0, 0, 1).
        const double o[3] = {row[3], row[7], row[11]};
        double d[3];
        {
          double dc[3] = {(u - row[18]) / row[16], (v - row[19]) / row[17], 1.0};
          for (int i = 0; i < 3; ++i)
            d[i] = row[4 * i] * dc[0] + row[4 * i + 1] * dc[1] + row[4 * i + 2] * dc[2];
          const double n = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
          for (double& x : d) x /= n;
        }
        for (int i = 0; i < 3; ++i) {
          const double at_o = P[4 * i] * o[0] + P[4 * i + 1] * o[1] + P[4 * i + 2] * o[2] + P[4 * i + 3];
          const double at_d = P[4 * i] * (o[0] + d[0]) + P[4 * i + 1] * (o[1] + d[1]) +
                              P[4 * i + 2] * (o[2] + d[2]) + P[4 * i + 3];
          ASSERT_NEAR(at_o, 0.0, 1e-6);
          ASSERT_NEAR(at_d, i == 2 ? 1.0 : 0.0, 1e-6);
        }
        // The ray frame's x axis is perpendicular to the camera's y axis (no roll about the ray).
        ASSERT_NEAR(P[0] * row[1] + P[1] * row[5] + P[2] * row[9], 0.0, 1e-6);
        se3_inverse(P, Pi);
        for (int i = 0; i < 4; ++i)
          for (int k = 0; k < 4; ++k) {
            double s = 0;
            for (int m = 0; m < 4; ++m) s += P[4 * i + m] * Pi[4 * m + k];
            ASSERT_NEAR(s, i == k ? 1.0 : 0.0, 1e-12);
          }
      }
}

TEST(UcpeRaymat, DegenerateIntrinsicsGiveIdentity) {
  float cond[20] = {1, 0, 0, 0.5f, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 2, 1, 1};
  cond[16] = std::numeric_limits<float>::quiet_NaN();
  float P[16];
  double Pr[16];
  ucpe_raymat<float>(cond, 1.0f, 1.0f, P);
  ucpe_raymat_ref(cond, 1, 1, Pr);
  for (int k = 0; k < 16; ++k) {
    EXPECT_EQ(P[k], (k % 5 == 0) ? 1.0f : 0.0f);
    EXPECT_EQ(Pr[k], (k % 5 == 0) ? 1.0 : 0.0);
  }
}

TEST(UcpeRaymats, FastBodyMatchesFloat64TwinOnRandomData) {
  const index_t B = 2, T = 3, H = 6, W = 9;
  const std::vector<float> c = random_conditions(B * T, H, W, test::test_seed() + 1);
  std::vector<float> out(static_cast<std::size_t>(B * T * H * W * 16));
  test::poison(std::span<float>(out));
  std::vector<double> ref(out.size());
  ucpe_raymats(cpu_t{}, tensor_view<const float, cond_extents>(c.data(), cond_extents(B, T)),
               tensor_view<float, raymat_extents>(out.data(), raymat_extents(B, T, H, W)));
  ucpe_raymats_ref(tensor_view<const float, cond_extents>(c.data(), cond_extents(B, T)),
                   tensor_view<double, raymat_extents>(ref.data(), raymat_extents(B, T, H, W)));
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(std::isfinite(out[i])) << "element " << i << " not written";
    ASSERT_NEAR(out[i], ref[i], 4e-6) << "element " << i;  // |translation| ≤ 3.5, float32 rounding
  }
}

template <ucpe_op Op>
void check_transform(std::uint64_t seed) {
  constexpr index_t D = 112;
  const index_t B = 2, N = 10, H = 3;
  std::mt19937_64 gen(seed);
  std::vector<double> P(static_cast<std::size_t>(B * N * 16));
  std::vector<float> Pf(P.size());
  const std::vector<float> c = random_conditions(B * N, 4, 4, seed);
  for (index_t i = 0; i < B * N; ++i) {
    ucpe_raymat_ref(&c[static_cast<std::size_t>(20 * i)], i % 4, (i / 4) % 4,
                    &P[static_cast<std::size_t>(16 * i)]);
    for (int k = 0; k < 16; ++k)
      Pf[static_cast<std::size_t>(16 * i + k)] = static_cast<float>(P[static_cast<std::size_t>(16 * i + k)]);
  }
  // The reference takes the same float matrices the fast path reads.
  for (std::size_t i = 0; i < P.size(); ++i) P[i] = Pf[i];
  const std::vector<float> x0 =
      test::random_vector<float>(static_cast<std::size_t>(B * N * H * D), -2, 2, seed + 7);
  std::vector<float> x = x0;
  std::vector<double> ref(x.size());
  using xe = extents<dyn, dyn, dyn, D>;
  ucpe_transform<D, Op>(
      cpu_t{}, tensor_view<float, xe>(x.data(), xe(B, N, H)),
      tensor_view<const float, extents<dyn, dyn, 16>>(Pf.data(), extents<dyn, dyn, 16>(B, N)));
  ucpe_transform_ref<D>(
      Op, tensor_view<const float, xe>(x0.data(), xe(B, N, H)),
      tensor_view<const double, extents<dyn, dyn, 16>>(P.data(), extents<dyn, dyn, 16>(B, N)),
      tensor_view<double, xe>(ref.data(), xe(B, N, H)));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i % D >= D / 2)
      ASSERT_EQ(x[i], x0[i]) << "RoPE half changed at " << i;
    else
      ASSERT_NEAR(x[i], ref[i], 2e-5 * (1 + std::fabs(ref[i]))) << "element " << i;
  }
}

TEST(UcpeTransform, QueryKeyValueOutputMatchFloat64Twin) {
  check_transform<ucpe_op::query>(test::test_seed() + 11);
  check_transform<ucpe_op::key_value>(test::test_seed() + 12);
  check_transform<ucpe_op::output>(test::test_seed() + 13);
}

TEST(UcpeTransform, OutputUndoesKeyValue) {
  const float cond[20] = {0.8f, 0, 0.6f, 1.5f, 0, 1, 0, -0.5f, -0.6f, 0, 0.8f, 2.0f, 0, 0, 0, 1, 3, 3, 2, 1};
  float P[16], Mkv[16], Mo[16];
  ucpe_raymat<float>(cond, 3.0f, 0.0f, P);
  ucpe_matrix<ucpe_op::key_value>(P, Mkv);
  ucpe_matrix<ucpe_op::output>(P, Mo);
  const std::vector<float> x0 = test::random_vector<float>(112, -1, 1);
  std::vector<float> x = x0;
  ucpe_apply_head<112>(Mkv, x.data());
  ucpe_apply_head<112>(Mo, x.data());
  for (std::size_t i = 0; i < 112; ++i) EXPECT_NEAR(x[i], x0[i], 2e-6);
}

// q̃_m·k̃_n over the UCPE half is q_gᵀ P_m P_n⁻¹ k_g: unchanged when the whole world moves (c2w → G·c2w).
TEST(UcpeTransform, LogitsAreInvariantToTheWorldFrame) {
  std::mt19937_64 gen(test::test_seed() + 5);
  const std::vector<float> c = random_conditions(2, 4, 4, test::test_seed() + 6);
  const mat4 G = test::random_pose(gen, 5.0);
  std::vector<float> cg = c;
  for (int r = 0; r < 2; ++r) {
    mat4 p;
    for (int k = 0; k < 16; ++k) p.m[k] = c[static_cast<std::size_t>(20 * r + k)];
    const mat4 q = G * p;
    for (int k = 0; k < 16; ++k) cg[static_cast<std::size_t>(20 * r + k)] = static_cast<float>(q.m[k]);
  }
  const std::vector<double> q = test::random_vector<double>(56, -1, 1, 1),
                            k = test::random_vector<double>(56, -1, 1, 2);
  auto logit = [&](const std::vector<float>& cc) {
    double Pm[16], Pn[16], Mq[16], Mk[16];
    ucpe_raymat<double>(&cc[0], 1.0, 2.0, Pm);
    ucpe_raymat<double>(&cc[20], 3.0, 0.0, Pn);
    ucpe_matrix<ucpe_op::query>(Pm, Mq);
    ucpe_matrix<ucpe_op::key_value>(Pn, Mk);
    std::vector<double> qq(112, 0.0), kk(112, 0.0);
    std::copy(q.begin(), q.end(), qq.begin());
    std::copy(k.begin(), k.end(), kk.begin());
    ucpe_apply_head<112>(Mq, qq.data());
    ucpe_apply_head<112>(Mk, kk.data());
    double s = 0;
    for (int i = 0; i < 56; ++i) s += qq[static_cast<std::size_t>(i)] * kk[static_cast<std::size_t>(i)];
    return s;
  };
  EXPECT_NEAR(logit(c), logit(cg), 1e-5 * (1 + std::fabs(logit(c))));
}

// Head-dimension code lives in templates: nvcc 13's front end prints a literal index_t template argument as
// `signed long((112))`, which the host compiler rejects; a dependent D is printed by name.
template <index_t D>
void expect_transform_shape_error() {
  std::vector<float> x(2 * 3 * 1 * D), P(2 * 4 * 16);
  using xe = extents<dyn, dyn, dyn, D>;
  EXPECT_THROW((ucpe_transform<D, ucpe_op::query>(
                   cpu_t{}, tensor_view<float, xe>(x.data(), xe(2, 3, 1)),
                   tensor_view<const float, extents<dyn, dyn, 16>>(P.data(), extents<dyn, dyn, 16>(2, 4)))),
               error);
}

TEST(UcpeTransform, RejectsMismatchedShapes) {
  expect_transform_shape_error<112>();
  std::vector<float> c(20), out(16 * 4);
  EXPECT_THROW(ucpe_raymats(cpu_t{}, tensor_view<const float, cond_extents>(c.data(), cond_extents(1, 1)),
                            tensor_view<float, raymat_extents>(out.data(), raymat_extents(1, 2, 1, 2))),
               error);
}

#if SANAWM_TEST_HAS_CUDA_BACKEND
// The query transform of x [1, N, 2, D] on the device (raymats already there) against the CPU body.
template <index_t D>
void transform_on_gpu(const float* device_raymats, const std::vector<float>& host_raymats, index_t N) {
  const std::vector<float> x0 = test::random_vector<float>(static_cast<std::size_t>(N * 2 * D), -2, 2);
  auto dx = test::to_device(x0);
  using xe = extents<dyn, dyn, dyn, D>;
  using pe = extents<dyn, dyn, 16>;
  test::run_body_on_gpu(
      ucpe_transform_body<D, ucpe_op::query, float>{tensor_view<float, xe>(dx.data(), xe(1, N, 2)),
                                                    tensor_view<const float, pe>(device_raymats, pe(1, N))},
      N * 2);
  std::vector<float> host = x0;
  ucpe_transform<D, ucpe_op::query>(cpu_t{}, tensor_view<float, xe>(host.data(), xe(1, N, 2)),
                                    tensor_view<const float, pe>(host_raymats.data(), pe(1, N)));
  const std::vector<float> dev = test::to_host(dx);
  for (std::size_t i = 0; i < dev.size(); ++i)
    ASSERT_NEAR(dev[i], host[i], 2e-5 * (1 + std::fabs(host[i]))) << i;
}
#endif

TEST(Ucpe, RunsOnTheGpu) {
#if SANAWM_TEST_HAS_CUDA_BACKEND
  if (const std::string why = test::cuda_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const index_t B = 1, T = 3, H = 22, W = 40;
  const std::vector<float> c = random_conditions(B * T, H, W, test::test_seed() + 21);
  std::vector<float> poisoned(static_cast<std::size_t>(B * T * H * W * 16));
  test::poison(std::span<float>(poisoned));
  const auto dc = test::to_device(c);
  auto dp = test::to_device(poisoned);
  test::run_body_on_gpu(
      ucpe_raymats_body<float>{tensor_view<const float, cond_extents>(dc.data(), cond_extents(B, T)),
                               tensor_view<float, raymat_extents>(dp.data(), raymat_extents(B, T, H, W))},
      B * T * H * W);
  const std::vector<float> P = test::to_host(dp);
  std::vector<double> ref(P.size());
  ucpe_raymats_ref(tensor_view<const float, cond_extents>(c.data(), cond_extents(B, T)),
                   tensor_view<double, raymat_extents>(ref.data(), raymat_extents(B, T, H, W)));
  for (std::size_t i = 0; i < P.size(); ++i) ASSERT_NEAR(P[i], ref[i], 4e-6) << "raymat element " << i;
  // q transform on the device: x [1, T·H·W, 2, 112].
  transform_on_gpu<112>(dp.data(), P, T * H * W);
#else
  GTEST_SKIP() << "host build: the GPU run is in the nvcc twin (camera_test_cuda)";
#endif
}

}  // namespace
}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// tests/gdn/gdn_cuda_test.cu — the CUDA frame-wise GDN and token-wise recurrent kernels against the float64
// twins and the upstream golden scans. Every case skips with the reason when no CUDA device is usable.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gdn_test_util.hpp"
#include "sanawm/backend/cuda/device.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/kernels/gdn/delta_rule_ref.hpp"
#include "sanawm/kernels/gdn/gdn_cuda.cuh"
#include "sanawm/kernels/gdn/gdn_ref.hpp"

namespace sanawm::test {

#define SANAWM_REQUIRE_DEVICE() \
  if (!has_cuda_device()) GTEST_SKIP() << no_cuda_device_reason()

/// A device copy of a host array with strided views of the same shape (outside the anonymous namespace: nvcc
/// warns about unused members of class templates with internal linkage).
template <class A>
struct on_device {
  device_buffer<float> buf;
  const A* host;
  explicit on_device(const A& a) : buf(static_cast<index_t>(a.data.size())), host(&a) {
    buf.copy_from_host(std::span<const float>(a.data));
  }
  auto sview() const {
    using E = typename A::dyn_extents;
    const auto e = host->template make_extents<E>(std::make_index_sequence<E::rank()>{});
    return tensor_view<const float, E, layout_stride>(tensor_view<const float, E>(buf.data(), e));
  }
  auto msview() {
    using E = typename A::dyn_extents;
    const auto e = host->template make_extents<E>(std::make_index_sequence<E::rank()>{});
    return tensor_view<float, E, layout_stride>(tensor_view<float, E>(buf.data(), e));
  }
  auto view() {
    using E = typename A::dyn_extents;
    return tensor_view<float, E>(buf.data(),
                                 host->template make_extents<E>(std::make_index_sequence<E::rank()>{}));
  }
  auto cview() const {
    using E = typename A::dyn_extents;
    return tensor_view<const float, E>(buf.data(),
                                       host->template make_extents<E>(std::make_index_sequence<E::rank()>{}));
  }
  A to_host() const {
    A a = *host;
    buf.copy_to_host(std::span<float>(a.data));
    return a;
  }
};

namespace {

struct frame_data {
  index_t B, T, S, H, D;
  f5 q, qr, k, kr, v;
  f4 beta;
  f3 gamma;
  frame_data(index_t b, index_t t, index_t s, index_t h, index_t d, std::uint64_t seed)
      : B(b),
        T(t),
        S(s),
        H(h),
        D(d),
        q(b, t, s, h, d),
        qr(b, t, s, h, d),
        k(b, t, s, h, d),
        kr(b, t, s, h, d),
        v(b, t, s, h, d),
        beta(b, t, s, h),
        gamma(b, t, h) {
    const double ks = 1.0 / std::sqrt(static_cast<double>(d * s));
    fill_relu_normal(q.span(), seed + 1);
    fill_relu_normal(qr.span(), seed + 2);
    fill_relu_normal(k.span(), seed + 3, ks);
    fill_relu_normal(kr.span(), seed + 4, ks);
    fill_normal(v.span(), seed + 5);
    fill_uniform_f(beta.span(), seed + 6, 0.2, 0.95);
    fill_uniform_f(gamma.span(), seed + 7, 0.5, 0.99);
  }
  gdn_inputs host_inputs() const {
    return {q.sview(), qr.sview(), k.sview(), kr.sview(), v.sview(), beta.sview(), gamma.sview()};
  }
};

TEST(GdnCuda, FrameMatchesFloat64TwinAllModes) {
  SANAWM_REQUIRE_DEVICE();
  const index_t starts[] = {0, 3, 5};
  for (const index_t D : {16, 112, 37})
    for (const gdn_mode m : {gdn_mode::causal, gdn_mode::bidirectional, gdn_mode::chunk_causal}) {
      const frame_data p(2, 7, 45, 3, D, 100 + static_cast<std::uint64_t>(D));
      on_device q(p.q);
      on_device qr(p.qr);
      on_device k(p.k);
      on_device kr(p.kr);
      on_device v(p.v);
      on_device beta(p.beta);
      on_device gamma(p.gamma);
      f5 out(p.B, p.T, p.S, p.H, D), num(p.B, p.T, p.S, p.H, D);
      f4 den(p.B, p.T, p.S, p.H), m0(p.B, p.H, D, D), m1(p.B, p.H, D, D);
      f3 z0(p.B, p.H, D), z1(p.B, p.H, D);
      out.poison(), num.poison(), den.poison(), m1.poison(), z1.poison();
      fill_normal(m0.span(), 1, 0.0, 0.2);
      fill_uniform_f(z0.span(), 2, 0.0, 0.3);
      on_device out_d(out);
      on_device num_d(num);
      on_device den_d(den);
      on_device m0_d(m0);
      on_device m1_d(m1);
      on_device z0_d(z0);
      on_device z1_d(z1);
      gdn_options opt;
      opt.mode = m;
      opt.chunk_starts = starts;
      gdn_frame(cuda_t{},
                {q.sview(), qr.sview(), k.sview(), kr.sview(), v.sview(), beta.sview(), gamma.sview()},
                {out_d.msview(), num_d.msview(), den_d.msview()}, opt,
                {m0_d.cview(), z0_d.cview(), m1_d.view(), z1_d.view()});
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      d5 rout(p.B, p.T, p.S, p.H, D), rnum(p.B, p.T, p.S, p.H, D);
      d4 rden(p.B, p.T, p.S, p.H), rm(p.B, p.H, D, D);
      d3 rz(p.B, p.H, D);
      gdn_frame_ref(p.host_inputs(), {rout.view(), rnum.view(), rden.view()}, opt,
                    {m0.cview(), z0.cview(), rm.view(), rz.view()});
      EXPECT_LE(rel_rms_of(num_d.to_host(), rnum), 1e-5) << D;
      EXPECT_LE(rel_rms_of(den_d.to_host(), rden), 1e-5) << D;
      EXPECT_LE(rel_rms_of(out_d.to_host(), rout), 1e-5) << D;
      EXPECT_LE(rel_rms_of(m1_d.to_host(), rm), 1e-5) << D;
      EXPECT_LE(rel_rms_of(z1_d.to_host(), rz), 1e-5) << D;
    }
}

TEST(GdnCuda, CameraMatchesFloat64Twin) {
  SANAWM_REQUIRE_DEVICE();
  const frame_data p(1, 6, 33, 2, 48, 7);
  on_device q(p.qr);
  on_device k(p.kr);
  on_device v(p.v);
  on_device beta(p.beta);
  on_device gamma(p.gamma);
  f5 out(p.B, p.T, p.S, p.H, p.D);
  out.poison();
  on_device out_d(out);
  gdn_options opt;
  gdn_camera_frame(cuda_t{}, {q.sview(), k.sview(), v.sview(), beta.sview(), gamma.sview()}, out_d.msview(),
                   opt);
  d5 r(p.B, p.T, p.S, p.H, p.D);
  gdn_camera_frame_ref({p.qr.sview(), p.kr.sview(), p.v.sview(), p.beta.sview(), p.gamma.sview()}, r.view(),
                       opt);
  EXPECT_LE(rel_rms_of(out_d.to_host(), r), 1e-5);
}

TEST(GdnCuda, CameraBetaDiscountMatchesFloat64Twin) {
  SANAWM_REQUIRE_DEVICE();
  const frame_data p(2, 3, 17, 2, 24, 11);
  on_device pre(p.k);
  on_device post(p.kr);
  on_device beta(p.beta);
  f4 out(2, 3, 17, 2);
  out.poison();
  on_device out_d(out);
  gdn_camera_beta(cuda_t{}, pre.sview(), post.sview(), beta.sview(), out_d.msview());
  d4 r(2, 3, 17, 2);
  gdn_camera_beta_ref(p.k.sview(), p.kr.sview(), p.beta.sview(), r.view());
  EXPECT_LE(max_rel_of(out_d.to_host(), r), 1e-6);
}

TEST(GdnCuda, RejectsNonFiniteGates) {
  SANAWM_REQUIRE_DEVICE();
  frame_data p(1, 3, 4, 2, 8, 9);
  p.gamma.data[3] = std::nanf("");
  on_device q(p.q);
  on_device k(p.k);
  on_device v(p.v);
  on_device beta(p.beta);
  on_device gamma(p.gamma);
  f5 out(1, 3, 4, 2, 8);
  on_device out_d(out);
  try {
    gdn_frame(cuda_t{}, {q.sview(), q.sview(), k.sview(), k.sview(), v.sview(), beta.sview(), gamma.sview()},
              {out_d.msview(), {}, {}});
    FAIL() << "no error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("[gdn_frame] gamma[0, 1, 1] = nan is not finite"), std::string::npos)
        << e.what();
  }
}

TEST(GdnCuda, DeltaRuleRecurrentMatchesFloat64Twin) {
  SANAWM_REQUIRE_DEVICE();
  const std::vector<index_t> cu = {0, 30, 31, 90};
  for (const bool varlen : {false, true}) {
    const index_t B = varlen ? 1 : 2, T = 90, H = 2, HV = 4, K = 64, V = 96, N = varlen ? 3 : B;
    f4 q(B, T, H, K), k(B, T, H, K), v(B, T, HV, V), o(B, T, HV, V), h0(N, HV, K, V), h1(N, HV, K, V);
    f3 g(B, T, HV), beta(B, T, HV);
    fill_normal(q.span(), 1), fill_normal(k.span(), 2), fill_normal(v.span(), 3), fill_normal(h0.span(), 4);
    fill_uniform_f(beta.span(), 5, 0.3, 0.9);
    fill_uniform_f(g.span(), 6, -0.5, 0.0);
    o.poison(), h1.poison();
    on_device qd(q);
    on_device kd(k);
    on_device vd(v);
    on_device gd(g);
    on_device bd(beta);
    on_device od(o);
    on_device h0d(h0);
    on_device h1d(h1);
    delta_rule_options opt;
    opt.qk_l2norm = true;
    if (varlen) opt.cu_seqlens = cu;
    delta_rule_recurrent(cuda_t{}, {qd.sview(), kd.sview(), vd.sview(), gd.sview(), bd.sview()}, od.msview(),
                         opt, {h0d.cview(), h1d.view()});
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    d4 ro(B, T, HV, V), rh(N, HV, K, V);
    delta_rule_ref({q.sview(), k.sview(), v.sview(), g.sview(), beta.sview()}, ro.view(), opt, h0.cview(),
                   rh.view());
    EXPECT_LE(rel_rms_of(od.to_host(), ro), 1e-5) << varlen;
    EXPECT_LE(rel_rms_of(h1d.to_host(), rh), 1e-5) << varlen;
  }
}

}  // namespace
}  // namespace sanawm::test

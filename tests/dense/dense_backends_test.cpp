// SPDX-License-Identifier: Apache-2.0
// tests/dense/dense_backends_test.cpp — every dense kernel through every backend against its float64 twin.
// Compiled by g++ (the portable bodies on the CPU pool) and by nvcc as the CUDA twin (portable bodies on the
// CPU, the CUDA paths — custom warp-per-row norms and launched portable bodies — on the GPU, skipped without
// a device).
#include <gtest/gtest.h>

#include <type_traits>
#include <vector>

#include "dense/dense_test_util.hpp"
#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/kernels/conv/conv.hpp"
#include "sanawm/kernels/conv/conv_ref.hpp"
#include "sanawm/kernels/elementwise/elementwise.hpp"
#include "sanawm/kernels/elementwise/elementwise_ref.hpp"
#include "sanawm/kernels/norms/norms.hpp"
#include "sanawm/kernels/norms/norms_ref.hpp"
#include "sanawm/kernels/rope/rope.hpp"
#include "sanawm/kernels/rope/rope_ref.hpp"
#include "support/backends.hpp"

#if SANAWM_TEST_HAS_CUDA_BACKEND
#include "sanawm/kernels/conv/conv_cuda.cuh"
#include "sanawm/kernels/elementwise/elementwise_cuda.cuh"
#include "sanawm/kernels/norms/norms_cuda.cuh"
#include "sanawm/kernels/rope/rope_cuda.cuh"
#endif

namespace {

using namespace sanawm;
using namespace sanawm::test::dense;
using sanawm::test::mirror;
using sanawm::test::run_on_all_backends;

// The entry point a backend runs: the portable body on the CPU (the SIMD path, host-only, is tested in
// dense_test), the CUDA path (op(cuda_t, …)) on the GPU.
#if SANAWM_TEST_HAS_CUDA_BACKEND
#define DENSE_CALL(op, be, ...)                        \
  do {                                                 \
    if constexpr (std::is_same_v<decltype(be), cpu_t>) \
      op##_portable(be, __VA_ARGS__);                  \
    else                                               \
      op(be, __VA_ARGS__);                             \
  } while (0)
#else
#define DENSE_CALL(op, be, ...) op##_portable(be, __VA_ARGS__)
#endif

TEST(DenseBackends, Activations) {
  auto x = random_tensor<float, 2>(1, -6, 6, 5, 37);
  for (activation a : {activation::silu, activation::gelu_tanh, activation::softplus}) {
    std::vector<double> ref(static_cast<std::size_t>(x.size()));
    activation_ref(a, doubles(x), ref);
    run_on_all_backends([&](auto be) {
      auto yh = poisoned<bf16, 2>(5, 37);
      mirror xm(be, x);
      mirror ym(be, yh);
      DENSE_CALL(activate, be, a, xm.cview(), ym.view());
      ym.to_host();
      expect_close(yh, ref, activation_name(a));
    });
  }
  auto g = random_tensor<bf16, 2>(2, -4, 4, 3, 2 * 29);
  std::vector<double> gref(3 * 29);
  glu_ref(activation::silu, doubles(g), 3, 29, gref);
  run_on_all_backends([&](auto be) {
    auto yh = poisoned<float, 2>(3, 29);
    mirror gm(be, g);
    mirror ym(be, yh);
    DENSE_CALL(glu, be, activation::silu, gm.cview(), ym.view());
    ym.to_host();
    expect_close(yh, gref, "glu");
  });
}

TEST(DenseBackends, Norms) {
  const index_t b = 1, t = 3, s = 5, c = 70;
  const btsc_shape sh{b, t, s, c};
  auto x = random_tensor<float, 4>(3, -2, 3, b, t, s, c);
  auto xb = random_tensor<bf16, 2>(4, -2, 3, b * t * s, c);
  auto w = random_tensor<float, 1>(5, 0.5, 1.5, c);
  auto shift = random_tensor<float, 3>(6, -1, 1, b, t, c);
  auto scale = random_tensor<float, 3>(7, -0.5, 0.5, b, t, c);
  auto branch = random_tensor<float, 4>(8, -1, 1, b, t, s, c);
  std::vector<double> rms_ref(static_cast<std::size_t>(xb.size())), ln_ref(rms_ref.size()),
      lnm_ref(rms_ref.size()), mod_ref(rms_ref.size());
  rms_norm_ref(doubles(xb), sh.rows(), c, doubles(w), 1e-5, rms_ref);
  layer_norm_ref(doubles(xb), sh.rows(), c, 1e-6, ln_ref);
  layer_norm_modulate_ref(doubles(x), sh, doubles(shift), doubles(scale), 1e-6, lnm_ref);
  modulate_ref(doubles(x), sh, doubles(shift), doubles(scale), mod_ref);
  std::vector<double> res_ref = doubles(x);
  gated_residual_ref(res_ref, sh, doubles(scale), doubles(branch));
  run_on_all_backends([&](auto be) {
    mirror xm(be, x);
    mirror xbm(be, xb);
    mirror wm(be, w);
    mirror shm(be, shift);
    mirror scm(be, scale);
    mirror brm(be, branch);
    auto y2 = poisoned<bf16, 2>(sh.rows(), c);
    mirror y2m(be, y2);
    DENSE_CALL(rms_norm, be, xbm.cview(), wm.cview(), 1e-5f, y2m.view());
    y2m.to_host();
    expect_close(y2, rms_ref, "rms_norm");
    auto y3 = poisoned<float, 2>(sh.rows(), c);
    mirror y3m(be, y3);
    DENSE_CALL(layer_norm, be, xbm.cview(), 1e-6f, y3m.view());
    y3m.to_host();
    expect_close(y3, ln_ref, "layer_norm");
    auto y4 = poisoned<float, 4>(b, t, s, c);
    mirror y4m(be, y4);
    DENSE_CALL(layer_norm_modulate, be, xm.cview(), shm.cview(), scm.cview(), 1e-6f, y4m.view());
    y4m.to_host();
    expect_close(y4, lnm_ref, "layer_norm_modulate");
    auto y5 = poisoned<float, 4>(b, t, s, c);
    mirror y5m(be, y5);
    DENSE_CALL(modulate, be, xm.cview(), shm.cview(), scm.cview(), y5m.view());
    y5m.to_host();
    expect_close(y5, mod_ref, "modulate");
    auto res = random_tensor<float, 4>(3, -2, 3, b, t, s, c);  // x again: updated in place
    mirror resm(be, res);
    DENSE_CALL(gated_residual, be, resm.view(), scm.cview(), brm.cview());
    resm.to_host();
    expect_close(res, res_ref, "gated_residual");
  });
}

TEST(DenseBackends, Rope) {
  for (const rope_spec& spec : {rope_spec::main_branch(), rope_spec::camera_branch()}) {
    const rope_grid g{2, 2, 3, 5};
    const auto tabs = make_rope_tables(spec, g.frames, g.height, g.width, g.frame_offset);
    auto x = random_tensor<float, 4>(9, -1, 1, 1, g.tokens(), 2, spec.head_dim);
    std::vector<double> ref(static_cast<std::size_t>(x.size()), 0.0);
    rope_ref(doubles(x), 1, 2, spec, g, false, ref);
    run_on_all_backends([&](auto be) {
      ht<float, 4> yh(1, g.tokens(), 2, spec.head_dim);
      yh.fill(0.0f);  // the camera spec leaves channels [0, 56) alone: zero there, like the reference
      mirror xm(be, x);
      mirror ym(be, yh);
      if constexpr (std::is_same_v<decltype(be), cpu_t>) {
        rope_portable(be, xm.cview(), tabs.view(), spec, ym.view());
      } else {
#if SANAWM_TEST_HAS_CUDA_BACKEND
        const rope_device_tables dt = to_device(tabs);
        rope(be, xm.cview(), dt.view(), spec, ym.view());
        sanawm::test::sync(be);
#endif
      }
      ym.to_host();
      expect_close(yh, ref, "rope");
    });
  }
}

TEST(DenseBackends, Convolutions) {
  // 1x1
  auto x2 = random_tensor<float, 2>(10, -1, 1, 9, 13);
  auto w2 = random_tensor<bf16, 2>(11, -1, 1, 6, 13);
  auto b6 = random_tensor<float, 1>(12, -1, 1, 6);
  std::vector<double> c1_ref(9 * 6);
  conv1x1_ref(doubles(x2), 9, 13, doubles(w2), 6, doubles(b6), activation::silu, c1_ref);
  // depthwise + GLU
  const bthwc_shape ds{1, 2, 3, 4, 10};
  auto xd = random_tensor<float, 5>(13, -1, 1, 1, 2, 3, 4, 10);
  auto wd = random_tensor<float, 3>(14, -1, 1, 10, 3, 3);
  auto bd = random_tensor<float, 1>(15, -1, 1, 10);
  std::vector<double> dw_ref(static_cast<std::size_t>(ds.size())), glu_expect(dw_ref.size() / 2);
  depthwise_conv3x3_ref(doubles(xd), ds, doubles(wd), doubles(bd), dw_ref);
  glu_ref(activation::silu, dw_ref, ds.size() / 10, 5, glu_expect);
  // temporal conv, chunk-causal with a left context and residual
  auto xt = random_tensor<float, 4>(16, -1, 1, 1, 7, 3, 8);
  auto wt = random_tensor<float, 3>(17, -0.5, 0.5, 8, 8, 3);
  auto lt = random_tensor<float, 3>(18, -1, 1, 1, 3, 8);
  std::vector<double> tc_ref(static_cast<std::size_t>(xt.size()));
  temporal_conv3_ref(doubles(xt), 1, 7, 3, 8, doubles(wt), 8, frame_chunks::sana_wm(), doubles(lt), true,
                     tc_ref);
  // GDN short conv, chunk-causal with a 3-frame left context
  auto ws = random_tensor<float, 2>(19, -1, 1, 8, 4);
  auto ls = random_tensor<float, 4>(20, -1, 1, 1, 3, 3, 8);
  std::vector<double> sc_ref(static_cast<std::size_t>(xt.size()));
  short_conv4_ref(doubles(xt), 1, 7, 3, 8, doubles(ws), frame_chunks::sana_wm(), doubles(ls), 3, sc_ref);
  // conv3d, causal replicate + reflect, with a 2-frame cache
  auto x3 = random_tensor<float, 5>(21, -1, 1, 1, 3, 3, 4, 5);
  auto w3 = random_tensor<bf16, 5>(22, -0.5, 0.5, 4, 5, 3, 3, 3);
  auto l3 = random_tensor<float, 5>(23, -1, 1, 1, 2, 3, 4, 5);
  auto b4 = random_tensor<float, 1>(24, -1, 1, 4);
  const conv3d_padding pad{temporal_padding::causal_replicate, spatial_padding::reflect};
  std::vector<double> c3_ref(3 * 3 * 4 * 4);
  conv3d_ref(doubles(x3), {1, 3, 3, 4, 5}, doubles(w3), 4, 3, 3, 3, doubles(b4), pad, doubles(l3), 2, c3_ref);

  run_on_all_backends([&](auto be) {
    mirror x2m(be, x2);
    mirror w2m(be, w2);
    mirror b6m(be, b6);
    auto y1 = poisoned<float, 2>(9, 6);
    mirror y1m(be, y1);
    DENSE_CALL(conv1x1, be, x2m.cview(), w2m.cview(), b6m.cview(), y1m.view(), activation::silu);
    y1m.to_host();
    expect_close(y1, c1_ref, "conv1x1");

    mirror xdm(be, xd);
    mirror wdm(be, wd);
    mirror bdm(be, bd);
    auto yd = poisoned<float, 5>(1, 2, 3, 4, 10);
    auto yg = poisoned<bf16, 5>(1, 2, 3, 4, 5);
    mirror ydm(be, yd);
    mirror ygm(be, yg);
    DENSE_CALL(depthwise_conv3x3, be, xdm.cview(), wdm.cview(), bdm.cview(), ydm.view());
    DENSE_CALL(depthwise_conv3x3_glu, be, xdm.cview(), wdm.cview(), bdm.cview(), activation::silu,
               ygm.view());
    ydm.to_host();
    ygm.to_host();
    expect_close(yd, dw_ref, "depthwise_conv3x3");
    expect_close(yg, glu_expect, "depthwise_conv3x3_glu");

    mirror xtm(be, xt);
    mirror wtm(be, wt);
    mirror ltm(be, lt);
    mirror wsm(be, ws);
    mirror lsm(be, ls);
    auto yt = poisoned<float, 4>(1, 7, 3, 8);
    auto ys = poisoned<float, 4>(1, 7, 3, 8);
    mirror ytm(be, yt);
    mirror ysm(be, ys);
    DENSE_CALL(temporal_conv3, be, xtm.cview(), wtm.cview(), ytm.view(),
               temporal_conv_options{frame_chunks::sana_wm(), true}, ltm.cview());
    DENSE_CALL(short_conv4, be, xtm.cview(), wsm.cview(), ysm.view(), frame_chunks::sana_wm(), lsm.cview());
    ytm.to_host();
    ysm.to_host();
    expect_close(yt, tc_ref, "temporal_conv3");
    expect_close(ys, sc_ref, "short_conv4");

    mirror x3m(be, x3);
    mirror w3m(be, w3);
    mirror l3m(be, l3);
    mirror b4m(be, b4);
    auto y3 = poisoned<float, 5>(1, 3, 3, 4, 4);
    mirror y3m(be, y3);
    DENSE_CALL(conv3d, be, x3m.cview(), w3m.cview(), b4m.cview(), y3m.view(), pad, l3m.cview());
    y3m.to_host();
    expect_close(y3, c3_ref, "conv3d");

    ht<float, 5> cf(1, 5, 3, 3, 4);
    mirror cfm(be, cf);
    to_channels_first(be, x3m.cview(), cfm.view());
    cfm.to_host();
    for (index_t c = 0; c < 5; ++c) ASSERT_EQ(cf(0, c, 2, 1, 3), x3(0, 2, 1, 3, c));
  });
}

}  // namespace

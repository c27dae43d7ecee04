// SPDX-License-Identifier: Apache-2.0
// tests/nvfp4/nvfp4_cuda_test.cu — NVFP4 on CUDA: device quantiser bytes = host quantiser bytes (plain, RHT,
// swizzled), device dequantise, scale-layout conversion, W4A16 (bf16 MMA with in-loop decode) and W4A4 (cuBLASLt
// FP4 on Blackwell, emulation elsewhere) against "dequantise, then float64 GEMM". Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/backend/cuda/device.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/kernels/nvfp4/nvfp4.hpp"
#include "sanawm/kernels/nvfp4/nvfp4_cuda.cuh"
#include "sanawm/kernels/nvfp4/nvfp4_ref.hpp"
#include "support/test_util.hpp"

namespace {

using namespace sanawm;

#define SKIP_WITHOUT_DEVICE() \
  if (!has_cuda_device()) GTEST_SKIP() << "no CUDA device: " << no_cuda_device_reason()

template <class T>
device_buffer<T> upload(const std::vector<T>& v) {
  device_buffer<T> d(static_cast<index_t>(v.size()));
  d.copy_from_host(std::span<const T>(v));
  return d;
}
template <class T>
std::vector<T> download(const device_buffer<T>& d) {
  std::vector<T> v(static_cast<std::size_t>(d.size()));
  d.copy_to_host(std::span<T>(v));
  return v;
}

// The host twin of the device quantiser, written with the same bodies on a plain loop (the CPU backend's headers
// are host-only SIMD code, so this nvcc TU does not include nvfp4_cpu.hpp).
nvfp4_tensor host_quantize(const std::vector<float>& x, index_t rows, index_t cols, const nvfp4_options& o,
                           nvfp4_scale_layout layout) {
  nvfp4_tensor t(rows, cols, layout);
  const std::uint32_t signs = nvfp4_rht_signs(o.rht_seed);
  const nvfp4_block_amax_body<float> ab{x.data(), cols, cols / 16, o.rht, signs};
  float amax = 0;
  for (index_t i = 0; i < rows * cols / 16; ++i) amax = detail::nvfp4_fmax_nan(amax, ab(i));
  const float s_enc = nvfp4_encode_scale(amax);
  t.global_scale = nvfp4_decode_scale(s_enc);
  const nvfp4_quantize_body<float> qb{x.data(), cols, t.out(), s_enc, t.global_scale, o.rht, signs,
                                      o.rounding == nvfp4_rounding::stochastic, o.sr_seed};
  for (index_t i = 0; i < rows * cols / 16; ++i) qb(i);
  t.rht = o.rht;
  t.rht_seed = o.rht_seed;
  return t;
}

TEST(Nvfp4Cuda, QuantiseMatchesHostBytes) {
  SKIP_WITHOUT_DEVICE();
  for (bool rht : {false, true})
    for (auto layout : {nvfp4_scale_layout::linear, nvfp4_scale_layout::swizzled_128x4}) {
      const index_t rows = 150, cols = 96;
      auto x = test::random_vector<float>(static_cast<std::size_t>(rows * cols), -5, 5);
      x[17] = 300.0f;
      nvfp4_options o;
      o.rht = rht;
      o.rht_seed = 77;
      const nvfp4_tensor h = host_quantize(x, rows, cols, o, layout);
      auto dx = upload(x);
      device_buffer<fp4x2> dd(rows * cols / 2);
      device_buffer<ue4m3> ds(nvfp4_scale_bytes(rows, cols, layout));
      SANAWM_CUDA_CHECK(cudaMemset(ds.data(), 0, static_cast<std::size_t>(ds.size())));
      const float s = nvfp4_quantize(cuda_t{}, dx.data(), rows, cols, cols, nvfp4_out{dd.data(), ds.data(), rows, cols, layout}, o);
      EXPECT_EQ(s, h.global_scale);
      const auto d = download(dd);
      const auto sc = download(ds);
      for (std::size_t i = 0; i < d.size(); ++i) ASSERT_EQ(d[i].bits(), h.data[i].bits()) << i;
      for (std::size_t i = 0; i < sc.size(); ++i) ASSERT_EQ(sc[i].bits(), h.scales[i].bits()) << i;
      // Device dequantise equals the double reference rounded to float.
      device_buffer<float> dy(rows * cols);
      nvfp4_view v{dd.data(), ds.data(), s, rows, cols, layout, rht, 77};
      nvfp4_dequantize(cuda_t{}, v, dy.data(), cols);
      const auto y = download(dy);
      const auto r = ref::nvfp4_dequantize(h.view());
      for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], r[i], 1e-5 * (1 + std::fabs(r[i]))) << i;
      // Layout conversion on the device round-trips.
      if (layout == nvfp4_scale_layout::swizzled_128x4) {
        device_buffer<ue4m3> lin(rows * cols / 16), back(ds.size());
        nvfp4_convert_scales(cuda_t{}, ds.data(), layout, lin.data(), nvfp4_scale_layout::linear, rows, cols / 16);
        nvfp4_convert_scales(cuda_t{}, lin.data(), nvfp4_scale_layout::linear, back.data(), layout, rows, cols / 16);
        const auto b = download(back);
        for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b[i].bits(), sc[i].bits()) << i;
      }
    }
}

template <class TA, class TC>
void check_device_gemm(index_t m, index_t n, index_t k, bool w4a4, bool rht, bool epilogue, std::uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "m=" << m << " n=" << n << " k=" << k << " w4a4=" << w4a4 << " rht=" << rht);
  auto wf = test::random_vector<float>(static_cast<std::size_t>(n * k), -1, 1, seed);
  auto af = test::random_vector<float>(static_cast<std::size_t>(m * k), -2, 2, seed + 1);
  nvfp4_options o;
  o.rht = rht;
  o.rht_seed = seed;
  const nvfp4_tensor w = host_quantize(wf, n, k, o, nvfp4_scale_layout::linear);
  std::vector<TA> a(af.size());
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<TA>(af[i]);
  std::vector<float> bias(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = 0.1f * static_cast<float>(i % 9);
  auto dA = upload(a);
  auto dW = upload(w.data);
  auto dS = upload(w.scales);
  auto dBias = upload(bias);
  device_buffer<TC> dC(m * n);
  nvfp4_gemm_args<TA, TC> p;
  p.m = m; p.a = dA.data(); p.lda = k;
  p.b = nvfp4_view{dW.data(), dS.data(), w.global_scale, n, k, nvfp4_scale_layout::linear, w.rht, w.rht_seed};
  p.c = dC.data(); p.ldc = n; p.alpha = 1.25f;
  if (epilogue) {
    p.epilogue.bias = dBias.data();
    p.epilogue.activation = gemm_activation::gelu_tanh;
  }
  std::vector<double> a_vals;
  if (w4a4) {
    std::vector<float> ad(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) ad[i] = static_cast<float>(a[i]);
    a_vals = ref::nvfp4_dequantize(host_quantize(ad, m, k, o, nvfp4_scale_layout::linear).view());
    nvfp4_gemm_w4a4(cuda_t{}, p);
  } else {
    nvfp4_gemm_w4a16(cuda_t{}, p);
  }
  SANAWM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto c = download(dC);
  // Reference with host pointers.
  nvfp4_gemm_args<TA, TC> hp = p;
  hp.a = a.data();
  hp.b = w.view();
  std::vector<TC> hc(c.size());
  hp.c = hc.data();
  hp.epilogue.bias = epilogue ? bias.data() : nullptr;
  std::vector<double> r(c.size());
  ref::nvfp4_gemm(hp, r, !w4a4 && !rht, a_vals);
  const auto wd = ref::nvfp4_dequantize(w.view());
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double mag = 0;
      for (index_t kk = 0; kk < k; ++kk)
        mag += std::fabs(static_cast<double>(static_cast<float>(a[static_cast<std::size_t>(i * k + kk)])) * wd[static_cast<std::size_t>(j * k + kk)]);
      mag *= 1.25;
      double tol = 1e-5 * mag + 1e-5;
      if (rht && !w4a4) tol += 1e-2 * mag;  // transformed A is rounded to bf16, the reference keeps it exact
      const double ref_v = r[static_cast<std::size_t>(i * n + j)];
      if (std::is_same_v<TC, bf16>) tol += std::fabs(ref_v) * 0x1p-8 + 1e-3;
      ASSERT_NEAR(static_cast<float>(c[static_cast<std::size_t>(i * n + j)]), ref_v, tol) << i << "," << j;
    }
}

TEST(Nvfp4Cuda, W4A16MatchesDequantisedFloat64) {
  SKIP_WITHOUT_DEVICE();
  std::uint64_t seed = 1;
  for (index_t m : {1, 16, 70, 130})
    for (auto [n, k] : {std::pair<index_t, index_t>{50, 48}, {96, 224}, {130, 320}}) {
      check_device_gemm<float, float>(m, n, k, false, false, m == 70, seed++);
      check_device_gemm<bf16, bf16>(m, n, k, false, false, true, seed++);
    }
  check_device_gemm<float, float>(33, 64, 64, false, true, false, seed++);
}

TEST(Nvfp4Cuda, W4A4MatchesQuantisedFloat64) {
  SKIP_WITHOUT_DEVICE();
  std::uint64_t seed = 100;
  for (index_t m : {1, 40, 128})
    for (auto [n, k] : {std::pair<index_t, index_t>{64, 64}, {128, 256}}) {
      check_device_gemm<float, float>(m, n, k, true, false, false, seed++);
      check_device_gemm<bf16, float>(m, n, k, true, false, true, seed++);
    }
  check_device_gemm<float, float>(40, 64, 64, true, true, false, seed++);
}

TEST(Nvfp4Cuda, ArgumentErrors) {
  nvfp4_gemm_args<float, float> p;
  p.m = 4;
  p.b.rows = 8;
  p.b.cols = 24;
  std::vector<float> a(4 * 24), c(4 * 8);
  p.a = a.data(); p.lda = 24; p.c = c.data(); p.ldc = 8;
  try {
    nvfp4_gemm_w4a16(cuda_t{}, p);
    FAIL() << "no error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of the NVFP4 block"), std::string::npos) << e.what();
  }
}

}  // namespace

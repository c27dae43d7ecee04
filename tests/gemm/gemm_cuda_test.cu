// SPDX-License-Identifier: Apache-2.0
// tests/gemm/gemm_cuda_test.cu — gemm(cuda_t, …) (cuBLASLt, composed epilogue, tiled fallback) against the float64
// twin: dtypes incl. fp8 with scales, every epilogue, alpha/beta, batches, path selection, bad arguments.
// GPU cases skip with the reason when no device exists; argument checks run everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "sanawm/backend/cuda/device.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/backend/cuda/stream.cuh"
#include "sanawm/core/bf16.hpp"
#include "sanawm/core/fp8.hpp"
#include "sanawm/kernels/gemm/gemm.hpp"
#include "sanawm/kernels/gemm/gemm_cuda.cuh"
#include "sanawm/kernels/gemm/gemm_ref.hpp"

namespace {

using sanawm::bf16;
using sanawm::device_buffer;
using sanawm::fp8_e4m3;
using sanawm::gemm_activation;
using sanawm::gemm_args;
using sanawm::gemm_compute;
using sanawm::index_t;
using sanawm::cuda::gemm_path;

#define SKIP_WITHOUT_DEVICE() \
  if (!sanawm::has_cuda_device()) GTEST_SKIP() << sanawm::no_cuda_device_reason()

template <class T>
T from_double(double x) {
  if constexpr (std::is_same_v<T, float>) return static_cast<float>(x);
  else return T(x);
}
template <class T>
T nan_value() {
  if constexpr (std::is_same_v<T, float>) return std::numeric_limits<float>::quiet_NaN();
  else return T::quiet_nan();
}
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = from_double<T>(dist(gen));
  return v;
}
template <class T>
device_buffer<T> upload(const std::vector<T>& h) {
  device_buffer<T> d(static_cast<index_t>(h.size()));
  d.copy_from_host(std::span<const T>(h));
  return d;
}

enum class residual_kind { none, separate, in_place };

struct gemm_case {
  index_t m, n, k;
  index_t pad = 0;  // extra ld on A, B and C
  index_t batch = 1;
  float alpha = 1.0f, beta = 0.0f;
  bool bias = false;
  gemm_activation act = gemm_activation::none;
  bool gate = false;
  index_t gate_group_rows = 1;
  residual_kind residual = residual_kind::none;
  gemm_compute compute = gemm_compute::automatic;
  bool scales = false;    // fp8 only
  bool nan_in_a = false;  // with alpha == 0
};

std::string describe(const gemm_case& c) {
  return sanawm::str_cat("m=", c.m, " n=", c.n, " k=", c.k, " pad=", c.pad, " batch=", c.batch, " alpha=", c.alpha,
                         " beta=", c.beta, " bias=", c.bias, " act=", static_cast<int>(c.act), " gate=", c.gate,
                         " residual=", static_cast<int>(c.residual), " compute=", static_cast<int>(c.compute));
}

/// Host operands, their device copies, and gemm_args for either side.
template <class TA, class TB, class TC>
struct problem {
  gemm_case g;
  index_t lda, ldb, ldc, sa, sb, sc;
  std::vector<TA> a;
  std::vector<TB> b;
  std::vector<TC> c0;
  std::vector<float> bias, gate, scales{0.75f, 1.5f};
  std::vector<TC> residual;
  device_buffer<TA> da;
  device_buffer<TB> db;
  device_buffer<TC> dc, dres;
  device_buffer<float> dbias, dgate, dscales;

  problem(const gemm_case& gc, std::uint64_t seed) : g(gc) {
    lda = g.k + g.pad, ldb = g.k + g.pad, ldc = g.n + g.pad;
    sa = g.m * lda, sb = g.n * ldb, sc = g.m * ldc;
    const double range = std::is_same_v<TA, fp8_e4m3> ? 4.0 : 1.0;
    a = random_values<TA>(static_cast<std::size_t>(std::max<index_t>(1, g.batch * sa)), seed + 1, -range, range);
    if (g.nan_in_a) std::fill(a.begin(), a.end(), nan_value<TA>());
    b = random_values<TB>(static_cast<std::size_t>(std::max<index_t>(1, g.batch * sb)), seed + 2, -range, range);
    const auto nc = static_cast<std::size_t>(std::max<index_t>(1, g.batch * sc));
    c0 = g.beta != 0.0f || g.residual == residual_kind::in_place ? random_values<TC>(nc, seed + 3)
                                                                 : std::vector<TC>(nc, nan_value<TC>());
    if (g.bias) bias = random_values<float>(static_cast<std::size_t>(g.batch * g.n), seed + 4);
    if (g.gate) gate = random_values<float>(static_cast<std::size_t>(g.batch * g.m * g.n), seed + 5, -2.0, 2.0);
    if (g.residual == residual_kind::separate)
      residual = random_values<TC>(static_cast<std::size_t>(g.batch * g.m * g.n), seed + 6);
    da = upload(a), db = upload(b), dc = upload(c0);
    if (g.bias) dbias = upload(bias);
    if (g.gate) dgate = upload(gate);
    if (!residual.empty()) dres = upload(residual);
    dscales = upload(scales);
  }

  gemm_args<TA, TB, TC> args(bool device) {
    gemm_args<TA, TB, TC> p;
    p.m = g.m, p.n = g.n, p.k = g.k;
    p.a = device ? da.data() : a.data(), p.lda = lda;
    p.b = device ? db.data() : b.data(), p.ldb = ldb;
    p.c = device ? dc.data() : c0.data(), p.ldc = ldc;
    p.alpha = g.alpha, p.beta = g.beta;
    p.batch = g.batch, p.batch_stride_a = sa, p.batch_stride_b = sb, p.batch_stride_c = sc;
    p.compute = g.compute;
    auto& e = p.epilogue;
    if (g.bias) e.bias = device ? dbias.data() : bias.data(), e.batch_stride_bias = g.n;
    e.activation = g.act;
    if (g.gate) {
      e.gate = device ? dgate.data() : gate.data();
      e.ld_gate = g.n, e.gate_group_rows = g.gate_group_rows, e.batch_stride_gate = g.m * g.n;
    }
    if (g.residual == residual_kind::separate)
      e.residual = device ? dres.data() : residual.data(), e.ld_residual = g.n, e.batch_stride_residual = g.m * g.n;
    if (g.residual == residual_kind::in_place)
      e.residual = device ? dc.data() : c0.data(), e.ld_residual = ldc, e.batch_stride_residual = sc;
    if (g.scales) {
      p.scale_a = device ? dscales.data() : scales.data();
      p.scale_b = device ? dscales.data() + 1 : scales.data() + 1;
    }
    return p;
  }

  /// Compares the device result with the reference: relative RMS ≤ tol, every element finite, padding untouched.
  void check(double tol) {
    std::vector<double> ref(static_cast<std::size_t>(g.batch * g.m * g.n));
    sanawm::gemm_ref(args(false), std::span<double>(ref));
    std::vector<TC> got(c0.size());
    dc.copy_to_host(std::span<TC>(got));
    double num = 0, den = 0;
    index_t bad = 0, touched = 0;
    for (index_t bt = 0; bt < g.batch; ++bt)
      for (index_t i = 0; i < sc; ++i) {
        const auto idx = static_cast<std::size_t>(bt * sc + i);
        if (i % ldc >= g.n) {
          if (std::memcmp(&got[idx], &c0[idx], sizeof(TC)) != 0) ++touched;
          continue;
        }
        const double x = static_cast<double>(got[idx]);
        const double r = ref[static_cast<std::size_t>((bt * g.m + i / ldc) * g.n + i % ldc)];
        if (!std::isfinite(x)) {
          ++bad;
          continue;
        }
        num += (x - r) * (x - r);
        den += r * r;
      }
    EXPECT_EQ(bad, 0) << describe(g);
    EXPECT_EQ(touched, 0) << describe(g) << ": padding written";
    EXPECT_LE(den > 0 ? std::sqrt(num / den) : std::sqrt(num), tol) << describe(g);
  }
};

template <class TA, class TB, class TC>
gemm_path run_case(const gemm_case& g, double tol, bool fallback = false) {
  problem<TA, TB, TC> pr(g, 99);
  const auto p = pr.args(true);
  const gemm_path path = sanawm::cuda::choose_gemm_path(sanawm::cuda_t{}, p);
  if (fallback) sanawm::cuda::gemm_fallback(sanawm::cuda_t{}, p);
  else sanawm::gemm(sanawm::cuda_t{}, p);
  sanawm::synchronize(sanawm::cuda_t{});
  SCOPED_TRACE(sanawm::cuda::gemm_path_name(fallback ? gemm_path::fallback_kernel : path));
  pr.check(tol);
  return path;
}

const std::vector<gemm_case>& sizes() {
  static const std::vector<gemm_case> s = {{1, 1, 1},     {13, 17, 19},  {64, 96, 128}, {100, 200, 300},
                                           {3, 130, 800}, {96, 224, 224, 8}, {16, 16, 0}};
  return s;
}

TEST(GemmCuda, SizesAndTypes) {
  SKIP_WITHOUT_DEVICE();
  for (const auto& g : sizes()) {
    run_case<float, float, float>(g, 1e-5);
    run_case<bf16, bf16, float>(g, 1e-5);  // bf16 inputs are exact in fp32; only accumulation order differs
    run_case<bf16, bf16, bf16>(g, 1e-2);
    run_case<float, bf16, float>(g, 1e-2);  // mixed: the fallback kernel, bf16 compute
  }
}

TEST(GemmCuda, ComputeModes) {
  SKIP_WITHOUT_DEVICE();
  gemm_case g{70, 90, 300};
  g.compute = gemm_compute::tf32;
  run_case<float, float, float>(g, 5e-3);
  g.compute = gemm_compute::bf16;
  run_case<float, float, float>(g, 1e-2);
  g.compute = gemm_compute::fp32;
  run_case<bf16, float, float>(g, 1e-5);
}

TEST(GemmCuda, Fp8WithScales) {
  SKIP_WITHOUT_DEVICE();
  for (const auto& base : {gemm_case{64, 96, 128}, gemm_case{128, 256, 512}, gemm_case{13, 17, 19}}) {
    gemm_case g = base;
    g.scales = true;
    run_case<fp8_e4m3, fp8_e4m3, float>(g, 1e-4);
    run_case<fp8_e4m3, fp8_e4m3, bf16>(g, 1e-2);
    g.bias = true;
    g.act = gemm_activation::silu;
    run_case<fp8_e4m3, fp8_e4m3, bf16>(g, 1e-2);
  }
}

TEST(GemmCuda, Epilogues) {
  SKIP_WITHOUT_DEVICE();
  for (auto act : {gemm_activation::none, gemm_activation::relu, gemm_activation::silu, gemm_activation::gelu_tanh}) {
    gemm_case g{64, 96, 160};
    g.bias = true;
    g.act = act;
    run_case<float, float, float>(g, 1e-5);
    run_case<bf16, bf16, bf16>(g, 1e-2);
    g.bias = false;
    g.beta = 0.5f;
    run_case<float, float, float>(g, 1e-5);
  }
  gemm_case g{60, 80, 100};
  g.bias = true;
  g.gate = true;
  g.gate_group_rows = 16;
  g.residual = residual_kind::separate;
  run_case<float, float, float>(g, 1e-5);
  g.residual = residual_kind::in_place;
  run_case<float, float, float>(g, 1e-5);
  run_case<bf16, bf16, bf16>(g, 1e-2);
}

TEST(GemmCuda, AlphaBetaBatches) {
  SKIP_WITHOUT_DEVICE();
  gemm_case g{33, 41, 70};
  g.alpha = -0.5f;
  g.beta = 1.5f;
  run_case<float, float, float>(g, 1e-5);
  g.beta = 0.0f;
  run_case<bf16, bf16, bf16>(g, 1e-2);
  g.alpha = 0.0f;
  g.beta = 2.0f;
  g.nan_in_a = true;
  EXPECT_EQ((run_case<float, float, float>(g, 1e-5)), gemm_path::epilogue_only);
  gemm_case b{21, 35, 70, 4};
  b.batch = 3;
  b.bias = true;
  b.act = gemm_activation::gelu_tanh;
  run_case<float, float, float>(b, 1e-5);
  run_case<bf16, bf16, bf16>(b, 1e-2);
  b.gate = true;
  b.residual = residual_kind::in_place;
  run_case<float, float, float>(b, 1e-5);
}

TEST(GemmCuda, FallbackKernelMatches) {
  SKIP_WITHOUT_DEVICE();
  for (const auto& g : sizes()) {
    run_case<float, float, float>(g, 1e-5, true);
    run_case<bf16, bf16, bf16>(g, 1e-2, true);
  }
  gemm_case g{45, 70, 90};
  g.batch = 2;
  g.bias = true;
  g.act = gemm_activation::silu;
  g.gate = true;
  g.gate_group_rows = 9;
  g.residual = residual_kind::in_place;
  run_case<float, float, float>(g, 1e-5, true);
  gemm_case f{32, 48, 64};
  f.scales = true;
  run_case<fp8_e4m3, fp8_e4m3, float>(f, 1e-4, true);
}

TEST(GemmCuda, PathSelection) {
  SKIP_WITHOUT_DEVICE();
  EXPECT_EQ((run_case<float, float, float>(gemm_case{64, 64, 64}, 1e-5)), gemm_path::cublaslt_fused);
  gemm_case g{64, 64, 64};
  g.bias = true;
  g.act = gemm_activation::gelu_tanh;
  EXPECT_EQ((run_case<float, float, float>(g, 1e-5)), gemm_path::cublaslt_fused);
  g.act = gemm_activation::silu;  // no SiLU epilogue in cuBLASLt
  EXPECT_EQ((run_case<float, float, float>(g, 1e-5)), gemm_path::cublaslt_then_epilogue);
  EXPECT_EQ((run_case<float, bf16, float>(gemm_case{64, 64, 64}, 1e-2)), gemm_path::fallback_kernel);
  EXPECT_EQ((run_case<float, float, float>(gemm_case{8, 8, 0}, 1e-5)), gemm_path::epilogue_only);
}

// SANA-WM's layers at full width, few tokens: qkv, FFN up + SiLU (composed), proj + gated in-place residual.
TEST(GemmCuda, SanaWmShapes) {
  SKIP_WITHOUT_DEVICE();
  run_case<bf16, bf16, bf16>(gemm_case{880, 6720, 2240}, 1e-2);
  gemm_case up{880, 13440, 2240};
  up.bias = true;
  up.act = gemm_activation::silu;
  run_case<bf16, bf16, bf16>(up, 1e-2);
  gemm_case proj{1760, 2240, 2240};
  proj.bias = true;
  proj.gate = true;
  proj.gate_group_rows = 880;
  proj.residual = residual_kind::in_place;
  run_case<float, float, float>(proj, 1e-5);
}

TEST(GemmCudaErrors, BadArgumentsNeedNoDevice) {
  // Argument checks run before any CUDA call, so they work on machines without a GPU too.
  gemm_args<float, float, float> p;
  p.m = 4, p.n = 4, p.k = 4, p.lda = 4, p.ldb = 4, p.ldc = 3;
  float dummy[16] = {};
  p.a = dummy, p.b = dummy, p.c = dummy;
  try {
    sanawm::gemm(sanawm::cuda_t{}, p);
    ADD_FAILURE() << "expected an error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("[gemm] ldc 3 < n 4"), std::string::npos) << e.what();
  }
  p.ldc = 4;
  p.c = nullptr;
  EXPECT_THROW(sanawm::gemm(sanawm::cuda_t{}, p), sanawm::error);
  gemm_args<float, float, float> q = p;
  q.c = dummy;
  q.scale_a = dummy;  // fp8 scales on fp32 inputs
  EXPECT_THROW(sanawm::gemm(sanawm::cuda_t{}, q), sanawm::error);
}

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// tests/gemm/gemm_test.cpp — gemm(cpu_t, …) on every compiled SIMD variant against the float64 twin: sizes, dtypes,
// compute modes, every epilogue, alpha/beta, batches and sub-views, thread-count independence, bad arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "sanawm/backend/cpu/thread_pool.hpp"
#include "sanawm/core/bf16.hpp"
#include "sanawm/core/tensor.hpp"
#include "sanawm/kernels/gemm/gemm.hpp"
#include "sanawm/kernels/gemm/gemm_cpu.hpp"
#include "sanawm/kernels/gemm/gemm_ref.hpp"
#include "support/test_util.hpp"

namespace {

using sanawm::bf16;
using sanawm::gemm_activation;
using sanawm::gemm_args;
using sanawm::gemm_compute;
using sanawm::index_t;

template <class L>
struct to_gtest_types;
template <class... Isas>
struct to_gtest_types<sanawm::cpu::isa_list<Isas...>> {
  using type = ::testing::Types<Isas...>;
};
using isa_types = to_gtest_types<sanawm::cpu::compiled_isas>::type;
struct isa_name {
  template <class Isa>
  static std::string GetName(int) {
    return Isa::name;
  }
};

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
bool is_nan_value(T x) {
  if constexpr (std::is_same_v<T, float>) return std::isnan(x);
  else return x.is_nan();
}
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = from_double<T>(dist(gen));
  return v;
}

enum class residual_kind { none, separate, in_place };

/// One GEMM problem: shapes, padding (ld > row length), batching and epilogue choices.
struct gemm_case {
  index_t m, n, k;
  index_t pad_a = 0, pad_b = 0, pad_c = 0;
  index_t batch = 1;
  bool shared_b = false;  // batch_stride_b = 0
  float alpha = 1.0f, beta = 0.0f;
  bool bias = false;
  gemm_activation act = gemm_activation::none;
  bool gate = false;
  index_t gate_group_rows = 1;
  bool gate_one_row = false;  // ld_gate = 0
  residual_kind residual = residual_kind::none;
  gemm_compute compute = gemm_compute::automatic;
  bool nan_in_a = false;  // with alpha == 0: A must not be read
};

std::string describe(const gemm_case& c) {
  return sanawm::str_cat("m=", c.m, " n=", c.n, " k=", c.k, " pads=", c.pad_a, "/", c.pad_b, "/", c.pad_c,
                         " batch=", c.batch, " alpha=", c.alpha, " beta=", c.beta, " bias=", c.bias,
                         " act=", static_cast<int>(c.act), " gate=", c.gate, " residual=", static_cast<int>(c.residual),
                         " compute=", static_cast<int>(c.compute));
}

/// Owns the operands of a gemm_case and builds its gemm_args.
template <class TA, class TB, class TC>
struct gemm_problem {
  gemm_case cs;
  index_t lda, ldb, ldc, sa, sb, sc;
  std::vector<TA> a;
  std::vector<TB> b;
  std::vector<TC> c, c_initial;
  std::vector<float> bias, gate;
  std::vector<TC> residual;
  index_t ld_gate = 0, gate_rows = 0;

  explicit gemm_problem(const gemm_case& g, std::uint64_t seed) : cs(g) {
    lda = g.k + g.pad_a;
    ldb = g.k + g.pad_b;
    ldc = g.n + g.pad_c;
    sa = g.m * lda + 3;  // batch strides with a gap: batches are sub-views of a larger buffer
    sb = g.shared_b ? 0 : g.n * ldb + 5;
    sc = g.m * ldc + 7;
    a = random_values<TA>(static_cast<std::size_t>(std::max<index_t>(1, g.batch * sa)), seed + 1);
    if (g.nan_in_a) std::fill(a.begin(), a.end(), nan_value<TA>());
    b = random_values<TB>(static_cast<std::size_t>(std::max<index_t>(1, g.shared_b ? g.n * ldb : g.batch * sb)), seed + 2);
    const auto c_count = static_cast<std::size_t>(std::max<index_t>(1, g.batch * sc));
    if (g.beta != 0.0f || g.residual == residual_kind::in_place) {
      c_initial = random_values<TC>(c_count, seed + 3);
      // Poison the gaps and padding so stray writes (or reads that reach C) show up.
      for (index_t bt = 0; bt < g.batch; ++bt)
        for (index_t i = 0; i < sc; ++i)
          if (i >= g.m * ldc || i % ldc >= g.n) c_initial[static_cast<std::size_t>(bt * sc + i)] = nan_value<TC>();
    } else {
      c_initial.assign(c_count, nan_value<TC>());  // beta == 0: C is write-only, NaN must not leak
    }
    c = c_initial;
    if (g.bias) bias = random_values<float>(static_cast<std::size_t>(g.batch * g.n), seed + 4);
    if (g.gate) {
      ld_gate = g.gate_one_row ? 0 : g.n + 2;
      gate_rows = g.gate_one_row ? 1 : (g.m + g.gate_group_rows - 1) / g.gate_group_rows;
      gate = random_values<float>(static_cast<std::size_t>(g.batch * std::max<index_t>(1, gate_rows * (g.n + 2))),
                                  seed + 5, -2.0, 2.0);
    }
    if (g.residual == residual_kind::separate)
      residual = random_values<TC>(static_cast<std::size_t>(std::max<index_t>(1, g.batch * g.m * g.n)), seed + 6);
  }

  gemm_args<TA, TB, TC> args() {
    gemm_args<TA, TB, TC> p;
    p.m = cs.m, p.n = cs.n, p.k = cs.k;
    p.a = a.data(), p.lda = lda;
    p.b = b.data(), p.ldb = ldb;
    p.c = c.data(), p.ldc = ldc;
    p.alpha = cs.alpha, p.beta = cs.beta;
    p.batch = cs.batch, p.batch_stride_a = sa, p.batch_stride_b = sb, p.batch_stride_c = sc;
    p.compute = cs.compute;
    auto& e = p.epilogue;
    if (cs.bias) e.bias = bias.data(), e.batch_stride_bias = cs.n;
    e.activation = cs.act;
    if (cs.gate) {
      e.gate = gate.data(), e.ld_gate = ld_gate, e.gate_group_rows = cs.gate_group_rows;
      e.batch_stride_gate = std::max<index_t>(1, gate_rows * (cs.n + 2));
    }
    if (cs.residual == residual_kind::separate)
      e.residual = residual.data(), e.ld_residual = cs.n, e.batch_stride_residual = cs.m * cs.n;
    if (cs.residual == residual_kind::in_place) e.residual = c.data(), e.ld_residual = ldc, e.batch_stride_residual = sc;
    return p;
  }

  /// The float64 reference, from the initial C (for beta and the in-place residual).
  std::vector<double> reference() {
    std::vector<TC> c_now = c;
    c = c_initial;
    auto p = args();
    std::vector<TC> res_copy;
    if (cs.residual == residual_kind::in_place) {
      res_copy = c_initial;  // the reference reads the residual from an unmodified copy
      p.epilogue.residual = res_copy.data();
    }
    std::vector<double> out(static_cast<std::size_t>(cs.batch * cs.m * cs.n));
    sanawm::gemm_ref(p, std::span<double>(out));
    c = c_now;
    return out;
  }
};

double tolerance_for(bool fp32_exact_path) { return fp32_exact_path ? 1e-5 : 1e-2; }

/// Compares every element of C with the reference: relative RMS within tol, no element off by more than 20·tol of
/// the reference RMS, every padding/gap element untouched.
template <class TA, class TB, class TC>
void expect_matches(gemm_problem<TA, TB, TC>& pr, double tol) {
  const auto ref = pr.reference();
  const gemm_case& g = pr.cs;
  double num = 0, den = 0, max_err = 0;
  index_t bad_nan = 0, touched_padding = 0;
  for (index_t bt = 0; bt < g.batch; ++bt) {
    for (index_t i = 0; i < pr.sc; ++i) {
      const auto idx = static_cast<std::size_t>(bt * pr.sc + i);
      if (i >= g.m * pr.ldc || i % pr.ldc >= g.n) {
        // Outside the matrix: must still hold exactly what was there.
        if (std::memcmp(&pr.c[idx], &pr.c_initial[idx], sizeof(TC)) != 0) ++touched_padding;
        continue;
      }
      const index_t row = i / pr.ldc, col = i % pr.ldc;
      const double r = ref[static_cast<std::size_t>((bt * g.m + row) * g.n + col)];
      const double x = static_cast<double>(pr.c[idx]);
      if (!std::isfinite(x)) {
        ++bad_nan;
        continue;
      }
      num += (x - r) * (x - r);
      den += r * r;
      max_err = std::max(max_err, std::abs(x - r));
    }
  }
  const index_t count = g.batch * g.m * g.n;
  const double rms_ref = count > 0 ? std::sqrt(den / static_cast<double>(count)) : 0.0;
  const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  EXPECT_EQ(bad_nan, 0) << describe(g) << ": non-finite outputs";
  EXPECT_EQ(touched_padding, 0) << describe(g) << ": elements outside C were written";
  EXPECT_LE(rel, tol) << describe(g);
  EXPECT_LE(max_err, 20.0 * tol * std::max(rms_ref, 1e-30)) << describe(g) << " (rms of reference " << rms_ref << ")";
}

template <class Isa, class TA, class TB, class TC>
void check_case(const gemm_case& g, std::uint64_t seed = sanawm::test::test_seed()) {
  gemm_problem<TA, TB, TC> pr(g, seed);
  sanawm::cpu::gemm_with<Isa>(pr.args());
  const gemm_compute c = sanawm::resolve_gemm_compute<TA, TB>(g.compute);
  expect_matches(pr, tolerance_for(c == gemm_compute::fp32 && std::is_same_v<TC, float>));
}

template <class Isa>
class GemmCpu : public ::testing::Test {};
TYPED_TEST_SUITE(GemmCpu, isa_types, isa_name);

// Sizes 1, primes, non-multiples of every register tile (14×32, 6×16, 4×8), K across one and several K steps
// (kc = 256/384/768), for all four input combinations.
const std::vector<gemm_case>& size_cases() {
  static const std::vector<gemm_case> cases = {
      {1, 1, 1},        {1, 1, 7},      {1, 37, 3},     {5, 1, 2},       {2, 3, 5},       {13, 17, 19},
      {14, 32, 16},     {15, 33, 31},   {29, 65, 257},  {7, 96, 385},    {43, 47, 769},   {97, 31, 53},
      {131, 67, 101},   {3, 130, 800},  {16, 16, 0},
  };
  return cases;
}

TYPED_TEST(GemmCpu, SizesFp32) {
  for (const auto& g : size_cases()) check_case<TypeParam, float, float, float>(g);
}

TYPED_TEST(GemmCpu, SizesBf16Weights) {
  for (const auto& g : size_cases()) check_case<TypeParam, float, bf16, float>(g);
}

TYPED_TEST(GemmCpu, SizesBf16Both) {
  for (const auto& g : size_cases()) {
    check_case<TypeParam, bf16, bf16, float>(g);
    check_case<TypeParam, bf16, bf16, bf16>(g);
  }
}

TYPED_TEST(GemmCpu, ComputeModes) {
  // fp32 compute with bf16 inputs widens exactly (fp32 tolerance); bf16 compute with fp32 inputs rounds them.
  for (const auto& base : {gemm_case{37, 45, 300}, gemm_case{9, 70, 900}}) {
    gemm_case g = base;
    g.compute = gemm_compute::fp32;
    check_case<TypeParam, bf16, bf16, float>(g);
    check_case<TypeParam, float, bf16, float>(g);
    g.compute = gemm_compute::bf16;
    check_case<TypeParam, float, float, float>(g);
    check_case<TypeParam, float, float, bf16>(g);
  }
}

TYPED_TEST(GemmCpu, Epilogues) {
  // K = 800 spans several K steps on every ISA, so the in-C and scratch partial-sum paths both meet the epilogue.
  for (index_t k : {50, 800}) {
    for (auto act : {gemm_activation::none, gemm_activation::relu, gemm_activation::silu, gemm_activation::gelu_tanh}) {
      gemm_case g{45, 70, k};
      g.bias = true;
      g.act = act;
      check_case<TypeParam, float, float, float>(g);
      check_case<TypeParam, float, bf16, bf16>(g);
      g.bias = false;
      g.beta = 0.75f;
      check_case<TypeParam, float, float, float>(g);
    }
    gemm_case g{45, 70, k};
    g.bias = true;
    g.gate = true;
    g.gate_group_rows = 11;  // 45 rows = 5 gate rows, the last one partial
    g.residual = residual_kind::separate;
    check_case<TypeParam, float, float, float>(g);
    check_case<TypeParam, bf16, bf16, bf16>(g);
    g.gate_one_row = true;
    g.act = gemm_activation::silu;
    check_case<TypeParam, float, bf16, float>(g);
  }
}

TYPED_TEST(GemmCpu, InPlaceGatedResidual) {
  // x ← x + gate ⊙ (A·Bᵀ + bias), C is the residual (SANA-WM's gated residual): must read x before writing it.
  for (index_t k : {40, 800}) {
    gemm_case g{60, 50, k};
    g.pad_c = 3;
    g.bias = true;
    g.gate = true;
    g.gate_group_rows = 20;
    g.residual = residual_kind::in_place;
    check_case<TypeParam, float, float, float>(g);
    check_case<TypeParam, float, bf16, float>(g);
    check_case<TypeParam, bf16, bf16, bf16>(g);
  }
}

TYPED_TEST(GemmCpu, AlphaBeta) {
  for (index_t k : {20, 800}) {
    gemm_case g{33, 41, k};
    g.alpha = -0.5f;
    g.beta = 1.5f;
    check_case<TypeParam, float, float, float>(g);
    check_case<TypeParam, float, bf16, bf16>(g);
    g.beta = 0.0f;  // C poisoned with NaN: must not leak
    check_case<TypeParam, float, float, float>(g);
    check_case<TypeParam, bf16, bf16, bf16>(g);
    // alpha == 0: A and B are not read (A full of NaN), C = beta·C (+ epilogue).
    g.alpha = 0.0f;
    g.beta = 2.0f;
    g.nan_in_a = true;
    g.bias = true;
    check_case<TypeParam, float, float, float>(g);
  }
}

TYPED_TEST(GemmCpu, BatchedStrided) {
  gemm_case g{21, 35, 70};
  g.batch = 3;
  g.pad_a = 5;
  g.pad_b = 3;
  g.pad_c = 4;
  g.bias = true;
  g.act = gemm_activation::gelu_tanh;
  check_case<TypeParam, float, float, float>(g);
  check_case<TypeParam, float, bf16, bf16>(g);
  g.shared_b = true;  // one weight for every batch
  g.k = 500;
  g.gate = true;
  g.gate_group_rows = 7;
  g.residual = residual_kind::in_place;
  check_case<TypeParam, float, float, float>(g);
  check_case<TypeParam, bf16, bf16, float>(g);
}

// Large enough for several N blocks (nc = 2048) and, with bf16 C and several K steps, several scratch row chunks.
TEST(GemmCpuNative, BlockBoundaries) {
  check_case<sanawm::cpu::native_isa, float, float, float>(gemm_case{9, 2100, 40});
  check_case<sanawm::cpu::native_isa, float, bf16, bf16>(gemm_case{2100, 24, 800});
}

// SANA-WM's linear layers at 1/10 scale: C = 224, FFN 672 (GLU 1344), 2 latent frames of 88 tokens.
TEST(GemmCpuNative, SanaWmShapesScaled) {
  using isa = sanawm::cpu::native_isa;
  const index_t tokens = 176, c = 224, ffn = 672;
  gemm_case qkv{tokens, 3 * c, c};  // attn.qkv (no bias)
  check_case<isa, float, float, float>(qkv);
  check_case<isa, float, bf16, float>(qkv);
  gemm_case up{tokens, 2 * ffn, c};  // mlp.inverted_conv + SiLU
  up.bias = true;
  up.act = gemm_activation::silu;
  check_case<isa, float, bf16, float>(up);
  gemm_case down{tokens, c, ffn};  // mlp.point_conv (no bias)
  check_case<isa, float, float, float>(down);
  gemm_case proj{tokens, c, c};  // attn.proj + gated residual, gate per latent frame
  proj.bias = true;
  proj.gate = true;
  proj.gate_group_rows = 88;
  proj.residual = residual_kind::in_place;
  check_case<isa, float, float, float>(proj);
  check_case<isa, float, bf16, float>(proj);
  gemm_case yproj{30, c, 230};  // y_embedder fc1 + GELU-tanh (300 text tokens, 2304 → 2240, scaled)
  yproj.bias = true;
  yproj.act = gemm_activation::gelu_tanh;
  check_case<isa, bf16, bf16, float>(yproj);
}

template <class TA, class TB, class TC>
std::vector<TC> run_with_threads(int threads, const gemm_case& g) {
  sanawm::cpu::set_num_threads(threads);
  gemm_problem<TA, TB, TC> pr(g, 1234);
  sanawm::gemm(sanawm::cpu_t{}, pr.args());
  return pr.c;
}

TEST(GemmCpuNative, SameResultFor1And2Threads) {
  const int restore = sanawm::cpu::default_thread_count();
  for (const gemm_case& base : {gemm_case{150, 300, 900}, gemm_case{5, 700, 400}}) {
    gemm_case g = base;
    g.bias = true;
    g.act = gemm_activation::silu;
    const auto f1 = run_with_threads<float, float, float>(1, g);
    const auto f2 = run_with_threads<float, float, float>(2, g);
    const auto f3 = run_with_threads<float, float, float>(3, g);
    EXPECT_EQ(std::memcmp(f1.data(), f2.data(), f1.size() * sizeof(float)), 0) << describe(g);
    EXPECT_EQ(std::memcmp(f1.data(), f3.data(), f1.size() * sizeof(float)), 0) << describe(g);
    g.residual = residual_kind::in_place;
    const auto b1 = run_with_threads<float, bf16, bf16>(1, g);
    const auto b2 = run_with_threads<float, bf16, bf16>(2, g);
    EXPECT_EQ(std::memcmp(b1.data(), b2.data(), b1.size() * sizeof(bf16)), 0) << describe(g);
  }
  sanawm::cpu::set_num_threads(restore);
}

TEST(GemmCpuNative, ViewOverload) {
  // a [M, K] is a column slice of a wider matrix, c a column slice too; b is a PyTorch Linear weight [N, K].
  const index_t m = 19, n = 23, k = 29;
  sanawm::tensor<float, sanawm::extents<sanawm::dyn, sanawm::dyn>> wide_a(m, k + 6), w(n, k), wide_c(m, n + 4);
  auto va = random_values<float>(static_cast<std::size_t>(wide_a.size()), 7);
  auto vw = random_values<float>(static_cast<std::size_t>(w.size()), 8);
  std::copy(va.begin(), va.end(), wide_a.begin());
  std::copy(vw.begin(), vw.end(), w.begin());
  wide_c.fill(std::numeric_limits<float>::quiet_NaN());
  using E = sanawm::extents<sanawm::dyn, sanawm::dyn>;
  const index_t sa[2] = {k + 6, 1}, sc[2] = {n + 4, 1};
  sanawm::tensor_view<const float, E, sanawm::layout_stride> a(wide_a.data() + 3,
                                                              sanawm::layout_stride::mapping<E>(E(m, k), sa));
  sanawm::tensor_view<float, E, sanawm::layout_stride> c(wide_c.data() + 1, sanawm::layout_stride::mapping<E>(E(m, n), sc));
  std::vector<float> bias = random_values<float>(static_cast<std::size_t>(n), 9);
  sanawm::gemm_epilogue<float> epi;
  epi.bias = bias.data();
  sanawm::gemm(sanawm::cpu_t{}, a, w.view(), c, epi);
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < n + 4; ++j) {
      const float got = wide_c(i, j);
      if (j < 1 || j >= n + 1) {
        EXPECT_TRUE(std::isnan(got)) << i << "," << j;
        continue;
      }
      double r = bias[static_cast<std::size_t>(j - 1)];
      for (index_t kk = 0; kk < k; ++kk) r += double(wide_a(i, 3 + kk)) * double(w(j - 1, kk));
      EXPECT_NEAR(got, r, 1e-5 * (1 + std::abs(r))) << i << "," << j;
    }
  }
}

// ---- bad arguments ------------------------------------------------------------------------------------------

template <class F>
void expect_gemm_error(F&& f, const std::string& needle, const std::string& op = "[gemm]") {
  try {
    f();
    ADD_FAILURE() << "expected sanawm::error containing \"" << needle << "\"";
  } catch (const sanawm::error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(op), std::string::npos) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << what;
  }
}

TEST(GemmCpuErrors, BadArguments) {
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  auto base = [&] {
    gemm_args<float, float, float> p;
    p.m = 4, p.n = 4, p.k = 4;
    p.a = a.data(), p.lda = 4;
    p.b = b.data(), p.ldb = 4;
    p.c = c.data(), p.ldc = 4;
    return p;
  };
  auto run = [](const gemm_args<float, float, float>& p) { sanawm::gemm(sanawm::cpu_t{}, p); };
  {
    auto p = base();
    p.ldc = 3;
    expect_gemm_error([&] { run(p); }, "ldc 3 < n 4");
  }
  {
    auto p = base();
    p.lda = 2;
    expect_gemm_error([&] { run(p); }, "lda 2 < k 4");
  }
  {
    auto p = base();
    p.ldb = 3;
    expect_gemm_error([&] { run(p); }, "ldb 3 < k 4");
  }
  {
    auto p = base();
    p.a = nullptr;
    expect_gemm_error([&] { run(p); }, "a is null");
  }
  {
    auto p = base();
    p.b = nullptr;
    expect_gemm_error([&] { run(p); }, "b is null");
  }
  {
    auto p = base();
    p.c = nullptr;
    expect_gemm_error([&] { run(p); }, "c is null");
  }
  {
    auto p = base();
    p.m = -1;
    expect_gemm_error([&] { run(p); }, "sizes must be >= 0");
  }
  {
    auto p = base();
    p.batch = 2;
    p.batch_stride_c = 8;
    expect_gemm_error([&] { run(p); }, "batches of c would overlap");
  }
  {
    auto p = base();
    p.epilogue.residual = c.data();
    p.epilogue.ld_residual = 5;
    p.ldc = 4;
    expect_gemm_error([&] { run(p); }, "in-place residual must be c exactly");
  }
  {
    auto p = base();
    std::vector<float> gate(4, 1.0f);
    p.epilogue.gate = gate.data();
    p.epilogue.gate_group_rows = 0;
    expect_gemm_error([&] { run(p); }, "gate_group_rows must be >= 1");
  }
  {
    auto p = base();
    p.compute = gemm_compute::tf32;
    expect_gemm_error([&] { run(p); }, "tf32");
  }
  {
    // Null operands are fine when nothing is read: k = 0 or an empty C.
    auto p = base();
    p.k = 0;
    p.a = nullptr;
    p.b = nullptr;
    EXPECT_NO_THROW(run(p));
    p.m = 0;
    p.c = nullptr;
    EXPECT_NO_THROW(run(p));
  }
  // Views: mismatched K and C shape.
  using E = sanawm::extents<sanawm::dyn, sanawm::dyn>;
  auto va = sanawm::make_view(static_cast<const float*>(a.data()), E(4, 4));
  auto vb = sanawm::make_view(static_cast<const float*>(b.data()), E(4, 3));
  auto vc = sanawm::make_view(c.data(), E(4, 4));
  expect_gemm_error([&] { sanawm::gemm(sanawm::cpu_t{}, va, vb, vc); }, "a [m, k] has k = 4 but b [n, k] has k = 3");
  auto vb2 = sanawm::make_view(static_cast<const float*>(b.data()), E(5, 4));
  expect_gemm_error([&] { sanawm::gemm(sanawm::cpu_t{}, va, vb2, vc); }, "c is [4, 4] but a·bᵀ is [4, 5]");
}

// ---- B packed ahead (cpu::packed_gemm_b): bit-identical to the unpacked call --------------------------------------

/// Runs the case unpacked and with B packed by pack_gemm_b_with<Isa>, from the same initial C; the two results must
/// be the same bytes (same panels, same kernel), and the packed result is also checked against the float64 twin.
template <class Isa, class TA, class TB, class TC>
void check_packed_case(const gemm_case& g, std::uint64_t seed = sanawm::test::test_seed()) {
  gemm_problem<TA, TB, TC> plain(g, seed), packed(g, seed);
  sanawm::cpu::gemm_with<Isa>(plain.args());
  const auto pb = sanawm::cpu::pack_gemm_b_with<Isa>(packed.b.data(), g.n, g.k, packed.ldb, g.compute);
  auto p = packed.args();
  p.b = nullptr;  // the packed call must not read the row-major B
  p.ldb = 0;
  sanawm::cpu::gemm_with<Isa>(p, pb);
  EXPECT_EQ(std::memcmp(plain.c.data(), packed.c.data(), plain.c.size() * sizeof(TC)), 0) << describe(g);
  const gemm_compute c = sanawm::resolve_gemm_compute<TA, TB>(g.compute);
  expect_matches(packed, tolerance_for(c == gemm_compute::fp32 && std::is_same_v<TC, float>));
}

TYPED_TEST(GemmCpu, PackedBMatchesUnpacked) {
  for (const gemm_case& g : size_cases()) {
    if (g.k == 0) continue;  // nothing to pack
    check_packed_case<TypeParam, float, float, float>(g);
    check_packed_case<TypeParam, float, bf16, float>(g);
    gemm_case b = g;
    b.compute = gemm_compute::bf16;
    check_packed_case<TypeParam, float, float, float>(b);
    check_packed_case<TypeParam, bf16, bf16, bf16>(b);
  }
  // Several K steps and N blocks, every epilogue, one packed B shared by all batches.
  gemm_case g{37, 1100, 2600};
  g.bias = true;
  g.act = gemm_activation::silu;
  check_packed_case<TypeParam, float, float, float>(g);
  check_packed_case<TypeParam, float, bf16, bf16>(g);
  gemm_case r{33, 70, 300};
  r.batch = 3;
  r.shared_b = true;
  r.gate = true;
  r.gate_group_rows = 5;
  r.residual = residual_kind::in_place;
  r.pad_a = 3;
  r.pad_b = 2;
  r.pad_c = 1;
  check_packed_case<TypeParam, float, float, float>(r);
  check_packed_case<TypeParam, float, bf16, float>(r);
}

TEST(GemmCpuNative, PackedBThreadCountIndependent) {
  const int restore = sanawm::cpu::default_thread_count();
  gemm_case g{24, 700, 1300};
  g.bias = true;
  std::vector<float> out[2];
  for (int t : {1, 2}) {
    sanawm::cpu::set_num_threads(t);
    gemm_problem<float, float, float> pr(g, 99);
    const auto pb = sanawm::cpu::pack_gemm_b(pr.b.data(), g.n, g.k, pr.ldb);  // packed with t threads too
    sanawm::gemm(sanawm::cpu_t{}, pr.args(), pb);
    out[t - 1] = pr.c;
  }
  sanawm::cpu::set_num_threads(restore);
  EXPECT_EQ(std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)), 0);
}

TEST(GemmCpuErrors, PackedBMismatches) {
  std::vector<float> a(6 * 8, 0.5f), b(5 * 8, 0.25f), c(6 * 5);
  std::vector<bf16> bb(5 * 8, bf16(0.25f));
  gemm_args<float, float, float> p;
  p.m = 6, p.n = 5, p.k = 8;
  p.a = a.data(), p.lda = 8;
  p.c = c.data(), p.ldc = 5;
  const auto pb = sanawm::cpu::pack_gemm_b(b.data(), 5, 8, 8);
  auto run = [&](const auto& q, const sanawm::cpu::packed_gemm_b& packed) { sanawm::gemm(sanawm::cpu_t{}, q, packed); };
  {
    auto q = p;
    q.n = 4;
    expect_gemm_error([&] { run(q, pb); }, "the packed b is [5, 8]");
  }
  {
    auto q = p;
    q.compute = gemm_compute::bf16;
    expect_gemm_error([&] { run(q, pb); }, "b was packed for fp32 compute");
  }
  {
    const auto pbf = sanawm::cpu::pack_gemm_b(bb.data(), 5, 8, 8);  // automatic → bf16 for a bf16 weight
    EXPECT_EQ(pbf.compute(), gemm_compute::bf16);
    expect_gemm_error([&] { run(p, pbf); }, "b was packed for bf16 compute");
  }
  {
    auto q = p;
    q.batch = 2;
    q.batch_stride_a = 48, q.batch_stride_b = 40, q.batch_stride_c = 30;
    expect_gemm_error([&] { run(q, pb); }, "batch_stride_b must be 0");
  }
  expect_gemm_error([&] { run(p, sanawm::cpu::packed_gemm_b{}); }, "the packed b is empty");
  expect_gemm_error([&] { (void)sanawm::cpu::pack_gemm_b(b.data(), 5, 8, 7); }, "ldb 7 < k 8", "[pack_gemm_b]");
  expect_gemm_error([&] { (void)sanawm::cpu::pack_gemm_b(b.data(), 0, 8, 8); }, "sizes must be >= 1", "[pack_gemm_b]");
  expect_gemm_error([&] { (void)sanawm::cpu::pack_gemm_b<float>(nullptr, 5, 8, 8); }, "b is null", "[pack_gemm_b]");
}

}  // namespace

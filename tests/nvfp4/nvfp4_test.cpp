// SPDX-License-Identifier: Apache-2.0
// tests/nvfp4/nvfp4_test.cpp — NVFP4 on the CPU: code tables, the dossier's test vectors (blocks A, B, C and the
// TE-vs-ModelOpt midpoint), quantisation error bounds, RHT and stochastic rounding, the 128x4 swizzle, W4A16/W4A4
// GEMMs on every SIMD variant against "dequantise, then float64 GEMM", checkpoint quantiser and loader errors.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "sanawm/core/bf16.hpp"
#include "sanawm/io/safetensors.hpp"
#include "sanawm/kernels/nvfp4/nvfp4.hpp"
#include "sanawm/kernels/nvfp4/nvfp4_cpu.hpp"
#include "sanawm/kernels/nvfp4/nvfp4_io.hpp"
#include "sanawm/kernels/nvfp4/nvfp4_ref.hpp"
#include "support/test_util.hpp"

namespace {

using namespace sanawm;
using sanawm::index_t;

template <class L>
struct to_gtest_types;
template <class... Isas>
struct to_gtest_types<cpu::isa_list<Isas...>> {
  using type = ::testing::Types<Isas...>;
};
using isa_types = to_gtest_types<cpu::compiled_isas>::type;
struct isa_name {
  template <class Isa>
  static std::string GetName(int) {
    return Isa::name;
  }
};

std::vector<std::uint8_t> bytes_of(const nvfp4_tensor& t) {
  std::vector<std::uint8_t> b;
  for (auto x : t.data) b.push_back(x.bits());
  return b;
}

// ---- code tables ------------------------------------------------------------------------------------------------

TEST(Nvfp4Tables, E2m1CodesAndPackedBytes) {
  const float values[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (unsigned c = 0; c < 16; ++c) {
    const float v = fp4_e2m1::from_bits(static_cast<std::uint8_t>(c)).to_float();
    EXPECT_EQ(v, (c & 8 ? -1.0f : 1.0f) * values[c & 7]) << c;
    // The decode table of the CPU kernels is the same value in bf16.
    EXPECT_EQ(cpu::detail::nvfp4_e2m1_bf16[c], bf16(v).bits()) << c;
  }
  for (unsigned b = 0; b < 256; ++b) {
    const fp4x2 p = fp4x2::from_bits(static_cast<std::uint8_t>(b));
    EXPECT_EQ(p.lo().bits(), b & 0xF);
    EXPECT_EQ(p.hi().bits(), b >> 4);
  }
  EXPECT_EQ(fp4x2(1.0f, -3.0f).bits(), 0xD2);
}

TEST(Nvfp4Tables, ScaleDecodeAndProductsExactInBf16) {
  for (unsigned s = 0; s < 256; ++s) {
    const ue4m3 sc = ue4m3::from_bits(static_cast<std::uint8_t>(s));
    if (sc.is_nan()) continue;
    for (unsigned c = 0; c < 16; ++c) {
      const float p = cpu::detail::nvfp4_decode_scaled(c, sc.to_float());
      EXPECT_EQ(static_cast<double>(p), static_cast<double>(fp4_e2m1::from_bits(static_cast<std::uint8_t>(c)).to_float()) *
                                            static_cast<double>(sc.to_float()));
      EXPECT_EQ(bf16(p).to_float(), p) << "code " << c << " scale byte " << s;  // exact in bf16
    }
  }
#if SANAWM_SIMD_AVX512
  // The shift-and-multiply scale decoder of the direct kernel, for every byte (bit 7 ignored as the hardware does).
  for (unsigned s0 = 0; s0 < 256; s0 += 16) {
    alignas(16) std::uint8_t b[16];
    for (int i = 0; i < 16; ++i) b[i] = static_cast<std::uint8_t>(s0 + static_cast<unsigned>(i));
    alignas(64) float out[16];
    _mm512_store_ps(out, cpu::detail::nvfp4_scales16(_mm_load_si128(reinterpret_cast<const __m128i*>(b))));
    for (int i = 0; i < 16; ++i) {
      if ((b[i] & 0x7F) == 0x7F) continue;  // NaN scale: never produced by the quantiser for finite input
      EXPECT_EQ(out[i], ue4m3::from_bits(b[i]).to_float()) << int(b[i]);
    }
  }
#endif
}

// ---- dossier test vectors (nvfp4-plucker-ucpe.md A.9) -----------------------------------------------------------

TEST(Nvfp4Vectors, BlockA) {
  const std::vector<float> x = {0, 0.1f, -0.2f, 0.35f, 0.5f, -0.75f, 1.0f, 1.25f, -1.5f, 2.0f, 2.5f, -3.0f, 3.5f, 4.0f, -5.0f, 6.0f};
  const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, x.data(), 1, 16, 16);
  EXPECT_EQ(nvfp4_encode_scale(6.0f), 448.0f);
  EXPECT_EQ(t.global_scale, 1.0f / 448.0f);
  EXPECT_EQ(t.scales[0].bits(), 0x7E);
  EXPECT_EQ(bytes_of(t), (std::vector<std::uint8_t>{0x00, 0x18, 0xA1, 0x22, 0x4B, 0xD4, 0x66, 0x7E}));
  const double dec[16] = {0, 0, -0.0, 0.5, 0.5, -1, 1, 1, -1.5, 2, 2, -3, 4, 4, -4, 6};
  std::vector<float> y(16);
  nvfp4_dequantize(cpu_t{}, t.view(), y.data(), 16);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y[i], dec[i]) << i;
}

std::vector<float> block_b_input() {
  return {10, -7.5f, 5, 3.3f, -2.2f, 1.1f, 0.6f, -0.3f, 0, 9, -9.9f, 4.4f, 2.5f, -1.25f, 0.75f, 8,
          1.3f, -1.3f, 0.65f, 0.2f, -0.05f, 1.0f, 0.9f, -0.45f, 0.33f, 0, 1.25f, -0.8f, 0.1f, 0.55f, -1.1f, 0.7f};
}

TEST(Nvfp4Vectors, BlockBTransformerEngineOrder) {
  const auto x = block_b_input();
  const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, x.data(), 1, 32, 32);
  EXPECT_EQ(nvfp4_encode_scale(10.0f), 268.799988f);
  EXPECT_FLOAT_EQ(t.global_scale, 0.00372023834f);
  EXPECT_EQ(nvfp4_element_multiplier(ue4m3::from_bits(0x7E), t.global_scale), 0.59999996f);
  EXPECT_EQ(t.scales[0].bits(), 0x7E);
  EXPECT_EQ(t.scales[1].bits(), 0x67);
  EXPECT_EQ(bytes_of(t), (std::vector<std::uint8_t>{0xE7, 0x45, 0x1B, 0x81, 0x70, 0x5F, 0x93, 0x61,
                                                    0xF7, 0x25, 0x68, 0xC6, 0x03, 0xE7, 0x41, 0x5E}));
  // The independent scalar reference in TE's order agrees byte for byte.
  const nvfp4_tensor r = ref::nvfp4_quantize(x, 1, 32, ref::nvfp4_recipe::transformer_engine);
  EXPECT_EQ(bytes_of(r), bytes_of(t));
}

TEST(Nvfp4Vectors, BlockBModelOptMidpointDiffers) {
  // −1.25 lands within an ulp of the 0.75 midpoint: TE's multiply gives −0.74999995 → −0.5 (0x9), ModelOpt's
  // divide −0.75000006 → −1.0 (0xA). Same scale bytes; exactly one element byte differs (block 0 byte 6).
  const auto x = block_b_input();
  const nvfp4_tensor te = ref::nvfp4_quantize(x, 1, 32, ref::nvfp4_recipe::transformer_engine);
  const nvfp4_tensor mo = ref::nvfp4_quantize(x, 1, 32, ref::nvfp4_recipe::modelopt);
  EXPECT_EQ(mo.scales[0].bits(), 0x7E);
  EXPECT_EQ(mo.scales[1].bits(), 0x67);
  const auto a = bytes_of(te), b = bytes_of(mo);
  int diffs = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diffs += a[i] != b[i];
  EXPECT_EQ(diffs, 1);
  EXPECT_EQ(a[6], 0x93);
  EXPECT_EQ(b[6], 0xA3);
}

TEST(Nvfp4Vectors, BlockCZeros) {
  const std::vector<float> x(16, 0.0f);
  const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, x.data(), 1, 16, 16);
  EXPECT_EQ(nvfp4_encode_scale(0.0f), std::numeric_limits<float>::max());
  EXPECT_EQ(t.scales[0].bits(), 0x00);
  for (auto b : t.data) EXPECT_EQ(b.bits(), 0x00);
  std::vector<float> y(16, 1.0f);
  nvfp4_dequantize(cpu_t{}, t.view(), y.data(), 16);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

// ---- error bounds, RHT, stochastic rounding ------------------------------------------------------------------------

TEST(Nvfp4Quantize, ErrorWithinFormatBound) {
  const index_t rows = 37, cols = 160;
  std::mt19937_64 gen(test::test_seed());
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(rows * cols));
  for (auto& v : x) v = nd(gen) * (gen() % 7 == 0 ? 30.0f : 1.0f);  // outliers widen the block range
  const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, x.data(), rows, cols, cols);
  EXPECT_EQ(bytes_of(t), bytes_of(ref::nvfp4_quantize(x, rows, cols)));
  std::vector<float> y(x.size());
  nvfp4_dequantize(cpu_t{}, t.view(), y.data(), cols);
  for (index_t r = 0; r < rows; ++r)
    for (index_t k = 0; k < cols; ++k) {
      // d = decoded block scale; |x/d| ≤ 4 rounds with spacing ≤ 1 (error ≤ d/2), above with spacing 2 or
      // saturates from at most 6·(1 + 2^-4) (error ≤ d).
      const double d = static_cast<double>(t.view().scale(r, k / 16).to_float()) * t.global_scale;
      const double xv = x[static_cast<std::size_t>(r * cols + k)], yv = y[static_cast<std::size_t>(r * cols + k)];
      const double bound = (std::fabs(xv) <= 4 * d ? 0.5 : 1.0) * d * (1 + 1e-6);
      ASSERT_LE(std::fabs(xv - yv), bound) << r << "," << k;
    }
  const double e = test::rel_rms<float, float>(y, x);
  EXPECT_LT(e, 0.12) << "relative RMS error of NVFP4 on Gaussian data";
}

TEST(Nvfp4Quantize, RhtRoundTripAndBf16Input) {
  const index_t rows = 8, cols = 64;
  auto x = test::random_vector<float>(static_cast<std::size_t>(rows * cols), -2, 2);
  x[5] = 40.0f;  // an outlier: RHT spreads it over its block
  nvfp4_options o;
  o.rht = true;
  o.rht_seed = 1234;
  const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, x.data(), rows, cols, cols, o);
  EXPECT_TRUE(t.rht);
  std::vector<float> y(x.size());
  nvfp4_dequantize(cpu_t{}, t.view(), y.data(), cols);
  const auto yr = ref::nvfp4_dequantize(t.view());
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], yr[i], 1e-5 * (1 + std::fabs(yr[i])));
  EXPECT_LT((test::rel_rms<float, float>(y, x)), 0.2);
  // Forward then inverse RHT is the identity (orthonormal up to fp32 rounding).
  float v[16], w[16];
  for (int i = 0; i < 16; ++i) v[i] = w[i] = static_cast<float>(i) - 7.5f;
  nvfp4_rht_forward(v, nvfp4_rht_signs(99));
  nvfp4_rht_inverse(v, nvfp4_rht_signs(99));
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(v[i], w[i], 1e-5f);
  // bf16 input quantises like its float widening.
  std::vector<bf16> xb(x.size());
  std::vector<float> xw(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) xb[i] = bf16(x[i]), xw[i] = xb[i].to_float();
  EXPECT_EQ(bytes_of(nvfp4_quantize(cpu_t{}, xb.data(), rows, cols, cols)),
            bytes_of(nvfp4_quantize(cpu_t{}, xw.data(), rows, cols, cols)));
}

TEST(Nvfp4Quantize, StochasticRoundingIsUnbiased) {
  std::vector<float> x(16, 2.6f);
  x[0] = 6.0f;  // amax 6 → S_enc 448, block scale 448, multiplier 1: elements stay 2.6, between codes 2 and 3
  double sum = 0;
  const int n = 2000;
  for (int s = 0; s < n; ++s) {
    nvfp4_options o;
    o.rounding = nvfp4_rounding::stochastic;
    o.sr_seed = static_cast<std::uint64_t>(s);
    const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, x.data(), 1, 16, 16, o);
    std::vector<float> y(16);
    nvfp4_dequantize(cpu_t{}, t.view(), y.data(), 16);
    EXPECT_EQ(y[0], 6.0f);
    for (int i = 1; i < 16; ++i) {
      ASSERT_TRUE(y[i] == 2.0f || y[i] == 3.0f) << y[i];
      sum += y[i];
    }
  }
  EXPECT_NEAR(sum / (15.0 * n), 2.6, 0.02);
  // Exact codes never move.
  EXPECT_EQ(nvfp4_round_stochastic(1.5f, 0xFFFFFF).bits(), 0x3);
  EXPECT_EQ(nvfp4_round_stochastic(-6.0f, 0).bits(), 0xF);
}

// ---- scale layouts ----------------------------------------------------------------------------------------------

TEST(Nvfp4Swizzle, DossierOffsetsAndRoundTrip) {
  const std::pair<std::pair<int, int>, int> cases[] = {{{0, 0}, 0},     {{1, 0}, 16},   {{31, 0}, 496},  {{32, 0}, 4},
                                                       {{96, 0}, 12},   {{0, 1}, 1},    {{0, 3}, 3},     {{0, 4}, 512},
                                                       {{33, 5}, 533},  {{127, 7}, 1023}, {{128, 0}, 1024}, {{200, 6}, 1674}};
  for (const auto& [rc, off] : cases) EXPECT_EQ(nvfp4_swizzled_offset(rc.first, rc.second, 8), off);
  for (index_t rows : {1, 130, 256}) {
    for (index_t cols : {16, 48, 128, 176}) {
      auto x = test::random_vector<float>(static_cast<std::size_t>(rows * cols), -3, 3, 7 + static_cast<std::uint64_t>(rows));
      const nvfp4_tensor lin = nvfp4_quantize(cpu_t{}, x.data(), rows, cols, cols);
      const nvfp4_tensor sw = nvfp4_with_layout(lin, nvfp4_scale_layout::swizzled_128x4);
      EXPECT_EQ(static_cast<index_t>(sw.scales.size()), nvfp4_swizzled_size(rows, cols / 16));
      // Quantising straight into the swizzled layout writes the same bytes; padding stays 0.
      const nvfp4_tensor direct = nvfp4_quantize(cpu_t{}, x.data(), rows, cols, cols, {}, nvfp4_scale_layout::swizzled_128x4);
      index_t live = 0;
      for (std::size_t i = 0; i < sw.scales.size(); ++i) {
        EXPECT_EQ(sw.scales[i].bits(), direct.scales[i].bits()) << i;
        live += sw.scales[i].bits() != 0;
      }
      EXPECT_LE(live, rows * (cols / 16));
      const nvfp4_tensor back = nvfp4_with_layout(sw, nvfp4_scale_layout::linear);
      for (std::size_t i = 0; i < lin.scales.size(); ++i) ASSERT_EQ(back.scales[i].bits(), lin.scales[i].bits());
      std::vector<float> y1(x.size()), y2(x.size());
      nvfp4_dequantize(cpu_t{}, lin.view(), y1.data(), cols);
      nvfp4_dequantize(cpu_t{}, sw.view(), y2.data(), cols);
      EXPECT_EQ(y1, y2);
    }
  }
}

// ---- GEMMs ------------------------------------------------------------------------------------------------------

template <class Isa>
class Nvfp4Gemm : public ::testing::Test {};
TYPED_TEST_SUITE(Nvfp4Gemm, isa_types, isa_name);

/// How check_gemm hands the weight to the W4A16 kernel: the row-major view, or a weight pre-arranged by
/// nvfp4_prepare with args.b set to the view (shape checked) or left empty.
enum class weight_form { view, prepared_with_b, prepared_no_b };

template <class Isa, class TA, class TC>
void check_gemm(index_t m, index_t n, index_t k, gemm_compute compute, bool w4a4, bool rht, bool epilogue,
                std::uint64_t seed, cpu::nvfp4_cpu_path path = cpu::nvfp4_cpu_path::automatic,
                weight_form form = weight_form::view) {
  SCOPED_TRACE(::testing::Message() << "m=" << m << " n=" << n << " k=" << k << " compute=" << int(compute)
                                    << " w4a4=" << w4a4 << " rht=" << rht << " epi=" << epilogue << " path=" << int(path)
                                    << " form=" << int(form)
                                    << " TA=" << (std::is_same_v<TA, float> ? "f32" : "bf16")
                                    << " TC=" << (std::is_same_v<TC, float> ? "f32" : "bf16"));
  const index_t lda = k + 3, ldc = n + 5;
  auto wf = test::random_vector<float>(static_cast<std::size_t>(n * k), -1, 1, seed);
  auto af = test::random_vector<float>(static_cast<std::size_t>(m * lda), -2, 2, seed + 1);
  nvfp4_options o;
  o.rht = rht;
  o.rht_seed = seed;
  const nvfp4_tensor w = nvfp4_quantize(cpu_t{}, wf.data(), n, k, k, o);
  std::vector<TA> a(af.size());
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<TA>(af[i]);
  std::vector<TC> c(static_cast<std::size_t>(m * ldc));
  std::vector<float> bias(static_cast<std::size_t>(n)), res_f(c.size());
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  std::vector<TC> res(c.size());
  for (std::size_t i = 0; i < res.size(); ++i) res[i] = static_cast<TC>(0.125f * static_cast<float>(i % 5));
  for (auto& v : c) v = static_cast<TC>(std::numeric_limits<float>::quiet_NaN());
  nvfp4_gemm_args<TA, TC> p;
  p.m = m;
  p.a = a.data();
  p.lda = lda;
  p.b = w.view();
  p.c = c.data();
  p.ldc = ldc;
  p.alpha = 0.75f;
  p.compute = compute;
  if (epilogue) {
    p.epilogue.bias = bias.data();
    p.epilogue.activation = gemm_activation::silu;
    p.epilogue.residual = res.data();
    p.epilogue.ld_residual = ldc;
  }
  std::vector<double> ref_out(static_cast<std::size_t>(m * n));
  std::vector<double> a_vals;
  const bool round_bf16 = resolve_gemm_compute<TA, bf16>(compute) == gemm_compute::bf16;
  if (w4a4) {
    // Reference: quantise A (same recipe and RHT as the weight), decode in double, float64 GEMM.
    nvfp4_options oa;
    oa.rht = rht;
    oa.rht_seed = seed;
    std::vector<float> a_dense(static_cast<std::size_t>(m * k));
    for (index_t i = 0; i < m; ++i)
      for (index_t kk = 0; kk < k; ++kk) a_dense[static_cast<std::size_t>(i * k + kk)] = static_cast<float>(a[static_cast<std::size_t>(i * lda + kk)]);
    const nvfp4_tensor aq = nvfp4_quantize(cpu_t{}, a_dense.data(), m, k, k, oa);
    a_vals = ref::nvfp4_dequantize(aq.view());
    // The weight reference decodes with the inverse RHT, A's with it too: the product is the same in exact math.
    cpu::nvfp4_gemm_w4a4_with<Isa>(p, -1.0f, path);
  } else if (form == weight_form::view) {
    cpu::nvfp4_gemm_w4a16_with<Isa>(p, path);
  } else {
    const nvfp4_prepared pw = nvfp4_prepare(cpu_t{}, w.view());
    nvfp4_gemm_args<TA, TC> q = p;
    if (form == weight_form::prepared_no_b) q.b = nvfp4_view{};
    cpu::nvfp4_gemm_w4a16_with<Isa>(q, pw, path);
  }
  ref::nvfp4_gemm(p, ref_out, round_bf16 && !w4a4, a_vals);
  // Tolerance: fp32 accumulation over k products (scaled by Σ|a·w|), plus bf16 A rounding when the compute mode
  // rounds (the reference rounds too) and bf16 output rounding; RHT adds fp32 rounding of the transform.
  const auto wd = ref::nvfp4_dequantize(w.view());
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double mag = 0;
      for (index_t kk = 0; kk < k; ++kk)
        mag += std::fabs(static_cast<double>(static_cast<float>(a[static_cast<std::size_t>(i * lda + kk)])) *
                         wd[static_cast<std::size_t>(j * k + kk)]);
      mag *= 0.75;
      const double r = ref_out[static_cast<std::size_t>(i * n + j)];
      double tol = 4e-6 * mag + 1e-6;
      if (rht) tol += (round_bf16 ? 2e-2 : 1e-5) * mag;  // A is transformed in fp32 then (maybe) rounded to bf16
      if (w4a4 && rht) tol += 1e-5 * mag;
      if (std::is_same_v<TC, bf16>) tol += std::fabs(r) * 0x1p-8 + 0x1p-8 * 0.25;
      const double got = static_cast<double>(static_cast<float>(c[static_cast<std::size_t>(i * ldc + j)]));
      ASSERT_NEAR(got, r, tol) << "at (" << i << ", " << j << ")";
    }
  // Columns past n and rows' padding are never written.
  if (ldc > n) {
    for (index_t i = 0; i < m; ++i) ASSERT_TRUE(std::isnan(static_cast<float>(c[static_cast<std::size_t>(i * ldc + n)])));
  }
}

TYPED_TEST(Nvfp4Gemm, W4A16MatchesDequantisedFloat64) {
  using Isa = TypeParam;
  std::uint64_t seed = 100;
  for (index_t m : {1, 3, 4, 5, 17, 70})
    for (auto [n, k] : {std::pair<index_t, index_t>{1, 16}, {50, 48}, {96, 224}, {20, 2304 + 64}}) {
      if (m * n * k > 5'000'000) continue;
      check_gemm<Isa, float, float>(m, n, k, gemm_compute::bf16, false, false, false, seed++);
      check_gemm<Isa, float, float>(m, n, k, gemm_compute::fp32, false, false, m % 2 == 1, seed++);
      check_gemm<Isa, bf16, bf16>(m, n, k, gemm_compute::automatic, false, false, true, seed++);
      if (m <= 17) {  // both CPU kernels on the small-M shapes, whatever the automatic choice is
        check_gemm<Isa, float, float>(m, n, k, gemm_compute::bf16, false, false, true, seed++, cpu::nvfp4_cpu_path::packed);
        check_gemm<Isa, bf16, float>(m, n, k, gemm_compute::bf16, false, false, false, seed++, cpu::nvfp4_cpu_path::direct);
      }
    }
  for (index_t m : {6, 8, 9, 16})  // every row-group size of the direct kernel
    check_gemm<Isa, float, bf16>(m, 36, 80, gemm_compute::bf16, false, false, true, seed++, cpu::nvfp4_cpu_path::direct);
}

// The prepared (panel-interleaved) weight: every path (automatic, the panel micro-kernel, the packed path decoding
// from panels) on every SIMD variant, fp32/bf16 A and C, bf16/fp32 compute, every row count of the panel kernel's
// tiles (1..16 and groups beyond), N not a multiple of the 16-column panel (or of the packed kernel's 48), K an odd
// number of blocks (not a multiple of the 32-k step) and K over one packed K step (2304).
TYPED_TEST(Nvfp4Gemm, W4A16PreparedMatchesDequantisedFloat64) {
  using Isa = TypeParam;
  using cpu::nvfp4_cpu_path;
  std::uint64_t seed = 900;
  for (index_t m = 1; m <= 17; ++m) {
    const auto form = m % 2 ? weight_form::prepared_with_b : weight_form::prepared_no_b;
    check_gemm<Isa, bf16, float>(m, 37, 48, gemm_compute::bf16, false, false, m % 3 == 0, seed++, nvfp4_cpu_path::automatic, form);
    check_gemm<Isa, float, bf16>(m, 50, 80, gemm_compute::automatic, false, false, true, seed++, nvfp4_cpu_path::panel, form);
  }
  for (index_t m : {1, 4, 9, 16, 33})
    for (auto [n, k] : {std::pair<index_t, index_t>{1, 16}, {16, 32}, {61, 176}, {20, 2304 + 64}}) {
      check_gemm<Isa, float, float>(m, n, k, gemm_compute::bf16, false, false, false, seed++, nvfp4_cpu_path::automatic,
                                    weight_form::prepared_no_b);
      check_gemm<Isa, float, float>(m, n, k, gemm_compute::fp32, false, false, m == 9, seed++, nvfp4_cpu_path::automatic,
                                    weight_form::prepared_with_b);
      check_gemm<Isa, bf16, bf16>(m, n, k, gemm_compute::bf16, false, false, true, seed++, nvfp4_cpu_path::packed,
                                  weight_form::prepared_no_b);
      check_gemm<Isa, float, float>(m, n, k, gemm_compute::fp32, false, false, false, seed++, nvfp4_cpu_path::packed,
                                    weight_form::prepared_with_b);
      check_gemm<Isa, bf16, float>(m, n, k, gemm_compute::bf16, false, false, false, seed++, nvfp4_cpu_path::panel,
                                   weight_form::prepared_with_b);
    }
  // A row count past 16 through the panel kernel (row groups), and an RHT weight.
  check_gemm<Isa, float, float>(40, 45, 96, gemm_compute::bf16, false, false, true, seed++, nvfp4_cpu_path::panel,
                                weight_form::prepared_no_b);
  check_gemm<Isa, float, float>(3, 40, 64, gemm_compute::fp32, false, true, false, seed++, nvfp4_cpu_path::automatic,
                                weight_form::prepared_with_b);
  check_gemm<Isa, float, float>(5, 40, 64, gemm_compute::bf16, false, true, true, seed++, nvfp4_cpu_path::automatic,
                                weight_form::prepared_no_b);
}

TYPED_TEST(Nvfp4Gemm, W4A16WithRhtWeight) {
  using Isa = TypeParam;
  check_gemm<Isa, float, float>(3, 40, 64, gemm_compute::fp32, false, true, false, 7);
  check_gemm<Isa, float, float>(33, 40, 64, gemm_compute::fp32, false, true, true, 8);
}

TYPED_TEST(Nvfp4Gemm, W4A4MatchesQuantisedFloat64) {
  using Isa = TypeParam;
  std::uint64_t seed = 500;
  for (index_t m : {1, 4, 9, 40})
    for (auto [n, k] : {std::pair<index_t, index_t>{7, 32}, {64, 224}}) {
      check_gemm<Isa, float, float>(m, n, k, gemm_compute::automatic, true, false, m == 9, seed++);
      check_gemm<Isa, bf16, bf16>(m, n, k, gemm_compute::automatic, true, false, false, seed++);
      check_gemm<Isa, float, float>(m, n, k, gemm_compute::automatic, true, true, false, seed++);
    }
}

// The panel arrangement is a permutation of the codes and scales: every element decodes to the view's value
// (linear and swizzled sources), padded rows are zero codes and scales, and the storage stays 4.5 bits/weight.
TEST(Nvfp4Prepared, ArrangementIsExact) {
  std::uint64_t seed = 70;
  for (auto [n, k] : {std::pair<index_t, index_t>{1, 16}, {16, 32}, {37, 48}, {64, 2240}, {50, 208}}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n << " k=" << k);
    auto wf = test::random_vector<float>(static_cast<std::size_t>(n * k), -3, 3, seed++);
    for (auto layout : {nvfp4_scale_layout::linear, nvfp4_scale_layout::swizzled_128x4}) {
      const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, wf.data(), n, k, k, {}, layout);
      const nvfp4_prepared pw = nvfp4_prepare(cpu_t{}, t.view());
      ASSERT_EQ(pw.rows, n);
      ASSERT_EQ(pw.cols, k);
      ASSERT_EQ(pw.global_scale, t.global_scale);
      const index_t padded = pw.panels() * nvfp4_panel_width;
      ASSERT_EQ(pw.codes.size(), padded * k / 2);
      ASSERT_EQ(pw.scales.size(), padded * k / 16);
      if (n % 16 == 0 && layout == nvfp4_scale_layout::linear) {
        EXPECT_EQ(pw.storage_bytes(), t.storage_bytes());
      }
      for (index_t r = 0; r < padded; ++r)
        for (index_t kk = 0; kk < k; ++kk) {
          if (r < n) {
            ASSERT_EQ(pw.code(r, kk), t.data[static_cast<std::size_t>(r * k / 2 + kk / 2)].get(static_cast<int>(kk & 1)).bits())
                << r << ", " << kk;
            if (kk % 16 == 0) {
              ASSERT_EQ(pw.scale(r, kk / 16).bits(), t.view().scale(r, kk / 16).bits());
            }
            ASSERT_EQ(pw.value(r, kk), t.view().value(r, kk));
          } else {
            ASSERT_EQ(pw.code(r, kk), 0u);
            if (kk % 16 == 0) {
              ASSERT_EQ(pw.scale(r, kk / 16).bits(), 0);
            }
          }
        }
    }
  }
}

// Results of the panel kernel and of the packed path on a prepared weight do not depend on how the panels are split
// over threads: the same call on 1 and on 3 pool threads gives identical bits.
TEST(Nvfp4Prepared, SameBitsOnAnyThreadCount) {
  const index_t m = 7, n = 300, k = 512;
  auto wf = test::random_vector<float>(static_cast<std::size_t>(n * k), -1, 1, 31);
  auto af = test::random_vector<float>(static_cast<std::size_t>(m * k), -1, 1, 32);
  const nvfp4_tensor t = nvfp4_quantize(cpu_t{}, wf.data(), n, k, k);
  const nvfp4_prepared pw = nvfp4_prepare(cpu_t{}, t);
  for (auto path : {cpu::nvfp4_cpu_path::panel, cpu::nvfp4_cpu_path::packed}) {
    std::vector<float> c1(static_cast<std::size_t>(m * n), -1.0f), c2 = c1;
    nvfp4_gemm_args<float, float> p;
    p.m = m; p.a = af.data(); p.lda = k; p.c = c1.data(); p.ldc = n;
    const int before = cpu::num_threads();
    cpu::set_num_threads(1);
    cpu::nvfp4_gemm_w4a16_with<cpu::native_isa>(p, pw, path);
    p.c = c2.data();
    cpu::set_num_threads(3);
    cpu::nvfp4_gemm_w4a16_with<cpu::native_isa>(p, pw, path);
    cpu::set_num_threads(before);
    for (std::size_t i = 0; i < c1.size(); ++i) ASSERT_EQ(std::bit_cast<std::uint32_t>(c1[i]), std::bit_cast<std::uint32_t>(c2[i])) << i;
  }
}

TEST(Nvfp4Gemm, EmptyAndAlphaZero) {
  const std::vector<float> wf(32 * 16, 0.5f);
  const nvfp4_tensor w = nvfp4_quantize(cpu_t{}, wf.data(), 32, 16, 16);
  std::vector<float> a(16, 1.0f), c(32, 3.0f);
  nvfp4_gemm_args<float, float> p;
  p.m = 1; p.a = a.data(); p.lda = 16; p.b = w.view(); p.c = c.data(); p.ldc = 32;
  p.alpha = 0.0f; p.beta = 2.0f;
  nvfp4_gemm_w4a16(cpu_t{}, p);
  for (float v : c) EXPECT_EQ(v, 6.0f);
  p.m = 0;
  nvfp4_gemm_w4a16(cpu_t{}, p);
}

// ---- bad arguments and corrupt files ---------------------------------------------------------------------------

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sanawm::error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Nvfp4Errors, BadShapesAndPointers) {
  EXPECT_NE(error_of([] { nvfp4_tensor t(4, 24); }).find("multiple of the NVFP4 block"), std::string::npos);
  std::vector<float> x(4 * 24);
  EXPECT_NE(error_of([&] { (void)nvfp4_quantize(cpu_t{}, x.data(), 4, 24, 24); }).find("[nvfp4]"), std::string::npos);
  nvfp4_tensor w(8, 32);
  nvfp4_view v = w.view();
  v.scales = nullptr;
  EXPECT_NE(error_of([&] { check_nvfp4(v, "test"); }).find("block scales are missing"), std::string::npos);
  v = w.view();
  v.cols = 33;
  EXPECT_NE(error_of([&] { check_nvfp4(v, "test"); }).find("K = 33"), std::string::npos);
  std::vector<float> a(8 * 32), c(8 * 8);
  nvfp4_gemm_args<float, float> p;
  p.m = 8; p.a = a.data(); p.lda = 16; p.b = w.view(); p.c = c.data(); p.ldc = 8;
  EXPECT_NE(error_of([&] { nvfp4_gemm_w4a16(cpu_t{}, p); }).find("lda 16 < k 32"), std::string::npos);
  p.lda = 32;
  const nvfp4_tensor sw = nvfp4_with_layout(w, nvfp4_scale_layout::swizzled_128x4);
  p.b = sw.view();
  EXPECT_NE(error_of([&] { nvfp4_gemm_w4a16(cpu_t{}, p); }).find("linear"), std::string::npos);
  p.b = w.view();
  p.b.global_scale = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of([&] { nvfp4_gemm_w4a4(cpu_t{}, p); }).find("global"), std::string::npos);
  // Prepared weights: K off the block, a shape that differs from args.b, a weight never prepared, short lda.
  nvfp4_view odd = w.view();
  odd.cols = 24;
  EXPECT_NE(error_of([&] { (void)nvfp4_prepare(cpu_t{}, odd); }).find("[nvfp4_prepare] weight: K = 24"), std::string::npos);
  const nvfp4_prepared pw = nvfp4_prepare(cpu_t{}, w);
  p.b = w.view();
  p.b.rows = 7;
  EXPECT_NE(error_of([&] { nvfp4_gemm_w4a16(cpu_t{}, p, pw); }).find("args.b is [7, 32] but the prepared weight is [8, 32]"),
            std::string::npos);
  p.b = nvfp4_view{};
  nvfp4_prepared empty;
  empty.rows = 8;
  empty.cols = 32;
  EXPECT_NE(error_of([&] { nvfp4_gemm_w4a16(cpu_t{}, p, empty); }).find("build it with nvfp4_prepare"), std::string::npos);
  p.lda = 16;
  EXPECT_NE(error_of([&] { nvfp4_gemm_w4a16(cpu_t{}, p, pw); }).find("lda 16 < k 32"), std::string::npos);
  p.lda = 32;
  p.ldc = 4;
  EXPECT_NE(error_of([&] { nvfp4_gemm_w4a16(cpu_t{}, p, pw); }).find("ldc 4 < n 8"), std::string::npos);
}

io::safetensors_file make_file(index_t n, index_t kbytes, bool with_scale, index_t scale_cols, bool with_s2,
                               io::st_dtype scale_dtype = io::st_dtype::F8_E4M3) {
  io::safetensors_writer w;
  std::vector<std::byte> codes(static_cast<std::size_t>(n * kbytes), std::byte{0x21});
  w.add("l.weight", io::st_dtype::U8, {n, kbytes}, codes);
  if (with_scale) {
    std::vector<std::byte> s(static_cast<std::size_t>(n * scale_cols), std::byte{0x38});
    w.add("l.weight_scale", scale_dtype, {n, scale_cols}, s);
  }
  if (with_s2) {
    const float g[1] = {0.5f};
    w.add("l.weight_scale_2", std::vector<index_t>{}, std::span<const float>(g, 1));
  }
  return io::safetensors_file::from_bytes(w.to_bytes(), "mem.safetensors");
}

TEST(Nvfp4Errors, CorruptCheckpointTensors) {
  // A good one decodes: 0x21 = codes 1 (0.5) and 2 (1.0), scale 1.0, global 0.5.
  const nvfp4_tensor ok = nvfp4_io::read_nvfp4(make_file(4, 16, true, 2, true), "l.weight");
  EXPECT_EQ(ok.cols, 32);
  EXPECT_EQ(ok.view().value(0, 0), 0.25f);
  EXPECT_EQ(ok.view().value(0, 1), 0.5f);
  auto msg = [](auto&& f) { return error_of(f); };
  EXPECT_NE(msg([] { (void)nvfp4_io::read_nvfp4(make_file(4, 12, true, 1, true), "l.weight"); }).find("not a multiple of the NVFP4 block"),
            std::string::npos);  // K = 24
  EXPECT_NE(msg([] { (void)nvfp4_io::read_nvfp4(make_file(4, 16, false, 2, true), "l.weight"); }).find("block scales 'l.weight_scale' are missing"),
            std::string::npos);
  EXPECT_NE(msg([] { (void)nvfp4_io::read_nvfp4(make_file(4, 16, true, 3, true), "l.weight"); }).find("[4, 2] (= [N, K/16]) was expected"),
            std::string::npos);
  EXPECT_NE(msg([] { (void)nvfp4_io::read_nvfp4(make_file(4, 16, true, 2, false), "l.weight"); }).find("global scale 'l.weight_scale_2' is missing"),
            std::string::npos);
  EXPECT_NE(msg([] { (void)nvfp4_io::read_nvfp4(make_file(4, 16, true, 2, true, io::st_dtype::I8), "l.weight"); }).find("must be F8_E4M3"),
            std::string::npos);
  EXPECT_NE(msg([] { (void)nvfp4_io::read_nvfp4(make_file(4, 16, true, 2, true), "m.weight"); }).find("no such tensor"), std::string::npos);
}

TEST(Nvfp4Checkpoint, LayerSelection) {
  const auto sel = nvfp4_io::default_selection();
  EXPECT_TRUE(sel.selected("blocks.0.attn.qkv.weight"));
  EXPECT_TRUE(sel.selected("blocks.19.mlp.point_conv.conv.weight"));
  EXPECT_TRUE(sel.selected("blocks.3.cross_attn.kv_linear.weight"));
  EXPECT_FALSE(sel.selected("blocks.0.attn.qkv.bias"));
  EXPECT_FALSE(sel.selected("blocks.0.attn.q_proj_cam.weight"));
  EXPECT_FALSE(sel.selected("blocks.0.attn.out_proj_cam.weight"));
  EXPECT_FALSE(sel.selected("blocks.0.plucker_proj.weight"));
  EXPECT_FALSE(sel.selected("blocks.0.mlp.depth_conv.conv.weight"));
  EXPECT_FALSE(sel.selected("blocks.0.mlp.t_conv.weight"));
  EXPECT_FALSE(sel.selected("final_layer.linear.weight"));
  EXPECT_FALSE(sel.selected("x_embedder.proj.weight"));
  EXPECT_TRUE(nvfp4_io::glob_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(nvfp4_io::glob_match("a*b", "axxbc"));
}

TEST(Nvfp4Checkpoint, QuantisesGoldenTinyDit) {
  const std::string dir = SANAWM_GOLDEN_DIR;
  if (dir.empty()) GTEST_SKIP() << "SANAWM_GOLDEN_DIR is empty (no ../shared/golden at configure time)";
  const std::filesystem::path path = std::filesystem::path(dir) / "dit_tiny_a.weights.safetensors";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " does not exist";
  const auto in = io::safetensors_file::open(path);
  io::safetensors_writer w;
  const auto rep = nvfp4_io::quantize_checkpoint(in, nvfp4_io::default_selection(), w);
  EXPECT_GT(rep.layers.size(), 0u);
  EXPECT_LT(rep.bytes_out, rep.bytes_in);
  const auto out = io::safetensors_file::from_bytes(w.to_bytes(), "quantised");
  EXPECT_EQ(out.metadata().at(std::string(nvfp4_io::format_key)), nvfp4_io::format_value);
  for (const auto& l : rep.layers) {
    EXPECT_LT(l.rel_rms_error, 0.15) << l.name;
    const nvfp4_tensor t = nvfp4_io::read_nvfp4(out, l.name);
    EXPECT_EQ(t.rows, l.rows);
    EXPECT_EQ(t.cols, l.cols);
    // The reloaded tensor decodes to the original within the format's bound (checked by value here).
    const auto orig = in.read_as<float>(l.name);
    std::vector<float> d(orig.size());
    nvfp4_dequantize(cpu_t{}, t.view(), d.data(), t.cols);
    EXPECT_NEAR((test::rel_rms<float, float>(d, orig)), l.rel_rms_error, 1e-9) << l.name;
  }
  EXPECT_FALSE(nvfp4_io::is_nvfp4(out, "blocks.0.attn.q_proj_cam.weight"));
  EXPECT_TRUE(nvfp4_io::is_nvfp4(out, "blocks.0.attn.qkv.weight"));
  // Native tensors are copied byte for byte.
  const auto& a = in.at("blocks.0.plucker_proj.weight");
  const auto& b = out.at("blocks.0.plucker_proj.weight");
  ASSERT_EQ(a.nbytes, b.nbytes);
  EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0);
  // Quantising an already-quantised file is refused with a clear message.
  io::safetensors_writer w2;
  EXPECT_NE(error_of([&] { (void)nvfp4_io::quantize_checkpoint(out, nvfp4_io::default_selection(), w2); }).find("[nvfp4]"),
            std::string::npos);
}

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// Bit-for-bit cross-checks of sanawm's software dtypes against the CUDA toolkit's own host conversions
// (cuda_bf16.h, cuda_fp16.h, cuda_fp8.h, cuda_fp4.h compiled by the host compiler, no nvcc, no GPU): every
// code, the rounding neighbourhoods of every code, NaNs and a strided sweep of all floats, in every mode.
// Built with SANAWM_HAVE_CUDA_FP_HEADERS=0 when the headers are missing: then every case skips and says why.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#if SANAWM_HAVE_CUDA_FP_HEADERS
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp4.h>
#include <cuda_fp8.h>
#endif

#include "dtype/dtype_reference.hpp"
#include "sanawm/core/dtype.hpp"

namespace sanawm {
namespace {

#if SANAWM_HAVE_CUDA_FP_HEADERS
#define SANAWM_REQUIRE_CUDA_HEADERS() (void)0
#else
#define SANAWM_REQUIRE_CUDA_HEADERS() \
  GTEST_SKIP()                        \
      << "CUDA toolkit headers not found (cuda_fp4.h); set SANAWM_CUDA_FP_HEADERS_DIR to check against them"
#endif

#if SANAWM_HAVE_CUDA_FP_HEADERS
using test::mismatch_counter;

constexpr auto sat = saturation::satfinite;
constexpr auto nosat = saturation::nosat;
constexpr auto rz = round_mode::toward_zero;
constexpr auto rp = round_mode::toward_pos_inf;

// Float inputs for one format: its neighbourhoods, NaNs and a strided sweep over all bit patterns.
std::vector<float> float_inputs(const std::vector<double>& table, std::uint32_t stride) {
  std::vector<float> in = test::float_points(table);
  const auto n = test::nan_floats();
  in.insert(in.end(), n.begin(), n.end());
  test::for_each_strided_float(stride, 29, [&](float x) { in.push_back(x); });
  return in;
}

std::uint32_t float_bits(float f) {
  return bit_cast<std::uint32_t>(f);
}
float half_raw_to_float(__half_raw h) {
  return __half2float(__half(h));
}

std::uint16_t cuda_bf16(float x) {
  return static_cast<__nv_bfloat16_raw>(__float2bfloat16_rn(x)).x;
}
std::uint16_t cuda_bf16(double x) {
  return static_cast<__nv_bfloat16_raw>(__double2bfloat16(x)).x;
}
std::uint16_t cuda_fp16(float x) {
  return static_cast<__half_raw>(__float2half_rn(x)).x;
}
std::uint16_t cuda_fp16(double x) {
  return static_cast<__half_raw>(__double2half(x)).x;
}
__nv_saturation_t cuda_sat(saturation s) {
  return s == sat ? __NV_SATFINITE : __NV_NOSAT;
}
cudaRoundMode cuda_round(round_mode r) {
  return r == rz ? cudaRoundZero : r == rp ? cudaRoundPosInf : cudaRoundNearest;
}
#endif

TEST(CudaHeaders, Bf16EveryCodeAndNeighbourhood) {
  SANAWM_REQUIRE_CUDA_HEADERS();
#if SANAWM_HAVE_CUDA_FP_HEADERS
  mismatch_counter dec("bf16 decode"), enc("bf16(float)"), enc_d("bf16(double)");
  for (std::uint32_t c = 0; c <= 0xFFFF; ++c) {
    __nv_bfloat16_raw raw;
    raw.x = static_cast<unsigned short>(c);
    dec.check(float_bits(bf16::from_bits(raw.x).to_float()), float_bits(__bfloat162float(__nv_bfloat16(raw))),
              c);
  }
  for (float x : float_inputs(test::tables().bf16, 257)) enc.check(bf16(x).bits(), cuda_bf16(x), x);
  for (double x : test::double_points(test::tables().bf16)) enc_d.check(bf16(x).bits(), cuda_bf16(x), x);
#endif
}

TEST(CudaHeaders, Fp16EveryCodeAndNeighbourhood) {
  SANAWM_REQUIRE_CUDA_HEADERS();
#if SANAWM_HAVE_CUDA_FP_HEADERS
  mismatch_counter dec("fp16 decode"), enc("fp16(float)"), enc_d("fp16(double)");
  for (std::uint32_t c = 0; c <= 0xFFFF; ++c) {
    __half_raw raw;
    raw.x = static_cast<unsigned short>(c);
    dec.check(float_bits(fp16::from_bits(raw.x).to_float()), float_bits(half_raw_to_float(raw)), c);
  }
  for (float x : float_inputs(test::tables().fp16, 257)) enc.check(fp16(x).bits(), cuda_fp16(x), x);
  for (double x : test::double_points(test::tables().fp16)) enc_d.check(fp16(x).bits(), cuda_fp16(x), x);
#endif
}

TEST(CudaHeaders, Fp8E4m3AndE5m2BothSaturationModes) {
  SANAWM_REQUIRE_CUDA_HEADERS();
#if SANAWM_HAVE_CUDA_FP_HEADERS
  mismatch_counter dec("fp8 decode"), enc("fp8(float)"), enc_d("fp8(double)");
  for (std::uint32_t c = 0; c < 256; ++c) {
    const auto b = static_cast<__nv_fp8_storage_t>(c);
    dec.check(float_bits(fp8_e4m3::from_bits(b).to_float()),
              float_bits(half_raw_to_float(__nv_cvt_fp8_to_halfraw(b, __NV_E4M3))), c);
    dec.check(float_bits(fp8_e5m2::from_bits(b).to_float()),
              float_bits(half_raw_to_float(__nv_cvt_fp8_to_halfraw(b, __NV_E5M2))), c);
  }
  std::vector<float> in = float_inputs(test::tables().e4m3, 4099);
  const std::vector<float> in5 = test::float_points(test::tables().e5m2);
  in.insert(in.end(), in5.begin(), in5.end());
  for (float x : in) {
    for (saturation s : {sat, nosat}) {
      const auto cs = cuda_sat(s);
      const bool is_sat = s == sat;
      enc.check(is_sat ? fp8_e4m3::from_float<sat>(x).bits() : fp8_e4m3::from_float<nosat>(x).bits(),
                __nv_cvt_float_to_fp8(x, cs, __NV_E4M3), x);
      enc.check(is_sat ? fp8_e5m2::from_float<sat>(x).bits() : fp8_e5m2::from_float<nosat>(x).bits(),
                __nv_cvt_float_to_fp8(x, cs, __NV_E5M2), x);
    }
  }
  // Double inputs (NaN excluded: CUDA's double path keeps a NaN's sign and payload bits, sanawm returns
  // 0x7F).
  std::vector<double> ind = test::double_points(test::tables().e4m3);
  const std::vector<double> ind5 = test::double_points(test::tables().e5m2);
  ind.insert(ind.end(), ind5.begin(), ind5.end());
  for (double x : ind) {
    enc_d.check(fp8_e4m3::from_double<sat>(x).bits(), __nv_cvt_double_to_fp8(x, __NV_SATFINITE, __NV_E4M3),
                x);
    enc_d.check(fp8_e4m3::from_double<nosat>(x).bits(), __nv_cvt_double_to_fp8(x, __NV_NOSAT, __NV_E4M3), x);
    enc_d.check(fp8_e5m2::from_double<sat>(x).bits(), __nv_cvt_double_to_fp8(x, __NV_SATFINITE, __NV_E5M2),
                x);
    enc_d.check(fp8_e5m2::from_double<nosat>(x).bits(), __nv_cvt_double_to_fp8(x, __NV_NOSAT, __NV_E5M2), x);
  }
#endif
}

TEST(CudaHeaders, Ue4m3EqualsE4m3SatfiniteForNonNegativeInputs) {
  SANAWM_REQUIRE_CUDA_HEADERS();
#if SANAWM_HAVE_CUDA_FP_HEADERS
  // CUDA has no unsigned e4m3: NVFP4 scales are __nv_fp8_e4m3 bytes written with __NV_SATFINITE.
  mismatch_counter enc("ue4m3");
  for (float x : float_inputs(test::tables().e4m3, 4099)) {
    if (std::signbit(x) || std::isnan(x)) continue;
    enc.check(ue4m3(x).bits(), __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3), x);
  }
  for (std::uint32_t c = 0; c < 0x7F; ++c) {
    const auto b = static_cast<__nv_fp8_storage_t>(c);
    enc.check(float_bits(ue4m3::from_bits(b).to_float()),
              float_bits(half_raw_to_float(__nv_cvt_fp8_to_halfraw(b, __NV_E4M3))), c);
  }
#endif
}

TEST(CudaHeaders, Ue8m0BothRoundingAndSaturationModes) {
  SANAWM_REQUIRE_CUDA_HEADERS();
#if SANAWM_HAVE_CUDA_FP_HEADERS
  mismatch_counter dec("e8m0 → bf16"), enc("e8m0(float)"), enc_d("e8m0(double)");
  for (std::uint32_t c = 0; c < 256; ++c) {
    const auto b = static_cast<__nv_fp8_storage_t>(c);
    dec.check(bf16(ue8m0::from_bits(b).to_float()).bits(), __nv_cvt_e8m0_to_bf16raw(b).x, c);
  }
  auto ours = [](float x, round_mode r, saturation s) {
    if (r == rz)
      return s == sat ? ue8m0::from_float<rz, sat>(x).bits() : ue8m0::from_float<rz, nosat>(x).bits();
    return s == sat ? ue8m0::from_float<rp, sat>(x).bits() : ue8m0::from_float<rp, nosat>(x).bits();
  };
  auto ours_d = [](double x, round_mode r, saturation s) {
    if (r == rz)
      return s == sat ? ue8m0::from_double<rz, sat>(x).bits() : ue8m0::from_double<rz, nosat>(x).bits();
    return s == sat ? ue8m0::from_double<rp, sat>(x).bits() : ue8m0::from_double<rp, nosat>(x).bits();
  };
  for (float x : float_inputs(test::tables().e8m0, 4099)) {
    for (round_mode r : {rz, rp})
      for (saturation s : {sat, nosat})
        enc.check(ours(x, r, s), __nv_cvt_float_to_e8m0(x, cuda_sat(s), cuda_round(r)), x);
  }
  for (double x : test::double_points(test::tables().e8m0)) {
    for (round_mode r : {rz, rp}) {
      for (saturation s : {sat, nosat}) {
        // Documented difference: CUDA's double path turns finite |x| ≥ 2^128 into 2^127 even without
        // saturation.
        if (r == rz && s == nosat && std::fabs(x) >= 0x1p128 && std::isfinite(x)) continue;
        enc_d.check(ours_d(x, r, s), __nv_cvt_double_to_e8m0(x, cuda_sat(s), cuda_round(r)), x);
      }
    }
  }
#endif
}

TEST(CudaHeaders, Fp4E2m1NearestAndTowardZero) {
  SANAWM_REQUIRE_CUDA_HEADERS();
#if SANAWM_HAVE_CUDA_FP_HEADERS
  mismatch_counter dec("e2m1 decode"), enc("e2m1(float)"), enc_d("e2m1(double)"), pack("fp4x2");
  for (std::uint32_t c = 0; c < 16; ++c) {
    const auto b = static_cast<__nv_fp4_storage_t>(c);
    dec.check(float_bits(fp4_e2m1::from_bits(b).to_float()),
              float_bits(half_raw_to_float(__nv_cvt_fp4_to_halfraw(b, __NV_E2M1))), c);
  }
  for (std::uint32_t c = 0; c < 256; ++c) {
    const __half2_raw h = __nv_cvt_fp4x2_to_halfraw2(static_cast<__nv_fp4x2_storage_t>(c), __NV_E2M1);
    __half_raw lo, hi;
    lo.x = h.x;
    hi.x = h.y;
    const auto p = fp4x2::from_bits(static_cast<std::uint8_t>(c));
    dec.check(float_bits(p.lo().to_float()), float_bits(half_raw_to_float(lo)), c);
    dec.check(float_bits(p.hi().to_float()), float_bits(half_raw_to_float(hi)), c);
  }
  const std::vector<float> in = float_inputs(test::tables().e2m1, 4099);
  for (float x : in) {
    enc.check(fp4_e2m1::from_float<round_mode::nearest_even>(x).bits(),
              __nv_cvt_float_to_fp4(x, __NV_E2M1, cudaRoundNearest), x);
    enc.check(fp4_e2m1::from_float<rz>(x).bits(), __nv_cvt_float_to_fp4(x, __NV_E2M1, cudaRoundZero), x);
  }
  // Pairs: each neighbourhood point with its neighbour in the list, both orders, both modes.
  const std::vector<float> pts = test::float_points(test::tables().e2m1);
  for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
    float2 v;
    v.x = pts[i];
    v.y = pts[i + 1];
    pack.check(fp4x2(v.x, v.y).bits(), __nv_cvt_float2_to_fp4x2(v, __NV_E2M1, cudaRoundNearest), v.x);
    pack.check(fp4x2::from_float<rz>(v.x, v.y).bits(), __nv_cvt_float2_to_fp4x2(v, __NV_E2M1, cudaRoundZero),
               v.x);
  }
  for (double x : test::double_points(test::tables().e2m1)) {
    enc_d.check(fp4_e2m1::from_double<round_mode::nearest_even>(x).bits(),
                __nv_cvt_double_to_fp4(x, __NV_E2M1, cudaRoundNearest), x);
    enc_d.check(fp4_e2m1::from_double<rz>(x).bits(), __nv_cvt_double_to_fp4(x, __NV_E2M1, cudaRoundZero), x);
  }
#endif
}

}  // namespace
}  // namespace sanawm

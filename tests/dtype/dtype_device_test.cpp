// SPDX-License-Identifier: Apache-2.0
// Device conversions: the CUDA twin runs every encode over the rounding neighbourhoods and every decode over
// all codes inside kernels, and compares with the host bit for bit (one SANAWM_HD body, two backends).
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "dtype/dtype_reference.hpp"
#include "sanawm/core/dtype.hpp"

namespace sanawm {
namespace {

#if SANAWM_HAS_CUDA_COMPILER
// Every conversion of one input, in one record.
struct encoded {
  std::uint16_t bf16_f, bf16_d, fp16_f, fp16_d;
  std::uint8_t e4m3_sat, e4m3_nosat, e4m3_d, e5m2_sat, e5m2_nosat, e5m2_d, ue4m3_f, ue4m3_d;
  std::uint8_t e8m0_rz_sat, e8m0_rz_nosat, e8m0_rp_sat, e8m0_rp_nosat, e8m0_d, e2m1_rn, e2m1_rz, e2m1_d,
      packed;
  friend bool operator==(const encoded&, const encoded&) = default;
};

SANAWM_HD encoded encode_all(float x) {
  constexpr auto sat = saturation::satfinite;
  constexpr auto nosat = saturation::nosat;
  constexpr auto rz = round_mode::toward_zero;
  constexpr auto rp = round_mode::toward_pos_inf;
  const double d = static_cast<double>(x);
  encoded r{};
  r.bf16_f = bf16(x).bits();
  r.bf16_d = bf16(d).bits();
  r.fp16_f = fp16(x).bits();
  r.fp16_d = fp16(d).bits();
  r.e4m3_sat = fp8_e4m3::from_float<sat>(x).bits();
  r.e4m3_nosat = fp8_e4m3::from_float<nosat>(x).bits();
  r.e4m3_d = fp8_e4m3::from_double<nosat>(d).bits();
  r.e5m2_sat = fp8_e5m2::from_float<sat>(x).bits();
  r.e5m2_nosat = fp8_e5m2::from_float<nosat>(x).bits();
  r.e5m2_d = fp8_e5m2::from_double<nosat>(d).bits();
  r.ue4m3_f = ue4m3(x).bits();
  r.ue4m3_d = ue4m3(d).bits();
  r.e8m0_rz_sat = ue8m0::from_float<rz, sat>(x).bits();
  r.e8m0_rz_nosat = ue8m0::from_float<rz, nosat>(x).bits();
  r.e8m0_rp_sat = ue8m0::from_float<rp, sat>(x).bits();
  r.e8m0_rp_nosat = ue8m0::from_float<rp, nosat>(x).bits();
  r.e8m0_d = ue8m0::from_double<rp, nosat>(d).bits();
  r.e2m1_rn = fp4_e2m1::from_float<round_mode::nearest_even>(x).bits();
  r.e2m1_rz = fp4_e2m1::from_float<rz>(x).bits();
  r.e2m1_d = fp4_e2m1::from_double<rz>(d).bits();
  r.packed = fp4x2(x, -x).bits();
  return r;
}

// Decoded float bits of code c for every type (the 8-bit types use c & 0xFF, e2m1 c & 0xF).
struct decoded {
  std::uint32_t bf16_v, fp16_v, e4m3, e5m2, ue4m3_v, ue8m0_v, e2m1;
  friend bool operator==(const decoded&, const decoded&) = default;
};

SANAWM_HD decoded decode_all(std::uint32_t c) {
  const auto b = static_cast<std::uint8_t>(c);
  decoded r{};
  r.bf16_v = bit_cast<std::uint32_t>(bf16::from_bits(static_cast<std::uint16_t>(c)).to_float());
  r.fp16_v = bit_cast<std::uint32_t>(fp16::from_bits(static_cast<std::uint16_t>(c)).to_float());
  r.e4m3 = bit_cast<std::uint32_t>(fp8_e4m3::from_bits(b).to_float());
  r.e5m2 = bit_cast<std::uint32_t>(fp8_e5m2::from_bits(b).to_float());
  r.ue4m3_v = bit_cast<std::uint32_t>(ue4m3::from_bits(b).to_float());
  r.ue8m0_v = bit_cast<std::uint32_t>(ue8m0::from_bits(b).to_float());
  r.e2m1 = bit_cast<std::uint32_t>(fp4x2::from_bits(b).get(static_cast<int>(c >> 8) & 1).to_float());
  return r;
}

__global__ void encode_kernel(const float* in, encoded* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = encode_all(in[i]);
}
__global__ void decode_kernel(decoded* out) {
  const std::uint32_t c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c < 65536u) out[c] = decode_all(c);
}
#define SANAWM_TEST_CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr

// Inputs: the neighbourhoods of every code of every format, NaNs and a strided sweep of all floats.
std::vector<float> device_inputs() {
  std::vector<float> in;
  const auto& t = test::tables();
  for (const auto* table : {&t.bf16, &t.fp16, &t.e4m3, &t.e5m2, &t.e2m1, &t.e8m0}) {
    const auto p = test::float_points(*table);
    in.insert(in.end(), p.begin(), p.end());
  }
  const auto n = test::nan_floats();
  in.insert(in.end(), n.begin(), n.end());
  test::for_each_strided_float(40009, 17, [&](float x) { in.push_back(x); });
  return in;
}
#endif  // SANAWM_HAS_CUDA_COMPILER

TEST(DtypeDevice, ConversionsMatchHostBitForBit) {
#if !SANAWM_HAS_CUDA_COMPILER
  GTEST_SKIP() << "device conversions are checked by the CUDA twin of this test (dtype_test_cuda)";
#else
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    (void)cudaGetLastError();
    GTEST_SKIP() << "no CUDA device";
  }
  const std::vector<float> in = device_inputs();
  const int n = static_cast<int>(in.size());
  float* d_in = nullptr;
  encoded* d_enc = nullptr;
  decoded* d_dec = nullptr;
  SANAWM_TEST_CUDA_OK(cudaMalloc(&d_in, in.size() * sizeof(float)));
  SANAWM_TEST_CUDA_OK(cudaMalloc(&d_enc, in.size() * sizeof(encoded)));
  SANAWM_TEST_CUDA_OK(cudaMalloc(&d_dec, 65536 * sizeof(decoded)));
  SANAWM_TEST_CUDA_OK(cudaMemcpy(d_in, in.data(), in.size() * sizeof(float), cudaMemcpyHostToDevice));
  encode_kernel<<<(n + 255) / 256, 256>>>(d_in, d_enc, n);
  decode_kernel<<<65536 / 256, 256>>>(d_dec);
  SANAWM_TEST_CUDA_OK(cudaGetLastError());
  SANAWM_TEST_CUDA_OK(cudaDeviceSynchronize());
  std::vector<encoded> enc(in.size());
  std::vector<decoded> dec(65536);
  SANAWM_TEST_CUDA_OK(cudaMemcpy(enc.data(), d_enc, enc.size() * sizeof(encoded), cudaMemcpyDeviceToHost));
  SANAWM_TEST_CUDA_OK(cudaMemcpy(dec.data(), d_dec, dec.size() * sizeof(decoded), cudaMemcpyDeviceToHost));
  (void)cudaFree(d_in);
  (void)cudaFree(d_enc);
  (void)cudaFree(d_dec);

  test::mismatch_counter bad_enc("device encode"), bad_dec("device decode");
  for (std::size_t i = 0; i < in.size(); ++i) bad_enc.check(enc[i] == encode_all(in[i]), true, in[i]);
  for (std::uint32_t c = 0; c < 65536; ++c) bad_dec.check(dec[c] == decode_all(c), true, c);
#endif
}

}  // namespace
}  // namespace sanawm

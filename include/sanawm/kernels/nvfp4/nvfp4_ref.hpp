// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/nvfp4/nvfp4_ref.hpp — float64 reference twins for NVFP4: a scalar quantiser in TE's and in
// ModelOpt's order of operations, dequantisation to double, and "dequantise, then float64 GEMM".
#pragma once

#include <cmath>    // std::fabs
#include <cstddef>  // std::size_t
#include <span>     // std::span
#include <vector>   // std::vector

#include "sanawm/core/error.hpp"              // SANAWM_EXPECT
#include "sanawm/core/int.hpp"                // index_t
#include "sanawm/kernels/gemm/gemm_ref.hpp"   // gemm_ref_activation
#include "sanawm/kernels/nvfp4/nvfp4.hpp"     // recipe, views, nvfp4_gemm_args

namespace sanawm::ref {

/// Which published order of operations a reference quantiser follows (they differ only at E2M1 midpoints).
enum class nvfp4_recipe : unsigned char {
  transformer_engine,  ///< S_dec = 1/S_enc; s_b = m_b·(S_enc·(1/6)); q = RNE(x · (1/(s_b·S_dec)))  (sanawm's choice)
  modelopt,            ///< S_dec = amax/2688; s_b = m_b/(6·S_dec), zero scale → 1.0; q = RNE(x / (s_b·S_dec))
};

/// Scalar quantiser of a row-major float matrix [rows, cols] (linear scales, no RHT, RNE), written from the
/// dossier's description of each implementation rather than from the kernel bodies.
inline nvfp4_tensor nvfp4_quantize(std::span<const float> x, index_t rows, index_t cols,
                                   nvfp4_recipe recipe = nvfp4_recipe::transformer_engine) {
  SANAWM_EXPECT(static_cast<index_t>(x.size()) == rows * cols, "nvfp4_ref", "input has ", x.size(),
                " elements, need ", rows * cols);
  nvfp4_tensor t(rows, cols);
  float amax = 0.0f;
  for (float v : x) amax = std::fabs(v) > amax ? std::fabs(v) : amax;
  float s_enc = 0, s_dec = 0;
  if (recipe == nvfp4_recipe::transformer_engine) {
    s_enc = nvfp4_encode_scale(amax);
    s_dec = 1.0f / s_enc;
  } else {
    s_dec = amax / 2688.0f;
  }
  t.global_scale = s_dec;
  const index_t bpr = cols / nvfp4_block;
  for (index_t r = 0; r < rows; ++r)
    for (index_t b = 0; b < bpr; ++b) {
      const float* p = x.data() + r * cols + b * nvfp4_block;
      float m = 0.0f;
      for (int j = 0; j < 16; ++j) m = std::fabs(p[j]) > m ? std::fabs(p[j]) : m;
      ue4m3 s;
      if (recipe == nvfp4_recipe::transformer_engine) {
        float sf = m * (s_enc * (1.0f / 6.0f));
        s = ue4m3(sf > 448.0f ? 448.0f : sf);
      } else {
        float sf = s_dec == 0.0f ? 0.0f : m / (6.0f * s_dec);
        if (sf == 0.0f) sf = 1.0f;
        s = ue4m3(sf > 448.0f ? 448.0f : sf);
      }
      for (int j = 0; j < 16; j += 2) {
        fp4_e2m1 q[2];
        for (int h = 0; h < 2; ++h) {
          float y;
          if (recipe == nvfp4_recipe::transformer_engine) {
            float e = 1.0f / (s.to_float() * s_dec);
            if (e > 3.402823466e38f) e = 3.402823466e38f;
            y = p[j + h] * e;
          } else {
            const float d = s.to_float() * s_dec;
            y = d == 0.0f ? 0.0f : p[j + h] / d;
          }
          y = y > 6.0f ? 6.0f : (y < -6.0f ? -6.0f : y);
          q[h] = fp4_e2m1(y);
        }
        t.data[static_cast<std::size_t>(r * (cols / 2) + b * 8 + j / 2)] = fp4x2(q[0], q[1]);
      }
      t.scales[static_cast<std::size_t>(r * bpr + b)] = s;
    }
  return t;
}

/// Every element of an NVFP4 matrix in double (the inverse RHT applied in double), row-major [rows, cols].
inline std::vector<double> nvfp4_dequantize(const nvfp4_view& v) {
  check_nvfp4(v, "nvfp4_ref");
  std::vector<double> out(static_cast<std::size_t>(v.rows * v.cols));
  const std::uint32_t signs = nvfp4_rht_signs(v.rht_seed);
  for (index_t r = 0; r < v.rows; ++r)
    for (index_t b = 0; b < v.scale_cols(); ++b) {
      double blk[16];
      const double s = static_cast<double>(v.scale(r, b).to_float()) * static_cast<double>(v.global_scale);
      for (int j = 0; j < 16; ++j) {
        const fp4x2 byte = v.data[r * v.bytes_per_row() + b * 8 + j / 2];
        blk[j] = static_cast<double>(byte.get(j & 1).to_float()) * s;
      }
      if (v.rht) {  // x = D·H·y with H the orthonormal Sylvester matrix: H[i][j] = (−1)^popcount(i&j) / 4
        double x[16];
        for (int i = 0; i < 16; ++i) {
          double acc = 0.0;
          for (int j = 0; j < 16; ++j) acc += (__builtin_popcount(static_cast<unsigned>(i & j)) & 1 ? -blk[j] : blk[j]);
          x[i] = ((signs >> i) & 1u ? -0.25 : 0.25) * acc;
        }
        for (int i = 0; i < 16; ++i) blk[i] = x[i];
      }
      for (int j = 0; j < 16; ++j) out[static_cast<std::size_t>(r * v.cols + b * 16 + j)] = blk[j];
    }
  return out;
}

/// "Dequantise, then float64 GEMM": what nvfp4_gemm_w4a16(…, p) must produce, into `out` [m, n] (ld = n). A is
/// taken at its stored value (bf16-rounded when `round_a_bf16`, as the bf16 compute mode does); for W4A4 pass the
/// already-quantised-and-decoded activations as `a_values` ([m, k] dense) instead.
template <class TA, class TC>
void nvfp4_gemm(const nvfp4_gemm_args<TA, TC>& p, std::span<double> out, bool round_a_bf16 = false,
                std::span<const double> a_values = {}) {
  check_nvfp4_gemm_args(p, "nvfp4_gemm_ref");
  const index_t n = p.n(), k = p.k();
  SANAWM_EXPECT(static_cast<index_t>(out.size()) == p.m * n, "nvfp4_gemm_ref", "out has ", out.size(),
                " elements, need m·n = ", p.m * n);
  const std::vector<double> w = nvfp4_dequantize(p.b);
  const auto& e = p.epilogue;
  for (index_t i = 0; i < p.m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (index_t kk = 0; kk < k; ++kk) {
        double a;
        if (!a_values.empty()) a = a_values[static_cast<std::size_t>(i * k + kk)];
        else if (round_a_bf16) a = static_cast<double>(bf16(static_cast<float>(p.a[i * p.lda + kk])).to_float());
        else a = static_cast<double>(static_cast<float>(p.a[i * p.lda + kk]));
        acc += a * w[static_cast<std::size_t>(j * k + kk)];
      }
      double t = static_cast<double>(p.alpha) * acc;
      if (p.beta != 0.0f) t += static_cast<double>(p.beta) * static_cast<double>(static_cast<float>(p.c[i * p.ldc + j]));
      if (e.bias) t += static_cast<double>(e.bias[j]);
      t = gemm_ref_activation(e.activation, t);
      if (e.gate) t *= static_cast<double>(e.gate[(i / e.gate_group_rows) * e.ld_gate + j]);
      if (e.residual) t += static_cast<double>(static_cast<float>(e.residual[i * e.ld_residual + j]));
      out[static_cast<std::size_t>(i * n + j)] = t;
    }
}

}  // namespace sanawm::ref

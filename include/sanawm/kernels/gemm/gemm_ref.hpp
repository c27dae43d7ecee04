// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gemm/gemm_ref.hpp — the float64 reference twin of gemm: plain loops, every product and the whole
// epilogue in double, written from the definition (tanh form of GELU) rather than from the fast kernels.
#pragma once

#include <cmath>    // std::exp, std::tanh, std::sqrt
#include <span>     // std::span

#include "sanawm/core/error.hpp"            // SANAWM_EXPECT
#include "sanawm/core/int.hpp"              // index_t
#include "sanawm/kernels/gemm/gemm.hpp"     // gemm_args, gemm_epilogue, check_gemm_args

namespace sanawm {

/// The activation in double, from its textbook definition.
inline double gemm_ref_activation(gemm_activation act, double x) {
  switch (act) {
    case gemm_activation::relu: return x > 0.0 ? x : 0.0;
    case gemm_activation::silu: return x / (1.0 + std::exp(-x));
    case gemm_activation::gelu_tanh: {
      const double s = std::sqrt(2.0 / 3.141592653589793238462643383279502884);
      return 0.5 * x * (1.0 + std::tanh(s * (x + 0.044715 * x * x * x)));
    }
    case gemm_activation::none: break;
  }
  return x;
}

/// Computes what gemm(…, p) must produce, in double, into `out` = [batch, m, n] dense (row-major, ld = n).
/// Reads C (for beta ≠ 0) and the residual exactly as the fast paths do; does not write p.c. Inputs are taken at
/// their stored values (bf16/fp8 widened exactly, fp32 unrounded even when the fast path computes in bf16), and
/// fp8 scales are host pointers here. Checks the arguments like every backend.
template <class TA, class TB, class TC>
void gemm_ref(const gemm_args<TA, TB, TC>& p, std::span<double> out) {
  check_gemm_args(p, "gemm_ref");
  SANAWM_EXPECT(static_cast<index_t>(out.size()) == p.batch * p.m * p.n, "gemm_ref", "out has ", out.size(),
                " elements, need batch·m·n = ", p.batch * p.m * p.n);
  const auto& e = p.epilogue;
  const double scale = (p.scale_a ? static_cast<double>(*p.scale_a) : 1.0) *
                       (p.scale_b ? static_cast<double>(*p.scale_b) : 1.0);
  for (index_t bt = 0; bt < p.batch; ++bt) {
    const TA* a = p.a + bt * p.batch_stride_a;
    const TB* b = p.b + bt * p.batch_stride_b;
    const TC* c = p.c + bt * p.batch_stride_c;
    for (index_t i = 0; i < p.m; ++i) {
      for (index_t j = 0; j < p.n; ++j) {
        double acc = 0.0;
        if (p.alpha != 0.0f)  // BLAS: alpha == 0 means A and B are not referenced
          for (index_t kk = 0; kk < p.k; ++kk)
            acc += static_cast<double>(a[i * p.lda + kk]) * static_cast<double>(b[j * p.ldb + kk]);
        double t = static_cast<double>(p.alpha) * scale * acc;
        if (p.beta != 0.0f) t += static_cast<double>(p.beta) * static_cast<double>(c[i * p.ldc + j]);
        if (e.bias) t += static_cast<double>(e.bias[bt * e.batch_stride_bias + j]);
        t = gemm_ref_activation(e.activation, t);
        if (e.gate) t *= static_cast<double>(e.gate[bt * e.batch_stride_gate + (i / e.gate_group_rows) * e.ld_gate + j]);
        if (e.residual)
          t += static_cast<double>(e.residual[bt * e.batch_stride_residual + i * e.ld_residual + j]);
        out[static_cast<std::size_t>((bt * p.m + i) * p.n + j)] = t;
      }
    }
  }
}

}  // namespace sanawm

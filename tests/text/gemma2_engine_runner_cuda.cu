// SPDX-License-Identifier: Apache-2.0
// tests/text/gemma2_engine_runner_cuda.cu — gemma2_engine<cuda_t> behind the tests' gemma_runner.
#include "gemma2_engine_runner.hpp"

#include "sanawm/model/text/gemma2_engine_cuda.cuh"  // gemma2_engine<cuda_t>

namespace sanawm::test {

std::unique_ptr<gemma_runner> make_cuda_gemma(const text::gemma2_refs& refs, gemm_compute compute) {
  return std::make_unique<gemma_runner_for<text::gemma2_engine<cuda_t>>>(cuda_t{}, refs, compute);
}

}  // namespace sanawm::test

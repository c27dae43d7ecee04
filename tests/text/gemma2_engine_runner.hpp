// SPDX-License-Identifier: Apache-2.0
// tests/text/gemma2_engine_runner.hpp — one interface over gemma2_engine<cpu_t> and gemma2_engine<cuda_t> so the same
// checks (gemma2_engine_checks.hpp) run on both; the CUDA engine is built in gemma2_engine_runner_cuda.cu.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sanawm/kernels/gemm/gemm.hpp"          // gemm_compute
#include "sanawm/model/text/gemma2_engine.hpp"  // gemma2_refs

namespace sanawm::test {

class gemma_runner {
 public:
  virtual ~gemma_runner() = default;
  virtual std::vector<float> forward(std::span<const std::int32_t> ids, std::span<const std::int32_t> mask) = 0;
};

template <class Engine>
class gemma_runner_for final : public gemma_runner {
 public:
  template <class... Args>
  explicit gemma_runner_for(Args&&... args) : e_(std::forward<Args>(args)...) {}
  std::vector<float> forward(std::span<const std::int32_t> ids, std::span<const std::int32_t> mask) override {
    return e_.forward(ids, mask);
  }

 private:
  Engine e_;
};

/// gemma2_engine<cuda_t> behind gemma_runner (gemma2_engine_runner_cuda.cu).
std::unique_ptr<gemma_runner> make_cuda_gemma(const text::gemma2_refs& refs, gemm_compute compute);

}  // namespace sanawm::test

// SPDX-License-Identifier: Apache-2.0
// tests/dit/engine_runner.hpp — one interface over dit_engine<cpu_t> and dit_engine<cuda_t>, so the same checks
// (engine_checks.hpp, host code) run on both: the CUDA engine is built in a .cu file (engine_runner_cuda.cu) and
// reached through make_cuda_runner. Portable (g++ and nvcc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sanawm/model/dit/inputs.hpp"  // dit_inputs, forward_options
#include "sanawm/model/dit/refs.hpp"    // dit_refs

namespace sanawm::test {

class engine_runner {
 public:
  virtual ~engine_runner() = default;
  virtual std::vector<float> forward(const dit::dit_inputs& in, const dit::forward_options& opt) = 0;
  /// Starts a new rollout (fresh caches) with a softmax window of num_cached_chunks (0 = unlimited).
  virtual void reset_stream(index_t num_cached_chunks) = 0;
  virtual std::vector<float> forward_stream(const dit::dit_inputs& in, bool write_cache) = 0;
  virtual index_t frames_done() const = 0;
};

/// The engine on backend Be behind engine_runner (instantiated where Be's kernels are visible).
template <class Engine, class State>
class engine_runner_for final : public engine_runner {
 public:
  template <class... Args>
  explicit engine_runner_for(Args&&... args) : e_(std::forward<Args>(args)...) {}
  std::vector<float> forward(const dit::dit_inputs& in, const dit::forward_options& opt) override {
    return e_.forward(in, opt);
  }
  void reset_stream(index_t num_cached_chunks) override {
    st_ = State{};
    st_.num_cached_chunks = num_cached_chunks;
  }
  std::vector<float> forward_stream(const dit::dit_inputs& in, bool write_cache) override {
    return e_.forward_stream(st_, in, write_cache);
  }
  index_t frames_done() const override { return st_.frames_done; }

 private:
  Engine e_;
  State st_;
};

/// dit_engine<cuda_t> behind engine_runner (engine_runner_cuda.cu); throws when built without CUDA.
std::unique_ptr<engine_runner> make_cuda_runner(const dit::dit_refs& refs, bool bf16);

}  // namespace sanawm::test

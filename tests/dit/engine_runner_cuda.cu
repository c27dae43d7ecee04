// SPDX-License-Identifier: Apache-2.0
// tests/dit/engine_runner_cuda.cu — dit_engine<cuda_t> behind the tests' engine_runner interface.
#include "engine_runner.hpp"

#include "sanawm/model/dit/engine_cuda.cuh"  // dit_engine<cuda_t>

namespace sanawm::test {

std::unique_ptr<engine_runner> make_cuda_runner(const dit::dit_refs& refs, bool bf16) {
  dit::engine_options o;
  o.bf16 = bf16;
  return std::make_unique<engine_runner_for<dit::dit_engine<cuda_t>, dit::engine_stream_state<cuda_t>>>(
      cuda_t{}, refs, o);
}

}  // namespace sanawm::test

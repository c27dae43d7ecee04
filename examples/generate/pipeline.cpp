// SPDX-License-Identifier: Apache-2.0
// examples/generate/pipeline.cpp — pipeline::generate for sanawm-generate in its own translation unit: it instantiates
// the CPU DiT forward, the VAE, the samplers and the noise, the heaviest compile of the program.
#include "cli.hpp"

namespace generate_cli {

sanawm::pipeline::generation_result run_pipeline(const sanawm::dit::dit_weights& dw, const sanawm::vae::vae_weights& vw,
                                                 const sanawm::pipeline::generation_inputs& in,
                                                 const sanawm::pipeline::generation_options& o) {
  return sanawm::pipeline::generate(dw, vw, in, o);
}

}  // namespace generate_cli

// SPDX-License-Identifier: Apache-2.0
// examples/generate/cli.hpp — sanawm-generate's options and the pieces split out of generate.cpp to keep its
// translation unit inside the compile-time budget: the model paths (--model layouts) and the text conditioning
// (Gemma-2 or an embeddings file), both in inputs.cpp.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "sanawm/model/pipeline/generate.hpp"  // pipeline::text_conditioning

namespace generate_cli {

namespace fs = std::filesystem;

struct cli_options {
  std::string model_dir, dit_path, vae_path, text_encoder_path;
  std::string image, prompt, prompt_file, negative_prompt, embeddings, negative_embeddings;
  std::string camera, intrinsics, action, preset;
  double translation_speed = 0.025, rotation_speed_deg = 0.6, fov = 60, seconds = 0, fps = 16;
  long frames = 0, width = 0, height = 0;
  long steps = 0, seed = 42, threads = 0, window = 2, preview_every = 0, decode_chunk = 1;
  double cfg_scale = -1, flow_shift = 9.8, interval_k = 0;
  std::string mode = "bidirectional", precision = "fp32", state = "f32", rng = "sanawm", step_list;
  std::string device = "cpu";
  std::string vae_precision;  ///< fp32 or bf16; empty: bf16 when precision is bf16 or nvfp4 (upstream's bf16 VAE)
  std::string output = "sanawm-video.y4m";
  bool overlay = false, no_progress = false, strict_softmax_mask = false;
};

/// Whether the VAE's conv weights are bf16: --vae-precision, or by default the DiT's precision (fp32 stays fp32).
inline bool vae_in_bf16(const cli_options& o) {
  return o.vae_precision.empty() ? o.precision != "fp32" : o.vae_precision == "bf16";
}

/// Full paths of the model parts, resolved from --model (upstream Hugging Face layouts) or the explicit flags.
struct model_paths {
  fs::path dit, vae, text_encoder;
};


/// The model parts from --model (upstream layouts) or --dit/--vae/--text-encoder; clear errors for missing parts.
model_paths resolve_model(const cli_options& o);

/// Text embeddings from the text encoder (on the GPU with --device cuda), an embeddings file, or the empty-prompt
/// stand-in; `prompt_used` receives the prompt text (from -p or --prompt-file).
sanawm::pipeline::text_conditioning make_text(const cli_options& o, const model_paths& mp, sanawm::index_t caption_channels,
                                              std::string& prompt_used);

/// The models of a run: the loaded DiT and VAE (or the embedded preset), NVFP4-quantised with --precision nvfp4, then
/// either uploaded to the GPU engines (--device cuda) or packed for the CPU GEMM.
struct models {
  std::optional<sanawm::pipeline::embedded_model> tiny;
  sanawm::dit::dit_weights dw;
  sanawm::vae::vae_weights vw;
  std::unique_ptr<sanawm::sampler::denoiser> gpu_dit;
  std::unique_ptr<sanawm::vae::conv_executor> gpu_vae_convs;
  const sanawm::dit::dit_weights& dit() const noexcept { return tiny ? tiny->dit : dw; }
  const sanawm::vae::vae_weights& vae() const noexcept { return tiny ? tiny->vae : vw; }
};
models load_models(const cli_options& o, const model_paths& mp, bool on_gpu);

/// pipeline::generate (pipeline.cpp, its own translation unit).
sanawm::pipeline::generation_result run_pipeline(const sanawm::dit::dit_weights& dw, const sanawm::vae::vae_weights& vw,
                                                 const sanawm::pipeline::generation_inputs& in,
                                                 const sanawm::pipeline::generation_options& o);

}  // namespace generate_cli

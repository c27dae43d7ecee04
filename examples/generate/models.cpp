// SPDX-License-Identifier: Apache-2.0
// examples/generate/models.cpp — sanawm-generate's models: loaded or the embedded preset, NVFP4 quantisation, then
// the GPU engines or the CPU GEMM's packed weights (the loaders and the packing/quantising instantiations; the pipeline
// itself is in pipeline.cpp: each translation unit stays inside the compile-time budget).
#include <cstdio>

#include "cli.hpp"
#include "sanawm/model/dit/prepack.hpp"
#include "sanawm/model/dit/quantize.hpp"
#if SANAWM_GENERATE_HAVE_CUDA
#include "cuda_dit.hpp"
#endif

namespace generate_cli {

using namespace sanawm;

namespace {

dit::dit_weights load_dit_any(const fs::path& p, dit::weight_dtype dtype) {
  dit::dit_load_options lo;
  lo.dtype = dtype;
  fs::path f = p;
  if (fs::is_directory(p)) {
    // A dit/ folder holding one .safetensors (or a sharded index), or sana_dit/ with model.pt.
    if (fs::exists(p / "model.pt")) f = p / "model.pt";
  }
  if (f.extension() == ".pt") return dit::load_dit_pt(f, lo);
  return dit::load_dit(f, lo);
}

}  // namespace

models load_models(const cli_options& o, const model_paths& mp, bool on_gpu) {
  models m;
  const bool embedded = mp.dit.empty();
  const auto wdtype = o.precision == "fp32" ? dit::weight_dtype::f32 : dit::weight_dtype::bf16;
  if (embedded) {
    std::fprintf(stderr,
                 "sanawm-generate: no model directory given -> the embedded tiny preset (4 blocks, C=224, tiny LTX-2 VAE).\n"
                 "  Its weights are UNTRAINED (seeded random): the video shows noise patterns, not a world.\n"
                 "  For real videos pass --model DIR with the SANA-WM checkpoints (dit/, vae/, text_encoder/).\n");
    m.tiny = pipeline::make_embedded_model();
  } else {
    std::fprintf(stderr, "loading DiT from %s, VAE from %s\n", mp.dit.string().c_str(), mp.vae.string().c_str());
    m.dw = load_dit_any(mp.dit, wdtype);
    // bf16: each conv rounded as it is read (half the VAE's memory, and no fp32 copy of it at any time).
    m.vw = vae::load_vae(mp.vae, {}, std::nullopt, vae_in_bf16(o) ? vae::weight_dtype::bf16 : vae::weight_dtype::f32);
  }
  if (embedded && vae_in_bf16(o)) vae::convert_to_bf16(m.tiny->vae);
  if (o.precision == "nvfp4") {
    // Upstream's stage-1 FP4 layer set (self-attention, cross-attention, FFN 1×1 convs) as W4A16.
    const auto rep = dit::quantize_nvfp4(embedded ? m.tiny->dit : m.dw);
    std::fprintf(stderr, "nvfp4: %zu linear layers quantised (%.1f MiB -> %.1f MiB)\n", rep.layers.size(),
                 double(rep.bytes_before) / 1048576.0, double(rep.bytes_after) / 1048576.0);
  }
  // The DiT engine and the VAE's convs on the GPU (weights uploaded once), or every remaining GEMM weight packed once
  // for the CPU GEMM (same results, no per-call packing).
  if (on_gpu) {
#if SANAWM_GENERATE_HAVE_CUDA
    dit::forward_options fo;
    fo.strict_softmax_chunk_mask = o.strict_softmax_mask;
    m.gpu_dit = make_cuda_dit(dit::refs_of(embedded ? m.tiny->dit : m.dw), o.precision != "fp32", fo, o.window);
    m.gpu_vae_convs = make_cuda_vae_convs();
    // The pipeline reads only the config from the host DiT now: drop its blocks' weights (GBs for the 2.6B model).
    (embedded ? m.tiny->dit : m.dw).blocks.clear();
    std::fprintf(stderr, "DiT and VAE convs on %s\n", cuda_device_summary().c_str());
#endif
  } else {
    dit::pack_for_cpu(embedded ? m.tiny->dit : m.dw, o.precision != "fp32");
  }
  return m;
}


}  // namespace generate_cli

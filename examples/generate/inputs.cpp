// SPDX-License-Identifier: Apache-2.0
// examples/generate/inputs.cpp — sanawm-generate's model paths and text conditioning (Gemma-2 on the CPU or the GPU,
// or a precomputed embeddings file): its own translation unit, so generate.cpp stays within the compile budget.
#include <fstream>
#include <sstream>
#include <string>

#include "cli.hpp"
#include "sanawm/model/text/prompt.hpp"
#if SANAWM_GENERATE_HAVE_CUDA
#include "cuda_dit.hpp"
#endif
#if SANAWM_GENERATE_HAVE_TEXT
#include "sanawm/model/text/gemma2.hpp"
#include "sanawm/model/text/tokenizer.hpp"
#endif

namespace generate_cli {

using namespace sanawm;

namespace {

fs::path first_existing(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (fs::exists(dir / n)) return dir / n;
  return {};
}

}  // namespace

model_paths resolve_model(const cli_options& o) {
  model_paths p;
  if (!o.model_dir.empty()) {
    const fs::path d = o.model_dir;
    if (!fs::is_directory(d))
      throw make_error("sanawm-generate", "model directory '", d.string(), "' does not exist or is not a directory");
    p.dit = first_existing(d, {"dit", "sana_dit/model.pt", "sana_dit"});
    p.vae = first_existing(d, {"vae", "ltx2_causal_vae"});
    p.text_encoder = first_existing(d, {"text_encoder", "gemma-2-2b-it"});
    if (p.dit.empty())
      throw make_error("sanawm-generate", "model directory '", d.string(),
                       "' has no dit/ (bidirectional, chunk-causal) or sana_dit/model.pt (streaming)");
    if (p.vae.empty())
      throw make_error("sanawm-generate", "model directory '", d.string(), "' has no vae/ or ltx2_causal_vae/");
  }
  if (!o.dit_path.empty()) p.dit = o.dit_path;
  if (!o.vae_path.empty()) p.vae = o.vae_path;
  if (!o.text_encoder_path.empty()) p.text_encoder = o.text_encoder_path;
  if (p.dit.empty() != p.vae.empty())
    throw make_error("sanawm-generate", "give both the DiT and the VAE (--model DIR, or --dit and --vae)");
  return p;
}

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw make_error("sanawm-generate", "cannot read prompt file '", p.string(), "'");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

/// Text embeddings from the text encoder, an embeddings file, or the empty-prompt stand-in.
pipeline::text_conditioning make_text(const cli_options& o, const model_paths& mp, index_t caption_channels,
                                      std::string& prompt_used) {
  prompt_used = !o.prompt_file.empty() ? read_text(o.prompt_file) : o.prompt;
  auto from_embedding = [&](const text::prompt_embedding& e, const text::prompt_embedding& n, std::string src) {
    if (e.tokens != n.tokens)
      throw make_error("sanawm-generate", "positive and negative embeddings have ", e.tokens, " and ", n.tokens,
                       " tokens; they must match (upstream pads both to 300)");
    pipeline::text_conditioning t;
    t.L = e.tokens, t.Cy = e.dim;
    t.y = e.y, t.mask = e.mask, t.negative_y = n.y, t.negative_mask = n.mask;
    t.source = std::move(src);
    return t;
  };
  if (!o.embeddings.empty()) {
    const auto e = text::load_prompt_embedding(o.embeddings);
    text::prompt_embedding n;
    if (!o.negative_embeddings.empty()) {
      n = text::load_prompt_embedding(o.negative_embeddings);
    } else {
      // No negative file: an all-padding negative of the same length (zero vectors, mask 0 except token 0).
      n = e;
      std::fill(n.y.begin(), n.y.end(), 0.0f);
      std::fill(n.mask.begin(), n.mask.end(), 0);
      n.mask[0] = 1;
    }
    return from_embedding(e, n, "file:" + o.embeddings);
  }
  if (!mp.text_encoder.empty()) {
#if SANAWM_GENERATE_HAVE_TEXT
    std::fprintf(stderr, "text: encoding the prompt with Gemma-2 from %s\n", mp.text_encoder.string().c_str());
    const auto tok = text::gemma_tokenizer::load(mp.text_encoder);
#if SANAWM_GENERATE_HAVE_CUDA
    if (o.device == "cuda") {  // Gemma-2 on the GPU: the weights go up once, then both prompts
      std::unique_ptr<generate_cli::prompt_encoder> enc;
      {
        const text::gemma2_weights gw = text::gemma2_weights::load(mp.text_encoder);
        enc = generate_cli::make_cuda_gemma(text::refs_of(gw));  // uploaded: the host copy can go
      }
      const auto e = text::encode_prompt(tok, *enc, prompt_used, /*use_chi=*/true);
      const auto n = text::encode_prompt(tok, *enc, o.negative_prompt, /*use_chi=*/false);
      return from_embedding(e, n, "gemma(cuda):" + mp.text_encoder.string());
    }
#endif
    const text::gemma2_encoder enc(text::gemma2_weights::load(mp.text_encoder), gemm_compute::fp32);
    const auto e = text::encode_prompt(tok, enc, prompt_used, /*use_chi=*/true);
    const auto n = text::encode_prompt(tok, enc, o.negative_prompt, /*use_chi=*/false);
    return from_embedding(e, n, "gemma:" + mp.text_encoder.string());
#else
    throw make_error("sanawm-generate", "this build has no text encoder (SentencePiece was not found at build "
                     "time); pass --embeddings FILE from sanawm-encode-prompt");
#endif
  }
  if (!prompt_used.empty() || !o.negative_prompt.empty())
    throw make_error("sanawm-generate", "a prompt needs a text encoder (--text-encoder DIR or text_encoder/ in the "
                     "model directory) or precomputed --embeddings FILE");
  return pipeline::empty_text(caption_channels);
}

}  // namespace generate_cli

// SPDX-License-Identifier: Apache-2.0
// sanawm/model/text/prompt.hpp — SANA-WM's prompt assembly (CHI prefix, token budget, BOS + last 299
// positions, mask) on top of the Gemma tokenizer and encoder, and the precomputed-embeddings file the
// generator reads.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/text/prompt.hpp: host-only header (file I/O, SentencePiece); include it from .cpp files"
#endif

#include <algorithm>   // std::copy_n
#include <cstdint>     // std::int32_t, std::int64_t
#include <filesystem>  // std::filesystem::path
#include <string>      // std::string
#include <vector>      // std::vector

#include "sanawm/core/error.hpp"            // make_error
#include "sanawm/io/safetensors.hpp"        // safetensors_writer, safetensors_file
#include "sanawm/model/text/gemma2.hpp"     // gemma2_encoder
#include "sanawm/model/text/tokenizer.hpp"  // gemma_tokenizer

namespace sanawm::text {

/// SANA's complex human instruction (CHI): the system-prompt lines of the config's
/// `text_encoder.chi_prompt`, joined with "\n" and put in front of the user prompt.
inline std::vector<std::string> default_chi_lines() {
  return {
      "Given a user prompt, generate an \"Enhanced prompt\" that provides detailed visual descriptions "
      "suitable for "
      "image generation. Evaluate the level of detail in the user prompt:",
      "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and "
      "spatial "
      "relationships to create vivid and concrete scenes.",
      "- If the prompt is already detailed, refine and enhance the existing details slightly without "
      "overcomplicating.",
      "Here are examples of how to transform or refine prompts:",
      "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, "
      "sleeping "
      "peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.",
      "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring "
      "glowing "
      "street lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing by "
      "towering "
      "glass skyscrapers.",
      "Please generate only the enhanced description for the prompt below and avoid including any additional "
      "commentary or evaluations:",
      "User Prompt: ",
  };
}

/// How prompts become conditioning (SANA-WM: 300 tokens, CHI on the positive prompt only).
struct prompt_config {
  std::int64_t max_sequence_length = 300;  ///< tokens kept: BOS + the last max_sequence_length − 1
  std::vector<std::string> chi_lines = default_chi_lines();
};

/// The tokens of one prompt as SANA-WM feeds them to Gemma, and which positions it keeps.
struct prompt_tokens {
  token_batch
      tokens;  ///< [L] ids and mask, L = CHI tokens + max_sequence_length − 2 (or max_sequence_length)
  std::vector<std::int64_t> select;  ///< [max_sequence_length]: 0, then L − max_sequence_length + 1 … L − 1
  std::int64_t prompt_tokens = 0;  ///< tokens of the user prompt alone (no BOS)
};

/// Upstream's `_encode_prompts` token step. Positive prompt (`use_chi`): text = CHI + prompt, L =
/// len(encode(CHI))
/// + max_sequence_length − 2 (BOS counted once); negative prompt: text = prompt, L = max_sequence_length. The
/// text is tokenised, truncated to L (the tail is dropped: upstream behaviour, reported in tokens.truncated)
/// and right-padded. An empty prompt is valid: SANA-WM's default negative prompt is "".
inline prompt_tokens tokenize_prompt(const gemma_tokenizer& tok, const std::string& prompt, bool use_chi,
                                     const prompt_config& cfg = {}) {
  if (cfg.max_sequence_length < 2)
    throw make_error("tokenizer", "max_sequence_length ", cfg.max_sequence_length, " must be at least 2");
  std::string text = prompt;
  std::int64_t length = cfg.max_sequence_length;
  if (use_chi) {
    std::string chi;
    for (std::size_t i = 0; i < cfg.chi_lines.size(); ++i) chi += (i ? "\n" : "") + cfg.chi_lines[i];
    length = static_cast<std::int64_t>(tok.encode(chi).size()) + cfg.max_sequence_length - 2;
    text = chi + prompt;
  }
  prompt_tokens out;
  out.tokens = tok.encode_padded(text, length);
  out.prompt_tokens = static_cast<std::int64_t>(tok.encode(prompt, false).size());
  out.select.push_back(0);
  for (std::int64_t i = length - cfg.max_sequence_length + 1; i < length; ++i) out.select.push_back(i);
  return out;
}

/// Encoded conditioning of one prompt: y [max_sequence_length, D] fp32 and its mask.
struct prompt_embedding {
  std::int64_t tokens = 0, dim = 0;
  std::vector<float> y;            ///< [tokens, dim]
  std::vector<std::int64_t> mask;  ///< [tokens]
  std::string prompt;
  bool chi = false;
  bool truncated = false;
};

/// Tokenises (tokenize_prompt), runs Gemma over all L positions and keeps the selected rows. `enc` is anything with
/// `forward(ids, mask)` → hidden states [L, D]: gemma2_encoder (CPU), gemma2_engine<Be> (e.g. the GPU).
template <class Encoder>
prompt_embedding encode_prompt(const gemma_tokenizer& tok, Encoder&& enc, const std::string& prompt, bool use_chi,
                               const prompt_config& cfg = {}) {
  const prompt_tokens pt = tokenize_prompt(tok, prompt, use_chi, cfg);
  const std::vector<float> h = enc.forward(std::span<const std::int32_t>(pt.tokens.ids),
                                           std::span<const std::int32_t>(pt.tokens.mask));
  const std::int64_t L = static_cast<std::int64_t>(pt.tokens.ids.size());
  if (L == 0 || h.size() % static_cast<std::size_t>(L) != 0)
    throw make_error("prompt", "the encoder returned ", h.size(), " values for ", L, " tokens");
  const std::int64_t d = static_cast<std::int64_t>(h.size()) / L;
  prompt_embedding e;
  e.tokens = static_cast<std::int64_t>(pt.select.size());
  e.dim = d;
  e.prompt = prompt;
  e.chi = use_chi;
  e.truncated = pt.tokens.truncated;
  e.y.resize(static_cast<std::size_t>(e.tokens * d));
  e.mask.resize(static_cast<std::size_t>(e.tokens));
  for (std::int64_t i = 0; i < e.tokens; ++i) {
    const std::int64_t src = pt.select[static_cast<std::size_t>(i)];
    std::copy_n(h.begin() + src * d, d, e.y.begin() + i * d);
    e.mask[static_cast<std::size_t>(i)] = pt.tokens.mask[static_cast<std::size_t>(src)];
  }
  return e;
}

/// Writes the embeddings file the generator accepts: safetensors with `y` F32 [1, 1, T, D] and `mask` I64
/// [1, T] (upstream's caption_embs[:, None] and emb_masks), plus metadata: format "sanawm-text-embedding/1",
/// prompt, chi ("true"/"false"), tokens, dim, truncated.
inline void save_prompt_embedding(const std::filesystem::path& path, const prompt_embedding& e) {
  io::safetensors_writer w;
  w.add<float>("y", {1, 1, e.tokens, e.dim}, e.y);
  w.add<std::int64_t>("mask", {1, e.tokens}, e.mask);
  w.set_metadata("format", "sanawm-text-embedding/1");
  w.set_metadata("prompt", e.prompt);
  w.set_metadata("chi", e.chi ? "true" : "false");
  w.set_metadata("tokens", std::to_string(e.tokens));
  w.set_metadata("dim", std::to_string(e.dim));
  w.set_metadata("truncated", e.truncated ? "true" : "false");
  w.write(path);
}

/// Reads a file written by save_prompt_embedding (y may be any float dtype, mask any int or float dtype).
inline prompt_embedding load_prompt_embedding(const std::filesystem::path& path) {
  const auto f = io::safetensors_file::open(path);
  const auto& y = f.at("y");
  if (y.shape.size() != 4 || y.shape[0] != 1 || y.shape[1] != 1)
    throw make_error("text_embedding", path.string(), ": y has shape ", io::shape_string(y.shape),
                     ", expected [1, 1, T, D]");
  prompt_embedding e;
  e.tokens = y.shape[2];
  e.dim = y.shape[3];
  e.y = f.read_as<float>("y");
  e.mask = f.read_as<std::int64_t>("mask", {1, e.tokens});
  const auto& md = f.metadata();
  if (auto it = md.find("prompt"); it != md.end()) e.prompt = it->second;
  if (auto it = md.find("chi"); it != md.end()) e.chi = it->second == "true";
  if (auto it = md.find("truncated"); it != md.end()) e.truncated = it->second == "true";
  return e;
}

}  // namespace sanawm::text

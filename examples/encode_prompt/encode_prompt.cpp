// SPDX-License-Identifier: Apache-2.0
// examples/encode_prompt/encode_prompt.cpp — sanawm-encode-prompt: encodes a prompt once with Gemma-2
// (SANA-WM's assembly) and writes the embeddings file (y [1,1,300,2304] f32, mask [1,300]) that the generator
// accepts.
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/model/text/gemma2.hpp"
#include "sanawm/model/text/prompt.hpp"
#include "sanawm/model/text/tokenizer.hpp"

namespace {

constexpr const char* usage =
    "usage: sanawm-encode-prompt --model DIR [--tokenizer PATH] (--prompt TEXT | --prompt-file FILE)\n"
    "                            --out FILE.safetensors [--negative] [--max-tokens N] [--chi-file FILE]\n"
    "                            [--strict] [--compute fp32|bf16]\n"
    "  --model DIR        Gemma-2 checkpoint: config.json + model.safetensors (or a sharded index)\n"
    "  --tokenizer PATH   tokenizer.model, tokenizer.json or their directory (default: the model directory)\n"
    "  --negative         encode without the CHI prefix (SANA-WM's negative prompt; default prompt \"\")\n"
    "  --max-tokens N     tokens kept (default 300)\n"
    "  --chi-file FILE    CHI system-prompt lines, one per line (default: SANA's chi_prompt)\n"
    "  --strict           fail instead of truncating an over-long prompt (upstream truncates)\n"
    "  --compute MODE     GEMM products: fp32 (default, exact widening of bf16 weights) or bf16 (faster)\n";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw sanawm::make_error("encode_prompt", path, ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string model, tokenizer, prompt, out, chi_file;
    bool have_prompt = false, negative = false, strict = false;
    sanawm::gemm_compute compute = sanawm::gemm_compute::fp32;
    sanawm::text::prompt_config cfg;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw sanawm::make_error("encode_prompt", a, " needs a value");
        return argv[++i];
      };
      if (a == "--model")
        model = value();
      else if (a == "--tokenizer")
        tokenizer = value();
      else if (a == "--prompt")
        prompt = value(), have_prompt = true;
      else if (a == "--prompt-file")
        prompt = read_text(value()), have_prompt = true;
      else if (a == "--out")
        out = value();
      else if (a == "--negative")
        negative = true;
      else if (a == "--strict")
        strict = true;
      else if (a == "--max-tokens")
        cfg.max_sequence_length = std::stoll(value());
      else if (a == "--chi-file")
        chi_file = value();
      else if (a == "--compute") {
        const std::string m = value();
        if (m == "fp32")
          compute = sanawm::gemm_compute::fp32;
        else if (m == "bf16")
          compute = sanawm::gemm_compute::bf16;
        else
          throw sanawm::make_error("encode_prompt", "--compute must be fp32 or bf16, not '", m, "'");
      } else if (a == "--help" || a == "-h") {
        std::fputs(usage, stdout);
        return 0;
      } else {
        throw sanawm::make_error("encode_prompt", "unknown argument '", a, "'");
      }
    }
    if (model.empty() || out.empty() || (!have_prompt && !negative)) {
      std::fputs(usage, stderr);
      return 2;
    }
    if (!chi_file.empty()) {
      cfg.chi_lines.clear();
      std::istringstream lines(read_text(chi_file));
      for (std::string l; std::getline(lines, l);) cfg.chi_lines.push_back(l);
    }
    const auto tok = sanawm::text::gemma_tokenizer::load(tokenizer.empty() ? model : tokenizer);
    const auto pt = sanawm::text::tokenize_prompt(tok, prompt, !negative, cfg);
    if (pt.tokens.truncated) {
      if (strict)
        throw sanawm::make_error("encode_prompt", "the prompt has ", pt.prompt_tokens,
                                 " tokens and does not fit in ", cfg.max_sequence_length,
                                 " (drop --strict to truncate like upstream)");
      std::fprintf(stderr, "warning: prompt (%lld tokens) truncated to fit %lld tokens\n",
                   static_cast<long long>(pt.prompt_tokens), static_cast<long long>(cfg.max_sequence_length));
    }
    const auto t0 = std::chrono::steady_clock::now();
    const sanawm::text::gemma2_encoder enc(sanawm::text::gemma2_weights::load(model), compute);
    const auto t1 = std::chrono::steady_clock::now();
    const auto e = sanawm::text::encode_prompt(tok, enc, prompt, !negative, cfg);
    const auto t2 = std::chrono::steady_clock::now();
    sanawm::text::save_prompt_embedding(out, e);
    const auto sec = [](auto d) { return std::chrono::duration<double>(d).count(); };
    std::printf("%s: %lld tokens through Gemma (%lld from the prompt%s), load %.2f s, encode %.2f s\n",
                out.c_str(), static_cast<long long>(pt.tokens.length),
                static_cast<long long>(pt.prompt_tokens), negative ? ", no CHI" : ", CHI prefix",
                sec(t1 - t0), sec(t2 - t1));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sanawm-encode-prompt: %s\n", e.what());
    return 1;
  }
}

// SPDX-License-Identifier: Apache-2.0
// tests/text/text_test.cpp — Gemma tokenizer ids, Gemma-2 hidden states and SANA-WM prompt assembly against
// the golden data of tests/text/make_golden.py (a trained Gemma-like tokenizer and a tiny random
// Gemma2Model).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sanawm/io/json.hpp"
#include "sanawm/io/safetensors.hpp"
#include "sanawm/model/text/gemma2.hpp"
#include "sanawm/model/text/prompt.hpp"
#include "sanawm/model/text/tokenizer.hpp"
#include "support/test_util.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sanawm;
using namespace sanawm::text;

const fs::path golden_dir{SANAWM_TEXT_GOLDEN_DIR};

const io::json& cases() {
  static const io::json j = io::read_json_file(golden_dir / "cases.json");
  return j;
}

const gemma_tokenizer& tokenizer() {
  static const gemma_tokenizer t = gemma_tokenizer::load(golden_dir / "tokenizer.model");
  return t;
}

const gemma_tokenizer& json_tokenizer() {
  static const gemma_tokenizer t = gemma_tokenizer::load(golden_dir / "tokenizer.json");
  return t;
}

const io::json& bpe_cases() {
  static const io::json j = io::read_json_file(golden_dir / "bpe_cases.json");
  return j;
}

const gemma2_encoder& tiny_encoder() {
  static const gemma2_encoder e = [] {
    const auto cfg = gemma2_config::from_json(golden_dir / "gemma2_tiny_config.json");
    return gemma2_encoder(gemma2_weights::load(golden_dir / "gemma2_tiny.safetensors", &cfg));
  }();
  return e;
}

const io::safetensors_file& io_file() {
  static const io::safetensors_file f = io::safetensors_file::open(golden_dir / "gemma2_tiny_io.safetensors");
  return f;
}

std::vector<std::int32_t> to_i32(const std::vector<std::int64_t>& v) {
  return {v.begin(), v.end()};
}

/// Whether position `i` of a right-padded sequence is defined identically here and in Hugging Face: real
/// tokens always; padded ones while every sliding window up to them still holds a real token (see
/// gemma2_encoder).
bool comparable(std::int64_t i, std::int64_t last_real, const gemma2_config& c) {
  return i <= last_real || i - c.sliding_window + 1 <= last_real;
}

/// Max |a − b| over the comparable rows of two [S, D] matrices; also the max |b|.
std::pair<double, double> compare_rows(const std::vector<float>& a, const std::vector<float>& b,
                                       std::int64_t d, const std::vector<std::int64_t>& rows_pos,
                                       std::int64_t last_real, const gemma2_config& c) {
  double err = 0, mag = 0;
  for (std::size_t r = 0; r < rows_pos.size(); ++r) {
    if (!comparable(rows_pos[r], last_real, c)) continue;
    for (std::int64_t j = 0; j < d; ++j) {
      const auto k = static_cast<std::size_t>(static_cast<std::int64_t>(r) * d + j);
      err = std::max(err, std::abs(static_cast<double>(a[k]) - b[k]));
      mag = std::max(mag, std::abs(static_cast<double>(b[k])));
    }
  }
  return {err, mag};
}

// ---- tokenizer
// ----------------------------------------------------------------------------------------------------

TEST(GemmaTokenizer, IdsMatchHuggingFaceExactly) {
  for (const gemma_tokenizer* tok : {&tokenizer(), &json_tokenizer()}) {
    SCOPED_TRACE(tok->backend());
    EXPECT_EQ(tok->bos_id(), 2);
    EXPECT_EQ(tok->eos_id(), 1);
    EXPECT_EQ(tok->pad_id(), 0);
    int n = 0;
    for (const auto& c : cases().at("tokenizer")) {
      const auto text = c.at("text").get<std::string>();
      const auto want = c.at("ids").get<std::vector<std::int32_t>>();
      EXPECT_EQ(tok->encode(text), want) << "text: " << text.substr(0, 60);
      ++n;
    }
    EXPECT_GE(n, 15);
  }
  EXPECT_EQ(std::string(json_tokenizer().backend()), "tokenizer.json");
  // The converted tokenizer.json may append added tokens past the SentencePiece pieces (here <mask> = 600).
  EXPECT_GE(json_tokenizer().vocab_size(), tokenizer().vocab_size());
  for (std::int32_t id = 0; id < tokenizer().vocab_size(); ++id)
    EXPECT_EQ(json_tokenizer().piece(id), tokenizer().piece(id)) << "id " << id;
}

// tokenizer.json vs Hugging Face `tokenizers` on 400 random strings of tricky fragments (make_bpe_cases.py).
TEST(HfBpeTokenizer, RandomStringsMatchTokenizers) {
  const auto t = hf_bpe_tokenizer::load(golden_dir / "tokenizer.json");
  int n = 0;
  for (const auto& c : bpe_cases().at("gemma_random")) {
    const auto text = c.at("text").get<std::string>();
    EXPECT_EQ(t.encode(text), c.at("ids").get<std::vector<std::int32_t>>()) << "text: " << text;
    ++n;
  }
  EXPECT_EQ(n, 400);
}

// The parts of the format Gemma does not use: each variant overrides fields of the golden tokenizer.json.
TEST(HfBpeTokenizer, VariantsMatchTokenizers) {
  const io::json base = io::read_json_file(golden_dir / "tokenizer.json");
  int variants = 0;
  for (const auto& v : bpe_cases().at("variants")) {
    const auto name = v.at("name").get<std::string>();
    io::json j = base;
    for (const auto& [path, value] : v.at("set").items()) {
      io::json* node = &j;
      std::size_t start = 0;
      for (std::size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
        node = &(*node)[path.substr(start, dot - start)];
      (*node)[path.substr(start)] = value;
    }
    const auto t = hf_bpe_tokenizer::from_json(j, name);
    for (const auto& c : v.at("cases")) {
      const auto text = c.at("text").get<std::string>();
      EXPECT_EQ(t.encode(text), c.at("ids").get<std::vector<std::int32_t>>()) << name << ", text: " << text;
    }
    ++variants;
  }
  EXPECT_EQ(variants, 12);
}

// The two front ends agree on random byte strings (invalid UTF-8 included), long ones too. ("<mask>" is left out:
// this tiny pair's tokenizer.json adds it as token 600, which its SentencePiece model does not have.)
TEST(GemmaTokenizer, SentencePieceAndTokenizerJsonAgree) {
  const char* pool[] = {"a", " ", "  ", "\n", "\t", "é", "東", "🐱", "\xff", "\xc3", "\x80", "<bos>", "<eos>",
                        "<unk>", "<pad>", "<start_of_turn>", "x", "glass", "\xe2\x96\x81", "\r", "1"};
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string text;
    const int k = static_cast<int>(rng() % (i < 490 ? 16 : 400));
    for (int j = 0; j < k; ++j) text += pool[rng() % std::size(pool)];
    EXPECT_EQ(json_tokenizer().encode(text), tokenizer().encode(text)) << "case " << i;
  }
}

// What the reader refuses, and how it says so.
TEST(HfBpeTokenizer, RejectsWhatItDoesNotImplement) {
  const io::json base = io::read_json_file(golden_dir / "tokenizer.json");
  auto message = [](const io::json& j) {
    try {
      (void)hf_bpe_tokenizer::from_json(j, "t.json");
    } catch (const sanawm::error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto with = [&](const char* key, io::json v) {
    io::json j = base;
    j[key] = std::move(v);
    return j;
  };
  auto with_model = [&](const char* key, io::json v) {
    io::json j = base;
    j["model"][key] = std::move(v);
    return j;
  };
  EXPECT_NE(message(with_model("type", "WordPiece")).find("model type 'WordPiece' is not supported"), std::string::npos);
  EXPECT_NE(message(with("normalizer", {{"type", "NFKC"}})).find("the 'NFKC' normalizer is not supported"),
            std::string::npos);
  EXPECT_NE(message(with("normalizer", {{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", "_"}}))
                .find("Regex pattern"),
            std::string::npos);
  EXPECT_NE(message(with("pre_tokenizer", {{"type", "ByteLevel"}})).find("'ByteLevel' pre_tokenizer"), std::string::npos);
  EXPECT_NE(message(with_model("dropout", 0.1)).find("dropout"), std::string::npos);
  EXPECT_NE(message(with_model("merges", io::json::array({io::json::array({"a", "<zz>"})}))).find("outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(message(with_model("unk_token", "<nope>")).find("unk_token '<nope>'"), std::string::npos);
  EXPECT_NE(message(with_model("vocab", io::json::array())).find("model.vocab is not an object"), std::string::npos);
  io::json no_model = base;
  no_model.erase("model");
  EXPECT_NE(message(no_model).find("has no 'model'"), std::string::npos);
  EXPECT_NE(message(io::json::array()).find("not a JSON object"), std::string::npos);
  EXPECT_NE(message(base).find("no error"), std::string::npos);
  // Without byte fallback and without an unknown token, an unknown character is an error at encode time.
  io::json strict = base;
  strict["model"]["byte_fallback"] = false;
  strict["model"]["unk_token"] = nullptr;
  const auto t = hf_bpe_tokenizer::from_json(strict, "strict.json");
  EXPECT_THROW((void)t.encode("🐱"), sanawm::error);
}

TEST(GemmaTokenizer, NoBosAndPadding) {
  const auto& tok = tokenizer();
  const auto ids = tok.encode("A cat sleeping", false);
  ASSERT_FALSE(ids.empty());
  EXPECT_NE(ids.front(), tok.bos_id());
  const auto b = tok.encode_padded("A cat sleeping", 10);
  ASSERT_EQ(b.ids.size(), 10u);
  EXPECT_EQ(b.length, static_cast<std::int64_t>(ids.size()) + 1);
  EXPECT_FALSE(b.truncated);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(b.mask[i], i < static_cast<std::size_t>(b.length) ? 1 : 0);
    if (i >= static_cast<std::size_t>(b.length)) {
      EXPECT_EQ(b.ids[i], tok.pad_id());
    }
  }
  const auto t = tok.encode_padded(std::string(500, 'x') + " long", 7);
  EXPECT_TRUE(t.truncated);
  EXPECT_EQ(t.length, 7);
  EXPECT_EQ(t.ids.front(), tok.bos_id());
  EXPECT_THROW((void)tok.encode_padded("x", 0), sanawm::error);
  const auto e = tok.encode_padded("", 4);  // the default negative prompt: BOS only
  EXPECT_EQ(e.length, 1);
}

TEST(GemmaTokenizer, LoadErrors) {
  const fs::path tmp = fs::temp_directory_path() / "sanawm_text_test_tok";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  auto message = [](const fs::path& p) {
    try {
      (void)gemma_tokenizer::load(p);
    } catch (const sanawm::error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(tmp / "missing.model").find("[tokenizer]"), std::string::npos);
  EXPECT_NE(message(tmp).find("no tokenizer.model or tokenizer.json"), std::string::npos);
  { std::ofstream(tmp / "tokenizer.json") << "{}"; }
  EXPECT_NE(message(tmp).find("tokenizer.json: the tokenizer has no 'model'"), std::string::npos);
  { std::ofstream(tmp / "tokenizer.json") << "{\"model\": "; }
  EXPECT_NE(message(tmp / "tokenizer.json").find("invalid JSON"), std::string::npos);
  fs::copy_file(golden_dir / "tokenizer.json", tmp / "tokenizer.json", fs::copy_options::overwrite_existing);
  EXPECT_EQ(std::string(gemma_tokenizer::load(tmp).backend()), "tokenizer.json");  // the only file there
  { std::ofstream(tmp / "bad.model") << "not a protobuf at all"; }
  EXPECT_NE(message(tmp / "bad.model").find("not a SentencePiece model"), std::string::npos);
  fs::copy_file(golden_dir / "tokenizer.model", tmp / "tokenizer.model");
  EXPECT_EQ(gemma_tokenizer::load(tmp).vocab_size(), tokenizer().vocab_size());
  EXPECT_EQ(std::string(gemma_tokenizer::load(tmp).backend()), "sentencepiece");  // preferred when both exist
  fs::remove_all(tmp);
}

// ---- Gemma-2 hidden states
// ------------------------------------------------------------------------------------------

TEST(Gemma2, ConfigFromJson) {
  const auto& c = tiny_encoder().config();
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.num_heads, 2);
  EXPECT_EQ(c.num_kv_heads, 1);
  EXPECT_EQ(c.sliding_window, 5);
  ASSERT_EQ(c.sliding.size(), 3u);
  EXPECT_TRUE(c.sliding[0]);
  EXPECT_FALSE(c.sliding[1]);
  const auto big = gemma2_config::gemma2_2b();
  EXPECT_EQ(big.hidden_size, 2304);
  EXPECT_EQ(big.sliding.size(), 26u);
}

TEST(Gemma2, HiddenStatesMatchHuggingFace) {
  const auto& enc = tiny_encoder();
  const auto& f = io_file();
  const std::int64_t d = enc.config().hidden_size;
  for (int i = 0; i < 3; ++i) {
    const std::string p = "hidden" + std::to_string(i) + ".";
    const auto ids = to_i32(f.read_as<std::int64_t>(p + "ids"));
    const auto mask = to_i32(f.read_as<std::int64_t>(p + "mask"));
    const auto want = f.read_as<float>(p + "y");
    const auto got = enc.forward(ids, mask);
    ASSERT_EQ(got.size(), want.size());
    std::int64_t last_real = 0;
    for (std::size_t t = 0; t < mask.size(); ++t)
      if (mask[t]) last_real = static_cast<std::int64_t>(t);
    std::vector<std::int64_t> pos(ids.size());
    for (std::size_t t = 0; t < pos.size(); ++t) pos[t] = static_cast<std::int64_t>(t);
    const auto [err, mag] = compare_rows(got, want, d, pos, last_real, enc.config());
    std::printf("hidden%d: %zu tokens, max |err| %.3g (max |y| %.3g)\n", i, ids.size(), err, mag);
    EXPECT_LT(err, 2e-5 * std::max(1.0, mag)) << p;
  }
}

TEST(Gemma2, WithoutMaskEqualsAllOnes) {
  const auto& enc = tiny_encoder();
  const std::vector<std::int32_t> ids{2, 73, 406, 465, 5};
  const std::vector<std::int32_t> ones(ids.size(), 1);
  EXPECT_EQ(enc.forward(ids), enc.forward(ids, ones));
}

TEST(Gemma2, Bf16WeightsStayBf16) {
  // Re-save the tiny checkpoint in bf16 and compare with the fp32 model (bf16 rounding of the weights only).
  const auto src = io::safetensors_file::open(golden_dir / "gemma2_tiny.safetensors");
  io::safetensors_writer w;
  for (const auto& name : src.names()) {
    const auto v = src.read_as<float>(name);
    std::vector<bf16> b(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) b[i] = bf16(v[i]);
    w.add<bf16>(name, src.at(name).shape, b);
  }
  const fs::path tmp = fs::temp_directory_path() / "sanawm_text_test_bf16.safetensors";
  w.write(tmp);
  const auto cfg = gemma2_config::from_json(golden_dir / "gemma2_tiny_config.json");
  const gemma2_encoder enc(gemma2_weights::load(tmp, &cfg));
  fs::remove(tmp);
  EXPECT_TRUE(enc.weights().layers[0].qkv.is_bf16());
  EXPECT_TRUE(enc.weights().embed.is_bf16());
  const std::vector<std::int32_t> ids{2, 73, 406, 465, 100, 200};
  const auto a = enc.forward(ids);
  const auto ref = tiny_encoder().forward(ids);
  const double rel = test::rel_rms<float, float>(a, ref);
  EXPECT_LT(rel, 3e-2);
}

TEST(Gemma2, Bf16ComputeIsCloseToFp32) {
  const auto cfg = gemma2_config::from_json(golden_dir / "gemma2_tiny_config.json");
  const gemma2_encoder enc(gemma2_weights::load(golden_dir / "gemma2_tiny.safetensors", &cfg),
                           gemm_compute::bf16);
  const std::vector<std::int32_t> ids{2, 73, 406, 465, 100, 200, 300};
  const auto a = enc.forward(ids);
  const auto ref = tiny_encoder().forward(ids);
  const double rel = test::rel_rms<float, float>(a, ref);
  EXPECT_GT(rel, 0.0);  // the mode really changes the arithmetic
  EXPECT_LT(rel, 3e-2);
  EXPECT_THROW(
      gemma2_encoder(gemma2_weights::load(golden_dir / "gemma2_tiny.safetensors", &cfg), gemm_compute::tf32),
      sanawm::error);
}

TEST(Gemma2, Errors) {
  const auto& enc = tiny_encoder();
  EXPECT_THROW((void)enc.forward(std::vector<std::int32_t>{}), sanawm::error);
  EXPECT_THROW((void)enc.forward(std::vector<std::int32_t>{2, 100000}), sanawm::error);
  EXPECT_THROW((void)enc.forward(std::vector<std::int32_t>{2, 3}, std::vector<std::int32_t>{1}),
               sanawm::error);
  auto cfg = gemma2_config::from_json(golden_dir / "gemma2_tiny_config.json");
  cfg.hidden_size = 48;  // shapes no longer match the checkpoint
  try {
    (void)gemma2_weights::load(golden_dir / "gemma2_tiny.safetensors", &cfg);
    ADD_FAILURE() << "no error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("embed_tokens"), std::string::npos) << e.what();
  }
  // No config given and no config.json next to the file.
  EXPECT_THROW((void)gemma2_weights::load(golden_dir / "gemma2_tiny.safetensors"), sanawm::error);
  EXPECT_THROW((void)gemma2_weights::load(golden_dir / "missing.safetensors"), sanawm::error);
}

// ---- SANA-WM prompt assembly
// -------------------------------------------------------------------------------------

TEST(Prompt, TokensAndEmbeddingsMatchUpstreamAssembly) {
  const auto& tok = tokenizer();
  const auto& enc = tiny_encoder();
  const auto& f = io_file();
  prompt_config cfg;
  cfg.max_sequence_length = cases().at("max_sequence_length").get<std::int64_t>();
  cfg.chi_lines = cases().at("chi_lines").get<std::vector<std::string>>();
  int i = 0;
  for (const auto& c : cases().at("prompt")) {
    const std::string p = "prompt" + std::to_string(i++) + ".";
    const auto text = c.at("text").get<std::string>();
    const bool chi = c.at("chi").get<bool>();
    const auto pt = tokenize_prompt(tok, text, chi, cfg);
    EXPECT_EQ(static_cast<std::int64_t>(pt.tokens.ids.size()), c.at("max_length").get<std::int64_t>()) << p;
    EXPECT_EQ(pt.tokens.ids, to_i32(f.read_as<std::int64_t>(p + "ids"))) << p;
    ASSERT_EQ(static_cast<std::int64_t>(pt.select.size()), cfg.max_sequence_length);
    const auto e = encode_prompt(tok, enc, text, chi, cfg);
    EXPECT_EQ(e.mask, f.read_as<std::int64_t>(p + "mask")) << p;
    const auto want = f.read_as<float>(p + "y");
    const auto [err, mag] = compare_rows(e.y, want, e.dim, pt.select, pt.tokens.length - 1, enc.config());
    std::printf("%s chi=%d: L=%zu, max |err| %.3g (max |y| %.3g)\n", p.c_str(), chi ? 1 : 0,
                pt.tokens.ids.size(), err, mag);
    EXPECT_LT(err, 2e-5 * std::max(1.0, mag)) << p;
  }
}

TEST(Prompt, EngineEncodesTheSameEmbeddings) {
  // encode_prompt over gemma2_engine<cpu_t> (the GPU encoder's steps; sanawm-generate --device cuda runs its CUDA
  // twin) gives the CPU encoder's embeddings exactly.
  const auto& tok = tokenizer();
  gemma2_engine<cpu_t> engine(cpu_t{}, refs_of(tiny_encoder().weights()));
  prompt_config cfg;
  cfg.max_sequence_length = cases().at("max_sequence_length").get<std::int64_t>();
  cfg.chi_lines = cases().at("chi_lines").get<std::vector<std::string>>();
  for (bool chi : {false, true}) {
    const auto a = encode_prompt(tok, tiny_encoder(), "a red house by the sea", chi, cfg);
    const auto b = encode_prompt(tok, engine, "a red house by the sea", chi, cfg);
    EXPECT_EQ(a.y, b.y);
    EXPECT_EQ(a.mask, b.mask);
    EXPECT_EQ(a.dim, b.dim);
  }
}

TEST(Prompt, DefaultChiAndLongPromptTruncates) {
  const auto& tok = tokenizer();
  const auto lines = default_chi_lines();
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines.back(), "User Prompt: ");
  prompt_config cfg;
  cfg.max_sequence_length = 12;
  std::string long_prompt;
  for (int i = 0; i < 50; ++i) long_prompt += "a cat sleeping ";
  const auto pt = tokenize_prompt(tok, long_prompt, true, cfg);
  EXPECT_TRUE(pt.tokens.truncated);
  EXPECT_EQ(pt.select.front(), 0);
  EXPECT_EQ(pt.select.back(), static_cast<std::int64_t>(pt.tokens.ids.size()) - 1);
  cfg.max_sequence_length = 1;
  EXPECT_THROW((void)tokenize_prompt(tok, "x", false, cfg), sanawm::error);
}

TEST(Prompt, EmbeddingFileRoundTrip) {
  prompt_config cfg;
  cfg.max_sequence_length = 8;
  cfg.chi_lines = {"System:", "User Prompt: "};
  const auto e = encode_prompt(tokenizer(), tiny_encoder(), "A cat sleeping 🐱", true, cfg);
  const fs::path tmp = fs::temp_directory_path() / "sanawm_text_test_embedding.safetensors";
  save_prompt_embedding(tmp, e);
  const auto f = io::safetensors_file::open(tmp);
  EXPECT_EQ(f.at("y").shape, (std::vector<index_t>{1, 1, 8, 32}));
  EXPECT_EQ(f.at("mask").shape, (std::vector<index_t>{1, 8}));
  EXPECT_EQ(f.metadata().at("format"), "sanawm-text-embedding/1");
  const auto back = load_prompt_embedding(tmp);
  fs::remove(tmp);
  EXPECT_EQ(back.y, e.y);
  EXPECT_EQ(back.mask, e.mask);
  EXPECT_EQ(back.prompt, "A cat sleeping 🐱");
  EXPECT_TRUE(back.chi);
}

}  // namespace

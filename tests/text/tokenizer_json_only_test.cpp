// SPDX-License-Identifier: Apache-2.0
// tests/text/tokenizer_json_only_test.cpp — gemma_tokenizer built without SentencePiece
// (SANAWM_HAS_SENTENCEPIECE=0, no libsentencepiece linked): tokenizer.json gives Hugging Face's ids, a
// tokenizer.model is refused with a message that points at tokenizer.json.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sanawm/io/json.hpp"
#include "sanawm/model/text/tokenizer.hpp"

static_assert(SANAWM_HAS_SENTENCEPIECE == 0, "this test checks the build without SentencePiece");

namespace {

const std::filesystem::path golden_dir{SANAWM_TEXT_GOLDEN_DIR};

TEST(TokenizerJsonOnly, IdsMatchHuggingFace) {
  const auto tok = sanawm::text::gemma_tokenizer::load(golden_dir);  // a directory with both: the .json here
  EXPECT_EQ(std::string(tok.backend()), "tokenizer.json");
  EXPECT_EQ(tok.bos_id(), 2);
  const auto cases = sanawm::io::read_json_file(golden_dir / "cases.json");
  int n = 0;
  for (const auto& c : cases.at("tokenizer")) {
    const auto text = c.at("text").get<std::string>();
    EXPECT_EQ(tok.encode(text), c.at("ids").get<std::vector<std::int32_t>>()) << text.substr(0, 60);
    ++n;
  }
  EXPECT_GE(n, 15);
}

TEST(TokenizerJsonOnly, ModelFileIsRefusedClearly) {
  try {
    (void)sanawm::text::gemma_tokenizer::load(golden_dir / "tokenizer.model");
    ADD_FAILURE() << "expected an error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("without SentencePiece"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
  }
}

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_tokenizer_json.cpp — libFuzzer target: the tokenizer.json reader (hf_bpe_tokenizer::from_json)
// on arbitrary JSON, then encoding a few fixed strings and the input itself with whatever loaded.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sanawm/io/json.hpp"
#include "sanawm/model/text/hf_tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto j = sanawm::io::parse_json(text, "fuzz_tokenizer_json");
    const auto t = sanawm::text::hf_bpe_tokenizer::from_json(j, "fuzz.json");
    for (std::string_view s : {std::string_view("hello world"), std::string_view("<bos>a  b\n\n"),
                               std::string_view("\xff\xfe caf\xc3\xa9"), text.substr(0, 64)}) {
      for (const std::int32_t id : t.encode(s)) (void)t.token(id);
    }
  } catch (const sanawm::error&) {
    // Rejected input: expected.
  }
  return 0;
}

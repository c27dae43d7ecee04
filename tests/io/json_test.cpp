// SPDX-License-Identifier: Apache-2.0
// tests/io/json_test.cpp — parse_json errors (syntax, duplicates, depth, UTF-8) and typed field access
// messages.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io_test_util.hpp"
#include "sanawm/io/json.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::io;

TEST(Json, ParsesValidDocuments) {
  const json j =
      parse_json(R"({"depth": 4, "eps": 1e-5, "name": "dit", "flags": [true, false], "none": null})");
  EXPECT_EQ(json_get<int>(j, "depth"), 4);
  EXPECT_DOUBLE_EQ(json_get<double>(j, "eps"), 1e-5);
  EXPECT_DOUBLE_EQ(json_get<double>(j, "depth"), 4.0);  // integers are numbers too
  EXPECT_EQ(json_get<std::string>(j, "name"), "dit");
  EXPECT_EQ(json_get<std::vector<bool>>(j, "flags"), (std::vector<bool>{true, false}));
  EXPECT_EQ(json_get<json>(j, "flags").size(), 2u);
  EXPECT_EQ(json_get_or<int>(j, "missing", 7), 7);
  EXPECT_EQ(json_get_or<int>(j, "none", 8), 8);
  EXPECT_EQ(json_get_optional<std::string>(j, "none"), std::nullopt);
  EXPECT_EQ(json_get_optional<std::string>(j, "name"), std::optional<std::string>("dit"));
  EXPECT_EQ(parse_json("  [1, 2]\n").size(), 2u);
  EXPECT_EQ(json_as<std::vector<std::vector<int>>>(parse_json("[[1], [2, 3]]"), "v"),
            (std::vector<std::vector<int>>{{1}, {2, 3}}));
  EXPECT_EQ(json_get<std::uint64_t>(parse_json(R"({"a": 18446744073709551615})"), "a"), ~0ull);
}

TEST(Json, SyntaxErrorsNameTheContext) {
  SANAWM_EXPECT_ERROR(parse_json("{\"a\": }", "config", "cfg.json"),
                      "[config] cfg.json: invalid JSON:", "line 1, column 7");
  SANAWM_EXPECT_ERROR(parse_json(""), "[json] <memory>: invalid JSON");
  SANAWM_EXPECT_ERROR(parse_json("{} {}"), "invalid JSON");
  SANAWM_EXPECT_ERROR(parse_json("[1, 2,]"), "invalid JSON");
  SANAWM_EXPECT_ERROR(parse_json("{\"a\": \"\xff\"}"), "invalid JSON");     // invalid UTF-8
  SANAWM_EXPECT_ERROR(parse_json("{\"a\": \"\\ud800\"}"), "invalid JSON");  // lone surrogate
  SANAWM_EXPECT_ERROR(parse_json("// c\n{}"), "invalid JSON");              // no comments
  // nlohmann stops at a NUL byte; sanawm rejects it so "{}\0<junk>" cannot pass as "{}".
  SANAWM_EXPECT_ERROR(parse_json(std::string("{}\0junk", 7)), "invalid JSON: NUL byte at offset 2");
  const std::string msg = sanawm::test::error_of([] { (void)parse_json("{\"a\": 1"); });
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << "nlohmann's prefix is stripped: " << msg;
}

TEST(Json, DuplicateKeysAndDepth) {
  SANAWM_EXPECT_ERROR(parse_json(R"({"a": 1, "b": {"c": 1, "c": 2}})"), "duplicate key 'c'");
  // The same key in sibling objects is fine.
  EXPECT_NO_THROW((void)parse_json(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}]})"));
  json_parse_options lenient;
  lenient.reject_duplicate_keys = false;
  EXPECT_EQ(json_get<int>(parse_json(R"({"a": 1, "a": 2})", "json", "<m>", lenient), "a"), 2);
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  SANAWM_EXPECT_ERROR(parse_json(deep), "nesting deeper than 64 levels");
  const std::string ok = std::string(60, '[') + std::string(60, ']');
  EXPECT_NO_THROW((void)parse_json(ok));
  // A very deep document fails fast instead of exhausting the stack.
  const std::string very_deep = std::string(1'000'000, '[');
  SANAWM_EXPECT_ERROR(parse_json(very_deep), "nesting deeper");
}

TEST(Json, TypedAccessErrorsNameTheKey) {
  const json j = parse_json(R"({"depth": "4", "n": 300, "neg": -1, "f": 1.5, "shape": [1, "x"], "obj": {}})");
  SANAWM_EXPECT_ERROR(json_get<int>(j, "missing", "dit_config", "cfg.json"),
                      "[dit_config] cfg.json: missing key 'missing'");
  SANAWM_EXPECT_ERROR(json_get<int>(j, "depth"), "key 'depth': expected an integer, got string");
  SANAWM_EXPECT_ERROR(json_get<std::uint8_t>(j, "n"),
                      "key 'n': value 300 does not fit the expected integer type");
  SANAWM_EXPECT_ERROR(json_get<unsigned>(j, "neg"), "value -1 does not fit");
  SANAWM_EXPECT_ERROR(json_get<int>(j, "f"), "key 'f': expected an integer, got number");
  SANAWM_EXPECT_ERROR(json_get<std::vector<int>>(j, "shape"),
                      "key 'shape'[1]: expected an integer, got string");
  SANAWM_EXPECT_ERROR(json_get<std::string>(j, "obj"), "expected a string, got object");
  SANAWM_EXPECT_ERROR(json_get<bool>(j, "n"), "expected a boolean, got number");
  SANAWM_EXPECT_ERROR(json_get<double>(j, "depth"), "expected a number, got string");
  SANAWM_EXPECT_ERROR(json_get_or<int>(j, "depth", 1), "key 'depth': expected an integer");
  SANAWM_EXPECT_ERROR(json_get<int>(parse_json("[1]"), "a"), "expected a JSON object holding 'a', got array");
  SANAWM_EXPECT_ERROR(json_get<int>(j, "a\x01"), "missing key 'a\\x01'");
}

TEST(Json, ReadsFiles) {
  sanawm::test::temp_dir dir;
  std::ofstream(dir / "c.json") << R"({"x": [1.5, 2]})";
  EXPECT_EQ(json_get<std::vector<float>>(read_json_file(dir / "c.json"), "x"),
            (std::vector<float>{1.5f, 2.0f}));
  SANAWM_EXPECT_ERROR(read_json_file(dir / "missing.json", "config"), "[config]",
                      "missing.json: cannot open for reading");
  std::ofstream(dir / "bad.json") << R"({"x": )";
  SANAWM_EXPECT_ERROR(read_json_file(dir / "bad.json"), "bad.json: invalid JSON");
  const auto corpus = sanawm::test::corpus_dir("json");
  EXPECT_EQ(json_get<std::vector<int>>(read_json_file(corpus / "config.json"), "patch_size"),
            (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(read_json_file(corpus / "nested.json").size(), 4u);
  SANAWM_EXPECT_ERROR(read_json_file(corpus / "bad_duplicate.json"), "duplicate key 'a'");
}

}  // namespace

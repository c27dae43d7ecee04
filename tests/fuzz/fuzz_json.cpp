// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_json.cpp — libFuzzer target: parse_json, typed field access, and the sharded-index
// validator.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/io/json.hpp"
#include "sanawm/io/safetensors.hpp"

namespace {

/// Every typed accessor either converts or throws sanawm::error naming the key.
template <class... Ts>
void try_all_types(const sanawm::io::json& obj, const std::string& key) {
  (
      [&] {
        try {
          (void)sanawm::io::json_get<Ts>(obj, key);
        } catch (const sanawm::error&) {
        }
      }(),
      ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto j = sanawm::io::parse_json(text, "fuzz_json");
    if (j.is_object()) {
      for (const auto& [key, value] : j.items()) {
        (void)value;
        try_all_types<std::int64_t, std::uint8_t, double, std::string, bool, std::vector<std::int64_t>,
                      std::vector<std::vector<float>>, std::vector<std::string>>(j, key);
      }
    }
    (void)sanawm::io::json_get_or<int>(j.is_object() ? j : sanawm::io::json::object(), "depth", 0);
  } catch (const sanawm::error&) {
    // Rejected input (or a mistyped "depth"): expected.
  }
  try {
    // The same bytes as a model.safetensors.index.json (validated without opening any shard).
    const auto idx =
        sanawm::io::safetensors_index::parse_index(text, "/nonexistent/model.safetensors.index.json");
    (void)idx.names();
    (void)idx.shard_paths();
  } catch (const sanawm::error&) {
  }
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_npy.cpp — libFuzzer target: parse_npy on arbitrary bytes, then converts the array.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

#include "sanawm/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto a = sanawm::io::parse_npy(std::span(reinterpret_cast<const std::byte*>(data), size), "<fuzz>");
    (void)a.as<double>();
    (void)sanawm::io::encode_npy(a);  // whatever was read can be written again
  } catch (const sanawm::error&) {
    // Rejected input: expected. Any other exception or a crash is a finding.
  }
  return 0;
}

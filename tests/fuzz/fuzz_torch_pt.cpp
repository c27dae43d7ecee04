// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_torch_pt.cpp — libFuzzer target: torch_pt_file (zip + restricted pickle) on arbitrary bytes,
// then materialises every tensor.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sanawm/io/torch_pt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* p = reinterpret_cast<const std::byte*>(data);
  try {
    const auto f = sanawm::io::torch_pt_file::from_bytes(std::vector<std::byte>(p, p + size), "<fuzz>");
    for (const auto& name : f.names()) {
      try {
        (void)f.read_as<double>(name);
      } catch (const sanawm::error&) {
        // One bad tensor (missing or short storage) must not hide findings in the others.
      }
    }
  } catch (const sanawm::error&) {
    // Rejected input: expected. Any other exception or a crash is a finding.
  }
  return 0;
}

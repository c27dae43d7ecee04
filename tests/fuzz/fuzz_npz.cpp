// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_npz.cpp — libFuzzer target: npz_file on arbitrary bytes, then decompresses and decodes
// every member.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sanawm/io/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* p = reinterpret_cast<const std::byte*>(data);
  try {
    const auto z = sanawm::io::npz_file::from_bytes(std::vector<std::byte>(p, p + size), "<fuzz>");
    for (const auto& name : z.names()) {
      try {
        (void)z.read(name).as<double>();
      } catch (const sanawm::error&) {
        // One bad member (CRC, deflate, .npy header) must not hide findings in the others.
      }
    }
  } catch (const sanawm::error&) {
    // Rejected input: expected. Any other exception or a crash is a finding.
  }
  return 0;
}

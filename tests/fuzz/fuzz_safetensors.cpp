// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_safetensors.cpp — libFuzzer target: safetensors_file on arbitrary bytes, then reads every
// tensor.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sanawm/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* p = reinterpret_cast<const std::byte*>(data);
  try {
    auto f = sanawm::io::safetensors_file::from_bytes(std::vector<std::byte>(p, p + size), "<fuzz>");
    // A file that validated must be fully readable: touch every byte of every tensor (ASan checks the
    // bounds).
    for (const auto& name : f.names()) {
      const auto& t = f.at(name);
      (void)f.read_as<double>(name);
      (void)f.read_as<float>(name, t.shape);
      try {
        (void)f.read_as<std::int64_t>(name);  // float sources and out-of-range values throw sanawm::error
      } catch (const sanawm::error&) {
      }
    }
    (void)f.metadata().size();
    try {
      (void)f.at("no such tensor");  // exercises the near-match suggestions over the parsed names
    } catch (const sanawm::error&) {
    }
  } catch (const sanawm::error&) {
    // Rejected input: the expected outcome for most mutations. Any other exception or a crash is a finding.
  }
  return 0;
}

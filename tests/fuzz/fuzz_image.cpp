// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_image.cpp — libFuzzer target: read_image_from_memory (stb: PNG, JPEG, ...) on arbitrary bytes,
// then resizes, converts and re-encodes what was decoded.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

#include "sanawm/io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // Small limits keep every run cheap: a header claiming a huge image is rejected before decoding.
    const sanawm::io::image_limits limits{1024, 1 << 18};
    const auto img = sanawm::io::read_image_from_memory(
        std::span(reinterpret_cast<const std::byte*>(data), size), "<fuzz>", limits);
    const auto small = sanawm::io::resize_center_crop(img, 8, 6);
    const auto chw = sanawm::io::to_model_input(small);
    (void)sanawm::io::from_model_output(chw.data(), 3, small.height, small.width);
    (void)sanawm::io::encode_png(small);  // whatever was read can be written again
  } catch (const sanawm::error&) {
    // Rejected input: expected. Any other exception or a crash is a finding.
  }
  return 0;
}

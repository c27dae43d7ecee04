// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_y4m.cpp — libFuzzer target: parse_y4m (YUV4MPEG2 reader) on arbitrary bytes, then re-encodes
// the first frame.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sanawm/io/video.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto v = sanawm::io::parse_y4m(std::span(reinterpret_cast<const std::byte*>(data), size), "<fuzz>");
    if (!v.frames.empty()) {
      std::vector<std::uint8_t> out;
      sanawm::io::detail::y4m_encode_frame(v.frames.front(), sanawm::io::y4m_chroma::c420jpeg, out);
    }
  } catch (const sanawm::error&) {
    // Rejected input: expected. Any other exception or a crash is a finding.
  }
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_trajectory.cpp — libFuzzer target: the same bytes as a JSON trajectory, a SANA-WM-Bench
// .npz and a c2w .npy (the shape, dtype and intrinsics checks layered on the generic readers), then
// validation.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sanawm/io/trajectory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const sanawm::trajectory tr = sanawm::io::parse_trajectory_json(text, "<fuzz>");
    sanawm::validate_trajectory(tr);
    if (tr.frames() <= 64) (void)sanawm::resample(tr, 2 * tr.frames());
  } catch (const sanawm::error&) {
  }
  try {
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                                 reinterpret_cast<const std::byte*>(data) + size);
    const auto z = sanawm::io::npz_file::from_bytes(std::move(bytes), "<fuzz>");
    sanawm::validate_trajectory(sanawm::io::trajectory_from_npz(z));
  } catch (const sanawm::error&) {
  }
  try {
    const auto a = sanawm::io::parse_npy(std::span(reinterpret_cast<const std::byte*>(data), size), "<fuzz>");
    (void)sanawm::io::poses_from_array(a, "fuzz", "c2w");
    (void)sanawm::io::intrinsics_from_array(a, 1, "fuzz", "K");
  } catch (const sanawm::error&) {
  }
  return 0;
}

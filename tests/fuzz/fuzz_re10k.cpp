// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_re10k.cpp — libFuzzer target: RealEstate10K pose text, then (for short files) the camera
// conditioning it feeds: relativisation, intrinsics scaling and the Plücker rays on a 2×2 latent grid.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sanawm/io/trajectory.hpp"
#include "sanawm/model/camera/conditioning.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto f =
        sanawm::io::parse_re10k(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>");
    if (f.camera.frames() <= 64) {
      sanawm::camera_geometry g;
      g.height = g.width = 64;
      sanawm::camera_validation v;
      v.check_fov = (size & 1) != 0;  // exercise both paths
      const auto c = sanawm::prepare_camera(f.camera, g, v);
      (void)sanawm::make_chunk_plucker(c);
      (void)sanawm::make_ucpe_raymats(c);
    }
  } catch (const sanawm::error&) {
    // Rejected input: expected. Any other exception or a crash is a finding.
  }
  return 0;
}

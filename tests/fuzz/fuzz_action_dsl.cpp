// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_action_dsl.cpp — libFuzzer target: the SANA-WM action DSL parser, then the rollout (bounded
// length) with and without smoothing; every pose it produces must be a rotation.
#include "fuzz_target.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sanawm/model/camera/action.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto segments =
        sanawm::parse_action_string(std::string_view(reinterpret_cast<const char*>(data), size));
    sanawm::index_t total = 0;
    for (const auto& s : segments) total += s.frames;
    if (total <= 2000) {  // keeps each mutant cheap; longer rollouts are the same loop
      sanawm::action_options o;
      o.smooth = (size & 1) == 0;
      const auto poses = sanawm::action_to_c2w(segments, o);
      if (static_cast<sanawm::index_t>(poses.size()) != total + 1) std::abort();
      sanawm::validate_rigid(poses.back(), 1e-6, "fuzz",
                             "last pose");  // throws sanawm::error → finding below
    }
  } catch (const sanawm::error& e) {
    // A parse error is expected; a non-rigid rollout pose is a bug.
    if (std::string_view(e.what()).starts_with("[fuzz]")) std::abort();
  }
  return 0;
}

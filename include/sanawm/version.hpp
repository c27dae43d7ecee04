// SPDX-License-Identifier: Apache-2.0
// sanawm/version.hpp — library version as macros and as a constexpr value.
#pragma once

#define SANAWM_VERSION_MAJOR 0
#define SANAWM_VERSION_MINOR 1
#define SANAWM_VERSION_PATCH 0

namespace sanawm {

struct version_info {
  int major, minor, patch;
};

/// The version of the headers in use (matches the CMake package version).
inline constexpr version_info version{SANAWM_VERSION_MAJOR, SANAWM_VERSION_MINOR, SANAWM_VERSION_PATCH};

}  // namespace sanawm

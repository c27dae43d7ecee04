// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/fuzz_target.hpp — the libFuzzer entry point every fuzz target defines (declared once, for the
// driver).
#pragma once

#include <cstddef>
#include <cstdint>

/// Runs one input through a parser. Parsers may reject it only by throwing sanawm::error, which the target
/// catches; a crash, a sanitizer report or any other exception is a finding. Always returns 0.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

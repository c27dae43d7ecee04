// SPDX-License-Identifier: Apache-2.0
// tests/text/gemma2_engine_checks.hpp — the Gemma-2 engine's checks, run on gemma2_engine<cpu_t>
// (gemma2_engine_test.cpp) and gemma2_engine<cuda_t> (gemma2_engine_cuda_test.cpp): Hugging Face's hidden states of
// the tiny golden model, agreement with gemma2_encoder (fp32 and bf16 compute, fp32 and bf16 checkpoints), errors.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>

#include "gemma2_engine_runner.hpp"
#include "sanawm/io/safetensors.hpp"
#include "sanawm/model/text/gemma2.hpp"
#include "support/test_util.hpp"

namespace sanawm::test {

using gemma_factory = std::function<std::unique_ptr<gemma_runner>(const text::gemma2_refs&, gemm_compute)>;

/// tests/text/golden: $SANAWM_TEXT_GOLDEN_DIR when set (packed binaries on a GPU machine), else the build's path.
inline const std::filesystem::path& gemma_golden_dir() {
  static const std::filesystem::path d = [] {
    const char* e = std::getenv("SANAWM_TEXT_GOLDEN_DIR");
    return std::filesystem::path(e && *e ? e : SANAWM_TEXT_GOLDEN_DIR);
  }();
  return d;
}
/// Whether the golden tiny Gemma-2 is there. The GPU tests skip without it (packed binaries run away from the
/// repository, SANAWM_TEXT_GOLDEN_DIR unset or wrong) instead of throwing from gemma_tiny().
inline bool have_gemma_golden() {
  for (const char* f : {"gemma2_tiny_config.json", "gemma2_tiny.safetensors", "gemma2_tiny_io.safetensors"})
    if (!std::filesystem::exists(gemma_golden_dir() / f)) return false;
  return true;
}
#define SANAWM_REQUIRE_GEMMA_GOLDEN()                                                                  \
  do {                                                                                                 \
    if (!::sanawm::test::have_gemma_golden())                                                          \
      GTEST_SKIP() << "golden Gemma-2 data (gemma2_tiny*) not found under '"                           \
                   << ::sanawm::test::gemma_golden_dir().string() << "' (set SANAWM_TEXT_GOLDEN_DIR)"; \
  } while (0)
inline const text::gemma2_weights& gemma_tiny() {
  static const text::gemma2_weights w = [] {
    const auto cfg = text::gemma2_config::from_json(gemma_golden_dir() / "gemma2_tiny_config.json");
    return text::gemma2_weights::load(gemma_golden_dir() / "gemma2_tiny.safetensors", &cfg);
  }();
  return w;
}

/// Hugging Face's last hidden states on three golden sequences (right padding, rows comparable as in text_test).
inline void check_gemma_engine_golden(const gemma_factory& make) {
  auto e = make(text::refs_of(gemma_tiny()), gemm_compute::fp32);
  const auto f = io::safetensors_file::open(gemma_golden_dir() / "gemma2_tiny_io.safetensors");
  const auto& c = gemma_tiny().config;
  const index_t d = c.hidden_size;
  for (int i = 0; i < 3; ++i) {
    const std::string p = "hidden" + std::to_string(i) + ".";
    const auto ids64 = f.read_as<std::int64_t>(p + "ids"), mask64 = f.read_as<std::int64_t>(p + "mask");
    const std::vector<std::int32_t> ids(ids64.begin(), ids64.end()), mask(mask64.begin(), mask64.end());
    const auto want = f.read_as<float>(p + "y");
    const auto got = e->forward(ids, mask);
    ASSERT_EQ(got.size(), want.size());
    index_t last_real = 0;
    for (std::size_t t = 0; t < mask.size(); ++t)
      if (mask[t]) last_real = static_cast<index_t>(t);
    double err = 0, mag = 0;
    for (index_t t = 0; t < static_cast<index_t>(ids.size()); ++t) {
      if (t > last_real && t - c.sliding_window + 1 > last_real) continue;  // see gemma2_encoder's padded rows
      for (index_t j = 0; j < d; ++j) {
        const auto k = static_cast<std::size_t>(t * d + j);
        err = std::max(err, std::abs(double(got[k]) - double(want[k])));
        mag = std::max(mag, std::abs(double(want[k])));
      }
    }
    std::printf("  engine hidden%d: %zu tokens, max |err| %.3g (max |y| %.3g)\n", i, ids.size(), err, mag);
    EXPECT_LT(err, 2e-5 * std::max(1.0, mag)) << p;
  }
}

/// The engine against gemma2_encoder: fp32 and bf16 compute on the golden weights, fp32 compute on a bf16 checkpoint
/// (the embedding table stays bf16), with and without a padding mask.
inline void check_gemma_engine_matches_encoder(const gemma_factory& make) {
  const std::vector<std::int32_t> ids{2, 73, 406, 465, 100, 200, 300, 17, 5};
  const std::vector<std::int32_t> mask{1, 1, 1, 1, 1, 1, 1, 0, 0};
  auto run = [&](const text::gemma2_weights& w, gemm_compute compute, double tol, const char* what) {
    const text::gemma2_encoder ref(w, compute);
    auto e = make(text::refs_of(w), compute);
    for (bool masked : {false, true}) {
      const std::span<const std::int32_t> m = masked ? std::span<const std::int32_t>(mask) : std::span<const std::int32_t>{};
      const auto a = e->forward(ids, m), b = ref.forward(ids, m);
      const double rel = rel_rms<float, float>(a, b);
      std::printf("  %s%s: rel RMS to gemma2_encoder %.3g\n", what, masked ? " (masked)" : "", rel);
      EXPECT_LE(rel, tol) << what;
    }
  };
  run(gemma_tiny(), gemm_compute::fp32, 1e-6, "fp32 compute");
  run(gemma_tiny(), gemm_compute::bf16, 1e-3, "bf16 compute");
  run(text::gemma2_weights::random(gemma_tiny().config, /*bf16_weights=*/true, 5), gemm_compute::fp32, 1e-6,
      "bf16 checkpoint, fp32 compute");
}

inline void check_gemma_engine_errors(const gemma_factory& make) {
  auto e = make(text::refs_of(gemma_tiny()), gemm_compute::fp32);
  EXPECT_THROW((void)e->forward(std::vector<std::int32_t>{}, {}), sanawm::error);
  EXPECT_THROW((void)e->forward(std::vector<std::int32_t>{2, 100000}, {}), sanawm::error);
  EXPECT_THROW((void)e->forward(std::vector<std::int32_t>{2, 3}, std::vector<std::int32_t>{1}), sanawm::error);
  EXPECT_THROW((void)make(text::refs_of(gemma_tiny()), gemm_compute::tf32), sanawm::error);
}

}  // namespace sanawm::test

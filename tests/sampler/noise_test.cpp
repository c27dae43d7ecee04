// SPDX-License-Identifier: Apache-2.0
// tests/sampler/noise_test.cpp — sanawm's noise generator (Philox4x32-10 known answers, normal moments, chunk
// / offset and thread-count invariance, seed and stream independence) and torch_randn_cpu against PyTorch's
// own output stored in tests/data/torch_randn.safetensors (written by scripts/gen_torch_randn.py).
#include "sanawm/model/sampler/noise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "sanawm/backend/cpu/thread_pool.hpp"
#include "sanawm/io/safetensors.hpp"

namespace sanawm {
namespace {

using sampler::fill_normal;
using sampler::normal_at;
using sampler::torch_cpu_kernel;
using sampler::torch_randn_cpu;
using sampler::u32x4;

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Elements whose bit patterns differ.
std::size_t count_bit_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i) bad += bits_of(a[i]) != bits_of(b[i]) ? 1u : 0u;
  return bad;
}

// Restores the global pool's thread count when a test changes it.
class thread_count_guard {
 public:
  thread_count_guard() : saved_(cpu::num_threads()) {}
  ~thread_count_guard() { cpu::set_num_threads(saved_); }
  thread_count_guard(const thread_count_guard&) = delete;
  thread_count_guard& operator=(const thread_count_guard&) = delete;

 private:
  int saved_;
};

// ---------------------------------------------------------------- Philox4x32-10

TEST(Philox, Random123KnownAnswers) {
  // Random123 kat_vectors, "philox4x32 10": counter[4] key[2] -> output[4].
  struct kat {
    u32x4 ctr;
    std::uint32_t k0, k1;
    u32x4 want;
  };
  const kat cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const kat& c : cases) {
    const u32x4 got = sampler::philox4x32<10>(c.ctr, c.k0, c.k1);
    for (int w = 0; w < 4; ++w) EXPECT_EQ(got.v[w], c.want.v[w]) << "word " << w << " of ctr " << c.ctr.v[0];
  }
}

TEST(Philox, UsableInConstantExpressions) {
  constexpr u32x4 z = sampler::philox4x32<10>(u32x4{{0, 0, 0, 0}}, 0, 0);
  static_assert(z.v[0] == 0x6627e8d5u && z.v[3] == 0x9b00dbd8u);
  SUCCEED();
}

// ---------------------------------------------------------------- sanawm's normal noise

TEST(FillNormal, MomentsOfOneMillionSamples) {
  constexpr std::size_t n = 1'000'000;
  std::vector<float> z(n);
  fill_normal(z, 20240611u);
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  std::size_t over1 = 0, over2 = 0, over3 = 0;
  for (float f : z) {
    ASSERT_TRUE(std::isfinite(f));
    const double x = f;
    s1 += x, s2 += x * x, s3 += x * x * x, s4 += x * x * x * x;
    const double a = std::fabs(x);
    over1 += a > 1 ? 1u : 0u, over2 += a > 2 ? 1u : 0u, over3 += a > 3 ? 1u : 0u;
  }
  const double dn = static_cast<double>(n);
  const double mean = s1 / dn, m2 = s2 / dn;
  // Bounds are 5 standard errors of each estimator under N(0, 1) (false-alarm rate < 1e-6 per check):
  // SE(mean) = 1/sqrt(n), SE(E x^2) = sqrt(2/n), SE(E x^3) = sqrt(15/n), SE(E x^4) = sqrt(96/n),
  // SE(tail fraction p) = sqrt(p (1 - p) / n).
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(dn));
  EXPECT_NEAR(m2, 1.0, 5 * std::sqrt(2 / dn));
  EXPECT_NEAR(s3 / dn, 0.0, 5 * std::sqrt(15 / dn));
  EXPECT_NEAR(s4 / dn, 3.0, 5 * std::sqrt(96 / dn));
  const double p1 = 0.31731050786291415, p2 = 0.04550026389635842, p3 = 0.0026997960632601866;  // P(|z| > k)
  for (auto [count, p] : {std::pair{over1, p1}, std::pair{over2, p2}, std::pair{over3, p3}})
    EXPECT_NEAR(static_cast<double>(count) / dn, p, 5 * std::sqrt(p * (1 - p) / dn));
}

TEST(FillNormal, ChunksAndOffsetsReproduceAOneShotFill) {
  constexpr std::size_t n = 10007;
  const std::uint64_t seed = 7, stream = 3;
  std::vector<float> whole(n);
  fill_normal(whole, seed, stream);
  // Chunk sizes that start on even and odd logical indices, end on both, and include size 1.
  for (std::size_t chunk : {1u, 2u, 3u, 16u, 97u, 1000u, 4096u}) {
    std::vector<float> pieced(n);
    for (std::size_t b = 0; b < n; b += chunk) {
      const std::size_t len = std::min(chunk, n - b);
      fill_normal(std::span<float>(pieced).subspan(b, len), seed, stream, b);
    }
    EXPECT_EQ(count_bit_mismatches(whole, pieced), 0u) << "chunk " << chunk;
  }
  for (std::size_t i : {0u, 1u, 2u, 1233u, 10006u})
    EXPECT_EQ(bits_of(normal_at(seed, stream, i)), bits_of(whole[i]));
  // Far into the sequence (index ~2^40, odd start): the element function and the fill agree.
  const std::uint64_t far = (std::uint64_t{1} << 40) + 1;
  std::vector<float> tail(5);
  fill_normal(tail, seed, stream, far);
  for (std::size_t k = 0; k < tail.size(); ++k)
    EXPECT_EQ(bits_of(tail[k]), bits_of(normal_at(seed, stream, far + k)));
  fill_normal(std::span<float>{}, seed);  // empty: no-op
}

TEST(FillNormal, IdenticalForOneAndTwoThreads) {
  thread_count_guard guard;
  constexpr std::size_t n = 100'003;  // odd, several parts, odd part boundaries
  std::vector<float> one(n), two(n);
  cpu::set_num_threads(1);
  fill_normal(one, 99, 1, 5);
  cpu::set_num_threads(2);
  ASSERT_EQ(cpu::num_threads(), 2);
  fill_normal(two, 99, 1, 5);
  EXPECT_EQ(count_bit_mismatches(one, two), 0u);
}

TEST(FillNormal, SeedsAndStreamsGiveDifferentNoise) {
  constexpr std::size_t n = 4096;
  auto make = [](std::uint64_t seed, std::uint64_t stream) {
    std::vector<float> v(n);
    fill_normal(v, seed, stream);
    return v;
  };
  const std::vector<std::vector<float>> runs = {
      make(0, 0), make(1, 0), make(0, 1), make(std::uint64_t{1} << 32, 0), make(0, std::uint64_t{1} << 32)};
  EXPECT_EQ(count_bit_mismatches(runs[0], make(0, 0)), 0u);  // deterministic
  for (std::size_t a = 0; a < runs.size(); ++a) {
    for (std::size_t b = a + 1; b < runs.size(); ++b) {
      // Independent N(0,1) sequences: no equal elements expected, and a sample correlation within 5/sqrt(n).
      double dot = 0;
      for (std::size_t i = 0; i < n; ++i) dot += static_cast<double>(runs[a][i]) * runs[b][i];
      EXPECT_GT(count_bit_mismatches(runs[a], runs[b]), n - 4) << a << " vs " << b;
      EXPECT_LT(std::fabs(dot / n), 5 / std::sqrt(static_cast<double>(n))) << a << " vs " << b;
    }
  }
  // Neighbouring elements of one sequence (the two halves of a Box–Muller pair) are uncorrelated too.
  const auto z = make(5, 0);
  double dot = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) dot += static_cast<double>(z[i]) * z[i + 1];
  EXPECT_LT(std::fabs(dot / (n / 2)), 5 / std::sqrt(n / 2.0));
}

// ---------------------------------------------------------------- PyTorch CPU compatibility

std::filesystem::path torch_data_path() {
  return std::filesystem::path(SANAWM_SOURCE_DIR) / "tests" / "data" / "torch_randn.safetensors";
}

TEST(TorchRandn, BitExactAgainstStoredTorchOutput) {
  const auto file = io::safetensors_file::open(torch_data_path());
  ASSERT_TRUE(file.metadata().count("torch_version")) << "metadata lacks torch_version";
  std::size_t checked = 0;
  for (const std::string& name : file.names()) {
    const auto ref = file.read_as<float>(name);
    // name: <kernel>/s<seed>/n<n> or <kernel>/s<seed>/latent
    const auto slash1 = name.find('/'), slash2 = name.find('/', slash1 + 1);
    ASSERT_NE(slash2, std::string::npos) << name;
    const std::string kind = name.substr(0, slash1);
    const std::uint64_t seed = std::stoull(name.substr(slash1 + 2, slash2 - slash1 - 2));
    const torch_cpu_kernel kernel =
        kind == "scalar" ? torch_cpu_kernel::scalar : torch_cpu_kernel::vectorized;
    std::vector<float> got(ref.size());
    torch_randn_cpu(got, seed, kernel);
    std::size_t bad = count_bit_mismatches(got, ref);
    EXPECT_EQ(bad, 0u) << name << " (torch " << file.metadata().at("torch_version") << "): " << bad << " of "
                       << ref.size() << " differ; first got " << got[0] << " want " << ref[0];
    ++checked;
  }
  EXPECT_EQ(checked, 28u);  // 24 vec sizes + 1 latent + 3 scalar
}

TEST(TorchRandn, SeedIsTruncatedTo32Bits) {
  std::vector<float> a(100), b(100), c(7), d(7);
  torch_randn_cpu(a, (std::uint64_t{1} << 32) + 5);
  torch_randn_cpu(b, 5);
  EXPECT_EQ(count_bit_mismatches(a, b), 0u);
  torch_randn_cpu(c, (std::uint64_t{7} << 32) + 5);
  torch_randn_cpu(d, 5);
  EXPECT_EQ(count_bit_mismatches(c, d), 0u);
}

TEST(TorchRandn, IdenticalForOneAndTwoThreads) {
  thread_count_guard guard;
  for (torch_cpu_kernel k : {torch_cpu_kernel::vectorized, torch_cpu_kernel::scalar}) {
    std::vector<float> one(50'001), two(50'001);
    cpu::set_num_threads(1);
    torch_randn_cpu(one, 3, k);
    cpu::set_num_threads(2);
    torch_randn_cpu(two, 3, k);
    EXPECT_EQ(count_bit_mismatches(one, two), 0u);
  }
}

TEST(TorchRandn, KernelsAgreeToAFewUlpsAndLookNormal) {
  constexpr std::size_t n = 200'000;
  std::vector<float> v(n), s(n);
  torch_randn_cpu(v, 11, torch_cpu_kernel::vectorized);
  torch_randn_cpu(s, 11, torch_cpu_kernel::scalar);
  double max_abs = 0, s1 = 0, s2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(v[i]) - s[i]));
    s1 += v[i], s2 += static_cast<double>(v[i]) * v[i];
  }
  EXPECT_LT(max_abs, 1e-5);  // same uniforms, two float32 libms
  EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  std::vector<float> empty;
  torch_randn_cpu(empty, 1);  // n = 0: no-op
}

}  // namespace
}  // namespace sanawm

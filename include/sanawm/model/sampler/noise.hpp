// SPDX-License-Identifier: Apache-2.0
// sanawm/model/sampler/noise.hpp — reproducible Gaussian noise: sanawm's counter-based generator
// (Philox4x32-10 + float64 Box–Muller) and a bit-exact emulation of PyTorch's CPU
// torch.randn(generator=manual_seed(s)).
#pragma once

#include <cmath>    // std::sqrt, std::log, std::log1p, std::cos, std::sin, std::fma
#include <cstdint>  // std::uint32_t, std::uint64_t
#include <cstring>  // std::memcpy
#include <random>   // std::mt19937 (torch compatibility only: the standard fixes its output sequence exactly)
#include <span>     // std::span

#include "sanawm/backend/cpu/parallel.hpp"  // cpu::parallel_ranges
#include "sanawm/config.hpp"                // SANAWM_HD
#include "sanawm/core/int.hpp"              // index_t

namespace sanawm::sampler {

// ---- Philox4x32-10

/// Four 32-bit words: a Philox counter block or output block.
struct u32x4 {
  std::uint32_t v[4];
};

namespace detail {
// Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3" (SC'11): multipliers and Weyl
// key increments of Philox4x32.
inline constexpr std::uint32_t philox_m0 = 0xD2511F53u;
inline constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1

SANAWM_HD constexpr u32x4 philox4x32_round(const u32x4& c, std::uint32_t k0, std::uint32_t k1) noexcept {
  const std::uint64_t p0 = static_cast<std::uint64_t>(philox_m0) * c.v[0];
  const std::uint64_t p1 = static_cast<std::uint64_t>(philox_m1) * c.v[2];
  const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
  return u32x4{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
}
}  // namespace detail

/// Philox4x32 with `Rounds` rounds (10 is the standard, crush-resistant choice) of counter `ctr` under key
/// (k0, k1). Pure function; the published Random123 known-answer vectors hold (tests/sampler/noise_test.cpp).
template <int Rounds = 10>
SANAWM_HD constexpr u32x4 philox4x32(u32x4 ctr, std::uint32_t k0, std::uint32_t k1) noexcept {
  static_assert(Rounds >= 1 && Rounds <= 16, "philox4x32: 1..16 rounds");
  for (int r = 0; r < Rounds; ++r) {
    if (r > 0) k0 += detail::philox_w0, k1 += detail::philox_w1;
    ctr = detail::philox4x32_round(ctr, k0, k1);
  }
  return ctr;
}

// ---- sanawm's Gaussian noise generator

/// Two independent N(0, 1) samples: elements 2p and 2p+1 of the noise sequence (seed, stream).
struct normal_pair {
  float z0, z1;
};

/// Pair `p` of the sequence (seed, stream): Philox4x32-10 of counter {p_lo, p_hi, stream_lo, stream_hi} under
/// key {seed_lo, seed_hi} gives words w0..w3; a = (w1:w0) >> 12, b = (w3:w2) >> 12 (52 bits each);
/// u1 = (a + 0.5)·2^-52 and u2 = (b + 0.5)·2^-52 lie exactly in (0, 1); r = sqrt(-2 ln u1), θ = 2π·u2, all in
/// float64; z0 = float(r cos θ), z1 = float(r sin θ) (round to nearest). Every float64 step before the libm
/// calls is exact; |z| < 8.7.
SANAWM_HD inline normal_pair normal_pair_at(std::uint64_t seed, std::uint64_t stream,
                                            std::uint64_t p) noexcept {
  const u32x4 w =
      philox4x32<10>(u32x4{{static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(p >> 32),
                            static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)}},
                     static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  const std::uint64_t a = ((static_cast<std::uint64_t>(w.v[1]) << 32) | w.v[0]) >> 12;
  const std::uint64_t b = ((static_cast<std::uint64_t>(w.v[3]) << 32) | w.v[2]) >> 12;
  constexpr double two_m52 = 1.0 / 4503599627370496.0;  // 2^-52
  const double u1 = (static_cast<double>(a) + 0.5) * two_m52;
  const double u2 = (static_cast<double>(b) + 0.5) * two_m52;
  const double r = ::sqrt(-2.0 * ::log(u1));
  const double theta = 6.283185307179586476925286766559 * u2;
  return {static_cast<float>(r * ::cos(theta)), static_cast<float>(r * ::sin(theta))};
}

/// Element `i` of the noise sequence (seed, stream) — what fill_normal writes at logical index i.
SANAWM_HD inline float normal_at(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) noexcept {
  const normal_pair z = normal_pair_at(seed, stream, i >> 1);
  return (i & 1) ? z.z1 : z.z0;
}

/// Fills `out` with elements [offset, offset + out.size()) of the N(0, 1) sequence (seed, stream) (see
/// normal_pair_at). Element values depend only on (seed, stream, logical index), so a streaming sampler may
/// generate any chunk alone (offset = the chunk's first flat index) and get exactly the numbers of a one-shot
/// fill; results are identical for every thread count. Runs on the global CPU thread pool.
/// Precondition: offset + out.size() <= 2^64 (the sequence does not wrap).
inline void fill_normal(std::span<float> out, std::uint64_t seed, std::uint64_t stream = 0,
                        std::uint64_t offset = 0) {
  const auto n = static_cast<index_t>(out.size());
  float* dst = out.data();
  cpu::parallel_ranges(
      n,
      [=](index_t b, index_t e, int) {
        index_t k = b;
        std::uint64_t g = offset + static_cast<std::uint64_t>(b);  // logical index of dst[k]
        if ((g & 1) != 0 && k < e) {                               // odd start: the second half of a pair
          dst[k++] = normal_pair_at(seed, stream, g >> 1).z1;
          ++g;
        }
        for (; k + 1 < e; k += 2, g += 2) {
          const normal_pair z = normal_pair_at(seed, stream, g >> 1);
          dst[k] = z.z0;
          dst[k + 1] = z.z1;
        }
        if (k < e) dst[k] = normal_pair_at(seed, stream, g >> 1).z0;
      },
      4096);
}

// ---- PyTorch CPU compatibility

/// Which of torch's CPU normal_ kernels to reproduce (torch picks by the CPU capability it dispatches to).
enum class torch_cpu_kernel {
  /// The AVX2 / AVX-512 builds (any x86-64 CPU with AVX2, torch's default there): Box–Muller on float32 lanes
  /// with avx_mathfun's Cephes-style log256_ps / sincos256_ps, in the FMA-contracted form GCC compiles it to.
  vectorized,
  /// The DEFAULT capability (ATEN_CPU_CAPABILITY=default, CPUs without AVX2, aarch64): scalar float32
  /// Box–Muller with the C library's logf / cosf / sinf.
  scalar,
};

namespace detail {

inline float f32_from_bits(std::uint32_t u) noexcept {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline std::uint32_t f32_bits(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Cephes logf as in avx_mathfun's log256_ps, one lane, for x in (0, 1]. Written with explicit fmas exactly
// where GCC -O2 -mfma contracts the vector code (checked bit for bit against torch on 2·2^20 samples); the
// remaining products stay separate roundings.
inline float torch_avx_log(float x) noexcept {
  constexpr float min_norm_pos = 1.17549435e-38f;
  if (!(x > min_norm_pos)) x = min_norm_pos;
  const auto expo = static_cast<std::int32_t>(f32_bits(x) >> 23) - 0x7f;
  x = f32_from_bits((f32_bits(x) & ~0x7f800000u) | 0x3f000000u);  // mantissa in [0.5, 1)
  float e = static_cast<float>(expo) + 1.0f;
  const float below = x < 0.707106781186547524f ? x : 0.0f;
  x = x - 1.0f;
  if (below != 0.0f) e = e - 1.0f;
  x = x + below;
  const float z = x * x;
  float y = 7.0376836292E-2f;
  y = std::fma(y, x, -1.1514610310E-1f);
  y = std::fma(y, x, 1.1676998740E-1f);
  y = std::fma(y, x, -1.2420140846E-1f);
  y = std::fma(y, x, 1.4249322787E-1f);
  y = std::fma(y, x, -1.6668057665E-1f);
  y = std::fma(y, x, 2.0000714765E-1f);
  y = std::fma(y, x, -2.4999993993E-1f);
  y = std::fma(y, x, 3.3333331174E-1f);
  y = y * x;
  const float eq1 = e * -2.12194440e-4f;
  y = std::fma(y, z, eq1);
  y = std::fma(-z, 0.5f, y);
  const float xy = x + y;
  return std::fma(e, 0.693359375f, xy);
}

// Cephes sinf/cosf as in avx_mathfun's sincos256_ps, one lane (same contraction rule as torch_avx_log).
inline void torch_avx_sincos(float x, float& s, float& c) noexcept {
  std::uint32_t sign_sin = f32_bits(x) & 0x80000000u;
  x = f32_from_bits(f32_bits(x) & 0x7fffffffu);
  const float y4 = x * 1.27323954473516f;  // 4/π
  std::int32_t j = static_cast<std::int32_t>(y4);
  j = (j + 1) & ~1;
  const auto y = static_cast<float>(j);
  const std::uint32_t swap_sin = static_cast<std::uint32_t>(j & 4) << 29;
  const bool sin_poly = (j & 2) == 0;
  x = std::fma(y, -0.78515625f, x);
  x = std::fma(y, -2.4187564849853515625e-4f, x);
  x = std::fma(y, -3.77489497744594108e-8f, x);
  const std::uint32_t sign_cos = static_cast<std::uint32_t>(~(j - 2) & 4) << 29;
  sign_sin ^= swap_sin;
  const float z = x * x;
  float yc = 2.443315711809948E-005f;
  yc = std::fma(yc, z, -1.388731625493765E-003f);
  yc = std::fma(yc, z, 4.166664568298827E-002f);
  yc = yc * z;
  const float half_z = z * 0.5f;
  yc = std::fma(yc, z, -half_z);
  yc = yc + 1.0f;
  float ys = -1.9515295891E-4f;
  ys = std::fma(ys, z, 8.3321608736E-3f);
  ys = std::fma(ys, z, -1.6666654611E-1f);
  ys = ys * z;
  ys = std::fma(ys, x, x);
  const float sv = sin_poly ? ys : yc, cv = sin_poly ? yc : ys;
  s = f32_from_bits(f32_bits(sv) ^ sign_sin);
  c = f32_from_bits(f32_bits(cv) ^ sign_cos);
}

// torch's NormalFill16: data[0..16) holds uniforms in [0, 1); pairs (j, j + 8) become (r cos θ, r sin θ).
inline void torch_normal_fill_16(float* d, torch_cpu_kernel kernel) noexcept {
  constexpr double two_pi = 6.283185307179586476925286766559;
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - d[j];  // (0, 1]
    const float u2 = d[j + 8];
    if (kernel == torch_cpu_kernel::vectorized) {
      const float radius = std::sqrt(-2.0f * torch_avx_log(u1));
      const float theta = static_cast<float>(two_pi) * u2;
      float s, c;
      torch_avx_sincos(theta, s, c);
      d[j] = radius * c;
      d[j + 8] = radius * s;
    } else {
      const float radius = std::sqrt(-2.0f * std::log(u1));
      const auto theta = static_cast<float>(two_pi * static_cast<double>(u2));
      d[j] = radius * std::cos(theta);
      d[j + 8] = radius * std::sin(theta);
    }
  }
}

}  // namespace detail

/// Reproduces `torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)` on the
/// CPU, n = out.size(), for a contiguous tensor of any shape with n elements. torch's CPUGeneratorImpl is
/// mt19937 seeded with the low 32 bits of `seed`. For n >= 16: out[i] = (random() & (2^24 - 1))·2^-24 for
/// every i, then Box–Muller on each 16-block (u1 = 1 − out[j], u2 = out[j + 8]), and when n % 16 != 0 the
/// last 16 elements are redrawn from 16 fresh uniforms and transformed again. For n < 16:
/// at::normal_distribution<double> (53-bit uniforms u1, u2 from two 32-bit draws each, first draw high; r =
/// sqrt(−2 log1p(−u2)), θ = 2π u1; r cos θ now, r sin θ cached for the next element), rounded to float32.
/// Bit-exact against torch 2.15 on x86-64 (see docs/sampler.md for the kernel choice); sequential generation
/// of uniforms, Box–Muller blocks on the CPU thread pool.
inline void torch_randn_cpu(std::span<float> out, std::uint64_t seed,
                            torch_cpu_kernel kernel = torch_cpu_kernel::vectorized) {
  std::mt19937 engine(static_cast<std::uint32_t>(seed));
  const std::size_t n = out.size();
  if (n < 16) {
    auto uniform53 = [&engine] {
      const std::uint64_t hi = engine(), lo = engine();
      return static_cast<double>(((hi << 32) | lo) & ((std::uint64_t{1} << 53) - 1)) / 9007199254740992.0;
    };
    bool cached = false;
    double next = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (cached) {
        out[i] = static_cast<float>(next);
        cached = false;
        continue;
      }
      const double u1 = uniform53();
      const double u2 = uniform53();
      const double r = std::sqrt(-2.0 * std::log1p(-u2));
      const double theta = 2.0 * 3.14159265358979323846 * u1;
      next = r * std::sin(theta);
      cached = true;
      out[i] = static_cast<float>(r * std::cos(theta));
    }
    return;
  }
  auto uniform24 = [&engine] { return static_cast<float>(engine() & 0xFFFFFFu) * (1.0f / 16777216.0f); };
  for (float& v : out) v = uniform24();
  float* data = out.data();
  cpu::parallel_ranges(
      static_cast<index_t>(n / 16),
      [=](index_t b, index_t e, int) {
        for (index_t blk = b; blk < e; ++blk) detail::torch_normal_fill_16(data + 16 * blk, kernel);
      },
      256);
  if (n % 16 != 0) {
    float* tail = data + (n - 16);
    for (int i = 0; i < 16; ++i) tail[i] = uniform24();
    detail::torch_normal_fill_16(tail, kernel);
  }
}

}  // namespace sanawm::sampler

// SPDX-License-Identifier: Apache-2.0
// tests/vae/vae_executor_checks.hpp — the VAE with its convs on a conv_executor (backend_conv_executor<cpu_t> in
// vae_test, <cuda_t> in vae_executor_cuda_test): decode (non-causal, causal, chunked, tiled) and encode of the golden
// vae_tiny_a against the float64 reference and the CPU path, fp32 and bf16 weights.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "sanawm/io/safetensors.hpp"
#include "sanawm/model/vae/vae.hpp"

namespace sanawm::test {

inline double vae_max_rel(const float* a, const float* b, index_t n) {
  double d = 0, r = 0;
  for (index_t i = 0; i < n; ++i) {
    const double e = std::abs(double(a[i]) - double(b[i]));
    d = std::isfinite(e) ? std::max(d, e) : INFINITY;
    r = std::max(r, std::abs(double(b[i])));
  }
  return r > 0 ? d / r : d;
}

/// `weights` and `io` are the golden vae_tiny_a files; `exec` the executor under test.
inline void check_vae_conv_executor(const vae::vae_weights& weights, const io::safetensors_file& io,
                                    vae::conv_executor& exec) {
  using tensor5 = tensor<float, dextents<5>>;
  auto read5 = [&](const char* name) {
    const auto& t = io.at(name);
    tensor5 out(dextents<5>(t.shape[0], t.shape[1], t.shape[2], t.shape[3], t.shape[4]));
    const auto v = io.read_as<float>(name);
    std::copy(v.begin(), v.end(), out.begin());
    return out;
  };
  const tensor5 z = read5("decode.latent");
  for (bool causal : {false, true}) {
    vae::decode_options o;
    o.causal = causal;
    const tensor5 cpu = vae::decode(weights, z.view(), o);
    o.executor = &exec;
    const tensor5 got = vae::decode(weights, z.view(), o);
    const auto ref = io.read_as<double>(causal ? "decode_causal.video_f64" : "decode.video_f64");
    double d = 0, r = 0;
    for (std::size_t i = 0; i < ref.size(); ++i)
      d = std::max(d, std::abs(double(got.data()[i]) - ref[i])), r = std::max(r, std::abs(ref[i]));
    const double vs_cpu = vae_max_rel(got.data(), cpu.data(), cpu.size());
    std::printf("  executor decode (%s): rel %.3g to f64, %.3g to the CPU path\n", causal ? "causal" : "non-causal",
                d / r, vs_cpu);
    EXPECT_LE(d / r, 5e-5);
    EXPECT_LE(vs_cpu, 1e-5);
    o.chunk_frames = 1;  // streamed a latent frame at a time: the conv histories go through the executor too
    const tensor5 chunked = vae::decode(weights, z.view(), o);
    EXPECT_LE(vae_max_rel(chunked.data(), cpu.data(), cpu.size()), 1e-5);
  }
  // Spatial tiling: a 6x6 latent in 4x4 tiles at stride 3 (every tile's stream runs on the executor).
  tensor5 big(dextents<5>(1, weights.config.latent_channels, 2, 6, 6));
  for (index_t i = 0; i < big.size(); ++i) big.data()[i] = static_cast<float>(std::sin(0.37 * double(i)));
  vae::decode_options t;
  t.tiling = {4, 3};
  const tensor5 tiled_cpu = vae::decode(weights, big.view(), t);
  t.executor = &exec;
  const tensor5 tiled = vae::decode(weights, big.view(), t);
  EXPECT_LE(vae_max_rel(tiled.data(), tiled_cpu.data(), tiled_cpu.size()), 1e-5) << "tiled";
  const tensor5 video = read5("encode.video");
  vae::encode_options eo;
  const vae::posterior pc = vae::encode(weights, video.view(), eo);
  eo.executor = &exec;
  const vae::posterior pe = vae::encode(weights, video.view(), eo);
  const double enc = vae_max_rel(pe.mean.data(), pc.mean.data(), pc.mean.size());
  std::printf("  executor encode: rel %.3g to the CPU path\n", enc);
  EXPECT_LE(enc, 1e-5);
}

/// bf16 weights: the executor multiplies bf16-rounded activations (the implicit GEMM's bf16 compute mode). The CPU
/// path rounds at other points where it runs by Winograd (the transformed tiles and weights), so both are checked
/// at bf16 accuracy: against the float64 reference and against each other.
inline void check_vae_conv_executor_bf16(vae::vae_weights weights, const io::safetensors_file& io,
                                         vae::conv_executor& exec) {
  vae::convert_to_bf16(weights);
  const auto& t = io.at("decode.latent");
  tensor<float, dextents<5>> z(dextents<5>(t.shape[0], t.shape[1], t.shape[2], t.shape[3], t.shape[4]));
  const auto v = io.read_as<float>("decode.latent");
  std::copy(v.begin(), v.end(), z.begin());
  const auto cpu = vae::decode(weights, z.view());
  vae::decode_options o;
  o.executor = &exec;
  const auto got = vae::decode(weights, z.view(), o);
  const double rel = vae_max_rel(got.data(), cpu.data(), cpu.size());
  const auto ref64 = io.read_as<double>("decode.video_f64");
  std::vector<float> ref(ref64.begin(), ref64.end());
  const double to_ref = vae_max_rel(got.data(), ref.data(), static_cast<index_t>(ref.size()));
  std::printf("  executor bf16 decode: rel %.3g to f64, %.3g to the CPU bf16 path\n", to_ref, rel);
  EXPECT_LE(to_ref, 2e-2);  // bf16 products through ~14 convs (the CPU bf16 path: 9e-3, Bf16WeightsDecodeAndEncode)
  EXPECT_LE(rel, 2e-2);
  EXPECT_GT(to_ref, 1e-5) << "the executor should have used bf16 products";
}

}  // namespace sanawm::test

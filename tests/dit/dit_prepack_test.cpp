// SPDX-License-Identifier: Apache-2.0
// tests/dit/dit_prepack_test.cpp — pack_for_cpu: the forward with the weights packed ahead equals the unpacked
// forward bit for bit (fp32 and bf16, all three modes, streaming caches), releases the row-major weights, moves
// NVFP4 layers to the W4A16 panel layout, and refuses a forward whose compute mode differs from the one the weights were packed for.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "dit_common.hpp"
#include "sanawm/model/dit/prepack.hpp"
#include "sanawm/model/dit/quantize.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::dit;

dit_weights load_golden_tiny(weight_dtype dt) {
  dit_load_options lo;
  lo.dtype = dt;
  return load_dit(golden_dir() / "dit_tiny_a.weights.safetensors", lo);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(DitPrepack, PackedForwardIsBitIdentical) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a_chunk_causal.io.safetensors");
  const dit_inputs in = inputs_from(io);
  for (const weight_dtype dt : {weight_dtype::f32, weight_dtype::bf16}) {
    for (const bool bf16_act : {false, true}) {
      const dit_weights plain = load_golden_tiny(dt);
      dit_weights packed = plain;
      const pack_report rep = pack_for_cpu(packed, bf16_act);
      // 8 top-level linears + per block 14 linears (+ plucker_proj where present) + 3 t_conv taps.
      EXPECT_GE(rep.layers, 8 + 17 * packed.config.depth);
      EXPECT_GE(rep.bytes_after, rep.bytes_before);  // N is padded to the register tile, nothing is dropped
      EXPECT_TRUE(packed.blocks[0].attn.qkv.weight.empty()) << "the row-major weight must be released";
      EXPECT_TRUE(packed.blocks[0].mlp.t_conv.empty());
      EXPECT_EQ(pack_for_cpu(packed, bf16_act).layers, 0) << "packing twice must be a no-op";
      for (const dit_mode mode : {dit_mode::bidirectional, dit_mode::chunk_causal}) {
        forward_options opt;
        opt.mode = mode;
        opt.bf16_activations = bf16_act;
        EXPECT_TRUE(same_bits(dit_forward(plain, in, opt), dit_forward(packed, in, opt)))
            << "dtype " << int(dt) << " bf16_act " << bf16_act << " mode " << int(mode);
      }
      // Streaming: caches written through packed weights (t_conv left context included) equal the unpacked ones.
      stream_state sa, sb;
      forward_options so;
      so.bf16_activations = bf16_act;
      const index_t cin = plain.config.in_channels, pc = plain.config.plucker_channels;
      for (const auto& [f, n] : {std::pair<index_t, index_t>{0, 4}, {4, 3}}) {
        const dit_inputs s = slice_frames(in, f, n, cin, pc);
        EXPECT_TRUE(same_bits(dit_forward_stream(plain, sa, s, true, so), dit_forward_stream(packed, sb, s, true, so)))
            << "streaming chunk at frame " << f;
      }
    }
  }
}

TEST(DitPrepack, ComputeModeMismatchIsAnError) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a.io.safetensors");
  dit_weights w = load_golden_tiny(weight_dtype::bf16);
  pack_for_cpu(w, /*bf16_activations=*/true);
  forward_options opt;  // an fp32 forward on weights packed for bf16 products
  try {
    (void)dit_forward(w, inputs_from(io), opt);
    ADD_FAILURE() << "expected an error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("was packed for bf16 compute"), std::string::npos) << e.what();
  }
  // fp32 weights pack the same way for both settings, so either forward runs.
  dit_weights f = load_golden_tiny(weight_dtype::f32);
  pack_for_cpu(f, true);
  opt.bf16_activations = false;
  EXPECT_NO_THROW((void)dit_forward(f, inputs_from(io), opt));
}

TEST(DitPrepack, QuantiseFirstThenPack) {
  SANAWM_REQUIRE_GOLDEN();
  const auto io = io::safetensors_file::open(golden_dir() / "dit_tiny_a.io.safetensors");
  dit_weights q = load_golden_tiny(weight_dtype::f32);
  quantize_nvfp4(q);
  dit_weights qp = q;
  pack_for_cpu(qp, true);
  const linear_w& qkv = qp.blocks[0].attn.qkv;
  EXPECT_TRUE(qkv.nvfp4_prep && !qkv.nvfp4 && !qkv.packed) << "NVFP4 layers move to the W4A16 panel layout";
  EXPECT_EQ(qkv.nvfp4_prep->storage_bytes(), q.blocks[0].attn.qkv.nvfp4->storage_bytes()) << "same bytes";
  EXPECT_TRUE(qp.blocks[0].attn.q_proj_cam.packed) << "native layers are packed";
  EXPECT_EQ(quantize_nvfp4(qp).layers.size(), 0u) << "re-quantising a prepared model is a no-op";
  forward_options opt;
  opt.bf16_activations = true;
  // The panel kernel sums each 16-k block before scaling it: equal to the view kernel up to fp32 rounding.
  const auto a = dit_forward(q, inputs_from(io), opt), b = dit_forward(qp, inputs_from(io), opt);
  ASSERT_EQ(a.size(), b.size());
  double worst = 0, mag = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a[i]) - b[i]));
    mag = std::max(mag, std::abs(double(a[i])));
  }
  EXPECT_LE(worst, 1e-4 * mag) << "max |diff| " << worst << " of max |y| " << mag;
  // The other order has nothing left to quantise: a clear error, not a crash.
  dit_weights p = load_golden_tiny(weight_dtype::f32);
  pack_for_cpu(p, false);
  try {
    quantize_nvfp4(p);
    ADD_FAILURE() << "expected an error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("quantise before packing"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sanawm::test

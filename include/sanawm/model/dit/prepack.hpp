// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/prepack.hpp — packs a loaded DiT's GEMM weights once into the CPU GEMM's panel layout, so the
// forward stops re-packing every weight on every call (the dominant cost of short forwards: a third of the
// 24-token golden forward, most of a 4-step streaming chunk's GEMM overhead at small token counts).
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/dit/prepack.hpp: host-only header (CPU GEMM panels); include it from host code only"
#endif

#include <cstddef>
#include <memory>
#include <vector>

#include "sanawm/kernels/gemm/gemm_cpu.hpp"    // cpu::pack_gemm_b, packed_gemm_b
#include "sanawm/kernels/nvfp4/nvfp4_cpu.hpp"  // nvfp4_prepare: quantised layers into the W4A16 panel layout
#include "sanawm/model/dit/ops.hpp"          // t_conv_tap_matrices, t_conv_compute
#include "sanawm/model/dit/weights.hpp"      // dit_weights, linear_w

namespace sanawm::dit {

struct pack_report {
  index_t layers = 0;            ///< GEMM operands packed (a t_conv counts three: one per tap)
  std::size_t bytes_before = 0;  ///< their row-major bytes
  std::size_t bytes_after = 0;   ///< their packed bytes (N padded to the register tile; t_conv fp32 taps stay fp32)
};

/// Packs every linear layer of `w` (NVFP4-quantised ones into the W4A16 panel layout, the others into GEMM panels),
/// and every FFN t_conv, for forwards with
/// `bf16_activations` (forward_options::bf16_activations: the packed compute mode is the one ops::linear picks,
/// bf16 products for bf16 weights in a bf16 forward, fp32 otherwise), and releases the row-major weights: memory
/// stays the same, and results are bit-identical to the unpacked forward (NVFP4 layers: equal up to the fp32
/// summation order of the panel kernel). A forward with the other
/// bf16_activations setting then fails with a clear error. Quantise (quantize_nvfp4) before packing: the packed
/// layers have no row-major weight left to quantise. Idempotent for layers already packed.
inline pack_report pack_for_cpu(dit_weights& w, bool bf16_activations) {
  pack_report rep;
  auto release = [](param& p) {
    std::vector<float>().swap(p.f32);
    std::vector<bf16>().swap(p.b16);
  };
  auto pack_linear = [&](linear_w& l) {
    if (l.nvfp4) {  // quantised: the W4A16 panel layout, same bytes, replaces the row-major codes
      auto prep = nvfp4_prepare(cpu_t{}, *l.nvfp4);
      rep.bytes_before += static_cast<std::size_t>(l.nvfp4->storage_bytes());
      rep.bytes_after += static_cast<std::size_t>(prep.storage_bytes());
      ++rep.layers;
      l.nvfp4_prep = std::make_shared<const nvfp4_prepared>(std::move(prep));
      l.nvfp4.reset();
      return;
    }
    if (l.nvfp4_prep || l.packed || l.weight.empty()) return;  // done, or absent (e.g. no plucker_proj)
    param& p = l.weight;
    const bool b16 = p.f32.empty();
    const gemm_compute c = bf16_activations && b16 ? gemm_compute::bf16 : gemm_compute::fp32;
    auto packed = b16 ? cpu::pack_gemm_b(p.b16.data(), l.out, l.in, l.in, c)
                      : cpu::pack_gemm_b(p.f32.data(), l.out, l.in, l.in, c);
    rep.bytes_before += static_cast<std::size_t>(p.numel()) * (b16 ? sizeof(bf16) : sizeof(float));
    rep.bytes_after += packed.bytes();
    ++rep.layers;
    l.packed = std::make_shared<const cpu::packed_gemm_b>(std::move(packed));
    release(p);
  };
  auto pack_t_conv = [&](mlp_w& m) {
    if (m.t_conv_taps[0] || m.t_conv.empty()) return;
    const index_t C = w.config.hidden;
    const gemm_compute c = ops::t_conv_compute(m.t_conv, bf16_activations);
    const bool b16 = m.t_conv.f32.empty();
    auto pack_taps = [&](const auto& wt) {
      for (index_t k = 0; k < 3; ++k) {
        auto packed = cpu::pack_gemm_b(wt.data() + k * C * C, C, C, C, c);
        rep.bytes_after += packed.bytes();
        m.t_conv_taps[k] = std::make_shared<const cpu::packed_gemm_b>(std::move(packed));
      }
    };
    if (b16) pack_taps(ops::t_conv_tap_matrices<bf16>(m.t_conv, C));
    else pack_taps(ops::t_conv_tap_matrices<float>(m.t_conv, C));
    rep.bytes_before += static_cast<std::size_t>(m.t_conv.numel()) * (b16 ? sizeof(bf16) : sizeof(float));
    rep.layers += 3;
    release(m.t_conv);
  };
  for (linear_w* l : {&w.x_embedder, &w.t_mlp0, &w.t_mlp2, &w.t_block, &w.y_fc1, &w.y_fc2, &w.plucker_embedder,
                      &w.final_linear})
    pack_linear(*l);
  for (block_w& b : w.blocks) {
    attn_w& a = b.attn;
    for (linear_w* l : {&a.qkv, &a.proj, &a.beta_proj, &a.gate_proj, &a.output_gate, &a.q_proj_cam, &a.k_proj_cam,
                        &a.v_proj_cam, &a.out_proj_cam, &b.cross.q_linear, &b.cross.kv_linear, &b.cross.proj,
                        &b.mlp.inverted_conv, &b.mlp.point_conv, &b.plucker_proj})
      pack_linear(*l);
    pack_t_conv(b.mlp);
  }
  return rep;
}

}  // namespace sanawm::dit

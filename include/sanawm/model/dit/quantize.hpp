// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/quantize.hpp — NVFP4 weight quantisation of a loaded DiT: upstream's stage-1 layer set
// (`--stage1_precision fp4`, mode self_attn+cross+ffn) packed to E2M1 codes + E4M3 block scales, after which
// ops::linear runs those layers through the W4A16 GEMM (weights decoded in the micro-kernel, bf16 activations).
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/dit/quantize.hpp: host-only header (quantises host DiT weights); include it from host code only"
#endif

#include <memory>
#include <string>
#include <vector>

#include "sanawm/kernels/nvfp4/nvfp4_cpu.hpp"
#include "sanawm/model/dit/weights.hpp"

namespace sanawm::dit {

/// Which linear layers to quantise.
enum class nvfp4_layers : std::uint8_t {
  /// Upstream's stage-1 set: blocks.*.attn.{qkv, proj, beta_proj, gate_proj, output_gate}, blocks.*.cross_attn.*
  /// linears, blocks.*.mlp.{inverted_conv, point_conv}. The camera branch, plucker_proj, t_conv, the depthwise conv,
  /// the embedders, t_block and the final layer stay in native precision ("camera/action conditioning math stays
  /// in native precision and action-following is preserved").
  self_attn_cross_ffn,
  /// Every linear layer of the blocks, camera branch and plucker_proj included (upstream's `all`: "visible quality
  /// loss").
  all_blocks,
};

struct nvfp4_quantize_report {
  std::vector<std::string> layers;  ///< weight keys quantised
  index_t bytes_before = 0, bytes_after = 0;
};

/// Quantises the selected linear layers of `w` in place (RNE by default; `opt` enables the RHT / stochastic
/// rounding of the NVFP4 recipe) and releases their fp32/bf16 weights.
inline nvfp4_quantize_report quantize_nvfp4(dit_weights& w, nvfp4_layers set = nvfp4_layers::self_attn_cross_ffn,
                                            const nvfp4_options& opt = {}) {
  nvfp4_quantize_report rep;
  auto q = [&](linear_w& l) {
    if (l.nvfp4 || l.nvfp4_prep) return;
    param& p = l.weight;
    if (l.packed)
      throw make_error("nvfp4", "layer '", p.key, "' was packed for the CPU GEMM (pack_for_cpu); quantise before packing");
    if (p.empty()) throw make_error("nvfp4", "layer '", p.key, "' has no weights to quantise");
    if (l.in % nvfp4_block != 0)
      throw make_error("nvfp4", "layer '", p.key, "' has K = ", l.in, ", not a multiple of the NVFP4 block (16)");
    const index_t before = p.numel() * static_cast<index_t>(p.f32.empty() ? sizeof(bf16) : sizeof(float));
    nvfp4_tensor t = p.f32.empty() ? nvfp4_quantize(cpu_t{}, p.b16.data(), l.out, l.in, l.in, opt)
                                   : nvfp4_quantize(cpu_t{}, p.f32.data(), l.out, l.in, l.in, opt);
    rep.bytes_before += before;
    rep.bytes_after += t.storage_bytes();
    l.nvfp4 = std::make_shared<const nvfp4_tensor>(std::move(t));
    std::vector<float>().swap(p.f32);
    std::vector<bf16>().swap(p.b16);
    rep.layers.push_back(p.key);
  };
  for (block_w& b : w.blocks) {
    attn_w& a = b.attn;
    for (linear_w* l : {&a.qkv, &a.proj, &a.beta_proj, &a.gate_proj, &a.output_gate}) q(*l);
    for (linear_w* l : {&b.cross.q_linear, &b.cross.kv_linear, &b.cross.proj}) q(*l);
    q(b.mlp.inverted_conv);
    q(b.mlp.point_conv);
    if (set == nvfp4_layers::all_blocks) {
      for (linear_w* l : {&a.q_proj_cam, &a.k_proj_cam, &a.v_proj_cam, &a.out_proj_cam}) q(*l);
      if (!b.plucker_proj.weight.key.empty()) q(b.plucker_proj);
    }
  }
  return rep;
}

}  // namespace sanawm::dit

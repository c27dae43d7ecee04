// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/refs.hpp — the DiT's parameters as plain host pointers (no containers, no sanawm/io): what the
// backend engine (engine.hpp) uploads. Built from loaded weights by refs_of (weights.hpp, host code); translation
// units compiled by nvcc see only this header, so the loader stays host-only. Portable (g++ and nvcc).
#pragma once

#include <vector>

#include "sanawm/core/bf16.hpp"         // bf16
#include "sanawm/core/int.hpp"          // index_t
#include "sanawm/model/dit/config.hpp"  // dit_config, block_kind

namespace sanawm::dit {

/// One parameter held in fp32 or bf16 (exactly one pointer set, `n` elements), C order as upstream stores it.
struct tensor_ref {
  const float* f32 = nullptr;
  const bf16* b16 = nullptr;
  index_t n = 0;
  bool empty() const noexcept { return n == 0; }
  float operator[](index_t i) const noexcept { return f32 ? f32[i] : b16[i].to_float(); }
};

/// A linear layer: weight [out, in] (trailing unit dims of 1×1 convs dropped), bias [out] or empty.
struct linear_ref {
  tensor_ref weight, bias;
  index_t out = 0, in = 0;
};

struct attn_ref {
  linear_ref qkv, proj, beta_proj, gate_proj, output_gate, q_proj_cam, k_proj_cam, v_proj_cam, out_proj_cam;
  tensor_ref q_norm, k_norm, q_norm_cam, k_norm_cam, A_log, dt_bias;
  tensor_ref conv_k, conv_k_cam;  ///< [C, 1, K]; GDN blocks only
};
struct cross_ref {
  linear_ref q_linear, kv_linear, proj;
  tensor_ref q_norm, k_norm;
};
struct mlp_ref {
  linear_ref inverted_conv, point_conv;
  tensor_ref depth_w, depth_b;  ///< [2F, 1, 3, 3], [2F]
  tensor_ref t_conv;            ///< [C, C, 3, 1]
};
struct block_ref {
  block_kind kind = block_kind::gdn;
  tensor_ref scale_shift_table;  ///< [6, C]
  linear_ref plucker_proj;       ///< empty past config.plucker_blocks
  attn_ref attn;
  cross_ref cross;
  mlp_ref mlp;
};

/// The whole DiT, fields named after the upstream modules (as dit_weights). The pointed-to values must outlive
/// whatever reads them (an engine copies them at construction).
struct dit_refs {
  dit_config config;
  linear_ref x_embedder, t_mlp0, t_mlp2, t_block, y_fc1, y_fc2, plucker_embedder, final_linear;
  tensor_ref attention_y_norm, final_scale_shift_table;
  std::vector<block_ref> blocks;
};

}  // namespace sanawm::dit

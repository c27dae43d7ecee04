// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/weights.hpp — the SANA-WM DiT module tree keyed by upstream state-dict names, strict binding
// from safetensors (single or sharded) with a missing/unexpected/mis-shaped report, fp32 → bf16 at load, and
// the config reader for checkpoint metadata / config JSON.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/dit/weights.hpp: host-only header (uses sanawm/io); include it from host code only"
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/core/bf16.hpp"
#include "sanawm/core/error.hpp"
#include "sanawm/io/json.hpp"
#include "sanawm/io/safetensors.hpp"
#include "sanawm/io/torch_pt.hpp"
#include "sanawm/kernels/nvfp4/nvfp4.hpp"  // nvfp4_tensor (quantised linear weights)
#include "sanawm/model/dit/config.hpp"
#include "sanawm/model/dit/refs.hpp"  // dit_refs (refs_of)

namespace sanawm::cpu {
class packed_gemm_b;  // kernels/gemm/gemm_cpu.hpp: a GEMM B operand packed ahead (model/dit/prepack.hpp)
}
namespace sanawm {
struct nvfp4_prepared;  // kernels/nvfp4/nvfp4_cpu.hpp: an NVFP4 weight in the W4A16 kernels' panel layout
}

namespace sanawm::dit {

/// Storage precision of the compute weights.
enum class weight_dtype : std::uint8_t { f32, bf16 };

/// One parameter: its checkpoint key and shape, values held in fp32 or bf16 (one of the two vectors is used).
struct param {
  std::string key;
  std::vector<index_t> shape;
  std::vector<float> f32;
  std::vector<sanawm::bf16> b16;

  bool empty() const noexcept { return f32.empty() && b16.empty(); }
  index_t numel() const noexcept {
    index_t n = 1;
    for (index_t d : shape) n *= d;
    return n;
  }
  /// Element i as float (bf16 widened exactly).
  float operator[](index_t i) const noexcept {
    return f32.empty() ? b16[static_cast<std::size_t>(i)].to_float() : f32[static_cast<std::size_t>(i)];
  }
  /// Copies row r of a [rows, cols] view of the parameter into out (fp32).
  void row(index_t r, index_t cols, float* out) const noexcept {
    const std::size_t off = static_cast<std::size_t>(r * cols);
    if (!f32.empty()) {
      std::memcpy(out, f32.data() + off, static_cast<std::size_t>(cols) * sizeof(float));
    } else {
      for (index_t c = 0; c < cols; ++c) out[c] = b16[off + static_cast<std::size_t>(c)].to_float();
    }
  }
};

/// A Linear (weight [out, in] — 1×1 convs keep their trailing unit dims in `shape`) with optional bias. After
/// quantize_nvfp4 (model/dit/quantize.hpp) the weight lives in `nvfp4` (packed E2M1 codes + E4M3 block scales)
/// and `weight` keeps only its key and shape.
struct linear_w {
  param weight, bias;
  index_t out = 0, in = 0;
  bool has_bias = true;
  std::shared_ptr<const nvfp4_tensor> nvfp4;
  /// After pack_for_cpu (model/dit/prepack.hpp): the weight in the CPU GEMM's panel layout; `weight` then keeps
  /// only its key and shape.
  std::shared_ptr<const cpu::packed_gemm_b> packed;
  /// After pack_for_cpu on a quantised layer: the NVFP4 weight re-arranged for the W4A16 panel kernel (same
  /// bytes); `nvfp4` is then released.
  std::shared_ptr<const nvfp4_prepared> nvfp4_prep;
};

/// blocks.{i}.attn: main branch (GDN or softmax) + UCPE camera branch + output gate + proj.
struct attn_w {
  linear_w qkv, proj, beta_proj, gate_proj, output_gate;
  linear_w q_proj_cam, k_proj_cam, v_proj_cam, out_proj_cam;
  param q_norm, k_norm, q_norm_cam, k_norm_cam, A_log, dt_bias;
  param conv_k, conv_k_cam;  ///< [C, 1, K]; GDN blocks only
};

/// blocks.{i}.cross_attn.
struct cross_w {
  linear_w q_linear, kv_linear, proj;
  param q_norm, k_norm;
};

/// blocks.{i}.mlp (GLUMBConvTemp).
struct mlp_w {
  linear_w inverted_conv;  ///< [2F, C, 1, 1] + bias
  param depth_w, depth_b;  ///< depth_conv.conv: [2F, 1, 3, 3], [2F]
  linear_w point_conv;     ///< [C, F, 1, 1], no bias
  param t_conv;            ///< [C, C, 3, 1], no bias
  /// After pack_for_cpu: t_conv's three taps W[:, :, k] as packed [C, C] GEMM operands (t_conv then keeps only
  /// its key and shape).
  std::shared_ptr<const cpu::packed_gemm_b> t_conv_taps[3];
};

struct block_w {
  block_kind kind = block_kind::gdn;
  param scale_shift_table;  ///< [6, C]
  linear_w plucker_proj;    ///< absent past plucker_blocks
  attn_w attn;
  cross_w cross;
  mlp_w mlp;
};

/// The whole DiT, fields named after the upstream modules.
struct dit_weights {
  dit_config config;
  weight_dtype dtype = weight_dtype::f32;
  linear_w x_embedder, t_mlp0, t_mlp2, t_block, y_fc1, y_fc2, plucker_embedder, final_linear;
  param attention_y_norm, final_scale_shift_table;
  std::vector<block_w> blocks;
};

/// What a strict load found; `ok()` when nothing is missing, mis-shaped or unexpected.
struct load_report {
  std::vector<std::string> missing, unexpected, mis_shaped, ignored;
  std::size_t loaded = 0;
  bool ok() const noexcept { return missing.empty() && unexpected.empty() && mis_shaped.empty(); }
  /// Readable multi-line summary (at most 20 names per list).
  std::string str() const {
    std::string s = str_cat(loaded, " tensors bound");
    auto list = [&s](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      s += str_cat("; ", v.size(), " ", what, ":");
      for (std::size_t i = 0; i < v.size() && i < 20; ++i) s += str_cat("\n  ", v[i]);
      if (v.size() > 20) s += str_cat("\n  ... and ", v.size() - 20, " more");
    };
    list("missing", missing);
    list("mis-shaped", mis_shaped);
    list("unexpected", unexpected);
    return s;
  }
};

namespace detail {

/// One binding: key, expected shape, destination.
struct binding {
  std::string key;
  std::vector<index_t> shape;
  param* dst;
};

inline void bind_linear(std::vector<binding>& b, const std::string& name, linear_w& l, index_t out, index_t in,
                        bool bias, std::vector<index_t> trailing = {}) {
  l.out = out, l.in = in, l.has_bias = bias;
  std::vector<index_t> ws{out, in};
  ws.insert(ws.end(), trailing.begin(), trailing.end());
  b.push_back({name + ".weight", ws, &l.weight});
  if (bias) b.push_back({name + ".bias", {out}, &l.bias});
}

/// The full key → shape → field table of `w` for w.config (blocks sized first).
inline std::vector<binding> bindings(dit_weights& w) {
  const dit_config& c = w.config;
  const index_t C = c.hidden, H = c.heads(), F = c.ffn_hidden();
  std::vector<binding> b;
  bind_linear(b, "x_embedder.proj", w.x_embedder, C, c.in_channels, true, {1, 1, 1});
  bind_linear(b, "t_embedder.mlp.0", w.t_mlp0, C, c.timestep_freq_dim, true);
  bind_linear(b, "t_embedder.mlp.2", w.t_mlp2, C, C, true);
  bind_linear(b, "t_block.1", w.t_block, 6 * C, C, true);
  bind_linear(b, "y_embedder.y_proj.fc1", w.y_fc1, C, c.caption_channels, true);
  bind_linear(b, "y_embedder.y_proj.fc2", w.y_fc2, C, C, true);
  b.push_back({"attention_y_norm.weight", {C}, &w.attention_y_norm});
  bind_linear(b, "plucker_embedder.proj", w.plucker_embedder, C, c.plucker_channels, true, {1, 1, 1});
  bind_linear(b, "final_layer.linear", w.final_linear, c.in_channels, C, true);
  b.push_back({"final_layer.scale_shift_table", {2, C}, &w.final_scale_shift_table});
  w.blocks.resize(static_cast<std::size_t>(c.depth));
  for (index_t i = 0; i < c.depth; ++i) {
    block_w& k = w.blocks[static_cast<std::size_t>(i)];
    k.kind = c.kind(i);
    const std::string p = str_cat("blocks.", i, ".");
    b.push_back({p + "scale_shift_table", {6, C}, &k.scale_shift_table});
    if (c.has_plucker_proj(i)) bind_linear(b, p + "plucker_proj", k.plucker_proj, C, C, true);
    attn_w& a = k.attn;
    bind_linear(b, p + "attn.qkv", a.qkv, 3 * C, C, false);
    bind_linear(b, p + "attn.proj", a.proj, C, C, true);
    bind_linear(b, p + "attn.beta_proj", a.beta_proj, H, C, true);
    bind_linear(b, p + "attn.gate_proj", a.gate_proj, H, C, true);
    bind_linear(b, p + "attn.output_gate", a.output_gate, C, C, true);
    bind_linear(b, p + "attn.q_proj_cam", a.q_proj_cam, C, C, true);
    bind_linear(b, p + "attn.k_proj_cam", a.k_proj_cam, C, C, true);
    bind_linear(b, p + "attn.v_proj_cam", a.v_proj_cam, C, C, true);
    bind_linear(b, p + "attn.out_proj_cam", a.out_proj_cam, C, C, true);
    b.push_back({p + "attn.q_norm.weight", {C}, &a.q_norm});
    b.push_back({p + "attn.k_norm.weight", {C}, &a.k_norm});
    b.push_back({p + "attn.q_norm_cam.weight", {C}, &a.q_norm_cam});
    b.push_back({p + "attn.k_norm_cam.weight", {C}, &a.k_norm_cam});
    b.push_back({p + "attn.A_log", {H}, &a.A_log});
    b.push_back({p + "attn.dt_bias", {H}, &a.dt_bias});
    if (k.kind == block_kind::gdn) {
      b.push_back({p + "attn.conv_k.weight", {C, 1, c.conv_kernel}, &a.conv_k});
      b.push_back({p + "attn.conv_k_cam.weight", {C, 1, c.conv_kernel}, &a.conv_k_cam});
    }
    cross_w& x = k.cross;
    bind_linear(b, p + "cross_attn.q_linear", x.q_linear, C, C, true);
    bind_linear(b, p + "cross_attn.kv_linear", x.kv_linear, 2 * C, C, true);
    bind_linear(b, p + "cross_attn.proj", x.proj, C, C, true);
    b.push_back({p + "cross_attn.q_norm.weight", {C}, &x.q_norm});
    b.push_back({p + "cross_attn.k_norm.weight", {C}, &x.k_norm});
    mlp_w& m = k.mlp;
    bind_linear(b, p + "mlp.inverted_conv.conv", m.inverted_conv, 2 * F, C, true, {1, 1});
    b.push_back({p + "mlp.depth_conv.conv.weight", {2 * F, 1, 3, 3}, &m.depth_w});
    b.push_back({p + "mlp.depth_conv.conv.bias", {2 * F}, &m.depth_b});
    bind_linear(b, p + "mlp.point_conv.conv", m.point_conv, C, F, false, {1, 1});
    b.push_back({p + "mlp.t_conv.weight", {C, C, c.t_kernel, 1}, &m.t_conv});
  }
  return b;
}

/// Keys the released checkpoints carry that this forward does not use: the null caption embedding, the
/// absolute raymap embedder (skipped when Plücker post-attention injection is on), recall gates, pos_embed.
inline bool is_ignored_key(std::string_view k) {
  auto ends = [&](std::string_view s) { return k.size() >= s.size() && k.substr(k.size() - s.size()) == s; };
  return k == "pos_embed" || k == "y_embedder.y_embedding" || k.starts_with("raymap_embedder.") ||
         (k.starts_with("blocks.") && ends(".attn.recall_gate"));
}

}  // namespace detail

/// Any tensor source with the safetensors_index / safetensors_file interface (contains, at, names).
template <class Source>
load_report bind_weights(dit_weights& w, const Source& src, weight_dtype dtype, bool strict = true) {
  w.config.validate();
  w.dtype = dtype;
  load_report rep;
  std::vector<detail::binding> table = detail::bindings(w);
  std::set<std::string, std::less<>> bound;
  for (detail::binding& b : table) {
    bound.insert(b.key);
    b.dst->key = b.key;
    b.dst->shape = b.shape;
    if (!src.contains(b.key)) {
      rep.missing.push_back(b.key);
      continue;
    }
    const io::st_tensor& t = src.at(b.key);
    if (t.shape != b.shape) {
      rep.mis_shaped.push_back(str_cat(b.key, ": file ", io::shape_string(t.shape), ", model ",
                                       io::shape_string(b.shape)));
      continue;
    }
    // Converted straight from the mapping, one tensor at a time: peak memory is the compute weights plus the
    // (file-backed, reclaimable) mapped pages, never a second anonymous copy of the checkpoint.
    const std::size_t n = static_cast<std::size_t>(t.numel());
    const std::string ctx = str_cat(src.label_for_errors(), ": tensor '", b.key, "'");
    if (dtype == weight_dtype::f32) {
      b.dst->f32.resize(n);
      b.dst->b16.clear();
      io::convert_elements<float>(t.dtype, t.data, n, b.dst->f32.data(), "dit", ctx);
    } else {
      b.dst->b16.resize(n);
      b.dst->f32.clear();
      io::convert_elements<sanawm::bf16>(t.dtype, t.data, n, b.dst->b16.data(), "dit", ctx);
    }
    // The file's pages of this tensor are no longer needed: peak RSS stays at the compute weights.
    if constexpr (requires { src.drop_pages(b.key); }) src.drop_pages(b.key);
    ++rep.loaded;
  }
  for (const std::string& k : src.names()) {
    if (bound.count(k)) continue;
    (detail::is_ignored_key(k) ? rep.ignored : rep.unexpected).push_back(k);
  }
  if (strict && !rep.ok()) throw make_error("dit", "checkpoint does not match the model: ", rep.str());
  return rep;
}

/// A randomly initialised DiT for `c` (fp32): every parameter drawn from a seeded splitmix64 stream with the golden
/// tiny model's recipe (shared/golden/README.md) — matrices N(0,1)/√fan_in, biases 0.1·N, RMSNorm weights 1 + 0.2·N,
/// scale-shift tables N/√C, A_log = log U(0.3, 2), dt_bias −1 + 0.5·N, beta bias 1 + 0.5·N, gate weights 0.5·N/√C,
/// short-conv taps 0.3·N with +0.7 on the current frame. An untrained model: for tests, benchmarks and the
/// generator's embedded default, never a source of meaningful video. `dtype` bf16 stores the values rounded to
/// bf16 (half the memory: the 2.6B model needs 5.2 GB instead of 10.4 GB).
inline dit_weights make_random_dit(const dit_config& c, std::uint64_t seed, weight_dtype dtype = weight_dtype::f32) {
  c.validate();
  dit_weights w;
  w.config = c;
  w.dtype = dtype;
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  auto next = [&state]() {  // splitmix64
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto uniform = [&]() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
  auto normal = [&]() {
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  };
  const double inv_sqrt_c = 1.0 / std::sqrt(static_cast<double>(c.hidden));
  for (detail::binding& b : detail::bindings(w)) {
    param& p = *b.dst;
    p.key = b.key;
    p.shape = b.shape;
    p.f32.resize(static_cast<std::size_t>(p.numel()));
    auto ends = [&](std::string_view suffix) { return std::string_view(b.key).ends_with(suffix); };
    index_t fan_in = 1;
    for (std::size_t i = 1; i < b.shape.size(); ++i) fan_in *= b.shape[i];
    for (std::size_t i = 0; i < p.f32.size(); ++i) {
      double v;
      if (ends("A_log")) v = std::log(0.3 + 1.7 * uniform());
      else if (ends("dt_bias")) v = -1.0 + 0.5 * normal();
      else if (ends("beta_proj.bias")) v = 1.0 + 0.5 * normal();
      else if (ends("beta_proj.weight") || ends("gate_proj.weight")) v = 0.5 * normal() * inv_sqrt_c;
      else if (ends("scale_shift_table")) v = normal() * inv_sqrt_c;
      else if (ends("norm.weight") || ends("norm_cam.weight")) v = 1.0 + 0.2 * normal();
      else if (ends("conv_k.weight") || ends("conv_k_cam.weight")) {
        v = 0.3 * normal();
        if (static_cast<index_t>(i) % b.shape.back() == b.shape.back() - 1) v += 0.7;
      } else if (b.shape.size() == 1) v = 0.1 * normal();
      else v = normal() / std::sqrt(static_cast<double>(fan_in));
      p.f32[i] = static_cast<float>(v);
    }
    if (dtype == weight_dtype::bf16) {
      p.b16.resize(p.f32.size());
      for (std::size_t i = 0; i < p.f32.size(); ++i) p.b16[i] = bf16(p.f32[i]);
      std::vector<float>().swap(p.f32);
    }
  }
  return w;
}

/// Adapter giving safetensors_file / safetensors_index the label_for_errors() bind_weights uses.
template <class Source>
struct labelled_source {
  const Source& s;
  std::string label;
  bool contains(std::string_view k) const { return s.contains(k); }
  const io::st_tensor& at(std::string_view k) const { return s.at(k); }
  std::vector<std::string> names() const { return s.names(); }
  const std::string& label_for_errors() const { return label; }
  void drop_pages(std::string_view k) const {
    if constexpr (requires { s.drop_pages(k); }) s.drop_pages(k);
  }
};

/// Reads the config from upstream constructor kwargs (the golden files' `__metadata__.config`, or the
/// model section of a config). Unknown keys are ignored; values this forward cannot honour are rejected.
inline dit_config config_from_json(const io::json& j, dit_config base = sana_wm_2_6b()) {
  if (!j.is_object()) throw make_error("dit", "config: expected a JSON object");
  dit_config c = base;
  auto num = [&](const char* k, index_t fb) {
    const io::json* v = io::json_find(j, k, "dit", "config");
    if (!v || v->is_null()) return fb;
    if (!v->is_number_integer()) throw make_error("dit", "config: ", k, " must be an integer");
    return static_cast<index_t>(v->get<std::int64_t>());
  };
  c.depth = num("depth", c.depth);
  c.hidden = num("hidden_size", c.hidden);
  c.head_dim = num("linear_head_dim", c.head_dim);
  c.in_channels = num("in_channels", c.in_channels);
  c.caption_channels = num("caption_channels", c.caption_channels);
  c.mlp_ratio = num("mlp_ratio", c.mlp_ratio);
  c.softmax_every_n = num("softmax_every_n", c.softmax_every_n);
  c.conv_kernel = num("conv_kernel_size", c.conv_kernel);
  c.t_kernel = num("t_kernel_size", c.t_kernel);
  c.plucker_channels = num("chunk_plucker_channels", c.plucker_channels);
  c.plucker_blocks = num("chunk_plucker_post_attn_blocks", c.plucker_blocks);
  c.chunk_size = num("chunk_size", c.chunk_size);
  if (const io::json* v = io::json_find(j, "num_heads", "dit", "config"); v && v->is_number_integer()) {
    // Cross-attention uses num_heads; this implementation assumes num_heads · head_dim == hidden.
    if (v->get<std::int64_t>() * c.head_dim != c.hidden)
      throw make_error("dit", "config: num_heads ", v->get<std::int64_t>(), " × linear_head_dim ", c.head_dim,
                       " != hidden_size ", c.hidden, " (not supported)");
  }
  auto require = [&](const char* k, auto&& pred, const char* what) {
    const io::json* v = io::json_find(j, k, "dit", "config");
    if (v && !pred(*v)) throw make_error("dit", "config: ", k, " = ", v->dump(), " is not supported (", what, ")");
  };
  require("patch_size", [](const io::json& v) { return v == io::json::array({1, 1, 1}) || v == 1; }, "[1,1,1]");
  require("k_conv_only", [](const io::json& v) { return v.is_boolean() && v.get<bool>(); }, "true");
  require("use_chunk_plucker_post_attn", [](const io::json& v) { return v.is_boolean() && v.get<bool>(); }, "true");
  require("use_chunk_plucker_input", [](const io::json& v) { return v.is_boolean() && !v.get<bool>(); }, "false");
  require("pred_sigma", [](const io::json& v) { return v.is_boolean() && !v.get<bool>(); }, "false");
  require("ffn_type", [](const io::json& v) {
    return v.is_string() && (v.get<std::string>() == "GLUMBConvTemp" || v.get<std::string>() == "ChunkGLUMBConvTemp");
  }, "GLUMBConvTemp, ChunkGLUMBConvTemp");
  c.validate();
  return c;
}

/// Options of load_dit.
struct dit_load_options {
  weight_dtype dtype = weight_dtype::f32;
  bool strict = true;
  /// Config when the checkpoint carries none in its metadata (`__metadata__.config`).
  dit_config fallback = sana_wm_2_6b();
};

/// The checkpoint layout of `c`: every bound key with its shape, in module order (for writers and tools).
inline std::vector<std::pair<std::string, std::vector<index_t>>> expected_tensors(const dit_config& c) {
  dit_weights w;
  w.config = c;
  c.validate();
  std::vector<std::pair<std::string, std::vector<index_t>>> out;
  for (const detail::binding& b : detail::bindings(w)) out.emplace_back(b.key, b.shape);
  return out;
}

/// Upstream constructor kwargs for `c` (what config_from_json reads back; written into `__metadata__.config`).
inline std::string config_to_json(const dit_config& c) {
  io::json j = {{"depth", c.depth},
                {"hidden_size", c.hidden},
                {"num_heads", c.heads()},
                {"linear_head_dim", c.head_dim},
                {"in_channels", c.in_channels},
                {"caption_channels", c.caption_channels},
                {"mlp_ratio", c.mlp_ratio},
                {"softmax_every_n", c.softmax_every_n},
                {"conv_kernel_size", c.conv_kernel},
                {"t_kernel_size", c.t_kernel},
                {"chunk_plucker_channels", c.plucker_channels},
                {"chunk_plucker_post_attn_blocks", c.plucker_blocks},
                {"chunk_size", c.chunk_size},
                {"patch_size", {1, 1, 1}},
                {"ffn_type", "GLUMBConvTemp"}};
  return j.dump();
}

/// Reads the config from a source's metadata (`config` entry) or falls back, then binds strictly.
template <class Source>
dit_weights load_dit_from(const Source& src, const std::string& label, const dit_load_options& opt = {},
                          load_report* report = nullptr) {
  dit_weights w;
  const auto& md = src.metadata();
  if (auto it = md.find("config"); it != md.end())
    w.config = config_from_json(io::parse_json(it->second, "dit", label), opt.fallback);
  else
    w.config = opt.fallback;
  labelled_source<Source> ls{src, label};
  load_report r = bind_weights(w, ls, opt.dtype, opt.strict);
  if (report) *report = std::move(r);
  return w;
}

/// Opens a .safetensors file, a sharded index or a directory (io::safetensors_index::open), reads the config
/// from `__metadata__.config` when present (else options.fallback) and binds strictly. Tensors are converted
/// one at a time from the mapping (peak RAM ≈ the compute weights, not 2× the file).
inline dit_weights load_dit(const std::filesystem::path& path, const dit_load_options& opt = {},
                            load_report* report = nullptr) {
  io::safetensors_index src = io::safetensors_index::open(path);
  return load_dit_from(src, path.string(), opt, report);
}

/// A tensor source seen through renamed keys (model key → source key).
template <class Source>
struct remapped_source {
  const Source& s;
  std::string label;
  std::map<std::string, std::string, std::less<>> to_source;
  bool contains(std::string_view k) const { return to_source.find(k) != to_source.end(); }
  const io::st_tensor& at(std::string_view k) const { return s.at(to_source.find(k)->second); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : to_source) out.push_back(kv.first);
    return out;
  }
  const std::string& label_for_errors() const { return label; }
};

/// The streaming release's key layout: a `generator` sub-dict when present (else the whole dict, or a
/// `state_dict`/`model` sub-dict), with leading `model.` / `module.` prefixes stripped.
template <class Source>
remapped_source<Source> upstream_key_map(const Source& src, std::string label) {
  remapped_source<Source> r{src, std::move(label), {}};
  const std::vector<std::string> all = src.names();
  std::string root;
  for (const char* cand : {"generator.", "state_dict.", "model_state_dict."}) {
    if (std::any_of(all.begin(), all.end(), [&](const std::string& n) { return n.starts_with(cand); })) {
      root = cand;
      break;
    }
  }
  for (const std::string& n : all) {
    if (!n.starts_with(root)) continue;
    std::string_view k = std::string_view(n).substr(root.size());
    while (k.starts_with("model.") || k.starts_with("module.")) k.remove_prefix(k.find('.') + 1);
    if (!r.to_source.emplace(std::string(k), n).second)
      throw make_error("dit", r.label, ": two checkpoint tensors map to key '", k, "' after prefix stripping");
  }
  return r;
}

/// Loads a PyTorch .pt checkpoint (the streaming release's sana_dit/model.pt). .pt files carry no config, so
/// opt.fallback is the config. Tensors are materialised and converted one at a time.
inline dit_weights load_dit_pt(const std::filesystem::path& path, const dit_load_options& opt = {},
                               load_report* report = nullptr) {
  const io::torch_pt_file f = io::torch_pt_file::open(path);
  dit_weights w;
  w.config = opt.fallback;
  const auto src = upstream_key_map(f, path.string());
  load_report r = bind_weights(w, src, opt.dtype, opt.strict);
  if (report) *report = std::move(r);
  return w;
}

/// The weights as plain pointers for the backend engine (engine.hpp). Needs the row-major values: throws for
/// layers already packed for the CPU (pack_for_cpu) or quantised (quantize_nvfp4), naming the layer.
inline dit_refs refs_of(const dit_weights& w) {
  auto tensor = [](const param& p) {
    if (p.empty() && !p.shape.empty() && p.numel() > 0)
      throw make_error("dit", "'", p.key, "' holds no row-major values (packed with pack_for_cpu or quantised); ",
                       "the engine takes the weights as loaded");
    tensor_ref r;
    r.f32 = p.f32.empty() ? nullptr : p.f32.data();
    r.b16 = p.b16.empty() ? nullptr : p.b16.data();
    r.n = static_cast<index_t>(p.f32.empty() ? p.b16.size() : p.f32.size());
    return r;
  };
  auto linear = [&](const linear_w& l) {
    linear_ref r;
    if (l.out == 0) return r;  // an absent layer (plucker_proj past plucker_blocks)
    if (l.packed || l.nvfp4 || l.nvfp4_prep)
      throw make_error("dit", "'", l.weight.key, "' is ", l.packed ? "packed for the CPU (pack_for_cpu)" : "NVFP4-quantised",
                       "; the engine takes the weights as loaded");
    r.weight = tensor(l.weight);
    if (l.has_bias) r.bias = tensor(l.bias);
    r.out = l.out, r.in = l.in;
    return r;
  };
  dit_refs r;
  r.config = w.config;
  r.x_embedder = linear(w.x_embedder), r.t_mlp0 = linear(w.t_mlp0), r.t_mlp2 = linear(w.t_mlp2);
  r.t_block = linear(w.t_block), r.y_fc1 = linear(w.y_fc1), r.y_fc2 = linear(w.y_fc2);
  r.plucker_embedder = linear(w.plucker_embedder), r.final_linear = linear(w.final_linear);
  r.attention_y_norm = tensor(w.attention_y_norm), r.final_scale_shift_table = tensor(w.final_scale_shift_table);
  for (const block_w& b : w.blocks) {
    block_ref k;
    k.kind = b.kind;
    k.scale_shift_table = tensor(b.scale_shift_table);
    k.plucker_proj = linear(b.plucker_proj);
    const attn_w& a = b.attn;
    k.attn.qkv = linear(a.qkv), k.attn.proj = linear(a.proj), k.attn.beta_proj = linear(a.beta_proj);
    k.attn.gate_proj = linear(a.gate_proj), k.attn.output_gate = linear(a.output_gate);
    k.attn.q_proj_cam = linear(a.q_proj_cam), k.attn.k_proj_cam = linear(a.k_proj_cam);
    k.attn.v_proj_cam = linear(a.v_proj_cam), k.attn.out_proj_cam = linear(a.out_proj_cam);
    k.attn.q_norm = tensor(a.q_norm), k.attn.k_norm = tensor(a.k_norm);
    k.attn.q_norm_cam = tensor(a.q_norm_cam), k.attn.k_norm_cam = tensor(a.k_norm_cam);
    k.attn.A_log = tensor(a.A_log), k.attn.dt_bias = tensor(a.dt_bias);
    k.attn.conv_k = tensor(a.conv_k), k.attn.conv_k_cam = tensor(a.conv_k_cam);
    k.cross.q_linear = linear(b.cross.q_linear), k.cross.kv_linear = linear(b.cross.kv_linear);
    k.cross.proj = linear(b.cross.proj);
    k.cross.q_norm = tensor(b.cross.q_norm), k.cross.k_norm = tensor(b.cross.k_norm);
    k.mlp.inverted_conv = linear(b.mlp.inverted_conv), k.mlp.point_conv = linear(b.mlp.point_conv);
    k.mlp.depth_w = tensor(b.mlp.depth_w), k.mlp.depth_b = tensor(b.mlp.depth_b);
    if (b.mlp.t_conv_taps[0]) throw make_error("dit", "'", b.mlp.t_conv.key, "' is packed for the CPU (pack_for_cpu)");
    k.mlp.t_conv = tensor(b.mlp.t_conv);
    r.blocks.push_back(k);
  }
  return r;
}

}  // namespace sanawm::dit

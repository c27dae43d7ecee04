// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/nvfp4/nvfp4_io.hpp — NVFP4 checkpoints: the layer-selection patterns (upstream's default set),
// quantising a safetensors checkpoint, and reading NVFP4 tensors back with strict checks (docs/nvfp4.md).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/nvfp4/nvfp4_io.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <cmath>        // std::sqrt, std::fabs
#include <cstddef>      // std::byte, std::size_t
#include <cstring>      // std::memcpy
#include <functional>   // std::function
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include "sanawm/core/error.hpp"                // make_error
#include "sanawm/io/safetensors.hpp"            // safetensors_file, safetensors_writer
#include "sanawm/kernels/nvfp4/nvfp4.hpp"       // nvfp4_tensor
#include "sanawm/kernels/nvfp4/nvfp4_cpu.hpp"   // nvfp4_quantize, nvfp4_dequantize

namespace sanawm::nvfp4_io {

/// Suffixes of the companion tensors of a quantised weight `X.weight` (ModelOpt's names).
inline constexpr std::string_view scale_suffix = "_scale";      ///< X.weight_scale: F8_E4M3 [N, K/16], linear layout
inline constexpr std::string_view scale2_suffix = "_scale_2";   ///< X.weight_scale_2: F32 [] = S_dec
/// Metadata keys: the format tag, and per tensor the original shape / dtype / RHT seed.
inline constexpr std::string_view format_key = "sanawm.nvfp4.format";
inline constexpr std::string_view format_value = "sanawm-nvfp4-v1";

/// True when `name` matches the glob `pattern` ('*' matches any run of characters, including dots).
inline bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p, ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

/// Which weights to quantise: a tensor is selected when it matches an include pattern and no exclude pattern.
struct layer_selection {
  std::vector<std::string> include;
  std::vector<std::string> exclude;

  bool selected(std::string_view name) const {
    bool in = false;
    for (const auto& p : include) in = in || glob_match(p, name);
    if (!in) return false;
    for (const auto& p : exclude) if (glob_match(p, name)) return false;
    return true;
  }
};

/// Upstream's Stage-1 "self_attn+cross+ffn" set (architecture §12.1): the self-attention/GDN linears, the cross-
/// attention linears and the FFN's two 1×1 convs. Everything else stays native: the camera branch
/// (q/k/v/out_proj_cam), plucker_proj, the depthwise and temporal convs, embedders, t_block, final_layer.
inline layer_selection default_selection() {
  return {{"blocks.*.attn.qkv.weight", "blocks.*.attn.proj.weight", "blocks.*.attn.beta_proj.weight",
           "blocks.*.attn.gate_proj.weight", "blocks.*.attn.output_gate.weight", "blocks.*.cross_attn.q_linear.weight",
           "blocks.*.cross_attn.kv_linear.weight", "blocks.*.cross_attn.proj.weight",
           "blocks.*.mlp.inverted_conv.conv.weight", "blocks.*.mlp.point_conv.conv.weight"},
          {"*_cam.*", "*plucker*", "*raymap*", "*.depth_conv.*", "*.t_conv.*", "*embedder*", "t_block*", "final_layer*"}};
}

/// Per-layer result of quantise_checkpoint.
struct layer_report {
  std::string name;
  std::vector<index_t> shape;    ///< original shape
  index_t rows = 0, cols = 0;     ///< as a matrix [shape[0], product of the rest]
  std::size_t bytes_before = 0;   ///< original storage
  std::size_t bytes_after = 0;    ///< codes + scales + 4-byte global scale
  double rel_rms_error = 0.0;     ///< ‖W − Ŵ‖₂ / ‖W‖₂
  double max_abs_error = 0.0;
  float global_scale = 0.0f;
};

/// Summary of a whole file.
struct checkpoint_report {
  std::vector<layer_report> layers;  ///< quantised tensors, in file order (sorted by name)
  std::size_t bytes_in = 0;          ///< all tensors of the input
  std::size_t bytes_out = 0;         ///< all tensors of the output
  std::size_t kept_tensors = 0;      ///< tensors copied unchanged
};

/// Quantises the selected 2-D-or-more weights of `in` (rows = shape[0], K = product of the other axes, a multiple
/// of 16) and adds everything to `out`: a quantised `X.weight` becomes U8 [N, K/2] + `X.weight_scale` F8_E4M3
/// [N, K/16] + `X.weight_scale_2` F32 [], its original shape and dtype go to the metadata; every other tensor is
/// copied byte for byte. Throws "[nvfp4] …" for a selected tensor that cannot be quantised (rank < 2, K not a
/// multiple of 16, non-float dtype) or a name collision with a companion key.
inline checkpoint_report quantize_checkpoint(const io::safetensors_file& in, const layer_selection& sel,
                                             io::safetensors_writer& out, const nvfp4_options& opt = {}) {
  checkpoint_report rep;
  out.set_metadata(std::string(format_key), std::string(format_value));
  for (const auto& name : in.names()) {
    const io::st_tensor& t = in.at(name);
    rep.bytes_in += t.nbytes;
    if (!sel.selected(name)) {
      out.add(name, t.dtype, t.shape, t.bytes());
      rep.bytes_out += t.nbytes;
      ++rep.kept_tensors;
      continue;
    }
    if (t.shape.size() < 2)
      throw make_error("nvfp4", "tensor '", name, "' has rank ", t.shape.size(), "; only matrices (rank >= 2) quantise");
    if (t.dtype != io::st_dtype::F32 && t.dtype != io::st_dtype::BF16 && t.dtype != io::st_dtype::F16)
      throw make_error("nvfp4", "tensor '", name, "' is ", io::st_dtype_name(t.dtype), "; only F32/BF16/F16 quantise");
    const index_t rows = t.shape[0], cols = rows == 0 ? 0 : t.numel() / rows;
    if (cols % nvfp4_block != 0)
      throw make_error("nvfp4", "tensor '", name, "' has K = ", cols, " (shape ", io::shape_string(t.shape),
                       "), not a multiple of the NVFP4 block 16; exclude it with a pattern");
    for (std::string_view suf : {scale_suffix, scale2_suffix})
      if (in.contains(name + std::string(suf)))
        throw make_error("nvfp4", "tensor '", name, "' already has a companion '", name, suf,
                         "': is the input already quantised?");
    const std::vector<float> w = in.read_as<float>(name);
    const nvfp4_tensor q = nvfp4_quantize(cpu_t{}, w.data(), rows, cols, cols, opt);
    std::vector<float> d(w.size());
    nvfp4_dequantize(cpu_t{}, q.view(), d.data(), cols);
    layer_report lr;
    lr.name = name;
    lr.shape = t.shape;
    lr.rows = rows;
    lr.cols = cols;
    lr.bytes_before = t.nbytes;
    lr.bytes_after = q.data.size() + q.scales.size() + sizeof(float);
    lr.global_scale = q.global_scale;
    double num = 0, den = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double e = static_cast<double>(w[i]) - static_cast<double>(d[i]);
      num += e * e;
      den += static_cast<double>(w[i]) * static_cast<double>(w[i]);
      lr.max_abs_error = std::fabs(e) > lr.max_abs_error ? std::fabs(e) : lr.max_abs_error;
    }
    lr.rel_rms_error = den > 0 ? std::sqrt(num / den) : 0.0;
    out.add(name, io::st_dtype::U8, {rows, cols / 2},
            std::span<const std::byte>(reinterpret_cast<const std::byte*>(q.data.data()), q.data.size()));
    out.add(name + std::string(scale_suffix), io::st_dtype::F8_E4M3, {rows, cols / nvfp4_block},
            std::span<const std::byte>(reinterpret_cast<const std::byte*>(q.scales.data()), q.scales.size()));
    const float s2[1] = {q.global_scale};
    out.add(name + std::string(scale2_suffix), std::vector<index_t>{}, std::span<const float>(s2, 1));
    out.set_metadata(name + ".shape", io::shape_string(t.shape));
    out.set_metadata(name + ".dtype", std::string(io::st_dtype_name(t.dtype)));
    if (opt.rht) out.set_metadata(name + ".rht_seed", std::to_string(opt.rht_seed));
    rep.bytes_out += lr.bytes_after;
    rep.layers.push_back(std::move(lr));
  }
  return rep;
}

/// True when `file` holds `weight` in NVFP4 form (a U8 tensor with a `…_scale` companion).
inline bool is_nvfp4(const io::safetensors_file& file, std::string_view weight) {
  return file.contains(weight) && file.at(weight).dtype == io::st_dtype::U8 &&
         file.contains(std::string(weight) + std::string(scale_suffix));
}

/// Reads the NVFP4 weight `weight` (+ its scale and global-scale companions) into a host tensor with linear scales.
/// Every inconsistency is an error naming the tensor: wrong dtypes, missing companions, scale shape ≠ [N, K/16],
/// K/16 not whole (an odd or unaligned K), a global scale that is not one finite non-negative float.
inline nvfp4_tensor read_nvfp4(const io::safetensors_file& file, std::string_view weight) {
  const std::string w(weight), s = w + std::string(scale_suffix), s2 = w + std::string(scale2_suffix);
  const auto fail = [&](const auto&... parts) { return make_error("nvfp4", file.label(), ": '", w, "': ", parts...); };
  if (!file.contains(w)) throw fail("no such tensor");
  const io::st_tensor& tw = file.at(w);
  if (tw.dtype != io::st_dtype::U8 || tw.shape.size() != 2)
    throw fail("packed codes must be U8 [N, K/2], got ", io::st_dtype_name(tw.dtype), " ",
               io::shape_string(tw.shape));
  const index_t rows = tw.shape[0], cols = 2 * tw.shape[1];
  if (cols % nvfp4_block != 0)
    throw fail("K = 2·", tw.shape[1], " = ", cols, " is not a multiple of the NVFP4 block 16 (odd or truncated K)");
  if (!file.contains(s)) throw fail("block scales '", s, "' are missing");
  const io::st_tensor& ts = file.at(s);
  if (ts.dtype != io::st_dtype::F8_E4M3 && ts.dtype != io::st_dtype::U8)
    throw fail("block scales must be F8_E4M3, got ", io::st_dtype_name(ts.dtype));
  if (ts.shape.size() != 2 || ts.shape[0] != rows || ts.shape[1] != cols / nvfp4_block)
    throw fail("block scales have shape ", io::shape_string(ts.shape), " but [", rows, ", ", cols / nvfp4_block,
               "] (= [N, K/16]) was expected");
  if (!file.contains(s2)) throw fail("global scale '", s2, "' is missing");
  const io::st_tensor& tg = file.at(s2);
  if (tg.dtype != io::st_dtype::F32 || tg.numel() != 1)
    throw fail("global scale must be one F32, got ", io::st_dtype_name(tg.dtype), " ", io::shape_string(tg.shape));
  nvfp4_tensor t(rows, cols);
  std::memcpy(t.data.data(), tw.data, tw.nbytes);
  std::memcpy(t.scales.data(), ts.data, ts.nbytes);
  std::memcpy(&t.global_scale, tg.data, sizeof(float));
  if (!(t.global_scale >= 0.0f && t.global_scale <= 3.402823466e38f))
    throw fail("global scale ", t.global_scale, " is not finite and >= 0");
  const auto& md = file.metadata();
  if (auto it = md.find(w + ".rht_seed"); it != md.end()) {
    t.rht = true;
    t.rht_seed = std::stoull(it->second);
  }
  return t;
}

}  // namespace sanawm::nvfp4_io

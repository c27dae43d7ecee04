// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/loader.hpp — loads the upstream LTX-2 VAE: a diffusers `vae/` folder (config.json + safetensors,
// single or sharded) or one .safetensors file whose __metadata__ carries the config (the golden files), with strict
// key/shape checks.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/model/vae/loader.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <filesystem>  // std::filesystem::path
#include <optional>    // std::optional
#include <set>         // std::set
#include <span>        // std::span
#include <string>      // std::string
#include <vector>      // std::vector

#include "sanawm/core/error.hpp"         // make_error
#include "sanawm/io/json.hpp"            // json, json_get_or, parse_json, read_json_file
#include "sanawm/io/safetensors.hpp"     // safetensors_index
#include "sanawm/model/vae/config.hpp"   // vae_config
#include "sanawm/model/vae/modules.hpp"  // vae_weights, make_vae_weights

namespace sanawm::vae {

namespace detail {
inline vae_padding parse_padding(const std::string& s, const char* key) {
  if (s == "zeros") return vae_padding::zeros;
  if (s == "reflect") return vae_padding::reflect;
  throw make_error("vae", "config: ", key, " = '", s, "' is not supported (zeros, reflect)");
}
template <class T>
std::vector<T> get_list(const io::json& j, const char* key, std::vector<T> fallback) {
  return io::json_get_or<std::vector<T>>(j, key, std::move(fallback), "vae", "config");
}
inline std::vector<bool> get_bools(const io::json& j, const char* key, std::vector<bool> fallback) {
  const io::json* v = io::json_find(j, key, "vae", "config");
  if (!v || v->is_null()) return fallback;
  if (!v->is_array()) throw make_error("vae", "config: ", key, " must be a list of booleans");
  std::vector<bool> out;
  for (const auto& e : *v) {
    if (!e.is_boolean()) throw make_error("vae", "config: ", key, " must be a list of booleans");
    out.push_back(e.get<bool>());
  }
  return out;
}
}  // namespace detail

/// Reads a diffusers AutoencoderKLLTX2Video config (config.json object or the golden files' metadata). Absent keys
/// take the diffusers constructor defaults (note: decoder_causal defaults to true there; the LTX-2.0 checkpoint's
/// config.json sets it to false). The result is validated.
inline vae_config config_from_json(const io::json& j) {
  if (!j.is_object()) throw make_error("vae", "config: expected a JSON object");
  vae_config c;
  auto num = [&](const char* k, index_t fb) { return io::json_get_or<index_t>(j, k, fb, "vae", "config"); };
  auto flag = [&](const char* k, bool fb) { return io::json_get_or<bool>(j, k, fb, "vae", "config"); };
  auto real = [&](const char* k, double fb) { return io::json_get_or<double>(j, k, fb, "vae", "config"); };
  c.in_channels = num("in_channels", c.in_channels);
  c.out_channels = num("out_channels", c.out_channels);
  c.latent_channels = num("latent_channels", c.latent_channels);
  c.block_out_channels = detail::get_list<index_t>(j, "block_out_channels", c.block_out_channels);
  c.decoder_block_out_channels = detail::get_list<index_t>(j, "decoder_block_out_channels", c.decoder_block_out_channels);
  c.layers_per_block = detail::get_list<index_t>(j, "layers_per_block", c.layers_per_block);
  c.decoder_layers_per_block = detail::get_list<index_t>(j, "decoder_layers_per_block", c.decoder_layers_per_block);
  c.spatio_temporal_scaling = detail::get_bools(j, "spatio_temporal_scaling", c.spatio_temporal_scaling);
  c.decoder_spatio_temporal_scaling =
      detail::get_bools(j, "decoder_spatio_temporal_scaling", c.decoder_spatio_temporal_scaling);
  c.decoder_inject_noise = detail::get_bools(j, "decoder_inject_noise", c.decoder_inject_noise);
  c.upsample_residual = detail::get_bools(j, "upsample_residual", c.upsample_residual);
  c.upsample_factor = detail::get_list<index_t>(j, "upsample_factor", c.upsample_factor);
  if (const io::json* v = io::json_find(j, "downsample_type", "vae", "config"); v && !v->is_null()) {
    c.downsample_type.clear();
    for (const auto& s : detail::get_list<std::string>(j, "downsample_type", {}))
      c.downsample_type.push_back(parse_sample_type(s));
  }
  if (const io::json* v = io::json_find(j, "upsample_type", "vae", "config"); v && !v->is_null()) {
    c.upsample_type.clear();
    for (const auto& s : detail::get_list<std::string>(j, "upsample_type", {})) c.upsample_type.push_back(parse_sample_type(s));
  }
  if (const io::json* v = io::json_find(j, "down_block_types", "vae", "config"); v && !v->is_null())
    for (const auto& s : detail::get_list<std::string>(j, "down_block_types", {}))
      if (s != "LTX2VideoDownBlock3D")
        throw make_error("vae", "config: down block type '", s, "' is not supported (LTX2VideoDownBlock3D)");
  c.timestep_conditioning = flag("timestep_conditioning", c.timestep_conditioning);
  c.patch_size = num("patch_size", c.patch_size);
  c.patch_size_t = num("patch_size_t", c.patch_size_t);
  c.resnet_norm_eps = real("resnet_norm_eps", c.resnet_norm_eps);
  c.scaling_factor = real("scaling_factor", c.scaling_factor);
  c.encoder_causal = flag("encoder_causal", true);
  c.decoder_causal = flag("decoder_causal", true);
  c.encoder_spatial_padding_mode = detail::parse_padding(
      io::json_get_or<std::string>(j, "encoder_spatial_padding_mode", "zeros", "vae", "config"),
      "encoder_spatial_padding_mode");
  c.decoder_spatial_padding_mode = detail::parse_padding(
      io::json_get_or<std::string>(j, "decoder_spatial_padding_mode", "reflect", "vae", "config"),
      "decoder_spatial_padding_mode");
  c.spatial_compression_ratio = num("spatial_compression_ratio", c.spatial_compression_ratio);
  c.temporal_compression_ratio = num("temporal_compression_ratio", c.temporal_compression_ratio);
  validate(c);
  const auto comp = compression(c);
  if (comp[1] != c.spatial_compression_ratio || comp[0] != c.temporal_compression_ratio)
    throw make_error("vae", "config: the strides give ", comp[0], "x", comp[1], " compression but the config says ",
                     c.temporal_compression_ratio, "x", c.spatial_compression_ratio);
  return c;
}

/// Fills `w` from a checkpoint: every expected key must exist with its exact shape (errors name the key); keys of
/// the built parts that the model does not know are reported as unexpected (strict loading, like
/// load_state_dict(strict=True)). Any float dtype is accepted and read as fp32, one conv at a time, then stored as
/// `dtype`: with bf16 each conv is rounded as it is read, so the fp32 copy of the whole VAE never exists (the peak is
/// the bf16 weights plus one conv in fp32, about half of loading fp32 and then calling convert_to_bf16). `Source` is
/// io::safetensors_index or io::safetensors_file (anything with read_as<float>(name, shape) and names()).
template <class Source>
void load_weights(vae_weights& w, const Source& st, weight_dtype dtype = weight_dtype::f32) {
  std::set<std::string> expected;
  std::vector<float> buf;
  for_each_conv(w, [&](conv_weights& c) {
    const std::vector<index_t> ws = c.weight_shape();
    const std::vector<float> wt = st.template read_as<float>(c.weight_key(), std::span<const index_t>(ws));
    const std::vector<float> b = st.template read_as<float>(c.bias_key(), {c.cout});
    c.set_from_pytorch(wt.data(), b.data(), dtype);
    // The checkpoint's pages of this conv are consumed: drop them from the resident set (as the DiT loader does),
    // so the load peaks at the compute weights, not the compute weights plus the mapped file.
    if constexpr (requires { st.drop_pages(c.weight_key()); }) {
      st.drop_pages(c.weight_key());
      st.drop_pages(c.bias_key());
    }
    expected.insert(c.weight_key());
    expected.insert(c.bias_key());
  });
  const index_t lc = w.config.latent_channels;
  const auto mean = st.template read_as<float>("latents_mean", {lc});
  const auto sd = st.template read_as<float>("latents_std", {lc});
  for (index_t i = 0; i < lc; ++i) {
    w.latents_mean[i] = mean[static_cast<std::size_t>(i)];
    w.latents_std[i] = sd[static_cast<std::size_t>(i)];
    if (!(sd[static_cast<std::size_t>(i)] != 0.0f))
      throw make_error("vae", "latents_std[", i, "] is ", sd[static_cast<std::size_t>(i)], "; it must be non-zero");
  }
  expected.insert("latents_mean");
  expected.insert("latents_std");
  std::vector<std::string> unexpected;
  for (const auto& n : st.names()) {
    const bool enc = n.starts_with("encoder."), dec = n.starts_with("decoder.");
    if ((enc && !w.parts.encoder) || (dec && !w.parts.decoder)) continue;
    if (!expected.count(n)) unexpected.push_back(n);
  }
  if (!unexpected.empty()) {
    std::string list;
    for (std::size_t i = 0; i < unexpected.size() && i < 8; ++i) list += str_cat(i ? ", " : "", "'", unexpected[i], "'");
    throw make_error("vae", "checkpoint has ", unexpected.size(), " unexpected key(s) for this config: ", list,
                     unexpected.size() > 8 ? ", ..." : "",
                     " (timestep conditioning / noise injection / other widths are not supported)");
  }
}

/// Loads the VAE from `path`:
/// - a directory with config.json and the weights (diffusers `vae/` layout; one .safetensors or a sharded index);
/// - a .safetensors file whose "__metadata__" has a "config" entry (the golden files), or any .safetensors when
///   `config` is given.
/// `parts` selects encoder and/or decoder; `dtype` the conv weights' storage (load_weights).
inline vae_weights load_vae(const std::filesystem::path& path, vae_parts parts = {},
                            std::optional<vae_config> config = std::nullopt, weight_dtype dtype = weight_dtype::f32) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const io::safetensors_index st = io::safetensors_index::open(path);
  if (!config) {
    if (fs::is_directory(path, ec) && fs::exists(path / "config.json", ec)) {
      config = config_from_json(io::read_json_file(path / "config.json", "vae"));
    } else {
      const auto& md = st.metadata();
      const auto it = md.find("config");
      if (it == md.end())
        throw make_error("vae", path.string(), ": no config.json next to the weights and no 'config' in the "
                         "safetensors metadata; pass a vae_config");
      config = config_from_json(io::parse_json(it->second, "vae", path.string()));
    }
  }
  vae_weights w = make_vae_weights(*config, parts);  // fp32 taps allocated, not touched: no resident pages yet
  load_weights(w, st, dtype);
  return w;
}

}  // namespace sanawm::vae

// SPDX-License-Identifier: Apache-2.0
// sanawm/model/text/gemma2.hpp — Gemma-2 (Hugging Face Gemma2Model) as a text encoder on the CPU: config,
// weights loaded by checkpoint key, and the forward pass to the last hidden state after the final norm.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/text/gemma2.hpp: host-only header (file I/O, CPU kernels); include it from .cpp files"
#endif

#include <cmath>        // std::sqrt, std::pow, std::cos, std::sin
#include <cstdint>      // std::int32_t
#include <filesystem>   // std::filesystem::path
#include <span>         // std::span
#include <string>       // std::string
#include <type_traits>  // std::remove_const_t
#include <utility>      // std::as_const, std::move
#include <vector>       // std::vector

#include "sanawm/backend/tags.hpp"                         // cpu_t
#include "sanawm/core/bf16.hpp"                            // bf16
#include "sanawm/core/error.hpp"                           // make_error
#include "sanawm/core/int.hpp"                             // index_t
#include "sanawm/core/tensor.hpp"                          // make_view
#include "sanawm/io/json.hpp"                              // read_json_file
#include "sanawm/io/safetensors.hpp"                       // safetensors_index
#include "sanawm/kernels/attention/attention_cpu.hpp"      // attention(cpu_t, …)
#include "sanawm/kernels/elementwise/elementwise_cpu.hpp"  // glu(cpu_t, …)
#include "sanawm/kernels/gemm/gemm_cpu.hpp"                // gemm(cpu_t, …)
#include "sanawm/kernels/norms/norms_cpu.hpp"              // rms_norm(cpu_t, …)
#include "sanawm/backend/cpu/parallel.hpp"                 // parallel_for(cpu_t, …): gemma2_engine<cpu_t>
#include "sanawm/model/text/gemma2_engine.hpp"             // gemma2_refs, gemma2_engine

namespace sanawm::text {

/// Gemma-2 hyper-parameters (the fields of Hugging Face's Gemma2Config that the encoder uses).
struct gemma2_config {
  index_t vocab_size = 256000;
  index_t hidden_size = 2304;
  index_t intermediate_size = 9216;
  index_t num_layers = 26;
  index_t num_heads = 8;
  index_t num_kv_heads = 4;
  index_t head_dim = 256;
  double query_pre_attn_scalar = 256;  ///< attention scale = query_pre_attn_scalar^−½
  index_t sliding_window = 4096;  ///< keys a sliding layer sees: the last `sliding_window`, itself included
  float attn_softcap = 50.0f;     ///< logits → cap·tanh(logit/cap); 0 = off
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  /// Per layer: true = sliding-window attention. Gemma-2 alternates, starting with a sliding layer.
  std::vector<bool> sliding;

  /// google/gemma-2-2b-it (SANA-WM's stage-1 text encoder).
  static gemma2_config gemma2_2b() {
    gemma2_config c;
    c.sliding = alternating(c.num_layers);
    return c;
  }

  /// Gemma-2's default layer pattern: layer i slides when i is even.
  static std::vector<bool> alternating(index_t n) {
    std::vector<bool> s(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) s[static_cast<std::size_t>(i)] = (i % 2 == 0);
    return s;
  }

  /// Reads a Hugging Face config.json (Gemma2Config or a Gemma2ForCausalLM config). Absent optional fields
  /// keep the 2B defaults; `layer_types` (transformers ≥ 4.53) overrides the alternation; `rope_theta` may
  /// also sit in `rope_parameters` (transformers 5).
  static gemma2_config from_json(const std::filesystem::path& path) {
    const io::json j = io::read_json_file(path, "gemma2");
    gemma2_config c;
    auto get = [&](const char* key, auto& field) {
      if (const io::json* v = io::json_find(j, key, "gemma2", path.string()); v && !v->is_null())
        field = v->get<std::remove_reference_t<decltype(field)>>();
    };
    get("vocab_size", c.vocab_size);
    get("hidden_size", c.hidden_size);
    get("intermediate_size", c.intermediate_size);
    get("num_hidden_layers", c.num_layers);
    get("num_attention_heads", c.num_heads);
    get("num_key_value_heads", c.num_kv_heads);
    get("head_dim", c.head_dim);
    get("query_pre_attn_scalar", c.query_pre_attn_scalar);
    get("sliding_window", c.sliding_window);
    get("attn_logit_softcapping", c.attn_softcap);
    get("rms_norm_eps", c.rms_norm_eps);
    get("rope_theta", c.rope_theta);
    if (const io::json* rp = io::json_find(j, "rope_parameters", "gemma2", path.string());
        rp && rp->is_object())
      if (auto it = rp->find("rope_theta"); it != rp->end()) c.rope_theta = it->get<double>();
    if (const io::json* act = io::json_find(j, "hidden_activation", "gemma2", path.string());
        act && act->is_string())
      if (act->get<std::string>() != "gelu_pytorch_tanh")
        throw make_error("gemma2", path.string(), ": hidden_activation '", act->get<std::string>(),
                         "' is not supported (Gemma-2 uses gelu_pytorch_tanh)");
    c.sliding = alternating(c.num_layers);
    if (const io::json* lt = io::json_find(j, "layer_types", "gemma2", path.string()); lt && lt->is_array()) {
      if (static_cast<index_t>(lt->size()) != c.num_layers)
        throw make_error("gemma2", path.string(), ": layer_types has ", lt->size(), " entries for ",
                         c.num_layers, " layers");
      for (std::size_t i = 0; i < lt->size(); ++i)
        c.sliding[i] = (*lt)[i].get<std::string>() == "sliding_attention";
    }
    c.validate();
    return c;
  }

  void validate() const {
    SANAWM_EXPECT(
        vocab_size > 0 && hidden_size > 0 && intermediate_size > 0 && num_layers > 0 && head_dim > 0,
        "gemma2", "sizes must be positive");
    SANAWM_EXPECT(num_heads > 0 && num_kv_heads > 0 && num_heads % num_kv_heads == 0, "gemma2", "kv heads ",
                  num_kv_heads, " must divide heads ", num_heads);
    SANAWM_EXPECT(head_dim % 2 == 0, "gemma2", "head_dim ", head_dim, " must be even (RoPE pairs)");
    SANAWM_EXPECT(static_cast<index_t>(sliding.size()) == num_layers, "gemma2", "sliding pattern has ",
                  sliding.size(), " entries for ", num_layers, " layers");
  }
};

/// A Linear weight [out, in] kept in the checkpoint's precision (bf16 stays bf16: half the memory; the GEMM
/// widens it exactly to fp32, so the products equal those of the fp32-upcast weight).
struct gemma2_matrix {
  index_t rows = 0, cols = 0;
  std::vector<float> f32;
  std::vector<bf16> b16;

  bool is_bf16() const noexcept { return !b16.empty(); }
};

/// One decoder layer. RMSNorm weights are stored as (1 + w) in fp32 (Gemma's convention, applied once at
/// load).
struct gemma2_layer {
  gemma2_matrix qkv;      ///< [q_proj; k_proj; v_proj] rows: one GEMM for all three
  gemma2_matrix o;        ///< o_proj [D, Hq·hd]
  gemma2_matrix up_gate;  ///< [up_proj; gate_proj]: the GLU kernel takes the value half first
  gemma2_matrix down;     ///< down_proj [D, I]
  std::vector<float> input_norm, post_attn_norm, pre_ff_norm, post_ff_norm;
};

/// Gemma-2 weights keyed by the upstream names (`model.layers.{i}.self_attn.q_proj.weight`, …; the `model.`
/// prefix of Gemma2ForCausalLM checkpoints is optional). fp32 or bf16 tensors; shapes are checked.
struct gemma2_weights {
  gemma2_config config;
  gemma2_matrix embed;  ///< [vocab, D]
  std::vector<gemma2_layer> layers;
  std::vector<float> final_norm;  ///< (1 + w)

  /// Loads `path`: a .safetensors file, a sharded index .json, or a directory with either (and, when
  /// `config` is not given, a config.json next to it).
  static gemma2_weights load(const std::filesystem::path& path, const gemma2_config* config = nullptr) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) throw make_error("gemma2", path.string(), ": not found");
    gemma2_weights w;
    if (config) {
      w.config = *config;
    } else {
      const fs::path dir = fs::is_directory(path, ec) ? path : path.parent_path();
      if (!fs::exists(dir / "config.json", ec))
        throw make_error("gemma2", dir.string(), ": no config.json (pass a gemma2_config instead)");
      w.config = gemma2_config::from_json(dir / "config.json");
    }
    w.config.validate();
    // A Hugging Face model directory names its weights model.safetensors(.index.json); prefer those so other
    // .safetensors files next to them (e.g. encoded prompts) do not make the directory ambiguous.
    fs::path weights = path;
    if (fs::is_directory(path, ec)) {
      if (fs::exists(path / "model.safetensors.index.json", ec))
        weights = path / "model.safetensors.index.json";
      else if (fs::exists(path / "model.safetensors", ec))
        weights = path / "model.safetensors";
    }
    const auto st = io::safetensors_index::open(weights);
    const std::string prefix = st.contains("model.embed_tokens.weight") ? "model." : "";
    const auto& c = w.config;
    const index_t d = c.hidden_size, hd = c.head_dim;
    w.embed = read_matrix(st, prefix + "embed_tokens.weight", c.vocab_size, d);
    w.final_norm = read_norm(st, prefix + "norm.weight", d);
    w.layers.resize(static_cast<std::size_t>(c.num_layers));
    for (index_t i = 0; i < c.num_layers; ++i) {
      const std::string p = prefix + "layers." + std::to_string(i) + ".";
      auto& l = w.layers[static_cast<std::size_t>(i)];
      l.qkv = stack({read_matrix(st, p + "self_attn.q_proj.weight", c.num_heads * hd, d),
                     read_matrix(st, p + "self_attn.k_proj.weight", c.num_kv_heads * hd, d),
                     read_matrix(st, p + "self_attn.v_proj.weight", c.num_kv_heads * hd, d)});
      l.o = read_matrix(st, p + "self_attn.o_proj.weight", d, c.num_heads * hd);
      l.up_gate = stack({read_matrix(st, p + "mlp.up_proj.weight", c.intermediate_size, d),
                         read_matrix(st, p + "mlp.gate_proj.weight", c.intermediate_size, d)});
      l.down = read_matrix(st, p + "mlp.down_proj.weight", d, c.intermediate_size);
      l.input_norm = read_norm(st, p + "input_layernorm.weight", d);
      l.post_attn_norm = read_norm(st, p + "post_attention_layernorm.weight", d);
      l.pre_ff_norm = read_norm(st, p + "pre_feedforward_layernorm.weight", d);
      l.post_ff_norm = read_norm(st, p + "post_feedforward_layernorm.weight", d);
    }
    return w;
  }

  /// Random weights of `config` (benchmarks; N(0, 0.02)-like uniform values, norms 1 + U(−0.1, 0.1)).
  static gemma2_weights random(const gemma2_config& config, bool bf16_weights, std::uint64_t seed = 1) {
    config.validate();
    gemma2_weights w;
    w.config = config;
    std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    auto next = [&s] {  // splitmix64 → uniform [−1, 1): fast enough for 2.6 B values
      std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return static_cast<float>(static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-52 - 1.0);
    };
    auto mat = [&](index_t r, index_t cols) {
      gemma2_matrix m{r, cols, {}, {}};
      const auto n = static_cast<std::size_t>(r * cols);
      const float a = 1.7f / std::sqrt(static_cast<float>(cols));
      if (bf16_weights) {
        m.b16.resize(n);
        for (auto& v : m.b16) v = bf16(a * next());
      } else {
        m.f32.resize(n);
        for (auto& v : m.f32) v = a * next();
      }
      return m;
    };
    auto norm = [&](index_t n) {
      std::vector<float> v(static_cast<std::size_t>(n));
      for (auto& x : v) x = 1.0f + 0.1f * next();
      return v;
    };
    const index_t d = config.hidden_size, hd = config.head_dim;
    w.embed = mat(config.vocab_size, d);
    w.final_norm = norm(d);
    w.layers.resize(static_cast<std::size_t>(config.num_layers));
    for (auto& l : w.layers) {
      l.qkv = mat((config.num_heads + 2 * config.num_kv_heads) * hd, d);
      l.o = mat(d, config.num_heads * hd);
      l.up_gate = mat(2 * config.intermediate_size, d);
      l.down = mat(d, config.intermediate_size);
      l.input_norm = norm(d);
      l.post_attn_norm = norm(d);
      l.pre_ff_norm = norm(d);
      l.post_ff_norm = norm(d);
    }
    return w;
  }

  /// Bytes held by the weights.
  std::size_t bytes() const noexcept {
    auto m = [](const gemma2_matrix& x) { return x.f32.size() * 4 + x.b16.size() * 2; };
    std::size_t n = m(embed) + final_norm.size() * 4;
    for (const auto& l : layers)
      n += m(l.qkv) + m(l.o) + m(l.up_gate) + m(l.down) +
           4 * (l.input_norm.size() + l.post_attn_norm.size() + l.pre_ff_norm.size() + l.post_ff_norm.size());
    return n;
  }

 private:
  static gemma2_matrix read_matrix(const io::safetensors_index& st, const std::string& key, index_t rows,
                                   index_t cols) {
    const io::st_tensor& t = st.at(key);
    if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
      throw make_error("gemma2", "tensor '", key, "' has shape ", io::shape_string(t.shape), ", expected [",
                       rows, ", ", cols, "]");
    gemma2_matrix m{rows, cols, {}, {}};
    if (t.dtype == io::st_dtype::BF16)
      m.b16 = st.read_as<bf16>(key);
    else
      m.f32 = st.read_as<float>(key);
    return m;
  }

  static std::vector<float> read_norm(const io::safetensors_index& st, const std::string& key, index_t n) {
    auto v = st.read_as<float>(key, {n});
    // Gemma2RMSNorm multiplies by (1 + w) in fp32; folding the 1 in here lets the shared RMSNorm kernel run.
    for (auto& x : v) x += 1.0f;
    return v;
  }

  static gemma2_matrix stack(std::vector<gemma2_matrix> parts) {
    gemma2_matrix out{0, parts.front().cols, {}, {}};
    const bool b = parts.front().is_bf16();
    for (auto& p : parts) {
      if (p.is_bf16() != b) {  // mixed precision inside one layer: widen everything to fp32
        for (auto& q : parts)
          if (q.is_bf16()) {
            q.f32.assign(q.b16.size(), 0.0f);
            for (std::size_t i = 0; i < q.b16.size(); ++i) q.f32[i] = q.b16[i].to_float();
            q.b16.clear();
          }
        return stack(std::move(parts));
      }
    }
    for (auto& p : parts) {
      out.rows += p.rows;
      if (b)
        out.b16.insert(out.b16.end(), p.b16.begin(), p.b16.end());
      else
        out.f32.insert(out.f32.end(), p.f32.begin(), p.f32.end());
    }
    return out;
  }
};

namespace detail {

/// y[M, N] = x[M, K] · Wᵀ, fp32 accumulation; `compute` fp32 widens bf16 weights exactly, bf16 also rounds x.
inline void gemma2_linear(const float* x, index_t m, const gemma2_matrix& w, float* y, gemm_compute compute) {
  auto run = [&](const auto* b) {
    using TB = std::remove_const_t<std::remove_pointer_t<decltype(b)>>;
    gemm_args<float, TB, float> p;
    p.m = m;
    p.n = w.rows;
    p.k = w.cols;
    p.a = x;
    p.lda = w.cols;
    p.b = b;
    p.ldb = w.cols;
    p.c = y;
    p.ldc = w.rows;
    p.compute = compute;
    gemm(cpu_t{}, p);
  };
  if (w.is_bf16())
    run(w.b16.data());
  else
    run(w.f32.data());
}

/// In-place RMSNorm of rows [M, C] with a (1 + w)-folded weight.
inline void gemma2_rms_norm(float* x, index_t m, index_t c, const std::vector<float>& w, float eps) {
  auto xv = make_view(x, extents<dyn, dyn>(m, c));
  const auto wv = make_view(w.data(), extents<dyn>(c));
  rms_norm(cpu_t{}, xv, wv, eps, xv);
}

/// Stand-in for a rotate-half RoPE kernel (kernels/rope implements SANA-WM's interleaved 3-D RoPE, not the
/// Llama/Gemma layout): for each head, channels (i, i + hd/2) rotate by position · θ^(−2i/hd). The angles are
/// formed in double from the fp32 inverse frequencies Hugging Face uses, so cos/sin match its fp32 tables.
struct gemma2_rope_table {
  index_t positions = 0, half = 0;
  std::vector<float> cos, sin;  ///< [positions, half]

  gemma2_rope_table(index_t n, index_t head_dim, double theta) : positions(n), half(head_dim / 2) {
    cos.resize(static_cast<std::size_t>(n * half));
    sin.resize(cos.size());
    for (index_t i = 0; i < half; ++i) {
      // HF: inv_freq = 1 / theta^(arange(0, dim, 2).float() / dim), computed in fp32.
      const float inv = 1.0f / static_cast<float>(std::pow(
                                   theta, static_cast<double>(2 * i) / static_cast<double>(head_dim)));
      for (index_t p = 0; p < n; ++p) {
        const float ang = static_cast<float>(p) * inv;  // HF: fp32 matmul of position and inv_freq
        cos[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::cos(static_cast<double>(ang)));
        sin[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::sin(static_cast<double>(ang)));
      }
    }
  }

  /// Rotates `heads` heads of every token of x (token stride `ld`, head stride head_dim = 2·half) in place.
  void apply(float* x, index_t tokens, index_t heads, index_t ld) const {
    parallel_for(cpu_t{}, tokens, [=, this](index_t t) {
      const float* c = cos.data() + t * half;
      const float* s = sin.data() + t * half;
      for (index_t h = 0; h < heads; ++h) {
        float* v = x + t * ld + h * 2 * half;
        for (index_t i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half];
          v[i] = a * c[i] - b * s[i];
          v[i + half] = b * c[i] + a * s[i];
        }
      }
    });
  }
};

}  // namespace detail

/// Gemma2Model.forward on the CPU for one sequence: the last hidden state after the final norm, [S, D] fp32.
/// Attention is causal over the sequence, sliding layers see the last `sliding_window` keys, padded keys
/// (mask 0) are hidden from every query. Positions are 0…S−1 (Hugging Face's default with right padding).
///
/// Padded query rows: a padded position whose sliding window holds no real token attends to nothing here (a
/// zero attention output), where Hugging Face's additive −inf mask degenerates to a uniform average over all
/// keys. Such rows only exist when padding runs past `sliding_window` (4096 for Gemma-2-2B, far above
/// SANA-WM's ~400 tokens) and are masked out downstream anyway.
class gemma2_encoder {
 public:
  /// `compute`: gemm_compute::fp32 (default: fp32 products, the reference within fp32 rounding) or
  /// gemm_compute::bf16 (activations rounded to bf16 at each projection, as upstream's bf16 model does; about
  /// twice as fast on CPUs with AVX512-BF16).
  explicit gemma2_encoder(gemma2_weights w, gemm_compute compute = gemm_compute::fp32)
      : w_(std::move(w)), compute_(compute) {
    w_.config.validate();
    SANAWM_EXPECT(compute_ == gemm_compute::fp32 || compute_ == gemm_compute::bf16, "gemma2",
                  "compute mode must be fp32 or bf16 on the CPU");
  }

  const gemma2_config& config() const noexcept { return w_.config; }
  const gemma2_weights& weights() const noexcept { return w_; }

  /// Hidden states [S, D] (row-major) of `ids` [S]; `mask` [S] (1 = token, 0 = padding) or empty for all 1.
  std::vector<float> forward(std::span<const std::int32_t> ids,
                             std::span<const std::int32_t> mask = {}) const {
    const auto& c = w_.config;
    const index_t s = static_cast<index_t>(ids.size()), d = c.hidden_size, hd = c.head_dim;
    if (s == 0) throw make_error("gemma2", "empty token sequence");
    if (!mask.empty() && static_cast<index_t>(mask.size()) != s)
      throw make_error("gemma2", "mask has ", mask.size(), " entries for ", s, " tokens");
    const index_t nq = c.num_heads * hd, nkv = c.num_kv_heads * hd, nqkv = nq + 2 * nkv;
    const index_t inter = c.intermediate_size;

    std::vector<float> h(static_cast<std::size_t>(s * d));
    // Embedding × √D. HF multiplies by a tensor of the hidden dtype: √2304 = 48 is exact in bf16 and fp32
    // alike.
    const float normalizer = static_cast<float>(std::sqrt(static_cast<double>(d)));
    for (index_t t = 0; t < s; ++t) {
      const std::int32_t id = ids[static_cast<std::size_t>(t)];
      if (id < 0 || id >= c.vocab_size)
        throw make_error("gemma2", "token id ", id, " at position ", t, " is outside the vocabulary (",
                         c.vocab_size, ")");
      float* row = h.data() + t * d;
      const auto off = static_cast<std::size_t>(id) * static_cast<std::size_t>(d);
      if (w_.embed.is_bf16()) {
        for (index_t j = 0; j < d; ++j)
          row[j] = w_.embed.b16[off + static_cast<std::size_t>(j)].to_float() * normalizer;
      } else {
        for (index_t j = 0; j < d; ++j) row[j] = w_.embed.f32[off + static_cast<std::size_t>(j)] * normalizer;
      }
    }

    std::vector<float> key_bias;
    if (!mask.empty()) {
      key_bias.resize(static_cast<std::size_t>(s));
      // Additive bias after the soft-cap (|logit| ≤ cap ≤ 50): e^−10000 underflows to exactly 0, as HF's
      // −inf.
      for (index_t t = 0; t < s; ++t)
        key_bias[static_cast<std::size_t>(t)] =
            mask[static_cast<std::size_t>(t)] != 0 ? 0.0f : key_padding_bias;
    }
    const detail::gemma2_rope_table rope(s, hd, c.rope_theta);

    std::vector<float> x(static_cast<std::size_t>(s * d)), qkv(static_cast<std::size_t>(s * nqkv));
    std::vector<float> attn(static_cast<std::size_t>(s * nq)), ug(static_cast<std::size_t>(s * 2 * inter));
    std::vector<float> act(static_cast<std::size_t>(s * inter));

    attention_shape shape{1, s, s, c.num_heads, c.num_kv_heads, hd};
    for (index_t li = 0; li < c.num_layers; ++li) {
      const auto& l = w_.layers[static_cast<std::size_t>(li)];
      // --- attention ---
      x = h;
      detail::gemma2_rms_norm(x.data(), s, d, l.input_norm, c.rms_norm_eps);
      detail::gemma2_linear(x.data(), s, l.qkv, qkv.data(), compute_);
      rope.apply(qkv.data(), s, c.num_heads + c.num_kv_heads, nqkv);  // q heads then k heads are adjacent
      const attention_params p = gemma2_detail::layer_attention(
          c.query_pre_attn_scalar, c.attn_softcap, c.sliding[static_cast<std::size_t>(li)], c.sliding_window,
          key_bias.empty() ? nullptr : key_bias.data());
      const heads_view<const float> q{qkv.data(), 0, nqkv, hd};
      const heads_view<const float> k{qkv.data() + nq, 0, nqkv, hd};
      const heads_view<const float> v{qkv.data() + nq + nkv, 0, nqkv, hd};
      const heads_view<float> o{attn.data(), 0, nq, hd};
      attention(cpu_t{}, shape, p, q, k, v, o);
      detail::gemma2_linear(attn.data(), s, l.o, x.data(), compute_);
      detail::gemma2_rms_norm(x.data(), s, d, l.post_attn_norm, c.rms_norm_eps);
      for (std::size_t i = 0; i < h.size(); ++i) h[i] += x[i];
      // --- GeGLU MLP: down(gelu_tanh(gate(x)) ⊙ up(x)) ---
      x = h;
      detail::gemma2_rms_norm(x.data(), s, d, l.pre_ff_norm, c.rms_norm_eps);
      detail::gemma2_linear(x.data(), s, l.up_gate, ug.data(), compute_);
      glu(cpu_t{}, activation::gelu_tanh,
          make_view(std::as_const(ug).data(), extents<dyn, dyn>(s, 2 * inter)),
          make_view(act.data(), extents<dyn, dyn>(s, inter)));
      detail::gemma2_linear(act.data(), s, l.down, x.data(), compute_);
      detail::gemma2_rms_norm(x.data(), s, d, l.post_ff_norm, c.rms_norm_eps);
      for (std::size_t i = 0; i < h.size(); ++i) h[i] += x[i];
    }
    detail::gemma2_rms_norm(h.data(), s, d, w_.final_norm, c.rms_norm_eps);
    return h;
  }

 private:
  gemma2_weights w_;
  gemm_compute compute_ = gemm_compute::fp32;
};

/// The weights as plain pointers for gemma2_engine (the GPU encoder; gemma2_engine<cpu_t> on the host).
inline gemma2_refs refs_of(const gemma2_weights& w) {
  const gemma2_config& c = w.config;
  gemma2_refs r;
  r.dims.vocab_size = c.vocab_size, r.dims.hidden_size = c.hidden_size, r.dims.intermediate_size = c.intermediate_size;
  r.dims.num_layers = c.num_layers, r.dims.num_heads = c.num_heads, r.dims.num_kv_heads = c.num_kv_heads;
  r.dims.head_dim = c.head_dim, r.dims.sliding_window = c.sliding_window;
  r.dims.query_pre_attn_scalar = c.query_pre_attn_scalar, r.dims.rope_theta = c.rope_theta;
  r.dims.attn_softcap = c.attn_softcap, r.dims.rms_norm_eps = c.rms_norm_eps, r.dims.sliding = c.sliding;
  auto m = [](const gemma2_matrix& x) {
    return gemma2_matrix_ref{x.f32.empty() ? nullptr : x.f32.data(), x.b16.empty() ? nullptr : x.b16.data(), x.rows,
                             x.cols};
  };
  r.embed = m(w.embed);
  for (const gemma2_layer& l : w.layers)
    r.layers.push_back({m(l.qkv), m(l.o), m(l.up_gate), m(l.down), l.input_norm.data(), l.post_attn_norm.data(),
                        l.pre_ff_norm.data(), l.post_ff_norm.data()});
  r.final_norm = w.final_norm.data();
  return r;
}

}  // namespace sanawm::text

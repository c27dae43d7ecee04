// SPDX-License-Identifier: Apache-2.0
// sanawm/model/text/gemma2_engine.hpp — the Gemma-2 text encoder written once over a backend tag, as the DiT engine
// (model/dit/engine.hpp): gemma2_engine<cuda_t> encodes prompts on a GPU, gemma2_engine<cpu_t> runs the same steps on
// the host (how the GPU path is checked without one). Weights come as plain pointers (gemma2_refs, built by refs_of
// in gemma2.hpp) and are uploaded once; every step is a library kernel (gemm, rms_norm, attention, glu) or a small
// portable body below. Same semantics as gemma2_encoder (gemma2.hpp), which stays the host path.
// Include it after the backend's kernels: gemm, norms, attention and elementwise (*_cpu.hpp or *_cuda.cuh) and, for
// CUDA, backend/cuda/backend_memory.cuh.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "sanawm/backend/memory.hpp"                   // backend_memory
#include "sanawm/backend/tags.hpp"                     // backend, cuda_t
#include "sanawm/config.hpp"                           // SANAWM_HD
#include "sanawm/core/bf16.hpp"                        // bf16
#include "sanawm/core/error.hpp"                       // make_error
#include "sanawm/core/tensor.hpp"                      // make_view
#include "sanawm/kernels/attention/attention.hpp"      // attention_params, heads_view, key_padding_bias
#include "sanawm/kernels/elementwise/elementwise.hpp"  // activation
#include "sanawm/kernels/gemm/gemm.hpp"                // gemm_args, gemm_compute

namespace sanawm::text {

/// The Gemma-2 hyper-parameters the forward uses (gemma2_config without its file readers).
struct gemma2_dims {
  index_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0, num_heads = 0, num_kv_heads = 0,
          head_dim = 0, sliding_window = 0;
  double query_pre_attn_scalar = 0, rope_theta = 10000.0;
  float attn_softcap = 0, rms_norm_eps = 1e-6f;
  std::vector<bool> sliding;  ///< per layer
};

/// A Linear weight [rows, cols] held in fp32 or bf16 (one pointer set).
struct gemma2_matrix_ref {
  const float* f32 = nullptr;
  const bf16* b16 = nullptr;
  index_t rows = 0, cols = 0;
};
struct gemma2_layer_ref {
  gemma2_matrix_ref qkv, o, up_gate, down;  ///< as gemma2_layer
  const float *input_norm = nullptr, *post_attn_norm = nullptr, *pre_ff_norm = nullptr, *post_ff_norm = nullptr;
};
/// gemma2_weights as plain pointers (norm weights already (1 + w)); they must outlive the engine's construction.
struct gemma2_refs {
  gemma2_dims dims;
  gemma2_matrix_ref embed;
  std::vector<gemma2_layer_ref> layers;
  const float* final_norm = nullptr;
};

namespace gemma2_detail {

/// h[t, :] = embed[ids[t], :] · normalizer (fp32 or bf16 table).
struct embed_body {
  const std::int32_t* ids;
  const float* f32;
  const bf16* b16;
  float* h;
  index_t d;
  float normalizer;
  SANAWM_HD void operator()(index_t i) const noexcept {
    const index_t t = i / d, j = i % d, off = static_cast<index_t>(ids[t]) * d + j;
    h[i] = (f32 ? f32[off] : b16[off].to_float()) * normalizer;
  }
};

/// Rotate-half RoPE in place: channels (i, i + half) of each of `heads` heads per token (token stride ld).
struct rope_half_body {
  float* x;
  const float* cos;  ///< [tokens, half]
  const float* sin;
  index_t heads, half, ld;
  SANAWM_HD void operator()(index_t k) const noexcept {
    const index_t i = k % half, h = (k / half) % heads, t = k / (half * heads);
    float* v = x + t * ld + h * 2 * half;
    const float c = cos[t * half + i], s = sin[t * half + i], a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = b * c + a * s;
  }
};

/// One layer's attention parameters: scale query_pre_attn_scalar^−½, the logit soft-cap, causal, the sliding window on
/// sliding layers, the key-padding bias (nullptr = none). Shared with gemma2_encoder.
inline attention_params layer_attention(double query_pre_attn_scalar, float softcap, bool sliding, index_t window,
                                        const float* key_bias) {
  attention_params p;
  p.scale = static_cast<float>(1.0 / std::sqrt(query_pre_attn_scalar));
  p.softcap = softcap;
  p.mask.kind = mask_kind::causal;
  if (sliding) p.mask.window = window;
  p.key_bias = key_bias;
  return p;
}

}  // namespace gemma2_detail

/// Gemma2Model.forward on backend Be for one sequence (see gemma2_encoder for the semantics and the padded-row
/// caveat). `compute`: fp32 (weights held in fp32, fp32 products) or bf16 (weights and activations rounded to bf16 at
/// every projection, fp32 accumulation), exactly the two modes of gemma2_encoder.
template <backend Be>
class gemma2_engine {
  using mem = backend_memory<Be>;
  template <class T>
  using buffer = typename mem::template buffer<T>;

 public:
  gemma2_engine(Be be, const gemma2_refs& r, gemm_compute compute = gemm_compute::fp32)
      : be_(be), d_(r.dims), compute_(compute) {
    SANAWM_EXPECT(compute == gemm_compute::fp32 || compute == gemm_compute::bf16, "gemma2",
                  "compute mode must be fp32 or bf16");
    const index_t D = d_.hidden_size, hd = d_.head_dim, I = d_.intermediate_size;
    const index_t nqkv = (d_.num_heads + 2 * d_.num_kv_heads) * hd;
    if (D < 1 || hd < 2 || hd % 2 || d_.num_heads < 1 || d_.num_kv_heads < 1 || d_.num_heads % d_.num_kv_heads ||
        d_.vocab_size < 1 || static_cast<index_t>(d_.sliding.size()) != d_.num_layers ||
        static_cast<index_t>(r.layers.size()) != d_.num_layers)
      throw make_error("gemma2", "engine: inconsistent dims (hidden ", D, ", head_dim ", hd, ", heads ", d_.num_heads,
                       "/", d_.num_kv_heads, ", ", r.layers.size(), " layers for ", d_.num_layers, ")");
    embed_ = matrix(r.embed, "embed_tokens", d_.vocab_size, D, /*keep_dtype=*/true);
    for (std::size_t i = 0; i < r.layers.size(); ++i) {
      const gemma2_layer_ref& s = r.layers[i];
      layer l;
      const std::string p = "layers." + std::to_string(i) + ".";
      l.qkv = matrix(s.qkv, p + "qkv", nqkv, D);
      l.o = matrix(s.o, p + "o_proj", D, d_.num_heads * hd);
      l.up_gate = matrix(s.up_gate, p + "up_gate", 2 * I, D);
      l.down = matrix(s.down, p + "down_proj", D, I);
      l.input_norm = upload(s.input_norm, D);
      l.post_attn_norm = upload(s.post_attn_norm, D);
      l.pre_ff_norm = upload(s.pre_ff_norm, D);
      l.post_ff_norm = upload(s.post_ff_norm, D);
      layers_.push_back(std::move(l));
    }
    final_norm_ = upload(r.final_norm, D);
    mem::synchronize(be_);
  }

  const gemma2_dims& dims() const noexcept { return d_; }

  /// Hidden states [S, D] (row-major, on the host) of `ids` [S]; `mask` [S] (1 = token, 0 = padding) or empty.
  std::vector<float> forward(std::span<const std::int32_t> ids, std::span<const std::int32_t> mask = {}) {
    const index_t s = static_cast<index_t>(ids.size()), D = d_.hidden_size, hd = d_.head_dim;
    if (s == 0) throw make_error("gemma2", "empty token sequence");
    if (!mask.empty() && static_cast<index_t>(mask.size()) != s)
      throw make_error("gemma2", "mask has ", mask.size(), " entries for ", s, " tokens");
    for (index_t t = 0; t < s; ++t) {
      const std::int32_t id = ids[static_cast<std::size_t>(t)];
      if (id < 0 || id >= d_.vocab_size)
        throw make_error("gemma2", "token id ", id, " at position ", t, " is outside the vocabulary (", d_.vocab_size,
                         ")");
    }
    const index_t nq = d_.num_heads * hd, nkv = d_.num_kv_heads * hd, nqkv = nq + 2 * nkv, I = d_.intermediate_size;
    const index_t half = hd / 2;

    // Host-made tables: the ids, the key-padding bias, the rotate-half cos/sin (as gemma2_encoder forms them).
    auto ids_d = upload_now(std::vector<std::int32_t>(ids.begin(), ids.end()));
    buffer<float> bias_d;
    if (!mask.empty()) {
      std::vector<float> kb(static_cast<std::size_t>(s));
      for (index_t t = 0; t < s; ++t) kb[static_cast<std::size_t>(t)] = mask[static_cast<std::size_t>(t)] ? 0.0f : key_padding_bias;
      bias_d = upload_now(kb);
    }
    std::vector<float> cs(static_cast<std::size_t>(s * half)), sn(cs.size());
    for (index_t i = 0; i < half; ++i) {
      const float inv = 1.0f / static_cast<float>(std::pow(d_.rope_theta, double(2 * i) / double(hd)));
      for (index_t p = 0; p < s; ++p) {
        const float ang = static_cast<float>(p) * inv;
        cs[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::cos(static_cast<double>(ang)));
        sn[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::sin(static_cast<double>(ang)));
      }
    }
    auto cos_d = upload_now(cs), sin_d = upload_now(sn);

    buffer<float> h = alloc(s * D), x = alloc(s * D), qkv = alloc(s * nqkv), attn = alloc(s * nq),
                  ug = alloc(s * 2 * I), act = alloc(s * I);
    parallel_for(be_, s * D,
                 gemma2_detail::embed_body{ids_d.data(), embed_.w32.size() ? embed_.w32.data() : nullptr,
                                           embed_.w16.size() ? embed_.w16.data() : nullptr, h.data(), D,
                                           static_cast<float>(std::sqrt(static_cast<double>(D)))});
    const attention_shape shape{1, s, s, d_.num_heads, d_.num_kv_heads, hd};
    for (index_t li = 0; li < d_.num_layers; ++li) {
      const layer& l = layers_[static_cast<std::size_t>(li)];
      mem::copy(be_, x.data(), h.data(), s * D);
      norm(x.data(), s, l.input_norm);
      linear(x.data(), s, l.qkv, qkv.data());
      parallel_for(be_, s * (d_.num_heads + d_.num_kv_heads) * half,
                   gemma2_detail::rope_half_body{qkv.data(), cos_d.data(), sin_d.data(),
                                                 d_.num_heads + d_.num_kv_heads, half, nqkv});
      const attention_params p = gemma2_detail::layer_attention(
          d_.query_pre_attn_scalar, d_.attn_softcap, d_.sliding[static_cast<std::size_t>(li)], d_.sliding_window,
          mask.empty() ? nullptr : bias_d.data());
      const heads_view<const float> q{qkv.data(), 0, nqkv, hd}, k{qkv.data() + nq, 0, nqkv, hd},
          v{qkv.data() + nq + nkv, 0, nqkv, hd};
      const heads_view<float> o{attn.data(), 0, nq, hd};
      if constexpr (std::is_same_v<Be, cuda_t>) attention_composed(be_, shape, p, q, k, v, o);  // any head dim, fp32
      else attention(be_, shape, p, q, k, v, o);
      linear(attn.data(), s, l.o, x.data());
      norm(x.data(), s, l.post_attn_norm);
      add_inplace_portable(be_, h.data(), x.data(), s * D);
      // GeGLU MLP: down(gelu_tanh(gate(x)) ⊙ up(x)).
      mem::copy(be_, x.data(), h.data(), s * D);
      norm(x.data(), s, l.pre_ff_norm);
      linear(x.data(), s, l.up_gate, ug.data());
      glu(be_, activation::gelu_tanh, make_view(static_cast<const float*>(ug.data()), extents<dyn, dyn>(s, 2 * I)),
          make_view(act.data(), extents<dyn, dyn>(s, I)));
      linear(act.data(), s, l.down, x.data());
      norm(x.data(), s, l.post_ff_norm);
      add_inplace_portable(be_, h.data(), x.data(), s * D);
    }
    norm(h.data(), s, final_norm_);
    std::vector<float> out(static_cast<std::size_t>(s * D));
    mem::to_host(be_, out.data(), h.data(), s * D);
    return out;
  }

 private:
  struct matrix_dev {
    buffer<float> w32;
    buffer<bf16> w16;
    index_t rows = 0, cols = 0;
  };
  struct layer {
    matrix_dev qkv, o, up_gate, down;
    buffer<float> input_norm, post_attn_norm, pre_ff_norm, post_ff_norm;
  };

  buffer<float> alloc(index_t n) { return mem::template make<float>(be_, n); }
  template <class T>
  buffer<T> upload_now(const std::vector<T>& v) {
    buffer<T> d = mem::template make<T>(be_, static_cast<index_t>(v.size()));
    mem::to_backend(be_, d.data(), v.data(), static_cast<index_t>(v.size()));
    return d;
  }
  buffer<float> upload(const float* p, index_t n) {
    if (!p) throw make_error("gemma2", "engine: a norm weight is missing");
    return upload_now(std::vector<float>(p, p + n));
  }
  /// Weights for the compute mode: bf16 compute holds bf16 (fp32 values rounded, as the bf16 GEMM would), fp32 compute
  /// fp32 (bf16 values widened exactly). `keep_dtype` (the embedding table) keeps the checkpoint's precision.
  matrix_dev matrix(const gemma2_matrix_ref& m, const std::string& key, index_t rows, index_t cols,
                    bool keep_dtype = false) {
    if (m.rows != rows || m.cols != cols || (!m.f32 && !m.b16))
      throw make_error("gemma2", "engine: '", key, "' is [", m.rows, ", ", m.cols, "], expected [", rows, ", ", cols,
                       "]");
    matrix_dev d;
    d.rows = rows, d.cols = cols;
    const std::size_t n = static_cast<std::size_t>(rows * cols);
    const bool as_bf16 = keep_dtype ? m.b16 != nullptr : compute_ == gemm_compute::bf16;
    if (as_bf16) {
      std::vector<bf16> w(n);
      for (std::size_t i = 0; i < n; ++i) w[i] = m.b16 ? m.b16[i] : bf16(m.f32[i]);
      d.w16 = upload_now(w);
    } else {
      std::vector<float> w(n);
      for (std::size_t i = 0; i < n; ++i) w[i] = m.f32 ? m.f32[i] : m.b16[i].to_float();
      d.w32 = upload_now(w);
    }
    return d;
  }
  void norm(float* x, index_t rows, const buffer<float>& w) {
    auto xv = make_view(x, extents<dyn, dyn>(rows, d_.hidden_size));
    rms_norm(be_, xv, make_view(w.data(), extents<dyn>(d_.hidden_size)), d_.rms_norm_eps, xv);
  }
  /// y[m, rows] = x[m, cols] · Wᵀ.
  void linear(const float* x, index_t m, const matrix_dev& w, float* y) {
    if (compute_ == gemm_compute::bf16) {
      buffer<bf16> a = mem::template make<bf16>(be_, m * w.cols);
      activate_portable(be_, activation::identity, make_view(x, extents<dyn, dyn>(m, w.cols)),
                        make_view(a.data(), extents<dyn, dyn>(m, w.cols)));
      gemm_args<bf16, bf16, float> p;
      p.m = m, p.n = w.rows, p.k = w.cols;
      p.a = a.data(), p.lda = w.cols, p.b = w.w16.data(), p.ldb = w.cols, p.c = y, p.ldc = w.rows;
      p.compute = gemm_compute::bf16;
      gemm(be_, p);
    } else {
      gemm_args<float, float, float> p;
      p.m = m, p.n = w.rows, p.k = w.cols;
      p.a = x, p.lda = w.cols, p.b = w.w32.data(), p.ldb = w.cols, p.c = y, p.ldc = w.rows;
      p.compute = gemm_compute::fp32;
      gemm(be_, p);
    }
  }

  Be be_;
  gemma2_dims d_;
  gemm_compute compute_;
  matrix_dev embed_;
  std::vector<layer> layers_;
  buffer<float> final_norm_;
};

}  // namespace sanawm::text

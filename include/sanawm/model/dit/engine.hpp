// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/engine.hpp — the SANA-WM DiT forward written once over a backend tag: dit_engine<cuda_t> runs it on
// a GPU, dit_engine<cpu_t> runs the very same code on the host (how the GPU path is checked against the golden
// data on machines without one). Weights live where the backend runs (uploaded once from dit_refs); every step is
// a library kernel (gemm, attention, gdn_frame, rms_norm, layer_norm_modulate, gated_residual, rope, UCPE raymats,
// depthwise_conv3x3_glu) or a small portable body (glue.hpp). Same modes as the CPU forward (dit.hpp): bidirectional,
// chunk-causal, and streaming chunk calls with caches held in backend memory.
//
// Include it through engine_cpu.hpp (g++) or engine_cuda.cuh (nvcc), which bring the backend's kernels first.
// The CPU forward in dit.hpp stays the fast host path (packed weights, fused loops); this one is the device path.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sanawm/backend/memory.hpp"                 // backend_memory
#include "sanawm/backend/tags.hpp"                   // backend, cpu_t, cuda_t
#include "sanawm/config.hpp"                         // SANAWM_HD
#include "sanawm/core/bf16.hpp"                      // bf16
#include "sanawm/core/error.hpp"                     // make_error, str_cat
#include "sanawm/core/int.hpp"                       // index_t, dyn
#include "sanawm/core/tensor.hpp"                    // tensor_view, make_view
#include "sanawm/kernels/attention/attention.hpp"    // attention_params, attention_shape, heads_view
#include "sanawm/kernels/elementwise/elementwise.hpp" // apply_activation, activation
#include "sanawm/kernels/gdn/gdn.hpp"                // gdn_inputs, gdn_options, gdn_state, views
#include "sanawm/kernels/gemm/gemm.hpp"              // gemm_args
#include "sanawm/kernels/plucker/ucpe.hpp"           // ucpe_raymats, ucpe_matrix, ucpe_mul4
#include "sanawm/kernels/rope/rope.hpp"              // rope_spec, make_rope_tables, rope_table_view
#include "sanawm/model/dit/block_calls.hpp"             // gdn_block_call, softmax_block_params
#include "sanawm/model/dit/glue.hpp"                    // glue:: bodies
#include "sanawm/model/dit/inputs.hpp"               // dit_inputs, forward_options, check_inputs
#include "sanawm/model/dit/refs.hpp"                 // dit_refs
#include "sanawm/model/sampler/denoiser.hpp"          // sampler::denoiser (engine_denoiser)

namespace sanawm::dit {


// ---- the engine --------------------------------------------------------------------------------------------------

/// Construction-time options of a dit_engine.
struct engine_options {
  /// bf16 compute: weights held in bf16, every linear layer's input rounded to bf16, fp32 accumulation (as the CPU
  /// forward with weight_dtype::bf16 and bf16_activations). On CUDA the softmax attentions then run the bf16 flash
  /// kernel; in fp32 mode they run the composed fp32 path.
  bool bf16 = false;
};

/// Streaming caches of one block in backend memory (the CPU forward's block_cache).
template <backend Be>
struct engine_block_cache {
  template <class T>
  using buffer = typename backend_memory<Be>::template buffer<T>;
  buffer<float> S, z, S_cam;     ///< [B, H, D, D] (key × value), [B, H, D], [B, H, D, D]
  buffer<float> k_left, kc_left; ///< [B, K−1, S, C] raw keys before the short conv
  buffer<float> ffn_left;        ///< [B, S, C] t_conv input of the last cached frame
  bool has_ffn_left = false;
  struct chunk_kv {
    index_t tokens = 0;
    buffer<float> k, v, kc, vc;  ///< [B, tokens, C]
  };
  std::vector<chunk_kv> kv;  ///< cached softmax chunks, oldest first
};

/// Streaming state across chunk calls of a dit_engine<Be>.
template <backend Be>
struct engine_stream_state {
  index_t frames_done = 0;        ///< absolute index of the next chunk's first frame
  index_t num_cached_chunks = 0;  ///< softmax window (0 = unlimited); with a window chunk 0 stays as the sink
  std::vector<engine_block_cache<Be>> blocks;
};

/// Bytes the state holds in backend memory (GDN states, conv left contexts, cached softmax K/V).
template <backend Be>
std::size_t state_bytes(const engine_stream_state<Be>& s) noexcept {
  std::size_t n = 0;
  for (const auto& b : s.blocks) {
    n += static_cast<std::size_t>(b.S.size() + b.z.size() + b.S_cam.size() + b.k_left.size() + b.kc_left.size() +
                                  b.ffn_left.size()) * sizeof(float);
    for (const auto& kv : b.kv)
      n += static_cast<std::size_t>(kv.k.size() + kv.v.size() + kv.kc.size() + kv.vc.size()) * sizeof(float);
  }
  return n;
}

/// The DiT on backend Be. Construction uploads the weights (dit_refs: fp32 or bf16 host values) once; forward /
/// forward_stream take host inputs and return the host output [B, Cin, T, Hl, Wl], running everything in between on
/// the backend. Not thread-safe (one call at a time per engine).
template <backend Be>
class dit_engine {
  using mem = backend_memory<Be>;
  template <class T>
  using buffer = typename mem::template buffer<T>;

 public:
  dit_engine(Be be, const dit_refs& r, engine_options opt = {}) : be_(be), opt_(opt), c_(r.config) {
    c_.validate();
    if (static_cast<index_t>(r.blocks.size()) != c_.depth)
      throw make_error("dit", "engine: ", r.blocks.size(), " blocks given for a config of depth ", c_.depth);
    const index_t C = c_.hidden, F = c_.ffn_hidden(), H = c_.heads(), K = c_.conv_kernel;
    x_embedder_ = linear(r.x_embedder, "x_embedder", C, c_.in_channels);
    t_mlp0_ = linear(r.t_mlp0, "t_embedder.mlp.0", C, c_.timestep_freq_dim);
    t_mlp2_ = linear(r.t_mlp2, "t_embedder.mlp.2", C, C);
    t_block_ = linear(r.t_block, "t_block.1", 6 * C, C);
    y_fc1_ = linear(r.y_fc1, "y_embedder.y_proj.fc1", C, c_.caption_channels);
    y_fc2_ = linear(r.y_fc2, "y_embedder.y_proj.fc2", C, C);
    plucker_embedder_ = linear(r.plucker_embedder, "plucker_embedder", C, c_.plucker_channels);
    final_linear_ = linear(r.final_linear, "final_layer.linear", c_.in_channels, C);
    attention_y_norm_ = vector(r.attention_y_norm, "attention_y_norm", C);
    final_sst_ = vector(r.final_scale_shift_table, "final_layer.scale_shift_table", 2 * C);
    blocks_.resize(static_cast<std::size_t>(c_.depth));
    for (index_t i = 0; i < c_.depth; ++i) {
      const block_ref& s = r.blocks[static_cast<std::size_t>(i)];
      block& d = blocks_[static_cast<std::size_t>(i)];
      const std::string p = str_cat("blocks.", i, ".");
      d.kind = c_.kind(i);
      if (s.kind != d.kind) throw make_error("dit", "engine: ", p, " kind disagrees with the config");
      d.sst = vector(s.scale_shift_table, p + "scale_shift_table", 6 * C);
      if (c_.has_plucker_proj(i)) d.plucker_proj = linear(s.plucker_proj, p + "plucker_proj", C, C);
      const attn_ref& a = s.attn;
      d.qkv = linear(a.qkv, p + "attn.qkv", 3 * C, C);
      d.proj = linear(a.proj, p + "attn.proj", C, C);
      d.output_gate = linear(a.output_gate, p + "attn.output_gate", C, C);
      d.q_proj_cam = linear(a.q_proj_cam, p + "attn.q_proj_cam", C, C);
      d.k_proj_cam = linear(a.k_proj_cam, p + "attn.k_proj_cam", C, C);
      d.v_proj_cam = linear(a.v_proj_cam, p + "attn.v_proj_cam", C, C);
      d.out_proj_cam = linear(a.out_proj_cam, p + "attn.out_proj_cam", C, C);
      d.q_norm = vector(a.q_norm, p + "attn.q_norm", C);
      d.k_norm = vector(a.k_norm, p + "attn.k_norm", C);
      d.q_norm_cam = vector(a.q_norm_cam, p + "attn.q_norm_cam", C);
      d.k_norm_cam = vector(a.k_norm_cam, p + "attn.k_norm_cam", C);
      if (d.kind == block_kind::gdn) {
        d.beta_proj = linear(a.beta_proj, p + "attn.beta_proj", H, C);
        d.gate_proj = linear(a.gate_proj, p + "attn.gate_proj", H, C);
        d.A_log = vector(a.A_log, p + "attn.A_log", H);
        d.dt_bias = vector(a.dt_bias, p + "attn.dt_bias", H);
        d.conv_k = taps(a.conv_k, p + "attn.conv_k", C, K);
        d.conv_k_cam = taps(a.conv_k_cam, p + "attn.conv_k_cam", C, K);
      }
      d.q_linear = linear(s.cross.q_linear, p + "cross_attn.q_linear", C, C);
      d.kv_linear = linear(s.cross.kv_linear, p + "cross_attn.kv_linear", 2 * C, C);
      d.cross_proj = linear(s.cross.proj, p + "cross_attn.proj", C, C);
      d.cross_q_norm = vector(s.cross.q_norm, p + "cross_attn.q_norm", C);
      d.cross_k_norm = vector(s.cross.k_norm, p + "cross_attn.k_norm", C);
      d.inverted_conv = linear(s.mlp.inverted_conv, p + "mlp.inverted_conv", 2 * F, C);
      d.point_conv = linear(s.mlp.point_conv, p + "mlp.point_conv", C, F);
      d.depth_w = vector(s.mlp.depth_w, p + "mlp.depth_conv.conv.weight", 2 * F * 9);
      d.depth_b = vector(s.mlp.depth_b, p + "mlp.depth_conv.conv.bias", 2 * F);
      d.t_conv = t_conv(s.mlp.t_conv, p + "mlp.t_conv", C);
    }
    mem::synchronize(be_);
  }

  const dit_config& config() const noexcept { return c_; }
  const engine_options& options() const noexcept { return opt_; }
  /// Bytes of the uploaded weights in backend memory.
  std::size_t weight_bytes() const noexcept { return weight_bytes_; }

  /// One full-sequence forward (bidirectional or chunk-causal; opt.bf16_activations is ignored: the engine's
  /// precision is set at construction). Returns the flow velocity [B, Cin, T, Hl, Wl] on the host.
  std::vector<float> forward(const dit_inputs& in, const forward_options& opt = {}) {
    std::vector<index_t> starts{0};
    if (opt.mode == dit_mode::chunk_causal)
      starts = opt.chunk_index.empty() ? chunk_starts(in.T, c_.chunk_size) : opt.chunk_index;
    return run_segment(in, 0, std::move(starts), opt, nullptr, false);
  }

  /// One streaming chunk call (see dit_forward_stream): reads the caches, and with write_cache appends this chunk
  /// to them and advances state.frames_done.
  std::vector<float> forward_stream(engine_stream_state<Be>& state, const dit_inputs& in, bool write_cache,
                                    const forward_options& opt = {}) {
    return run_segment(in, state.frames_done, {0}, opt, &state, write_cache);
  }

 private:
  struct linear_dev {
    buffer<float> w32;
    buffer<bf16> w16;
    buffer<float> bias;
    index_t out = 0, in = 0;
  };
  struct block {
    block_kind kind = block_kind::gdn;
    buffer<float> sst;
    linear_dev plucker_proj, qkv, proj, beta_proj, gate_proj, output_gate, q_proj_cam, k_proj_cam, v_proj_cam,
        out_proj_cam, q_linear, kv_linear, cross_proj, inverted_conv, point_conv, t_conv;
    buffer<float> q_norm, k_norm, q_norm_cam, k_norm_cam, A_log, dt_bias, conv_k, conv_k_cam, cross_q_norm,
        cross_k_norm, depth_w, depth_b;
  };

  // ---- upload ----
  /// A weight to the backend (counted in weight_bytes()).
  template <class T>
  buffer<T> upload(const std::vector<T>& host) {
    weight_bytes_ += host.size() * sizeof(T);
    return upload_now(host);
  }
  static std::vector<float> widen(const tensor_ref& t) {
    std::vector<float> v(static_cast<std::size_t>(t.n));
    for (index_t i = 0; i < t.n; ++i) v[static_cast<std::size_t>(i)] = t[i];
    return v;
  }
  static void expect_size(const tensor_ref& t, const std::string& key, index_t n) {
    if (t.n != n) throw make_error("dit", "engine: '", key, "' has ", t.n, " values, expected ", n);
  }
  buffer<float> vector(const tensor_ref& t, const std::string& key, index_t n) {
    expect_size(t, key, n);
    return upload(widen(t));
  }
  linear_dev linear(const linear_ref& l, const std::string& key, index_t out, index_t in) {
    if (l.out != out || l.in != in)
      throw make_error("dit", "engine: '", key, "' is [", l.out, ", ", l.in, "], expected [", out, ", ", in, "]");
    expect_size(l.weight, key + ".weight", out * in);
    linear_dev d;
    d.out = out, d.in = in;
    if (opt_.bf16) {
      std::vector<bf16> w(static_cast<std::size_t>(out * in));
      for (index_t i = 0; i < out * in; ++i)
        w[static_cast<std::size_t>(i)] = l.weight.b16 ? l.weight.b16[i] : bf16(l.weight.f32[i]);
      d.w16 = upload(w);
    } else {
      d.w32 = upload(widen(l.weight));
    }
    if (!l.bias.empty()) d.bias = vector(l.bias, key + ".bias", out);
    return d;
  }
  /// conv_k [C, 1, K] → taps [K][C].
  buffer<float> taps(const tensor_ref& t, const std::string& key, index_t C, index_t K) {
    expect_size(t, key, C * K);
    std::vector<float> w(static_cast<std::size_t>(K * C));
    for (index_t c = 0; c < C; ++c)
      for (index_t k = 0; k < K; ++k) w[static_cast<std::size_t>(k * C + c)] = t[c * K + k];
    return upload(w);
  }
  /// t_conv [C, C, 3, 1] → one [3C, C] linear whose rows k·C + o hold W[o, :, k]: one GEMM gives all three taps.
  linear_dev t_conv(const tensor_ref& t, const std::string& key, index_t C) {
    expect_size(t, key, 3 * C * C);
    linear_dev d;
    d.out = 3 * C, d.in = C;
    std::vector<float> w(static_cast<std::size_t>(3 * C * C));
    for (index_t o = 0; o < C; ++o)
      for (index_t i = 0; i < C; ++i)
        for (index_t k = 0; k < 3; ++k) w[static_cast<std::size_t>((k * C + o) * C + i)] = t[(o * C + i) * 3 + k];
    if (opt_.bf16) {
      std::vector<bf16> wb(w.size());
      for (std::size_t i = 0; i < w.size(); ++i) wb[i] = bf16(w[i]);  // exact for bf16-held values
      d.w16 = upload(wb);
    } else {
      d.w32 = upload(w);
    }
    return d;
  }

  // ---- helpers ----
  buffer<float> alloc(index_t n) { return mem::template make<float>(be_, n); }
  template <class T>
  buffer<T> upload_now(const std::vector<T>& host) {
    buffer<T> d = mem::template make<T>(be_, static_cast<index_t>(host.size()));
    mem::to_backend(be_, d.data(), host.data(), static_cast<index_t>(host.size()));
    return d;
  }
  template <class Body>
  void each(index_t n, const Body& body) {
    parallel_for(be_, n, body);
  }
  /// dst [rows, cols] = bf16(src rows of stride lds): the bf16 compute mode's rounding of a GEMM input.
  void to_bf16(const float* src, index_t lds, index_t rows, index_t cols, bf16* dst) {
    using E = extents<dyn, dyn>;
    const index_t st[2] = {lds, 1};
    activate_portable(be_, activation::identity,
                      tensor_view<const float, E, layout_stride>(src, layout_stride::mapping<E>(E(rows, cols), st)),
                      make_view(dst, E(rows, cols)));
  }
  void emit(const forward_options& o, std::string_view name, const float* p, std::vector<index_t> shape) {
    if (!o.on_intermediate) return;
    index_t n = 1;
    for (index_t d : shape) n *= d;
    std::vector<float> h(static_cast<std::size_t>(n));
    mem::to_host(be_, h.data(), p, n);
    o.on_intermediate(name, h, std::move(shape));
  }

  /// out[r, col0 + o] (row stride ld_out) = act(Σ_i in[r·ld_in + i]·W[o, i] + b[o]) for r < rows.
  void run_linear(const linear_dev& l, const float* in, index_t rows, float* out, index_t ld_in = -1,
                  index_t ld_out = -1, gemm_activation act = gemm_activation::none, index_t n_out = -1) {
    if (rows <= 0) return;
    if (ld_in < 0) ld_in = l.in;
    if (ld_out < 0) ld_out = l.out;
    const index_t n = n_out < 0 ? l.out : n_out;
    const float* bias = l.bias.size() > 0 ? l.bias.data() : nullptr;
    auto run = [&](const auto* a, index_t lda, const auto* w, gemm_compute compute) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(a)>>;
      gemm_args<T, T, float> p;
      p.m = rows, p.n = n, p.k = l.in;
      p.a = a, p.lda = lda;
      p.b = w, p.ldb = l.in;
      p.c = out, p.ldc = ld_out;
      p.epilogue.bias = bias;
      p.epilogue.activation = act;
      p.compute = compute;
      gemm(be_, p);
    };
    if (opt_.bf16) {
      buffer<bf16> a = mem::template make<bf16>(be_, rows * l.in);
      to_bf16(in, ld_in, rows, l.in, a.data());
      run(static_cast<const bf16*>(a.data()), l.in, static_cast<const bf16*>(l.w16.data()), gemm_compute::bf16);
    } else {
      run(in, ld_in, static_cast<const float*>(l.w32.data()), gemm_compute::fp32);
    }
  }

  /// RMSNorm over C channels of `rows` rows (stride ld), in place, then optionally ReLU·scale.
  void rmsnorm(float* x, index_t rows, index_t ld, const buffer<float>& w, double eps, float relu_scale = 0.0f) {
    using E = extents<dyn, dyn>;
    const index_t C = c_.hidden, st[2] = {ld, 1};
    const auto xv = tensor_view<float, E, layout_stride>(x, layout_stride::mapping<E>(E(rows, C), st));
    rms_norm(be_, xv, make_view(w.data(), extents<dyn>(C)), static_cast<float>(eps), xv);
    if (relu_scale > 0.0f) each(rows * C, glue::relu_scale_body{x, ld, C, relu_scale});
  }

  /// Softmax attention of all heads of one batch row (q rows of stride ldq; k/v rows of stride ldkv).
  void attend(const float* q, index_t ldq, index_t Nq, const float* k, const float* v, index_t ldkv, index_t Nk,
              const attention_params& p, float* out, index_t ld_out) {
    const index_t H = c_.heads(), D = c_.head_dim;
    const attention_shape shape{1, Nq, Nk, H, H, D};
    const heads_view<float> ov{out, 0, ld_out, D};
#if defined(SANAWM_ATTENTION_CUDA_HEAD_DIMS)  // engine_cuda.cuh: the CUDA attention kernels are declared
    if constexpr (std::is_same_v<Be, cuda_t>) {
      if (opt_.bf16) {  // the flash kernel takes bf16 rows with 16-byte alignment: contiguous [N, C] copies
        const index_t C = c_.hidden;
        buffer<bf16> qb = mem::template make<bf16>(be_, Nq * C), kb = mem::template make<bf16>(be_, Nk * C),
                     vb = mem::template make<bf16>(be_, Nk * C);
        to_bf16(q, ldq, Nq, C, qb.data());
        to_bf16(k, ldkv, Nk, C, kb.data());
        to_bf16(v, ldkv, Nk, C, vb.data());
        const heads_view<const bf16> qv{qb.data(), 0, C, D}, kv{kb.data(), 0, C, D}, vv{vb.data(), 0, C, D};
        bool on_menu = false;
        for (index_t d : {SANAWM_ATTENTION_CUDA_HEAD_DIMS}) on_menu = on_menu || d == D;
        if (on_menu) attention(be_, shape, p, qv, kv, vv, ov);
        else attention_composed(be_, shape, p, qv, kv, vv, ov);
        return;
      }
      const heads_view<const float> qv{q, 0, ldq, D}, kv{k, 0, ldkv, D}, vv{v, 0, ldkv, D};
      attention_composed(be_, shape, p, qv, kv, vv, ov);
    } else
#endif
    {
      const heads_view<const float> qv{q, 0, ldq, D}, kv{k, 0, ldkv, D}, vv{v, 0, ldkv, D};
      bool on_menu = false;
      for (index_t d : {SANAWM_ATTENTION_HEAD_DIMS}) on_menu = on_menu || d == D;
      if (on_menu) attention(be_, shape, p, qv, kv, vv, ov);
      else attention_composed(be_, shape, p, qv, kv, vv, ov);
    }
  }

  /// One call's working set.
  struct segment {
    index_t B, T, Hl, Wl, S, N, L;
    std::vector<index_t> starts;
    bool strict_mask;
    buffer<index_t> chunk_end;  ///< [T]
    buffer<float> rope_t, rope_h, rope_w;
    rope_table_view rope;
    buffer<float> raymats;   ///< [B, N, 16]
    buffer<float> y_normed;  ///< [B, L, C]
    buffer<float> key_bias;  ///< [B, L]
    buffer<float> t0;        ///< [B, T, 6C]
    buffer<float> plucker;   ///< [B, N, C]
  };

  void attention_block(segment& sg, block& bw, const float* u, engine_block_cache<Be>* cache, bool update,
                       float* out) {
    const index_t C = c_.hidden, H = c_.heads(), D = c_.head_dim, N = sg.N, S = sg.S, T = sg.T, K = c_.conv_kernel;
    const bool gdn = bw.kind == block_kind::gdn;
    const double kappa = 1.0 / std::sqrt(double(D) * double(S));
    buffer<float> qkv = alloc(N * 3 * C), qc = alloc(N * C), kc = alloc(N * C), vc = alloc(N * C),
                  kcraw = alloc(N * C), om = alloc(N * C), oc = alloc(N * C), gate = alloc(N * C),
                  ocp = alloc(N * C);
    const std::size_t n_cached = cache ? cache->kv.size() : 0;
    const rope_spec main_spec = rope_spec::main_branch(D, c_.rope_theta);
    const rope_spec cam_spec = rope_spec::camera_branch(D, c_.rope_theta);
    using E4 = extents<dyn, dyn, dyn, dyn>;
    auto heads4 = [&](float* p, index_t ld) {  // [1, N, H, D] rows of stride ld
      const index_t st[4] = {N * ld, ld, D, 1};
      return tensor_view<float, E4, layout_stride>(p, layout_stride::mapping<E4>(E4(1, N, H, D), st));
    };
    for (index_t b = 0; b < sg.B; ++b) {
      const float* ub = u + b * N * C;
      run_linear(bw.qkv, ub, N, qkv.data());
      run_linear(bw.q_proj_cam, ub, N, qc.data());
      run_linear(bw.k_proj_cam, ub, N, kcraw.data());
      run_linear(bw.v_proj_cam, ub, N, vc.data());
      float* q = qkv.data();
      float* k = qkv.data() + C;
      float* v = qkv.data() + 2 * C;
      const index_t ld = 3 * C;
      if (gdn) {
        const index_t left_sz = (K - 1) * S * C;
        buffer<float> kraw = alloc(N * C);
        const bool have_left = cache && cache->k_left.size() > 0;
        const float* kl = have_left ? cache->k_left.data() + b * left_sz : nullptr;
        const float* kcl = have_left ? cache->kc_left.data() + b * left_sz : nullptr;
        each(N * C, glue::short_conv_body{k, ld, bw.conv_k.data(), kl, sg.chunk_end.data(), kraw.data(), S,
                                                   C, K});
        each(N * C, glue::short_conv_body{kcraw.data(), C, bw.conv_k_cam.data(), kcl, sg.chunk_end.data(),
                                                   kc.data(), S, C, K});
        if (cache && update && K > 1) {
          if (cache->k_left.size() == 0) {
            cache->k_left = alloc(sg.B * left_sz);
            cache->kc_left = alloc(sg.B * left_sz);
            mem::zero(be_, cache->k_left.data(), sg.B * left_sz);
            mem::zero(be_, cache->kc_left.data(), sg.B * left_sz);
          }
          buffer<float> next = alloc(left_sz);
          auto roll = [&](buffer<float>& buf, const float* src, index_t ldsrc) {
            float* mine = buf.data() + b * left_sz;
            each(left_sz, glue::roll_left_body{mine, src, ldsrc, next.data(), T, S, C, K});
            mem::copy(be_, mine, next.data(), left_sz);
          };
          roll(cache->k_left, k, ld);
          roll(cache->kc_left, kcraw.data(), C);
        }
        each(N * C, glue::copy_rows_body{kraw.data(), C, k, ld, C});
      } else {
        mem::copy(be_, kc.data(), kcraw.data(), N * C);
      }
      const float qs = gdn ? 1.0f : 0.0f, ks = gdn ? static_cast<float>(kappa) : 0.0f;
      rmsnorm(q, N, ld, bw.q_norm, c_.norm_eps, qs);
      rmsnorm(k, N, ld, bw.k_norm, c_.norm_eps, ks);
      rmsnorm(qc.data(), N, C, bw.q_norm_cam, c_.norm_eps, qs);
      rmsnorm(kc.data(), N, C, bw.k_norm_cam, c_.norm_eps, ks);
      // Unrotated copies: the GDN denominator reads q/k before RoPE, the camera β the keys before UCPE.
      buffer<float> qz = alloc(gdn ? N * C : 0), kz = alloc(gdn ? N * C : 0), kc_pre = alloc(gdn ? N * C : 0);
      if (gdn) {
        each(N * C, glue::copy_rows_body{q, ld, qz.data(), C, C});
        each(N * C, glue::copy_rows_body{k, ld, kz.data(), C, C});
        mem::copy(be_, kc_pre.data(), kc.data(), N * C);
      }
      const float* P = sg.raymats.data() + b * N * 16;
      rope(be_, heads4(q, ld), sg.rope, main_spec, heads4(q, ld));
      rope(be_, heads4(k, ld), sg.rope, main_spec, heads4(k, ld));
      each(N * H, glue::ucpe_heads_body{qc.data(), C, H, D, P, ucpe_op::query});
      each(N * H, glue::ucpe_heads_body{kc.data(), C, H, D, P, ucpe_op::key_value});
      each(N * H, glue::ucpe_heads_body{vc.data(), C, H, D, P, ucpe_op::key_value});
      rope(be_, heads4(qc.data(), C), sg.rope, cam_spec, heads4(qc.data(), C));
      rope(be_, heads4(kc.data(), C), sg.rope, cam_spec, heads4(kc.data(), C));
      rope(be_, heads4(vc.data(), C), sg.rope, cam_spec, heads4(vc.data(), C));
      if (gdn) {
        buffer<float> beta = alloc(N * H), beta_c = alloc(N * H), ubar = alloc(T * C), gam = alloc(T * H);
        run_linear(bw.beta_proj, ub, N, beta.data());
        each(N * H, glue::activate_body{beta.data(), activation::sigmoid});
        each(T * C, glue::token_mean_body{ub, ubar.data(), S, C});
        run_linear(bw.gate_proj, ubar.data(), T, gam.data());
        each(T * H, glue::decay_gate_body{gam.data(), bw.A_log.data(), bw.dt_bias.data(), H});
        const gdn_block_call g{T, S, H, D};
        gdn_camera_beta(be_, g.tokens(kc_pre.data(), C), g.tokens(kc.data(), C), g.token_gates(beta.data()),
                        g.token_scalars_out(beta_c.data()));
        const gdn_options go = gdn_block_call::options(sg.starts, c_.gdn_eps);
        if (cache && update && cache->S.size() == 0) {
          cache->S = alloc(sg.B * H * D * D);
          cache->z = alloc(sg.B * H * D);
          cache->S_cam = alloc(sg.B * H * D * D);
          mem::zero(be_, cache->S.data(), cache->S.size());
          mem::zero(be_, cache->z.data(), cache->z.size());
          mem::zero(be_, cache->S_cam.data(), cache->S_cam.size());
        }
        gdn_state gs, gsc;
        if (cache && cache->S.size() > 0)
          g.bind_states(cache->S.data() + b * H * D * D, cache->z.data() + b * H * D,
                        cache->S_cam.data() + b * H * D * D, update, gs, gsc);
        gdn_outputs go_out;
        go_out.out = g.tokens_out(om.data(), C);
        const gdn_frame_gates_view gamma = g.frame_gates(gam.data());
        gdn_frame(be_, gdn_inputs{g.tokens(qz.data(), C), g.tokens(q, ld), g.tokens(kz.data(), C), g.tokens(k, ld),
                                  g.tokens(v, ld), g.token_gates(beta.data()), gamma},
                  go_out, go, gs);
        gdn_camera_frame(be_, gdn_camera_inputs{g.tokens(qc.data(), C), g.tokens(kc.data(), C), g.tokens(vc.data(), C),
                                                g.token_gates(beta_c.data()), gamma},
                         g.tokens_out(oc.data(), C), go, gsc);
      } else {
        // Softmax main + camera branch over [cached chunks ‖ this segment].
        index_t Nc = 0;
        for (std::size_t e = 0; e < n_cached; ++e) Nc += cache->kv[e].tokens;
        const index_t Nk = Nc + N;
        buffer<float> Kall = alloc(Nk * C), V = alloc(Nk * C), KC = alloc(Nk * C), VC = alloc(Nk * C);
        index_t off = 0;
        for (std::size_t ei = 0; ei < n_cached; ++ei) {
          const auto& e = cache->kv[ei];
          const index_t sz = e.tokens * C;
          mem::copy(be_, Kall.data() + off * C, e.k.data() + b * sz, sz);
          mem::copy(be_, V.data() + off * C, e.v.data() + b * sz, sz);
          mem::copy(be_, KC.data() + off * C, e.kc.data() + b * sz, sz);
          mem::copy(be_, VC.data() + off * C, e.vc.data() + b * sz, sz);
          off += e.tokens;
        }
        each(N * C, glue::copy_rows_body{k, ld, Kall.data() + Nc * C, C, C});
        each(N * C, glue::copy_rows_body{v, ld, V.data() + Nc * C, C, C});
        mem::copy(be_, KC.data() + Nc * C, kc.data(), N * C);
        mem::copy(be_, VC.data() + Nc * C, vc.data(), N * C);
        const softmax_block_params sp(c_, sg.starts, T, S, Nc, sg.strict_mask);
        const attention_params &pm = sp.main, &pc = sp.camera;
        attend(q, ld, N, Kall.data(), V.data(), C, Nk, pm, om.data(), C);
        attend(qc.data(), C, N, KC.data(), VC.data(), C, Nk, pc, oc.data(), C);
        if (cache && update) {
          if (b == 0) {
            typename engine_block_cache<Be>::chunk_kv e;
            e.tokens = N;
            e.k = alloc(sg.B * N * C);
            e.v = alloc(sg.B * N * C);
            e.kc = alloc(sg.B * N * C);
            e.vc = alloc(sg.B * N * C);
            cache->kv.push_back(std::move(e));
          }
          auto& e = cache->kv.back();
          const index_t o = b * N * C, sz = N * C;
          mem::copy(be_, e.k.data() + o, Kall.data() + Nc * C, sz);
          mem::copy(be_, e.v.data() + o, V.data() + Nc * C, sz);
          mem::copy(be_, e.kc.data() + o, KC.data() + Nc * C, sz);
          mem::copy(be_, e.vc.data() + o, VC.data() + Nc * C, sz);
        }
      }
      // Camera output back to the world frame (UCPE output transform, inverse camera RoPE), out_proj_cam, gate, proj.
      each(N * H, glue::ucpe_heads_body{oc.data(), C, H, D, P, ucpe_op::output});
      rope(be_, heads4(oc.data(), C), sg.rope, cam_spec, heads4(oc.data(), C), true);
      run_linear(bw.out_proj_cam, oc.data(), N, ocp.data());
      run_linear(bw.output_gate, ub, N, gate.data());
      each(N * C, glue::output_gate_body{om.data(), ocp.data(), gate.data()});
      run_linear(bw.proj, om.data(), N, out + b * N * C);
    }
  }

  void cross_attention(segment& sg, block& bw, const float* x, index_t b, float* out) {
    const index_t C = c_.hidden, N = sg.N, L = sg.L, D = c_.head_dim;
    buffer<float> q = alloc(N * C), kv = alloc(L * 2 * C), o = alloc(N * C);
    run_linear(bw.q_linear, x, N, q.data());
    run_linear(bw.kv_linear, sg.y_normed.data() + b * L * C, L, kv.data());
    rmsnorm(q.data(), N, C, bw.cross_q_norm, c_.cross_norm_eps);
    rmsnorm(kv.data(), L, 2 * C, bw.cross_k_norm, c_.cross_norm_eps);
    attention_params p;
    p.scale = static_cast<float>(1.0 / std::sqrt(double(D)));
    p.key_bias = sg.key_bias.data() + b * L;  // 0 or −10000 per caption token
    attend(q.data(), C, N, kv.data(), kv.data() + C, 2 * C, L, p, o.data(), C);
    run_linear(bw.cross_proj, o.data(), N, out);
  }

  void ffn(segment& sg, block& bw, const float* m, index_t b, engine_block_cache<Be>* cache, bool update,
           float* out) {
    const index_t C = c_.hidden, F = c_.ffn_hidden(), N = sg.N, S = sg.S, T = sg.T;
    buffer<float> h1 = alloc(N * 2 * F), g = alloc(N * F), y = alloc(N * C), z = alloc(N * 3 * C);
    run_linear(bw.inverted_conv, m, N, h1.data(), -1, -1, gemm_activation::silu);
    using E5 = extents<dyn, dyn, dyn, dyn, dyn>;
    depthwise_conv3x3_glu(be_, make_view(static_cast<const float*>(h1.data()), E5(1, T, sg.Hl, sg.Wl, 2 * F)),
                          make_view(static_cast<const float*>(bw.depth_w.data()), extents<dyn, dyn, dyn>(2 * F, 3, 3)),
                          make_view(static_cast<const float*>(bw.depth_b.data()), extents<dyn>(2 * F)),
                          activation::silu, make_view(g.data(), E5(1, T, sg.Hl, sg.Wl, F)));
    run_linear(bw.point_conv, g.data(), N, y.data());
    // out = y + t_conv(y): the three taps' products in one GEMM, then the shifted sum.
    run_linear(bw.t_conv, y.data(), N, z.data());
    const bool left = cache && cache->has_ffn_left;
    buffer<float> zl = alloc(left ? S * C : 0);
    if (left) run_linear(bw.t_conv, cache->ffn_left.data() + b * S * C, S, zl.data(), C, C, gemm_activation::none, C);
    each(N * C, glue::tconv_combine_body{y.data(), z.data(), left ? zl.data() : nullptr,
                                                  sg.chunk_end.data(), out, S, C});
    if (cache && update) {
      if (cache->ffn_left.size() == 0) {
        cache->ffn_left = alloc(sg.B * S * C);
        mem::zero(be_, cache->ffn_left.data(), sg.B * S * C);
      }
      mem::copy(be_, cache->ffn_left.data() + b * S * C, y.data() + (T - 1) * S * C, S * C);
      if (b == sg.B - 1) cache->has_ffn_left = true;
    }
  }

  std::vector<float> run_segment(const dit_inputs& in, index_t f0, std::vector<index_t> starts,
                                 const forward_options& opt, engine_stream_state<Be>* st, bool update) {
    check_inputs(c_, in);
    check_chunk_starts(starts, in.T);
    const index_t C = c_.hidden, Cin = c_.in_channels, B = in.B, T = in.T, Hl = in.Hl, Wl = in.Wl, S = Hl * Wl,
                  N = T * S, L = in.L, Pc = c_.plucker_channels;
    segment sg;
    sg.B = B, sg.T = T, sg.Hl = Hl, sg.Wl = Wl, sg.S = S, sg.N = N, sg.L = L;
    sg.starts = starts;
    sg.strict_mask = opt.strict_softmax_chunk_mask || st != nullptr;
    sg.chunk_end = upload_now(chunk_ends(T, starts));
    {  // RoPE tables (float64-computed, fp32) for frames [f0, f0 + T) of this grid
      const rope_tables tab = make_rope_tables(rope_spec::main_branch(c_.head_dim, c_.rope_theta), T, Hl, Wl, f0);
      auto up = [&](const auto& t, buffer<float>& dst) {
        dst = upload_now(std::vector<float>(t.data(), t.data() + t.size()));
        return tensor_view<const float, extents<dyn, dyn, 2>>(dst.data(), t.extents());
      };
      sg.rope.t = up(tab.t, sg.rope_t);
      sg.rope.h = up(tab.h, sg.rope_h);
      sg.rope.w = up(tab.w, sg.rope_w);
      sg.rope.frame_offset = f0;
    }

    // Tokens: x [B, Cin, T, H, W] → [B, N, Cin] → x_embedder.
    buffer<float> xin = upload_now(in.x), xt = alloc(B * N * Cin), x = alloc(B * N * C);
    each(B * N * Cin, glue::batched_transpose_body{xin.data(), xt.data(), Cin, N});
    run_linear(x_embedder_, xt.data(), B * N, x.data());
    emit(opt, "act.x_embed", x.data(), {B, N, C});

    // Timestep: trunc(t) (upstream .long()), sinusoid in float32 (cos first; on the host, B·T rows), MLP, t_block.
    const index_t half = c_.timestep_freq_dim / 2;
    std::vector<float> temb_host(static_cast<std::size_t>(B * T * 2 * half));
    for (index_t i = 0; i < B * T; ++i) {
      const float tt = static_cast<float>(static_cast<std::int64_t>(in.timestep[static_cast<std::size_t>(i)]));
      for (index_t j = 0; j < half; ++j) {
        const float freq = std::exp(-std::log(10000.0f) * static_cast<float>(j) / static_cast<float>(half));
        const float arg = tt * freq;
        temb_host[static_cast<std::size_t>(i * 2 * half + j)] = static_cast<float>(std::cos(static_cast<double>(arg)));
        temb_host[static_cast<std::size_t>(i * 2 * half + half + j)] =
            static_cast<float>(std::sin(static_cast<double>(arg)));
      }
    }
    buffer<float> temb_in = upload_now(temb_host), hid = alloc(B * T * C), t_emb = alloc(B * T * C);
    run_linear(t_mlp0_, temb_in.data(), B * T, hid.data(), -1, -1, gemm_activation::silu);
    run_linear(t_mlp2_, hid.data(), B * T, t_emb.data());
    emit(opt, "act.t_emb", t_emb.data(), {B * T, C});
    each(B * T * C, glue::activate_copy_body{t_emb.data(), C, hid.data(), C, activation::silu});
    sg.t0 = alloc(B * T * 6 * C);
    run_linear(t_block_, hid.data(), B * T, sg.t0.data());
    emit(opt, "act.t0", sg.t0.data(), {B * T, 6 * C});

    // Caption: y_proj (fc1 → GELU-tanh → fc2) → attention_y_norm; key-padding bias −10000.
    buffer<float> yin = upload_now(in.y), y1 = alloc(B * L * C);
    sg.y_normed = alloc(B * L * C);
    run_linear(y_fc1_, yin.data(), B * L, y1.data(), -1, -1, gemm_activation::gelu_tanh);
    run_linear(y_fc2_, y1.data(), B * L, sg.y_normed.data());
    rmsnorm(sg.y_normed.data(), B * L, C, attention_y_norm_, c_.norm_eps);
    emit(opt, "act.y_normed", sg.y_normed.data(), {B, 1, L, C});
    std::vector<float> bias_host(static_cast<std::size_t>(B * L), 0.0f);
    for (std::size_t i = 0; i < in.mask.size(); ++i) bias_host[i] = in.mask[i] != 0 ? 0.0f : key_padding_bias;
    sg.key_bias = upload_now(bias_host);

    // Plücker embedding (shared by all blocks) and UCPE ray matrices.
    buffer<float> pin = upload_now(in.chunk_plucker), pt = alloc(B * N * Pc);
    each(B * N * Pc, glue::batched_transpose_body{pin.data(), pt.data(), Pc, N});
    sg.plucker = alloc(B * N * C);
    run_linear(plucker_embedder_, pt.data(), B * N, sg.plucker.data());
    emit(opt, "act.plucker_emb", sg.plucker.data(), {B, N, C});
    buffer<float> cond = upload_now(in.camera_conditions);
    sg.raymats = alloc(B * N * 16);
    ucpe_raymats(be_,
                 tensor_view<const float, extents<dyn, dyn, camera_condition_width>>(
                     cond.data(), extents<dyn, dyn, camera_condition_width>(B, T)),
                 tensor_view<float, extents<dyn, dyn, dyn, dyn, 16>>(sg.raymats.data(),
                                                                      extents<dyn, dyn, dyn, dyn, 16>(B, T, Hl, Wl)));

    if (st && st->blocks.size() != static_cast<std::size_t>(c_.depth)) st->blocks.resize(static_cast<std::size_t>(c_.depth));
    buffer<float> u = alloc(B * N * C), tmp = alloc(B * N * C), cross = alloc(B * N * C), mlp = alloc(B * N * C),
                  pp = alloc(N * C), shift = alloc(B * T * C), scale = alloc(B * T * C), gate = alloc(B * T * C);
    using E4 = extents<dyn, dyn, dyn, dyn>;
    using E3 = extents<dyn, dyn, dyn>;
    auto tokens = [&](float* p) { return make_view(p, E4(B, T, S, C)); };
    auto ctokens = [&](const float* p) { return make_view(p, E4(B, T, S, C)); };
    auto terms = [&](const buffer<float>& v) { return make_view(static_cast<const float*>(v.data()), E3(B, T, C)); };
    const float ln_eps = static_cast<float>(c_.ln_eps);
    auto frame_term = [&](const buffer<float>& sst, index_t i, buffer<float>& term) {
      each(B * T * C, glue::vector_plus_rows_body{sst.data() + i * C, sg.t0.data() + i * C, 6 * C,
                                                           term.data(), C});
    };
    auto modulate = [&](const float* src, const buffer<float>& sst, index_t shift_i, index_t scale_i, float* dst) {
      frame_term(sst, shift_i, shift);
      frame_term(sst, scale_i, scale);
      layer_norm_modulate(be_, ctokens(src), terms(shift), terms(scale), ln_eps, tokens(dst));
    };
    auto gate_add = [&](float* dst, const float* v, const buffer<float>& sst, index_t gi) {
      frame_term(sst, gi, gate);
      gated_residual(be_, tokens(dst), terms(gate), ctokens(v));
    };
    for (index_t bi = 0; bi < c_.depth; ++bi) {
      block& bw = blocks_[static_cast<std::size_t>(bi)];
      engine_block_cache<Be>* cache = st ? &st->blocks[static_cast<std::size_t>(bi)] : nullptr;
      modulate(x.data(), bw.sst, 0, 1, u.data());
      attention_block(sg, bw, u.data(), cache, update, tmp.data());
      emit(opt, str_cat("act.block", bi, "_attn_out"), tmp.data(), {B, N, C});
      gate_add(x.data(), tmp.data(), bw.sst, 2);
      if (c_.has_plucker_proj(bi)) {
        for (index_t b = 0; b < B; ++b) {
          run_linear(bw.plucker_proj, sg.plucker.data() + b * N * C, N, pp.data());
          add_inplace_portable(be_, x.data() + b * N * C, pp.data(), N * C);
        }
      }
      for (index_t b = 0; b < B; ++b) cross_attention(sg, bw, x.data() + b * N * C, b, cross.data() + b * N * C);
      emit(opt, str_cat("act.block", bi, "_cross_attn_out"), cross.data(), {B, N, C});
      add_inplace_portable(be_, x.data(), cross.data(), B * N * C);
      modulate(x.data(), bw.sst, 3, 4, u.data());
      for (index_t b = 0; b < B; ++b) ffn(sg, bw, u.data() + b * N * C, b, cache, update, mlp.data() + b * N * C);
      emit(opt, str_cat("act.block", bi, "_mlp_out"), mlp.data(), {B, N, C});
      gate_add(x.data(), mlp.data(), bw.sst, 5);
      emit(opt, str_cat("act.block", bi, "_out"), x.data(), {B, N, C});
      if (cache && update && st->num_cached_chunks > 0 &&
          cache->kv.size() > static_cast<std::size_t>(st->num_cached_chunks))
        cache->kv.erase(cache->kv.begin() + 1);  // sliding window, chunk 0 kept as the attention sink
    }

    // Final layer: shift/scale from t_emb (not t0), LayerNorm, linear; unpatchify to [B, Cin, T, H, W].
    each(B * T * C, glue::vector_plus_rows_body{final_sst_.data(), t_emb.data(), C, shift.data(), C});
    each(B * T * C, glue::vector_plus_rows_body{final_sst_.data() + C, t_emb.data(), C, scale.data(), C});
    layer_norm_modulate(be_, ctokens(x.data()), terms(shift), terms(scale), ln_eps, tokens(u.data()));
    buffer<float> fo = alloc(B * N * Cin), outd = alloc(B * N * Cin);
    run_linear(final_linear_, u.data(), B * N, fo.data());
    emit(opt, "act.final_layer_out", fo.data(), {B, N, Cin});
    each(B * N * Cin, glue::batched_transpose_body{fo.data(), outd.data(), N, Cin});
    std::vector<float> out(static_cast<std::size_t>(B * N * Cin));
    mem::to_host(be_, out.data(), outd.data(), B * N * Cin);
    if (st && update) st->frames_done = f0 + T;
    return out;
  }

  Be be_;
  engine_options opt_;
  dit_config c_;
  std::size_t weight_bytes_ = 0;
  linear_dev x_embedder_, t_mlp0_, t_mlp2_, t_block_, y_fc1_, y_fc2_, plucker_embedder_, final_linear_;
  buffer<float> attention_y_norm_, final_sst_;
  std::vector<block> blocks_;
};

/// A dit_engine<Be> as the samplers' denoiser (what sanawm-generate --device cuda samples with).
template <backend Be>
class engine_denoiser final : public sampler::denoiser {
 public:
  /// `window`: streaming softmax window in chunks including the sink chunk (0 = keep every chunk); `opt` carries the
  /// strict softmax chunk mask (the engine's precision is set by `eo`).
  engine_denoiser(Be be, const dit_refs& refs, engine_options eo = {}, forward_options opt = {}, index_t window = 2)
      : engine_(be, refs, eo), opt_(std::move(opt)), window_(window) {}
  std::vector<float> forward(const dit_inputs& in, const std::vector<index_t>& chunk_starts) override {
    forward_options o = opt_;
    o.mode = chunk_starts.size() > 1 ? dit_mode::chunk_causal : dit_mode::bidirectional;
    o.chunk_index = chunk_starts;
    return engine_.forward(in, o);
  }
  void begin_stream() override {
    state_ = {};
    state_.num_cached_chunks = window_;
  }
  std::vector<float> forward_stream(const dit_inputs& in, bool write_cache) override {
    return engine_.forward_stream(state_, in, write_cache, opt_);
  }
  std::size_t state_bytes() const noexcept override { return dit::state_bytes(state_); }
  dit_engine<Be>& engine() noexcept { return engine_; }

 private:
  dit_engine<Be> engine_;
  forward_options opt_;
  index_t window_;
  engine_stream_state<Be> state_;
};

}  // namespace sanawm::dit

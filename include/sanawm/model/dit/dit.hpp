// SPDX-License-Identifier: Apache-2.0
// sanawm/model/dit/dit.hpp — SANA-WM DiT forward on the CPU: embeddings, 3-D RoPE, UCPE ray matrices, the hybrid
// GDN/softmax blocks with the camera branch, Plücker injection, cross-attention, GLUMBConvTemp FFN, frame-aware
// adaLN, final layer. Modes: bidirectional, chunk-causal, and streaming chunk calls with caches.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/dit/dit.hpp: host-only header (CPU DiT forward over sanawm/io weights); include it from host code only"
#endif

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/core/buffer.hpp"             // host_buffer: uninitialised scratch
#include "sanawm/kernels/gdn/gdn_cpu.hpp"      // gdn_frame, gdn_camera_frame: the frame-wise scans
#include "sanawm/kernels/norms/norms_cpu.hpp"  // layer_norm_modulate, gated_residual: frame-aware adaLN
#include "sanawm/model/dit/block_calls.hpp"  // gdn_block_call: views and states of the GDN scans
#include "sanawm/model/dit/inputs.hpp"  // dit_mode, dit_inputs, check_inputs
#include "sanawm/model/dit/ops.hpp"
#include "sanawm/model/dit/weights.hpp"

namespace sanawm::dit {

/// Per-block streaming cache (upstream's 10-slot cache): forward GDN states, short-conv and FFN left contexts,
/// softmax K/V of cached chunks (post-RoPE main, post-UCPE camera).
struct block_cache {
  std::vector<float> S, z, S_cam;           ///< [B, H, D, D] (key × value), [B, H, D], [B, H, D, D]
  std::vector<float> k_left, kc_left;       ///< [B, K−1, S, C] raw k / k_cam before the short conv
  std::vector<float> ffn_left;              ///< [B, S, C] t_conv input of the last cached frame
  bool has_ffn_left = false;
  struct chunk_kv {
    index_t tokens = 0;
    std::vector<float> k, v, kc, vc;  ///< [B, tokens, C]
  };
  std::vector<chunk_kv> kv;  ///< cached softmax chunks, oldest first
};

/// Streaming state across chunk calls.
struct stream_state {
  index_t frames_done = 0;        ///< absolute index of the next chunk's first frame
  index_t num_cached_chunks = 0;  ///< softmax window (0 = unlimited); with a window, chunk 0 stays as the sink
  std::vector<block_cache> blocks;
};

/// Bytes held by a streaming state (GDN states, conv left contexts, cached softmax K/V): what a rollout keeps
/// between chunks. Bounded by the window, whatever the video length.
inline std::size_t state_bytes(const stream_state& s) noexcept {
  std::size_t n = 0;
  for (const block_cache& b : s.blocks) {
    n += (b.S.size() + b.z.size() + b.S_cam.size()) * sizeof(float);
    n += (b.k_left.size() + b.kc_left.size() + b.ffn_left.size()) * sizeof(float);
    for (const auto& kv : b.kv) n += (kv.k.size() + kv.v.size() + kv.kc.size() + kv.vc.size()) * sizeof(float);
  }
  return n;
}

namespace detail {

/// One call's working set: a segment of T frames starting at absolute frame f0.
struct segment {
  const dit_weights* w;
  index_t B, T, Hl, Wl, S, N, L, f0;
  std::vector<index_t> starts;
  ops::chunking ch;
  bool strict_mask, bf16_act;
  ops::rope_table rope;
  std::vector<float> raymats;  ///< [B, N, 16]
  std::vector<float> y_normed; ///< [B, L, C]
  std::vector<float> key_bias; ///< [B, L] 0 or −10000
  std::vector<float> t0;       ///< [B, T, 6C]
  std::vector<float> plucker;  ///< [B, N, C]
};

inline void emit(const forward_options& o, std::string_view name, const std::vector<float>& v,
                 std::vector<index_t> shape) {
  if (o.on_intermediate) o.on_intermediate(name, v, std::move(shape));
}

/// Self-attention module of block `bi` on modulated tokens u [B, N, C] → out [B, N, C].
inline void attention(const segment& sg, index_t bi, const std::vector<float>& u, block_cache* cache,
                      bool update, std::vector<float>& out) {
  const dit_config& c = sg.w->config;
  const block_w& bw = sg.w->blocks[static_cast<std::size_t>(bi)];
  const attn_w& a = bw.attn;
  const index_t C = c.hidden, H = c.heads(), D = c.head_dim, N = sg.N, S = sg.S, T = sg.T, K = c.conv_kernel;
  const bool gdn = bw.kind == block_kind::gdn;
  const double kappa = 1.0 / std::sqrt(double(D) * double(S));
  out.assign(static_cast<std::size_t>(sg.B * N * C), 0.0f);
  // Uninitialised scratch: each is written in full (projections, short convs, attention/GDN outputs) before it
  // is read.
  host_buffer<float> qkv(N * 3 * C), qc(N * C), kc(N * C), vc(N * C), kraw(N * C), kcraw(N * C), om(N * C),
      oc(N * C), gate(N * C);
  std::vector<float> beta(static_cast<std::size_t>(N * H)), gam(static_cast<std::size_t>(T * H));
  // Chunks cached before this call (a write pass appends this chunk while the batch rows are processed).
  const std::size_t n_cached = cache ? cache->kv.size() : 0;
  for (index_t b = 0; b < sg.B; ++b) {
    const float* ub = u.data() + b * N * C;
    ops::linear(a.qkv, ub, N, qkv.data(), sg.bf16_act);
    ops::linear(a.q_proj_cam, ub, N, qc.data(), sg.bf16_act);
    ops::linear(a.k_proj_cam, ub, N, kcraw.data(), sg.bf16_act);
    ops::linear(a.v_proj_cam, ub, N, vc.data(), sg.bf16_act);
    float* q = qkv.data();
    float* k = qkv.data() + C;
    float* v = qkv.data() + 2 * C;
    const index_t ld = 3 * C;
    if (gdn) {
      // Short convs along time on the raw keys (main and camera), then norms, ReLU and the key scale κ.
      const std::size_t left_sz = static_cast<std::size_t>((K - 1) * S * C);
      const float* kl = cache && !cache->k_left.empty() ? cache->k_left.data() + b * left_sz : nullptr;
      const float* kcl = cache && !cache->kc_left.empty() ? cache->kc_left.data() + b * left_sz : nullptr;
      ops::short_conv(k, T, S, C, ld, a.conv_k, K, sg.ch, kl, kraw.data());
      ops::short_conv(kcraw.data(), T, S, C, C, a.conv_k_cam, K, sg.ch, kcl, kc.data());
      if (cache && update) {
        // New left context: the last K−1 frames of [old left ‖ this segment's raw keys].
        auto roll = [&](std::vector<float>& buf, const float* src, index_t ldsrc) {
          if (buf.empty()) buf.assign(static_cast<std::size_t>(sg.B) * left_sz, 0.0f);
          std::vector<float> all(static_cast<std::size_t>((K - 1 + T) * S * C));
          std::copy_n(buf.data() + b * left_sz, left_sz, all.data());
          for (index_t n = 0; n < N; ++n)
            std::copy_n(src + n * ldsrc, C, all.data() + left_sz + static_cast<std::size_t>(n * C));
          std::copy_n(all.data() + T * S * C, left_sz, buf.data() + b * left_sz);
        };
        roll(cache->k_left, k, ld);
        roll(cache->kc_left, kcraw.data(), C);
      }
      for (index_t n = 0; n < N; ++n) std::copy_n(kraw.data() + n * C, C, k + n * ld);
    } else {
      std::copy_n(kcraw.data(), N * C, kc.data());
    }
    // GDN: ReLU feature map on q, and on k times the key scale κ, fused into the norms.
    const float qs = gdn ? 1.0f : 0.0f, ks = gdn ? static_cast<float>(kappa) : 0.0f;
    ops::rmsnorm(q, N, C, ld, a.q_norm, c.norm_eps, qs);
    ops::rmsnorm(k, N, C, ld, a.k_norm, c.norm_eps, ks);
    ops::rmsnorm(qc.data(), N, C, C, a.q_norm_cam, c.norm_eps, qs);
    ops::rmsnorm(kc.data(), N, C, C, a.k_norm_cam, c.norm_eps, ks);
    // Unrotated copies (GDN denominator; camera β discount needs the pre-UCPE keys).
    std::vector<float> qz, kz, kc_pre(kc.data(), kc.data() + N * C);
    if (gdn) {
      qz.resize(static_cast<std::size_t>(N * C));
      kz.resize(qz.size());
      for (index_t n = 0; n < N; ++n) {
        std::copy_n(q + n * ld, C, qz.data() + n * C);
        std::copy_n(k + n * ld, C, kz.data() + n * C);
      }
    }
    const float* P = sg.raymats.data() + b * N * 16;
    cpu::parallel_ranges(N, [&](index_t nb, index_t ne, int) {
      for (index_t n = nb; n < ne; ++n)
        for (index_t h = 0; h < H; ++h) {
          ops::rope_head(sg.rope, n, q + n * ld + h * D, D, false, false);
          ops::rope_head(sg.rope, n, k + n * ld + h * D, D, false, false);
          ops::ucpe_head<ucpe_op::query>(P + n * 16, sg.rope, n, qc.data() + n * C + h * D, D);
          ops::ucpe_head<ucpe_op::key_value>(P + n * 16, sg.rope, n, kc.data() + n * C + h * D, D);
          ops::ucpe_head<ucpe_op::key_value>(P + n * 16, sg.rope, n, vc.data() + n * C + h * D, D);
        }
    }, 8);
    if (gdn) {
      ops::linear(a.beta_proj, ub, N, beta.data(), sg.bf16_act);
      for (auto& e : beta) e = ops::sigmoid(e);
      // Per-frame token mean of u (the gate's input), rows streamed in order, channels innermost.
      std::vector<float> ubar(static_cast<std::size_t>(T * C), 0.0f);
      cpu::parallel_ranges(T, [&](index_t tb, index_t te, int) {
        std::vector<double> acc(static_cast<std::size_t>(C));
        for (index_t t = tb; t < te; ++t) {
          std::fill(acc.begin(), acc.end(), 0.0);
          for (index_t sp = 0; sp < S; ++sp) {
            const float* row = ub + (t * S + sp) * C;
            for (index_t ch = 0; ch < C; ++ch) acc[static_cast<std::size_t>(ch)] += row[ch];
          }
          for (index_t ch = 0; ch < C; ++ch)
            ubar[static_cast<std::size_t>(t * C + ch)] = static_cast<float>(acc[static_cast<std::size_t>(ch)] / double(S));
        }
      });
      ops::linear(a.gate_proj, ubar.data(), T, gam.data(), sg.bf16_act);
      for (index_t t = 0; t < T; ++t)
        for (index_t h = 0; h < H; ++h) {
          float& g = gam[static_cast<std::size_t>(t * H + h)];
          g = std::exp(-std::exp(a.A_log[h]) * ops::softplus(g + a.dt_bias[h]));
        }
      // Camera β: β / max(1, mean_s ‖k_post‖² / ‖k_pre‖²) per (frame, head).
      // Main and camera scans on kernels/gdn over all heads at once: [1, T, S, H, D] strided views into the
      // activations. The forward states come from / go to the streaming cache ([B, H, D, D] key × value).
      const gdn_block_call g{T, S, H, D};
      std::vector<float> beta_c(beta.size());
      gdn_camera_beta(cpu_t{}, g.tokens(kc_pre.data(), C), g.tokens(kc.data(), C), g.token_gates(beta.data()),
                      g.token_scalars_out(beta_c.data()));
      const gdn_options go = gdn_block_call::options(sg.starts, c.gdn_eps);
      if (cache && update && cache->S.empty()) {
        cache->S.assign(static_cast<std::size_t>(sg.B * H * D * D), 0.0f);
        cache->z.assign(static_cast<std::size_t>(sg.B * H * D), 0.0f);
        cache->S_cam.assign(cache->S.size(), 0.0f);
      }
      gdn_state gs, gsc;
      if (cache && !cache->S.empty())
        g.bind_states(cache->S.data() + b * H * D * D, cache->z.data() + b * H * D, cache->S_cam.data() + b * H * D * D,
                      update, gs, gsc);
      gdn_outputs go_out;
      go_out.out = g.tokens_out(om.data(), C);
      const gdn_frame_gates_view gamma = g.frame_gates(gam.data());
      gdn_frame(cpu_t{}, gdn_inputs{g.tokens(qz.data(), C), g.tokens(q, ld), g.tokens(kz.data(), C), g.tokens(k, ld),
                                    g.tokens(v, ld), g.token_gates(beta.data()), gamma},
                go_out, go, gs);
      gdn_camera_frame(cpu_t{}, gdn_camera_inputs{g.tokens(qc.data(), C), g.tokens(kc.data(), C),
                                                  g.tokens(vc.data(), C), g.token_gates(beta_c.data()), gamma},
                       g.tokens_out(oc.data(), C), go, gsc);
    } else {
      // Softmax main + camera branch over [cached chunks ‖ this segment].
      index_t Nc = 0;
      for (std::size_t e = 0; e < n_cached; ++e) Nc += cache->kv[e].tokens;
      const index_t Nk = Nc + N;
      std::vector<float> Kall(static_cast<std::size_t>(Nk * C)), V(Kall.size()), KC(Kall.size()), VC(Kall.size());
      index_t off = 0;
      for (std::size_t ei = 0; ei < n_cached; ++ei) {
          const auto& e = cache->kv[ei];
          const std::size_t sz = static_cast<std::size_t>(e.tokens * C), o = static_cast<std::size_t>(off * C);
          std::copy_n(e.k.data() + b * sz, sz, Kall.data() + o);
          std::copy_n(e.v.data() + b * sz, sz, V.data() + o);
          std::copy_n(e.kc.data() + b * sz, sz, KC.data() + o);
          std::copy_n(e.vc.data() + b * sz, sz, VC.data() + o);
          off += e.tokens;
        }
      for (index_t n = 0; n < N; ++n) {
        std::copy_n(k + n * ld, C, Kall.data() + (Nc + n) * C);
        std::copy_n(v + n * ld, C, V.data() + (Nc + n) * C);
        std::copy_n(kc.data() + n * C, C, KC.data() + (Nc + n) * C);
        std::copy_n(vc.data() + n * C, C, VC.data() + (Nc + n) * C);
      }
      // Keys: [cached chunks ‖ this segment]. Strict mask: a query sees every cached key and the segment's keys
      // up to the end of its own chunk (chunk_causal with the cached tokens as one leading chunk).
      const softmax_block_params sp(c, sg.starts, T, S, Nc, sg.strict_mask);
      const attention_params &pm = sp.main, &pc = sp.camera;
      ops::multi_head_attention(q, ld, N, Kall.data(), V.data(), C, Nk, H, D, pm, om.data(), C);
      ops::multi_head_attention(qc.data(), C, N, KC.data(), VC.data(), C, Nk, H, D, pc, oc.data(), C);
      if (cache && update) {
        if (b == 0) {
          block_cache::chunk_kv e;
          e.tokens = N;
          e.k.resize(static_cast<std::size_t>(sg.B * N * C));
          e.v.resize(e.k.size());
          e.kc.resize(e.k.size());
          e.vc.resize(e.k.size());
          cache->kv.push_back(std::move(e));
        }
        auto& e = cache->kv.back();
        const std::size_t o = static_cast<std::size_t>(b * N * C), sz = static_cast<std::size_t>(N * C);
        std::copy_n(Kall.data() + Nc * C, sz, e.k.data() + o);
        std::copy_n(V.data() + Nc * C, sz, e.v.data() + o);
        std::copy_n(KC.data() + Nc * C, sz, e.kc.data() + o);
        std::copy_n(VC.data() + Nc * C, sz, e.vc.data() + o);
      }
    }
    // Camera output back to the world frame, out_proj_cam, gate, proj.
    cpu::parallel_ranges(N, [&](index_t nb, index_t ne, int) {
      for (index_t n = nb; n < ne; ++n)
        for (index_t h = 0; h < H; ++h)
          ops::ucpe_head<ucpe_op::output>(P + n * 16, sg.rope, n, oc.data() + n * C + h * D, D);
    }, 8);
    std::vector<float> ocp(static_cast<std::size_t>(N * C));
    ops::linear(a.out_proj_cam, oc.data(), N, ocp.data(), sg.bf16_act);
    ops::linear(a.output_gate, ub, N, gate.data(), sg.bf16_act);
    cpu::parallel_ranges(N, [&](index_t nb, index_t ne, int) {
      for (std::size_t i = static_cast<std::size_t>(nb * C); i < static_cast<std::size_t>(ne * C); ++i)
        om[i] = (om[i] + ocp[i]) * ops::silu(gate[i]);
    }, 8);
    ops::linear(a.proj, om.data(), N, out.data() + b * N * C, sg.bf16_act);
  }
}

/// Cross-attention of x [N, C] (one batch row) on the normalised caption y [L, C] with key-padding bias.
inline void cross_attention(const segment& sg, const cross_w& cw, const float* x, index_t b, float* out) {
  const dit_config& c = sg.w->config;
  const index_t C = c.hidden, H = c.heads(), D = c.head_dim, N = sg.N, L = sg.L;
  std::vector<float> q(static_cast<std::size_t>(N * C)), kv(static_cast<std::size_t>(L * 2 * C)),
      o(static_cast<std::size_t>(N * C));
  ops::linear(cw.q_linear, x, N, q.data(), sg.bf16_act);
  ops::linear(cw.kv_linear, sg.y_normed.data() + b * L * C, L, kv.data(), sg.bf16_act);
  ops::rmsnorm(q.data(), N, C, C, cw.q_norm, c.cross_norm_eps);
  ops::rmsnorm(kv.data(), L, C, 2 * C, cw.k_norm, c.cross_norm_eps);
  attention_params p;
  p.scale = static_cast<float>(1.0 / std::sqrt(double(D)));
  p.key_bias = sg.key_bias.data() + b * L;  // 0 or −10000 per caption token
  ops::multi_head_attention(q.data(), C, N, kv.data(), kv.data() + C, 2 * C, L, H, D, p, o.data(), C);
  ops::linear(cw.proj, o.data(), N, out, sg.bf16_act);
}

/// GLUMBConvTemp on modulated tokens m [N, C] (one batch row): 1×1 → SiLU → depthwise 3×3 → GLU(SiLU) → 1×1,
/// then y + t_conv(y) over time (per chunk; left context = last frame before the chunk, from `left` for the
/// segment's first chunk).
inline void ffn(const segment& sg, const mlp_w& mw, const float* m, index_t b, block_cache* cache, bool update,
                float* out) {
  const dit_config& c = sg.w->config;
  const index_t C = c.hidden, F = c.ffn_hidden(), N = sg.N, S = sg.S, T = sg.T, Hl = sg.Hl, Wl = sg.Wl;
  // Uninitialised scratch (every element is written before it is read): zero-filling these ~13·N·C floats per
  // block call cost a few % of a forward.
  host_buffer<float> h1(N * 2 * F), g(N * F), y(N * C);
  ops::linear(mw.inverted_conv, m, N, h1.data(), sg.bf16_act, -1, -1, 0, gemm_activation::silu);
  // Depthwise 3×3 per frame (zero padding, bias) fused with the GLU g = a ⊙ SiLU(gate) (a = channels [0, F),
  // gate = [F, 2F)): parallel over tokens, channels innermost (contiguous, vectorised), taps as [9][2F] rows.
  std::vector<float> wd(static_cast<std::size_t>(9 * 2 * F));
  for (index_t ch = 0; ch < 2 * F; ++ch)
    for (index_t tap = 0; tap < 9; ++tap) wd[static_cast<std::size_t>(tap * 2 * F + ch)] = mw.depth_w[ch * 9 + tap];
  cpu::parallel_ranges(N, [&](index_t nb, index_t ne, int) {
    std::vector<float> acc(static_cast<std::size_t>(2 * F));
    for (index_t n = nb; n < ne; ++n) {
      const index_t t = n / S, r = (n % S) / Wl, q = n % Wl;
      for (index_t ch = 0; ch < 2 * F; ++ch) acc[static_cast<std::size_t>(ch)] = 0.0f;
      for (index_t dr = -1; dr <= 1; ++dr)
        for (index_t dq = -1; dq <= 1; ++dq) {
          const index_t rr = r + dr, qq = q + dq;
          if (rr < 0 || rr >= Hl || qq < 0 || qq >= Wl) continue;
          const float* src = h1.data() + (t * S + rr * Wl + qq) * 2 * F;
          const float* wr = wd.data() + ((dr + 1) * 3 + dq + 1) * 2 * F;
          for (index_t ch = 0; ch < 2 * F; ++ch) acc[static_cast<std::size_t>(ch)] += wr[ch] * src[ch];
        }
      float* gn = g.data() + n * F;
      for (index_t ch = 0; ch < F; ++ch)
        gn[ch] = (acc[static_cast<std::size_t>(ch)] + mw.depth_b[ch]) *
                 ops::silu(acc[static_cast<std::size_t>(F + ch)] + mw.depth_b[F + ch]);
    }
  });
  ops::linear(mw.point_conv, g.data(), N, y.data(), sg.bf16_act);
  // t_conv: out[t] = y[t] + Σ_k W[:, :, k]·y[t − 1 + k], neighbours outside t's chunk are zero except the left
  // neighbour of a chunk start, which is the previous frame (cached frame for the segment's first chunk).
  // As GEMMs: Z_k = Y·W_kᵀ over all tokens, then out[n] = y[n] + (Z_0[n − S] + Z_1[n] + Z_2[n + S]).
  const float* left = cache && cache->has_ffn_left ? cache->ffn_left.data() + b * S * C : nullptr;
  // Products as in the linear layers: bf16 (vdpbf16ps) for bf16 weights in a bf16 forward, else fp32.
  const bool packed = mw.t_conv_taps[0] != nullptr;
  const gemm_compute tc_compute = packed ? mw.t_conv_taps[0]->compute() : ops::t_conv_compute(mw.t_conv, sg.bf16_act);
  if (packed && (tc_compute == gemm_compute::bf16) != (sg.bf16_act && mw.t_conv_taps[0]->from_bf16()))
    throw make_error("dit", "'", mw.t_conv.key, "' was packed for another compute mode than this forward's; pack with ",
                     "the forward's bf16_activations");
  const std::vector<float> wt = packed ? std::vector<float>{} : ops::t_conv_tap_matrices<float>(mw.t_conv, C);
  auto tap_gemm = [&](const float* a, index_t rows, index_t k, float* z) {
    gemm_args<float, float, float> p;
    p.m = rows, p.n = C, p.k = C;
    p.a = a, p.lda = C;
    p.c = z, p.ldc = C;
    p.compute = tc_compute;
    if (packed) return gemm(cpu_t{}, p, *mw.t_conv_taps[k]);
    p.b = wt.data() + k * C * C, p.ldb = C;
    gemm(cpu_t{}, p);
  };
  host_buffer<float> z(3 * N * C), zl(left ? S * C : 0);
  for (index_t k = 0; k < 3; ++k) tap_gemm(y.data(), N, k, z.data() + k * N * C);
  if (left) tap_gemm(left, S, 0, zl.data());
  cpu::parallel_ranges(N, [&](index_t nb, index_t ne, int) {
    for (index_t n = nb; n < ne; ++n) {
      const index_t t = n / S, s = n % S;
      const float* z0 = t > 0 ? z.data() + (n - S) * C : left ? zl.data() + s * C : nullptr;
      const float* z1 = z.data() + (N + n) * C;
      const float* z2 = t + 1 < sg.ch.chunk_end[static_cast<std::size_t>(t)] ? z.data() + (2 * N + n + S) * C : nullptr;
      for (index_t o = 0; o < C; ++o) {
        float acc = z0 ? z0[o] + z1[o] : z1[o];
        if (z2) acc += z2[o];
        out[n * C + o] = y[n * C + o] + acc;
      }
    }
  });
  if (cache && update) {
    if (cache->ffn_left.empty()) cache->ffn_left.assign(static_cast<std::size_t>(sg.B * S * C), 0.0f);
    std::copy_n(y.data() + (T - 1) * S * C, S * C, cache->ffn_left.data() + b * S * C);
    if (b == sg.B - 1) cache->has_ffn_left = true;
  }
}

/// Runs the whole network on one segment; returns the output [B, Cin, T, Hl, Wl].
inline std::vector<float> run_segment(const dit_weights& w, const dit_inputs& in, index_t f0,
                                      std::vector<index_t> starts, const forward_options& opt,
                                      stream_state* st, bool update) {
  const dit_config& c = w.config;
  const index_t C = c.hidden, Cin = c.in_channels, B = in.B, T = in.T, Hl = in.Hl, Wl = in.Wl, S = Hl * Wl,
                N = T * S, L = in.L, Pc = c.plucker_channels;
  check_inputs(c, in);

  segment sg;
  sg.w = &w;
  sg.B = B, sg.T = T, sg.Hl = Hl, sg.Wl = Wl, sg.S = S, sg.N = N, sg.L = L, sg.f0 = f0;
  check_chunk_starts(starts, T);
  sg.starts = starts;
  sg.ch = ops::chunking::make(T, starts);
  sg.strict_mask = opt.strict_softmax_chunk_mask || st != nullptr;
  sg.bf16_act = opt.bf16_activations;
  sg.rope = ops::make_rope(c.head_dim, c.rope_theta, f0, T, Hl, Wl);

  // Tokens: x [B, Cin, T, H, W] → [B, N, Cin] → x_embedder.
  std::vector<float> xt(static_cast<std::size_t>(B * N * Cin)), x(static_cast<std::size_t>(B * N * C));
  for (index_t b = 0; b < B; ++b)
    for (index_t ch = 0; ch < Cin; ++ch)
      for (index_t n = 0; n < N; ++n) xt[static_cast<std::size_t>((b * N + n) * Cin + ch)] = in.x[static_cast<std::size_t>((b * Cin + ch) * N + n)];
  ops::linear(w.x_embedder, xt.data(), B * N, x.data(), sg.bf16_act);
  emit(opt, "act.x_embed", x, {B, N, C});

  // Timestep: trunc(t) (upstream .long()), sinusoid in float32 (cos first), t_embedder MLP, t_block.
  const index_t half = c.timestep_freq_dim / 2;
  std::vector<float> temb_in(static_cast<std::size_t>(B * T * 2 * half)), t_emb(static_cast<std::size_t>(B * T * C)),
      hid(t_emb.size());
  for (index_t i = 0; i < B * T; ++i) {
    const float tt = static_cast<float>(static_cast<std::int64_t>(in.timestep[static_cast<std::size_t>(i)]));
    for (index_t j = 0; j < half; ++j) {
      const float freq = std::exp(-std::log(10000.0f) * static_cast<float>(j) / static_cast<float>(half));
      const float arg = tt * freq;
      temb_in[static_cast<std::size_t>(i * 2 * half + j)] = static_cast<float>(std::cos(static_cast<double>(arg)));
      temb_in[static_cast<std::size_t>(i * 2 * half + half + j)] = static_cast<float>(std::sin(static_cast<double>(arg)));
    }
  }
  ops::linear(w.t_mlp0, temb_in.data(), B * T, hid.data(), sg.bf16_act);
  for (auto& e : hid) e = ops::silu(e);
  ops::linear(w.t_mlp2, hid.data(), B * T, t_emb.data(), sg.bf16_act);
  emit(opt, "act.t_emb", t_emb, {B * T, C});
  for (std::size_t i = 0; i < hid.size(); ++i) hid[i] = ops::silu(t_emb[i]);
  sg.t0.resize(static_cast<std::size_t>(B * T * 6 * C));
  ops::linear(w.t_block, hid.data(), B * T, sg.t0.data(), sg.bf16_act);
  emit(opt, "act.t0", sg.t0, {B * T, 6 * C});

  // Caption: y_proj (fc1 → GELU-tanh → fc2) → attention_y_norm; key-padding bias −10000.
  std::vector<float> y1(static_cast<std::size_t>(B * L * C));
  sg.y_normed.resize(y1.size());
  ops::linear(w.y_fc1, in.y.data(), B * L, y1.data(), sg.bf16_act);
  for (auto& e : y1) e = ops::gelu_tanh(e);
  ops::linear(w.y_fc2, y1.data(), B * L, sg.y_normed.data(), sg.bf16_act);
  ops::rmsnorm(sg.y_normed.data(), B * L, C, C, w.attention_y_norm, c.norm_eps);
  emit(opt, "act.y_normed", sg.y_normed, {B, 1, L, C});
  sg.key_bias.assign(static_cast<std::size_t>(B * L), 0.0f);
  for (std::size_t i = 0; i < in.mask.size(); ++i) sg.key_bias[i] = in.mask[i] != 0 ? 0.0f : -10000.0f;

  // Plücker embedding (shared by all blocks) and UCPE ray matrices.
  std::vector<float> pt(static_cast<std::size_t>(B * N * Pc));
  for (index_t b = 0; b < B; ++b)
    for (index_t ch = 0; ch < Pc; ++ch)
      for (index_t n = 0; n < N; ++n) pt[static_cast<std::size_t>((b * N + n) * Pc + ch)] = in.chunk_plucker[static_cast<std::size_t>((b * Pc + ch) * N + n)];
  sg.plucker.resize(static_cast<std::size_t>(B * N * C));
  ops::linear(w.plucker_embedder, pt.data(), B * N, sg.plucker.data(), sg.bf16_act);
  emit(opt, "act.plucker_emb", sg.plucker, {B, N, C});
  sg.raymats.resize(static_cast<std::size_t>(B * N * 16));
  for (index_t b = 0; b < B; ++b)
    for (index_t t = 0; t < T; ++t)
      for (index_t r = 0; r < Hl; ++r)
        for (index_t q = 0; q < Wl; ++q)
          ucpe_raymat<float>(in.camera_conditions.data() + (b * T + t) * camera_condition_width, float(q), float(r),
                             sg.raymats.data() + (b * N + t * S + r * Wl + q) * 16);

  if (st && st->blocks.size() != static_cast<std::size_t>(c.depth)) st->blocks.resize(static_cast<std::size_t>(c.depth));
  std::vector<float> u(x.size()), tmp, cross(x.size()), mlp(x.size()), pp(static_cast<std::size_t>(N * C));
  // Frame-aware adaLN on the SIMD norm kernels (kernels/norms): tokens as [B, T, S, C], the per-(b, t) terms
  // term_i = scale_shift_table[i] + t0[b, t, i] as [B, T, C].
  using E4 = extents<dyn, dyn, dyn, dyn>;
  using E3 = extents<dyn, dyn, dyn>;
  std::vector<float> shift(static_cast<std::size_t>(B * T * C)), scale(shift.size()), gate(shift.size());
  auto frame_term = [&](const param& sst, index_t i, std::vector<float>& term) {
    for (index_t bt = 0; bt < B * T; ++bt)
      for (index_t ch = 0; ch < C; ++ch)
        term[static_cast<std::size_t>(bt * C + ch)] = sst[i * C + ch] + sg.t0[static_cast<std::size_t>((bt * 6 + i) * C + ch)];
  };
  auto tokens = [&](auto* p) { return make_view(p, E4(B, T, S, C)); };
  auto terms = [&](const std::vector<float>& v) { return make_view(v.data(), E3(B, T, C)); };
  const float ln_eps = static_cast<float>(c.ln_eps);
  auto modulate = [&](const std::vector<float>& src, const param& sst, index_t shift_i, index_t scale_i,
                      std::vector<float>& dst) {
    frame_term(sst, shift_i, shift);
    frame_term(sst, scale_i, scale);
    layer_norm_modulate(cpu_t{}, tokens(src.data()), terms(shift), terms(scale), ln_eps, tokens(dst.data()));
  };
  auto gate_add = [&](std::vector<float>& dst, const std::vector<float>& v, const param& sst, index_t gi) {
    frame_term(sst, gi, gate);
    gated_residual(cpu_t{}, tokens(dst.data()), terms(gate), tokens(v.data()));
  };
  auto add_into = [&](std::vector<float>& dst, const float* v, index_t n) {  // dst[0, n) += v
    cpu::parallel_ranges(n, [&](index_t b0, index_t e0, int) {
      for (index_t i = b0; i < e0; ++i) dst[static_cast<std::size_t>(i)] += v[i];
    }, 4096);
  };
  for (index_t bi = 0; bi < c.depth; ++bi) {
    const block_w& bw = w.blocks[static_cast<std::size_t>(bi)];
    block_cache* cache = st ? &st->blocks[static_cast<std::size_t>(bi)] : nullptr;
    modulate(x, bw.scale_shift_table, 0, 1, u);
    attention(sg, bi, u, cache, update, tmp);
    emit(opt, str_cat("act.block", bi, "_attn_out"), tmp, {B, N, C});
    gate_add(x, tmp, bw.scale_shift_table, 2);
    if (c.has_plucker_proj(bi)) {
      for (index_t b = 0; b < B; ++b) {
        ops::linear(bw.plucker_proj, sg.plucker.data() + b * N * C, N, pp.data(), sg.bf16_act);
        cpu::parallel_ranges(N * C, [&](index_t b0, index_t e0, int) {
          for (index_t i = b0; i < e0; ++i) x[static_cast<std::size_t>(b * N * C + i)] += pp[static_cast<std::size_t>(i)];
        }, 4096);
      }
    }
    for (index_t b = 0; b < B; ++b) cross_attention(sg, bw.cross, x.data() + b * N * C, b, cross.data() + b * N * C);
    emit(opt, str_cat("act.block", bi, "_cross_attn_out"), cross, {B, N, C});
    add_into(x, cross.data(), static_cast<index_t>(x.size()));
    modulate(x, bw.scale_shift_table, 3, 4, u);
    for (index_t b = 0; b < B; ++b) ffn(sg, bw.mlp, u.data() + b * N * C, b, cache, update, mlp.data() + b * N * C);
    emit(opt, str_cat("act.block", bi, "_mlp_out"), mlp, {B, N, C});
    gate_add(x, mlp, bw.scale_shift_table, 5);
    emit(opt, str_cat("act.block", bi, "_out"), x, {B, N, C});
    if (cache && update && st->num_cached_chunks > 0 &&
        cache->kv.size() > static_cast<std::size_t>(st->num_cached_chunks)) {
      // Sliding window with the first chunk kept as the attention sink.
      cache->kv.erase(cache->kv.begin() + 1);
    }
  }

  // Final layer: shift/scale from t_emb (not t0), LayerNorm, linear; unpatchify to [B, Cin, T, H, W].
  std::vector<float> fo(static_cast<std::size_t>(B * N * Cin));
  for (index_t bt = 0; bt < B * T; ++bt)
    for (index_t ch = 0; ch < C; ++ch) {
      const float te = t_emb[static_cast<std::size_t>(bt * C + ch)];
      shift[static_cast<std::size_t>(bt * C + ch)] = w.final_scale_shift_table[ch] + te;
      scale[static_cast<std::size_t>(bt * C + ch)] = w.final_scale_shift_table[C + ch] + te;
    }
  layer_norm_modulate(cpu_t{}, tokens(x.data()), terms(shift), terms(scale), ln_eps, tokens(u.data()));
  ops::linear(w.final_linear, u.data(), B * N, fo.data(), sg.bf16_act);
  emit(opt, "act.final_layer_out", fo, {B, N, Cin});
  std::vector<float> out(fo.size());
  for (index_t b = 0; b < B; ++b)
    for (index_t ch = 0; ch < Cin; ++ch)
      for (index_t n = 0; n < N; ++n) out[static_cast<std::size_t>((b * Cin + ch) * N + n)] = fo[static_cast<std::size_t>((b * N + n) * Cin + ch)];
  if (st && update) st->frames_done = f0 + T;
  return out;
}

}  // namespace detail

/// Frames [f, f + n) of `in` (x, chunk_plucker, timestep, camera_conditions), any batch size: the inputs of one
/// streaming chunk call cut from a full-sequence input. `cin`/`pc`: latent and Plücker channels.
inline dit_inputs slice_frames(const dit_inputs& in, index_t f, index_t n, index_t cin, index_t pc) {
  if (f < 0 || n < 1 || f + n > in.T)
    throw make_error("dit", "slice_frames: frames [", f, ", ", f + n, ") outside [0, ", in.T, ")");
  dit_inputs s = in;
  s.T = n;
  const index_t S = in.Hl * in.Wl;
  auto cut = [&](const std::vector<float>& v, index_t ch, index_t inner) {
    std::vector<float> o;
    o.reserve(static_cast<std::size_t>(in.B * ch * n * inner));
    for (index_t b = 0; b < in.B; ++b)
      for (index_t c = 0; c < ch; ++c) {
        const auto* p = v.data() + ((b * ch + c) * in.T + f) * inner;
        o.insert(o.end(), p, p + n * inner);
      }
    return o;
  };
  s.x = cut(in.x, cin, S);
  s.chunk_plucker = cut(in.chunk_plucker, pc, S);
  s.timestep = cut(in.timestep, 1, 1);
  s.camera_conditions = cut(in.camera_conditions, 1, camera_condition_width);
  return s;
}

/// One full-sequence forward (bidirectional or chunk-causal). Returns the flow velocity [B, Cin, T, Hl, Wl].
inline std::vector<float> dit_forward(const dit_weights& w, const dit_inputs& in, const forward_options& opt = {}) {
  std::vector<index_t> starts{0};
  if (opt.mode == dit_mode::chunk_causal)
    starts = opt.chunk_index.empty() ? chunk_starts(in.T, w.config.chunk_size) : opt.chunk_index;
  return detail::run_segment(w, in, 0, std::move(starts), opt, nullptr, false);
}

/// One streaming chunk call: `in` holds only this chunk's frames (camera_conditions still relative to the
/// rollout's frame 0); the chunk is at absolute frames [state.frames_done, +T). Reads the caches; with
/// `write_cache` (upstream's clean t = 0 pass, save_kv_cache=True) it also appends this chunk to them and
/// advances frames_done. Softmax blocks attend to the cached chunks (sink + window) and the chunk itself.
inline std::vector<float> dit_forward_stream(const dit_weights& w, stream_state& state, const dit_inputs& in,
                                             bool write_cache, const forward_options& opt = {}) {
  return detail::run_segment(w, in, state.frames_done, {0}, opt, &state, write_cache);
}

}  // namespace sanawm::dit

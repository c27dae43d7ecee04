// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/gdn/gdn_ref.hpp — float64 reference twins of the frame-wise GDN (main and camera branch) and
// of the camera β discount: plain loops in the upstream "predict from the decayed state" form, with the
// reverse scan built the upstream way (flip, shift, masked gates), so they share no algebra with the fast
// paths.
#pragma once

#include <algorithm>  // std::max
#include <vector>     // std::vector

#include "sanawm/core/int.hpp"         // index_t
#include "sanawm/core/tensor.hpp"      // tensor_view
#include "sanawm/kernels/gdn/gdn.hpp"  // gdn_inputs, gdn_options, checks

namespace sanawm {

/// float64 outputs of the reference, row-major: out/num [B, T, S, H, D], den [B, T, S, H]; empty = not
/// written.
struct gdn_ref_outputs {
  tensor_view<double, extents<dyn, dyn, dyn, dyn, dyn>> out;
  tensor_view<double, extents<dyn, dyn, dyn, dyn, dyn>> num;
  tensor_view<double, extents<dyn, dyn, dyn, dyn>> den;
};

/// float64 streaming state of the reference: the initial state (float, as the fast path takes it; empty = 0)
/// and the final forward state in double, M [B, H, D, D] (key channel, value channel) and z [B, H, D].
struct gdn_ref_state {
  gdn_state_m_cview m_in;
  gdn_state_z_cview z_in;
  tensor_view<double, extents<dyn, dyn, dyn, dyn>> m_out;
  tensor_view<double, extents<dyn, dyn, dyn>> z_out;
};

namespace detail {

// One directional scan of one (b, h) in upstream form, over a frame sequence given by index maps:
// frame u of the scan reads its keys/values/β from source frame src[u] (−1: a zero frame, the "shift" fill)
// with decay gam[u], and writes to output frame dst[u]. Skv is [D_v][D_k] like upstream; z is [D_k].
struct gdn_ref_scan {
  index_t D, S;
  const gdn_tokens_view* q;   // numerator queries (rotated)
  const gdn_tokens_view* qz;  // denominator queries (unrotated); null: numerator only
  const gdn_tokens_view* k;   // numerator keys (rotated)
  const gdn_tokens_view* kz;  // denominator keys (unrotated)
  const gdn_tokens_view* v;
  const gdn_token_gates_view* beta;
  double key_scale;

  // Runs the scan; num_acc [T][S][D] and den_acc [T][S] are accumulated (+=).
  void run(index_t b, index_t h, const std::vector<index_t>& src, const std::vector<index_t>& qsrc,
           const std::vector<double>& gam, const std::vector<double>& beta_mask, std::vector<double>& skv,
           std::vector<double>& z, std::vector<double>& num_acc, std::vector<double>& den_acc) const {
    const index_t T = static_cast<index_t>(src.size());
    std::vector<double> pred(static_cast<std::size_t>(S * D)), predz(static_cast<std::size_t>(S));
    for (index_t u = 0; u < T; ++u) {
      const double g = gam[static_cast<std::size_t>(u)];
      for (double& x : skv) x *= g;
      for (double& x : z) x *= g;
      const index_t f = src[static_cast<std::size_t>(u)];
      if (f >= 0) {
        const double bm = beta_mask[static_cast<std::size_t>(u)];
        // Every token of the frame predicts from the same decayed state (frame-parallel delta rule).
        for (index_t s = 0; s < S; ++s) {
          for (index_t j = 0; j < D; ++j) {
            double acc = 0;
            for (index_t i = 0; i < D; ++i)
              acc += skv[static_cast<std::size_t>(j * D + i)] * key(*k, b, f, s, h, i);
            pred[static_cast<std::size_t>(s * D + j)] = acc;
          }
          if (qz) {
            double acc = 0;
            for (index_t i = 0; i < D; ++i) acc += z[static_cast<std::size_t>(i)] * key(*kz, b, f, s, h, i);
            predz[static_cast<std::size_t>(s)] = acc;
          }
        }
        for (index_t s = 0; s < S; ++s) {
          const double bt = static_cast<double>((*beta)(b, f, s, h)) * bm;
          for (index_t j = 0; j < D; ++j) {
            const double e =
                (static_cast<double>((*v)(b, f, s, h, j)) - pred[static_cast<std::size_t>(s * D + j)]) * bt;
            for (index_t i = 0; i < D; ++i)
              skv[static_cast<std::size_t>(j * D + i)] += e * key(*k, b, f, s, h, i);
          }
          if (qz) {
            const double e = (1.0 - predz[static_cast<std::size_t>(s)]) * bt;
            for (index_t i = 0; i < D; ++i) z[static_cast<std::size_t>(i)] += e * key(*kz, b, f, s, h, i);
          }
        }
      }
      const index_t fq = qsrc[static_cast<std::size_t>(u)];
      for (index_t s = 0; s < S; ++s) {
        for (index_t j = 0; j < D; ++j) {
          double acc = 0;
          for (index_t i = 0; i < D; ++i)
            acc += skv[static_cast<std::size_t>(j * D + i)] * static_cast<double>((*q)(b, fq, s, h, i));
          num_acc[static_cast<std::size_t>((fq * S + s) * D + j)] += acc;
        }
        if (qz) {
          double acc = 0;
          for (index_t i = 0; i < D; ++i)
            acc += z[static_cast<std::size_t>(i)] * static_cast<double>((*qz)(b, fq, s, h, i));
          den_acc[static_cast<std::size_t>(fq * S + s)] += acc;
        }
      }
    }
  }

  double key(const gdn_tokens_view& x, index_t b, index_t t, index_t s, index_t h, index_t i) const {
    return static_cast<double>(x(b, t, s, h, i)) * key_scale;
  }
};

// Both scans of one (b, h) → num/den accumulators; returns the forward state through skv/z.
inline void gdn_ref_head(const gdn_ref_scan& scan, index_t b, index_t h, index_t T,
                         const gdn_frame_gates_view& gamma, const gdn_options& opt,
                         const unsigned char* seg_last, std::vector<double>& skv, std::vector<double>& z,
                         std::vector<double>& num, std::vector<double>& den) {
  const auto Tz = static_cast<std::size_t>(T);
  // Forward: frames 0..T−1 in order, queries of the same frame.
  std::vector<index_t> src(Tz), qsrc(Tz);
  std::vector<double> gam(Tz), bm(Tz, 1.0);
  for (index_t t = 0; t < T; ++t) {
    src[static_cast<std::size_t>(t)] = qsrc[static_cast<std::size_t>(t)] = t;
    gam[static_cast<std::size_t>(t)] = gamma(b, t, h);
  }
  scan.run(b, h, src, qsrc, gam, bm, skv, z, num, den);
  if (opt.mode == gdn_mode::causal) return;
  // Reverse, upstream style: scan step u serves query frame T−1−u; its key frame is shifted by one (T−u, a
  // zero frame with decay 1 at u = 0). chunk_causal zeroes β and γ of every interior chunk start, which
  // empties the state exactly where a new reverse segment must begin.
  std::vector<double> rskv(skv.size(), 0.0), rz(z.size(), 0.0);
  for (index_t u = 0; u < T; ++u) {
    const auto uz = static_cast<std::size_t>(u);
    qsrc[uz] = T - 1 - u;
    const index_t f = T - u;
    src[uz] = u == 0 ? -1 : f;
    gam[uz] = u == 0 ? 1.0 : static_cast<double>(gamma(b, f, h));
    bm[uz] = 1.0;
    if (u > 0 && seg_last[f - 1] != 0) gam[uz] = 0.0, bm[uz] = 0.0;  // f starts a chunk: reset
  }
  scan.run(b, h, src, qsrc, gam, bm, rskv, rz, num, den);
}

}  // namespace detail

/// float64 frame-wise GDN (main branch): same contract as gdn_frame, outputs in double. Upstream form: every
/// token of frame t predicts its value from the decayed state γ_t S_{t−1}, the state takes the β-weighted
/// errors, and the reverse scan runs on flipped-and-shifted inputs.
inline void gdn_frame_ref(const gdn_inputs& in, const gdn_ref_outputs& out, const gdn_options& opt,
                          const gdn_ref_state& st = {}) {
  const gdn_outputs shape_only{};
  gdn_state st_shape{st.m_in, st.z_in, {}, {}};
  const detail::gdn_dims d = detail::gdn_check_main("gdn_frame_ref", in, shape_only, opt, st_shape);
  std::vector<unsigned char> seg_last(static_cast<std::size_t>(std::max<index_t>(d.T, 1)));
  detail::gdn_reverse_segments("gdn_frame_ref", opt.mode, opt.chunk_starts, d.T, seg_last.data());
  const detail::gdn_ref_scan scan{d.D,   d.S,   &in.q_rot, &in.q,        &in.k_rot,
                                  &in.k, &in.v, &in.beta,  opt.key_scale};
  const auto DD = static_cast<std::size_t>(d.D * d.D);
  for (index_t b = 0; b < d.B; ++b)
    for (index_t h = 0; h < d.H; ++h) {
      std::vector<double> skv(DD, 0.0), z(static_cast<std::size_t>(d.D), 0.0);
      if (!st.m_in.empty())
        for (index_t i = 0; i < d.D; ++i) {
          for (index_t j = 0; j < d.D; ++j) skv[static_cast<std::size_t>(j * d.D + i)] = st.m_in(b, h, i, j);
          z[static_cast<std::size_t>(i)] = st.z_in(b, h, i);
        }
      std::vector<double> num(static_cast<std::size_t>(d.T * d.S * d.D), 0.0),
          den(static_cast<std::size_t>(d.T * d.S), 0.0);
      detail::gdn_ref_head(scan, b, h, d.T, in.gamma, opt, seg_last.data(), skv, z, num, den);
      for (index_t t = 0; t < d.T; ++t)
        for (index_t s = 0; s < d.S; ++s) {
          const double dn = den[static_cast<std::size_t>(t * d.S + s)];
          if (!out.den.empty()) out.den(b, t, s, h) = dn;
          for (index_t j = 0; j < d.D; ++j) {
            const double nm = num[static_cast<std::size_t>((t * d.S + s) * d.D + j)];
            if (!out.num.empty()) out.num(b, t, s, h, j) = nm;
            if (!out.out.empty()) out.out(b, t, s, h, j) = nm / (dn + static_cast<double>(opt.eps));
          }
        }
      if (!st.m_out.empty())
        for (index_t i = 0; i < d.D; ++i) {
          for (index_t j = 0; j < d.D; ++j) st.m_out(b, h, i, j) = skv[static_cast<std::size_t>(j * d.D + i)];
          st.z_out(b, h, i) = z[static_cast<std::size_t>(i)];
        }
    }
}

/// float64 camera-branch scan: numerator only, out = num_fwd (+ num_rev), no division. Same modes and state
/// handling as gdn_frame_ref (only m).
inline void gdn_camera_frame_ref(const gdn_camera_inputs& in,
                                 tensor_view<double, extents<dyn, dyn, dyn, dyn, dyn>> out,
                                 const gdn_options& opt, const gdn_ref_state& st = {}) {
  gdn_state st_shape{st.m_in, {}, {}, {}};
  const detail::gdn_dims d =
      detail::gdn_check_camera("gdn_camera_frame_ref", in, gdn_tokens_out_view{}, opt, st_shape, false);
  std::vector<unsigned char> seg_last(static_cast<std::size_t>(std::max<index_t>(d.T, 1)));
  detail::gdn_reverse_segments("gdn_camera_frame_ref", opt.mode, opt.chunk_starts, d.T, seg_last.data());
  const detail::gdn_ref_scan scan{d.D, d.S, &in.q, nullptr, &in.k, nullptr, &in.v, &in.beta, opt.key_scale};
  const auto DD = static_cast<std::size_t>(d.D * d.D);
  for (index_t b = 0; b < d.B; ++b)
    for (index_t h = 0; h < d.H; ++h) {
      std::vector<double> skv(DD, 0.0), z;
      if (!st.m_in.empty())
        for (index_t i = 0; i < d.D; ++i)
          for (index_t j = 0; j < d.D; ++j) skv[static_cast<std::size_t>(j * d.D + i)] = st.m_in(b, h, i, j);
      std::vector<double> num(static_cast<std::size_t>(d.T * d.S * d.D), 0.0), den;
      detail::gdn_ref_head(scan, b, h, d.T, in.gamma, opt, seg_last.data(), skv, z, num, den);
      for (index_t t = 0; t < d.T; ++t)
        for (index_t s = 0; s < d.S; ++s)
          for (index_t j = 0; j < d.D; ++j)
            out(b, t, s, h, j) = num[static_cast<std::size_t>((t * d.S + s) * d.D + j)];
      if (!st.m_out.empty())
        for (index_t i = 0; i < d.D; ++i)
          for (index_t j = 0; j < d.D; ++j) st.m_out(b, h, i, j) = skv[static_cast<std::size_t>(j * d.D + i)];
    }
}

/// float64 dynamic β discount of the camera branch: beta_out[b,t,s,h] = β / max(1, mean_s ‖k_post‖²/‖k_pre‖²)
/// (see gdn_inflation). k_pre/k_post [B, T, S, H, D], beta [B, T, S, H].
inline void gdn_camera_beta_ref(gdn_tokens_view k_pre, gdn_tokens_view k_post, gdn_token_gates_view beta,
                                tensor_view<double, extents<dyn, dyn, dyn, dyn>> beta_out) {
  for (index_t b = 0; b < beta.extent(0); ++b)
    for (index_t t = 0; t < beta.extent(1); ++t)
      for (index_t h = 0; h < beta.extent(3); ++h) {
        double mean = 0;
        const index_t S = beta.extent(2);
        for (index_t s = 0; s < S; ++s) {
          double pre = 0, post = 0;
          for (index_t i = 0; i < k_pre.extent(4); ++i) {
            pre += static_cast<double>(k_pre(b, t, s, h, i)) * k_pre(b, t, s, h, i);
            post += static_cast<double>(k_post(b, t, s, h, i)) * k_post(b, t, s, h, i);
          }
          mean += pre > 0 ? post / pre : 0.0;
        }
        const double div = std::max(1.0, S > 0 ? mean / static_cast<double>(S) : 0.0);
        for (index_t s = 0; s < S; ++s) beta_out(b, t, s, h) = static_cast<double>(beta(b, t, s, h)) / div;
      }
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/conv/conv_winograd_cpu.hpp — conv3d(cpu_t) for kt×3×3 kernels by Winograd F(2×2, 3×3): the
// spatial 3×3 part of each temporal tap is computed on 2×2 output tiles from 4×4 input tiles with 16 products
// instead of 36, so a kt×3×3 conv costs 16·kt instead of 36·kt multiply-adds per tile and channel pair (2.25×
// fewer). The 16 element-wise products of the transformed tiles summed over (tap, Cin) are 16 GEMMs with
// K = kt·Cin on the packed CPU GEMM; the transforms are additions only (input and output) or run once per call
// (weights, in double).
//
//   V = Bᵀ·d·B (input tile d 4×4),  U = G·g·Gᵀ (kernel g 3×3),  Y = Aᵀ·(Σ_{dt,ci} U ⊙ V)·A (output tile 2×2)
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1]
//
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016.) F(2×2, 3×3) keeps fp32 accuracy
// (its transforms have coefficients 0, ±½, ±1: no growth beyond a few ulps); larger tiles (F(4×4, 3×3): 4× fewer
// products) amplify rounding by an order of magnitude and are not used.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/kernels/conv/conv_winograd_cpu.hpp: host-only header (SIMD intrinsics); include it from .cpp files"
#endif

#include <algorithm>  // std::min, std::max
#include <array>      // std::array
#include <vector>     // std::vector

#include "sanawm/backend/cpu/simd.hpp"               // vec, native_isa
#include "sanawm/core/buffer.hpp"                    // host_buffer
#include "sanawm/core/int.hpp"                       // index_t
#include "sanawm/kernels/conv/conv.hpp"              // conv3d_padding, frame/spatial sources
#include "sanawm/kernels/elementwise/dense_cpu.hpp"  // dense::load/store, parallel_items
#include "sanawm/kernels/gemm/gemm_cpu.hpp"          // gemm(cpu_t, args, packed), pack_gemm_b

namespace sanawm::cpu {

/// A kt×3×3 conv3d weight transformed for Winograd F(2×2, 3×3) and packed for the CPU GEMM: the 16 matrices
/// U_ξ [Cout, kt·Cin] (ξ = 4·row + column of the transformed 4×4 kernel), each packed as a GEMM B for one compute
/// mode. Build it once with conv3d_winograd_weights::prepare to reuse across conv3d calls (16·kt / (9·kt) = 1.78×
/// the weights' size, plus the GEMM's padding of Cout to its register tile); conv3d(cpu_t) otherwise refills a
/// per-thread one on every call.
class conv3d_winograd_weights {
 public:
  conv3d_winograd_weights() = default;

  /// Transforms `w` (a conv3d weight view [Cout, Cin, kt, 3, 3], any layout) in double, rounds to the compute
  /// mode's operand type (fp32, or bf16 for compute bf16) and packs. `compute` must be fp32 or bf16.
  template <class W>
  static conv3d_winograd_weights prepare(const W& w, gemm_compute compute) {
    conv3d_winograd_weights out;
    out.prepare_into(w, compute);
    return out;
  }

  /// prepare() into this object, reusing its storage where large enough (a per-thread scratch refilled call after
  /// call costs no allocation).
  template <class W>
  void prepare_into(const W& w, gemm_compute compute) {
    SANAWM_EXPECT(compute == gemm_compute::fp32 || compute == gemm_compute::bf16, "conv3d_winograd_weights",
                  "compute must be fp32 or bf16");
    SANAWM_EXPECT(w.extent(3) == 3 && w.extent(4) == 3, "conv3d_winograd_weights", "needs a kt x 3 x 3 kernel, got ",
                  w.extent(2), "x", w.extent(3), "x", w.extent(4));
    SANAWM_EXPECT(w.extent(0) >= 1 && w.extent(1) >= 1 && w.extent(2) >= 1, "conv3d_winograd_weights",
                  "empty weight [", w.extent(0), ", ", w.extent(1), ", ", w.extent(2), ", 3, 3]");
    co_ = w.extent(0), ci_ = w.extent(1), kt_ = w.extent(2), compute_ = compute;
    if (compute == gemm_compute::bf16) pack_all<bf16>(w);
    else pack_all<float>(w);
  }

  index_t cout() const noexcept { return co_; }
  index_t cin() const noexcept { return ci_; }
  index_t kt() const noexcept { return kt_; }
  gemm_compute compute() const noexcept { return compute_; }
  /// The GEMM B of position ξ (0..15).
  const packed_gemm_b& operand(index_t xi) const noexcept { return packed_[static_cast<std::size_t>(xi)]; }
  /// Bytes held (the 16 packed operands).
  std::size_t bytes() const noexcept {
    std::size_t n = 0;
    for (const auto& p : packed_) n += p.bytes();
    return n;
  }

 private:
  // U_ξ[o][dt·Cin + i] for all 16 ξ in one pass over the weights (each (o, dt): the 9 taps of every input channel
  // read once, G·g·Gᵀ in double, rounded once) into a per-thread scratch [16, Cout, kt·Cin], then 16 packs. Input
  // channels go in blocks of 64 through small stack arrays, so the loops over them vectorise and the 9 + 16 rows
  // stay in the L1 (rows Cin apart would alias there when Cin is a large power of two).
  template <class TU, class W>
  void pack_all(const W& w) {
    constexpr index_t cb = 64;
    const index_t k = kt_ * ci_;
    TU* u = dense::thread_scratch<TU, 4>(16 * co_ * k);
    const index_t si = w.stride(1), sr = w.stride(3), sc = w.stride(4);
    dense::parallel_items(co_ * kt_, 60 * ci_, [&](index_t begin, index_t end) {
      for (index_t od = begin; od < end; ++od) {
        const index_t o = od / kt_, dt = od % kt_;
        const auto* w0 = &w(o, 0, dt, 0, 0);  // strides, not the view's index arithmetic, in the hot loop
        for (index_t i0 = 0; i0 < ci_; i0 += cb) {
          const index_t n = std::min(cb, ci_ - i0);
          double g[9][cb];
          for (int rc = 0; rc < 9; ++rc) {
            const auto* tap = w0 + i0 * si + (rc / 3) * sr + (rc % 3) * sc;
            for (index_t i = 0; i < n; ++i) g[rc][i] = static_cast<double>(sanawm::detail::dense_load(tap[i * si]));
          }
          double gg[4][3][cb];  // G·g
          for (int c = 0; c < 3; ++c)
            for (index_t i = 0; i < n; ++i) {
              const double g0 = g[c][i], g1 = g[3 + c][i], g2 = g[6 + c][i];
              gg[0][c][i] = g0, gg[1][c][i] = 0.5 * (g0 + g1 + g2);
              gg[2][c][i] = 0.5 * (g0 - g1 + g2), gg[3][c][i] = g2;
            }
          for (int a = 0; a < 4; ++a) {  // (G·g)·Gᵀ, row a
            TU* d0 = u + ((a * 4 + 0) * co_ + o) * k + dt * ci_ + i0;
            TU* d1 = u + ((a * 4 + 1) * co_ + o) * k + dt * ci_ + i0;
            TU* d2 = u + ((a * 4 + 2) * co_ + o) * k + dt * ci_ + i0;
            TU* d3 = u + ((a * 4 + 3) * co_ + o) * k + dt * ci_ + i0;
            for (index_t i = 0; i < n; ++i) {
              const double x0 = gg[a][0][i], x1 = gg[a][1][i], x2 = gg[a][2][i];
              d0[i] = sanawm::detail::dense_store<TU>(static_cast<float>(x0));
              d1[i] = sanawm::detail::dense_store<TU>(static_cast<float>(0.5 * (x0 + x1 + x2)));
              d2[i] = sanawm::detail::dense_store<TU>(static_cast<float>(0.5 * (x0 - x1 + x2)));
              d3[i] = sanawm::detail::dense_store<TU>(static_cast<float>(x2));
            }
          }
        }
      }
    });
    for (index_t xi = 0; xi < 16; ++xi)
      pack_gemm_b_into(packed_[static_cast<std::size_t>(xi)], u + xi * co_ * k, co_, k, k, compute_);
  }

  std::array<packed_gemm_b, 16> packed_{};
  index_t co_ = 0, ci_ = 0, kt_ = 0;
  gemm_compute compute_ = gemm_compute::fp32;
};

}  // namespace sanawm::cpu

namespace sanawm::cpu::dense {

/// Frame size (H·W pixels) from which conv3d(cpu_t)'s automatic choice takes Winograd: below it the per-call
/// weight transform (≈ 2 ns per transformed weight, memory-bound: 16·kt·Cin·Cout of them) outweighs the saved
/// products (15 of 27 per output and channel pair) unless a call holds many frames. Per frame, not per call, so
/// the choice — and the bits — never change with the number of frames a call carries. A tuning knob for
/// benchmarks and tests; not thread-safe to change while convs run.
inline index_t conv3d_winograd_min_pixels = 256;

/// Whether conv3d(cpu_t)'s automatic choice takes Winograd for a kt×kh×kw kernel with these channel counts on
/// frames of `pixels` = H·W: 3×3 spatially, frames of at least conv3d_winograd_min_pixels, and enough channels
/// that the GEMMs, not the transforms, dominate (the input transform costs ~32 additions per tile, tap and Cin,
/// the output one ~24 per tile and Cout, against 32·kt·Cin·Cout FLOPs of GEMM per tile) and that Cout fills the
/// GEMM's 48-wide register tile reasonably (the implicit GEMM can put a narrow Cout on its 8-row side instead).
/// Measured with bench/dense/dense_bench (BM_conv3d: 16 channels gain nothing, 32–64 channels 1.1–1.4×, 128–512
/// channels 1.7–2.8× with prepared weights).
inline bool conv3d_winograd_pays(index_t ci, index_t co, index_t kh, index_t kw, index_t pixels) noexcept {
  return kh == 3 && kw == 3 && ci >= 32 && co >= 32 && pixels >= conv3d_winograd_min_pixels;
}

/// Bytes of per-call scratch conv3d_winograd aims for (transformed inputs of a block of tiles + their 16 GEMM
/// outputs): bounds the kernel's extra memory whatever the frame size.
inline index_t conv3d_winograd_block_bytes = index_t{24} << 20;

/// conv3d(cpu_t) by Winograd F(2×2, 3×3) with transformed operands of type TG (float, or bf16 for the bf16
/// compute mode) against the prepared weights `uw`. Output tiles are anchored at each frame's pixel (0, 0), so
/// every output element is the same computation whatever the frame count, block or thread count (chunked ==
/// whole stays bit-exact); a tile that crosses the right or bottom edge computes its outside outputs from
/// zeros and drops them.
template <class TG, dense_view<5> X, dense_out_view<5> Y, dense_view<5> L>
void conv3d_winograd(const X& x, const conv3d_winograd_weights& uw, const float* bias, const Y& y,
                     conv3d_padding pad, const L& left) {
  using TIn = typename X::value_type;
  using TOut = typename Y::value_type;
  using Isa = native_isa;
  using V = vec<float, Isa>;
  constexpr index_t vw = V::width;
  const index_t b_n = x.extent(0), t_in = x.extent(1), hh = x.extent(2), ww = x.extent(3), ci = x.extent(4);
  const index_t co = uw.cout(), kt = uw.kt(), t_out = y.extent(1), kk = kt * ci;
  const index_t tiles_h = (hh + 1) / 2, tiles_w = (ww + 1) / 2, rows = t_out * tiles_h * tiles_w;

  using Cfg = detail::gemm_config<Isa, detail::gemm_kind::f32>;
  const index_t row_bytes = 16 * (kk * static_cast<index_t>(sizeof(TG)) + co * static_cast<index_t>(sizeof(float)));
  index_t mb = std::max<index_t>(4 * Cfg::mr, conv3d_winograd_block_bytes / row_bytes);
  mb = std::min(rows, mb / Cfg::mr * Cfg::mr);
  TG* va = thread_scratch<TG, 2>(16 * mb * kk);         // V_ξ [mb, kt·Cin], ξ-major
  float* mm = thread_scratch<float, 3>(16 * mb * co);   // M_ξ [mb, Cout], ξ-major
  const index_t left_frames = left.extent(1);

  // Source row/column of input index r (−1 = a zero): inside, the padding rule for the one row/column on each
  // side the valid outputs read, zero beyond (read only by dropped outputs of an edge tile).
  auto source = [&](index_t r, index_t n) -> index_t {
    if (r < -1 || r > n) return -1;
    const index_t s = sanawm::detail::spatial_source(r, n, pad.spatial);
    return s >= 0 && s < n ? s : -1;
  };

  for (index_t b = 0; b < b_n; ++b) {
    for (index_t r0 = 0; r0 < rows; r0 += mb) {
      const index_t m = std::min(mb, rows - r0);
      // Input transform: row r of V_ξ holds, for every tap dt, the Cin values of (Bᵀ·d·B)_ξ of the tile's input.
      parallel_items(m, 40 * kk, [&](index_t begin, index_t end) {
        for (index_t r = begin; r < end; ++r) {
          const index_t q = r0 + r, t = q / (tiles_h * tiles_w), ty = (q / tiles_w) % tiles_h, tx = q % tiles_w;
          for (index_t dt = 0; dt < kt; ++dt) {
            const sanawm::detail::frame_source fs =
                sanawm::detail::conv3d_frame_source(pad.temporal, t, dt, kt, t_in, left_frames);
            const TIn* px[4][4];
            for (int a = 0; a < 4; ++a) {
              const index_t sr = fs.kind == 2 ? -1 : source(2 * ty - 1 + a, hh);
              for (int c = 0; c < 4; ++c) {
                const index_t sc = sr < 0 ? -1 : source(2 * tx - 1 + c, ww);
                px[a][c] = sc < 0 ? nullptr : fs.kind == 0 ? &x(b, fs.index, sr, sc, 0) : &left(b, fs.index, sr, sc, 0);
              }
            }
            TG* dst = va + r * kk + dt * ci;
            for (index_t i = 0; i < ci; i += vw) {
              const index_t n = std::min(vw, ci - i);
              V e[4][4];
              for (int a = 0; a < 4; ++a) {
                V d[4];
                for (int c = 0; c < 4; ++c)
                  d[c] = px[a][c] == nullptr ? V::zero()
                         : n == vw          ? load<Isa>(px[a][c] + i)
                                            : load_partial<Isa>(px[a][c] + i, n);
                e[a][0] = d[0] - d[2], e[a][1] = d[1] + d[2], e[a][2] = d[2] - d[1], e[a][3] = d[1] - d[3];
              }
              for (int c = 0; c < 4; ++c) {
                const V v[4] = {e[0][c] - e[2][c], e[1][c] + e[2][c], e[2][c] - e[1][c], e[1][c] - e[3][c]};
                for (int a = 0; a < 4; ++a) {
                  TG* p = dst + (a * 4 + c) * mb * kk + i;
                  if (n == vw) store<Isa>(v[a], p);
                  else store_partial<Isa>(v[a], p, n);
                }
              }
            }
          }
        }
      });
      // M_ξ [m, Cout] = V_ξ · U_ξᵀ: 16 GEMMs against the packed transformed weights.
      for (index_t xi = 0; xi < 16; ++xi) {
        gemm_args<TG, TG, float> p;
        p.m = m, p.n = co, p.k = kk;
        p.a = va + xi * mb * kk, p.lda = kk;
        p.c = mm + xi * mb * co, p.ldc = co;
        p.compute = uw.compute();
        gemm(cpu_t{}, p, uw.operand(xi));
      }
      // Output transform: Y = Aᵀ·M·A per tile and Cout vector, plus the bias; outputs past the edge dropped.
      parallel_items(m, 30 * co, [&](index_t begin, index_t end) {
        for (index_t r = begin; r < end; ++r) {
          const index_t q = r0 + r, t = q / (tiles_h * tiles_w), ty = (q / tiles_w) % tiles_h, tx = q % tiles_w;
          const index_t h0 = 2 * ty, w0 = 2 * tx;
          const bool down = h0 + 1 < hh, right = w0 + 1 < ww;
          TOut* y00 = &y(b, t, h0, w0, 0);
          TOut* y01 = right ? &y(b, t, h0, w0 + 1, 0) : nullptr;
          TOut* y10 = down ? &y(b, t, h0 + 1, w0, 0) : nullptr;
          TOut* y11 = down && right ? &y(b, t, h0 + 1, w0 + 1, 0) : nullptr;
          const float* src = mm + r * co;
          for (index_t o = 0; o < co; o += vw) {
            const index_t n = std::min(vw, co - o);
            auto at = [&](int xi) {
              const float* s = src + xi * mb * co + o;
              return n == vw ? load<Isa>(s) : load_partial<Isa>(s, n);
            };
            V s0[4], s1[4];
            for (int c = 0; c < 4; ++c) {
              const V m1 = at(4 + c), m2 = at(8 + c);
              s0[c] = at(c) + m1 + m2;
              s1[c] = m1 - m2 - at(12 + c);
            }
            const V bv = bias == nullptr ? V::zero() : n == vw ? load<Isa>(bias + o) : load_partial<Isa>(bias + o, n);
            const V out[4] = {s0[0] + s0[1] + s0[2] + bv, s0[1] - s0[2] - s0[3] + bv, s1[0] + s1[1] + s1[2] + bv,
                              s1[1] - s1[2] - s1[3] + bv};
            TOut* dsts[4] = {y00, y01, y10, y11};
            for (int j = 0; j < 4; ++j) {
              if (dsts[j] == nullptr) continue;
              if (n == vw) store<Isa>(out[j], dsts[j] + o);
              else store_partial<Isa>(out[j], dsts[j] + o, n);
            }
          }
        }
      });
    }
  }
}

}  // namespace sanawm::cpu::dense

// SPDX-License-Identifier: Apache-2.0
// tests/dense/conv_test.cpp — the convolutions: CPU fast paths (GEMM-based and SIMD) and portable bodies
// against the float64 twins; chunk-causal == full conv where upstream defines them equal; streaming chunks
// with left context == the chunk-causal / causal conv over the whole sequence; fused depthwise+GLU ==
// composed; conv3d against the LTX-2 VAE golden intermediates; layout converters.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "dense/dense_test_util.hpp"
#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/io/safetensors.hpp"
#include "sanawm/kernels/conv/conv_cpu.hpp"
#include "sanawm/kernels/conv/conv_ref.hpp"
#include "sanawm/kernels/conv/conv_gemm.hpp"  // *_via_gemm: the CUDA route, run here on the CPU GEMM
#include "sanawm/kernels/gemm/gemm_cpu.hpp"  // gemm(cpu_t, …) for *_via_gemm

namespace {

using namespace sanawm;
using namespace sanawm::test::dense;

std::string golden(const char* name) {
  const std::string dir = SANAWM_GOLDEN_DIR;
  if (dir.empty() || !std::filesystem::exists(dir + "/" + name)) return {};
  return dir + "/" + name;
}

template <class T, std::size_t R>
using sv = strided_view<T, R>;

// ---- frame chunks -----------------------------------------------------------------------------------------

TEST(FrameChunks, UpstreamSplit) {
  // chunk_index_from_chunk_size(T, 3, "first_chunk_plus_one"), as recorded in the golden README.
  auto starts = [](index_t t) {
    std::vector<index_t> s;
    for (index_t f = 0; f < t; f = frame_chunks::sana_wm().chunk_end(f, t)) s.push_back(f);
    return s;
  };
  EXPECT_EQ(starts(3), (std::vector<index_t>{0}));
  EXPECT_EQ(starts(4), (std::vector<index_t>{0}));
  EXPECT_EQ(starts(5), (std::vector<index_t>{0}));
  EXPECT_EQ(starts(7), (std::vector<index_t>{0, 4}));
  EXPECT_EQ(starts(8), (std::vector<index_t>{0, 4}));
  EXPECT_EQ(starts(9), (std::vector<index_t>{0, 4}));
  EXPECT_EQ(starts(10), (std::vector<index_t>{0, 4, 7}));
  EXPECT_EQ(starts(121).size(), 40u);  // 60 s: 40 chunks [4, 3, 3, …]
  for (index_t t = 1; t < 30; ++t)
    for (index_t f = 0; f < t; ++f) {
      const index_t b = frame_chunks::sana_wm().chunk_begin(f, t),
                    e = frame_chunks::sana_wm().chunk_end(f, t);
      ASSERT_TRUE(b <= f && f < e && e <= t) << t << " " << f;
      ASSERT_EQ(frame_chunks::sana_wm().chunk_end(b, t), e);
    }
  EXPECT_EQ(frame_chunks::single().chunk_end(3, 10), 10);
}

// ---- 1x1 conv ---------------------------------------------------------------------------------------------

template <class TIn, class TW, class TOut>
void check_conv1x1() {
  struct c3 {
    index_t n, ci, co;
  };
  for (c3 s : {c3{1, 1, 1}, c3{5, 3, 7}, c3{17, 33, 9}, c3{64, 70, 130}})
    for (activation act :
         {activation::identity, activation::silu, activation::gelu_tanh, activation::sigmoid})
      for (bool with_bias : {true, false}) {
        SCOPED_TRACE(std::to_string(s.n) + "x" + std::to_string(s.ci) + "->" + std::to_string(s.co) + " " +
                     activation_name(act) + (with_bias ? " bias" : ""));
        const auto x = random_tensor<TIn, 2>(60, -1, 1, s.n, s.ci);
        const auto w = random_tensor<TW, 2>(61, -1, 1, s.co, s.ci);
        const auto bias = random_tensor<float, 1>(62, -1, 1, with_bias ? s.co : 0);
        std::vector<double> ref(static_cast<std::size_t>(s.n * s.co));
        conv1x1_ref(doubles(x), s.n, s.ci, doubles(w), s.co, doubles(bias), act, ref);
        auto y = poisoned<TOut, 2>(s.n, s.co);
        conv1x1(cpu_t{}, x.view(), w.view(), bias.view(), y.view(), act);
        expect_close(y, ref, "conv1x1");
        auto yp = poisoned<TOut, 2>(s.n, s.co);
        conv1x1_portable(cpu_t{}, x.view(), w.view(), bias.view(), yp.view(), act);
        expect_close(yp, ref, "conv1x1_portable");
        // The GEMM route (what conv1x1(cuda_t, …) takes): every activation the GEMM epilogue has.
        auto yg = poisoned<TOut, 2>(s.n, s.co);
        if (conv1x1_via_gemm(cpu_t{}, x.view(), w.view(), bias.view(), yg.view(), act))
          expect_close(yg, ref, "conv1x1_via_gemm");
        else
          EXPECT_EQ(act, activation::sigmoid) << "only sigmoid lacks a GEMM epilogue";
      }
}

TEST(Conv1x1, Float) {
  check_conv1x1<float, float, float>();
}
TEST(Conv1x1, Bf16) {
  check_conv1x1<bf16, bf16, bf16>();
}
TEST(Conv1x1, Bf16InputFloatWeight) {
  check_conv1x1<bf16, float, float>();
}

// ---- depthwise 3x3 (+ GLU) --------------------------------------------------------------------------------

struct s5 {
  index_t b, t, h, w, c;
};
constexpr s5 dw_shapes[] = {{1, 1, 1, 1, 2}, {1, 2, 3, 4, 6}, {2, 1, 5, 3, 34}, {1, 2, 4, 6, 80}};

template <class TIn, class TOut>
void check_depthwise() {
  for (s5 s : dw_shapes)
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c) +
                   (with_bias ? " bias" : ""));
      const bthwc_shape sh{s.b, s.t, s.h, s.w, s.c};
      const auto x = random_tensor<TIn, 5>(70, -1, 1, s.b, s.t, s.h, s.w, s.c);
      const auto w = random_tensor<float, 3>(71, -1, 1, s.c, 3, 3);
      const auto bias = random_tensor<float, 1>(72, -1, 1, with_bias ? s.c : 0);
      std::vector<double> ref(static_cast<std::size_t>(sh.size()));
      depthwise_conv3x3_ref(doubles(x), sh, doubles(w), doubles(bias), ref);
      auto y = poisoned<TOut, 5>(s.b, s.t, s.h, s.w, s.c);
      depthwise_conv3x3(cpu_t{}, x.view(), w.view(), bias.view(), y.view());
      expect_close(y, ref, "depthwise_conv3x3");
      auto yp = poisoned<TOut, 5>(s.b, s.t, s.h, s.w, s.c);
      depthwise_conv3x3_portable(cpu_t{}, x.view(), w.view(), bias.view(), yp.view());
      expect_close(yp, ref, "depthwise_conv3x3_portable");

      // Fused with the GLU split: reference = dwconv then glu; composed fallback = the two kernels.
      const index_t g = s.c / 2;
      std::vector<double> glu_expect(static_cast<std::size_t>(sh.size() / 2));
      glu_ref(activation::silu, ref, sh.size() / s.c, g, glu_expect);
      auto fused = poisoned<TOut, 5>(s.b, s.t, s.h, s.w, g);
      depthwise_conv3x3_glu(cpu_t{}, x.view(), w.view(), bias.view(), activation::silu, fused.view());
      expect_close(fused, glu_expect, "depthwise_conv3x3_glu");
      auto fused_p = poisoned<TOut, 5>(s.b, s.t, s.h, s.w, g);
      depthwise_conv3x3_glu_portable(cpu_t{}, x.view(), w.view(), bias.view(), activation::silu,
                                     fused_p.view());
      expect_close(fused_p, glu_expect, "depthwise_conv3x3_glu_portable");
      ht<float, 5> d(s.b, s.t, s.h, s.w, s.c);
      depthwise_conv3x3(cpu_t{}, x.view(), w.view(), bias.view(), d.view());
      const index_t rows = sh.size() / s.c;
      auto composed = poisoned<TOut, 2>(rows, g);
      glu(cpu_t{}, activation::silu, sv<const float, 2>(make_view(d.data(), extents<dyn, dyn>(rows, s.c))),
          composed.view());
      expect_close(fused, doubles(composed), "fused == composed");
    }
}

TEST(DepthwiseConv3x3, Float) {
  check_depthwise<float, float>();
}
TEST(DepthwiseConv3x3, Bf16) {
  check_depthwise<bf16, bf16>();
}

// ---- FFN temporal conv ------------------------------------------------------------------------------------

// The weights [Cout, Cin, 3] either in PyTorch's layout or tap-major ([3, Cout, Cin] viewed with strides
// (Cin, 1, Cout·Cin)): the CPU path takes the second without copying.
template <class TW>
struct temporal_weights {
  ht<TW, 3> torch;
  ht<TW, 3> tap_major;
  sv<const TW, 3> tap_view;
};
template <class TW>
temporal_weights<TW> make_temporal_weights(index_t co, index_t ci) {
  temporal_weights<TW> w{random_tensor<TW, 3>(80, -0.5, 0.5, co, ci, 3), ht<TW, 3>(3, co, ci), {}};
  for (index_t o = 0; o < co; ++o)
    for (index_t i = 0; i < ci; ++i)
      for (index_t k = 0; k < 3; ++k) w.tap_major(k, o, i) = w.torch(o, i, k);
  w.tap_view = sv<const TW, 3>(w.tap_major.data(),
                               layout_stride::mapping<dextents<3>>(dextents<3>(co, ci, 3), {ci, 1, co * ci}));
  return w;
}

template <class TIn, class TW, class TOut>
void check_temporal_conv(frame_chunks chunks, bool residual, bool with_left) {
  struct c4 {
    index_t b, t, s, ci, co;
  };
  for (c4 s :
       {c4{1, 1, 1, 1, 1}, c4{1, 3, 2, 5, 5}, c4{2, 5, 3, 7, 7}, c4{1, 10, 4, 16, 16}, c4{1, 9, 5, 24, 13}}) {
    if (residual && s.ci != s.co) continue;
    SCOPED_TRACE("T " + std::to_string(s.t) + " S " + std::to_string(s.s) + " " + std::to_string(s.ci) +
                 "->" + std::to_string(s.co) + (residual ? " residual" : "") + (with_left ? " left" : ""));
    const auto x = random_tensor<TIn, 4>(81, -1, 1, s.b, s.t, s.s, s.ci);
    const auto left = random_tensor<TIn, 3>(82, -1, 1, with_left ? s.b : 0, s.s, s.ci);
    const auto w = make_temporal_weights<TW>(s.co, s.ci);
    std::vector<double> ref(static_cast<std::size_t>(s.b * s.t * s.s * s.co));
    temporal_conv3_ref(doubles(x), s.b, s.t, s.s, s.ci, doubles(w.torch), s.co, chunks, doubles(left),
                       residual, ref);
    const temporal_conv_options opt{chunks, residual};
    auto y = poisoned<TOut, 4>(s.b, s.t, s.s, s.co);
    temporal_conv3(cpu_t{}, x.view(), w.torch.view(), y.view(), opt, left.view());
    expect_close(y, ref, "temporal_conv3 (PyTorch weight layout)");
    auto yt = poisoned<TOut, 4>(s.b, s.t, s.s, s.co);
    temporal_conv3(cpu_t{}, x.view(), w.tap_view, yt.view(), opt, left.view());
    expect_close(yt, ref, "temporal_conv3 (tap-major weights)");
    auto yp = poisoned<TOut, 4>(s.b, s.t, s.s, s.co);
    temporal_conv3_portable(cpu_t{}, x.view(), w.torch.view(), yp.view(), opt, left.view());
    expect_close(yp, ref, "temporal_conv3_portable");
    // The im2col + GEMM route (what temporal_conv3(cuda_t, …) takes); a residual needs x's type to be y's.
    for (bool tap_major : {false, true}) {
      auto yg = poisoned<TOut, 4>(s.b, s.t, s.s, s.co);
      const bool ran = tap_major ? temporal_conv3_via_gemm(cpu_t{}, x.view(), w.tap_view, yg.view(), opt, left.view())
                                 : temporal_conv3_via_gemm(cpu_t{}, x.view(), w.torch.view(), yg.view(), opt, left.view());
      EXPECT_EQ(ran, (!residual || std::is_same_v<TIn, TOut>));
      if (ran) expect_close(yg, ref, "temporal_conv3_via_gemm");
    }
  }
}

TEST(TemporalConv3, Bidirectional) {
  check_temporal_conv<float, float, float>(frame_chunks::single(), false, false);
}
TEST(TemporalConv3, BidirectionalResidual) {
  check_temporal_conv<float, float, float>(frame_chunks::single(), true, false);
}
TEST(TemporalConv3, ChunkCausal) {
  check_temporal_conv<float, float, float>(frame_chunks::sana_wm(), true, false);
}
TEST(TemporalConv3, SmallChunksWithLeftContext) {
  check_temporal_conv<float, float, float>({2, 2}, false, true);
}
TEST(TemporalConv3, Bf16) {
  check_temporal_conv<bf16, bf16, bf16>(frame_chunks::sana_wm(), true, true);
}
TEST(TemporalConv3, Bf16InputFloatOutput) {
  check_temporal_conv<bf16, float, float>(frame_chunks::single(), false, false);
}

TEST(TemporalConv3, ChunkCausalEqualsFullExceptAtChunkEnds) {
  // Upstream: ChunkGLUMBConvTemp drops only the look-ahead tap at a chunk's last frame.
  const index_t t_n = 10, s_n = 3, c = 8;
  const auto x = random_tensor<float, 4>(83, -1, 1, 1, t_n, s_n, c);
  const auto w = make_temporal_weights<float>(c, c);
  ht<float, 4> full(1, t_n, s_n, c), cc(1, t_n, s_n, c);
  temporal_conv3(cpu_t{}, x.view(), w.torch.view(), full.view(), {frame_chunks::single(), true});
  temporal_conv3(cpu_t{}, x.view(), w.torch.view(), cc.view(), {frame_chunks::sana_wm(), true});
  for (index_t t = 0; t < t_n; ++t) {
    const bool chunk_end = frame_chunks::sana_wm().chunk_end(t, t_n) == t + 1 && t + 1 < t_n;
    double diff = 0;
    for (index_t s = 0; s < s_n; ++s)
      for (index_t j = 0; j < c; ++j)
        diff = std::max(diff, std::abs(double(full(0, t, s, j)) - cc(0, t, s, j)));
    if (chunk_end) {
      EXPECT_GT(diff, 1e-3) << "frame " << t << " ends a chunk: its look-ahead must be dropped";
    } else {
      EXPECT_LE(diff, 1e-6) << "frame " << t;
    }
  }
}

TEST(TemporalConv3, StreamingChunkEqualsChunkCausal) {
  // Streaming: each chunk alone, its left context = the previous chunk's last frame (FFN cache slot), equals
  // the chunk-causal conv over all frames.
  const index_t t_n = 10, s_n = 4, c = 12;
  const auto x = random_tensor<float, 4>(84, -1, 1, 1, t_n, s_n, c);
  const auto w = make_temporal_weights<float>(c, c);
  ht<float, 4> cc(1, t_n, s_n, c);
  temporal_conv3(cpu_t{}, x.view(), w.torch.view(), cc.view(), {frame_chunks::sana_wm(), true});
  std::vector<double> streamed;
  for (index_t c0 = 0; c0 < t_n;) {
    const index_t c1 = frame_chunks::sana_wm().chunk_end(c0, t_n);
    const auto xs = x.view().slice(0).slice(c0, c1);  // [c1−c0, S, C]
    const tensor_view<const float, extents<1, dyn, dyn, dyn>> xc(xs.data(),
                                                                 extents<1, dyn, dyn, dyn>(c1 - c0, s_n, c));
    ht<float, 4> yc(1, c1 - c0, s_n, c);
    if (c0 == 0) {
      temporal_conv3(cpu_t{}, xc, w.torch.view(), yc.view(), {frame_chunks::single(), true});
    } else {
      const tensor_view<const float, extents<1, dyn, dyn>> prev(&x(0, c0 - 1, 0, 0),
                                                                extents<1, dyn, dyn>(s_n, c));
      temporal_conv3(cpu_t{}, xc, w.torch.view(), yc.view(), {frame_chunks::single(), true}, prev);
    }
    for (float v : yc) streamed.push_back(v);
    c0 = c1;
  }
  expect_close(cc, streamed, "streaming chunks vs chunk-causal");
}

// ---- GDN short conv ---------------------------------------------------------------------------------------

template <class TIn, class TOut>
void check_short_conv(frame_chunks chunks, index_t left_frames) {
  struct c4 {
    index_t b, t, s, c;
  };
  for (c4 s : {c4{1, 1, 1, 1}, c4{1, 2, 3, 5}, c4{2, 7, 2, 17}, c4{1, 10, 3, 40}, c4{1, 12, 2, 33}}) {
    SCOPED_TRACE("T " + std::to_string(s.t) + " C " + std::to_string(s.c) + " left " +
                 std::to_string(left_frames));
    const auto x = random_tensor<TIn, 4>(90, -1, 1, s.b, s.t, s.s, s.c);
    const auto left = random_tensor<TIn, 4>(91, -1, 1, left_frames ? s.b : 0, left_frames, s.s, s.c);
    const auto w = random_tensor<float, 2>(92, -1, 1, s.c, 4);
    std::vector<double> ref(static_cast<std::size_t>(x.size()));
    short_conv4_ref(doubles(x), s.b, s.t, s.s, s.c, doubles(w), chunks, doubles(left), left.extent(1), ref);
    auto y = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
    short_conv4(cpu_t{}, x.view(), w.view(), y.view(), chunks, left.view());
    expect_close(y, ref, "short_conv4");
    auto yp = poisoned<TOut, 4>(s.b, s.t, s.s, s.c);
    short_conv4_portable(cpu_t{}, x.view(), w.view(), yp.view(), chunks, left.view());
    expect_close(yp, ref, "short_conv4_portable");
  }
}

TEST(ShortConv4, Bidirectional) {
  check_short_conv<float, float>(frame_chunks::single(), 0);
}
TEST(ShortConv4, ChunkCausal) {
  check_short_conv<float, float>(frame_chunks::sana_wm(), 0);
}
TEST(ShortConv4, LeftContext) {
  check_short_conv<float, float>(frame_chunks::single(), 3);
  check_short_conv<float, float>(frame_chunks::sana_wm(), 1);
}
TEST(ShortConv4, Bf16) {
  check_short_conv<bf16, bf16>(frame_chunks::sana_wm(), 2);
}

TEST(ShortConv4, SymmetricSevenTapFilter) {
  // Bidirectional form == the symmetric filter [w0 w1 w2 w3 w2 w1 w0] centred on w3, zero padded.
  const index_t t_n = 9, c = 5;
  const auto x = random_tensor<float, 4>(93, -1, 1, 1, t_n, 1, c);
  const auto w = random_tensor<float, 2>(94, -1, 1, c, 4);
  ht<float, 4> y(1, t_n, 1, c);
  short_conv4(cpu_t{}, x.view(), w.view(), y.view());
  for (index_t t = 0; t < t_n; ++t)
    for (index_t j = 0; j < c; ++j) {
      double acc = 0;
      for (index_t k = -3; k <= 3; ++k)
        if (t + k >= 0 && t + k < t_n) acc += double(w(j, 3 - (k < 0 ? -k : k))) * x(0, t + k, 0, j);
      EXPECT_NEAR(y(0, t, 0, j), acc, 1e-5);
    }
}

TEST(ShortConv4, ChunkCausalAndStreamingEquivalences) {
  const index_t t_n = 10, s_n = 2, c = 9;
  const auto x = random_tensor<float, 4>(95, -1, 1, 1, t_n, s_n, c);
  const auto w = random_tensor<float, 2>(96, -1, 1, c, 4);
  ht<float, 4> full(1, t_n, s_n, c), cc(1, t_n, s_n, c);
  short_conv4(cpu_t{}, x.view(), w.view(), full.view());
  short_conv4(cpu_t{}, x.view(), w.view(), cc.view(), frame_chunks::sana_wm());
  // Equal wherever the backward window [t, t+3] stays inside t's chunk or the clip.
  for (index_t t = 0; t < t_n; ++t) {
    const bool same = std::min(t + 4, t_n) <= frame_chunks::sana_wm().chunk_end(t, t_n);
    for (index_t s = 0; s < s_n; ++s)
      for (index_t j = 0; j < c; ++j) {
        if (same) {
          EXPECT_NEAR(full(0, t, s, j), cc(0, t, s, j), 1e-6) << t;
        }
      }
  }
  // Streaming: each chunk alone with the last 3 frames before it as the left context (GDN cache slot 4).
  std::vector<double> streamed;
  for (index_t c0 = 0; c0 < t_n;) {
    const index_t c1 = frame_chunks::sana_wm().chunk_end(c0, t_n), l = std::min<index_t>(3, c0);
    const auto xs = x.view().slice(0).slice(c0, c1);
    const tensor_view<const float, extents<1, dyn, dyn, dyn>> xc(xs.data(),
                                                                 extents<1, dyn, dyn, dyn>(c1 - c0, s_n, c));
    const tensor_view<const float, extents<1, dyn, dyn, dyn>> lc(l ? &x(0, c0 - l, 0, 0) : nullptr,
                                                                 extents<1, dyn, dyn, dyn>(l, s_n, c));
    ht<float, 4> yc(1, c1 - c0, s_n, c);
    short_conv4(cpu_t{}, xc, w.view(), yc.view(), frame_chunks::single(), lc);
    for (float v : yc) streamed.push_back(v);
    c0 = c1;
  }
  expect_close(cc, streamed, "streaming chunks vs chunk-causal");
}

// ---- conv3d -----------------------------------------------------------------------------------------------

constexpr temporal_padding all_temporal[] = {
    temporal_padding::causal_replicate, temporal_padding::symmetric_replicate, temporal_padding::causal_zero,
    temporal_padding::symmetric_zero, temporal_padding::valid};

template <class TIn, class TW, class TOut>
void check_conv3d(index_t kt, index_t kh, index_t kw, index_t left_frames) {
  struct c6 {
    index_t b, t, h, w, ci, co;
  };
  for (c6 s : {c6{1, 1, 2, 2, 1, 1}, c6{1, 3, 3, 4, 5, 7}, c6{2, 4, 5, 3, 8, 6}, c6{1, 5, 4, 6, 19, 17}})
    for (temporal_padding tp : all_temporal)
      for (spatial_padding sp : {spatial_padding::zeros, spatial_padding::reflect}) {
        const bool causal = tp == temporal_padding::causal_replicate || tp == temporal_padding::causal_zero;
        const bool symmetric =
            tp == temporal_padding::symmetric_replicate || tp == temporal_padding::symmetric_zero;
        if ((left_frames > 0 && !causal) || (symmetric && kt % 2 == 0)) continue;
        if (tp == temporal_padding::valid && s.t < kt) continue;
        if (sp == spatial_padding::reflect && (kh / 2 >= s.h || kw / 2 >= s.w)) continue;
        SCOPED_TRACE("T " + std::to_string(s.t) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) +
                     " " + std::to_string(s.ci) + "->" + std::to_string(s.co) + " temporal " +
                     std::to_string(int(tp)) + " spatial " + std::to_string(int(sp)) + " k " +
                     std::to_string(kt) + std::to_string(kh) + std::to_string(kw) + " left " +
                     std::to_string(left_frames));
        const index_t t_out = tp == temporal_padding::valid ? s.t - kt + 1 : s.t;
        const auto x = random_tensor<TIn, 5>(100, -1, 1, s.b, s.t, s.h, s.w, s.ci);
        const auto left =
            random_tensor<TIn, 5>(101, -1, 1, left_frames ? s.b : 0, left_frames, s.h, s.w, s.ci);
        const auto w = random_tensor<TW, 5>(102, -0.5, 0.5, s.co, s.ci, kt, kh, kw);
        const auto bias = random_tensor<float, 1>(103, -1, 1, s.co);
        std::vector<double> ref(static_cast<std::size_t>(s.b * t_out * s.h * s.w * s.co));
        conv3d_ref(doubles(x), {s.b, s.t, s.h, s.w, s.ci}, doubles(w), s.co, kt, kh, kw, doubles(bias),
                   {tp, sp}, doubles(left), left_frames, ref);
        auto y = poisoned<TOut, 5>(s.b, t_out, s.h, s.w, s.co);
        conv3d(cpu_t{}, x.view(), w.view(), bias.view(), y.view(), {tp, sp}, left.view());
        expect_close(y, ref, "conv3d");
        // Both algorithms forced (automatic takes the implicit GEMM at these channel counts).
        auto yi = poisoned<TOut, 5>(s.b, t_out, s.h, s.w, s.co);
        conv3d(cpu_t{}, x.view(), w.view(), bias.view(), yi.view(), {tp, sp}, left.view(), gemm_compute::automatic,
               nullptr, conv3d_algorithm::implicit_gemm);
        expect_close(yi, ref, "conv3d, implicit GEMM");
        if (kh == 3 && kw == 3) {
          auto yw = poisoned<TOut, 5>(s.b, t_out, s.h, s.w, s.co);
          conv3d(cpu_t{}, x.view(), w.view(), bias.view(), yw.view(), {tp, sp}, left.view(),
                 gemm_compute::automatic, nullptr, conv3d_algorithm::winograd);
          expect_close(yw, ref, "conv3d, Winograd");
        }
        auto yp = poisoned<TOut, 5>(s.b, t_out, s.h, s.w, s.co);
        conv3d_portable(cpu_t{}, x.view(), w.view(), bias.view(), yp.view(), {tp, sp}, left.view());
        expect_close(yp, ref, "conv3d_portable");
        // The im2col + GEMM route (what conv3d(cuda_t, …) takes).
        auto yg = poisoned<TOut, 5>(s.b, t_out, s.h, s.w, s.co);
        EXPECT_TRUE(conv3d_via_gemm(cpu_t{}, x.view(), w.view(), bias.view(), yg.view(), {tp, sp}, left.view()));
        expect_close(yg, ref, "conv3d_via_gemm");
      }
}

TEST(Conv3d, Kernel333Float) {
  check_conv3d<float, float, float>(3, 3, 3, 0);
}
TEST(Conv3d, Kernel333Bf16) {
  check_conv3d<bf16, bf16, bf16>(3, 3, 3, 0);
}
TEST(Conv3d, OtherKernels) {
  check_conv3d<float, float, float>(1, 1, 1, 0);
  check_conv3d<float, float, float>(2, 3, 1, 0);
  check_conv3d<float, float, float>(3, 1, 5, 0);
}
TEST(Conv3d, LeftContext) {
  check_conv3d<float, float, float>(3, 3, 3, 2);
  check_conv3d<float, float, float>(3, 3, 3, 1);  // a 1-frame history repeats its oldest frame
}

// conv3d of x [1, T, H, W, Cin] one frame per call with the last (up to) 2 input frames as the causal cache, as the
// LTX-2 streaming decoder calls it.
ht<float, 5> conv3d_frame_by_frame(const ht<float, 5>& x, const ht<float, 5>& w, const ht<float, 1>& bias,
                                   conv3d_padding pad) {
  using E = extents<1, dyn, dyn, dyn, dyn>;
  const index_t t_n = x.extent(1), hh = x.extent(2), ww = x.extent(3), ci = x.extent(4);
  ht<float, 5> y(1, t_n, hh, ww, w.extent(0));
  for (index_t t = 0; t < t_n; ++t) {
    const index_t l = std::min<index_t>(2, t);
    const tensor_view<const float, E> xf(&x(0, t, 0, 0, 0), E(1, hh, ww, ci));
    const tensor_view<const float, E> cache(l ? &x(0, t - l, 0, 0, 0) : nullptr, E(l, hh, ww, ci));
    conv3d(cpu_t{}, xf, w.view(), bias.view(), tensor_view<float, E>(&y(0, t, 0, 0, 0), E(1, hh, ww, w.extent(0))),
           pad, cache);
  }
  return y;
}

// Lets conv3d's automatic choice take Winograd on the tests' small frames (restored on scope exit).
struct winograd_on_small_frames : sanawm::test::scoped_value<index_t> {
  winograd_on_small_frames() : scoped_value(cpu::dense::conv3d_winograd_min_pixels, 1) {}
};

// Winograd F(2x2, 3x3) at channel counts where conv3d picks it by itself (on frames of >= 256 pixels; here smaller
// ones too): odd and even frame sizes (edge tiles), one-pixel frames, kt = 1 and 3, every temporal padding with a
// left context where allowed, bf16 compute, and weights prepared ahead (bit-identical to the per-call transform).
TEST(Conv3d, WinogradAgainstFloat64) {
  struct c7 {
    index_t b, t, h, w, ci, co, kt;
  };
  for (c7 s : {c7{1, 3, 5, 7, 33, 40, 3}, c7{2, 2, 4, 6, 32, 48, 3}, c7{1, 2, 1, 1, 48, 32, 3},
               c7{1, 1, 9, 2, 64, 33, 1}, c7{1, 4, 3, 3, 37, 70, 3}})
    for (temporal_padding tp : all_temporal)
      for (spatial_padding sp : {spatial_padding::zeros, spatial_padding::reflect})
        for (index_t left_frames : {index_t{0}, index_t{2}}) {
          const bool causal = tp == temporal_padding::causal_replicate || tp == temporal_padding::causal_zero;
          if (left_frames > (causal ? s.kt - 1 : 0)) continue;
          if (tp == temporal_padding::valid && s.t < s.kt) continue;
          if (sp == spatial_padding::reflect && (s.h < 2 || s.w < 2)) continue;
          SCOPED_TRACE("T " + std::to_string(s.t) + " " + std::to_string(s.h) + "x" + std::to_string(s.w) + " " +
                       std::to_string(s.ci) + "->" + std::to_string(s.co) + " kt " + std::to_string(s.kt) +
                       " temporal " + std::to_string(int(tp)) + " spatial " + std::to_string(int(sp)) + " left " +
                       std::to_string(left_frames));
          const winograd_on_small_frames small;
          ASSERT_TRUE(cpu::dense::conv3d_winograd_pays(s.ci, s.co, 3, 3, s.h * s.w));
          const index_t t_out = tp == temporal_padding::valid ? s.t - s.kt + 1 : s.t;
          const auto x = random_tensor<float, 5>(110, -1, 1, s.b, s.t, s.h, s.w, s.ci);
          const auto left = random_tensor<float, 5>(111, -1, 1, left_frames ? s.b : 0, left_frames, s.h, s.w, s.ci);
          const auto w = random_tensor<float, 5>(112, -0.5, 0.5, s.co, s.ci, s.kt, 3, 3);
          const auto bias = random_tensor<float, 1>(113, -1, 1, s.co);
          std::vector<double> ref(static_cast<std::size_t>(s.b * t_out * s.h * s.w * s.co));
          conv3d_ref(doubles(x), {s.b, s.t, s.h, s.w, s.ci}, doubles(w), s.co, s.kt, 3, 3, doubles(bias), {tp, sp},
                     doubles(left), left_frames, ref);
          auto y = poisoned<float, 5>(s.b, t_out, s.h, s.w, s.co);
          conv3d(cpu_t{}, x.view(), w.view(), bias.view(), y.view(), {tp, sp}, left.view());
          expect_close(y, ref, "conv3d (automatic: Winograd)");
          const auto prepared = cpu::conv3d_winograd_weights::prepare(w.view(), gemm_compute::fp32);
          auto yp = poisoned<float, 5>(s.b, t_out, s.h, s.w, s.co);
          conv3d(cpu_t{}, x.view(), prepared, bias.view(), yp.view(), {tp, sp}, left.view());
          expect_identical(yp, y, "prepared Winograd weights vs per call");
          // bf16 compute: transformed activations and weights rounded to bf16, fp32 accumulation.
          auto yb = poisoned<bf16, 5>(s.b, t_out, s.h, s.w, s.co);
          conv3d(cpu_t{}, x.view(), w.view(), bias.view(), yb.view(), {tp, sp}, left.view(), gemm_compute::bf16);
          expect_close(yb, ref, "conv3d (Winograd, bf16 compute)");
        }
}

TEST(Conv3d, WinogradChunksAndThreadsGiveTheSameBits) {
  // The tile grid is anchored at each frame's origin and the GEMM's per-element order does not depend on M: a clip
  // split into single frames with the causal cache, a tiny block budget (many blocks) and one thread all give the
  // bits of the whole-clip call.
  const winograd_on_small_frames small;
  const index_t t_n = 5, hh = 7, ww = 6, c = 40;
  const auto x = random_tensor<float, 5>(114, -1, 1, 1, t_n, hh, ww, c);
  const auto w = random_tensor<float, 5>(115, -0.5, 0.5, c, c, 3, 3, 3);
  const auto bias = random_tensor<float, 1>(116, -1, 1, c);
  const conv3d_padding pad{temporal_padding::causal_replicate, spatial_padding::reflect};
  ht<float, 5> full(1, t_n, hh, ww, c);
  conv3d(cpu_t{}, x.view(), w.view(), bias.view(), full.view(), pad);
  expect_identical(conv3d_frame_by_frame(x, w, bias, pad), full, "Winograd frame by frame vs whole clip");
  ht<float, 5> small_blocks(1, t_n, hh, ww, c);
  {
    const sanawm::test::scoped_value<index_t> tiny(cpu::dense::conv3d_winograd_block_bytes, 1);  // 32-tile blocks
    conv3d(cpu_t{}, x.view(), w.view(), bias.view(), small_blocks.view(), pad);
  }
  expect_identical(small_blocks, full, "Winograd in small blocks vs one block");
  const int threads = cpu::num_threads();
  for (int n : {1, 3}) {
    cpu::set_num_threads(n);
    ht<float, 5> other(1, t_n, hh, ww, c);
    conv3d(cpu_t{}, x.view(), w.view(), bias.view(), other.view(), pad);
    expect_identical(other, full, ("Winograd on " + std::to_string(n) + " threads vs the pool").c_str());
  }
  cpu::set_num_threads(threads);
}

TEST(Conv3d, TapMajorWeightsAndFloatToBf16) {
  // [kt, kh, kw, Cout, Cin] storage viewed as [Cout, Cin, kt, kh, kw]: used in place by the implicit GEMM.
  const index_t co = 6, ci = 5;
  const auto x = random_tensor<float, 5>(104, -1, 1, 1, 3, 4, 5, ci);
  const auto w = random_tensor<float, 5>(105, -0.5, 0.5, co, ci, 3, 3, 3);
  ht<float, 5> tm(3, 3, 3, co, ci);
  for (index_t o = 0; o < co; ++o)
    for (index_t i = 0; i < ci; ++i)
      for (index_t k = 0; k < 27; ++k)
        tm(k / 9, (k / 3) % 3, k % 3, o, i) = w(o, i, k / 9, (k / 3) % 3, k % 3);
  const sv<const float, 5> wv(
      tm.data(), layout_stride::mapping<dextents<5>>(dextents<5>(co, ci, 3, 3, 3),
                                                     {ci, 1, 9 * co * ci, 3 * co * ci, co * ci}));
  const ht<float, 1> no_bias(0);
  std::vector<double> ref(static_cast<std::size_t>(3 * 4 * 5 * co));
  conv3d_ref(doubles(x), {1, 3, 4, 5, ci}, doubles(w), co, 3, 3, 3, {}, {}, {}, 0, ref);
  auto y = poisoned<bf16, 5>(1, 3, 4, 5, co);
  conv3d(cpu_t{}, x.view(), wv, no_bias.view(), y.view(), conv3d_padding{});
  expect_close(y, ref, "conv3d, tap-major weights, bf16 output");
  auto yg = poisoned<bf16, 5>(1, 3, 4, 5, co);
  EXPECT_TRUE(conv3d_via_gemm(cpu_t{}, x.view(), wv, no_bias.view(), yg.view(), conv3d_padding{},
                              tensor_view<const float, dextents<5>>(nullptr, dextents<5>(0, 0, 4, 5, ci))));
  expect_close(yg, ref, "conv3d_via_gemm, tap-major weights (gathered)");
  // Channels-last weights ([Cout, kt, kh, kw, Cin] memory, the VAE's store): the GEMM operand as it is.
  ht<float, 5> cl(co, 3, 3, 3, ci);
  for (index_t o = 0; o < co; ++o)
    for (index_t i = 0; i < ci; ++i)
      for (index_t k = 0; k < 27; ++k) cl(o, k / 9, (k / 3) % 3, k % 3, i) = w(o, i, k / 9, (k / 3) % 3, k % 3);
  const sv<const float, 5> wcl(cl.data(), layout_stride::mapping<dextents<5>>(dextents<5>(co, ci, 3, 3, 3),
                                                                            {27 * ci, 1, 9 * ci, 3 * ci, ci}));
  auto yc = poisoned<float, 5>(1, 3, 4, 5, co);
  EXPECT_TRUE(conv3d_via_gemm(cpu_t{}, x.view(), wcl, no_bias.view(), yc.view(), conv3d_padding{},
                              tensor_view<const float, dextents<5>>(nullptr, dextents<5>(0, 0, 4, 5, ci))));
  expect_close(yc, ref, "conv3d_via_gemm, channels-last weights (used in place)");
}

TEST(Conv3d, StreamingFrameByFrameEqualsCausal) {
  // The LTX-2 streaming decoder: one frame per call, the last 2 input frames as the cache (empty on the first
  // call)
  // == the causal conv over the whole clip.
  const index_t t_n = 5, hh = 3, ww = 4, c = 6;
  const auto x = random_tensor<float, 5>(106, -1, 1, 1, t_n, hh, ww, c);
  const auto w = random_tensor<float, 5>(107, -0.5, 0.5, c, c, 3, 3, 3);
  const auto bias = random_tensor<float, 1>(108, -1, 1, c);
  const conv3d_padding pad{temporal_padding::causal_replicate, spatial_padding::reflect};
  ht<float, 5> full(1, t_n, hh, ww, c);
  conv3d(cpu_t{}, x.view(), w.view(), bias.view(), full.view(), pad);
  expect_close(full, doubles(conv3d_frame_by_frame(x, w, bias, pad)), "frame-by-frame streaming vs causal");
}

// The golden LTX-2 VAE intermediates: conv_in of the decoder (non-causal, reflect) and of the encoder
// (causal, zeros).
void check_vae_conv_in(const char* input, const char* weight, const char* output, conv3d_padding pad) {
  const std::string io_path = golden("vae_tiny_a.io.safetensors"),
                    w_path = golden("vae_tiny_a.weights.safetensors");
  if (io_path.empty() || w_path.empty()) GTEST_SKIP() << "golden data not found under " << SANAWM_GOLDEN_DIR;
  const auto io_file = io::safetensors_file::open(io_path);
  const auto w_file = io::safetensors_file::open(w_path);
  const auto& xin = io_file.at(input);
  const auto& wt = w_file.at(std::string(weight) + ".weight");
  const auto& yout = io_file.at(output);
  const index_t b = xin.shape[0], ci = xin.shape[1], t = xin.shape[2], h = xin.shape[3], w = xin.shape[4];
  const index_t co = wt.shape[0];
  ht<float, 5> x_cf(b, ci, t, h, w), x(b, t, h, w, ci), wv(co, ci, 3, 3, 3), y_cf(b, co, t, h, w);
  io_file.read_into<float>(input, std::span<float>(x_cf.data(), static_cast<std::size_t>(x_cf.size())));
  w_file.read_into<float>(std::string(weight) + ".weight",
                          std::span<float>(wv.data(), static_cast<std::size_t>(wv.size())));
  const auto bias = w_file.read_as<float>(std::string(weight) + ".bias");
  const auto want = io_file.read_as<double>(output);
  ASSERT_EQ(static_cast<index_t>(want.size()), b * co * t * h * w);
  to_channels_last(cpu_t{}, x_cf.view(), x.view());
  auto y = poisoned<float, 5>(b, t, h, w, co);
  conv3d(cpu_t{}, x.view(), wv.view(), make_view(bias.data(), extents<dyn>(co)), y.view(), pad);
  to_channels_first(cpu_t{}, y.view(), y_cf.view());
  expect_close(y_cf, want, output);
  ASSERT_EQ(yout.shape, (std::vector<index_t>{b, co, t, h, w}));
}

TEST(Conv3d, GoldenVaeDecoderConvIn) {
  check_vae_conv_in("decode.latent", "decoder.conv_in.conv", "decode.inter.decoder.conv_in",
                    {temporal_padding::symmetric_replicate, spatial_padding::reflect});
}
TEST(Conv3d, GoldenVaeEncoderConvIn) {
  check_vae_conv_in("encode.inter.encoder.patchify", "encoder.conv_in.conv", "encode.inter.encoder.conv_in",
                    {temporal_padding::causal_replicate, spatial_padding::zeros});
}

// ---- layout converters ------------------------------------------------------------------------------------

TEST(ChannelLayout, RoundTripAndIndexing) {
  const auto x = random_tensor<float, 5>(110, -1, 1, 2, 3, 4, 5, 6);  // [B, C, T, H, W]
  ht<bf16, 5> cl(2, 4, 5, 6, 3);
  to_channels_last(cpu_t{}, x.view(), cl.view());
  for (index_t c = 0; c < 3; ++c)
    for (index_t t = 0; t < 4; ++t) ASSERT_EQ(cl(1, t, 2, 3, c), bf16(x(1, c, t, 2, 3))) << c << " " << t;
  ht<float, 5> back(2, 3, 4, 5, 6);
  const auto xr = random_tensor<float, 5>(111, -1, 1, 2, 4, 5, 6, 3);
  to_channels_first(cpu_t{}, xr.view(), back.view());
  ht<float, 5> again(2, 4, 5, 6, 3);
  to_channels_last(cpu_t{}, back.view(), again.view());
  expect_identical(xr, again, "round trip");
  EXPECT_THROW(to_channels_last(cpu_t{}, x.view(), back.view()), sanawm::error);
}

// ---- errors -----------------------------------------------------------------------------------------------

TEST(Conv, Errors) {
  ht<float, 2> x(4, 5), w_bad(7, 6), w(7, 5), y(4, 7);
  const ht<float, 1> no_bias(0), bias6(6);
  EXPECT_THROW(conv1x1(cpu_t{}, x.view(), w_bad.view(), no_bias.view(), y.view()), sanawm::error);
  EXPECT_THROW(conv1x1(cpu_t{}, x.view(), w.view(), bias6.view(), y.view()), sanawm::error);
  ht<float, 4> x4(1, 3, 2, 5), y4(1, 3, 2, 6);
  ht<float, 3> wt(6, 5, 3), wt2(6, 5, 2);
  EXPECT_THROW(temporal_conv3(cpu_t{}, x4.view(), wt2.view(), y4.view()), sanawm::error);
  EXPECT_THROW(temporal_conv3(cpu_t{}, x4.view(), wt.view(), y4.view(), {frame_chunks::single(), true}),
               sanawm::error);
  ht<float, 2> w4(5, 4), w3(5, 3);
  ht<float, 4> y45(1, 3, 2, 5), left_too_long(1, 4, 2, 5);
  EXPECT_THROW(short_conv4(cpu_t{}, x4.view(), w3.view(), y45.view()), sanawm::error);
  EXPECT_THROW(
      short_conv4(cpu_t{}, x4.view(), w4.view(), y45.view(), frame_chunks::single(), left_too_long.view()),
      sanawm::error);
  ht<float, 5> x5(1, 2, 1, 3, 4), y5(1, 2, 1, 3, 4), w5(4, 4, 3, 3, 3), w5even(4, 4, 3, 2, 3);
  const ht<float, 1> b4(4);
  try {  // reflect padding of 1 on a size-1 axis is impossible (PyTorch errors too)
    conv3d(cpu_t{}, x5.view(), w5.view(), b4.view(), y5.view(),
           {temporal_padding::causal_replicate, spatial_padding::reflect});
    FAIL() << "no error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("[conv3d] reflect padding"), std::string::npos) << e.what();
  }
  EXPECT_THROW(conv3d(cpu_t{}, x5.view(), w5even.view(), b4.view(), y5.view(), conv3d_padding{}),
               sanawm::error);
  ht<float, 5> left(1, 1, 1, 3, 4);
  EXPECT_THROW(conv3d(cpu_t{}, x5.view(), w5.view(), b4.view(), y5.view(),
                      {temporal_padding::symmetric_zero, spatial_padding::zeros}, left.view()),
               sanawm::error);
  ht<float, 5> y_valid(1, 1, 1, 3, 4);
  EXPECT_THROW(conv3d(cpu_t{}, x5.view(), w5.view(), b4.view(), y_valid.view(), {temporal_padding::valid}),
               sanawm::error);
  // Winograd: only kt x 3 x 3 kernels, not with the implicit GEMM's packed weights; prepared weights must match x
  // and be prepared for fp32 or bf16.
  auto expect_error = [](auto&& call, const char* text) {
    try {
      call();
      ADD_FAILURE() << "no error, expected one containing '" << text << "'";
    } catch (const sanawm::error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  const auto none = sanawm::detail::empty_view<float, 5>();
  ht<float, 5> w151(4, 4, 1, 5, 1);
  expect_error([&] { conv3d(cpu_t{}, x5.view(), w151.view(), b4.view(), y5.view(), conv3d_padding{}, none,
                            gemm_compute::automatic, nullptr, conv3d_algorithm::winograd); },
               "winograd needs a kt x 3 x 3 kernel");
  const cpu::packed_gemm_b packed = pack_conv3d_weights(w5.view());
  expect_error([&] { conv3d(cpu_t{}, x5.view(), w5.view(), b4.view(), y5.view(), conv3d_padding{}, none,
                            gemm_compute::automatic, &packed, conv3d_algorithm::winograd); },
               "packed weights are the implicit GEMM's operand");
  ht<float, 5> w_other(4, 7, 3, 3, 3);  // 7 input channels, x has 4
  const auto prepared = cpu::conv3d_winograd_weights::prepare(w_other.view(), gemm_compute::fp32);
  expect_error([&] { conv3d(cpu_t{}, x5.view(), prepared, b4.view(), y5.view(), conv3d_padding{}, none); },
               "expects 7 input channels");
  expect_error([&] { conv3d(cpu_t{}, x5.view(), cpu::conv3d_winograd_weights{}, b4.view(), y5.view(),
                            conv3d_padding{}, none); },
               "not prepared");
  expect_error([&] { (void)cpu::conv3d_winograd_weights::prepare(w5.view(), gemm_compute::tf32); },
               "compute must be fp32 or bf16");
  expect_error([&] { (void)cpu::conv3d_winograd_weights::prepare(w5even.view(), gemm_compute::fp32); },
               "needs a kt x 3 x 3 kernel");
  ht<float, 5> xdw(1, 1, 2, 2, 5), ydw(1, 1, 2, 2, 2);
  ht<float, 3> wdw(5, 3, 3);
  EXPECT_THROW(
      depthwise_conv3x3_glu(cpu_t{}, xdw.view(), wdw.view(), no_bias.view(), activation::silu, ydw.view()),
      sanawm::error);
}

}  // namespace

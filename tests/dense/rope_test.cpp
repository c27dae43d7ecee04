// SPDX-License-Identifier: Apache-2.0
// tests/dense/rope_test.cpp — the 3-D RoPE: the split and the sliced camera variant, float64-computed tables
// against upstream's golden tables, streaming frame offsets against slices of the full table, the CPU fast
// path (every SIMD variant) and the portable body against the float64 twin, and upstream's rotated q/k of the
// GDN golden data.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dense/dense_test_util.hpp"
#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/io/safetensors.hpp"
#include "sanawm/kernels/rope/rope_cpu.hpp"
#include "sanawm/kernels/rope/rope_ref.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::test::dense;

template <class F, class... Isas>
void for_each_isa(cpu::isa_list<Isas...>, F&& f) {
  (f(Isas{}), ...);
}

std::string golden(const char* name) {
  const std::string dir = SANAWM_GOLDEN_DIR;
  if (dir.empty() || !std::filesystem::exists(dir + "/" + name)) return {};
  return dir + "/" + name;
}

TEST(RopeSpec, SanaWmNumbers) {
  constexpr rope_axes a = rope_split(112);
  static_assert(a.t == 40 && a.h == 36 && a.w == 36);
  constexpr rope_spec m = rope_spec::main_branch();
  static_assert(m.pairs_t == 20 && m.pairs_h == 18 && m.pairs_w == 18 && m.pairs() == 56 &&
                m.channel_offset == 0);
  constexpr rope_spec c = rope_spec::camera_branch();
  static_assert(c.pairs_t == 10 && c.pairs_h == 9 && c.pairs_w == 9 && c.channel_offset == 56);
  static_assert(c.freq.t == 40 && c.freq.h == 36);  // frequencies of the full 112-d table, first ones taken
  constexpr rope_spec g = rope_spec::main_branch(16);  // the GDN golden data's 16-d head: 4/2/2 pairs
  static_assert(g.pairs_t == 4 && g.pairs_h == 2 && g.pairs_w == 2);
}

TEST(RopeTables, MatchUpstreamGoldenTable) {
  const std::string path = golden("dit_tiny_a.io.safetensors");
  if (path.empty()) GTEST_SKIP() << "golden data not found under " << SANAWM_GOLDEN_DIR;
  const auto f = io::safetensors_file::open(path);
  const auto cos_ref = f.read_as<double>("rope_cos", {24, 56});
  const auto sin_ref = f.read_as<double>("rope_sin", {24, 56});
  const rope_spec spec = rope_spec::main_branch(112);
  const auto tabs = make_rope_tables(spec, 3, 2, 4);  // dit_tiny_a: T = 3, H = 2, W = 4
  const auto tok = rope_token_table(tabs.view(), spec);
  for (index_t n = 0; n < 24; ++n)
    for (index_t p = 0; p < 56; ++p) {
      // Both are float64 computations rounded to fp32 once: equal to within one fp32 rounding.
      EXPECT_NEAR(tok(n, p, 0), cos_ref[static_cast<std::size_t>(n * 56 + p)], 1e-7)
          << "cos token " << n << " pair " << p;
      EXPECT_NEAR(tok(n, p, 1), sin_ref[static_cast<std::size_t>(n * 56 + p)], 1e-7)
          << "sin token " << n << " pair " << p;
    }
}

TEST(RopeTables, StreamingOffsetEqualsSliceOfFullTable) {
  const rope_spec spec = rope_spec::main_branch();
  const auto full = make_rope_tables(spec, 12, 3, 5);
  for (index_t off : {index_t{0}, index_t{4}, index_t{7}, index_t{9}}) {
    const auto chunk = make_rope_tables(spec, 3, 3, 5, off);
    EXPECT_EQ(chunk.frame_offset, off);
    for (index_t f = 0; f < 3; ++f)
      for (index_t j = 0; j < 20; ++j)
        for (index_t k = 0; k < 2; ++k)
          ASSERT_EQ(chunk.t(f, j, k), full.t(off + f, j, k)) << "offset " << off;
    for (index_t i = 0; i < chunk.h.size(); ++i) ASSERT_EQ(chunk.h.data()[i], full.h.data()[i]);
    for (index_t i = 0; i < chunk.w.size(); ++i) ASSERT_EQ(chunk.w.data()[i], full.w.data()[i]);
  }
}

struct grid_case {
  index_t b, heads;
  rope_grid g;
};
constexpr grid_case grids[] = {
    {1, 1, {1, 1, 1, 0}}, {1, 2, {3, 2, 5, 0}}, {2, 3, {2, 3, 4, 0}}, {1, 2, {2, 2, 2, 117}}};

template <class TIn, class TOut>
void check_rope(const rope_spec& spec, bool inverse) {
  for (const grid_case& gc : grids) {
    const rope_grid g = gc.g;
    SCOPED_TRACE("grid " + std::to_string(g.frames) + "x" + std::to_string(g.height) + "x" +
                 std::to_string(g.width) + " offset " + std::to_string(g.frame_offset) + " heads " +
                 std::to_string(gc.heads) + (inverse ? " inverse" : ""));
    const index_t n = g.tokens(), d = spec.head_dim;
    const auto tabs = make_rope_tables(spec, g.frames, g.height, g.width, g.frame_offset);
    const auto x = random_tensor<TIn, 4>(50, -2, 2, gc.b, n, gc.heads, d);
    std::vector<double> ref(static_cast<std::size_t>(x.size()), std::numeric_limits<double>::quiet_NaN());
    rope_ref(doubles(x), gc.b, gc.heads, spec, g, inverse, ref);
    auto check = [&](const ht<TOut, 4>& y, const char* what) {
      // Rotated channels match the reference; the others are untouched (still NaN).
      std::vector<double> got, want;
      const std::vector<double> yd = doubles(y);
      for (std::size_t i = 0; i < yd.size(); ++i) {
        const index_t ch = static_cast<index_t>(i) % d;
        if (ch >= spec.channel_offset && ch < spec.channel_offset + 2 * spec.pairs()) {
          got.push_back(yd[i]), want.push_back(ref[i]);
        } else {
          ASSERT_TRUE(std::isnan(yd[i]))
              << what << ": channel " << ch << " outside the rotated range was written";
        }
      }
      expect_close(got, want, tolerance_for<TOut>(), what);
    };
    for_each_isa(cpu::compiled_isas{}, [&](auto isa) {
      SCOPED_TRACE(decltype(isa)::name);
      auto y = poisoned<TOut, 4>(gc.b, n, gc.heads, d);
      cpu::rope_isa<decltype(isa)>(x.view(), tabs.view(), spec, y.view(), inverse);
      check(y, "rope");
    });
    auto y = poisoned<TOut, 4>(gc.b, n, gc.heads, d);
    rope_portable(cpu_t{}, x.view(), tabs.view(), spec, y.view(), inverse);
    check(y, "rope_portable");
  }
}

TEST(Rope, MainFloat) {
  check_rope<float, float>(rope_spec::main_branch(), false);
}
TEST(Rope, MainInverseFloat) {
  check_rope<float, float>(rope_spec::main_branch(), true);
}
TEST(Rope, MainBf16) {
  check_rope<bf16, bf16>(rope_spec::main_branch(), false);
}
TEST(Rope, MainFloatToBf16) {
  check_rope<float, bf16>(rope_spec::main_branch(), false);
}
TEST(Rope, CameraFloat) {
  check_rope<float, float>(rope_spec::camera_branch(), false);
}
TEST(Rope, CameraInverseBf16) {
  check_rope<bf16, bf16>(rope_spec::camera_branch(), true);
}
TEST(Rope, OtherHeadDims) {
  check_rope<float, float>(rope_spec::main_branch(16), false);
  check_rope<float, float>(rope_spec::camera_branch(64), false);
}

TEST(Rope, InPlaceAndInverseRoundTrip) {
  const rope_spec spec = rope_spec::main_branch();
  const auto tabs = make_rope_tables(spec, 2, 3, 3);
  const auto x = random_tensor<float, 4>(51, -1, 1, 1, 18, 2, 112);
  ht<float, 4> y(1, 18, 2, 112);
  std::copy(x.begin(), x.end(), y.begin());
  rope(cpu_t{}, y.view(), tabs.view(), spec, y.view());
  rope(cpu_t{}, y.view(), tabs.view(), spec, y.view(), true);
  expect_close(y, doubles(x), "rope then inverse rope");
}

TEST(Rope, StreamingChunkEqualsSliceOfFullSequence) {
  // RoPE of chunk frames [4, 7) with tables at frame offset 4 == the same frames of the full 7-frame call.
  const rope_spec spec = rope_spec::main_branch();
  const index_t hh = 2, ww = 3, s = hh * ww;
  const auto x = random_tensor<float, 4>(52, -1, 1, 1, 7 * s, 2, 112);
  ht<float, 4> full(1, 7 * s, 2, 112), chunk(1, 3 * s, 2, 112);
  rope(cpu_t{}, x.view(), make_rope_tables(spec, 7, hh, ww).view(), spec, full.view());
  const auto xc = x.view().slice(0).slice(4 * s, 7 * s);  // [3·S, 2, 112] of batch 0
  const tensor_view<const float, extents<1, dyn, dyn, dyn>> xc4(xc.data(),
                                                                extents<1, dyn, dyn, dyn>(3 * s, 2, 112));
  rope(cpu_t{}, xc4, make_rope_tables(spec, 3, hh, ww, 4).view(), spec, chunk.view());
  for (index_t i = 0; i < chunk.size(); ++i)
    ASSERT_EQ(chunk.data()[i], full.data()[4 * s * 2 * 112 + i]) << i;
}

TEST(Rope, MatchesUpstreamRotatedQK) {
  const std::string path = golden("gdn_scan_a.safetensors");
  if (path.empty()) GTEST_SKIP() << "golden data not found under " << SANAWM_GOLDEN_DIR;
  // gdn_scan_a: (B, H, D, N) = (1, 2, 16, 30) on a (T, H, W) = (5, 2, 3) grid, q_rot/k_rot rotated upstream.
  const auto f = io::safetensors_file::open(path);
  const rope_spec spec = rope_spec::main_branch(16);
  const auto tabs = make_rope_tables(spec, 5, 2, 3);
  for (const char* name : {"q", "k"}) {
    const auto src = f.read_as<float>(name, {1, 2, 16, 30});
    const auto rot = f.read_as<double>(std::string(name) + "_rot", {1, 2, 16, 30});
    ht<float, 4> x(1, 30, 2, 16);  // sanawm's [B, N, heads, D]
    std::vector<double> want(static_cast<std::size_t>(x.size()));
    for (index_t h = 0; h < 2; ++h)
      for (index_t dd = 0; dd < 16; ++dd)
        for (index_t n = 0; n < 30; ++n) {
          x(0, n, h, dd) = src[static_cast<std::size_t>((h * 16 + dd) * 30 + n)];
          want[static_cast<std::size_t>((n * 2 + h) * 16 + dd)] =
              rot[static_cast<std::size_t>((h * 16 + dd) * 30 + n)];
        }
    auto y = poisoned<float, 4>(1, 30, 2, 16);
    rope(cpu_t{}, x.view(), tabs.view(), spec, y.view());
    expect_close(y, want, name);
  }
}

TEST(Rope, Errors) {
  const rope_spec spec = rope_spec::main_branch();
  const auto tabs = make_rope_tables(spec, 2, 2, 2);
  ht<float, 4> x(1, 8, 2, 112), y(1, 8, 2, 112), wrong_d(1, 8, 2, 64), wrong_n(1, 9, 2, 112);
  EXPECT_THROW(rope(cpu_t{}, wrong_d.view(), tabs.view(), spec, wrong_d.view()), sanawm::error);
  try {
    rope(cpu_t{}, wrong_n.view(), tabs.view(), spec, wrong_n.view());
    FAIL() << "no error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("[rope] x has 9 tokens"), std::string::npos) << e.what();
  }
  rope_spec bad = spec;
  bad.pairs_t = 21;  // more pairs than the 40-dim axis has frequencies
  EXPECT_THROW(rope(cpu_t{}, x.view(), tabs.view(), bad, y.view()), sanawm::error);
  bad = spec;
  bad.channel_offset = 1;
  EXPECT_THROW(rope(cpu_t{}, x.view(), tabs.view(), bad, y.view()), sanawm::error);
  EXPECT_THROW(make_rope_tables(rope_spec::main_branch(15), 1, 1, 1), sanawm::error);
  // Tables built for the camera slice hold the full frequency set, so the main spec may use them too; tables
  // built for a smaller head do not cover a larger spec.
  const auto small = make_rope_tables(rope_spec::main_branch(16), 2, 2, 2);
  EXPECT_THROW(rope(cpu_t{}, x.view(), small.view(), spec, y.view()), sanawm::error);
}

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// tests/attention/linear_attention_test.cpp — ReLU linear attention against the float64 twin: bidirectional,
// frame-causal, numerator-only RoPE, bf16, state passing == one run, the hand case of the GDN dossier.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sanawm/kernels/linear_attention/linear_attention_cpu.hpp"
#include "sanawm/kernels/linear_attention/linear_attention_ref.hpp"
#include "support/test_util.hpp"

namespace sanawm::test {
namespace {

template <class T>
struct la_problem {
  linear_attention_shape s;
  std::vector<T> q, k, v, qr, kr;
  la_problem(linear_attention_shape sh, std::uint64_t seed) : s(sh) {
    const auto nk = static_cast<std::size_t>(s.batch * s.tokens * s.heads * s.key_dim);
    const auto nv = static_cast<std::size_t>(s.batch * s.tokens * s.heads * s.value_dim);
    auto fill = [](std::vector<T>& x, std::size_t n, std::uint64_t sd) {
      const auto r = random_vector<double>(n, -1.0, 1.0, sd);
      x.resize(n);
      for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(r[i]);
    };
    fill(q, nk, seed);
    fill(k, nk, seed + 1);
    fill(v, nv, seed + 2);
    // Stand-ins for R φ(·): any values work for the algebra; keep them positive-ish like rotated ReLU outputs.
    fill(qr, nk, seed + 3);
    fill(kr, nk, seed + 4);
  }
  heads_view<const T> hk(const std::vector<T>& x, index_t d) const {
    return contiguous_heads<const T>(x.data(), s.tokens, s.heads, d);
  }
  heads_view<const T> vq() const { return hk(q, s.key_dim); }
  heads_view<const T> vk() const { return hk(k, s.key_dim); }
  heads_view<const T> vv() const { return hk(v, s.value_dim); }
  index_t out_size() const { return s.batch * s.tokens * s.heads * s.value_dim; }
  index_t kv_size() const { return s.batch * s.heads * s.value_dim * s.key_dim; }
  index_t z_size() const { return s.batch * s.heads * s.key_dim; }
};

template <class O>
double err(const std::vector<O>& got, const std::vector<double>& ref) {
  std::vector<double> g(got.size());
  for (std::size_t i = 0; i < got.size(); ++i) g[i] = static_cast<double>(got[i]);
  return rel_rms(std::span<const double>(g), std::span<const double>(ref));
}

template <class T, class O = T>
double run_case(const la_problem<T>& pr, bool rope, double* out_err = nullptr) {
  linear_attention_params p;
  const heads_view<const T> qr = rope ? pr.hk(pr.qr, pr.s.key_dim) : heads_view<const T>{};
  const heads_view<const T> kr = rope ? pr.hk(pr.kr, pr.s.key_dim) : heads_view<const T>{};
  std::vector<O> out(static_cast<std::size_t>(pr.out_size()), static_cast<O>(NAN));
  std::vector<float> kv(static_cast<std::size_t>(pr.kv_size()), NAN), z(static_cast<std::size_t>(pr.z_size()), NAN);
  linear_attention(cpu_t{}, pr.s, p, pr.vq(), pr.vk(), pr.vv(), qr, kr,
                   contiguous_heads<O>(out.data(), pr.s.tokens, pr.s.heads, pr.s.value_dim), {}, {kv.data(), z.data()});
  std::vector<double> ref(out.size());
  linear_attention_ref<T>(pr.s, p, pr.vq(), pr.vk(), pr.vv(), qr, kr, {}, ref.data());
  const double e = err(out, ref);
  if (out_err) *out_err = e;
  return e;
}

TEST(LinearAttention, BidirectionalAndFrameCausalFp32) {
  for (index_t n : {index_t{1}, index_t{13}, index_t{60}}) {
    for (index_t f : {index_t{0}, index_t{1}, index_t{4}, index_t{7}}) {
      for (bool rope : {false, true}) {
        la_problem<float> pr({2, n, 3, 16, 24, f}, 500 + n + f);
        EXPECT_LE(run_case(pr, rope), 1e-5) << "N=" << n << " frame=" << f << " rope=" << rope;
      }
    }
  }
}

TEST(LinearAttention, Bf16) {
  la_problem<bf16> pr({1, 50, 2, 32, 32, 10}, 42);
  EXPECT_LE((run_case<bf16, float>(pr, true)), 1e-5);
  EXPECT_LE((run_case<bf16, bf16>(pr, true)), 1e-2);
}

TEST(LinearAttention, StatePassingEqualsOneRun) {
  // Frames 0..8 of 6 tokens in one run vs frames 0..3 then 4..8 with the state handed over: bit-identical.
  const index_t S = 6, H = 2, Dk = 16, Dv = 8;
  la_problem<float> pr({1, 9 * S, H, Dk, Dv, S}, 7);
  linear_attention_params p;
  const auto qr = pr.hk(pr.qr, Dk), kr = pr.hk(pr.kr, Dk);
  std::vector<float> one(static_cast<std::size_t>(pr.out_size())), kv1(static_cast<std::size_t>(pr.kv_size())),
      z1(static_cast<std::size_t>(pr.z_size()));
  linear_attention(cpu_t{}, pr.s, p, pr.vq(), pr.vk(), pr.vv(), qr, kr, contiguous_heads(one.data(), pr.s.tokens, H, Dv),
                   {}, {kv1.data(), z1.data()});
  std::vector<float> two(one.size(), NAN), kv(kv1.size(), NAN), z(z1.size(), NAN);
  const index_t split = 4 * S;
  auto slice = [&](heads_view<const float> x, index_t n0) {
    x.data += n0 * x.token_stride;
    return x;
  };
  linear_attention_shape a = pr.s, b = pr.s;
  a.tokens = split;
  b.tokens = pr.s.tokens - split;
  auto out = contiguous_heads(two.data(), pr.s.tokens, H, Dv);
  linear_attention(cpu_t{}, a, p, pr.vq(), pr.vk(), pr.vv(), qr, kr, out, {}, {kv.data(), z.data()});
  out.data += split * out.token_stride;
  // In place: state_in aliases state_out.
  linear_attention(cpu_t{}, b, p, slice(pr.vq(), split), slice(pr.vk(), split), slice(pr.vv(), split),
                   slice(qr, split), slice(kr, split), out, {kv.data(), z.data()}, {kv.data(), z.data()});
  for (std::size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << i;
  for (std::size_t i = 0; i < kv.size(); ++i) ASSERT_EQ(kv1[i], kv[i]);
  for (std::size_t i = 0; i < z.size(); ++i) ASSERT_EQ(z1[i], z[i]);
  // And the second half against the reference with the incoming state.
  std::vector<float> kva(kv.size()), za(z.size()), outa(static_cast<std::size_t>(split * H * Dv));
  linear_attention(cpu_t{}, a, p, pr.vq(), pr.vk(), pr.vv(), qr, kr, contiguous_heads(outa.data(), split, H, Dv), {},
                   {kva.data(), za.data()});
  std::vector<double> ref(static_cast<std::size_t>(b.tokens * H * Dv));
  linear_attention_ref<float>(b, p, slice(pr.vq(), split), slice(pr.vk(), split), slice(pr.vv(), split),
                              slice(qr, split), slice(kr, split), {kva.data(), za.data()}, ref.data());
  std::vector<float> tail(two.begin() + split * H * Dv, two.end());
  EXPECT_LE(err(tail, ref), 1e-5);
}

TEST(LinearAttention, HandCase) {
  // docs/gdn-kernels.md §5.1: q1=(1,0), q2=(0,1), k1=(1,1), k2=(2,0), v1=(1,2), v2=(3,4). Non-causal
  // o1=(7/3,10/3), o2=(1,2); causal (frames of one token) o1=(1,2), o2=(1,2).
  const float q[] = {1, 0, 0, 1}, k[] = {1, 1, 2, 0}, v[] = {1, 2, 3, 4};
  for (index_t f : {index_t{0}, index_t{1}}) {
    linear_attention_shape s{1, 2, 1, 2, 2, f};
    float out[4], kv[4], z[2];
    linear_attention(cpu_t{}, s, {}, contiguous_heads(q, 2, 1, 2), contiguous_heads(k, 2, 1, 2),
                     contiguous_heads(v, 2, 1, 2), heads_view<const float>{}, heads_view<const float>{},
                     contiguous_heads(out, 2, 1, 2), {}, {kv, z});
    const double e0 = f == 0 ? 7.0 / 3 : 1, e1 = f == 0 ? 10.0 / 3 : 2;
    EXPECT_NEAR(out[0], e0, 1e-6);
    EXPECT_NEAR(out[1], e1, 1e-6);
    EXPECT_NEAR(out[2], 1, 1e-6);
    EXPECT_NEAR(out[3], 2, 1e-6);
  }
  // All-nonpositive query ⇒ exactly zero output (eps prevents 0/0).
  const float qn[] = {-1, -2}, kk[] = {1, 1}, vv[] = {5, 6};
  float o[2], kv[4], z[2];
  linear_attention(cpu_t{}, {1, 1, 1, 2, 2, 0}, {}, contiguous_heads(qn, 1, 1, 2), contiguous_heads(kk, 1, 1, 2),
                   contiguous_heads(vv, 1, 1, 2), heads_view<const float>{}, heads_view<const float>{},
                   contiguous_heads(o, 1, 1, 2), {}, {kv, z});
  EXPECT_EQ(o[0], 0.0f);
  EXPECT_EQ(o[1], 0.0f);
}

}  // namespace
}  // namespace sanawm::test

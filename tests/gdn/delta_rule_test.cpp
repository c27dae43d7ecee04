// SPDX-License-Identifier: Apache-2.0
// tests/gdn/delta_rule_test.cpp — token-wise gated delta rule (fla form): hand and sin oracles, recurrent vs
// the float64 twin, chunked == recurrent, state passing, variable-length batches, grouped value heads,
// invariants.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gdn_test_util.hpp"
#include "sanawm/backend/cpu/simd.hpp"
#include "sanawm/kernels/gdn/delta_rule_cpu.hpp"
#include "sanawm/kernels/gdn/delta_rule_ref.hpp"

namespace sanawm::test {
namespace {

/// fla-test-like inputs: q, k ~ N(0, 1) (L2-normalised in the kernel unless told otherwise), v ~ N(0, 1),
/// β = σ(U(0, 1)), g = log σ(U(0, 1)) / normalizer.
struct token_problem {
  index_t B, T, H, K, HV, V;
  f4 q, k, v;
  f3 g, beta;
  token_problem(index_t b, index_t t, index_t h, index_t kd, index_t hv, index_t vd, std::uint64_t seed,
                double normalizer = 1.0)
      : B(b),
        T(t),
        H(h),
        K(kd),
        HV(hv),
        V(vd),
        q(b, t, h, kd),
        k(b, t, h, kd),
        v(b, t, hv, vd),
        g(b, t, hv),
        beta(b, t, hv) {
    fill_normal(q.span(), seed + 1);
    fill_normal(k.span(), seed + 2);
    fill_normal(v.span(), seed + 3);
    fill_uniform_f(beta.span(), seed + 4, 0.0, 1.0);
    for (auto& x : beta.data) x = sigmoid(x);
    fill_uniform_f(g.span(), seed + 5, 0.0, 1.0);
    for (auto& x : g.data) x = static_cast<float>(std::log(static_cast<double>(sigmoid(x))) / normalizer);
  }
  delta_rule_inputs inputs() const { return {q.sview(), k.sview(), v.sview(), g.sview(), beta.sview()}; }
};

template <class L>
struct to_types;
template <class... Isas>
struct to_types<cpu::isa_list<Isas...>> {
  using type = ::testing::Types<Isas...>;
};
template <class Isa>
class DeltaRuleIsa : public ::testing::Test {};
TYPED_TEST_SUITE(DeltaRuleIsa, to_types<cpu::compiled_isas>::type);

// gdn-kernels.md §5.1: K = V = 2, scale 1, H0 = 0.
TEST(DeltaRule, HandTable) {
  f4 q(1, 3, 1, 2), k(1, 3, 1, 2), v(1, 3, 1, 2), o(1, 3, 1, 2);
  f3 g(1, 3, 1), beta(1, 3, 1);
  q.data = {1, 0, 1, 0, 1, 1};
  k.data = {1, 0, 1, 0, 0, 1};
  v.data = {2, 3, 4, 5, 1, 1};
  g.data = {std::log(0.5f), std::log(0.5f), 0.0f};
  beta.data = {0.5f, 1.0f, 1.0f};
  delta_rule_options opt;
  opt.scale = 1.0f;
  opt.chunk_size = 2;
  f4 hs(1, 1, 2, 2);
  const delta_rule_inputs in{q.sview(), k.sview(), v.sview(), g.sview(), beta.sview()};
  for (int form = 0; form < 2; ++form) {
    o.poison(), hs.poison();
    if (form == 0)
      delta_rule_recurrent(cpu_t{}, in, o.msview(), opt, {{}, hs.view()});
    else
      delta_rule_chunked(cpu_t{}, in, o.msview(), opt, {{}, hs.view()});
    EXPECT_EQ(o.data, (std::vector<float>{1, 1.5f, 4, 5, 5, 6})) << form;
    EXPECT_EQ(hs.data, (std::vector<float>{4, 5, 1, 1})) << form;
  }
}

double osc(double a, double b, double c) {
  return std::sin(0.7 * a + 1.3 * b + 0.37 * c);
}

// gdn-kernels.md §5.2 token oracle: T = 6, K = V = 3, L2-normalised q/k in the kernel, scale 1/√3.
TYPED_TEST(DeltaRuleIsa, SinOracle) {
  const index_t T = 6, K = 3;
  f4 q(1, T, 1, K), k(1, T, 1, K), v(1, T, 1, K), o(1, T, 1, K);
  f3 g(1, T, 1), beta(1, T, 1);
  for (index_t t = 0; t < T; ++t) {
    for (index_t d = 0; d < K; ++d) {
      const auto i = static_cast<std::size_t>(t * K + d);
      q.data[i] = static_cast<float>(osc(static_cast<double>(t), static_cast<double>(d), 1));
      k.data[i] = static_cast<float>(osc(static_cast<double>(t), static_cast<double>(d), 2));
      v.data[i] = static_cast<float>(osc(static_cast<double>(t), static_cast<double>(d), 3));
    }
    beta.data[static_cast<std::size_t>(t)] = sigmoid(osc(static_cast<double>(t), 0, 4));
    g.data[static_cast<std::size_t>(t)] =
        static_cast<float>(std::log(static_cast<double>(sigmoid(osc(static_cast<double>(t), 0, 5)))));
  }
  delta_rule_options opt;
  opt.qk_l2norm = true;  // scale defaults to 1/√3
  opt.chunk_size = 4;
  const delta_rule_inputs in{q.sview(), k.sview(), v.sview(), g.sview(), beta.sview()};
  f4 hs(1, 1, K, K);
  const double o5[3] = {-0.177440465135, -0.090341041089, 0.129108219799};
  const double h0[3] = {0.217711248173, 0.077200211339, -0.176409315968};
  for (int form = 0; form < 3; ++form) {
    o.poison(), hs.poison();
    if (form == 0)
      delta_rule_recurrent<TypeParam>(cpu_t{}, in, o.msview(), opt, {{}, hs.view()});
    else if (form == 1)
      delta_rule_chunked(cpu_t{}, in, o.msview(), opt, {{}, hs.view()});
    else {
      d4 od(1, T, 1, K), hd(1, 1, K, K);
      delta_rule_ref(in, od.view(), opt, {}, hd.view());
      for (std::size_t i = 0; i < o.data.size(); ++i) o.data[i] = static_cast<float>(od.data[i]);
      for (std::size_t i = 0; i < hs.data.size(); ++i) hs.data[i] = static_cast<float>(hd.data[i]);
    }
    double so = 0, sh = 0;
    for (float x : o.data) so += x;
    for (float x : hs.data) sh += x;
    for (index_t d = 0; d < K; ++d) {
      EXPECT_NEAR(o.data[static_cast<std::size_t>(5 * K + d)], o5[d], 1e-6) << form;
      EXPECT_NEAR(hs.data[static_cast<std::size_t>(d)], h0[d], 1e-6) << form;
    }
    EXPECT_NEAR(so, -0.558049207205, 2e-6) << form;
    EXPECT_NEAR(sh, 0.329239680607, 2e-6) << form;
  }
}

TYPED_TEST(DeltaRuleIsa, RecurrentMatchesFloat64Twin) {
  struct c {
    index_t B, T, H, K, HV, V;
    double norm;
    bool l2;
  };
  const c cases[] = {{2, 63, 1, 64, 1, 64, 1.0, true},
                     {1, 200, 2, 100, 4, 60, 0.1, true},
                     {2, 37, 2, 16, 2, 24, 10.0, true},
                     {1, 50, 1, 8, 1, 8, 1.0, false}};
  for (const auto& cs : cases) {
    token_problem p(cs.B, cs.T, cs.H, cs.K, cs.HV, cs.V, 300 + static_cast<std::uint64_t>(cs.K));
    if (!cs.l2)  // unnormalised keys need a small β for the recurrence to stay a contraction
      for (auto& x : p.beta.data) x *= 0.05f;
    delta_rule_options opt;
    opt.qk_l2norm = cs.l2;
    f4 h0(cs.B, cs.HV, cs.K, cs.V), h1(cs.B, cs.HV, cs.K, cs.V), o(cs.B, cs.T, cs.HV, cs.V);
    fill_normal(h0.span(), 7);
    d4 od(cs.B, cs.T, cs.HV, cs.V), hd(cs.B, cs.HV, cs.K, cs.V);
    o.poison(), h1.poison();
    delta_rule_recurrent<TypeParam>(cpu_t{}, p.inputs(), o.msview(), opt, {h0.cview(), h1.view()});
    delta_rule_ref(p.inputs(), od.view(), opt, h0.cview(), hd.view());
    EXPECT_LE(rel_rms_of(o, od), 1e-5) << cs.T << " " << cs.K;
    EXPECT_LE(rel_rms_of(h1, hd), 1e-5) << cs.T << " " << cs.K;
  }
}

TEST(DeltaRule, ChunkedEqualsRecurrent) {
  // Chunk sizes 16/32/64, T not a multiple of the chunk, strong decay (normalizer 0.01: g ≈ −70) included.
  for (const index_t C : {16, 32, 64})
    for (const double norm : {1.0, 0.01, 10.0}) {
      token_problem p(2, 150, 2, 32, 4, 40, 500 + static_cast<std::uint64_t>(C), norm);
      delta_rule_options opt;
      opt.qk_l2norm = true;
      opt.chunk_size = C;
      f4 h0(2, 4, 32, 40), ha(2, 4, 32, 40), hb(2, 4, 32, 40), oa(2, 150, 4, 40), ob(2, 150, 4, 40);
      fill_normal(h0.span(), 9);
      oa.poison(), ob.poison();
      delta_rule_recurrent(cpu_t{}, p.inputs(), oa.msview(), opt, {h0.cview(), ha.view()});
      delta_rule_chunked(cpu_t{}, p.inputs(), ob.msview(), opt, {h0.cview(), hb.view()});
      d4 od(2, 150, 4, 40), hd(2, 4, 32, 40);
      delta_rule_ref(p.inputs(), od.view(), opt, h0.cview(), hd.view());
      EXPECT_LE(rel_rms_of(ob, oa), 1e-5) << C << " " << norm;
      EXPECT_LE(rel_rms_of(hb, ha), 1e-5) << C << " " << norm;
      EXPECT_LE(rel_rms_of(ob, od), 1e-5) << C << " " << norm;
    }
}

TEST(DeltaRule, StatePassingEqualsOneRun) {
  token_problem p(1, 130, 1, 16, 2, 16, 600);
  delta_rule_options opt;
  opt.qk_l2norm = true;
  // Packed into three "sequences" that share one state chain: run [0, 45), then [45, 130) from the state.
  f4 o_all(1, 130, 2, 16), h_all(1, 2, 16, 16);
  delta_rule_recurrent(cpu_t{}, p.inputs(), o_all.msview(), opt, {{}, h_all.view()});
  for (int form = 0; form < 2; ++form) {
    f4 h(1, 2, 16, 16);
    std::vector<float> got;
    const index_t cut[] = {0, 45, 130};
    for (int part = 0; part < 2; ++part) {
      const index_t n = cut[part + 1] - cut[part];
      token_problem s = p;
      s.T = n;
      auto slice = [&](const f4& x, f4& y) {
        y = f4(1, n, x.ext[2], x.ext[3]);
        const auto inner = static_cast<std::size_t>(x.ext[2] * x.ext[3]);
        std::copy(x.data.begin() + static_cast<long>(cut[part] * inner),
                  x.data.begin() + static_cast<long>(cut[part + 1] * inner), y.data.begin());
      };
      auto slice3 = [&](const f3& x, f3& y) {
        y = f3(1, n, x.ext[2]);
        const auto inner = static_cast<std::size_t>(x.ext[2]);
        std::copy(x.data.begin() + static_cast<long>(cut[part] * inner),
                  x.data.begin() + static_cast<long>(cut[part + 1] * inner), y.data.begin());
      };
      slice(p.q, s.q), slice(p.k, s.k), slice(p.v, s.v), slice3(p.g, s.g), slice3(p.beta, s.beta);
      f4 o(1, n, 2, 16);
      const delta_rule_state st{part == 0 ? delta_rule_state_cview{} : h.cview(), h.view()};
      if (form == 0)
        delta_rule_recurrent(cpu_t{}, s.inputs(), o.msview(), opt, st);
      else
        delta_rule_chunked(cpu_t{}, s.inputs(), o.msview(), opt, st);
      got.insert(got.end(), o.data.begin(), o.data.end());
    }
    EXPECT_LE(max_rel(std::span<const float>(got), std::span<const float>(o_all.data)), 1e-5) << form;
    EXPECT_LE(max_rel_of(h, h_all), 1e-5) << form;
  }
}

TEST(DeltaRule, VarlenEqualsPerSequenceRuns) {
  const std::vector<index_t> cu = {0, 15, 100, 100, 170, 200};  // includes an empty sequence
  const index_t T = cu.back(), N = static_cast<index_t>(cu.size()) - 1;
  token_problem p(1, T, 2, 24, 2, 20, 700);
  f4 h0(N, 2, 24, 20);
  fill_normal(h0.span(), 3);
  for (int form = 0; form < 2; ++form) {
    delta_rule_options opt;
    opt.qk_l2norm = true;
    opt.cu_seqlens = cu;
    opt.chunk_size = 32;
    f4 o(1, T, 2, 20), h1(N, 2, 24, 20);
    o.poison(), h1.poison();
    if (form == 0)
      delta_rule_recurrent(cpu_t{}, p.inputs(), o.msview(), opt, {h0.cview(), h1.view()});
    else
      delta_rule_chunked(cpu_t{}, p.inputs(), o.msview(), opt, {h0.cview(), h1.view()});
    d4 od(1, T, 2, 20), hd(N, 2, 24, 20);
    delta_rule_ref(p.inputs(), od.view(), opt, h0.cview(), hd.view());
    EXPECT_LE(rel_rms_of(o, od), 1e-5) << form;
    EXPECT_LE(rel_rms_of(h1, hd), 1e-5) << form;
    // Sequence 2 is empty: its state passes through.
    for (index_t i = 0; i < 2 * 24 * 20; ++i)
      EXPECT_EQ(h1.data[static_cast<std::size_t>(2 * 2 * 24 * 20 + i)],
                h0.data[static_cast<std::size_t>(2 * 2 * 24 * 20 + i)]);
    // Sequence 1 alone, as an unpacked batch of one, gives the same tokens.
    token_problem s(1, 85, 2, 24, 2, 20, 1);
    const auto cp = [&](const auto& x, auto& y, index_t inner) {
      std::copy(x.data.begin() + 15 * inner, x.data.begin() + 100 * inner, y.data.begin());
    };
    cp(p.q, s.q, 48), cp(p.k, s.k, 48), cp(p.v, s.v, 40), cp(p.g, s.g, 2), cp(p.beta, s.beta, 2);
    f4 os(1, 85, 2, 20), hs0(1, 2, 24, 20), hs1(1, 2, 24, 20);
    std::copy(h0.data.begin() + 960, h0.data.begin() + 1920, hs0.data.begin());
    delta_rule_options o1;
    o1.qk_l2norm = true;
    o1.chunk_size = 32;
    if (form == 0)
      delta_rule_recurrent(cpu_t{}, s.inputs(), os.msview(), o1, {hs0.cview(), hs1.view()});
    else
      delta_rule_chunked(cpu_t{}, s.inputs(), os.msview(), o1, {hs0.cview(), hs1.view()});
    const std::vector<float> mid(o.data.begin() + 15 * 40, o.data.begin() + 100 * 40);
    EXPECT_EQ(os.data, mid) << form;
  }
}

TEST(DeltaRule, GroupedValueHeadsEqualRepeatedHeads) {
  token_problem p(1, 40, 2, 16, 6, 12, 800);  // G = 3 value heads per q/k head
  delta_rule_options opt;
  opt.qk_l2norm = true;
  f4 o(1, 40, 6, 12);
  delta_rule_recurrent(cpu_t{}, p.inputs(), o.msview(), opt);
  token_problem r = p;
  r.H = 6;
  r.q = f4(1, 40, 6, 16), r.k = f4(1, 40, 6, 16);
  for (index_t t = 0; t < 40; ++t)
    for (index_t hv = 0; hv < 6; ++hv)
      for (index_t i = 0; i < 16; ++i) {
        r.q.data[static_cast<std::size_t>((t * 6 + hv) * 16 + i)] =
            p.q.data[static_cast<std::size_t>((t * 2 + hv / 3) * 16 + i)];
        r.k.data[static_cast<std::size_t>((t * 6 + hv) * 16 + i)] =
            p.k.data[static_cast<std::size_t>((t * 2 + hv / 3) * 16 + i)];
      }
  f4 o2(1, 40, 6, 12);
  delta_rule_recurrent(cpu_t{}, r.inputs(), o2.msview(), opt);
  EXPECT_EQ(o.data, o2.data);
}

// §5.3 invariants.
TEST(DeltaRule, Invariants) {
  token_problem p(1, 30, 1, 8, 1, 8, 900);
  f4 h0(1, 1, 8, 8), h1(1, 1, 8, 8), o(1, 30, 1, 8);
  fill_normal(h0.span(), 1);
  delta_rule_options opt;
  opt.qk_l2norm = true;
  // β ≡ 0: nothing is written, H_T = (Π α) H0.
  for (auto& x : p.beta.data) x = 0.0f;
  delta_rule_recurrent(cpu_t{}, p.inputs(), o.msview(), opt, {h0.cview(), h1.view()});
  double logsum = 0;
  for (float g : p.g.data) logsum += g;
  for (std::size_t i = 0; i < h0.data.size(); ++i)
    EXPECT_NEAR(h1.data[i], h0.data[i] * std::exp(logsum), 1e-5);
  // Output is linear in scale.
  token_problem p2(1, 30, 1, 8, 1, 8, 901);
  f4 oa(1, 30, 1, 8), ob(1, 30, 1, 8);
  opt.scale = 1.0f;
  delta_rule_recurrent(cpu_t{}, p2.inputs(), oa.msview(), opt);
  opt.scale = 0.1f;
  delta_rule_recurrent(cpu_t{}, p2.inputs(), ob.msview(), opt);
  for (std::size_t i = 0; i < oa.data.size(); ++i) EXPECT_NEAR(ob.data[i], 0.1f * oa.data[i], 1e-6);
  // α = 1, β = 1, orthonormal keys: an exact associative memory (q = k_i reads the last v written to k_i).
  const index_t K = 4;
  f4 q(1, 6, 1, K), k(1, 6, 1, K), v(1, 6, 1, K), out(1, 6, 1, K);
  f3 g(1, 6, 1), b(1, 6, 1);
  const int slot[6] = {0, 1, 2, 1, 3, 0};
  fill_normal(v.span(), 4);
  for (index_t t = 0; t < 6; ++t) {
    for (index_t i = 0; i < K; ++i) k.data[static_cast<std::size_t>(t * K + i)] = i == slot[t] ? 1.0f : 0.0f;
    for (index_t i = 0; i < K; ++i) q.data[static_cast<std::size_t>(t * K + i)] = i == 1 ? 1.0f : 0.0f;
    g.data[static_cast<std::size_t>(t)] = 0.0f, b.data[static_cast<std::size_t>(t)] = 1.0f;
  }
  delta_rule_options mem;
  mem.scale = 1.0f;
  delta_rule_chunked(cpu_t{}, {q.sview(), k.sview(), v.sview(), g.sview(), b.sview()}, out.msview(), mem);
  for (index_t i = 0; i < K; ++i)
    EXPECT_NEAR(out.data[static_cast<std::size_t>(5 * K + i)], v.data[static_cast<std::size_t>(3 * K + i)],
                1e-6);
}

TEST(DeltaRule, RejectsBadInputs) {
  token_problem p(1, 10, 2, 8, 3, 8, 1000);
  f4 o(1, 10, 3, 8);
  auto msg_of = [&](auto f) {
    try {
      f();
    } catch (const sanawm::error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string m = msg_of([&] { delta_rule_recurrent(cpu_t{}, p.inputs(), o.msview()); });
  EXPECT_NE(m.find("value heads 3 must be a multiple of the q/k heads 2"), std::string::npos) << m;
  token_problem q(1, 10, 1, 8, 2, 8, 1001);
  f4 o2(1, 10, 2, 8);
  q.g.data[7] = std::nanf("");
  m = msg_of([&] { delta_rule_chunked(cpu_t{}, q.inputs(), o2.msview()); });
  EXPECT_NE(m.find("[delta_rule_chunked] g[0, 3, 1] = nan is not finite"), std::string::npos) << m;
  q.g.data[7] = -0.1f;
  const std::vector<index_t> cu = {0, 4, 9};
  delta_rule_options opt;
  opt.cu_seqlens = cu;
  m = msg_of([&] { delta_rule_recurrent(cpu_t{}, q.inputs(), o2.msview(), opt); });
  EXPECT_NE(m.find("cu_seqlens must end at T = 10, got 9"), std::string::npos) << m;
}

}  // namespace
}  // namespace sanawm::test

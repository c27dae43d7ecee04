// SPDX-License-Identifier: Apache-2.0
// tests/attention/attention_cpu_test.cpp — CPU flash attention and the composed path against the float64 twin:
// every mask kind, odd sizes, GQA, bf16, chunk-causal == per-chunk, KV-cache streaming == chunk-causal.
#include <gtest/gtest.h>

#include <vector>

#include "attention_test_util.hpp"
#include "sanawm/backend/cpu/simd.hpp"
#include "sanawm/kernels/attention/attention_cpu.hpp"

namespace sanawm::test {
namespace {

constexpr double fp32_tol = 1e-5, bf16_tol = 1e-2;

template <class Isa, class T, class O = T>
double run_flash(const attn_problem<T>& pr, const attention_params& p, std::vector<O>* keep = nullptr) {
  auto o = poisoned<O>(pr.out_size());
  attention<Isa>(cpu_t{}, pr.s, p, pr.q(), pr.k(), pr.v(), out_view(o, pr.s));
  const double e = rel_err(o, pr.ref(p));
  if (keep) *keep = o;
  return e;
}

template <class Isa>
void all_masks_fp32() {
  SCOPED_TRACE(Isa::name);
  for (index_t n : {index_t{1}, index_t{7}, index_t{53}, index_t{131}}) {
    for (index_t d : {index_t{32}, index_t{112}}) {
      attn_problem<float> pr({2, n, n, 3, 3, d}, 100 + n + d);
      attention_params p;
      p.scale = 1.0f / std::sqrt(static_cast<float>(d));
      SCOPED_TRACE(testing::Message() << "N=" << n << " D=" << d);
      EXPECT_LE(run_flash<Isa>(pr, p), fp32_tol) << "none";
      p.mask.kind = mask_kind::causal;
      EXPECT_LE(run_flash<Isa>(pr, p), fp32_tol) << "causal";
      p.mask.window = 5;
      EXPECT_LE(run_flash<Isa>(pr, p), fp32_tol) << "causal + window";
      const std::vector<index_t> chunks = {n / 3 + 1, n / 4 + 1, n};
      p.mask = attention_mask::chunk_causal(chunks);
      EXPECT_LE(run_flash<Isa>(pr, p), fp32_tol) << "chunk-causal";
      p.mask = attention_mask{};
      p.mask.num_ranges = 2;
      p.mask.ranges[0] = {0, (n + 1) / 2};
      p.mask.ranges[1] = {n - n / 5, n};
      EXPECT_LE(run_flash<Isa>(pr, p), fp32_tol) << "key ranges";
    }
  }
}

TEST(AttentionCpu, AllMasksFp32ScalarIsa) { all_masks_fp32<cpu::scalar_isa>(); }
TEST(AttentionCpu, AllMasksFp32NativeIsa) { all_masks_fp32<cpu::native_isa>(); }
#if SANAWM_SIMD_AVX512
TEST(AttentionCpu, AllMasksFp32Avx2) { all_masks_fp32<cpu::avx2_isa>(); }
#endif

TEST(AttentionCpu, HeadDimsAndScales) {
  // 112 with both SANA-WM scales (main 1/√112, padded camera branch 1/√128), 128 and 256.
  for (index_t d : {index_t{64}, index_t{96}, index_t{112}, index_t{128}, index_t{256}}) {
    attn_problem<float> pr({1, 67, 67, 2, 2, d}, 7 + d, 2.0);
    for (float sc : {1.0f / std::sqrt(112.0f), 1.0f / std::sqrt(128.0f)}) {
      attention_params p;
      p.scale = sc;
      EXPECT_LE(run_flash<cpu::native_isa>(pr, p), fp32_tol) << "D=" << d;
    }
  }
}

TEST(AttentionCpu, GqaCrossSoftcapWindow) {
  // Gemma-2 style: 8 query heads on 2 kv heads, logit soft-capping 50, causal sliding window.
  attn_problem<float> pr({1, 61, 61, 8, 2, 32}, 33, 4.0);
  attention_params p;
  p.scale = 1.0f / 16;
  p.softcap = 5.0f;
  EXPECT_LE(run_flash<cpu::native_isa>(pr, p), fp32_tol);
  p.mask.kind = mask_kind::causal;
  p.mask.window = 16;
  EXPECT_LE(run_flash<cpu::native_isa>(pr, p), fp32_tol);
  // Cross-attention shape: Nq != Nk.
  attn_problem<float> cr({2, 29, 11, 4, 4, 32}, 34);
  attention_params pc;
  pc.scale = 0.2f;
  EXPECT_LE(run_flash<cpu::native_isa>(cr, pc), fp32_tol);
}

TEST(AttentionCpu, KeyPaddingBiasMatchesUpstream) {
  // Cross-attention to text with upstream's additive −10000: padded keys vanish. A batch whose keys are all padded
  // is not NaN: every logit moves by the same −10000, so (softmax being shift-invariant) it equals the unmasked
  // attention, up to the fp32 rounding of logit − 10000 (ulp(10⁴) ≈ 1e-3) that upstream's fp32 path has too.
  const index_t nk = 13, nq = 37, H = 2, D = 64;
  attn_problem<float> pr({2, nq, nk, H, H, D}, 55);
  pr.bias.assign(static_cast<std::size_t>(2 * nk), 0.0f);
  for (index_t j = 9; j < nk; ++j) pr.bias[j] = key_padding_bias;
  for (index_t j = 0; j < nk; ++j) pr.bias[nk + j] = key_padding_bias;
  attention_params p;
  p.scale = 1.0f / std::sqrt(112.0f);
  p.key_bias = pr.bias.data();
  p.key_bias_batch_stride = nk;
  std::vector<float> o;
  run_flash<cpu::native_isa>(pr, p, &o);
  const auto ref = pr.ref(p);
  attention_params unmasked = p;
  unmasked.key_bias = nullptr;
  const auto ref_unmasked = pr.ref(unmasked);
  const std::size_t half = o.size() / 2;
  EXPECT_LE(rel_err(std::vector<float>(o.begin(), o.begin() + half), std::vector<double>(ref.begin(), ref.begin() + half)),
            fp32_tol)
      << "partly padded batch";
  const std::vector<float> o1(o.begin() + half, o.end());
  EXPECT_LE(rel_err(o1, std::vector<double>(ref_unmasked.begin() + half, ref_unmasked.end())), 2e-3)
      << "fully padded batch == unmasked";
  for (float x : o1) ASSERT_TRUE(std::isfinite(x));
}

TEST(AttentionCpu, FullyMaskedRowsAreZero) {
  attn_problem<float> pr({1, 20, 20, 2, 2, 32}, 66);
  attention_params p;
  p.scale = 0.3f;
  p.mask.num_ranges = 1;
  p.mask.ranges[0] = {10, 20};
  p.mask.kind = mask_kind::causal;  // queries 0..9 see nothing
  std::vector<float> o;
  EXPECT_LE(run_flash<cpu::native_isa>(pr, p, &o), fp32_tol);
  for (index_t i = 0; i < 10 * 2 * 32; ++i) ASSERT_EQ(o[i], 0.0f);
}

TEST(AttentionCpu, Bf16Inputs) {
  for (index_t d : {index_t{112}, index_t{128}}) {
    attn_problem<bf16> pr({1, 97, 97, 3, 3, d}, 77 + d, 2.0);
    attention_params p;
    p.scale = 1.0f / std::sqrt(static_cast<float>(d));
    EXPECT_LE((run_flash<cpu::native_isa, bf16, float>(pr, p)), fp32_tol) << "bf16 in, fp32 out";
    EXPECT_LE((run_flash<cpu::native_isa, bf16, bf16>(pr, p)), bf16_tol) << "bf16 in, bf16 out";
    p.mask = attention_mask::chunk_causal(std::vector<index_t>{40, 30, 27});
    EXPECT_LE((run_flash<cpu::native_isa, bf16, bf16>(pr, p)), bf16_tol) << "chunk-causal";
  }
}

TEST(AttentionCpu, ComposedMatchesReference) {
  attn_problem<float> pr({2, 41, 41, 4, 2, 24}, 88);  // D = 24 is off the flash menu: composed handles it
  attention_params p;
  p.scale = 0.25f;
  p.mask = attention_mask::chunk_causal(std::vector<index_t>{12, 9, 9, 11});
  auto o = poisoned<float>(pr.out_size());
  attention_composed(cpu_t{}, pr.s, p, pr.q(), pr.k(), pr.v(), out_view(o, pr.s));
  EXPECT_LE(rel_err(o, pr.ref(p)), fp32_tol);
  EXPECT_THROW(attention(cpu_t{}, pr.s, p, pr.q(), pr.k(), pr.v(), out_view(o, pr.s)), sanawm::error);
}

// Chunk sizes [4, 3, 3] latent frames × S = 7 tokens.
const std::vector<index_t> frame_chunks = {28, 21, 21};

TEST(AttentionCpu, ChunkCausalEqualsPerChunk) {
  const index_t n = 70, H = 2, D = 32;
  attn_problem<float> pr({1, n, n, H, H, D}, 99);
  attention_params p;
  p.scale = 1.0f / std::sqrt(128.0f);
  p.mask = attention_mask::chunk_causal(frame_chunks);
  auto full = poisoned<float>(pr.out_size());
  attention(cpu_t{}, pr.s, p, pr.q(), pr.k(), pr.v(), out_view(full, pr.s));
  // Chunk c on its own: its queries against the key prefix [0, end_c), no mask.
  index_t begin = 0;
  for (int c = 0; c < 3; ++c) {
    const index_t end = p.mask.chunk_ends[c];
    attention_shape sc{1, end - begin, end, H, H, D};
    attention_params pc;
    pc.scale = p.scale;
    auto q = pr.q();
    q.data += begin * q.token_stride;
    auto o = poisoned<float>(sc.q_tokens * H * D);
    attention(cpu_t{}, sc, pc, q, pr.k(), pr.v(), out_view(o, sc));
    for (std::size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(o[i], full[begin * H * D + i], 1e-6) << "chunk " << c;
    begin = end;
  }
}

TEST(AttentionCpu, KvCacheStreamingEqualsChunkCausal) {
  // Streaming: chunk c's queries against the cache of all chunks so far, restricted to the sink + window set.
  // With a window covering every earlier chunk it is exactly chunk-causal; with the upstream default (2 cached
  // blocks + sink) it is the reference on the same ranges.
  const std::vector<index_t> chunks = {28, 21, 21, 21, 21};
  const index_t n = 112, H = 2, D = 32;
  attn_problem<float> pr({1, n, n, H, H, D}, 111);
  attention_params p;
  p.scale = 0.2f;
  p.mask = attention_mask::chunk_causal(chunks);
  auto full = poisoned<float>(pr.out_size());
  attention(cpu_t{}, pr.s, p, pr.q(), pr.k(), pr.v(), out_view(full, pr.s));
  index_t begin = 0;
  for (int c = 0; c < 5; ++c) {
    const index_t end = p.mask.chunk_ends[c];
    attention_shape sc{1, end - begin, end, H, H, D};  // the cache holds chunks [0, c]
    auto q = pr.q();
    q.data += begin * q.token_stride;
    attention_params pc;
    pc.scale = p.scale;
    pc.mask = kv_cache_mask(p.mask, c, 8, true);
    auto o = poisoned<float>(sc.q_tokens * H * D);
    attention(cpu_t{}, sc, pc, q, pr.k(), pr.v(), out_view(o, sc));
    for (std::size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(o[i], full[begin * H * D + i], 1e-6) << "chunk " << c;
    // Upstream default window: sink chunk 0 + 1 cached chunk + current.
    pc.mask = kv_cache_mask(p.mask, c, 2, true);
    if (c >= 3) {
      ASSERT_EQ(pc.mask.num_ranges, 2);
      EXPECT_EQ(pc.mask.ranges[0].end, 28);
      EXPECT_EQ(pc.mask.ranges[1].begin, p.mask.chunk_ends[c - 2]);
    }
    attn_problem<float> view = pr;
    view.s = sc;
    o = poisoned<float>(sc.q_tokens * H * D);
    attention(cpu_t{}, sc, pc, q, pr.k(), pr.v(), out_view(o, sc));
    std::vector<double> ref(o.size());
    attention_ref<float>(sc, pc, q, pr.k(), pr.v(), ref.data());
    EXPECT_LE(rel_err(o, ref), fp32_tol) << "chunk " << c;
    begin = end;
  }
}

TEST(AttentionCpu, EmptyAndErrors) {
  attn_problem<float> pr({1, 5, 5, 2, 2, 32}, 1);
  attention_params p;
  p.scale = 1;
  attention_shape s0 = pr.s;
  s0.kv_tokens = 0;
  auto o = poisoned<float>(pr.out_size());
  attention(cpu_t{}, s0, p, pr.q(), pr.k(), pr.v(), out_view(o, pr.s));
  for (float x : o) ASSERT_EQ(x, 0.0f);
  p.scale = 0;
  EXPECT_THROW(attention(cpu_t{}, pr.s, p, pr.q(), pr.k(), pr.v(), out_view(o, pr.s)), sanawm::error);
  p.scale = 1;
  attention_shape bad = pr.s;
  bad.q_heads = 3;
  EXPECT_THROW(attention(cpu_t{}, bad, p, pr.q(), pr.k(), pr.v(), out_view(o, pr.s)), sanawm::error);
}

}  // namespace
}  // namespace sanawm::test

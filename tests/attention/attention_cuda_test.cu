// SPDX-License-Identifier: Apache-2.0
// tests/attention/attention_cuda_test.cu — the CUDA flash attention, the composed path and the linear-attention
// bodies on the device against the float64 twins; every case skips with the reason when there is no device.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attention_test_util.hpp"
#include "sanawm/backend/cuda/device.cuh"
#include "sanawm/backend/cuda/memory.cuh"
#include "sanawm/backend/cuda/stream.cuh"
#include "sanawm/kernels/attention/attention_cuda.cuh"
#include "sanawm/kernels/linear_attention/linear_attention.hpp"
#include "sanawm/kernels/linear_attention/linear_attention_ref.hpp"

namespace sanawm::test {
namespace {

#define SKIP_WITHOUT_DEVICE() \
  if (!has_cuda_device()) GTEST_SKIP() << no_cuda_device_reason()

template <class T>
struct dev {
  device_buffer<T> buf;
  explicit dev(const std::vector<T>& h) : buf(static_cast<index_t>(h.size())) {
    SANAWM_CUDA_CHECK(cudaMemcpy(buf.data(), h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> get() {
    std::vector<T> h(static_cast<std::size_t>(buf.size()));
    SANAWM_CUDA_CHECK(cudaMemcpy(h.data(), buf.data(), h.size() * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

/// Runs the problem on the device (flash or composed) and returns the output.
template <class T, class O>
std::vector<O> run_device(const attn_problem<T>& pr, attention_params p, bool flash) {
  dev<T> q(pr.qbuf), kv(pr.kvbuf);
  dev<O> out(poisoned<O>(pr.out_size()));
  std::vector<float> bias = pr.bias;
  if (bias.empty()) bias.push_back(0);
  dev<float> db(bias);
  if (p.key_bias) p.key_bias = db.buf.data();
  auto rebase = [](heads_view<const T> x, const T* host0, const T* dev0) {
    x.data = dev0 + (x.data - host0);
    return x;
  };
  const auto qd = rebase(pr.q(), pr.qbuf.data(), q.buf.data());
  const auto kd = rebase(pr.k(), pr.kvbuf.data(), kv.buf.data());
  const auto vd = rebase(pr.v(), pr.kvbuf.data(), kv.buf.data());
  const auto od = contiguous_heads<O>(out.buf.data(), pr.s.q_tokens, pr.s.q_heads, pr.s.head_dim);
  if constexpr (std::is_same_v<T, bf16>) {
    if (flash) attention(cuda_t{}, pr.s, p, qd, kd, vd, od);
    else attention_composed(cuda_t{}, pr.s, p, qd, kd, vd, od);
  } else {
    attention_composed(cuda_t{}, pr.s, p, qd, kd, vd, od);
  }
  synchronize(cuda_t{});
  return out.get();
}

TEST(AttentionCuda, FlashAllMasks) {
  SKIP_WITHOUT_DEVICE();
  for (index_t n : {index_t{1}, index_t{67}, index_t{131}, index_t{200}}) {
    for (index_t d : {index_t{32}, index_t{112}, index_t{128}}) {
      attn_problem<bf16> pr({2, n, n, 4, 2, d}, 300 + n + d, 2.0);
      attention_params p;
      p.scale = 1.0f / std::sqrt(112.0f);
      SCOPED_TRACE(testing::Message() << "N=" << n << " D=" << d);
      EXPECT_LE(rel_err(run_device<bf16, float>(pr, p, true), pr.ref(p)), 1e-2) << "none";
      EXPECT_LE(rel_err(run_device<bf16, bf16>(pr, p, true), pr.ref(p)), 1e-2) << "none, bf16 out";
      p.mask.kind = mask_kind::causal;
      p.mask.window = 37;
      EXPECT_LE(rel_err(run_device<bf16, float>(pr, p, true), pr.ref(p)), 1e-2) << "causal window";
      p.mask = attention_mask::chunk_causal(std::vector<index_t>{n / 3 + 1, n / 5 + 1, n});
      EXPECT_LE(rel_err(run_device<bf16, float>(pr, p, true), pr.ref(p)), 1e-2) << "chunk-causal";
      p.mask = attention_mask{};
      p.mask.num_ranges = 2;
      p.mask.ranges[0] = {0, n / 4 + 1};
      p.mask.ranges[1] = {n / 2, n};
      EXPECT_LE(rel_err(run_device<bf16, float>(pr, p, true), pr.ref(p)), 1e-2) << "ranges";
      p.mask = attention_mask{};
      p.softcap = 2.0f;
      EXPECT_LE(rel_err(run_device<bf16, float>(pr, p, true), pr.ref(p)), 1e-2) << "softcap";
    }
  }
}

TEST(AttentionCuda, FlashKeyBiasAndFullyMaskedRows) {
  SKIP_WITHOUT_DEVICE();
  const index_t nk = 21;
  attn_problem<bf16> pr({2, 40, nk, 2, 2, 112}, 41);
  pr.bias.assign(static_cast<std::size_t>(2 * nk), 0.0f);
  for (index_t j = 15; j < nk; ++j) pr.bias[j] = key_padding_bias;
  for (index_t j = 0; j < nk; ++j) pr.bias[nk + j] = key_padding_bias;
  attention_params p;
  p.scale = 1.0f / std::sqrt(112.0f);
  p.key_bias = pr.bias.data();
  p.key_bias_batch_stride = nk;
  EXPECT_LE(rel_err(run_device<bf16, float>(pr, p, true), pr.ref(p)), 1e-2);
  // Structurally empty rows are zero.
  attn_problem<bf16> pe({1, 30, 30, 2, 2, 96}, 42);
  attention_params pz;
  pz.scale = 0.125f;
  pz.mask.kind = mask_kind::causal;
  pz.mask.num_ranges = 1;
  pz.mask.ranges[0] = {12, 30};
  const auto o = run_device<bf16, float>(pe, pz, true);
  for (index_t i = 0; i < 12 * 2 * 96; ++i) ASSERT_EQ(o[i], 0.0f);
  EXPECT_LE(rel_err(o, pe.ref(pz)), 1e-2);
}

TEST(AttentionCuda, ComposedMatchesReference) {
  SKIP_WITHOUT_DEVICE();
  attn_problem<float> pr({2, 75, 75, 4, 2, 256}, 43);  // Gemma-2 head dim 256: composed only
  attention_params p;
  p.scale = 1.0f / 16;
  p.softcap = 50.0f;
  p.mask.kind = mask_kind::causal;
  p.mask.window = 20;
  EXPECT_LE(rel_err(run_device<float, float>(pr, p, false), pr.ref(p)), 1e-5);
  attn_problem<bf16> pb({1, 90, 90, 3, 3, 112}, 44);
  attention_params pc;
  pc.scale = 1.0f / std::sqrt(128.0f);
  pc.mask = attention_mask::chunk_causal(std::vector<index_t>{40, 30, 20});
  const auto flash = run_device<bf16, float>(pb, pc, true);
  const auto comp = run_device<bf16, float>(pb, pc, false);
  EXPECT_LE(rel_err(comp, pb.ref(pc)), 1e-5);
  EXPECT_LE(rel_err(flash, pb.ref(pc)), 1e-2);
}

TEST(AttentionCuda, LinearAttentionBodies) {
  SKIP_WITHOUT_DEVICE();
  const linear_attention_shape s{2, 45, 3, 32, 16, 9};
  const auto nk = static_cast<std::size_t>(s.batch * s.tokens * s.heads * s.key_dim);
  const auto nv = static_cast<std::size_t>(s.batch * s.tokens * s.heads * s.value_dim);
  const auto q = random_vector<float>(nk, -1, 1, 1), k = random_vector<float>(nk, -1, 1, 2),
             v = random_vector<float>(nv, -1, 1, 3), qr = random_vector<float>(nk, -1, 1, 4),
             kr = random_vector<float>(nk, -1, 1, 5);
  dev<float> dq(q), dk(k), dv(v), dqr(qr), dkr(kr), dout(std::vector<float>(nv, NAN));
  dev<float> dkvs(std::vector<float>(static_cast<std::size_t>(s.batch * s.heads * s.value_dim * s.key_dim)));
  dev<float> dz(std::vector<float>(static_cast<std::size_t>(s.batch * s.heads * s.key_dim)));
  dev<float> ws(std::vector<float>(static_cast<std::size_t>(linear_attention_workspace(s))));
  auto hv = [&](const float* p, index_t d) { return contiguous_heads<const float>(p, s.tokens, s.heads, d); };
  linear_attention_run<cuda_t, float, float>(
      cuda_t{}, s, {}, hv(dq.buf.data(), s.key_dim), hv(dk.buf.data(), s.key_dim), hv(dv.buf.data(), s.value_dim),
      hv(dqr.buf.data(), s.key_dim), hv(dkr.buf.data(), s.key_dim),
      contiguous_heads<float>(dout.buf.data(), s.tokens, s.heads, s.value_dim), {}, {dkvs.buf.data(), dz.buf.data()},
      ws.buf.data());
  synchronize(cuda_t{});
  std::vector<double> ref(nv);
  linear_attention_ref<float>(s, {}, hv(q.data(), s.key_dim), hv(k.data(), s.key_dim), hv(v.data(), s.value_dim),
                              hv(qr.data(), s.key_dim), hv(kr.data(), s.key_dim), {}, ref.data());
  EXPECT_LE(rel_err(dout.get(), ref), 1e-5);
}

}  // namespace
}  // namespace sanawm::test

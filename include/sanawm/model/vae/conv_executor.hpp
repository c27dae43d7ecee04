// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/conv_executor.hpp — running the LTX-2 VAE's 3x3x3 convs on another backend (a GPU). The convs
// carry nearly all of the VAE's FLOPs; the streaming decoder's bookkeeping (conv histories, skip queues), the
// per-channel RMSNorm + SiLU, the residual adds and the depth-to-space shuffles are memory-bound and stay on the host.
// A decoder_stream / tiled_decoder_stream / decode / encode given an executor hands every conv's host input to it and
// takes the host output back: backend_conv_executor<cuda_t> uploads the activations, runs conv3d as im2col + cuBLASLt
// (kernels/conv/conv_gemm.hpp) on device-resident weights, and downloads the result. backend_conv_executor<cpu_t>
// runs the same steps on the host (how the GPU path is checked without one). Portable (g++ and nvcc); instantiate
// after the backend's gemm, parallel_for and backend_memory headers.
#pragma once

#include <mutex>          // std::mutex
#include <type_traits>    // std::is_same_v, std::remove_const_t
#include <unordered_map>  // std::unordered_map

#include "sanawm/backend/memory.hpp"          // backend_memory
#include "sanawm/backend/tags.hpp"            // backend
#include "sanawm/core/bf16.hpp"               // bf16
#include "sanawm/kernels/conv/conv_gemm.hpp"  // conv3d_via_gemm
#include "sanawm/kernels/elementwise/elementwise.hpp"  // activate_portable (the bf16 rounding)
#include "sanawm/model/vae/modules.hpp"       // conv_weights

namespace sanawm::vae {

/// Where the VAE's convs run when not in the CPU's implicit GEMM.
class conv_executor {
 public:
  virtual ~conv_executor() = default;
  /// y [t_out, h, w, wt.cout] = the stride-1 conv3d of x [t, h, w, wt.cin] with wt's weights and bias, padding `pad`,
  /// and an optional left context [left_t, h, w, cin] (causal modes; nullptr = the padding rule). Host memory,
  /// channels-last, contiguous. bf16 weights (conv_weights::to_bf16) multiply bf16-rounded activations.
  virtual void conv(const conv_weights& wt, const float* x, index_t t, index_t h, index_t w, const float* left,
                    index_t left_t, conv3d_padding pad, float* y, index_t t_out) = 0;
};


/// conv_executor on backend Be. Each conv's weights are copied to the backend on its first call and kept there
/// (keyed by the conv_weights object: the executor must not outlive the weights, and weights changed after a call
/// need a new executor). Activation buffers grow to the largest call and are reused. One call at a time.
template <backend Be>
class backend_conv_executor final : public conv_executor {
  using mem = backend_memory<Be>;
  template <class T>
  using buffer = typename mem::template buffer<T>;

 public:
  explicit backend_conv_executor(Be be = {}) : be_(be) {}

  void conv(const conv_weights& wt, const float* x, index_t t, index_t h, index_t w, const float* left,
            index_t left_t, conv3d_padding pad, float* y, index_t t_out) override {
    const std::lock_guard<std::mutex> lock(mu_);
    const index_t cin = wt.cin, cout = wt.cout, K = wt.kt * wt.kh * wt.kw * cin;
    const entry& e = weights_of(wt);
    const index_t nx = t * h * w * cin, nl = left ? left_t * h * w * cin : 0, ny = t_out * h * w * cout;
    grow(x_, nx + nl);
    grow(y_, ny);
    mem::to_backend(be_, x_.data(), x, nx);
    if (nl) mem::to_backend(be_, x_.data() + nx, left, nl);
    // The weight as conv3d's [Cout, Cin, kt, kh, kw] view over the channels-last taps ([Cout, K], the GEMM's layout).
    const index_t ws[5] = {K, 1, wt.kh * wt.kw * cin, wt.kw * cin, cin};
    using map5 = layout_stride::mapping<dextents<5>>;
    const dextents<5> wext(cout, cin, wt.kt, wt.kh, wt.kw);
    const auto bias = tensor_view<const float, dextents<1>>(e.bias.data(), dextents<1>(cout));
    const auto yv = tensor_view<float, dextents<5>>(y_.data(), dextents<5>(1, t_out, h, w, cout));
    auto run = [&](const auto* xs) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(xs)>>;
      const auto xv = tensor_view<const T, dextents<5>>(xs, dextents<5>(1, t, h, w, cin));
      const auto lv = tensor_view<const T, dextents<5>>(left ? xs + nx : nullptr,
                                                        dextents<5>(left ? 1 : 0, left ? left_t : 0, h, w, cin));
      bool ran;
      if constexpr (std::is_same_v<T, bf16>)
        ran = conv3d_via_gemm(be_, xv, tensor_view<const bf16, dextents<5>, layout_stride>(e.w16.data(), map5(wext, ws)),
                              bias, yv, pad, lv);
      else
        ran = conv3d_via_gemm(be_, xv, tensor_view<const float, dextents<5>, layout_stride>(e.w32.data(), map5(wext, ws)),
                              bias, yv, pad, lv);
      if (!ran) throw make_error("vae", wt.key, ": the conv executor needs contiguous activations");
    };
    if (wt.is_bf16()) {  // bf16 weights: bf16 activations too, the CPU conv's bf16 compute mode
      grow16(nx + nl);
      activate_portable(be_, activation::identity, make_view(static_cast<const float*>(x_.data()), dextents<2>(1, nx + nl)),
                        make_view(x16_.data(), dextents<2>(1, nx + nl)));
      run(static_cast<const bf16*>(x16_.data()));
    } else {
      run(static_cast<const float*>(x_.data()));
    }
    mem::to_host(be_, y, y_.data(), ny);
  }

  /// Bytes of weights held on the backend.
  std::size_t weight_bytes() const noexcept { return weight_bytes_; }

 private:
  struct entry {
    buffer<float> w32;
    buffer<bf16> w16;
    buffer<float> bias;
  };
  const entry& weights_of(const conv_weights& wt) {
    auto it = cache_.find(&wt);
    if (it != cache_.end()) return it->second;
    entry e;
    if (wt.is_bf16()) {
      e.w16 = mem::template make<bf16>(be_, wt.taps16.size());
      mem::to_backend(be_, e.w16.data(), wt.taps16.data(), wt.taps16.size());
      weight_bytes_ += static_cast<std::size_t>(wt.taps16.size()) * sizeof(bf16);
    } else {
      e.w32 = mem::template make<float>(be_, wt.taps.size());
      mem::to_backend(be_, e.w32.data(), wt.taps.data(), wt.taps.size());
      weight_bytes_ += static_cast<std::size_t>(wt.taps.size()) * sizeof(float);
    }
    e.bias = mem::template make<float>(be_, wt.bias.size());
    mem::to_backend(be_, e.bias.data(), wt.bias.data(), wt.bias.size());
    return cache_.emplace(&wt, std::move(e)).first->second;
  }
  void grow(buffer<float>& b, index_t n) {
    if (b.size() < n) b = mem::template make<float>(be_, n);
  }
  void grow16(index_t n) {
    if (x16_.size() < n) x16_ = mem::template make<bf16>(be_, n);
  }

  Be be_;
  std::mutex mu_;
  std::unordered_map<const conv_weights*, entry> cache_;
  buffer<float> x_, y_;
  buffer<bf16> x16_;
  std::size_t weight_bytes_ = 0;
};

}  // namespace sanawm::vae

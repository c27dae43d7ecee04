// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/linear_attention/linear_attention_cpu.hpp — ReLU linear attention on the CPU thread pool: the
// portable bodies of linear_attention.hpp with a host workspace (inner loops run along contiguous head dims).
#pragma once

#include <type_traits>  // std::remove_const_t

#include "sanawm/backend/cpu/parallel.hpp"                       // parallel_for(cpu_t)
#include "sanawm/core/buffer.hpp"                                // host_buffer
#include "sanawm/kernels/linear_attention/linear_attention.hpp"  // linear_attention_run

namespace sanawm {

/// ReLU linear attention on the CPU (see linear_attention_run for the math and the state convention). Pass
/// heads_view<const T>{} for q_rot/k_rot without RoPE, and a default linear_attention_const_state for a zero
/// incoming state.
template <class Tq, class O>
void linear_attention(cpu_t be, const linear_attention_shape& s, const linear_attention_params& p, heads_view<Tq> q,
                      heads_view<Tq> k, heads_view<Tq> v, heads_view<Tq> q_rot, heads_view<Tq> k_rot,
                      heads_view<O> out, linear_attention_const_state in, linear_attention_state st) {
  using T = std::remove_const_t<Tq>;
  host_buffer<float> ws(linear_attention_workspace(s));
  linear_attention_run<cpu_t, T, O>(be, s, p, q, k, v, q_rot, k_rot, out, in, st, ws.data());
}

}  // namespace sanawm

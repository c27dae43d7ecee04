// SPDX-License-Identifier: Apache-2.0
// sanawm/core/concepts.hpp — the contracts kernels and views are checked against.
#pragma once

#include <concepts>     // std::invocable
#include <type_traits>  // std::is_trivially_copyable_v

#include "sanawm/core/int.hpp"  // index_t

namespace sanawm {

/// A kernel body: the math of one work item as a trivially copyable functor `body(i)`, i in [0, n).
/// Bodies hold views, never containers, because the CUDA backend copies them to the device by value.
template <class B>
concept kernel_body = std::is_trivially_copyable_v<B> && std::invocable<const B&, index_t>;

/// A 2-D body `body(i, j)` for parallel_for_2d.
template <class B>
concept kernel_body_2d = std::is_trivially_copyable_v<B> && std::invocable<const B&, index_t, index_t>;

}  // namespace sanawm

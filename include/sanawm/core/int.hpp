// SPDX-License-Identifier: Apache-2.0
// sanawm/core/int.hpp — the index type, the `dyn` marker and static integer constants.
#pragma once

#include <cstdint>      // std::int64_t
#include <type_traits>  // std::integral_constant

namespace sanawm {

/// Every extent, stride and offset in sanawm is a signed 64-bit integer (tokens × channels overflow int32).
using index_t = std::int64_t;

/// Marks an axis whose size is only known at run time, as in `extents<dyn, 20, 112>`.
inline constexpr index_t dyn = -1;

/// A compile-time integer: the result type of dispatch menus, usable as a template argument via `C<N>::value`.
template <index_t N>
using C = std::integral_constant<index_t, N>;

template <class T>
inline constexpr bool is_static_int_v = false;
template <class T, T N>
inline constexpr bool is_static_int_v<std::integral_constant<T, N>> = true;

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/core/shape.hpp — extents<E...>: per-axis static (a number) or dynamic (`dyn`) sizes.
#pragma once

#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <type_traits>  // std::bool_constant
#include <utility>      // std::index_sequence

#include "sanawm/config.hpp"    // SANAWM_HD
#include "sanawm/core/int.hpp"  // index_t, dyn

namespace sanawm {

namespace detail {

// Storage for the dynamic axes only; the all-static case is an empty type.
template <std::size_t NDyn>
struct dyn_storage {
  index_t v[NDyn];
};
template <>
struct dyn_storage<0> {};

// A plain array of axis indices (std::array's members are not device functions).
template <std::size_t R>
struct axis_table {
  std::size_t v[R == 0 ? 1 : R];
};

}  // namespace detail

/// The shape of a tensor, outermost axis first: `extents<dyn, dyn, 20, 112>` is [B, N, heads=20, D=112].
/// Static axes are part of the type and cost no storage: sizeof(extents<dyn, 64>) == sizeof(index_t) and
/// extents<4, 4> is empty. Trivially copyable, usable in device code.
template <index_t... Es>
class extents : private detail::dyn_storage<((Es == dyn ? 1 : 0) + ... + 0)> {
  // Dynamic sizes live in the (empty when all-static) base, so static extents cost nothing (EBO).
  using storage = detail::dyn_storage<((Es == dyn ? 1 : 0) + ... + 0)>;

  static_assert(((Es == dyn || Es >= 0) && ...), "sanawm: an extent is a non-negative size or `dyn`");

 public:
  SANAWM_HD static constexpr std::size_t rank() noexcept { return sizeof...(Es); }
  SANAWM_HD static constexpr std::size_t rank_dynamic() noexcept { return ((Es == dyn ? 1 : 0) + ... + 0); }
  /// The static size of axis i, or `dyn`.
  SANAWM_HD static constexpr index_t static_extent(std::size_t i) noexcept {
    constexpr index_t sv[] = {Es..., 0};
    return sv[i];
  }
  SANAWM_HD static constexpr bool is_static() noexcept { return rank_dynamic() == 0; }
  /// Product of all extents when every axis is static, else `dyn`.
  SANAWM_HD static constexpr index_t static_size() noexcept {
    if constexpr (rank_dynamic() != 0) return dyn;
    else return (index_t{1} * ... * Es);
  }

  SANAWM_HD constexpr extents() noexcept : storage{} {}

  /// From the dynamic sizes only (in axis order): `extents<dyn, 20, dyn>(B, D)`.
  template <std::convertible_to<index_t>... Ds>
    requires(sizeof...(Ds) == rank_dynamic() && rank_dynamic() > 0)
  SANAWM_HD constexpr explicit extents(Ds... ds) noexcept : storage{{static_cast<index_t>(ds)...}} {}

  /// From all sizes; the static ones must agree (checked by `from_all`, which callers use on untrusted input).
  template <std::convertible_to<index_t>... Ds>
    requires(sizeof...(Ds) == rank() && rank() != rank_dynamic())
  SANAWM_HD constexpr explicit extents(Ds... ds) noexcept : storage{} {
    const index_t all[] = {static_cast<index_t>(ds)...};
    if constexpr (rank_dynamic() > 0) {
      std::size_t k = 0;
      for (std::size_t i = 0; i < rank(); ++i)
        if (static_extent(i) == dyn) this->v[k++] = all[i];
    }
  }

  /// Conversion from another extents of the same rank whose static axes are compatible
  /// (static → dynamic always works; dynamic → static trusts the caller, like std::extents' explicit case).
  template <index_t... Os>
    requires(sizeof...(Os) == sizeof...(Es) && ((Es == dyn || Os == dyn || Es == Os) && ...))
  SANAWM_HD constexpr explicit((((Es != dyn) && (Os == dyn)) || ...)) extents(const extents<Os...>& o) noexcept
      : storage{} {
    if constexpr (rank_dynamic() > 0) {
      std::size_t k = 0;
      for (std::size_t i = 0; i < rank(); ++i)
        if (static_extent(i) == dyn) this->v[k++] = o.extent(i);
    }
  }

  /// The size of axis i (static or dynamic).
  SANAWM_HD constexpr index_t extent(std::size_t i) const noexcept {
    constexpr index_t sv[] = {Es..., 0};  // local constant arrays are usable in device code
    if constexpr (rank_dynamic() == 0) {
      return sv[i];
    } else {
      constexpr detail::axis_table<sizeof...(Es)> di = make_dyn_index();
      return sv[i] != dyn ? sv[i] : this->v[di.v[i]];
    }
  }

  /// Number of elements.
  SANAWM_HD constexpr index_t size() const noexcept {
    if constexpr (rank_dynamic() == 0) {
      return static_size();
    } else {
      index_t n = 1;
      for (std::size_t i = 0; i < rank(); ++i) n *= extent(i);
      return n;
    }
  }

  template <index_t... Os>
  SANAWM_HD friend constexpr bool operator==(const extents& a, const extents<Os...>& b) noexcept {
    if constexpr (sizeof...(Os) != sizeof...(Es)) {
      return false;
    } else {
      for (std::size_t i = 0; i < rank(); ++i)
        if (a.extent(i) != b.extent(i)) return false;
      return true;
    }
  }

 private:
  // Position of each dynamic axis inside the storage (unused entries are 0).
  SANAWM_HD static constexpr detail::axis_table<sizeof...(Es)> make_dyn_index() noexcept {
    detail::axis_table<sizeof...(Es)> idx{};
    std::size_t k = 0;
    for (std::size_t i = 0; i < sizeof...(Es); ++i) idx.v[i] = (static_extent(i) == dyn) ? k++ : 0;
    return idx;
  }
};

/// `dextents<3>` = extents<dyn, dyn, dyn>.
namespace detail {
template <std::size_t R, class Seq = std::make_index_sequence<R>>
struct dextents_impl;
template <std::size_t R, std::size_t... I>
struct dextents_impl<R, std::index_sequence<I...>> {
  using type = extents<((void)I, dyn)...>;
};
}  // namespace detail
template <std::size_t R>
using dextents = typename detail::dextents_impl<R>::type;

template <class T>
inline constexpr bool is_extents_v = false;
template <index_t... Es>
inline constexpr bool is_extents_v<extents<Es...>> = true;

/// Any `extents<...>` type.
template <class T>
concept extents_like = is_extents_v<T>;

}  // namespace sanawm

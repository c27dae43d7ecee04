// SPDX-License-Identifier: Apache-2.0
// sanawm/core/dispatch.hpp — dispatch menus: a runtime value becomes a compile-time constant, or a clear error.
#pragma once

#include <string>       // std::string (error text)
#include <string_view>  // std::string_view
#include <type_traits>  // std::integral_constant, std::type_identity
#include <utility>      // std::forward

#include "sanawm/core/error.hpp"  // make_error, str_cat
#include "sanawm/core/int.hpp"    // index_t, C

namespace sanawm {

namespace detail {
template <index_t... Ns>
std::string menu_text() {
  std::string s = "{";
  bool first = true;
  ((s += str_cat(first ? "" : ", ", Ns), first = false), ...);
  return s + "}";
}

template <index_t... Menu>
[[noreturn]] void throw_off_menu(index_t value, std::string_view op, std::string_view what) {
  throw make_error(op, what, " ", value, " is not on the dispatch menu ", menu_text<Menu...>(),
                   "; add it to the menu at the call site");
}

template <class Menu, index_t N0, index_t... Ns, class F>
decltype(auto) dispatch_int_impl(index_t value, std::string_view op, std::string_view what, F& f) {
  if (value == N0) return f(C<N0>{});
  if constexpr (sizeof...(Ns) > 0) return dispatch_int_impl<Menu, Ns...>(value, op, what, f);
  else Menu::fail(value, op, what);
}

template <index_t... Ns>
struct menu {
  [[noreturn]] static void fail(index_t value, std::string_view op, std::string_view what) {
    throw_off_menu<Ns...>(value, op, what);
  }
};
}  // namespace detail

/// Calls f(C<N>{}) for the N in the menu equal to `value`; otherwise throws
/// "[op] <what> <value> is not on the dispatch menu {N...}; add it to the menu at the call site".
/// Every instantiation must return the same type. Keep menus short: each entry is compiled.
///   dispatch_int<112, 128>(head_dim, "attention", "head dim", [&](auto D) { run<D()>(...); });
template <index_t... Ns, class F>
decltype(auto) dispatch_int(index_t value, std::string_view op, std::string_view what, F&& f) {
  static_assert(sizeof...(Ns) > 0, "sanawm: dispatch_int needs at least one menu entry");
  return detail::dispatch_int_impl<detail::menu<Ns...>, Ns...>(value, op, what, f);
}

/// Calls f(std::true_type{}) or f(std::false_type{}).
template <class F>
decltype(auto) dispatch_bool(bool value, F&& f) {
  if (value) return f(std::true_type{});
  return f(std::false_type{});
}

/// Calls f(std::type_identity<T>{}) for the position `index` in the type list Ts...; off the list → error.
template <class... Ts, class F>
void dispatch_type(index_t index, std::string_view op, std::string_view what, F&& f) {
  index_t k = 0;
  const bool hit = ((index == k++ ? (f(std::type_identity<Ts>{}), true) : false) || ...);
  if (!hit) throw make_error(op, what, " index ", index, " is not one of the ", sizeof...(Ts), " instantiated types");
}

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// sanawm/core/tensor.hpp — tensor_view<T, Extents, Layout> (non-owning, kernel-argument safe) and the owning
// host tensor<T, Extents>.
#pragma once

#include <cstddef>      // std::size_t
#include <type_traits>  // std::remove_const_t, std::is_trivially_copyable_v
#include <utility>      // std::index_sequence

#include "sanawm/config.hpp"       // SANAWM_HD
#include "sanawm/core/buffer.hpp"  // host_buffer
#include "sanawm/core/error.hpp"   // make_error
#include "sanawm/core/int.hpp"     // index_t, dyn
#include "sanawm/core/layout.hpp"  // layout_right, layout_stride
#include "sanawm/core/shape.hpp"   // extents

namespace sanawm {

namespace detail {

/// A view's data pointer and index mapping. An empty mapping (row-major, all axes static) is a private base,
/// so it costs nothing through the empty-base optimisation — which host and device compilers lay out alike,
/// unlike [[no_unique_address]] under nvcc 13.0 (see layout_right). Standard-layout either way.
template <class T, class M, bool Empty = std::is_empty_v<M>>
struct pointer_and_mapping {
  T* ptr = nullptr;
  M m{};
  SANAWM_HD constexpr pointer_and_mapping() noexcept = default;
  SANAWM_HD constexpr pointer_and_mapping(T* p, const M& mp) noexcept : ptr(p), m(mp) {}
  SANAWM_HD constexpr const M& map() const noexcept { return m; }
};
template <class T, class M>
struct pointer_and_mapping<T, M, true> : private M {
  T* ptr = nullptr;
  SANAWM_HD constexpr pointer_and_mapping() noexcept = default;
  SANAWM_HD constexpr pointer_and_mapping(T* p, const M& mp) noexcept : M(mp), ptr(p) {}
  SANAWM_HD constexpr const M& map() const noexcept { return *this; }
};

// extents<E0, Es...> → extents<Es...>, keeping the values of the dynamic axes.
template <class E>
struct drop_leading;
template <index_t E0, index_t... Es>
struct drop_leading<extents<E0, Es...>> {
  using type = extents<Es...>;
  template <std::size_t... I>
  SANAWM_HD static constexpr type make(const extents<E0, Es...>& e, std::index_sequence<I...>) noexcept {
    if constexpr (sizeof...(Es) == type::rank_dynamic()) {
      if constexpr (type::rank_dynamic() == 0) return type{};
      else return type(e.extent(I + 1)...);
    } else {
      return type(e.extent(I + 1)...);
    }
  }
  SANAWM_HD static constexpr type apply(const extents<E0, Es...>& e) noexcept {
    return make(e, std::make_index_sequence<sizeof...(Es)>{});
  }
};

// extents<E0, Es...> → extents<dyn, Es...> with a new leading size.
template <class E>
struct resize_leading;
template <index_t E0, index_t... Es>
struct resize_leading<extents<E0, Es...>> {
  using type = extents<dyn, Es...>;
  template <std::size_t... I>
  SANAWM_HD static constexpr type make(index_t n0, const extents<E0, Es...>& e, std::index_sequence<I...>) noexcept {
    return type(n0, e.extent(I + 1)...);
  }
  SANAWM_HD static constexpr type apply(index_t n0, const extents<E0, Es...>& e) noexcept {
    return make(n0, e, std::make_index_sequence<sizeof...(Es)>{});
  }
};

template <class Layout, class Extents>
using mapping_t = typename Layout::template mapping<Extents>;

}  // namespace detail

/// A non-owning view of a multi-dimensional array: a pointer plus an index mapping.
/// Trivially copyable and standard-layout, so it can be passed by value to CUDA kernels. Static axes and
/// the row-major layout cost nothing: sizeof(tensor_view<float, extents<4, 4>>) == sizeof(float*).
template <class T, extents_like Extents, layout_policy Layout = layout_right>
class tensor_view {
 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  using extents_type = Extents;
  using layout_type = Layout;
  using mapping_type = detail::mapping_t<Layout, Extents>;
  SANAWM_HD static constexpr std::size_t rank() noexcept { return Extents::rank(); }

  SANAWM_HD constexpr tensor_view() noexcept = default;
  SANAWM_HD constexpr tensor_view(T* data, const Extents& e) noexcept
    requires std::is_same_v<Layout, layout_right>
      : s_(data, mapping_type(e)) {}
  SANAWM_HD constexpr tensor_view(T* data, const mapping_type& m) noexcept : s_(data, m) {}

  /// Views convert to const element types, to more dynamic extents and from row-major to strided.
  template <class U, class E2, class L2>
    requires((std::is_same_v<U, T> || std::is_same_v<const U, T>) && std::is_convertible_v<E2, Extents> &&
             (std::is_same_v<L2, Layout> || std::is_same_v<Layout, layout_stride>) &&
             !(std::is_same_v<U, T> && std::is_same_v<E2, Extents> && std::is_same_v<L2, Layout>))
  SANAWM_HD constexpr tensor_view(const tensor_view<U, E2, L2>& o) noexcept
      : s_(o.data(), convert_mapping(o.mapping())) {}

  SANAWM_HD constexpr T* data() const noexcept { return s_.ptr; }
  SANAWM_HD constexpr const mapping_type& mapping() const noexcept { return s_.map(); }
  SANAWM_HD constexpr const Extents& extents() const noexcept { return s_.map().extents(); }
  SANAWM_HD constexpr index_t extent(std::size_t d) const noexcept { return s_.map().extents().extent(d); }
  SANAWM_HD constexpr index_t stride(std::size_t d) const noexcept { return s_.map().stride(d); }
  SANAWM_HD constexpr index_t size() const noexcept { return s_.map().extents().size(); }
  SANAWM_HD constexpr bool empty() const noexcept { return size() == 0; }
  SANAWM_HD constexpr bool is_contiguous() const noexcept { return s_.map().is_contiguous(); }

  /// Element access, outermost index first. No bounds checks (see `at` for checked host access).
  template <class... Is>
    requires(sizeof...(Is) == Extents::rank())
  SANAWM_HD constexpr T& operator()(Is... is) const noexcept {
    return s_.ptr[s_.map()(static_cast<index_t>(is)...)];
  }
  SANAWM_HD constexpr T& operator[](index_t i) const noexcept
    requires(Extents::rank() == 1)
  {
    return s_.ptr[s_.map()(i)];
  }

  /// Bounds-checked host access: throws sanawm::error naming the offending axis.
  template <class... Is>
    requires(sizeof...(Is) == Extents::rank())
  T& at(Is... is) const {
    const index_t idx[] = {static_cast<index_t>(is)...};
    for (std::size_t d = 0; d < rank(); ++d)
      if (idx[d] < 0 || idx[d] >= extent(d))
        throw make_error("tensor_view::at", "index ", idx[d], " out of range [0, ", extent(d), ") on axis ", d);
    return (*this)(is...);
  }

  /// The sub-tensor at index i of the leading axis (rank drops by one): x.slice(b) of [B, N, C] is [N, C].
  SANAWM_HD constexpr auto slice(index_t i) const noexcept
    requires(Extents::rank() >= 1)
  {
    using D = detail::drop_leading<Extents>;
    using sub_extents = typename D::type;
    const sub_extents se = D::apply(extents());
    if constexpr (std::is_same_v<Layout, layout_right>) {
      return tensor_view<T, sub_extents, layout_right>(s_.ptr + i * stride(0), se);
    } else {
      index_t str[sub_extents::rank() == 0 ? 1 : sub_extents::rank()] = {};
      for (std::size_t d = 1; d < rank(); ++d) str[d - 1] = stride(d);
      return tensor_view<T, sub_extents, layout_stride>(s_.ptr + i * stride(0),
                                                        detail::mapping_t<layout_stride, sub_extents>(se, str));
    }
  }

  /// Rows [begin, end) of the leading axis (rank kept; the leading axis becomes dynamic).
  SANAWM_HD constexpr auto slice(index_t begin, index_t end) const noexcept
    requires(Extents::rank() >= 1)
  {
    using R = detail::resize_leading<Extents>;
    using sub_extents = typename R::type;
    const sub_extents se = R::apply(end - begin, extents());
    if constexpr (std::is_same_v<Layout, layout_right>) {
      return tensor_view<T, sub_extents, layout_right>(s_.ptr + begin * stride(0), se);
    } else {
      index_t str[rank()] = {};
      for (std::size_t d = 0; d < rank(); ++d) str[d] = stride(d);
      return tensor_view<T, sub_extents, layout_stride>(s_.ptr + begin * stride(0),
                                                        detail::mapping_t<layout_stride, sub_extents>(se, str));
    }
  }

  /// Host-side range-checked slicing (throws on out-of-range rows).
  auto checked_slice(index_t begin, index_t end) const {
    if (begin < 0 || end < begin || end > extent(0))
      throw make_error("tensor_view::slice", "rows [", begin, ", ", end, ") out of range [0, ", extent(0), ")");
    return slice(begin, end);
  }

 private:
  template <class M>
  SANAWM_HD static constexpr mapping_type convert_mapping(const M& m) noexcept {
    if constexpr (std::is_same_v<Layout, layout_right>) return mapping_type(Extents(m.extents()));
    else if constexpr (std::is_same_v<typename M::layout_type, layout_right>)
      return mapping_type(detail::mapping_t<layout_right, Extents>(Extents(m.extents())));
    else {
      index_t str[rank() == 0 ? 1 : rank()] = {};
      for (std::size_t d = 0; d < rank(); ++d) str[d] = m.stride(d);
      return mapping_type(Extents(m.extents()), str);
    }
  }

  detail::pointer_and_mapping<T, mapping_type> s_{};
};

template <class T, index_t... Es>
tensor_view(T*, const extents<Es...>&) -> tensor_view<T, extents<Es...>>;

/// A row-major view over `data` with the given extents: `make_view(p, extents<dyn, 112>(n))`.
template <class T, extents_like E>
SANAWM_HD constexpr tensor_view<T, E> make_view(T* data, const E& e) noexcept {
  return tensor_view<T, E>(data, e);
}

/// An owning, 64-byte aligned, row-major host tensor. Elements start uninitialised; use fill().
template <class T, extents_like Extents>
class tensor {
 public:
  using view_type = tensor_view<T, Extents>;
  using const_view_type = tensor_view<const T, Extents>;

  /// All-static extents allocate their full size; otherwise an empty tensor (every dynamic extent 0).
  tensor() : buf_(Extents::is_static() ? Extents::static_size() : 0) {}
  explicit tensor(const Extents& e) : ext_(checked(e)), buf_(e.size()) {}
  /// From the dynamic sizes only: tensor<float, extents<dyn, 112>> t(n).
  template <std::convertible_to<index_t>... Ds>
    requires(sizeof...(Ds) == Extents::rank_dynamic() && sizeof...(Ds) > 0)
  explicit tensor(Ds... ds) : tensor(checked(Extents(static_cast<index_t>(ds)...))) {}

  view_type view() noexcept { return view_type(buf_.data(), ext_); }
  const_view_type view() const noexcept { return const_view_type(buf_.data(), ext_); }
  operator view_type() noexcept { return view(); }
  operator const_view_type() const noexcept { return view(); }

  T* data() noexcept { return buf_.data(); }
  const T* data() const noexcept { return buf_.data(); }
  const Extents& extents() const noexcept { return ext_; }
  index_t extent(std::size_t d) const noexcept { return ext_.extent(d); }
  index_t size() const noexcept { return ext_.size(); }
  T* begin() noexcept { return buf_.begin(); }
  T* end() noexcept { return buf_.end(); }
  const T* begin() const noexcept { return buf_.begin(); }
  const T* end() const noexcept { return buf_.end(); }

  template <class... Is>
    requires(sizeof...(Is) == Extents::rank())
  T& operator()(Is... is) noexcept {
    return view()(is...);
  }
  template <class... Is>
    requires(sizeof...(Is) == Extents::rank())
  const T& operator()(Is... is) const noexcept {
    return view()(is...);
  }

  /// Sets every element to v (tests poison outputs with NaN this way before a kernel writes them).
  void fill(const T& v) noexcept {
    for (T& x : buf_) x = v;
  }

 private:
  static const Extents& checked(const Extents& e) {
    for (std::size_t d = 0; d < Extents::rank(); ++d)
      if (e.extent(d) < 0) throw make_error("tensor", "negative extent ", e.extent(d), " on axis ", d);
    return e;
  }
  Extents ext_{};
  host_buffer<T> buf_;
};

}  // namespace sanawm

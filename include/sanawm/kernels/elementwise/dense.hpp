// SPDX-License-Identifier: Apache-2.0
// sanawm/kernels/elementwise/dense.hpp — vocabulary shared by the dense kernels (norms, RoPE, convolutions,
// activations): the element types they accept, strided views, fp32 load/store, shape checks, frame chunks.
#pragma once

#include <cstddef>      // std::size_t
#include <string>       // std::string (messages)
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_same_v, std::remove_const_t

#include "sanawm/config.hpp"       // SANAWM_HD, SANAWM_FORCEINLINE
#include "sanawm/core/bf16.hpp"    // bf16
#include "sanawm/core/error.hpp"   // make_error
#include "sanawm/core/int.hpp"     // index_t, dyn
#include "sanawm/core/layout.hpp"  // layout_stride
#include "sanawm/core/shape.hpp"   // dextents
#include "sanawm/core/tensor.hpp"  // tensor_view

namespace sanawm {

/// Element types the dense kernels read and write. Math is always fp32 (bf16 is widened on load and rounded
/// to nearest even once on store), so bf16 in/out costs precision only at the two ends.
template <class T>
concept dense_element = std::is_same_v < std::remove_const_t<T>,
float > || std::is_same_v<std::remove_const_t<T>, bf16>;

/// The view type every dense kernel works on internally: rank R, any strides. Entry points accept any
/// tensor_view of the right rank and convert (row-major views convert implicitly); the innermost axis must be
/// contiguous (checked), outer axes may be strided (e.g. the q third of a fused qkv projection).
template <class T, std::size_t R>
using strided_view = tensor_view<T, dextents<R>, layout_stride>;

namespace detail {
template <class V>
inline constexpr bool is_tensor_view_v = false;
template <class T, class E, class L>
inline constexpr bool is_tensor_view_v<tensor_view<T, E, L>> = true;
}  // namespace detail

/// A tensor_view of rank R over float or bf16 (const or not): an input of a dense kernel.
template <class V, std::size_t R>
concept dense_view =
    detail::is_tensor_view_v<V> &&(V::rank() == R) && dense_element<typename V::element_type>;

/// A writable tensor_view of rank R over float or bf16: an output of a dense kernel.
template <class V, std::size_t R>
concept dense_out_view = dense_view<V, R> && !std::is_const_v<typename V::element_type>;

/// A tensor_view of rank R over const or non-const float (weights, biases and modulation terms are fp32).
template <class V, std::size_t R>
concept f32_view = detail::is_tensor_view_v<V> &&(V::rank() == R) &&
                   std::is_same_v<std::remove_const_t<typename V::element_type>, float>;

/// The strided read-only view of any input view.
template <class V>
strided_view<const typename V::value_type, V::rank()> as_input(const V& v) noexcept {
  return strided_view<const typename V::value_type, V::rank()>(v);
}
/// The strided writable view of any output view.
template <class V>
strided_view<typename V::value_type, V::rank()> as_output(const V& v) noexcept {
  return strided_view<typename V::value_type, V::rank()>(v);
}

namespace detail {

/// Widens one element to fp32 (exact for both types).
SANAWM_HD SANAWM_FORCEINLINE float dense_load(float x) noexcept {
  return x;
}
SANAWM_HD SANAWM_FORCEINLINE float dense_load(bf16 x) noexcept {
  return x.to_float();
}

/// Narrows an fp32 result to T (bf16: round to nearest even).
template <class T>
SANAWM_HD SANAWM_FORCEINLINE T dense_store(float v) noexcept {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else
    return bf16(v);
}

/// Throws unless axis R−1 of `v` is contiguous (a size-1 innermost axis counts as contiguous).
template <class V>
void expect_inner_contiguous(std::string_view op, std::string_view name, const V& v) {
  constexpr std::size_t r = V::rank() - 1;
  if (v.extent(r) > 1 && v.stride(r) != 1)
    throw make_error(op, name, ": the innermost axis must be contiguous (stride 1), got stride ",
                     v.stride(r));
}

/// Throws unless axis `axis` of `v` has `expected` elements.
template <class V>
void expect_extent(std::string_view op, std::string_view name, const V& v, std::size_t axis, index_t expected,
                   std::string_view axis_name) {
  if (v.extent(axis) != expected)
    throw make_error(op, name, ": ", axis_name, " (axis ", axis, ") is ", v.extent(axis), ", expected ",
                     expected);
}

/// The extents of a view as "[a, b, c]" for messages.
template <class V>
std::string shape_text(const V& v) {
  std::string s = "[";
  for (std::size_t d = 0; d < V::rank(); ++d) s += str_cat(d ? ", " : "", v.extent(d));
  return s + "]";
}

/// Throws unless `a` and `b` have the same extents.
template <class A, class B>
void expect_same_shape(std::string_view op, std::string_view a_name, const A& a, std::string_view b_name,
                       const B& b) {
  bool same = A::rank() == B::rank();
  for (std::size_t d = 0; same && d < A::rank(); ++d) same = a.extent(d) == b.extent(d);
  if (!same)
    throw make_error(op, a_name, " ", shape_text(a), " and ", b_name, " ", shape_text(b),
                     " must have the same shape");
}

}  // namespace detail

/// How latent frames are grouped into chunks in the chunk-causal modes (upstream
/// `chunk_index_from_chunk_size` with "first_chunk_plus_one"): frames [0, first), then chunks of `size`
/// frames; a last chunk shorter than `size` is merged into the chunk before it (which may be the first).
/// `first <= 0`, `size <= 0` or frames <= first means one chunk over all frames, i.e. the bidirectional
/// model. Examples with {4, 3}: T = 5 → [0, 5); T = 7 → [0, 4) [4, 7); T = 9 → [0, 4) [4, 9); T = 10 → [0, 4)
/// [4, 7) [7, 10). Trivially copyable, so kernel bodies carry it by value.
struct frame_chunks {
  index_t first = 0;
  index_t size = 0;

  /// SANA-WM's chunk-causal split: a first chunk of 4 latent frames, then chunks of 3.
  SANAWM_HD static constexpr frame_chunks sana_wm() noexcept { return {4, 3}; }
  /// One chunk over all frames (bidirectional).
  SANAWM_HD static constexpr frame_chunks single() noexcept { return {0, 0}; }

  /// The exclusive end of the chunk that holds frame t (0 <= t < frames).
  SANAWM_HD constexpr index_t chunk_end(index_t t, index_t frames) const noexcept {
    if (first <= 0 || size <= 0 || frames <= first) return frames;
    const index_t full =
        (frames - first) / size;   // chunks after the first; the remainder merges into the last
    if (full == 0) return frames;  // a short tail merges into the first chunk
    if (t < first) return first;
    const index_t k = (t - first) / size;
    return k >= full - 1 ? frames : first + (k + 1) * size;
  }
  /// The first frame of the chunk that holds frame t.
  SANAWM_HD constexpr index_t chunk_begin(index_t t, index_t frames) const noexcept {
    if (first <= 0 || size <= 0 || frames <= first) return 0;
    const index_t full = (frames - first) / size;
    if (full == 0 || t < first) return 0;
    const index_t k = (t - first) / size;
    return first + (k >= full - 1 ? full - 1 : k) * size;
  }
};

}  // namespace sanawm

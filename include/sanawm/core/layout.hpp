// SPDX-License-Identifier: Apache-2.0
// sanawm/core/layout.hpp — index mappings: row-major (layout_right) and strided (layout_stride).
#pragma once

#include <cstddef>      // std::size_t
#include <type_traits>  // std::is_same_v

#include "sanawm/config.hpp"      // SANAWM_HD
#include "sanawm/core/int.hpp"    // index_t
#include "sanawm/core/shape.hpp"  // extents

namespace sanawm {

/// Row-major (C order) mapping: the last axis is contiguous. Stateless beyond its extents.
struct layout_right {
  // The extents are a private base, not a member: all-static extents then cost nothing (empty-base
  // optimisation) in host and device code alike. [[no_unique_address]] does not: nvcc 13.0 lays out a member
  // that follows an empty [[no_unique_address]] member at a different offset in device code than g++ does on
  // the host (a kernel body holding a static-extent view read the next view's pointer 8 bytes too far: an
  // illegal address on the H200). tests/cuda/view_layout_test.cu pins the device layout.
  template <extents_like Extents>
  class mapping : private Extents {
   public:
    using extents_type = Extents;
    using layout_type = layout_right;
    static constexpr std::size_t rank = Extents::rank();

    SANAWM_HD constexpr mapping() noexcept = default;
    SANAWM_HD constexpr explicit mapping(const Extents& e) noexcept : Extents(e) {}
    template <extents_like O>
      requires(!std::is_same_v<O, Extents> && std::is_constructible_v<Extents, O>)
    SANAWM_HD constexpr explicit mapping(const mapping<O>& o) noexcept
        : Extents(Extents(o.extents())) {}

    SANAWM_HD constexpr const Extents& extents() const noexcept { return *this; }

    /// Offset of element (i0, i1, ...), outermost index first.
    template <class... Is>
      requires(sizeof...(Is) == rank)
    SANAWM_HD constexpr index_t operator()(Is... is) const noexcept {
      const index_t idx[] = {static_cast<index_t>(is)..., 0};
      index_t off = 0;
      for (std::size_t d = 0; d < rank; ++d) off = off * extents().extent(d) + idx[d];
      return off;
    }

    SANAWM_HD constexpr index_t stride(std::size_t d) const noexcept {
      index_t s = 1;
      for (std::size_t k = d + 1; k < rank; ++k) s *= extents().extent(k);
      return s;
    }
    SANAWM_HD constexpr index_t required_span_size() const noexcept { return extents().size(); }
    SANAWM_HD static constexpr bool is_contiguous() noexcept { return true; }
  };
};

/// Arbitrary (non-negative) strides per axis, in elements. Produced by slicing and transposition.
struct layout_stride {
  template <extents_like Extents>
  class mapping {
   public:
    using extents_type = Extents;
    using layout_type = layout_stride;
    static constexpr std::size_t rank = Extents::rank();

    SANAWM_HD constexpr mapping() noexcept = default;
    /// strides[d] is the distance in elements between consecutive indices on axis d.
    SANAWM_HD constexpr mapping(const Extents& e, const index_t (&strides)[rank == 0 ? 1 : rank]) noexcept
        : ext_(e) {
      for (std::size_t d = 0; d < rank; ++d) str_[d] = strides[d];
    }
    /// Any row-major mapping is a strided mapping.
    template <extents_like O>
      requires std::is_constructible_v<Extents, O>
    SANAWM_HD constexpr mapping(const typename layout_right::template mapping<O>& o) noexcept
        : ext_(Extents(o.extents())) {
      for (std::size_t d = 0; d < rank; ++d) str_[d] = o.stride(d);
    }

    SANAWM_HD constexpr const Extents& extents() const noexcept { return ext_; }

    template <class... Is>
      requires(sizeof...(Is) == rank)
    SANAWM_HD constexpr index_t operator()(Is... is) const noexcept {
      const index_t idx[] = {static_cast<index_t>(is)..., 0};
      index_t off = 0;
      for (std::size_t d = 0; d < rank; ++d) off += idx[d] * str_[d];
      return off;
    }

    SANAWM_HD constexpr index_t stride(std::size_t d) const noexcept { return str_[d]; }
    /// One past the largest offset reachable (0 for an empty tensor).
    SANAWM_HD constexpr index_t required_span_size() const noexcept {
      index_t span = 1;
      for (std::size_t d = 0; d < rank; ++d) {
        if (ext_.extent(d) == 0) return 0;
        span += (ext_.extent(d) - 1) * str_[d];
      }
      return span;
    }
    /// True when the strides are exactly row-major for the extents.
    SANAWM_HD constexpr bool is_contiguous() const noexcept {
      index_t s = 1;
      for (std::size_t d = rank; d-- > 0;) {
        if (ext_.extent(d) != 1 && str_[d] != s) return false;
        s *= ext_.extent(d);
      }
      return true;
    }

   private:
    // A plain member (an empty all-static Extents costs 8 bytes here): see layout_right for why not
    // [[no_unique_address]]; a base would make the mapping non-standard-layout when Extents has storage.
    Extents ext_{};
    index_t str_[rank == 0 ? 1 : rank]{};
  };
};

template <class L>
concept layout_policy = std::is_same_v<L, layout_right> || std::is_same_v<L, layout_stride>;

}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// Layouts: row-major and strided mappings are bijective onto their span and agree with each other.
#include "sanawm/core/layout.hpp"

#include <gtest/gtest.h>

#include <set>
#include <type_traits>

namespace sanawm {
namespace {

static_assert(std::is_empty_v<layout_right::mapping<extents<4, 4>>>);
static_assert(sizeof(layout_right::mapping<extents<dyn, 4>>) == sizeof(index_t));
static_assert(std::is_trivially_copyable_v<layout_stride::mapping<extents<dyn, 4>>>);
static_assert(layout_right::mapping<extents<2, 3, 4>>{}(1, 2, 3) == 1 * 12 + 2 * 4 + 3);
static_assert(layout_right::mapping<extents<2, 3, 4>>{}.stride(0) == 12);

TEST(LayoutRight, BijectiveOverAllCoordinates) {
  layout_right::mapping<extents<dyn, 3, dyn>> m(extents<dyn, 3, dyn>(4, 5));
  std::set<index_t> seen;
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 3; ++j)
      for (index_t k = 0; k < 5; ++k) {
        const index_t off = m(i, j, k);
        EXPECT_EQ(off, i * m.stride(0) + j * m.stride(1) + k * m.stride(2));
        EXPECT_GE(off, 0);
        EXPECT_LT(off, m.required_span_size());
        seen.insert(off);
      }
  EXPECT_EQ(static_cast<index_t>(seen.size()), m.required_span_size());
}

TEST(LayoutStride, FromRowMajorAgrees) {
  using E = extents<dyn, 6>;
  layout_right::mapping<E> r(E(5));
  layout_stride::mapping<E> s(r);
  EXPECT_TRUE(s.is_contiguous());
  for (index_t i = 0; i < 5; ++i)
    for (index_t j = 0; j < 6; ++j) EXPECT_EQ(r(i, j), s(i, j));
  EXPECT_EQ(s.required_span_size(), 30);
}

TEST(LayoutStride, TransposedIsNotContiguousAndSpansAll) {
  using E = extents<dyn, dyn>;
  const index_t str[2] = {1, 4};  // a 4x3 column-major view
  layout_stride::mapping<E> m(E(4, 3), str);
  EXPECT_FALSE(m.is_contiguous());
  EXPECT_EQ(m.required_span_size(), 12);
  std::set<index_t> seen;
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 3; ++j) seen.insert(m(i, j));
  EXPECT_EQ(seen.size(), 12u);
}

TEST(LayoutStride, EmptyHasZeroSpan) {
  using E = extents<dyn, 3>;
  const index_t str[2] = {3, 1};
  layout_stride::mapping<E> m(E(0), str);
  EXPECT_EQ(m.required_span_size(), 0);
}

}  // namespace
}  // namespace sanawm

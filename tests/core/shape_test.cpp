// SPDX-License-Identifier: Apache-2.0
// extents: static axes cost no storage, dynamic axes are stored in order, conversions keep values.
#include "sanawm/core/shape.hpp"

#include <gtest/gtest.h>

#include <type_traits>

namespace sanawm {
namespace {

// Storage: a static axis is free; all-static extents are empty.
static_assert(sizeof(extents<dyn, 64>) == sizeof(index_t));
static_assert(sizeof(extents<dyn, 20, dyn, 112>) == 2 * sizeof(index_t));
static_assert(std::is_empty_v<extents<4, 4>>);
static_assert(std::is_trivially_copyable_v<extents<dyn, 3>>);
static_assert(std::is_standard_layout_v<extents<dyn, 3>>);
static_assert(extents<dyn, 20, 112>::rank() == 3 && extents<dyn, 20, 112>::rank_dynamic() == 1);
static_assert(extents<2, 3, 4>::static_size() == 24);
static_assert(extents<2, dyn>::static_size() == dyn);
static_assert(extents<2, 3, 4>{}.size() == 24);
static_assert(extents<dyn, 3>(5).extent(0) == 5 && extents<dyn, 3>(5).extent(1) == 3);
static_assert(extents<dyn, 3, dyn>(5, 7).extent(2) == 7);
static_assert(extents<dyn, 3, dyn>(5, 3, 7).extent(2) == 7);  // all-extents constructor
static_assert(std::is_same_v<dextents<3>, extents<dyn, dyn, dyn>>);
static_assert(extents<>::rank() == 0 && extents<>{}.size() == 1);

TEST(Extents, DynamicValuesRoundTrip) {
  extents<dyn, 20, dyn, 112> e(7, 880);
  EXPECT_EQ(e.extent(0), 7);
  EXPECT_EQ(e.extent(1), 20);
  EXPECT_EQ(e.extent(2), 880);
  EXPECT_EQ(e.extent(3), 112);
  EXPECT_EQ(e.size(), 7 * 20 * 880 * 112);
  EXPECT_EQ(e.static_extent(0), dyn);
  EXPECT_EQ(e.static_extent(3), 112);
}

TEST(Extents, ConversionStaticToDynamicKeepsValues) {
  extents<4, 5> s;
  extents<dyn, dyn> d = s;  // implicit: static → dynamic always works
  EXPECT_EQ(d.extent(0), 4);
  EXPECT_EQ(d.extent(1), 5);
  EXPECT_TRUE(d == s);
  extents<4, dyn> back(d);  // explicit: dynamic → static trusts the caller
  EXPECT_EQ(back.extent(1), 5);
  static_assert(!std::is_convertible_v<extents<dyn, dyn>, extents<4, dyn>>);
  static_assert(!std::is_constructible_v<extents<4, 5>, extents<4, 6>>);
}

TEST(Extents, EqualityComparesValuesAcrossTypes) {
  EXPECT_TRUE((extents<dyn, 3>(2) == extents<2, 3>{}));
  EXPECT_FALSE((extents<dyn, 3>(2) == extents<2, 4>{}));
  EXPECT_FALSE((extents<dyn, 3>(2) == extents<2, 3, 1>{}));
}

TEST(Extents, ZeroSizedAxis) {
  extents<dyn, 8> e(0);
  EXPECT_EQ(e.size(), 0);
}

}  // namespace
}  // namespace sanawm

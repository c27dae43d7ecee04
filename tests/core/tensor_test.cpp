// SPDX-License-Identifier: Apache-2.0
// tensor_view and tensor: zero-overhead views, element access, conversions, slicing along leading axes.
#include "sanawm/core/tensor.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace sanawm {
namespace {

// The view costs one pointer plus its dynamic extents (and strides when strided).
static_assert(sizeof(tensor_view<float, extents<4, 4>>) == sizeof(float*));
static_assert(sizeof(tensor_view<float, extents<dyn, 112>>) == sizeof(float*) + sizeof(index_t));
static_assert(std::is_trivially_copyable_v<tensor_view<float, extents<dyn, 20, 112>>>);
static_assert(std::is_standard_layout_v<tensor_view<float, extents<dyn, 20, 112>>>);
static_assert(std::is_trivially_copyable_v<tensor_view<const double, extents<dyn, dyn>, layout_stride>>);
// Conversions: to const, to dynamic extents, to strided; never from const to mutable.
static_assert(std::is_convertible_v<tensor_view<float, extents<4, 4>>, tensor_view<const float, extents<dyn, 4>>>);
static_assert(std::is_convertible_v<tensor_view<float, extents<4, 4>>, tensor_view<float, extents<4, 4>, layout_stride>>);
static_assert(!std::is_convertible_v<tensor_view<const float, extents<4>>, tensor_view<float, extents<4>>>);
static_assert(!std::is_convertible_v<tensor_view<float, extents<dyn>>, tensor_view<float, extents<4>>>);

TEST(TensorView, IndexingMatchesRowMajorOffsets) {
  tensor<int, extents<dyn, 3, 4>> t(2);
  for (index_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<int>(i);
  auto v = t.view();
  for (index_t a = 0; a < 2; ++a)
    for (index_t b = 0; b < 3; ++b)
      for (index_t c = 0; c < 4; ++c) EXPECT_EQ(v(a, b, c), a * 12 + b * 4 + c);
  EXPECT_EQ(v.stride(0), 12);
  EXPECT_TRUE(v.is_contiguous());
}

TEST(TensorView, SliceDropsLeadingAxis) {
  tensor<float, extents<dyn, dyn, 5>> t(3, 4);
  for (index_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  auto s = t.view().slice(2);
  static_assert(std::is_same_v<decltype(s), tensor_view<float, extents<dyn, 5>>>);
  EXPECT_EQ(s.extent(0), 4);
  for (index_t j = 0; j < 4; ++j)
    for (index_t k = 0; k < 5; ++k) EXPECT_EQ(s(j, k), t(2, j, k));
  auto row = s.slice(3);
  static_assert(std::is_same_v<decltype(row), tensor_view<float, extents<5>>>);
  EXPECT_EQ(row[4], t(2, 3, 4));
}

TEST(TensorView, RangeSliceKeepsRankAndMakesLeadingDynamic) {
  tensor<double, extents<6, 3>> t;
  for (index_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<double>(i) * 0.5;
  auto s = t.view().slice(2, 5);
  static_assert(std::is_same_v<decltype(s), tensor_view<double, extents<dyn, 3>>>);
  EXPECT_EQ(s.extent(0), 3);
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 3; ++j) EXPECT_EQ(s(i, j), t(i + 2, j));
  EXPECT_THROW((void)t.view().checked_slice(4, 7), error);
  EXPECT_THROW((void)t.view().checked_slice(3, 2), error);
}

TEST(TensorView, StridedSliceOfTranspose) {
  tensor<int, extents<3, 4>> t;
  for (index_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<int>(i);
  // Column-major view of the same memory: [4, 3] with strides {1, 4}.
  using E = extents<4, 3>;
  const index_t str[2] = {1, 4};
  tensor_view<int, E, layout_stride> tr(t.data(), layout_stride::mapping<E>(E{}, str));
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 3; ++j) EXPECT_EQ(tr(i, j), t(j, i));
  auto col = tr.slice(1);  // column 1 of t
  EXPECT_EQ(col.stride(0), 4);
  for (index_t j = 0; j < 3; ++j) EXPECT_EQ(col[j], t(j, 1));
  auto part = tr.slice(1, 3);
  EXPECT_EQ(part.extent(0), 2);
  EXPECT_EQ(part(1, 2), t(2, 2));
}

TEST(TensorView, CheckedAtThrowsWithAxis) {
  tensor<float, extents<dyn, 2>> t(3);
  t.fill(1.0f);
  EXPECT_EQ(t.view().at(2, 1), 1.0f);
  try {
    (void)t.view().at(1, 2);
    FAIL() << "expected sanawm::error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("axis 1"), std::string::npos) << e.what();
  }
}

TEST(Tensor, AlignedAndFilled) {
  tensor<float, extents<dyn>> t(37);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % host_alignment, 0u);
  t.fill(std::numeric_limits<float>::quiet_NaN());
  for (float v : t) EXPECT_TRUE(std::isnan(v));
  tensor<float, extents<dyn>> moved = std::move(t);
  EXPECT_EQ(moved.size(), 37);
}

TEST(Tensor, NegativeExtentIsAnError) {
  EXPECT_THROW((tensor<float, extents<dyn, 4>>(-1)), error);
}

TEST(Tensor, EmptyTensor) {
  tensor<float, extents<dyn, 4>> t(0);
  EXPECT_EQ(t.size(), 0);
  EXPECT_TRUE(t.view().empty());
}

}  // namespace
}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// Dispatch menus: every menu entry reaches its constant; values off the menu give a clear error.
#include "sanawm/core/dispatch.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sanawm {
namespace {

TEST(Dispatch, IntReachesEveryEntry) {
  for (index_t v : {64, 112, 128}) {
    const index_t got = dispatch_int<64, 112, 128>(v, "test", "head dim", [](auto D) {
      static_assert(is_static_int_v<decltype(D)>);
      return index_t{D()};
    });
    EXPECT_EQ(got, v);
  }
}

TEST(Dispatch, VoidCallables) {
  index_t seen = 0;
  dispatch_int<1, 2>(2, "test", "n", [&](auto N) { seen = N() * 10; });
  EXPECT_EQ(seen, 20);
}

TEST(Dispatch, OffMenuErrorNamesOpValueAndMenu) {
  try {
    dispatch_int<112, 128>(96, "attention", "head dim", [](auto) {});
    FAIL() << "expected sanawm::error";
  } catch (const error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[attention] head dim 96", 0), 0u) << msg;
    EXPECT_NE(msg.find("{112, 128}"), std::string::npos) << msg;
  }
}

TEST(Dispatch, Bool) {
  EXPECT_EQ(dispatch_bool(true, [](auto b) { return decltype(b)::value ? 1 : 0; }), 1);
  EXPECT_EQ(dispatch_bool(false, [](auto b) { return decltype(b)::value ? 1 : 0; }), 0);
}

TEST(Dispatch, Types) {
  std::size_t size = 0;
  dispatch_type<float, double>(1, "test", "dtype", [&](auto t) { size = sizeof(typename decltype(t)::type); });
  EXPECT_EQ(size, sizeof(double));
  EXPECT_THROW(dispatch_type<float>(3, "test", "dtype", [](auto) {}), error);
}

}  // namespace
}  // namespace sanawm

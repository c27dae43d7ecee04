// SPDX-License-Identifier: Apache-2.0
// sanawm::error formats "[op] message with values" (numbers in shortest round-trip form).
#include "sanawm/core/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sanawm {
namespace {

TEST(Error, MakeErrorFormatsOpAndValues) {
  const error e = make_error("rms_norm", "hidden size ", 96, " eps ", 1e-6, " ok ", false);
  EXPECT_STREQ(e.what(), "[rms_norm] hidden size 96 eps 1e-06 ok false");
}

TEST(Error, ExpectThrowsOnlyWhenFalse) {
  EXPECT_NO_THROW(SANAWM_EXPECT(1 + 1 == 2, "op", "never"));
  try {
    SANAWM_EXPECT(2 < 1, "conv3d", "kernel ", 3, " > input ", 2);
    FAIL() << "expected sanawm::error";
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "[conv3d] kernel 3 > input 2");
  }
}

TEST(Error, StrCatFloatsRoundTrip) {
  EXPECT_EQ(str_cat(0.1f), "0.1");
  EXPECT_EQ(str_cat(-2.5), "-2.5");
  EXPECT_EQ(str_cat(std::string("a"), 'b', "c"), "abc");
}

}  // namespace
}  // namespace sanawm

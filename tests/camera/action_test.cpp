// SPDX-License-Identifier: Apache-2.0
// Action DSL: parsing (combos, none, case, whitespace, full-width comma) and its errors; the rollout's snap,
// coast, pitch clamp, yaw direction and horizontal-plane translation.
#include "sanawm/model/camera/action.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace sanawm {
namespace {

TEST(ActionParse, SegmentsCombosAndNone) {
  const auto s = parse_action_string(
      " W-30 ,dl-20,none-10\xEF\xBC\x8C"
      "ik-2\t");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].keys, key_forward);
  EXPECT_EQ(s[0].frames, 30);
  EXPECT_EQ(s[1].keys, key_yaw_right | key_strafe_right);
  EXPECT_EQ(s[2].keys, 0);
  EXPECT_EQ(s[2].frames, 10);
  EXPECT_EQ(s[3].keys, key_pitch_up | key_pitch_down);
  EXPECT_EQ(parse_action_string("NONE-3")[0].keys, 0);
  EXPECT_EQ(parse_action_string("-3")[0].keys, 0);  // an empty key list holds nothing, as upstream
  EXPECT_EQ(parse_action_string("ww-1")[0].keys, key_forward);
}

TEST(ActionParse, ErrorsNameTheSegment) {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    try {
      (void)parse_action_string(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("[action_dsl]"), std::string::npos) << e.what();
    }
  };
  expect_error("", "empty");
  expect_error("  \n", "empty");
  expect_error("w-3,,a-2", "segment 1 is empty");
  expect_error("w-3,", "is empty");
  expect_error("w3", "has no '-'");
  expect_error("w-", "no frame count");
  expect_error("w-0", "zero frame count");
  expect_error("w--5", "negative frame count");
  expect_error("w-5x", "non-numeric frame count '5x'");
  expect_error("w-1.5", "non-numeric");
  expect_error("q-4", "unknown key 'q'");
  expect_error("wx-4", "unknown key 'x'");
  expect_error("w\x01-4", "unknown key '\\x01'");
  expect_error("w-99999999999999999999", "more than");
  expect_error("w-600000,a-600000", "in total");
}

TEST(ActionRollout, ConstantSpeedWhenKeysAreFreshlyPressed) {
  const auto p = action_to_c2w("w-4,j-2");
  ASSERT_EQ(p.size(), 7u);
  for (int i = 0; i <= 4; ++i) EXPECT_NEAR(p[static_cast<std::size_t>(i)].t(2), 0.025 * i, 1e-7);
  // j (strafe left) snaps forward speed to 0 and moves along −x.
  EXPECT_NEAR(p[6].t(2), 0.1, 1e-7);
  EXPECT_NEAR(p[6].t(0), -0.05, 1e-7);
}

TEST(ActionRollout, CoastsAfterRelease) {
  const auto p = action_to_c2w("w-5,none-3");
  const double v0 = 0.025, a = std::exp(-1.0 / 16.0);  // τ_coast = 1 s at 16 fps
  double z = 5 * v0 / (1 + 1e-6), v = v0;
  for (int i = 0; i < 3; ++i) {
    v *= a;
    z += v * (1 / (1 + 1e-6));  // forward = (0, 0, 1)/(1 + 1e-6)
    EXPECT_NEAR(p[static_cast<std::size_t>(6 + i)].t(2), z, 1e-12);
  }
  // Without smoothing the camera stops at once.
  action_options o;
  o.smooth = false;
  const auto q = action_to_c2w("w-5,none-3", o);
  EXPECT_NEAR(q[8].t(2), q[5].t(2), 1e-15);
}

TEST(ActionRollout, EasesTowardATargetWithoutAFreshPress) {
  // "wd" then "w": no new key, so yaw eases to zero with τ_coast while forward stays at full speed.
  const auto p = action_to_c2w("wd-2,w-1");
  const double rot = deg_to_rad(0.6);
  const double yaw3 = rot * std::exp(-1.0 / 16.0);
  const double total_yaw = 2 * rot + yaw3;
  EXPECT_NEAR(std::atan2(p[3](0, 2), p[3](2, 2)), total_yaw, 1e-12);
}

TEST(ActionRollout, YawDirectionPitchClampAndFlatTranslation) {
  // d yaws right: forward turns toward +x.
  EXPECT_GT(action_to_c2w("d-10")[10](0, 2), 0);
  EXPECT_LT(action_to_c2w("a-10")[10](0, 2), 0);
  // i pitches up: forward turns toward −y; pitch saturates at 60°.
  const auto up = action_to_c2w("i-200");
  EXPECT_NEAR(std::asin(-up.back()(1, 2)), deg_to_rad(60), 1e-12);
  // Moving forward while looking up stays on the ground plane.
  const auto p = action_to_c2w("i-50,iw-20");
  EXPECT_NEAR(p.back().t(1), 0.0, 1e-15);
  EXPECT_NEAR(p.back().t(2), 20 * 0.025 / (1 + 1e-6 / std::cos(deg_to_rad(30))), 1e-6);
  // Every pose stays a rotation.
  for (const mat4& q : action_to_c2w("wdi-40,sjk-40,al-10"))
    EXPECT_NO_THROW(validate_rigid(q, 1e-9, "t", "pose"));
  action_options bad;
  bad.fps = 0;
  EXPECT_THROW((void)action_to_c2w("w-1", bad), error);
  EXPECT_EQ(action_trajectory("w-3").frames(), 4);
}

}  // namespace
}  // namespace sanawm

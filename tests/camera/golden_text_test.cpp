// SPDX-License-Identifier: Apache-2.0
// Golden camera_a (upstream SANA-WM, 704×1280, 17 raw frames) read from its text dump camera_a.txt: the
// packed camera_conditions rows, the chunk_plucker column printed there, and the action-DSL rollout
// 'w-10,a-5,dl-8'. (The full tensors are compared from camera_a.safetensors in camera_io_test.)
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "camera_test_util.hpp"
#include "sanawm/model/camera/action.hpp"
#include "sanawm/model/camera/conditioning.hpp"

namespace sanawm {
namespace {

class GoldenText : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = test::golden_path("camera_a.txt");
    text_ = path.empty() ? std::string() : test::read_text(path);
    if (text_.empty())
      GTEST_SKIP() << "golden camera_a.txt not found (SANAWM_GOLDEN_DIR='" << SANAWM_GOLDEN_DIR << "')";
  }
  std::string text_;
};

TEST_F(GoldenText, CameraConditionsAndChunkPluckerColumn) {
  const auto c2w = test::golden_blocks(text_, "## raw_c2w", "frame");
  const auto intr = test::golden_blocks(text_, "## raw_intrinsics", "frame");
  const auto rows = test::golden_blocks(text_, "## camera_conditions", "latent");
  ASSERT_EQ(c2w.size(), 17u);
  ASSERT_EQ(intr.size(), 17u);
  ASSERT_EQ(rows.size(), 3u);
  trajectory tr;
  for (std::size_t f = 0; f < 17; ++f) {
    ASSERT_EQ(c2w[f].size(), 16u);
    ASSERT_EQ(intr[f].size(), 4u);
    mat4 p;
    for (int k = 0; k < 16; ++k) p.m[k] = c2w[f][static_cast<std::size_t>(k)];
    tr.c2w.push_back(p);
    tr.K.push_back({intr[f][0], intr[f][1], intr[f][2], intr[f][3]});
  }
  tr.image_width = 1280, tr.image_height = 704;
  const camera_conditioning c = prepare_camera(tr);
  ASSERT_EQ(c.latent_frames, 3);
  ASSERT_EQ(c.latent_height, 22);
  ASSERT_EQ(c.latent_width, 40);
  double worst = 0;
  for (index_t t = 0; t < 3; ++t) {
    ASSERT_EQ(rows[static_cast<std::size_t>(t)].size(), 20u);
    for (index_t k = 0; k < 20; ++k)
      worst = std::max(worst, std::fabs(c.camera_conditions(0, t, k) -
                                        rows[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)]));
  }
  EXPECT_LE(worst, 1e-5) << "camera_conditions max |err|";
  RecordProperty("camera_conditions_max_err", std::to_string(worst));

  const std::size_t at = text_.find("## chunk_plucker[:, 1, 0, 0]");
  ASSERT_NE(at, std::string::npos);
  const std::size_t open = text_.find('[', text_.find('\n', at)), close = text_.find(']', open);
  const std::vector<double> col = test::numbers_in(text_.substr(open, close - open + 1));
  ASSERT_EQ(col.size(), 48u);
  const auto cp = make_chunk_plucker(c);
  double worst_cp = 0;
  for (index_t ch = 0; ch < 48; ++ch)
    worst_cp = std::max(worst_cp, std::fabs(cp(0, ch, 1, 0, 0) - col[static_cast<std::size_t>(ch)]));
  EXPECT_LE(worst_cp, 1e-5) << "chunk_plucker[:, 1, 0, 0] max |err|";
}

TEST_F(GoldenText, ActionDslRollout) {
  const auto steps = test::golden_blocks(text_, "## defaults:", "step");
  ASSERT_EQ(steps.size(), 24u);
  const std::vector<mat4> got = action_to_c2w("w-10,a-5,dl-8");
  ASSERT_EQ(got.size(), 24u);
  double worst = 0;
  for (std::size_t i = 0; i < 24; ++i) {
    ASSERT_EQ(steps[i].size(), 16u);
    for (int k = 0; k < 16; ++k)  // upstream casts its float64 rollout to float32
      worst = std::max(worst, std::fabs(static_cast<double>(static_cast<float>(got[i].m[k])) -
                                        steps[i][static_cast<std::size_t>(k)]));
  }
  EXPECT_LE(worst, 1e-5) << "action_c2w max |err|";
}

}  // namespace
}  // namespace sanawm

// SPDX-License-Identifier: Apache-2.0
// tests/io/media_test.cpp — images (PNG/JPEG decode, PNG encode, resize + centre crop, model conversions) and
// video sinks (y4m, PNG frames, ffmpeg through a stand-in script, extension dispatch), y4m reader errors.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <sys/stat.h>

#include "io_test_util.hpp"
#include "sanawm/io/image.hpp"
#include "sanawm/io/video.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::io;
using sanawm::test::read_bytes;
using sanawm::test::temp_dir;
using sanawm::test::write_bytes;

image_u8 random_image(index_t w, index_t h, index_t c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, 255);
  image_u8 img(w, h, c);
  for (auto& p : img.pixels) p = static_cast<std::uint8_t>(d(rng));
  return img;
}

image_u8 constant_image(index_t w, index_t h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  image_u8 img(w, h, 3);
  for (index_t i = 0; i < w * h; ++i) {
    img.pixels[static_cast<std::size_t>(3 * i)] = r;
    img.pixels[static_cast<std::size_t>(3 * i + 1)] = g;
    img.pixels[static_cast<std::size_t>(3 * i + 2)] = b;
  }
  return img;
}

std::vector<std::byte> jpeg_of(const image_u8& img, int quality) {
  std::vector<std::byte> out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* o = static_cast<std::vector<std::byte>*>(ctx);
    o->insert(o->end(), static_cast<std::byte*>(data), static_cast<std::byte*>(data) + size);
  };
  const int ok = stbi_write_jpg_to_func(sink, &out, static_cast<int>(img.width), static_cast<int>(img.height),
                                        static_cast<int>(img.channels), img.pixels.data(), quality);
  EXPECT_NE(ok, 0);
  return out;
}

/// Restores an environment variable at scope exit.
class env_guard {
 public:
  explicit env_guard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
  }
  ~env_guard() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void write_script(const std::filesystem::path& p, const std::string& body) {
  std::ofstream(p) << "#!/bin/sh\n" << body;
  ::chmod(p.c_str(), 0755);
}

// ---- images -------------------------------------------------------------------------------------------------

TEST(Image, PngRoundTripIsExact) {
  temp_dir dir;
  const auto img = random_image(37, 23, 3, 1);
  const auto png = encode_png(img);
  const auto back = read_image_from_memory(png, "mem.png");
  EXPECT_EQ(back.width, 37);
  EXPECT_EQ(back.height, 23);
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.pixels, img.pixels);
  write_png(dir / "a.png", img);
  EXPECT_EQ(read_image(dir / "a.png").pixels, img.pixels);
}

TEST(Image, GreyAndAlphaDecodeToRgb) {
  const auto grey = random_image(9, 4, 1, 2);
  const auto g = read_image_from_memory(encode_png(grey));
  ASSERT_EQ(g.channels, 3);
  for (index_t y = 0; y < 4; ++y)
    for (index_t x = 0; x < 9; ++x)
      for (index_t c = 0; c < 3; ++c) EXPECT_EQ(g.at(y, x, c), grey.at(y, x, 0));
  const auto rgba = random_image(5, 6, 4, 3);
  const auto r = read_image_from_memory(encode_png(rgba));
  ASSERT_EQ(r.channels, 3);
  for (index_t y = 0; y < 6; ++y)
    for (index_t x = 0; x < 5; ++x)
      for (index_t c = 0; c < 3; ++c) EXPECT_EQ(r.at(y, x, c), rgba.at(y, x, c));
}

TEST(Image, JpegDecodes) {
  const auto flat = constant_image(16, 8, 200, 50, 100);
  const auto jpg = jpeg_of(flat, 95);
  ASSERT_GT(jpg.size(), 100u);
  EXPECT_EQ(static_cast<unsigned>(jpg[0]), 0xFFu);
  EXPECT_EQ(static_cast<unsigned>(jpg[1]), 0xD8u);
  const auto img = read_image_from_memory(jpg, "flat.jpg");
  ASSERT_EQ(img.width, 16);
  ASSERT_EQ(img.height, 8);
  for (index_t y = 0; y < 8; ++y)
    for (index_t x = 0; x < 16; ++x) {
      EXPECT_NEAR(img.at(y, x, 0), 200, 6);
      EXPECT_NEAR(img.at(y, x, 1), 50, 6);
      EXPECT_NEAR(img.at(y, x, 2), 100, 6);
    }
  // A grey JPEG comes back with three equal channels.
  const auto g = read_image_from_memory(jpeg_of(random_image(8, 8, 1, 4), 90), "grey.jpg");
  ASSERT_EQ(g.channels, 3);
  for (index_t i = 0; i < 64; ++i) {
    EXPECT_EQ(g.pixels[static_cast<std::size_t>(3 * i)], g.pixels[static_cast<std::size_t>(3 * i + 1)]);
    EXPECT_EQ(g.pixels[static_cast<std::size_t>(3 * i)], g.pixels[static_cast<std::size_t>(3 * i + 2)]);
  }
}

TEST(Image, Errors) {
  temp_dir dir;
  SANAWM_EXPECT_ERROR(read_image(dir / "missing.png"), "[read_image]", "missing.png", "no such file");
  SANAWM_EXPECT_ERROR(read_image(dir.path()), "is a directory");
  write_bytes(dir / "empty.png", {});
  SANAWM_EXPECT_ERROR(read_image(dir / "empty.png"), "empty.png", "empty input");
  write_bytes(dir / "junk.png", sanawm::test::to_bytes("this is not an image at all, just text"));
  SANAWM_EXPECT_ERROR(read_image(dir / "junk.png"), "junk.png", "not a decodable image");

  // Truncated PNG and JPEG: the header parses, the pixel data is missing.
  const auto png = encode_png(random_image(32, 32, 3, 5));
  write_bytes(dir / "cut.png", std::vector<std::byte>(png.begin(), png.begin() + 60));
  const std::string msg = sanawm::test::error_of([&] { (void)read_image(dir / "cut.png"); });
  EXPECT_NE(msg.find("cut.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot decode 32x32"), std::string::npos) << msg;
  const auto jpg = jpeg_of(random_image(32, 32, 3, 6), 90);
  SANAWM_EXPECT_ERROR(read_image_from_memory(std::span(jpg).first(jpg.size() / 3), "cut.jpg"), "cut.jpg");

  // Absurd sizes are refused from the header alone.
  SANAWM_EXPECT_ERROR(read_image_from_memory(png, "big.png", image_limits{16, 1 << 20}), "big.png", "32x32",
                      "too large");
  SANAWM_EXPECT_ERROR(read_image_from_memory(png, "big.png", image_limits{1024, 1000}), "too large");
  std::vector<std::byte> huge(png.begin(), png.begin() + 33);  // signature + IHDR
  huge[16] = std::byte{0};  // width = 0x00010000... big-endian at 16..19
  huge[17] = std::byte{1};
  huge[18] = std::byte{0};
  huge[19] = std::byte{0};
  SANAWM_EXPECT_ERROR(read_image_from_memory(huge, "huge.png"), "65536x32", "too large");

  // Writers validate their input.
  image_u8 bad(4, 4, 3);
  bad.pixels.pop_back();
  SANAWM_EXPECT_ERROR(encode_png(bad), "[encode_png]", "needs 48");
  SANAWM_EXPECT_ERROR(encode_png(image_u8{}), "empty image");
}

TEST(Resize, Geometry) {
  auto p = plan_resize_center_crop(1920, 1080, 1280, 704);  // landscape
  EXPECT_EQ(p.resized_w, 1280);
  EXPECT_EQ(p.resized_h, 720);
  EXPECT_EQ(p.left, 0);
  EXPECT_EQ(p.top, 8);
  p = plan_resize_center_crop(1080, 1920, 1280, 704);  // portrait: 1920 · 1280/1080 = 2275.56
  EXPECT_EQ(p.resized_w, 1280);
  EXPECT_EQ(p.resized_h, 2276);
  EXPECT_EQ(p.top, 786);
  p = plan_resize_center_crop(512, 512, 512, 512);  // equal
  EXPECT_EQ(p.resized_w, 512);
  EXPECT_EQ(p.resized_h, 512);
  EXPECT_EQ(p.left, 0);
  EXPECT_EQ(p.top, 0);
  // Crop offsets round half to even, as Python's round() in torchvision's center_crop.
  EXPECT_EQ(plan_resize_center_crop(10, 11, 10, 10).top, 0);  // 0.5 -> 0
  EXPECT_EQ(plan_resize_center_crop(10, 13, 10, 10).top, 2);  // 1.5 -> 2
  EXPECT_EQ(plan_resize_center_crop(10, 15, 10, 10).top, 2);  // 2.5 -> 2
  EXPECT_EQ(plan_resize_center_crop(17, 10, 10, 10).left, 4);  // 3.5 -> 4
  // The covering side never drops below the target.
  for (index_t w = 1; w < 60; ++w)
    for (index_t h = 1; h < 60; h += 7) {
      const auto q = plan_resize_center_crop(w, h, 33, 21);
      EXPECT_GE(q.resized_w, 33);
      EXPECT_GE(q.resized_h, 21);
      EXPECT_TRUE(q.resized_w == 33 || q.resized_h == 21) << w << "x" << h;
      const auto img = resize_center_crop(random_image(w, h, 3, static_cast<std::uint32_t>(w * 100 + h)), 33, 21);
      EXPECT_EQ(img.width, 33);
      EXPECT_EQ(img.height, 21);
      EXPECT_EQ(img.channels, 3);
    }
  SANAWM_EXPECT_ERROR(plan_resize_center_crop(10, 10, 0, 5), "[resize_center_crop]", "positive");
}

TEST(Resize, IdentityAndConstant) {
  const auto img = random_image(24, 16, 3, 7);
  EXPECT_EQ(resize_center_crop(img, 24, 16).pixels, img.pixels);
  // Equal aspect, no resize: a pure crop.
  const auto crop = resize_center_crop(img, 24, 10);
  for (index_t y = 0; y < 10; ++y)
    for (index_t x = 0; x < 24; ++x) EXPECT_EQ(crop.at(y, x, 1), img.at(y + 3, x, 1));
  for (auto [w, h] : {std::pair<index_t, index_t>{7, 5}, {64, 40}, {3, 90}}) {
    const auto out = resize_center_crop(constant_image(w, h, 17, 128, 251), 20, 12);
    for (index_t i = 0; i < 20 * 12; ++i) {
      EXPECT_EQ(out.pixels[static_cast<std::size_t>(3 * i)], 17);
      EXPECT_EQ(out.pixels[static_cast<std::size_t>(3 * i + 1)], 128);
      EXPECT_EQ(out.pixels[static_cast<std::size_t>(3 * i + 2)], 251);
    }
  }
}

/// Float64 reference: 2-D triangle-filter resampling weights, written directly from the definition.
double ref_weight(index_t in, index_t out, index_t i, index_t j) {
  const double s = static_cast<double>(in) / static_cast<double>(out);
  const double fs = std::max(1.0, s);
  const double centre = (static_cast<double>(i) + 0.5) * s;
  double sum = 0.0, wj = 0.0;
  for (index_t k = 0; k < in; ++k) {
    const double lo = std::max(0.0, std::floor(centre - fs + 0.5));
    const double hi = std::min(static_cast<double>(in), std::floor(centre + fs + 0.5));
    if (static_cast<double>(k) < lo || static_cast<double>(k) >= hi) continue;
    const double v = std::max(0.0, 1.0 - std::abs((static_cast<double>(k) + 0.5 - centre) / fs));
    sum += v;
    if (k == j) wj = v;
  }
  return wj / sum;
}

TEST(Resize, GradientMatchesFloat64Reference) {
  for (auto [w, h, ow, oh] : {std::array<index_t, 4>{50, 30, 16, 16}, {13, 9, 40, 22}, {100, 7, 21, 9},
                              {31, 47, 31, 12}}) {
    image_u8 img(w, h, 1);
    for (index_t y = 0; y < h; ++y)
      for (index_t x = 0; x < w; ++x)
        img.at(y, x, 0) = static_cast<std::uint8_t>((x * 255) / std::max<index_t>(w - 1, 1) * (y % 3 + 1) / 3 +
                                                    ((x * 7 + y * 13) % 11));
    const auto out = resize_center_crop(img, ow, oh);
    const auto p = plan_resize_center_crop(w, h, ow, oh);
    int off_by_one = 0;
    for (index_t y = 0; y < oh; ++y)
      for (index_t x = 0; x < ow; ++x) {
        double acc = 0.0;
        for (index_t j = 0; j < h; ++j) {
          const double wy = ref_weight(h, p.resized_h, p.top + y, j);
          if (wy == 0.0) continue;
          for (index_t i = 0; i < w; ++i) acc += wy * ref_weight(w, p.resized_w, p.left + x, i) * img.at(j, i, 0);
        }
        const double want = std::clamp(std::floor(acc + 0.5), 0.0, 255.0);
        const int got = out.at(y, x, 0);
        EXPECT_LE(std::abs(got - want), 1.0) << w << "x" << h << " -> " << ow << "x" << oh << " at " << x << "," << y;
        if (got != static_cast<int>(want)) ++off_by_one;
      }
    EXPECT_LE(off_by_one, ow * oh / 50 + 1);  // float vs double: ties only
  }
}

TEST(Image, ModelConversions) {
  const auto img = random_image(11, 6, 3, 8);
  const auto chw = to_model_input(img);
  ASSERT_EQ(chw.size(), 3u * 11 * 6);
  EXPECT_FLOAT_EQ(chw[0], static_cast<float>(img.at(0, 0, 0)) / 127.5f - 1.0f);
  EXPECT_FLOAT_EQ(chw[66 + 5], static_cast<float>(img.at(0, 5, 1)) / 127.5f - 1.0f);  // channel 1, pixel 5
  for (float v : chw) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LE(v, 1.0f);
  }
  const auto back = from_model_output(chw.data(), 3, 6, 11);
  EXPECT_EQ(back.pixels, img.pixels);
  const float odd[4] = {2.0f, -3.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f};
  const auto o = from_model_output(odd, 1, 2, 2);
  EXPECT_EQ(o.pixels, (std::vector<std::uint8_t>{255, 0, 0, 128}));
  SANAWM_EXPECT_ERROR(to_model_input(random_image(2, 2, 4, 1)), "[to_model_input]", "expected 3 channels");
  SANAWM_EXPECT_ERROR(from_model_output(odd, 2, 1, 2), "channels");
}

// ---- video ------------------------------------------------------------------------------------------------

std::string file_text(const std::filesystem::path& p) {
  const auto b = read_bytes(p);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(Video, FrameRate) {
  EXPECT_EQ(to_frame_rate(16).num, 16);
  EXPECT_EQ(to_frame_rate(16).den, 1);
  EXPECT_EQ(to_frame_rate(30000.0 / 1001).num, 30000);
  EXPECT_EQ(to_frame_rate(30000.0 / 1001).den, 1001);
  EXPECT_EQ(to_frame_rate(12.5).num, 25);
  EXPECT_EQ(to_frame_rate(12.5).den, 2);
  SANAWM_EXPECT_ERROR(to_frame_rate(0), "frame rate");
  SANAWM_EXPECT_ERROR(to_frame_rate(std::nan("")), "frame rate");
}

TEST(Video, Y4m444MatchesReferenceAndRoundTrips) {
  temp_dir dir;
  const index_t w = 7, h = 5;
  std::vector<image_u8> frames = {random_image(w, h, 3, 10), random_image(w, h, 3, 11)};
  {
    y4m_writer out(dir / "a.y4m", y4m_chroma::c444);
    out.begin(w, h, 16);
    for (const auto& f : frames) out.write_frame(f);
    out.finish();
    EXPECT_EQ(out.frames_written(), 2);
  }
  const std::string text = file_text(dir / "a.y4m");
  const std::string header = "YUV4MPEG2 W7 H5 F16:1 Ip A1:1 C444 XCOLORRANGE=FULL\n";
  ASSERT_EQ(text.substr(0, header.size()), header);
  ASSERT_EQ(text.size(), header.size() + 2 * (6 + 3 * 35));
  std::size_t pos = header.size();
  for (const auto& f : frames) {
    ASSERT_EQ(text.substr(pos, 6), "FRAME\n");
    pos += 6;
    const auto* planes = reinterpret_cast<const std::uint8_t*>(text.data() + pos);
    for (index_t i = 0; i < w * h; ++i) {
      const double r = f.pixels[static_cast<std::size_t>(3 * i)], g = f.pixels[static_cast<std::size_t>(3 * i + 1)],
                   b = f.pixels[static_cast<std::size_t>(3 * i + 2)];
      const double y = 0.299 * r + 0.587 * g + 0.114 * b;  // JFIF
      const double cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
      const double cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
      EXPECT_NEAR(planes[i], std::clamp(y, 0.0, 255.0), 1.0);
      EXPECT_NEAR(planes[w * h + i], std::clamp(cb, 0.0, 255.0), 1.0);
      EXPECT_NEAR(planes[2 * w * h + i], std::clamp(cr, 0.0, 255.0), 1.0);
    }
    pos += static_cast<std::size_t>(3 * w * h);
  }
  const auto v = read_y4m(dir / "a.y4m");
  EXPECT_EQ(v.width, w);
  EXPECT_EQ(v.height, h);
  EXPECT_EQ(v.fps_num, 16);
  EXPECT_EQ(v.fps_den, 1);
  EXPECT_EQ(v.chroma, "444");
  ASSERT_EQ(v.frames.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k)
    for (std::size_t i = 0; i < frames[k].pixels.size(); ++i)
      EXPECT_NEAR(v.frames[k].pixels[i], frames[k].pixels[i], 3) << k << " " << i;
}

TEST(Video, Y4m420OddSizes) {
  temp_dir dir;
  const index_t w = 9, h = 7;
  y4m_writer out(dir / "sub" / "b.y4m");  // creates sub/
  out.begin(w, h, 30000.0 / 1001);
  for (int k = 0; k < 3; ++k) out.write_frame(constant_image(w, h, 30, static_cast<std::uint8_t>(60 * k), 220));
  out.write_frame(random_image(w, h, 1, 12));  // grey frames are accepted
  out.finish();
  out.finish();  // idempotent
  const std::string header = "YUV4MPEG2 W9 H7 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\n";
  const std::string text = file_text(dir / "sub" / "b.y4m");
  EXPECT_EQ(text.substr(0, header.size()), header);
  EXPECT_EQ(text.size(), header.size() + 4 * (6 + 63 + 2 * 5 * 4));
  const auto v = read_y4m(dir / "sub" / "b.y4m");
  EXPECT_EQ(v.chroma, "420jpeg");
  ASSERT_EQ(v.frames.size(), 4u);
  for (int k = 0; k < 3; ++k)
    for (index_t i = 0; i < w * h; ++i) {
      EXPECT_NEAR(v.frames[static_cast<std::size_t>(k)].pixels[static_cast<std::size_t>(3 * i)], 30, 2);
      EXPECT_NEAR(v.frames[static_cast<std::size_t>(k)].pixels[static_cast<std::size_t>(3 * i + 1)], 60 * k, 2);
      EXPECT_NEAR(v.frames[static_cast<std::size_t>(k)].pixels[static_cast<std::size_t>(3 * i + 2)], 220, 2);
    }
  SANAWM_EXPECT_ERROR(out.write_frame(constant_image(w, h, 0, 0, 0)), "after finish");
  y4m_writer other(dir / "c.y4m");
  SANAWM_EXPECT_ERROR(other.write_frame(constant_image(w, h, 0, 0, 0)), "before begin");
  other.begin(w, h, 16);
  SANAWM_EXPECT_ERROR(other.begin(w, h, 16), "twice");
  SANAWM_EXPECT_ERROR(other.write_frame(constant_image(w + 1, h, 0, 0, 0)), "frame 0 is 10x7", "9x7");
}

TEST(Video, Y4mReaderErrors) {
  const auto parse = [](const std::string& s) {
    return parse_y4m(sanawm::test::to_bytes(s), "t.y4m");
  };
  SANAWM_EXPECT_ERROR(parse(""), "[read_y4m]", "t.y4m", "signature");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2 F1:1"), "newline");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 F1:1\n"), "lacks W or H");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W0 H2 F1:1\n"), "bad width");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H99999 F1:1\n"), "bad height");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2 F1:0\n"), "bad frame rate");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2\n"), "lacks the frame rate");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2 F1:1 C420p10\n"), "unsupported colour space C420p10");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2 F1:1  C444\n"), "empty tag");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2 F1:1 Q1\n"), "unknown header tag 'Q'");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2 F1:1 C444\nFRAME\n123"), "truncated", "frame 0", "needs 12");
  SANAWM_EXPECT_ERROR(parse("YUV4MPEG2 W2 H2 F1:1 Cmono\nFRAME\n1234JUNK"), "frame 1", "FRAME");
  SANAWM_EXPECT_ERROR(read_y4m("/nonexistent/x.y4m"), "no such file");
  const auto ok = parse("YUV4MPEG2 W2 H2 F25:1 It A0:0 Cmono XFOO=1\nFRAME Ixyz\n\x10\x80\xeb\xff");
  ASSERT_EQ(ok.frames.size(), 1u);
  EXPECT_EQ(ok.frames[0].at(0, 1, 2), 128);
  const auto lim = parse("YUV4MPEG2 W1 H1 F25:1 C444 XCOLORRANGE=LIMITED\nFRAME\n\x10\x80\x80");
  EXPECT_EQ(lim.frames[0].at(0, 0, 0), 0);
  EXPECT_EQ(parse("YUV4MPEG2 W1 H1 F1:1\n").frames.size(), 0u);
}

TEST(Video, PngSequence) {
  temp_dir dir;
  const auto pattern = dir / "seq" / "frame_%04d.png";
  png_sequence_writer out(pattern);
  out.begin(6, 4, 8);
  std::vector<image_u8> frames;
  for (std::uint32_t k = 0; k < 3; ++k) {
    frames.push_back(random_image(6, 4, 3, 20 + k));
    out.write_frame(frames.back());
  }
  out.finish();
  ASSERT_EQ(out.files().size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const auto p = dir / "seq" / ("frame_000" + std::to_string(k) + ".png");
    EXPECT_EQ(out.files()[static_cast<std::size_t>(k)], p);
    EXPECT_EQ(read_image(p).pixels, frames[static_cast<std::size_t>(k)].pixels);
  }
  png_sequence_writer d(dir.path().string() + "/frames/", 1);
  d.begin(6, 4, 8);
  d.write_frame(frames[0]);
  EXPECT_TRUE(std::filesystem::exists(dir / "frames" / "frame_00001.png"));
  EXPECT_EQ(png_sequence_writer(dir / "p%%_%3d.png").frame_path(7), dir / "p%_  7.png");
  SANAWM_EXPECT_ERROR(png_sequence_writer(dir / "a_%d_%d.png"), "exactly one %d");
  SANAWM_EXPECT_ERROR(png_sequence_writer(dir / "a_%s.png"), "exactly one %d");
  SANAWM_EXPECT_ERROR(png_sequence_writer(dir / "a.png"), "no %d");
}

TEST(Video, MakeVideoSinkDispatch) {
  temp_dir dir;
  EXPECT_NE(dynamic_cast<y4m_writer*>(make_video_sink(dir / "a.y4m", 16).get()), nullptr);
  EXPECT_NE(dynamic_cast<y4m_writer*>(make_video_sink(dir / "a.Y4M", 16).get()), nullptr);
  EXPECT_NE(dynamic_cast<png_sequence_writer*>(make_video_sink(dir / "f_%03d.png", 16).get()), nullptr);
  EXPECT_NE(dynamic_cast<png_sequence_writer*>(make_video_sink(dir.path().string() + "/out/", 16).get()), nullptr);
  EXPECT_NE(dynamic_cast<png_sequence_writer*>(make_video_sink(dir.path(), 16).get()), nullptr);
  SANAWM_EXPECT_ERROR(make_video_sink(dir / "a.txt", 16), "[make_video_sink]", "unknown video extension \".txt\"");
  SANAWM_EXPECT_ERROR(make_video_sink(dir / "noext", 16), "unknown video extension");
  SANAWM_EXPECT_ERROR(make_video_sink(dir / "a.png", 16), "single .png");
  SANAWM_EXPECT_ERROR(make_video_sink(dir / "a.y4m", -1), "frame rate");
  {
    env_guard guard("PATH");
    ::setenv("PATH", (dir.path() / "empty").c_str(), 1);
    for (const char* name : {"a.mp4", "a.webm", "a.mkv", "a.mov"})
      SANAWM_EXPECT_ERROR(make_video_sink(dir / name, 16), "ffmpeg not found on PATH", "apt-get install ffmpeg",
                          ".y4m / PNG frames");
  }
  // The sink writes through the video_sink interface.
  auto sink = make_video_sink(dir / "x.y4m", 24);
  sink->begin(4, 2, 24);
  sink->write_frame(constant_image(4, 2, 1, 2, 3));
  sink->finish();
  EXPECT_EQ(sink->path(), dir / "x.y4m");
  EXPECT_EQ(read_y4m(dir / "x.y4m").frames.size(), 1u);
}

// A stand-in "ffmpeg" script on PATH exercises the process handling without ffmpeg: it stores its arguments
// and copies stdin to the output file (the last argument).
TEST(Video, FfmpegWriterWithStandIn) {
  temp_dir dir;
  std::filesystem::create_directories(dir / "bin");
  write_script(dir / "bin" / "ffmpeg",
               "for a; do out=$a; done\necho \"$@\" > \"" + (dir / "args.txt").string() + "\"\ncat > \"$out\"\n");
  env_guard guard("PATH");
  ::setenv("PATH", ((dir / "bin").string() + ":/usr/bin:/bin").c_str(), 1);
  ffmpeg_options opt;
  opt.extra_args = {"-movflags", "+faststart"};
  auto sink = make_video_sink(dir / "v.mp4", 16, {.ffmpeg = opt});
  ASSERT_NE(dynamic_cast<ffmpeg_writer*>(sink.get()), nullptr);
  sink->begin(5, 3, 16);
  for (int k = 0; k < 3; ++k) sink->write_frame(constant_image(5, 3, 10, 20, static_cast<std::uint8_t>(30 * k)));
  sink->finish();
  const std::string args = file_text(dir / "args.txt");
  EXPECT_NE(args.find("-f yuv4mpegpipe -i - -c:v libx264 -preset medium -crf 18 -pix_fmt yuv420p "
                      "-vf pad=ceil(iw/2)*2:ceil(ih/2)*2 -movflags +faststart " + (dir / "v.mp4").string()),
            std::string::npos)
      << args;
  const auto v = read_y4m(dir / "v.mp4");  // the stand-in stored the y4m stream
  EXPECT_EQ(v.chroma, "420jpeg");
  EXPECT_EQ(v.frames.size(), 3u);

  // A failing encoder: its exit status and stderr reach the error.
  write_script(dir / "bin" / "ffmpeg", "echo 'Unknown encoder libfoo' >&2\nexit 3\n");
  ffmpeg_writer bad(dir / "w.webm");
  const std::string msg = sanawm::test::error_of([&] {
    bad.begin(64, 64, 16);
    for (int k = 0; k < 200; ++k) bad.write_frame(random_image(64, 64, 3, 1));
    bad.finish();
  });
  EXPECT_NE(msg.find("[ffmpeg_writer]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Unknown encoder libfoo"), std::string::npos) << msg;
  EXPECT_NE(msg.find("status 3"), std::string::npos) << msg;
}

TEST(Video, FfmpegMp4) {
  if (find_on_path("ffmpeg").empty()) GTEST_SKIP() << "ffmpeg is not installed on PATH; mp4 encoding not tested";
  temp_dir dir;
  auto sink = make_video_sink(dir / "v.mp4", 16);
  sink->begin(64, 48, 16);
  for (std::uint32_t k = 0; k < 8; ++k) sink->write_frame(random_image(64, 48, 3, k));
  sink->finish();
  EXPECT_GT(std::filesystem::file_size(dir / "v.mp4"), 100u);
  ffmpeg_options bad;
  bad.codec_args = {"-c:v", "sanawm_no_such_codec"};
  auto s2 = make_video_sink(dir / "w.mp4", 16, {.ffmpeg = bad});
  const std::string msg = sanawm::test::error_of([&] {
    s2->begin(64, 48, 16);
    for (std::uint32_t k = 0; k < 8; ++k) s2->write_frame(random_image(64, 48, 3, k));
    s2->finish();
  });
  EXPECT_NE(msg.find("ffmpeg"), std::string::npos) << msg;
}

}  // namespace

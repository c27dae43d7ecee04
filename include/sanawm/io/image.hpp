// SPDX-License-Identifier: Apache-2.0
// sanawm/io/image.hpp — 8-bit RGB images: PNG/JPEG decoding and PNG encoding (stb), resize + centre crop, and
// the conversions to and from the model's [-1, 1] CHW floats.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/image.hpp: host-only header (file I/O, stb); include it from .cpp files and link sanawm::media"
#endif

#include <algorithm>    // std::max, std::min, std::clamp
#include <climits>      // INT_MAX
#include <cmath>        // std::floor, std::isnan
#include <cstddef>      // std::byte, std::size_t
#include <cstdint>      // std::uint8_t
#include <cstdlib>      // std::free
#include <cstring>      // std::memcpy
#include <filesystem>   // std::filesystem::path
#include <memory>       // std::unique_ptr
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

// stb (Debian libstb-dev: headers in <stb/...>, implementation in libstb.so, linked by sanawm::media). Without
// the headers this file still compiles (header tests, consumers that only resize or write y4m) and decoding or
// encoding throws.
#if __has_include(<stb/stb_image.h>) && __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image.h>        // stbi_info_from_memory, stbi_load_from_memory (libstb)
#include <stb/stb_image_write.h>  // stbi_write_png_to_func (libstb)
#define SANAWM_HAS_STB 1
#else
#define SANAWM_HAS_STB 0
#endif

#include "sanawm/core/error.hpp"      // make_error
#include "sanawm/core/int.hpp"        // index_t
#include "sanawm/io/mapped_file.hpp"  // mapped_file, write_file_bytes

namespace sanawm::io {

/// An 8-bit image, [H, W, C] row-major (HWC), C = 3 (RGB) unless stated otherwise.
struct image_u8 {
  index_t width = 0;
  index_t height = 0;
  index_t channels = 3;
  std::vector<std::uint8_t> pixels;  ///< height · width · channels bytes

  image_u8() = default;
  /// A zero-filled image of the given size.
  image_u8(index_t w, index_t h, index_t c = 3)
      : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w * h * c)) {}

  std::uint8_t& at(index_t y, index_t x, index_t c) noexcept {
    return pixels[static_cast<std::size_t>((y * width + x) * channels + c)];
  }
  std::uint8_t at(index_t y, index_t x, index_t c) const noexcept {
    return pixels[static_cast<std::size_t>((y * width + x) * channels + c)];
  }
  bool empty() const noexcept { return width <= 0 || height <= 0; }
};

/// Decoder limits: inputs above them are rejected before any pixel memory is allocated.
struct image_limits {
  index_t max_side = 16384;          ///< per side
  index_t max_pixels = index_t{1} << 28;  ///< width · height
};

namespace detail {

/// Checks that `img` is a well-formed image_u8 (positive size, 1-4 channels, pixel count matches).
inline void check_image(const image_u8& img, std::string_view op, index_t want_channels = 0) {
  if (img.width <= 0 || img.height <= 0)
    throw make_error(op, "empty image (", img.width, "x", img.height, ")");
  if (img.channels < 1 || img.channels > 4) throw make_error(op, "channels must be 1..4, got ", img.channels);
  if (want_channels != 0 && img.channels != want_channels)
    throw make_error(op, "expected ", want_channels, " channels, got ", img.channels);
  if (img.width > (index_t{1} << 24) || img.height > (index_t{1} << 24))
    throw make_error(op, "image too large (", img.width, "x", img.height, ")");
  const auto want = static_cast<std::size_t>(img.width * img.height * img.channels);
  if (img.pixels.size() != want)
    throw make_error(op, "pixel buffer holds ", img.pixels.size(), " bytes, ", img.width, "x", img.height, "x",
                     img.channels, " needs ", want);
}

#if SANAWM_HAS_STB
inline std::string stbi_reason() {
  const char* r = stbi_failure_reason();
  return r ? std::string(r) : std::string("unknown reason");
}
#endif

[[noreturn]] inline void no_stb(std::string_view op) {
  throw make_error(op, "sanawm was built without stb (Debian: libstb-dev); link sanawm::media");
}

/// Python's round() for halves of integers: round half to even (what torchvision's arithmetic uses).
inline index_t round_half_even(double v) {
  const double f = std::floor(v);
  const double frac = v - f;
  auto i = static_cast<index_t>(f);
  if (frac > 0.5 || (frac == 0.5 && (i % 2 != 0))) ++i;
  return i;
}

/// The taps of a 1-D antialiased linear (triangle) resampling from `in` to `out` samples, as in PIL's and
/// torchvision's `antialias=True` bilinear: centre = (i + 0.5)·s with s = in/out, support = max(s, 1), tap
/// weights tri((j + 0.5 - centre) / max(s, 1)) over j in [centre - support, centre + support), clipped to the
/// input and normalised to sum 1. Upsampling (s <= 1) is plain half-pixel bilinear with edge clamping.
struct resample_taps {
  std::vector<index_t> first;  ///< first input index per output sample
  std::vector<index_t> count;  ///< number of taps per output sample
  std::vector<float> weights;  ///< out · stride weights, normalised
  index_t stride = 0;          ///< max taps
};

inline resample_taps triangle_taps(index_t in, index_t out) {
  resample_taps t;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double filterscale = std::max(scale, 1.0);
  const double support = filterscale;  // the triangle's radius is 1 in filter units
  t.stride = static_cast<index_t>(std::ceil(support)) * 2 + 1;
  t.first.resize(static_cast<std::size_t>(out));
  t.count.resize(static_cast<std::size_t>(out));
  t.weights.assign(static_cast<std::size_t>(out * t.stride), 0.0f);
  std::vector<double> w(static_cast<std::size_t>(t.stride));
  for (index_t i = 0; i < out; ++i) {
    const double centre = (static_cast<double>(i) + 0.5) * scale;
    const index_t lo = std::max<index_t>(static_cast<index_t>(std::floor(centre - support + 0.5)), 0);
    const index_t hi = std::min<index_t>(static_cast<index_t>(std::floor(centre + support + 0.5)), in);
    const index_t n = std::min(hi - lo, t.stride);
    double sum = 0.0;
    for (index_t k = 0; k < n; ++k) {
      const double x = (static_cast<double>(lo + k) + 0.5 - centre) / filterscale;
      const double v = std::max(0.0, 1.0 - std::abs(x));
      w[static_cast<std::size_t>(k)] = v;
      sum += v;
    }
    const auto ui = static_cast<std::size_t>(i);
    t.first[ui] = lo;
    t.count[ui] = n;
    for (index_t k = 0; k < n; ++k)
      t.weights[static_cast<std::size_t>(i * t.stride + k)] =
          sum > 0.0 ? static_cast<float>(w[static_cast<std::size_t>(k)] / sum) : 0.0f;
  }
  return t;
}

inline std::uint8_t to_u8_rounded(float v) {
  if (!(v > 0.0f)) return 0;  // also NaN
  if (v >= 255.0f) return 255;
  return static_cast<std::uint8_t>(v + 0.5f);
}

}  // namespace detail

/// Decodes an image held in memory (whatever stb_image decodes: PNG incl. 16-bit, JPEG baseline/progressive,
/// BMP, GIF (first frame), TGA, PSD, HDR, PNM) into 3-channel RGB; grey is replicated, alpha is dropped.
/// `label` names the input in error messages. Throws sanawm::error on empty, truncated or corrupt data
/// (with stb's reason) and on images larger than `limits` (checked from the header, before decoding).
inline image_u8 read_image_from_memory(std::span<const std::byte> bytes, std::string_view label = "<memory>",
                                       const image_limits& limits = {}) {
  constexpr std::string_view op = "read_image";
  if (bytes.empty()) throw make_error(op, label, ": empty input (0 bytes), not an image");
#if !SANAWM_HAS_STB
  (void)limits;
  detail::no_stb(op);
#else
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    throw make_error(op, label, ": ", bytes.size(), " bytes is more than stb_image can decode (2 GiB)");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, comp = 0;
  if (stbi_info_from_memory(data, len, &w, &h, &comp) == 0)
    throw make_error(op, label, ": not a decodable image (", detail::stbi_reason(), "); ", bytes.size(),
                     " bytes; supported: PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PNM");
  if (w <= 0 || h <= 0) throw make_error(op, label, ": image header says ", w, "x", h);
  if (w > limits.max_side || h > limits.max_side ||
      static_cast<index_t>(w) * static_cast<index_t>(h) > limits.max_pixels)
    throw make_error(op, label, ": image of ", w, "x", h, " is too large (limits: ", limits.max_side,
                     " per side, ", limits.max_pixels, " pixels)");
  int w2 = 0, h2 = 0, comp2 = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(data, len, &w2, &h2, &comp2, 3),
                                               &stbi_image_free);
  if (!px) throw make_error(op, label, ": cannot decode ", w, "x", h, " image (", detail::stbi_reason(), ")");
  if (w2 != w || h2 != h)
    throw make_error(op, label, ": decoded size ", w2, "x", h2, " differs from the header's ", w, "x", h);
  image_u8 img(w, h, 3);
  std::memcpy(img.pixels.data(), px.get(), img.pixels.size());
  return img;
#endif
}

/// Reads and decodes an image file (see read_image_from_memory); errors name the path.
inline image_u8 read_image(const std::filesystem::path& path, const image_limits& limits = {}) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw make_error("read_image", path.string(), ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw make_error("read_image", path.string(), ": is a directory, not an image file");
  const auto file = mapped_file::map(path, "read_image");
  return read_image_from_memory(file.bytes(), path.string(), limits);
}

/// Encodes `img` (1-4 channels: grey, grey+alpha, RGB, RGBA) as PNG.
inline std::vector<std::byte> encode_png(const image_u8& img) {
  detail::check_image(img, "encode_png");
  if (img.width > INT_MAX / img.channels || img.height > INT_MAX)
    throw make_error("encode_png", "image too large for PNG encoding (", img.width, "x", img.height, ")");
#if !SANAWM_HAS_STB
  detail::no_stb("encode_png");
#else
  std::vector<std::byte> out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* o = static_cast<std::vector<std::byte>*>(ctx);
    const auto* b = static_cast<const std::byte*>(data);
    o->insert(o->end(), b, b + size);
  };
  const int ok = stbi_write_png_to_func(sink, &out, static_cast<int>(img.width), static_cast<int>(img.height),
                                        static_cast<int>(img.channels), img.pixels.data(),
                                        static_cast<int>(img.width * img.channels));
  if (ok == 0 || out.empty())
    throw make_error("encode_png", "stb_image_write failed for a ", img.width, "x", img.height, "x", img.channels,
                     " image");
  return out;
#endif
}

/// Writes `img` as a PNG file (atomically: temporary sibling + rename).
inline void write_png(const std::filesystem::path& path, const image_u8& img) {
  const auto bytes = encode_png(img);
  write_file_bytes(path, bytes, "write_png");
}

/// The geometry of resize_center_crop: the covering resize size and the crop offsets into it.
struct resize_crop_plan {
  index_t resized_w = 0, resized_h = 0;  ///< >= out_w, out_h
  index_t left = 0, top = 0;             ///< crop offsets in the resized image
};

/// Upstream SANA-WM `resize_and_center_crop` geometry (torchvision semantics): scale = max(out_w/w, out_h/h),
/// resized = round(w·scale) x round(h·scale) (Python round, half to even; never below the target), then
/// top = round((resized_h - out_h) / 2), left = round((resized_w - out_w) / 2) as torchvision's center_crop.
inline resize_crop_plan plan_resize_center_crop(index_t w, index_t h, index_t out_w, index_t out_h) {
  if (w <= 0 || h <= 0 || out_w <= 0 || out_h <= 0)
    throw make_error("resize_center_crop", "sizes must be positive: input ", w, "x", h, ", output ", out_w, "x",
                     out_h);
  if (out_w > (index_t{1} << 16) || out_h > (index_t{1} << 16))
    throw make_error("resize_center_crop", "output ", out_w, "x", out_h, " is too large (max 65536 per side)");
  const double scale = std::max(static_cast<double>(out_w) / static_cast<double>(w),
                                static_cast<double>(out_h) / static_cast<double>(h));
  resize_crop_plan p;
  p.resized_w = std::max(detail::round_half_even(static_cast<double>(w) * scale), out_w);
  p.resized_h = std::max(detail::round_half_even(static_cast<double>(h) * scale), out_h);
  p.left = detail::round_half_even(static_cast<double>(p.resized_w - out_w) / 2.0);
  p.top = detail::round_half_even(static_cast<double>(p.resized_h - out_h) / 2.0);
  return p;
}

/// Aspect-preserving resize so the image covers out_w x out_h, then a centre crop to exactly that size
/// (plan_resize_center_crop). The resampling is sanawm's own separable antialiased bilinear (triangle filter,
/// detail::triangle_taps — the filter of PIL and torchvision `antialias=True`) evaluated in float with no
/// rounding between the horizontal and the vertical pass, then rounded to nearest. Only the pixels that
/// survive the crop are computed. Any channel count 1-4.
inline image_u8 resize_center_crop(const image_u8& img, index_t out_w, index_t out_h) {
  detail::check_image(img, "resize_center_crop");
  const auto plan = plan_resize_center_crop(img.width, img.height, out_w, out_h);
  const auto tx = detail::triangle_taps(img.width, plan.resized_w);
  const auto ty = detail::triangle_taps(img.height, plan.resized_h);
  const index_t c = img.channels;
  // Input rows the cropped output rows read.
  const auto oy0 = static_cast<std::size_t>(plan.top);
  const auto oy1 = static_cast<std::size_t>(plan.top + out_h - 1);
  const index_t row_lo = ty.first[oy0];
  const index_t row_hi = ty.first[oy1] + ty.count[oy1];
  // Horizontal pass: [row_hi - row_lo, out_w, C] floats.
  std::vector<float> tmp(static_cast<std::size_t>((row_hi - row_lo) * out_w * c));
  for (index_t y = row_lo; y < row_hi; ++y) {
    const std::uint8_t* src = img.pixels.data() + (y * img.width) * c;
    float* dst = tmp.data() + ((y - row_lo) * out_w) * c;
    for (index_t x = 0; x < out_w; ++x) {
      const auto ux = static_cast<std::size_t>(plan.left + x);
      const index_t first = tx.first[ux];
      const float* wt = tx.weights.data() + static_cast<index_t>(ux) * tx.stride;
      for (index_t ch = 0; ch < c; ++ch) {
        float acc = 0.0f;
        for (index_t k = 0; k < tx.count[ux]; ++k) acc += wt[k] * static_cast<float>(src[(first + k) * c + ch]);
        dst[x * c + ch] = acc;
      }
    }
  }
  // Vertical pass.
  image_u8 out(out_w, out_h, c);
  for (index_t y = 0; y < out_h; ++y) {
    const auto uy = static_cast<std::size_t>(plan.top + y);
    const index_t first = ty.first[uy] - row_lo;
    const float* wt = ty.weights.data() + static_cast<index_t>(uy) * ty.stride;
    for (index_t i = 0; i < out_w * c; ++i) {
      float acc = 0.0f;
      for (index_t k = 0; k < ty.count[uy]; ++k) acc += wt[k] * tmp[static_cast<std::size_t>((first + k) * out_w * c + i)];
      out.pixels[static_cast<std::size_t>(y * out_w * c + i)] = detail::to_u8_rounded(acc);
    }
  }
  return out;
}

/// The model's image input: [3, H, W] floats in [-1, 1], x / 127.5 - 1 (upstream's ToTensor + Normalize(0.5,
/// 0.5)). `img` must have 3 channels.
inline std::vector<float> to_model_input(const image_u8& img) {
  detail::check_image(img, "to_model_input", 3);
  const index_t hw = img.width * img.height;
  std::vector<float> out(static_cast<std::size_t>(3 * hw));
  for (index_t p = 0; p < hw; ++p)
    for (index_t ch = 0; ch < 3; ++ch)
      out[static_cast<std::size_t>(ch * hw + p)] =
          static_cast<float>(img.pixels[static_cast<std::size_t>(p * 3 + ch)]) / 127.5f - 1.0f;
  return out;
}

/// The inverse of to_model_input for decoder output: `chw` is [C, H, W] floats (C = 1, 3 or 4); each value
/// maps to clamp(127.5·x + 127.5, 0, 255) rounded to nearest (upstream's decode convention
/// `((x + 1) / 2).clamp(0, 1) · 255`, with rounding instead of truncation). NaN maps to 0.
inline image_u8 from_model_output(const float* chw, index_t channels, index_t height, index_t width) {
  if (channels != 1 && channels != 3 && channels != 4)
    throw make_error("from_model_output", "channels must be 1, 3 or 4, got ", channels);
  if (height <= 0 || width <= 0 || height > (index_t{1} << 16) || width > (index_t{1} << 16))
    throw make_error("from_model_output", "bad size ", width, "x", height);
  if (chw == nullptr) throw make_error("from_model_output", "null data pointer");
  image_u8 img(width, height, channels);
  const index_t hw = width * height;
  for (index_t ch = 0; ch < channels; ++ch)
    for (index_t p = 0; p < hw; ++p)
      img.pixels[static_cast<std::size_t>(p * channels + ch)] =
          detail::to_u8_rounded(127.5f * chw[ch * hw + p] + 127.5f);
  return img;
}

}  // namespace sanawm::io

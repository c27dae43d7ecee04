// SPDX-License-Identifier: Apache-2.0
// sanawm-camera-plot — renders trajectories top-down (world x to the right, z = forward up; OpenCV axes seen
// from above) into a small palette PNG: the path, heading ticks, start (green) and end (red). Used for
// docs/camera.md.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>  // compress2, crc32 (PNG's IDAT stream and chunk CRCs)

#include "common.hpp"

namespace {

// Palette: 0 background, 1 grid, 2 origin axes, 3 start, 4 end, 5.. one colour per trajectory.
constexpr std::array<std::array<std::uint8_t, 3>, 9> palette = {{{255, 255, 255},
                                                                 {228, 228, 228},
                                                                 {160, 160, 160},
                                                                 {40, 160, 60},
                                                                 {210, 40, 40},
                                                                 {31, 100, 200},
                                                                 {235, 130, 20},
                                                                 {130, 60, 180},
                                                                 {20, 150, 150}}};

struct canvas {
  int w, h;
  std::vector<std::uint8_t> px;
  canvas(int width, int height) : w(width), h(height), px(static_cast<std::size_t>(width * height), 0) {}
  void dot(int x, int y, std::uint8_t c, int r = 0) {
    for (int dy = -r; dy <= r; ++dy)
      for (int dx = -r; dx <= r; ++dx) {
        if (dx * dx + dy * dy > r * r + r) continue;
        const int X = x + dx, Y = y + dy;
        if (X >= 0 && X < w && Y >= 0 && Y < h) px[static_cast<std::size_t>(Y * w + X)] = c;
      }
  }
  void line(double x0, double y0, double x1, double y1, std::uint8_t c, int r = 0) {
    const int n = static_cast<int>(std::ceil(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0)))) + 1;
    for (int i = 0; i <= n; ++i) {
      const double s = static_cast<double>(i) / n;
      dot(static_cast<int>(std::lround(x0 + s * (x1 - x0))),
          static_cast<int>(std::lround(y0 + s * (y1 - y0))), c, r);
    }
  }
};

void put_u32(std::string& s, std::uint32_t v) {
  for (int k = 3; k >= 0; --k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

void chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put_u32(out, static_cast<std::uint32_t>(
                   crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

// 8-bit indexed PNG: IHDR, PLTE, one IDAT (filter 0 per row, zlib level 9), IEND.
void write_png(const std::string& path, const canvas& c) {
  std::string raw;
  for (int y = 0; y < c.h; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(&c.px[static_cast<std::size_t>(y * c.w)]),
               static_cast<std::size_t>(c.w));
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), 9) != Z_OK)
    throw sanawm::make_error("plot", "zlib compression failed");
  z.resize(zlen);
  std::string png = "\x89PNG\r\n\x1a\n", ihdr, plte;
  put_u32(ihdr, static_cast<std::uint32_t>(c.w));
  put_u32(ihdr, static_cast<std::uint32_t>(c.h));
  ihdr += std::string("\x08\x03\x00\x00\x00", 5);  // bit depth 8, colour type 3 (palette), no interlace
  for (const auto& rgb : palette) plte.append(reinterpret_cast<const char*>(rgb.data()), 3);
  chunk(png, "IHDR", ihdr);
  chunk(png, "PLTE", plte);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  std::ofstream f(path, std::ios::binary);
  if (!f.write(png.data(), static_cast<std::streamsize>(png.size())))
    throw sanawm::make_error("plot", "cannot write ", path);
}

void usage() {
  std::puts(
      "usage: sanawm-camera-plot OUT.png SOURCE [SOURCE ...] [--size W] [--ticks N]\n"
      "  SOURCE: --action DSL | --preset NAME [--frames N --speed X --radius R] | --load FILE; each source "
      "is\n"
      "  drawn in its own colour (blue, orange, purple, teal). --ticks N draws a heading tick every N "
      "frames.");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 3) return usage(), 2;
    const std::string out = argv[1];
    std::vector<sanawm::trajectory> trs;
    int size = 480, ticks = 10;
    camera_example::source cur;
    for (int i = 2; i < argc; ++i) {
      const std::string_view a = argv[i];
      const bool starts_source = a == "--action" || a == "--preset" || a == "--load";
      if (starts_source && cur.what != camera_example::source::kind::none) {
        trs.push_back(camera_example::build(cur));
        cur = {};
      }
      if (camera_example::parse_source_flag(cur, argc, argv, i)) continue;
      if ((a == "--size" || a == "--ticks") && i + 1 < argc) {
        (a == "--size" ? size : ticks) = static_cast<int>(camera_example::parse_number(a, argv[++i]));
        continue;
      }
      throw sanawm::make_error("cli", "unknown option '", a, "'");
    }
    if (cur.what != camera_example::source::kind::none) trs.push_back(camera_example::build(cur));
    if (trs.empty()) return usage(), 2;
    if (size < 64 || size > 4096 || ticks < 1)
      throw sanawm::make_error("cli", "--size in [64, 4096], --ticks ≥ 1");

    // Bounds over x (right) and z (forward), equal scale, 8% margin.
    double x0 = 0, x1 = 0, z0 = 0, z1 = 0;
    for (const auto& tr : trs)
      for (const auto& p : tr.c2w)
        x0 = std::min(x0, p.t(0)), x1 = std::max(x1, p.t(0)), z0 = std::min(z0, p.t(2)),
        z1 = std::max(z1, p.t(2));
    const double span = std::max({x1 - x0, z1 - z0, 1e-3}) * 1.16;
    const double cx = (x0 + x1) / 2, cz = (z0 + z1) / 2, scale = size / span;
    canvas c(size, size);
    auto X = [&](double x) { return size / 2.0 + (x - cx) * scale; };
    auto Y = [&](double z) { return size / 2.0 - (z - cz) * scale; };
    // Grid at a 1-2-5 step giving 4 to 10 lines.
    const double raw_step = span / 6, mag = std::pow(10.0, std::floor(std::log10(raw_step)));
    const double step = raw_step / mag < 2 ? 1 * mag : raw_step / mag < 5 ? 2 * mag : 5 * mag;
    for (double g = std::floor((cx - span / 2) / step) * step; g <= cx + span / 2; g += step)
      c.line(X(g), 0, X(g), size - 1, std::fabs(g) < step / 2 ? 2 : 1);
    for (double g = std::floor((cz - span / 2) / step) * step; g <= cz + span / 2; g += step)
      c.line(0, Y(g), size - 1, Y(g), std::fabs(g) < step / 2 ? 2 : 1);
    const double tick = span / 25;
    for (std::size_t k = 0; k < trs.size(); ++k) {
      const auto& p = trs[k].c2w;
      const auto col = static_cast<std::uint8_t>(5 + k % 4);
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (i > 0) c.line(X(p[i - 1].t(0)), Y(p[i - 1].t(2)), X(p[i].t(0)), Y(p[i].t(2)), col, 1);
        if (i % static_cast<std::size_t>(ticks) == 0 || i + 1 == p.size()) {
          // The optical axis projected on the ground plane.
          const double fx = p[i](0, 2), fz = p[i](2, 2), n = std::max(std::hypot(fx, fz), 1e-9);
          c.line(X(p[i].t(0)), Y(p[i].t(2)), X(p[i].t(0) + tick * fx / n), Y(p[i].t(2) + tick * fz / n), col,
                 0);
        }
      }
      c.dot(static_cast<int>(X(p.front().t(0))), static_cast<int>(Y(p.front().t(2))), 3, 4);
      c.dot(static_cast<int>(X(p.back().t(0))), static_cast<int>(Y(p.back().t(2))), 4, 4);
    }
    write_png(out, c);
    std::printf("wrote %s (%dx%d, grid step %g units)\n", out.c_str(), size, size, step);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sanawm-camera-plot: %s\n", e.what());
    return 1;
  }
}

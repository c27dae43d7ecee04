// SPDX-License-Identifier: Apache-2.0
// sanawm-camera — builds a camera trajectory from the SANA-WM action DSL, a named preset or a file, prints it
// frame by frame, optionally resamples it to a clip length and shows the model's camera inputs, and writes it
// as .npy/.npz.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "common.hpp"
#include "sanawm/model/camera/conditioning.hpp"

namespace {

void usage() {
  std::puts(
      "usage: sanawm-camera (--action DSL | --preset NAME | --load FILE) [options]\n"
      "  --action DSL           SANA-WM action string: <keys>-<frames>,...  keys w/s move, a/d yaw, i/k "
      "pitch,\n"
      "                         j/l strafe, 'none' = idle; e.g. \"w-30,dl-20,none-10\"\n"
      "  --preset NAME          static, dolly_in, dolly_out, pan_left, pan_right, tilt_up, tilt_down, "
      "truck_left,\n"
      "                         truck_right, crane_up, crane_down, orbit_left, orbit_right\n"
      "  --load FILE            .npy (c2w F×4×4), .npz (SANA-WM-Bench), .txt (RealEstate10K) or .json\n"
      "  --intrinsics FILE      intrinsics .npy for --load: (4,), (3,3), (F,4) or (F,3,3), source-image "
      "pixels\n"
      "  --frames N             preset length in poses (default 81)\n"
      "  --speed X              preset speed: units/frame (dolly, truck, crane) or degrees/frame (pan, tilt, "
      "orbit)\n"
      "  --radius R             orbit radius (default 2)\n"
      "  --translation-speed X  DSL speed, units/frame (default 0.025)\n"
      "  --rotation-speed-deg X DSL turn rate, degrees/frame (default 0.6)\n"
      "  --pitch-limit-deg X    DSL pitch clamp (default 60)\n"
      "  --no-smooth            DSL without velocity smoothing\n"
      "  --num-frames N         resample the whole path to N frames (snapped to 8k+1)\n"
      "  --fov DEG              horizontal FOV when the trajectory has no intrinsics (default 60)\n"
      "  --image-size WxH       size of the image the pixel intrinsics refer to (default: 1280x704)\n"
      "  --conditions           print camera_conditions (704x1280) and chunk_plucker statistics\n"
      "  --out FILE.npy         write c2w as float32 (F,4,4)  (SANA-WM --camera)\n"
      "  --out-intrinsics FILE  write K as float32 (F,3,3)   (SANA-WM --intrinsics)\n"
      "  --out-npz FILE.npz     write c2w, intrinsics, fps, num_frames (SANA-WM-Bench layout)\n"
      "  --quiet                no per-frame table");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    camera_example::source src;
    sanawm::index_t num_frames = 0, width = 0, height = 0;
    double fov = 60;
    bool conditions = false, quiet = false;
    std::string out, out_k, out_npz;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto value = [&]() -> const char* {
        if (i + 1 >= argc) throw sanawm::make_error("cli", a, " needs a value");
        return argv[++i];
      };
      if (camera_example::parse_source_flag(src, argc, argv, i)) continue;
      if (a == "--help" || a == "-h") return usage(), 0;
      if (a == "--num-frames")
        num_frames = static_cast<sanawm::index_t>(camera_example::parse_number(a, value()));
      else if (a == "--fov")
        fov = camera_example::parse_number(a, value());
      else if (a == "--image-size") {
        const std::string v = value();
        if (std::sscanf(v.c_str(), "%ldx%ld", &width, &height) != 2 || width <= 0 || height <= 0)
          throw sanawm::make_error("cli", "--image-size expects WxH, got '", v, "'");
      } else if (a == "--conditions")
        conditions = true;
      else if (a == "--quiet")
        quiet = true;
      else if (a == "--out")
        out = value();
      else if (a == "--out-intrinsics")
        out_k = value();
      else if (a == "--out-npz")
        out_npz = value();
      else
        throw sanawm::make_error("cli", "unknown option '", a, "' (see --help)");
    }
    if (src.what == camera_example::source::kind::none) return usage(), 2;

    sanawm::trajectory tr = camera_example::build(src);
    if (width > 0) tr.image_width = width, tr.image_height = height;
    if (!tr.has_intrinsics()) {
      if (tr.image_width == 0) tr.image_width = 1280, tr.image_height = 704;
      tr.K = {sanawm::intrinsics_from_fov(fov, tr.image_width, tr.image_height)};
      tr.units = sanawm::intrinsics_units::pixels;
    }
    if (num_frames > 0) tr = sanawm::resample(tr, sanawm::snap_num_frames(num_frames));
    sanawm::validate_trajectory(tr);

    std::printf("trajectory: %ld frames at %.3g fps, intrinsics %s (%zu)\n", static_cast<long>(tr.frames()),
                tr.fps, tr.units == sanawm::intrinsics_units::pixels ? "in pixels" : "normalised",
                tr.K.size());
    if (!quiet) {
      std::printf("%6s %10s %10s %10s %9s %9s\n", "frame", "x", "y", "z", "yaw°", "pitch°");
      for (sanawm::index_t f = 0; f < tr.frames(); ++f) {
        const sanawm::mat4& p = tr.c2w[static_cast<std::size_t>(f)];
        double yaw = 0, pitch = 0;
        camera_example::heading_deg(p, yaw, pitch);
        std::printf("%6ld %10.5f %10.5f %10.5f %9.3f %9.3f\n", static_cast<long>(f), p.t(0), p.t(1), p.t(2),
                    yaw, pitch);
      }
    }
    if (conditions) {
      const sanawm::camera_conditioning c = sanawm::prepare_camera(tr);
      const auto cp = sanawm::make_chunk_plucker(c);
      std::printf(
          "camera_conditions [1, %ld, 20] (relative c2w row-major | fx fy cx cy on the %ldx%ld latent "
          "grid):\n",
          static_cast<long>(c.latent_frames), static_cast<long>(c.latent_height),
          static_cast<long>(c.latent_width));
      for (sanawm::index_t t = 0; t < c.latent_frames; ++t) {
        std::printf("  t=%-3ld", static_cast<long>(t));
        for (int k = 0; k < 20; ++k) std::printf(" %.4g", static_cast<double>(c.camera_conditions(0, t, k)));
        std::printf("\n");
      }
      double lo = 1e30, hi = -1e30;
      for (float v : cp) lo = std::min(lo, static_cast<double>(v)), hi = std::max(hi, static_cast<double>(v));
      std::printf("chunk_plucker [1, 48, %ld, %ld, %ld]: values in [%.4f, %.4f]\n",
                  static_cast<long>(c.latent_frames), static_cast<long>(c.latent_height),
                  static_cast<long>(c.latent_width), lo, hi);
    }
    if (!out.empty()) {
      sanawm::io::write_trajectory_npy(
          out, tr, out_k.empty() ? std::nullopt : std::optional<std::filesystem::path>(out_k));
      std::printf("wrote %s%s%s\n", out.c_str(), out_k.empty() ? "" : " and ", out_k.c_str());
    }
    if (!out_npz.empty()) {
      sanawm::io::write_trajectory_npz(out_npz, tr);
      std::printf("wrote %s\n", out_npz.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sanawm-camera: %s\n", e.what());
    return 1;
  }
}

// SPDX-License-Identifier: Apache-2.0
// sanawm-camera-metrics — camera-control accuracy of an estimated trajectory (e.g. SfM on a generated video)
// against the reference: RotErr, TransErr and CamMC after relativisation and Umeyama Sim(3) alignment
// (SANA-WM App. D.3).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "sanawm/io/trajectory.hpp"
#include "sanawm/model/camera/metrics.hpp"

namespace {

void usage() {
  std::puts(
      "usage: sanawm-camera-metrics REFERENCE ESTIMATE [options]\n"
      "  files: .npy (c2w F×4×4), .npz (SANA-WM-Bench), .txt (RealEstate10K), .json\n"
      "  --align sim3|se3|none      alignment of the estimate's camera centres (default sim3)\n"
      "  --normalize none|ref|own   translation normalisation (CamI2V: own)\n"
      "  --radians                  RotErr in radians (default degrees)\n"
      "  --sum                      sum over frames (CamI2V) instead of the mean (SANA-WM)\n"
      "  --no-relativize            compare absolute poses\n"
      "  --resample                 resample the estimate to the reference's frame count\n"
      "  --per-frame                print every frame's errors");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string paths[2];
    int n_paths = 0;
    sanawm::camera_metric_options o;
    bool per_frame = false, resample = false;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto value = [&]() -> std::string_view {
        if (i + 1 >= argc) throw sanawm::make_error("cli", a, " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") return usage(), 0;
      if (a == "--align") {
        const auto v = value();
        if (v == "sim3")
          o.alignment = sanawm::camera_alignment::sim3;
        else if (v == "se3")
          o.alignment = sanawm::camera_alignment::se3;
        else if (v == "none")
          o.alignment = sanawm::camera_alignment::none;
        else
          throw sanawm::make_error("cli", "--align expects sim3, se3 or none");
      } else if (a == "--normalize") {
        const auto v = value();
        if (v == "none")
          o.normalization = sanawm::translation_normalization::none;
        else if (v == "ref")
          o.normalization = sanawm::translation_normalization::reference_scale;
        else if (v == "own")
          o.normalization = sanawm::translation_normalization::own_scale;
        else
          throw sanawm::make_error("cli", "--normalize expects none, ref or own");
      } else if (a == "--radians")
        o.degrees = false;
      else if (a == "--sum")
        o.mean = false;
      else if (a == "--no-relativize")
        o.relativize = false;
      else if (a == "--per-frame")
        per_frame = true;
      else if (a == "--resample")
        resample = true;
      else if (!a.empty() && a[0] == '-')
        throw sanawm::make_error("cli", "unknown option '", a, "' (see --help)");
      else if (n_paths < 2)
        paths[n_paths++] = std::string(a);
      else
        throw sanawm::make_error("cli", "expected two trajectory files");
    }
    if (n_paths != 2) return usage(), 2;
    const sanawm::trajectory ref = sanawm::io::load_trajectory(paths[0]);
    sanawm::trajectory est = sanawm::io::load_trajectory(paths[1]);
    if (resample && est.frames() != ref.frames()) est = sanawm::resample(est, ref.frames());
    const sanawm::camera_metrics m = sanawm::compare_trajectories(ref.c2w, est.c2w, o);
    const char* unit = o.degrees ? "deg" : "rad";
    if (per_frame) {
      std::printf("%6s %12s %12s %12s\n", "frame", "RotErr", "TransErr", "CamMC");
      for (std::size_t i = 0; i < m.rot_err_per_frame.size(); ++i)
        std::printf("%6zu %12.6f %12.6f %12.6f\n", i, m.rot_err_per_frame[i], m.trans_err_per_frame[i],
                    m.cam_mc_per_frame[i]);
    }
    std::printf("frames %zu, alignment scale %.6g\n", ref.c2w.size(), m.alignment.scale);
    std::printf("RotErr %.6f %s   TransErr %.6f   CamMC %.6f   (%s over frames)\n", m.rot_err, unit,
                m.trans_err, m.cam_mc, o.mean ? "mean" : "sum");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sanawm-camera-metrics: %s\n", e.what());
    return 1;
  }
}

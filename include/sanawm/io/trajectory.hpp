// SPDX-License-Identifier: Apache-2.0
// sanawm/io/trajectory.hpp — camera trajectory files: RealEstate10K text (w2c, normalised intrinsics), c2w +
// intrinsics .npy (SANA-WM's --camera/--intrinsics), SANA-WM-Bench .npz, JSON lists of c2w matrices, and
// .npy/.npz writers.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/trajectory.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <algorithm>     // std::sort
#include <charconv>      // std::from_chars
#include <cmath>         // std::fabs, std::isfinite
#include <cstddef>       // std::byte, std::size_t
#include <cstdint>       // std::int64_t
#include <filesystem>    // std::filesystem::path
#include <fstream>       // std::ifstream
#include <iterator>      // std::istreambuf_iterator
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::errc
#include <vector>        // std::vector

#include "sanawm/core/error.hpp"               // make_error, str_cat
#include "sanawm/core/int.hpp"                 // index_t
#include "sanawm/io/detail/text.hpp"           // printable_key
#include "sanawm/io/json.hpp"                  // parse_json, json
#include "sanawm/io/npy.hpp"                   // npy_array, read_npy, write_npy
#include "sanawm/io/npz.hpp"                   // npz_file, npz_writer
#include "sanawm/model/camera/trajectory.hpp"  // trajectory, mat4, intrinsics

namespace sanawm::io {

// ---- RealEstate10K ---------------------------------------------------------------------------------------

/// A RealEstate10K pose file: the source URL, per-frame timestamps (µs) and the camera as a c2w trajectory
/// (intrinsics normalised by the image width/height, units = normalized; fps estimated from the timestamps).
struct re10k_file {
  std::string url;
  std::vector<std::int64_t> timestamps_us;
  trajectory camera;
};

/// Parses RealEstate10K text: an optional first line with the video URL, then one line per frame with 19
/// numbers: timestamp_us fx fy cx cy k1 k2 (intrinsics normalised to [0, 1], k1 k2 = 0) and the 3×4
/// world-to-camera matrix row-major. Blank lines are skipped. Throws "[re10k] <label>:<line>: ..." on a wrong
/// number count, unparsable or non-finite numbers, a non-rigid w2c (tolerance `rotation_tolerance`) or no
/// frames.
inline re10k_file parse_re10k(std::string_view text, std::string_view label = "<memory>",
                              double rotation_tolerance = 1e-3) {
  constexpr std::string_view op = "re10k";
  re10k_file out;
  out.camera.units = intrinsics_units::normalized;
  std::size_t pos = 0, line_no = 0;
  bool first_content = true;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) {
      if (end == text.size()) break;
      continue;
    }
    // Tokenise on blanks; the first non-blank line may be the URL (anything that is not a number list).
    std::vector<double> v;
    bool numeric = true;
    std::size_t p = 0;
    while (p < line.size()) {
      while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
      if (p >= line.size()) break;
      std::size_t q = p;
      while (q < line.size() && line[q] != ' ' && line[q] != '\t') ++q;
      const std::string_view tok = line.substr(p, q - p);
      double x = 0;
      const char* b = tok.data();
      if (!tok.empty() && tok[0] == '+') ++b;  // from_chars does not take a leading '+'
      const auto r = std::from_chars(b, tok.data() + tok.size(), x);
      if (r.ec != std::errc{} || r.ptr != tok.data() + tok.size()) {
        numeric = false;
        if (!first_content)
          throw make_error(op, label, ":", line_no, ": '", detail::printable_key(tok), "' is not a number");
        break;
      }
      if (!std::isfinite(x))
        throw make_error(op, label, ":", line_no, ": non-finite value '", detail::printable_key(tok), "'");
      v.push_back(x);
      p = q;
    }
    if (first_content && !numeric) {
      out.url = std::string(line);
      first_content = false;
      continue;
    }
    first_content = false;
    if (v.size() != 19)
      throw make_error(op, label, ":", line_no,
                       ": expected 19 numbers (timestamp, fx fy cx cy, 2 distortion terms, ",
                       "12 of the 3×4 w2c matrix), got ", v.size());
    if (!(v[1] > 0) || !(v[2] > 0))
      throw make_error(op, label, ":", line_no, ": focal lengths must be positive, got fx=", v[1],
                       " fy=", v[2]);
    mat4 w2c;
    for (int k = 0; k < 12; ++k) w2c.m[k] = v[7 + static_cast<std::size_t>(k)];
    validate_rigid(w2c, rotation_tolerance, op, str_cat(label, ":", line_no, ": w2c"));
    if (!(v[0] >= 0 && v[0] < 1e15))  // µs since the video start; bounds keep the int64 arithmetic exact
      throw make_error(op, label, ":", line_no, ": timestamp ", v[0], " is out of range [0, 1e15) µs");
    out.timestamps_us.push_back(static_cast<std::int64_t>(v[0]));
    out.camera.c2w.push_back(inverse_rigid(w2c));
    out.camera.K.push_back({v[1], v[2], v[3], v[4]});
    if (out.camera.c2w.size() > 10'000'000) throw make_error(op, label, ": more than 10 million frames");
  }
  if (out.camera.c2w.empty()) throw make_error(op, label, ": no camera lines (expected 19 numbers per line)");
  // Frame rate from the median timestamp step (RE10K clips are subsampled; 30 fps when unknown).
  out.camera.fps = 30.0;
  if (out.timestamps_us.size() >= 2) {
    std::vector<std::int64_t> d;
    for (std::size_t i = 1; i < out.timestamps_us.size(); ++i)
      d.push_back(out.timestamps_us[i] - out.timestamps_us[i - 1]);
    std::sort(d.begin(), d.end());
    const std::int64_t med = d[d.size() / 2];
    if (med > 0) out.camera.fps = 1e6 / static_cast<double>(med);
  }
  return out;
}

namespace detail {
inline std::string read_text_file(const std::filesystem::path& path, std::string_view op) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(op, path.string(), ": cannot open for reading");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw make_error(op, path.string(), ": read error");
  return text;
}
}  // namespace detail

inline re10k_file read_re10k(const std::filesystem::path& path, double rotation_tolerance = 1e-3) {
  return parse_re10k(detail::read_text_file(path, "re10k"), path.string(), rotation_tolerance);
}

// ---- arrays → poses and intrinsics ------------------------------------------------------------------------

namespace detail {
inline std::string shape_text(const std::vector<index_t>& s) {
  return shape_string(s);
}

inline void require_float(const npy_array& a, std::string_view op, std::string_view what) {
  if (a.dtype != st_dtype::F32 && a.dtype != st_dtype::F64 && a.dtype != st_dtype::F16)
    throw make_error(op, what, ": expected a float32 or float64 array, got ", st_dtype_name(a.dtype));
}
}  // namespace detail

/// Poses from an array of shape (F, 4, 4) (or (F, 3, 4), bottom row implied). Values are taken as they are
/// (validate_trajectory checks rigidity). Throws naming `what` on other dtypes or shapes.
inline std::vector<mat4> poses_from_array(const npy_array& a, std::string_view op, std::string_view what) {
  detail::require_float(a, op, what);
  if (a.shape.size() != 3 || (a.shape[1] != 4 && a.shape[1] != 3) || a.shape[2] != 4 || a.shape[0] < 1)
    throw make_error(op, what, ": expected camera poses of shape (F, 4, 4) or (F, 3, 4) with F ≥ 1, got ",
                     detail::shape_text(a.shape));
  const std::vector<double> v = a.as<double>(what);
  const index_t f = a.shape[0], rows = a.shape[1];
  std::vector<mat4> out(static_cast<std::size_t>(f));
  for (index_t i = 0; i < f; ++i)
    for (index_t k = 0; k < rows * 4; ++k)
      out[static_cast<std::size_t>(i)].m[k] = v[static_cast<std::size_t>(i * rows * 4 + k)];
  return out;
}

/// Intrinsics from an array of shape (4,) or (3, 3) (shared), (F, 4) or (F, 3, 3) (per frame; extra frames
/// are dropped as upstream does, fewer than `frames` is an error). A 3×3 K must have the last row (0, 0, 1).
inline std::vector<intrinsics> intrinsics_from_array(const npy_array& a, index_t frames, std::string_view op,
                                                     std::string_view what) {
  detail::require_float(a, op, what);
  const std::vector<double> v = a.as<double>(what);
  const auto& s = a.shape;
  auto from_k33 = [&](std::size_t o, index_t i) -> intrinsics {
    if (std::fabs(v[o + 6]) > 1e-6 || std::fabs(v[o + 7]) > 1e-6 || std::fabs(v[o + 8] - 1.0) > 1e-6)
      throw make_error(op, what, ": K of frame ", i, " has last row (", v[o + 6], ", ", v[o + 7], ", ",
                       v[o + 8], "), expected (0, 0, 1): not an intrinsics matrix");
    return {v[o], v[o + 4], v[o + 2], v[o + 5]};
  };
  std::vector<intrinsics> out;
  if (s == std::vector<index_t>{4}) {
    out.push_back({v[0], v[1], v[2], v[3]});
  } else if (s == std::vector<index_t>{3, 3}) {
    out.push_back(from_k33(0, 0));
  } else if (s.size() == 2 && s[1] == 4) {
    if (s[0] < frames) throw make_error(op, what, ": ", s[0], " intrinsics rows for ", frames, " frames");
    for (index_t i = 0; i < frames; ++i) {
      const std::size_t o = static_cast<std::size_t>(4 * i);
      out.push_back({v[o], v[o + 1], v[o + 2], v[o + 3]});
    }
  } else if (s.size() == 3 && s[1] == 3 && s[2] == 3) {
    if (s[0] < frames) throw make_error(op, what, ": ", s[0], " intrinsics matrices for ", frames, " frames");
    for (index_t i = 0; i < frames; ++i) out.push_back(from_k33(static_cast<std::size_t>(9 * i), i));
  } else {
    throw make_error(op, what, ": expected intrinsics of shape (4,), (3, 3), (F, 4) or (F, 3, 3), got ",
                     detail::shape_text(s));
  }
  return out;
}

// ---- .npy / .npz ------------------------------------------------------------------------------------------

/// SANA-WM's --camera / --intrinsics files: c2w (F, 4, 4) and optional intrinsics in pixels of the input
/// image. Image size and fps are unknown (0 and 16): set image_width/height from the input image before
/// conditioning.
inline trajectory read_trajectory_npy(const std::filesystem::path& c2w_path,
                                      const std::optional<std::filesystem::path>& intrinsics_path = {}) {
  trajectory tr;
  tr.c2w = poses_from_array(read_npy(c2w_path), "trajectory", c2w_path.string());
  if (intrinsics_path)
    tr.K = intrinsics_from_array(read_npy(*intrinsics_path), tr.frames(), "trajectory",
                                 intrinsics_path->string());
  return tr;
}

/// A SANA-WM-Bench trajectory from an open .npz: c2w (F, 4, 4), intrinsics (F, 3, 3) in source-image pixels,
/// optional fps and num_frames (num_frames must equal F when present).
inline trajectory trajectory_from_npz(const npz_file& z) {
  constexpr std::string_view op = "trajectory";
  trajectory tr;
  if (!z.contains("c2w"))
    throw make_error(op, z.label(), ": no 'c2w' array (SANA-WM-Bench files hold c2w, intrinsics)");
  tr.c2w = poses_from_array(z.read("c2w"), op, str_cat(z.label(), ":c2w"));
  if (z.contains("intrinsics"))
    tr.K = intrinsics_from_array(z.read("intrinsics"), tr.frames(), op, str_cat(z.label(), ":intrinsics"));
  if (z.contains("fps")) {
    const npy_array a = z.read("fps");
    if (a.numel() != 1)
      throw make_error(op, z.label(), ":fps: expected one value, got shape ", shape_string(a.shape));
    tr.fps = a.as<double>()[0];
    if (!(tr.fps > 0) || !std::isfinite(tr.fps))
      throw make_error(op, z.label(), ":fps: must be positive, got ", tr.fps);
  }
  if (z.contains("num_frames")) {
    const npy_array a = z.read("num_frames");
    if (a.numel() != 1) throw make_error(op, z.label(), ":num_frames: expected one value");
    const double n = a.as<double>()[0];
    if (n != static_cast<double>(tr.frames()))
      throw make_error(op, z.label(), ": num_frames = ", n, " but c2w holds ", tr.frames(), " frames");
  }
  return tr;
}

inline trajectory read_trajectory_npz(const std::filesystem::path& path) {
  return trajectory_from_npz(npz_file::open(path));
}

namespace detail {
inline std::vector<float> c2w_floats(const trajectory& tr) {
  std::vector<float> out;
  out.reserve(tr.c2w.size() * 16);
  for (const mat4& p : tr.c2w)
    for (double x : p.m) out.push_back(static_cast<float>(x));
  return out;
}
inline std::vector<float> k33_floats(const trajectory& tr) {
  std::vector<float> out;
  for (index_t i = 0; i < tr.frames(); ++i) {
    const intrinsics& k = tr.intrinsics_at(i);
    const double m[9] = {k.fx, 0, k.cx, 0, k.fy, k.cy, 0, 0, 1};
    for (double x : m) out.push_back(static_cast<float>(x));
  }
  return out;
}
}  // namespace detail

/// Writes c2w as float32 (F, 4, 4) .npy and, when the trajectory has intrinsics and a path is given, float32
/// (F, 3, 3) K matrices: the files SANA-WM's --camera and --intrinsics read. Intrinsics keep their units.
inline void write_trajectory_npy(const std::filesystem::path& c2w_path, const trajectory& tr,
                                 const std::optional<std::filesystem::path>& intrinsics_path = {}) {
  if (tr.c2w.empty())
    throw make_error("trajectory", "refusing to write an empty trajectory to ", c2w_path.string());
  const std::vector<float> c = detail::c2w_floats(tr);
  write_npy<float>(c2w_path, {tr.frames(), 4, 4}, std::span<const float>(c));
  if (intrinsics_path && tr.has_intrinsics()) {
    const std::vector<float> k = detail::k33_floats(tr);
    write_npy<float>(*intrinsics_path, {tr.frames(), 3, 3}, std::span<const float>(k));
  }
}

/// Writes a SANA-WM-Bench style .npz: c2w (F, 4, 4) float32, intrinsics (F, 3, 3) float32 when present,
/// fps (float64 scalar) and num_frames (int64 scalar).
inline void write_trajectory_npz(const std::filesystem::path& path, const trajectory& tr) {
  if (tr.c2w.empty())
    throw make_error("trajectory", "refusing to write an empty trajectory to ", path.string());
  npz_writer w;
  w.add<float>("c2w", {tr.frames(), 4, 4}, detail::c2w_floats(tr));
  if (tr.has_intrinsics()) w.add<float>("intrinsics", {tr.frames(), 3, 3}, detail::k33_floats(tr));
  w.add<double>("fps", {}, std::vector<double>{tr.fps});
  w.add<std::int64_t>("num_frames", {}, std::vector<std::int64_t>{tr.frames()});
  w.write(path);
}

// ---- JSON
// ---------------------------------------------------------------------------------------------------

namespace detail {
inline mat4 json_pose(const json& j, std::string_view op, const std::string& what) {
  std::vector<double> v;
  if (j.is_array() && j.size() == 16) {
    for (std::size_t i = 0; i < 16; ++i) v.push_back(json_as<double>(j[i], str_cat(what, "[", i, "]"), op));
  } else if (j.is_array() && (j.size() == 4 || j.size() == 3)) {
    for (std::size_t r = 0; r < j.size(); ++r) {
      const std::vector<double> row = json_as<std::vector<double>>(j[r], str_cat(what, " row ", r), op);
      if (row.size() != 4)
        throw make_error(op, what, " row ", r, " has ", row.size(), " numbers, expected 4");
      v.insert(v.end(), row.begin(), row.end());
    }
  } else {
    throw make_error(op, what, ": expected a 4×4 (or 3×4) nested list or 16 numbers");
  }
  mat4 p;
  for (std::size_t k = 0; k < v.size(); ++k) p.m[k] = v[k];
  return p;
}
}  // namespace detail

/// Parses a JSON trajectory: either a list of c2w matrices (each a 4×4 / 3×4 nested list or 16 numbers,
/// row-major, OpenCV axes), or an object {"c2w": [...], "intrinsics": [...] (each [fx, fy, cx, cy] or a 3×3
/// list; one shared or one per frame), "fps": 16, "image_width": W, "image_height": H, "units": "pixels" |
/// "normalized", "convention": "opencv" | "opengl", "pose": "c2w" | "w2c"}.
inline trajectory parse_trajectory_json(std::string_view text, std::string_view label = "<memory>") {
  constexpr std::string_view op = "trajectory_json";
  const json root = parse_json(text, op, label);
  trajectory tr;
  const json* poses = &root;
  bool opengl = false, w2c = false;
  if (root.is_object()) {
    poses = &json_at(root, "c2w", op, label);
    if (const json* k = json_find(root, "intrinsics", op, label)) {
      if (!k->is_array() || k->empty())
        throw make_error(op, label, ": 'intrinsics' must be a non-empty list");
      const bool single =
          (k->size() == 4 && (*k)[0].is_number()) ||
          (k->size() == 3 && (*k)[0].is_array() && !(*k)[0].empty() && (*k)[0][0].is_number());
      auto one = [&](const json& e, std::size_t i) -> intrinsics {
        if (e.is_array() && e.size() == 4 && e[0].is_number()) {
          const auto v = json_as<std::vector<double>>(e, str_cat("intrinsics[", i, "]"), op, label);
          return {v[0], v[1], v[2], v[3]};
        }
        if (e.is_array() && e.size() == 3) {
          std::vector<double> m;
          for (std::size_t r = 0; r < 3; ++r) {
            const auto row =
                json_as<std::vector<double>>(e[r], str_cat("intrinsics[", i, "] row ", r), op, label);
            if (row.size() != 3)
              throw make_error(op, label, ": intrinsics[", i, "] row ", r, " needs 3 numbers");
            m.insert(m.end(), row.begin(), row.end());
          }
          if (std::fabs(m[6]) > 1e-6 || std::fabs(m[7]) > 1e-6 || std::fabs(m[8] - 1) > 1e-6)
            throw make_error(op, label, ": intrinsics[", i, "] last row is not (0, 0, 1)");
          return {m[0], m[4], m[2], m[5]};
        }
        throw make_error(op, label, ": intrinsics[", i, "] must be [fx, fy, cx, cy] or a 3×3 list");
      };
      if (single)
        tr.K.push_back(one(*k, 0));
      else
        for (std::size_t i = 0; i < k->size(); ++i) tr.K.push_back(one((*k)[i], i));
    }
    if (const json* f = json_find(root, "fps", op, label)) tr.fps = json_as<double>(*f, "fps", op, label);
    if (const json* w = json_find(root, "image_width", op, label))
      tr.image_width = json_as<index_t>(*w, "image_width", op, label);
    if (const json* h = json_find(root, "image_height", op, label))
      tr.image_height = json_as<index_t>(*h, "image_height", op, label);
    if (tr.image_width < 0 || tr.image_height < 0)
      throw make_error(op, label, ": image size must be non-negative");
    if (const json* u = json_find(root, "units", op, label)) {
      const auto s = json_as<std::string>(*u, "units", op, label);
      if (s == "pixels")
        tr.units = intrinsics_units::pixels;
      else if (s == "normalized")
        tr.units = intrinsics_units::normalized;
      else
        throw make_error(op, label, ": units must be \"pixels\" or \"normalized\", got \"",
                         detail::printable_key(s), "\"");
    }
    if (const json* c = json_find(root, "convention", op, label)) {
      const auto s = json_as<std::string>(*c, "convention", op, label);
      if (s != "opencv" && s != "opengl")
        throw make_error(op, label, ": convention must be \"opencv\" or \"opengl\", got \"",
                         detail::printable_key(s), "\"");
      opengl = s == "opengl";
    }
    if (const json* p = json_find(root, "pose", op, label)) {
      const auto s = json_as<std::string>(*p, "pose", op, label);
      if (s != "c2w" && s != "w2c")
        throw make_error(op, label, ": pose must be \"c2w\" or \"w2c\", got \"", detail::printable_key(s),
                         "\"");
      w2c = s == "w2c";
    }
  }
  if (!poses->is_array() || poses->empty())
    throw make_error(op, label, ": expected a non-empty list of 4×4 camera-to-world matrices");
  for (std::size_t i = 0; i < poses->size(); ++i) {
    mat4 p = detail::json_pose((*poses)[i], op, str_cat(label, ": pose ", i));
    if (w2c) {
      validate_rigid(p, 1e-3, op, str_cat(label, ": w2c pose ", i));
      p = inverse_rigid(p);
    }
    tr.c2w.push_back(opengl ? opengl_to_opencv(p) : p);
  }
  if (!(tr.fps > 0) || !std::isfinite(tr.fps))
    throw make_error(op, label, ": fps must be positive, got ", tr.fps);
  if (!tr.K.empty() && tr.K.size() != 1 && tr.K.size() != tr.c2w.size())
    throw make_error(op, label, ": ", tr.K.size(), " intrinsics for ", tr.c2w.size(),
                     " poses (give 1 or one per pose)");
  return tr;
}

inline trajectory read_trajectory_json(const std::filesystem::path& path) {
  return parse_trajectory_json(detail::read_text_file(path, "trajectory_json"), path.string());
}

/// Loads a trajectory by file extension: .txt (RealEstate10K), .json, .npz (SANA-WM-Bench), .npy (c2w; with
/// `intrinsics_path` for the intrinsics .npy). Intrinsics given by `intrinsics_path` replace those in the
/// file.
inline trajectory load_trajectory(const std::filesystem::path& path,
                                  const std::optional<std::filesystem::path>& intrinsics_path = {}) {
  std::string ext = path.extension().string();
  for (char& c : ext)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  trajectory tr;
  if (ext == ".txt")
    tr = read_re10k(path).camera;
  else if (ext == ".json")
    tr = read_trajectory_json(path);
  else if (ext == ".npz")
    tr = read_trajectory_npz(path);
  else if (ext == ".npy")
    return read_trajectory_npy(path, intrinsics_path);
  else
    throw make_error("trajectory", path.string(), ": unknown trajectory format '", detail::printable_key(ext),
                     "'; expected .npy (c2w), .npz (SANA-WM-Bench), .txt (RealEstate10K) or .json");
  if (intrinsics_path) {
    tr.K = intrinsics_from_array(read_npy(*intrinsics_path), tr.frames(), "trajectory",
                                 intrinsics_path->string());
    tr.units = intrinsics_units::pixels;
  }
  return tr;
}

}  // namespace sanawm::io

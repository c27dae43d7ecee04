// SPDX-License-Identifier: Apache-2.0
// sanawm-quantize — quantises the selected linear weights of a safetensors checkpoint to NVFP4 (E2M1 codes, UE4M3
// scales per 16, fp32 global scale; file format in docs/nvfp4.md) and prints sizes and per-layer errors.
//
//   sanawm-quantize IN.safetensors OUT.safetensors [--include GLOB]... [--exclude GLOB]... [--no-default]
//                   [--rht SEED] [--quiet]
//
// Default selection = upstream's Stage-1 "self_attn+cross+ffn" set; the camera branch, Plücker modules, embedders,
// depthwise/temporal convs and the final layer stay in native precision. --include/--exclude add patterns
// ('*' matches anything, dots included); --no-default starts from an empty include list.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/io/safetensors.hpp"
#include "sanawm/kernels/nvfp4/nvfp4_io.hpp"

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s IN.safetensors OUT.safetensors [--include GLOB]... [--exclude GLOB]... [--no-default]\n"
               "       [--rht SEED] [--quiet]\n",
               argv0);
  return 2;
}

std::string shape_text(const std::vector<sanawm::index_t>& s) { return sanawm::io::shape_string(s); }

}  // namespace

int main(int argc, char** argv) {
  using namespace sanawm;
  std::vector<std::string> pos, inc, exc;
  bool use_default = true, quiet = false;
  nvfp4_options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--include" || a == "--exclude" || a == "--rht") {
      const char* v = next();
      if (!v) return usage(argv[0]);
      if (a == "--include") inc.emplace_back(v);
      else if (a == "--exclude") exc.emplace_back(v);
      else {
        opt.rht = true;
        opt.rht_seed = std::stoull(v);
      }
    } else if (a == "--no-default") {
      use_default = false;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return usage(argv[0]);
    } else {
      pos.emplace_back(a);
    }
  }
  if (pos.size() != 2) return usage(argv[0]);
  try {
    nvfp4_io::layer_selection sel = use_default ? nvfp4_io::default_selection() : nvfp4_io::layer_selection{};
    sel.include.insert(sel.include.end(), inc.begin(), inc.end());
    sel.exclude.insert(sel.exclude.end(), exc.begin(), exc.end());
    const auto in = io::safetensors_file::open(pos[0]);
    io::safetensors_writer out;
    const auto rep = nvfp4_io::quantize_checkpoint(in, sel, out, opt);
    out.write(pos[1]);
    if (!quiet) {
      std::printf("%-48s %-18s %12s %12s %10s %10s\n", "layer", "shape", "bytes", "nvfp4", "rel_rms", "max_abs");
      for (const auto& l : rep.layers)
        std::printf("%-48s %-18s %12zu %12zu %10.5f %10.3g\n", l.name.c_str(), shape_text(l.shape).c_str(),
                    l.bytes_before, l.bytes_after, l.rel_rms_error, l.max_abs_error);
    }
    double wsum = 0, wnum = 0;
    std::size_t qin = 0, qout = 0;
    for (const auto& l : rep.layers) {
      wsum += l.rel_rms_error * static_cast<double>(l.rows * l.cols);
      wnum += static_cast<double>(l.rows * l.cols);
      qin += l.bytes_before;
      qout += l.bytes_after;
    }
    std::printf("quantised %zu tensors (%zu -> %zu bytes, %.2fx), kept %zu tensors native\n", rep.layers.size(), qin,
                qout, qout ? static_cast<double>(qin) / static_cast<double>(qout) : 0.0, rep.kept_tensors);
    std::printf("file tensors: %zu -> %zu bytes (%.2fx); mean relative RMS error %.5f\n", rep.bytes_in, rep.bytes_out,
                rep.bytes_out ? static_cast<double>(rep.bytes_in) / static_cast<double>(rep.bytes_out) : 0.0,
                wnum > 0 ? wsum / wnum : 0.0);
    std::printf("wrote %s\n", pos[1].c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sanawm-quantize: %s\n", e.what());
    return 1;
  }
}

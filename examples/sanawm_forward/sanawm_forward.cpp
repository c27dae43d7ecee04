// SPDX-License-Identifier: Apache-2.0
// sanawm-forward — runs one SANA-WM DiT forward (bidirectional, chunk-causal or streaming) from a checkpoint and an
// inputs safetensors, writes the output (and optionally the named intermediates) as safetensors: the parity tool.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/backend/cpu/heap.hpp"  // keep_freed_memory
#include "sanawm/io/safetensors.hpp"
#include "sanawm/model/dit/dit.hpp"
#include "sanawm/model/dit/prepack.hpp"

namespace {

using namespace sanawm;
using namespace sanawm::dit;

void usage() {
  std::fputs(
      "usage: sanawm-forward CHECKPOINT INPUTS OUT [options]\n"
      "  CHECKPOINT  .safetensors file, sharded index .json or directory (config from __metadata__.config,\n"
      "              else the released 2.6B config)\n"
      "  INPUTS      safetensors with x [B,C,T,H,W], timestep [B,1,T] or [B,T], y [B,1,L,Cy] or [B,L,Cy],\n"
      "              mask [B,L] (optional, I64), camera_conditions [B,T,20], chunk_plucker [B,48,T,H,W]\n"
      "  OUT         output safetensors: 'output' [B,C,T,H,W] (+ act.* with --intermediates)\n"
      "options:\n"
      "  --mode bidirectional|chunk_causal|streaming   (default bidirectional; streaming runs the chunks of\n"
      "                     chunk_causal one by one with caches, each followed by its cache-writing pass)\n"
      "  --precision fp32|bf16   bf16: bf16 weights and bf16 linear inputs, fp32 accumulation (default fp32)\n"
      "  --chunk-index 0,4,...   chunk starts (default: from the config's chunk_size)\n"
      "  --strict-softmax-mask   chunk-causal mask in the softmax blocks (upstream's non-cached model has none)\n"
      "  --window N              streaming softmax window in chunks incl. the sink chunk (default 0 = all)\n"
      "  --intermediates         also write the act.* intermediates\n"
      "  --check NAME            compare 'output' with tensor NAME of INPUTS; exit 1 past --tolerance\n"
      "  --tolerance R           max |out - ref| / max |ref| for --check (default 1e-4)\n"
      "  --repeat N              run the forward N times (default 1) and print the best and median forward\n"
      "                          times (the output and intermediates are those of the first run)\n",
      stderr);
}

std::vector<index_t> parse_list(std::string_view s) {
  std::vector<index_t> out;
  std::size_t p = 0;
  while (p <= s.size()) {
    const std::size_t q = s.find(',', p);
    const std::string part(s.substr(p, q == std::string_view::npos ? std::string_view::npos : q - p));
    std::size_t used = 0;
    const long long v = std::stoll(part, &used);
    if (used != part.size()) throw make_error("sanawm-forward", "bad integer '", part, "' in list");
    out.push_back(v);
    if (q == std::string_view::npos) break;
    p = q + 1;
  }
  return out;
}

dit_inputs read_inputs(const io::safetensors_file& f) {
  dit_inputs in;
  const auto& xs = f.at("x").shape;
  if (xs.size() != 5) throw make_error("sanawm-forward", "x must be [B, C, T, H, W], got rank ", xs.size());
  in.B = xs[0], in.T = xs[2], in.Hl = xs[3], in.Wl = xs[4];
  const auto& ys = f.at("y").shape;
  if (ys.size() != 3 && ys.size() != 4) throw make_error("sanawm-forward", "y must be [B,1,L,Cy] or [B,L,Cy]");
  in.L = ys[ys.size() - 2];
  in.x = f.read_as<float>("x");
  in.timestep = f.read_as<float>("timestep");
  in.y = f.read_as<float>("y");
  if (f.contains("mask")) in.mask = f.read_as<std::int64_t>("mask");
  in.camera_conditions = f.read_as<float>("camera_conditions");
  in.chunk_plucker = f.read_as<float>("chunk_plucker");
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  sanawm::cpu::keep_freed_memory();  // one job per process: freed activations stay for reuse (backend/cpu/heap.hpp)
  try {
    std::vector<std::string> pos;
    std::string mode = "bidirectional", precision = "fp32", check;
    double tolerance = 1e-4;
    bool intermediates = false, strict = false;
    index_t window = 0, repeat = 1;
    std::vector<index_t> chunk_index;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw make_error("sanawm-forward", a, " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") return usage(), 0;
      if (a == "--mode") mode = value();
      else if (a == "--precision") precision = value();
      else if (a == "--chunk-index") chunk_index = parse_list(value());
      else if (a == "--strict-softmax-mask") strict = true;
      else if (a == "--window") window = std::stoll(value());
      else if (a == "--intermediates") intermediates = true;
      else if (a == "--check") check = value();
      else if (a == "--tolerance") tolerance = std::stod(value());
      else if (a == "--repeat") repeat = std::stoll(value());
      else if (a.starts_with("--")) throw make_error("sanawm-forward", "unknown option ", a);
      else pos.emplace_back(a);
    }
    if (pos.size() != 3) return usage(), 2;
    if (repeat < 1) throw make_error("sanawm-forward", "--repeat must be at least 1, got ", repeat);
    if (mode != "bidirectional" && mode != "chunk_causal" && mode != "streaming")
      throw make_error("sanawm-forward", "--mode must be bidirectional, chunk_causal or streaming, got ", mode);
    if (precision != "fp32" && precision != "bf16")
      throw make_error("sanawm-forward", "--precision must be fp32 or bf16, got ", precision);

    const auto t0 = std::chrono::steady_clock::now();
    dit_load_options lo;
    lo.dtype = precision == "bf16" ? weight_dtype::bf16 : weight_dtype::f32;
    load_report rep;
    dit_weights w = load_dit(pos[0], lo, &rep);
    // Weights packed once for the CPU GEMM (bit-identical results; no per-call packing in --repeat timings).
    pack_for_cpu(w, precision == "bf16");
    const auto inputs_file = io::safetensors_file::open(pos[1]);
    const dit_inputs in = read_inputs(inputs_file);
    const auto t1 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "loaded %s: %s (%zu ignored); depth %lld, hidden %lld; inputs B=%lld T=%lld %lldx%lld L=%lld\n",
                 pos[0].c_str(), rep.str().c_str(), rep.ignored.size(), static_cast<long long>(w.config.depth),
                 static_cast<long long>(w.config.hidden), static_cast<long long>(in.B), static_cast<long long>(in.T),
                 static_cast<long long>(in.Hl), static_cast<long long>(in.Wl), static_cast<long long>(in.L));

    io::safetensors_writer out;
    forward_options opt;
    opt.bf16_activations = precision == "bf16";
    opt.strict_softmax_chunk_mask = strict;
    opt.chunk_index = chunk_index;
    if (intermediates)
      opt.on_intermediate = [&](std::string_view n, const std::vector<float>& v, std::vector<index_t> shape) {
        out.add(std::string(n), std::move(shape), v);
      };
    const index_t cin = w.config.in_channels;
    auto run_forward = [&]() -> std::vector<float> {
      std::vector<float> r;
      if (mode == "streaming") {
        const std::vector<index_t> starts =
            chunk_index.empty() ? chunk_starts(in.T, w.config.chunk_size) : chunk_index;
        stream_state st;
        st.num_cached_chunks = window;
        opt.on_intermediate = nullptr;
        std::vector<std::vector<float>> parts;
        for (std::size_t c = 0; c < starts.size(); ++c) {
          const index_t f = starts[c], n = (c + 1 < starts.size() ? starts[c + 1] : in.T) - f;
          parts.push_back(dit_forward_stream(w, st, slice_frames(in, f, n, cin, w.config.plucker_channels), true, opt));
        }
        // Re-assemble [B, C, T, H, W] from the per-chunk [B, C, n, H, W] outputs.
        const index_t S = in.Hl * in.Wl;
        r.resize(static_cast<std::size_t>(in.B * cin * in.T * S));
        for (std::size_t c = 0; c < starts.size(); ++c) {
          const index_t f = starts[c], n = (c + 1 < starts.size() ? starts[c + 1] : in.T) - f;
          for (index_t bc = 0; bc < in.B * cin; ++bc)
            std::copy_n(parts[c].data() + bc * n * S, n * S, r.data() + (bc * in.T + f) * S);
        }
      } else {
        opt.mode = mode == "chunk_causal" ? dit_mode::chunk_causal : dit_mode::bidirectional;
        r = dit_forward(w, in, opt);
      }
      return r;
    };
    const std::vector<float> y = run_forward();
    const auto t2 = std::chrono::steady_clock::now();
    if (repeat > 1) {
      // Timing only: the first run above produced the output (and intermediates); time it and N - 1 more runs.
      opt.on_intermediate = nullptr;
      std::vector<double> ms{std::chrono::duration<double, std::milli>(t2 - t1).count()};
      for (index_t r = 1; r < repeat; ++r) {
        const auto r0 = std::chrono::steady_clock::now();
        static_cast<void>(run_forward());
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::fprintf(stderr, "forward x%lld: best %.3f ms, median %.3f ms\n", static_cast<long long>(repeat), ms.front(),
                   ms[ms.size() / 2]);
    }
    out.add("output", {in.B, cin, in.T, in.Hl, in.Wl}, y);
    out.set_metadata("mode", mode);
    out.set_metadata("precision", precision);
    out.write(pos[2]);
    std::fprintf(stderr, "%s forward (%s): load %.2f s, forward %.2f s → %s\n", mode.c_str(), precision.c_str(),
                 std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(),
                 pos[2].c_str());
    if (!check.empty()) {
      const auto ref = inputs_file.read_as<double>(check);
      if (ref.size() != y.size()) throw make_error("sanawm-forward", "--check ", check, " has ", ref.size(),
                                                   " values, the output ", y.size());
      double err = 0, mx = 0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        const double d = std::abs(double(y[i]) - ref[i]);
        err = std::isfinite(d) ? std::max(err, d) : INFINITY;
        mx = std::max(mx, std::abs(ref[i]));
      }
      const double rel = mx > 0 ? err / mx : err;
      std::printf("check vs %s: max abs %.3g, max |ref| %.3g, relative %.3g (tolerance %.3g)\n", check.c_str(), err,
                  mx, rel, tolerance);
      if (!(rel <= tolerance)) return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sanawm-forward: %s\n", e.what());
    return 1;
  }
}

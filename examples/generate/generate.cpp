// SPDX-License-Identifier: Apache-2.0
// examples/generate/generate.cpp — sanawm-generate: image + camera trajectory (+ prompt) in, video out. With no
// model directory it runs the embedded tiny preset (untrained weights, says so) so the whole pipeline can be tried
// in seconds on any machine.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "overlay.hpp"
#include "progress.hpp"
#include "sanawm/backend/cpu/heap.hpp"          // keep_freed_memory
#include "sanawm/backend/cpu/thread_pool.hpp"
#include "sanawm/io/image.hpp"
#include "sanawm/io/json.hpp"
#include "sanawm/io/trajectory.hpp"
#include "sanawm/io/video.hpp"
#include "sanawm/model/camera/action.hpp"
#include "sanawm/model/camera/intrinsics.hpp"
#include "sanawm/model/camera/presets.hpp"
#include "sanawm/model/dit/prepack.hpp"
#include "sanawm/model/dit/quantize.hpp"
#include "sanawm/model/pipeline/generate.hpp"
#include "sanawm/version.hpp"
#if SANAWM_GENERATE_HAVE_CUDA
#include "cuda_dit.hpp"
#endif

namespace {

namespace fs = std::filesystem;
using namespace sanawm;
using generate_cli::cli_options;
using generate_cli::model_paths;

const std::string version_string = std::to_string(sanawm::version.major) + "." +
                                   std::to_string(sanawm::version.minor) + "." + std::to_string(sanawm::version.patch);
using sanawm::pipeline::gen_mode;

/// A built-in first frame for the embedded default: a smooth colour field with a horizon and a sun.
io::image_u8 builtin_image(index_t w, index_t h) {
  io::image_u8 img(w, h, 3);
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) {
      const double u = double(x) / double(w), v = double(y) / double(h);
      const bool sky = v < 0.55;
      const double sun = std::exp(-((u - 0.7) * (u - 0.7) + (v - 0.3) * (v - 0.3)) * 80.0);
      const double r = sky ? 90 + 120 * v + 150 * sun : 60 + 40 * std::sin(12 * u) + 30 * v;
      const double g = sky ? 140 + 80 * v + 120 * sun : 110 + 30 * std::sin(9 * u + 3 * v);
      const double b = sky ? 230 - 60 * v : 50 + 20 * v;
      img.at(y, x, 0) = static_cast<std::uint8_t>(std::clamp(r, 0.0, 255.0));
      img.at(y, x, 1) = static_cast<std::uint8_t>(std::clamp(g, 0.0, 255.0));
      img.at(y, x, 2) = static_cast<std::uint8_t>(std::clamp(b, 0.0, 255.0));
    }
  return img;
}

std::vector<index_t> parse_step_list(const std::string& s) {
  std::vector<index_t> v;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, ',');) {
    std::size_t used = 0;
    const long long x = std::stoll(tok, &used);
    if (used != tok.size()) throw make_error("sanawm-generate", "--step-list: bad integer '", tok, "'");
    v.push_back(x);
  }
  return v;
}

/// The camera trajectory for `frames` frames (resampled), with intrinsics in pixels of a width×height image.
trajectory make_camera(const cli_options& o, index_t frames, index_t width, index_t height,
                       std::vector<std::uint8_t>& keys) {
  const int sources = int(!o.camera.empty()) + int(!o.action.empty()) + int(!o.preset.empty());
  if (sources > 1) throw make_error("sanawm-generate", "give only one of --camera, --action and --preset");
  trajectory tr;
  if (!o.camera.empty()) {
    tr = io::load_trajectory(o.camera, o.intrinsics.empty() ? std::nullopt
                                                            : std::optional<fs::path>(fs::path(o.intrinsics)));
  } else {
    if (!o.intrinsics.empty()) throw make_error("sanawm-generate", "--intrinsics goes with --camera FILE");
    if (!o.action.empty()) {
      action_options ao;
      ao.translation_speed = o.translation_speed;
      ao.rotation_speed_deg = o.rotation_speed_deg;
      keys = generate_cli::overlay::keys_of_actions(parse_action_string(o.action));
      tr = action_trajectory(o.action, ao);
    } else {
      preset_options po;
      po.frames = frames;
      tr = preset_trajectory(parse_camera_preset(o.preset.empty() ? "dolly_in" : o.preset), po);
    }
  }
  // Pixel intrinsics refer to the input image (upstream --intrinsics); prepare_camera maps them through the same
  // resize + centre crop as the image.
  if (tr.image_width == 0) tr.image_width = width, tr.image_height = height;
  if (!tr.has_intrinsics()) {
    tr.K = {intrinsics_from_fov(o.fov, tr.image_width, tr.image_height)};
    tr.units = intrinsics_units::pixels;
  }
  if (tr.frames() < 2) throw make_error("sanawm-generate", "the camera trajectory has ", tr.frames(), " pose(s); need at least 2");
  if (tr.frames() != frames) tr = resample(tr, frames);
  return tr;
}

/// A cheap latent preview: channels 0..2 of every latent frame (per-channel min/max scaled), nearest-upsampled
/// 8×, frames side by side.
void write_preview(const fs::path& path, const sampler::step_event& e) {
  const index_t up = 8, S = e.shape.H * e.shape.W;
  io::image_u8 img(e.shape.W * up * e.shape.T, e.shape.H * up, 3);
  for (index_t c = 0; c < 3 && c < e.shape.C; ++c) {
    float lo = 1e30f, hi = -1e30f;
    for (index_t i = 0; i < e.shape.T * S; ++i) {
      const float v = e.latents[static_cast<std::size_t>(c * e.shape.T * S + i)];
      lo = std::min(lo, v), hi = std::max(hi, v);
    }
    for (index_t t = 0; t < e.shape.T; ++t)
      for (index_t y = 0; y < e.shape.H * up; ++y)
        for (index_t x = 0; x < e.shape.W * up; ++x) {
          const float v = e.latents[static_cast<std::size_t>((c * e.shape.T + t) * S + (y / up) * e.shape.W + x / up)];
          img.at(y, t * e.shape.W * up + x, c) = static_cast<std::uint8_t>(255.0f * (v - lo) / std::max(hi - lo, 1e-6f));
        }
  }
  io::write_png(path, img);
}

int run(const cli_options& o) {
  const auto t_start = std::chrono::steady_clock::now();
  if (o.threads > 0) cpu::set_num_threads(static_cast<int>(o.threads));
  const gen_mode mode = pipeline::parse_mode(o.mode);
  if (o.precision != "fp32" && o.precision != "bf16" && o.precision != "nvfp4")
    throw make_error("sanawm-generate", "--precision must be fp32, bf16 or nvfp4, not '", o.precision, "'");
  if (!o.vae_precision.empty() && o.vae_precision != "fp32" && o.vae_precision != "bf16")
    throw make_error("sanawm-generate", "--vae-precision must be fp32 or bf16, not '", o.vae_precision, "'");
  if (o.device != "cpu" && o.device != "cuda")
    throw make_error("sanawm-generate", "--device must be cpu or cuda, not '", o.device, "'");
  const bool on_gpu = o.device == "cuda";
  if (on_gpu) {
#if SANAWM_GENERATE_HAVE_CUDA
    const std::string why = generate_cli::cuda_unavailable_reason();
    if (!why.empty()) throw make_error("sanawm-generate", "--device cuda: ", why);
#else
    throw make_error("sanawm-generate", "--device cuda: this sanawm-generate was built without the CUDA backend ",
                     "(configure with -DSANAWM_ENABLE_CUDA=ON where nvcc is installed)");
#endif
    if (o.precision == "nvfp4")
      throw make_error("sanawm-generate", "--precision nvfp4 runs on the CPU only; on --device cuda use fp32 or bf16");
  }
  if (o.state != "f32" && o.state != "bf16")
    throw make_error("sanawm-generate", "--state-dtype must be f32 or bf16, not '", o.state, "'");
  if (o.rng != "sanawm" && o.rng != "torch")
    throw make_error("sanawm-generate", "--rng must be sanawm or torch, not '", o.rng, "'");
  if (o.fps <= 0 || !std::isfinite(o.fps)) throw make_error("sanawm-generate", "--fps must be positive");
  if (o.frames > 0 && o.seconds > 0) throw make_error("sanawm-generate", "give --frames or --seconds, not both");

  const model_paths mp = resolve_model(o);
  const bool embedded = mp.dit.empty();

  // Models: loaded (or the embedded preset), NVFP4-quantised, then on the GPU or packed for the CPU GEMM.
  generate_cli::models m = generate_cli::load_models(o, mp, on_gpu);
  const dit::dit_weights& DW = m.dit();
  const vae::vae_weights& VW = m.vae();

  // Geometry and frame count.
  const index_t width = o.width > 0 ? o.width : (embedded ? 256 : 1280);
  const index_t height = o.height > 0 ? o.height : (embedded ? 128 : 704);
  index_t frames = o.frames > 0 ? o.frames : 0;
  if (o.seconds > 0) frames = snap_num_frames(static_cast<index_t>(std::llround(o.seconds * o.fps)) + 1);
  if (frames == 0) frames = embedded ? (mode == gen_mode::streaming ? 57 : 33) : 161;
  (void)pipeline::latent_frames_for(frames);  // validates 8k + 1

  // Inputs.
  io::image_u8 src = o.image.empty() ? builtin_image(width, height) : io::read_image(o.image);
  if (o.image.empty()) std::fprintf(stderr, "no -i image: using a built-in %ldx%ld test scene\n", long(width), long(height));
  const io::image_u8 first = io::resize_center_crop(src, width, height);
  std::vector<std::uint8_t> keys;
  const trajectory cam = make_camera(o, frames, src.width, src.height, keys);
  std::string prompt_used;
  pipeline::generation_inputs in;
  in.text = make_text(o, mp, DW.config.caption_channels, prompt_used);
  in.image = io::to_model_input(first);
  in.height = height, in.width = width, in.frames = frames;
  in.camera = cam;

  // Options.
  pipeline::generation_options go;
  go.mode = mode;
  go.seed = static_cast<std::uint64_t>(o.seed);
  go.noise = o.rng == "torch" ? pipeline::noise_kind::torch_cpu : pipeline::noise_kind::philox;
  go.window = o.window;
  go.decode_chunk = o.decode_chunk;
  go.dit.bf16_activations = o.precision != "fp32";
  go.dit.strict_softmax_chunk_mask = o.strict_softmax_mask;
  go.model = m.gpu_dit.get();
  go.vae_convs = m.gpu_vae_convs.get();
  auto& so = go.sampler;
  so.flow_shift = o.flow_shift;
  so.state = o.state == "bf16" ? sampler::state_dtype::bf16 : sampler::state_dtype::f32;
  so.interval_k = o.interval_k;
  if (mode == gen_mode::streaming) {
    // The distilled student: 4 steps, guidance baked in (cfg 1) unless asked otherwise.
    so.cfg_scale = o.cfg_scale >= 0 ? o.cfg_scale : 1.0;
    if (!o.step_list.empty()) so.step_list = parse_step_list(o.step_list);
    if (o.steps > 0) so.step_list.clear(), so.steps = o.steps;
  } else {
    if (!o.step_list.empty()) throw make_error("sanawm-generate", "--step-list applies to --mode streaming only");
    so.cfg_scale = o.cfg_scale >= 0 ? o.cfg_scale : 5.0;
    so.steps = o.steps > 0 ? o.steps : 60;
  }
  generate_cli::progress bar(!o.no_progress);
  const fs::path out = o.output;
  const fs::path preview = out.parent_path() / (out.stem().string() + ".preview.png");
  so.on_step = [&](const sampler::step_event& e) {
    bar.step(long(e.step), long(e.total), long(e.chunk), long(e.chunks), e.seconds);
    if (o.preview_every > 0 && (e.step + 1) % o.preview_every == 0) write_preview(preview, e);
  };
  std::vector<std::pair<std::string, double>> stages;
  go.on_stage = [&](std::string_view s, double sec) { stages.emplace_back(std::string(s), sec); };

  std::unique_ptr<io::video_sink> sink = io::make_video_sink(out, o.fps);
  sink->begin(width, height, o.fps);
  std::optional<generate_cli::overlay> ov;
  if (o.overlay) ov.emplace(keys, cam);
  go.on_frame = [&](index_t f, std::span<const float> chw) {
    io::image_u8 img = io::from_model_output(chw.data(), 3, height, width);
    if (ov) ov->draw(img, f, frames);
    sink->write_frame(img);
  };

  std::fprintf(stderr, "generating %ld frames (%ld latent) at %ldx%ld, %s, %s, seed %ld, %d threads\n", long(frames),
               long(pipeline::latent_frames_for(frames)), long(width), long(height), o.mode.c_str(),
               mode == gen_mode::streaming ? "4-step student schedule" : "flow-Euler", long(o.seed), cpu::num_threads());
  const auto res = generate_cli::run_pipeline(DW, VW, in, go);
  sink->finish();
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  // Sidecar: every parameter needed to reproduce the video.
  io::json j;
  j["sanawm_version"] = version_string;
  j["model"] = embedded ? io::json("embedded tiny preset (untrained, seeded random weights)")
                        : io::json({{"dit", mp.dit.string()}, {"vae", mp.vae.string()}});
  j["image"] = o.image.empty() ? "built-in test scene" : o.image;
  j["prompt"] = prompt_used;
  j["negative_prompt"] = o.negative_prompt;
  j["text"] = in.text.source;
  j["camera"] = !o.camera.empty() ? o.camera : !o.action.empty() ? "action:" + o.action : "preset:" + (o.preset.empty() ? std::string("dolly_in") : o.preset);
  j["intrinsics"] = o.intrinsics;
  j["fov_deg_if_missing"] = o.fov;
  j["mode"] = o.mode;
  j["precision"] = o.precision;
  j["vae_precision"] = generate_cli::vae_in_bf16(o) ? "bf16" : "fp32";
  j["device"] = o.device;
  j["state_dtype"] = o.state;
  j["frames"] = frames;
  j["fps"] = o.fps;
  j["width"] = width;
  j["height"] = height;
  j["seed"] = o.seed;
  j["rng"] = o.rng;
  j["cfg_scale"] = so.cfg_scale;
  j["flow_shift"] = so.flow_shift;
  j["steps"] = mode == gen_mode::streaming && !so.step_list.empty() ? io::json(so.step_list) : io::json(so.steps);
  j["window"] = o.window;
  j["interval_k"] = o.interval_k;
  j["strict_softmax_mask"] = o.strict_softmax_mask;
  j["threads"] = cpu::num_threads();
  j["latent"] = {res.latent_frames, res.latent_height, res.latent_width};
  for (const auto& [s, sec] : stages) j["seconds"][s] = sec;
  j["seconds"]["total"] = total;
  j["peak_rss_mib"] = generate_cli::peak_rss_mib();
  // Sidecar: <output>.json, or video.json inside a PNG-frame directory.
  const std::string os = out.string();
  const bool frame_dir = os.find('%') != std::string::npos || os.back() == '/' || fs::is_directory(out);
  const fs::path side = frame_dir ? (os.find('%') != std::string::npos ? out.parent_path() : out) / "video.json"
                                  : fs::path(os + ".json");
  std::ofstream(side) << j.dump(2) << "\n";
  std::fprintf(stderr, "wrote %s (%ld frames, %.1f s at %.0f fps) and %s in %.1f s (peak %.0f MiB)\n",
               fs::absolute(out).string().c_str(), long(res.frames), double(res.frames) / o.fps, o.fps,
               fs::absolute(side).string().c_str(), total,
               generate_cli::peak_rss_mib());
  if (embedded) std::fprintf(stderr, "reminder: the embedded preset is untrained; the video is a pipeline demo\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sanawm::cpu::keep_freed_memory();  // one job per process: freed activations stay for reuse (backend/cpu/heap.hpp)
  cli_options o;
  CLI::App app{"sanawm-generate: SANA-WM world model — one image + a camera trajectory (+ prompt) in, video out.\n"
               "Without --model it runs an embedded tiny preset with UNTRAINED weights (a pipeline demo)."};
  app.set_version_flag("--version", version_string);
  auto* g_model = "Model";
  app.add_option("-m,--model", o.model_dir, "model directory in the upstream layout: dit/ (or sana_dit/model.pt), vae/ (or ltx2_causal_vae/), optional text_encoder/")->group(g_model);
  app.add_option("--dit", o.dit_path, "DiT checkpoint (.safetensors, sharded index, directory or .pt); overrides --model")->group(g_model);
  app.add_option("--vae", o.vae_path, "LTX-2 VAE directory (config.json + weights); overrides --model")->group(g_model);
  app.add_option("--text-encoder", o.text_encoder_path, "Gemma-2-2B directory (config.json, model.safetensors, tokenizer.model or tokenizer.json)")->group(g_model);
  app.add_option("--precision", o.precision, "DiT weights/activations: fp32 (default), bf16, nvfp4 (W4A16 on upstream's stage-1 FP4 layer set, bf16 elsewhere)")->group(g_model);
  app.add_option("--vae-precision", o.vae_precision, "VAE conv weights: fp32 or bf16 (bf16 x bf16 products, fp32 accumulation; default: bf16 with --precision bf16/nvfp4, as upstream runs its VAE, else fp32)")->group(g_model);
  auto* g_in = "Inputs";
  app.add_option("-i,--image", o.image, "first frame (PNG/JPEG); resized to cover the video size and centre-cropped")->group(g_in);
  app.add_option("-p,--prompt", o.prompt, "text prompt (needs a text encoder)")->group(g_in);
  app.add_option("--prompt-file", o.prompt_file, "UTF-8 text file with the prompt (upstream --prompt FILE)")->group(g_in);
  app.add_option("-n,--negative-prompt", o.negative_prompt, "negative prompt (default \"\")")->group(g_in);
  app.add_option("--embeddings", o.embeddings, "precomputed prompt embeddings (sanawm-encode-prompt output: y [1,1,L,D], mask [1,L])")->group(g_in);
  app.add_option("--negative-embeddings", o.negative_embeddings, "precomputed negative-prompt embeddings (same L)")->group(g_in);
  auto* g_cam = "Camera";
  app.add_option("--camera", o.camera, "trajectory file: c2w .npy (F,4,4), SANA-WM-Bench .npz, RealEstate10K .txt or .json")->group(g_cam);
  app.add_option("--intrinsics", o.intrinsics, "intrinsics .npy for --camera: (4,), (3,3), (F,4) or (F,3,3) in input-image pixels")->group(g_cam);
  app.add_option("--action", o.action, "SANA-WM action string, e.g. \"w-40,dw-20,none-10\" (w/s move, a/d yaw, i/k pitch, j/l strafe)")->group(g_cam);
  app.add_option("--preset", o.preset, "camera preset: static, dolly_in (default), dolly_out, pan_left/right, tilt_up/down, truck_left/right, crane_up/down, orbit_left/right")->group(g_cam);
  app.add_option("--translation-speed", o.translation_speed, "action DSL translation per frame (default 0.025)")->group(g_cam);
  app.add_option("--rotation-speed-deg", o.rotation_speed_deg, "action DSL rotation per frame in degrees (default 0.6)")->group(g_cam);
  app.add_option("--fov", o.fov, "horizontal field of view in degrees when the trajectory has no intrinsics (default 60)")->group(g_cam);
  auto* g_vid = "Video";
  app.add_option("--frames", o.frames, "pixel frames, 8k+1 (default 161; embedded preset 33, streaming 57)")->group(g_vid);
  app.add_option("--seconds", o.seconds, "video length in seconds instead of --frames (snapped to 8k+1 frames)")->group(g_vid);
  app.add_option("--fps", o.fps, "frame rate of the trajectory and the output (default 16)")->group(g_vid);
  app.add_option("-W,--width", o.width, "video width, multiple of 32 (default 1280; embedded preset 256)")->group(g_vid);
  app.add_option("-H,--height", o.height, "video height, multiple of 32 (default 704; embedded preset 128)")->group(g_vid);
  auto* g_s = "Sampling";
  app.add_option("--mode", o.mode, "bidirectional (default), chunk-causal or streaming")->group(g_s);
  app.add_option("--steps", o.steps, "denoising steps (default 60; streaming: the 4-step student list)")->group(g_s);
  app.add_option("--cfg-scale", o.cfg_scale, "classifier-free guidance scale (default 5; streaming 1, CFG baked in)")->group(g_s);
  app.add_option("--flow-shift", o.flow_shift, "flow-matching schedule shift (default 9.8)")->group(g_s);
  app.add_option("-s,--seed", o.seed, "noise seed (default 42)")->group(g_s);
  app.add_option("--rng", o.rng, "noise generator: sanawm (counter-based, default) or torch (= torch.randn on CPU for the seed)")->group(g_s);
  app.add_option("--step-list", o.step_list, "streaming timesteps, e.g. 1000,960,889,727,0")->group(g_s);
  app.add_option("--window", o.window, "streaming softmax window in chunks incl. the sink chunk (default 2; 0 = all)")->group(g_s);
  app.add_option("--interval-k", o.interval_k, "chunk-causal stagger (default 1/number of chunks)")->group(g_s);
  app.add_flag("--strict-softmax-mask", o.strict_softmax_mask, "chunk-causal: mask the softmax blocks per chunk (upstream's non-cached model does not)")->group(g_s);
  app.add_option("--state-dtype", o.state, "latent state between steps: f32 (default) or bf16 (upstream; its first step is a no-op)")->group(g_s);
  auto* g_out = "Output and runtime";
  app.add_option("-o,--output", o.output, "output: .y4m (always available), .mp4/.webm/.mkv/.mov (ffmpeg), or a PNG pattern/dir (frames/%04d.png, frames/); a .json sidecar is written next to it")->group(g_out);
  app.add_flag("--overlay", o.overlay, "draw the held keys and a trajectory minimap onto the video")->group(g_out);
  app.add_option("--preview-every", o.preview_every, "write <output>.preview.png (latent channels 0-2) every N steps")->group(g_out);
  app.add_option("--decode-chunk", o.decode_chunk, "latent frames per VAE decoder push (memory bound, default 1)")->group(g_out);
  app.add_option("-t,--threads", o.threads, "CPU threads (default: all cores)")->group(g_out);
  app.add_option("--device", o.device, "where the DiT, the VAE convs and the text encoder run: cpu (default) or cuda (needs a build with the CUDA backend; fp32 or bf16)")->group(g_out);
  app.add_flag("--no-progress", o.no_progress, "no progress output")->group(g_out);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sanawm-generate: error: %s\n", e.what());
    return 1;
  }
}

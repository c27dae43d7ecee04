// SPDX-License-Identifier: Apache-2.0
// sanawm/model/pipeline/generate.hpp — SANA-WM stage-1 generation end to end: first-frame VAE encode, camera
// conditioning, seeded noise, the bidirectional / chunk-causal / streaming sampler, and chunked VAE decoding that
// hands out pixel frames as they become final (bounded memory). Text arrives as embeddings (from the Gemma
// encoder, a precomputed file, or the documented empty-prompt stand-in).
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/pipeline/generate.hpp: host-only header (CPU generation pipeline); include it from host code only"
#endif

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/model/camera/conditioning.hpp"
#include "sanawm/model/dit/dit.hpp"
#include "sanawm/model/sampler/noise.hpp"
#include "sanawm/model/sampler/samplers.hpp"
#include "sanawm/model/vae/vae.hpp"

namespace sanawm::pipeline {

enum class gen_mode : std::uint8_t { bidirectional, chunk_causal, streaming };

inline gen_mode parse_mode(std::string_view s) {
  if (s == "bidirectional") return gen_mode::bidirectional;
  if (s == "chunk-causal" || s == "chunk_causal") return gen_mode::chunk_causal;
  if (s == "streaming") return gen_mode::streaming;
  throw make_error("generate", "unknown mode '", s, "' (bidirectional, chunk-causal or streaming)");
}
inline std::string_view mode_name(gen_mode m) {
  switch (m) {
    case gen_mode::bidirectional: return "bidirectional";
    case gen_mode::chunk_causal: return "chunk-causal";
    case gen_mode::streaming: return "streaming";
  }
  return "?";
}

/// Where the initial noise comes from.
enum class noise_kind : std::uint8_t {
  philox,    ///< sanawm's counter-based generator: any chunk can be drawn alone, identical for any thread count
  torch_cpu  ///< torch.randn(1, C, T, H, W, generator=manual_seed(seed)) on CPU, bit for bit (drawn in one go)
};

/// Text conditioning: positive and negative embeddings of equal length (upstream pads both to 300 tokens).
struct text_conditioning {
  index_t L = 0, Cy = 0;
  std::vector<float> y, negative_y;                      ///< [L, Cy]
  std::vector<std::int64_t> mask, negative_mask;         ///< [L]
  std::string source = "none";                           ///< for the sidecar: "gemma", "file:<path>", "empty"
};

/// The empty-prompt stand-in used when no text encoder is available: one zero token (valid) for both prompts.
/// The real empty prompt goes through Gemma (CHI prefix for the positive side); this keeps cross-attention
/// well-defined without one, and the sidecar records it.
inline text_conditioning empty_text(index_t caption_channels) {
  text_conditioning t;
  t.L = 1, t.Cy = caption_channels;
  t.y.assign(static_cast<std::size_t>(caption_channels), 0.0f);
  t.negative_y = t.y;
  t.mask = {1};
  t.negative_mask = {1};
  t.source = "empty (no text encoder: one zero token)";
  return t;
}

/// One generation request. The image is already at the target size (resize + centre crop done by the caller).
struct generation_inputs {
  std::vector<float> image;  ///< [3, height, width] in [−1, 1]
  index_t height = 0, width = 0;
  index_t frames = 0;        ///< pixel frames, 8k + 1
  trajectory camera;         ///< exactly `frames` poses, with intrinsics
  text_conditioning text;
};

struct generation_options {
  gen_mode mode = gen_mode::bidirectional;
  sampler::sampler_options sampler;  ///< steps, shift, cfg, state dtype, chunking, step list, on_step
  std::uint64_t seed = 42;
  noise_kind noise = noise_kind::philox;
  index_t window = 2;                ///< streaming softmax window in chunks (sink + recent), 0 = unlimited
  dit::forward_options dit;          ///< precision (bf16 activations), strict softmax chunk mask
  /// The DiT to sample with instead of the CPU forward over the weights passed to generate() (which still supply
  /// the config), e.g. an engine_denoiser<cuda_t>; it owns its precision, and sees o.window via its own options.
  sampler::denoiser* model = nullptr;
  /// Where the VAE's convs run (e.g. a backend_conv_executor<cuda_t>); nullptr: the CPU.
  vae::conv_executor* vae_convs = nullptr;
  index_t decode_chunk = 1;          ///< latent frames per VAE decoder push (memory bound)
  bool causal_decode = false;        ///< decode with the causal decoder (forced on in streaming mode)
  /// Receives every decoded frame in order: [3, height, width] raw decoder output (nominally [−1, 1]).
  std::function<void(index_t frame, std::span<const float> chw)> on_frame;
  /// Stage timings: "encode", "sample", "decode" (streaming interleaves sampling and decoding: "stream").
  std::function<void(std::string_view stage, double seconds)> on_stage;
};

struct generation_result {
  index_t latent_frames = 0, latent_height = 0, latent_width = 0;
  index_t frames = 0;  ///< pixel frames written
  /// Streaming: the largest state carried between chunks (DiT caches + VAE decoder history), in bytes — constant
  /// in the video length once the softmax window is full.
  std::size_t peak_state_bytes = 0;
};

/// Pixel frames of T latent frames (8(T − 1) + 1) and the inverse with a clear error off the 8k + 1 grid.
inline index_t latent_frames_for(index_t frames) {
  if (frames < 1 || (frames - 1) % plucker_temporal_stride != 0)
    throw make_error("generate", "frame count ", frames, " is not 8k + 1 (e.g. ",
                     frames < 9 ? 9 : (frames - 1) / 8 * 8 + 1, " or ", (frames - 1) / 8 * 8 + 9, ")");
  return (frames - 1) / plucker_temporal_stride + 1;
}

namespace detail {

inline void denormalize(const vae::vae_weights& w, std::span<float> z, index_t C, index_t inner) {
  const auto sf = static_cast<float>(w.config.scaling_factor);
  for (index_t c = 0; c < C; ++c)
    for (index_t i = 0; i < inner; ++i) {
      float& v = z[static_cast<std::size_t>(c * inner + i)];
      v = v * w.latents_std[c] / sf + w.latents_mean[c];
    }
}

/// Hands a decoded chunk's frames to the callback one [3, H, W] frame at a time.
inline void emit_frames(const vae::video_chunk& vc, const generation_options& o, std::vector<float>& frame) {
  if (!o.on_frame) return;
  const index_t hw = vc.h * vc.w;
  frame.resize(static_cast<std::size_t>(vc.c * hw));
  for (index_t t = 0; t < vc.t; ++t) {
    for (index_t c = 0; c < vc.c; ++c)
      std::copy_n(vc.data.data() + (c * vc.t + t) * hw, hw, frame.data() + c * hw);
    o.on_frame(vc.first_frame + t, frame);
  }
}

class stage_timer {
 public:
  explicit stage_timer(const generation_options& o) : o_(o) {}
  void done(std::string_view stage) {
    const auto now = std::chrono::steady_clock::now();
    if (o_.on_stage) o_.on_stage(stage, std::chrono::duration<double>(now - t_).count());
    t_ = now;
  }

 private:
  const generation_options& o_;
  std::chrono::steady_clock::time_point t_ = std::chrono::steady_clock::now();
};

}  // namespace detail

/// Runs one generation. Throws sanawm::error naming the first bad input.
inline generation_result generate(const dit::dit_weights& dw, const vae::vae_weights& vw, const generation_inputs& in,
                                  const generation_options& o) {
  const dit::dit_config& dc = dw.config;
  const vae::vae_config& vc = vw.config;
  if (!vw.parts.encoder || !vw.parts.decoder)
    throw make_error("generate", "the VAE must have both the encoder (first frame) and the decoder (video)");
  if (vc.latent_channels != dc.in_channels)
    throw make_error("generate", "VAE latent channels ", vc.latent_channels, " do not match the DiT's ",
                     dc.in_channels);
  const auto comp = vae::compression(vc);
  if (in.height <= 0 || in.width <= 0 || in.height % comp[1] != 0 || in.width % comp[2] != 0)
    throw make_error("generate", "video size ", in.width, "x", in.height, " must be a positive multiple of ",
                     comp[2], "x", comp[1], " (the VAE's spatial compression)");
  if (in.image.size() != static_cast<std::size_t>(3 * in.height * in.width))
    throw make_error("generate", "image has ", in.image.size(), " values, expected 3x", in.height, "x", in.width);
  for (float v : in.image)
    if (!std::isfinite(v)) throw make_error("generate", "image contains NaN or infinite values");
  const index_t T = latent_frames_for(in.frames);
  if (in.camera.frames() != in.frames)
    throw make_error("generate", "camera trajectory has ", in.camera.frames(), " poses but the video has ",
                     in.frames, " frames (resample it to the frame count)");
  if (in.text.Cy != dc.caption_channels)
    throw make_error("generate", "text embeddings are ", in.text.Cy, "-dimensional, the DiT expects ",
                     dc.caption_channels);
  if (o.mode == gen_mode::streaming && T <= o.sampler.chunk_size)
    throw make_error("generate", "streaming needs more than ", o.sampler.chunk_size, " latent frames (", in.frames,
                     " frames give ", T, "); use at least ", o.sampler.chunk_size * 8 + 9, " frames");

  detail::stage_timer timer(o);
  // Camera: camera_conditions [1, T, 20] and chunk_plucker [1, 48, T, h, w] at the target geometry.
  camera_geometry geo;
  geo.height = in.height, geo.width = in.width, geo.spatial_stride = comp[1];
  const camera_conditioning cam = prepare_camera(in.camera, geo);
  const auto plucker = make_chunk_plucker(cam);
  const sampler::latent_shape s{dc.in_channels, T, cam.latent_height, cam.latent_width};
  const index_t S = s.tokens_per_frame(), C = s.C;

  sampler::conditions cond;
  cond.L = in.text.L, cond.Cy = in.text.Cy;
  cond.cond_y = in.text.y, cond.uncond_y = in.text.negative_y;
  cond.cond_mask = in.text.mask, cond.uncond_mask = in.text.negative_mask;
  cond.camera_conditions.assign(cam.camera_conditions.data(), cam.camera_conditions.data() + T * camera_condition_width);
  cond.chunk_plucker.assign(plucker.data(), plucker.data() + dc.plucker_channels * T * S);

  // First frame: VAE encode (posterior mode), normalised → image latent [C, 1, h, w].
  tensor<float, dextents<5>> img(dextents<5>(1, 3, 1, in.height, in.width));
  std::copy(in.image.begin(), in.image.end(), img.data());
  vae::encode_options eo;
  eo.executor = o.vae_convs;
  vae::posterior post = vae::encode(vw, img.view(), eo);
  vae::normalize_latents(vw, post.mean.view());
  const std::vector<float> image_latent(post.mean.data(), post.mean.data() + C * S);
  timer.done("encode");

  // Noise [C, T, h, w]: rows (c, frame) are contiguous runs of S values at offset (c·T + f)·S.
  std::vector<float> full_noise;
  if (o.noise == noise_kind::torch_cpu) {
    full_noise.resize(static_cast<std::size_t>(s.numel()));
    sampler::torch_randn_cpu(full_noise, o.seed);
  }
  auto initial = [&](sampler::frame_range r) {
    std::vector<float> x(static_cast<std::size_t>(C * r.size() * S));
    for (index_t c = 0; c < C; ++c) {
      float* dst = x.data() + c * r.size() * S;
      if (o.noise == noise_kind::torch_cpu)
        std::copy_n(full_noise.data() + (c * T + r.begin) * S, r.size() * S, dst);
      else
        sampler::fill_normal(std::span<float>(dst, static_cast<std::size_t>(r.size() * S)), o.seed, 0,
                             static_cast<std::uint64_t>((c * T + r.begin) * S));
      for (index_t f : o.sampler.condition_frames)
        if (f >= r.begin && f < r.end && f == 0)  // the image latent is frame 0
          std::copy_n(image_latent.data() + c * S, S, dst + (f - r.begin) * S);
    }
    return x;
  };

  generation_result res{T, s.H, s.W, 0};
  std::vector<float> frame;
  auto sink = [&](index_t, const vae::video_chunk& chunk) {
    detail::emit_frames(chunk, o, frame);
    res.frames += chunk.t;
  };
  dit::forward_options fo = o.dit;
  sampler::dit_denoiser cpu_model(dw, fo, o.window);
  sampler::denoiser& model = o.model ? *o.model : cpu_model;

  if (o.mode == gen_mode::streaming) {
    vae::decoder_stream dec(vw, 1, /*force_causal=*/true);
    dec.set_conv_executor(o.vae_convs);
    index_t chunks_left = static_cast<index_t>(sampler::streaming_chunks(T, o.sampler.chunk_size).size());
    sampler::sample_streaming(
        model, cond, s, initial,
        [&](sampler::frame_range r, std::span<const float> x) {
          std::vector<float> z(x.begin(), x.end());
          detail::denormalize(vw, z, C, r.size() * S);
          dec.push(z.data(), 1, C, r.size(), s.H, s.W, --chunks_left == 0, sink);
          res.peak_state_bytes = std::max(res.peak_state_bytes, model.state_bytes() +
                                                                    static_cast<std::size_t>(dec.state_bytes()));
        },
        o.sampler, dc.plucker_channels);
    timer.done("stream");
  } else {
    std::vector<float> z = initial({0, T});
    z = o.mode == gen_mode::bidirectional
            ? sampler::sample_bidirectional(model, cond, s, std::move(z), o.sampler, dc.plucker_channels)
            : sampler::sample_chunk_causal(model, cond, s, std::move(z), o.sampler, dc.plucker_channels);
    timer.done("sample");
    detail::denormalize(vw, z, C, T * S);
    vae::decoder_stream dec(vw, 1, o.causal_decode);
    dec.set_conv_executor(o.vae_convs);
    const index_t step = std::max<index_t>(1, o.decode_chunk);
    std::vector<float> part;
    for (index_t t0 = 0; t0 < T; t0 += step) {
      const sampler::frame_range r{t0, std::min(T, t0 + step)};
      part = sampler::detail::gather_frames(z, s, r);
      dec.push(part.data(), 1, C, r.size(), s.H, s.W, r.end == T, sink);
    }
    timer.done("decode");
  }
  if (res.frames != in.frames)
    throw make_error("generate", "internal error: decoded ", res.frames, " frames, expected ", in.frames);
  return res;
}

/// The embedded default model: the golden tiny DiT structure (4 blocks: 3 GDN + 1 softmax, C = 224, 2 heads,
/// caption 64) and the tiny LTX-2 VAE (widths 16–128), both with seeded random — untrained — weights. It
/// exercises every stage of the real pipeline at a size that runs in seconds; its videos are noise patterns.
struct embedded_model {
  dit::dit_weights dit;
  vae::vae_weights vae;
};
inline embedded_model make_embedded_model(std::uint64_t seed = 2026) {
  embedded_model m{dit::make_random_dit(dit::golden_tiny(), seed), vae::make_vae_weights(vae::vae_tiny_a())};
  vae::init_random(m.vae, seed + 1);
  return m;
}

}  // namespace sanawm::pipeline

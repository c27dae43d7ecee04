// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/decoder.hpp — the LTX-2 video decoder (LTX2VideoDecoder3d) on the CPU as a frame stream: every
// temporal conv keeps its last two input frames, so latents can be pushed in chunks of any size and the output
// equals one full decode, for the causal decoder (no delay) and the non-causal one (one frame of look-ahead per conv).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/model/vae/decoder.hpp: host-only header (CPU SIMD kernels); include it from .cpp files"
#endif

#include <algorithm>   // std::max, std::min
#include <array>       // std::array
#include <cstring>     // std::memcpy
#include <optional>    // std::optional
#include <functional>  // std::function
#include <string>      // std::string
#include <utility>     // std::move
#include <vector>      // std::vector

#include "sanawm/core/error.hpp"         // make_error
#include "sanawm/core/int.hpp"           // index_t
#include "sanawm/core/shape.hpp"         // dextents
#include "sanawm/core/tensor.hpp"        // tensor
#include "sanawm/model/vae/modules.hpp"  // vae_weights
#include "sanawm/model/vae/ops.hpp"      // clip, conv, norm_silu, depth_to_space, unpatchify

namespace sanawm::vae {

namespace detail {

/// One temporal 3x3x3 conv evaluated on a frame stream. Pushing frames returns every output frame that is now
/// fully determined. The conv keeps the last two frames it has seen (`hist`), which is all a kernel of 3 needs:
/// - causal (replicate): output t reads inputs t−2, t−1, t; the stream starts with two copies of frame 0, so each
///   pushed frame yields one output at once (upstream's streaming cache, exactly);
/// - non-causal (symmetric replicate): output t reads t−1, t, t+1; the stream starts with one copy of frame 0 and
///   output t is emitted when frame t+1 arrives (one frame of delay); the last push appends a copy of the final
///   frame, which emits the last output. The emitted sequence is exactly the full-clip conv.
struct conv_stream {
  const conv_weights* w = nullptr;
  bool causal = false;
  vae_padding pad = vae_padding::reflect;
  clip hist;
  bool started = false;
  conv_executor* exec = nullptr;  ///< where the conv runs (nullptr: the CPU)

  clip push(const clip& x, bool last) {
    if (!started) {
      if (x.t == 0) return clip(0, x.h, x.w, w->cout);
      if (last) {
        // The whole video in one push (an image, or a clip decoded at once): the conv of the whole clip with its
        // temporal padding, without assembling the padded window (the same gathered values and dot products).
        started = true;
        const temporal_padding tm = causal ? temporal_padding::causal_replicate : temporal_padding::symmetric_replicate;
        return conv(*w, x, tm, pad, nullptr, exec);
      }
      hist = causal ? concat_frames({{&x, {0, 1}}, {&x, {0, 1}}}) : slice_frames(x, 0, 1);
      started = true;
    }
    if (x.t > 0 && (x.h != hist.h || x.w != hist.w || x.c != hist.c))
      throw make_error("vae", w->key, ": chunk is ", x.h, "x", x.w, "x", x.c, " but earlier chunks were ", hist.h, "x",
                       hist.w, "x", hist.c);
    if (hist.t == 2 && !(last && !causal)) {
      // Steady state: the two history frames are the causal left context of x (no window copy).
      if (x.t == 0) return clip(0, x.h, x.w, w->cout);
      clip y = conv(*w, x, temporal_padding::causal_replicate, pad, &hist, exec);
      if (x.t >= 2) {
        hist = slice_frames(x, x.t - 2, x.t);
      } else {  // one new frame: shift the history in place
        const auto bytes = static_cast<std::size_t>(hist.frame_size()) * sizeof(float);
        std::memcpy(hist.frame(0), hist.frame(1), bytes);
        std::memcpy(hist.frame(1), x.frame(0), bytes);
      }
      return y;
    }
    clip window = concat_frames({{&hist, {0, hist.t}}, {&x, {0, x.t}}});
    const index_t seen = window.t;
    if (!causal && last) window = concat_frames({{&window, {0, seen}}, {&window, {seen - 1, seen}}});
    clip y = conv(*w, window, temporal_padding::valid, pad, nullptr, exec);
    // Keep the last two frames of the history + new frames (never the appended right pad).
    hist = slice_frames(window, std::max<index_t>(0, seen - 2), seen);
    return y;
  }
};

/// Frames waiting for their partner on a skip connection (the conv path lags the skip by its stream delay).
struct frame_fifo {
  clip q;
  void push(const clip& x) {
    if (q.t == 0) {
      q = slice_frames(x, 0, x.t);
      return;
    }
    q = concat_frames({{&q, {0, q.t}}, {&x, {0, x.t}}});
  }
  clip pop(index_t n) {
    if (n == q.t) {  // the causal steady state: what was pushed is popped whole, without copying it again
      clip out = std::move(q);
      q = clip(0, out.h, out.w, out.c);
      return out;
    }
    clip out = slice_frames(q, 0, n);
    q = slice_frames(q, n, q.t);
    return out;
  }
};

/// A copy of x with SiLU(RMSNorm(·)) applied.
inline clip norm_silu_copy(const clip& x) {
  clip y = slice_frames(x, 0, x.t);
  norm_silu(y);
  return y;
}

/// LTX2VideoResnetBlock3d on a stream: conv2(silu(norm(conv1(silu(norm(x)))))) + x.
struct resnet_stream {
  conv_stream c1, c2;
  frame_fifo skip;
  resnet_stream(const resnet_weights& r, bool causal, vae_padding pad)
      : c1{&r.conv1, causal, pad, {}, false}, c2{&r.conv2, causal, pad, {}, false} {}
  clip push(const clip& x, bool last) {
    skip.push(x);
    clip h = c1.push(norm_silu_copy(x), last);
    norm_silu(h);
    h = c2.push(h, last);
    const clip s = skip.pop(h.t);
    add_inplace(h, s);
    return h;
  }
};

/// LTX2VideoUpsampler3d on a stream: D2S(conv(x)) (+ the channel-tiled D2S(x) residual), dropping the first
/// st − 1 output frames once (upstream's first-chunk trim).
struct upsampler_stream {
  conv_stream c;
  decoder_level level;
  frame_fifo skip;
  bool trimmed = false;
  upsampler_stream(const up_block_weights& b, bool causal, vae_padding pad)
      : c{&b.upsampler, causal, pad, {}, false}, level(b.level) {}
  clip push(const clip& x, bool last) {
    if (level.residual) skip.push(x);
    const clip y = c.push(x, last);
    const auto s = level.stride;
    const index_t drop = (trimmed || y.t == 0) ? 0 : s[0] - 1;
    clip out(y.t * s[0] - drop, y.h * s[1], y.w * s[2], level.out_channels);
    if (y.t == 0) return out;
    depth_to_space(y, s, drop, 1, out, false);
    if (level.residual) {
      const clip r = skip.pop(y.t);
      depth_to_space(r, s, drop, s[0] * s[1] * s[2] / level.factor, out, true);
    }
    trimmed = true;
    return out;
  }
};

/// The decoder's streams for one sample.
struct decoder_state {
  conv_stream conv_in;
  std::vector<resnet_stream> mid;
  std::vector<upsampler_stream> ups;
  std::vector<std::vector<resnet_stream>> up_resnets;
  conv_stream conv_out;
};

}  // namespace detail

/// A chunk of decoded video: [B, C, T, H, W] channels-first fp32, raw decoder output (nominally [−1, 1], no clamp),
/// holding output frames [first_frame, first_frame + T).
struct video_chunk {
  index_t b = 0, c = 0, t = 0, h = 0, w = 0;
  index_t first_frame = 0;
  host_buffer<float> data;
};

/// Streaming LTX-2 decoder. Push latent chunks ([B, C_lat, n, h, w], channels-first, already de-normalised, i.e.
/// what `vae.decode` receives) in order; each push returns the pixel frames that are now final. The concatenation
/// of all returned chunks equals decode() of the concatenated latents (exactly: the arithmetic per output frame is
/// the same), whatever the chunk sizes.
/// - causal decoder (config decoder_causal, or `force_causal` = upstream's `decode(causal=True)`, the streaming
///   VAE's math): latent frame 0 gives 1 frame, every later latent frame 8, at once;
/// - non-causal decoder (LTX-2.0 `vae/`): each conv delays by one of its input frames, so output lags the input by a
///   bounded number of frames until the final push (`last` = true) flushes the rest.
/// Memory: two frames of history per conv plus one piece (max(stage_frames() frames, stage_pixels() pixels) of
/// input) of activations per stage, independent of the video length and of the chunk size (the sink form of push
/// hands frames out as they appear).
/// The stream keeps a pointer to `w`, which must outlive it.
class decoder_stream {
 public:
  decoder_stream(const vae_weights& w, index_t batch, bool force_causal = false) : w_(&w) {
    if (!w.parts.decoder) throw make_error("vae", "decoder_stream: the weights were built without the decoder");
    if (batch < 1) throw make_error("vae", "decoder_stream: batch ", batch, " must be >= 1");
    causal_ = force_causal || w.config.decoder_causal;
    const vae_padding pad = w.config.decoder_spatial_padding_mode;
    for (index_t b = 0; b < batch; ++b) {
      detail::decoder_state s;
      s.conv_in = {&w.decoder.conv_in, causal_, pad, {}, false};
      for (const auto& r : w.decoder.mid_block) s.mid.emplace_back(r, causal_, pad);
      for (const auto& u : w.decoder.up_blocks) {
        s.ups.emplace_back(u, causal_, pad);
        s.up_resnets.emplace_back();
        for (const auto& r : u.resnets) s.up_resnets.back().emplace_back(r, causal_, pad);
      }
      s.conv_out = {&w.decoder.conv_out, causal_, pad, {}, false};
      states_.push_back(std::move(s));
    }
    emitted_.assign(static_cast<std::size_t>(batch), 0);
  }

  bool causal() const noexcept { return causal_; }

  /// Runs every conv on `exec` (conv_executor.hpp, e.g. backend_conv_executor<cuda_t>; nullptr: the CPU). The
  /// executor must outlive the stream's pushes.
  void set_conv_executor(conv_executor* exec) noexcept {
    for (auto& s : states_) {
      s.conv_in.exec = exec, s.conv_out.exec = exec;
      for (auto& r : s.mid) r.c1.exec = exec, r.c2.exec = exec;
      for (auto& u : s.ups) u.c.exec = exec;
      for (auto& v : s.up_resnets)
        for (auto& r : v) r.c1.exec = exec, r.c2.exec = exec;
    }
  }

  /// Bytes held between pushes (conv histories and skip-connection queues): the streaming state, which stays
  /// bounded however long the video is.
  index_t state_bytes() const noexcept {
    index_t n = 0;
    auto conv = [&](const detail::conv_stream& c) { n += c.hist.size(); };
    auto res = [&](const detail::resnet_stream& r) { conv(r.c1), conv(r.c2), n += r.skip.q.size(); };
    for (const auto& s : states_) {
      conv(s.conv_in);
      for (const auto& r : s.mid) res(r);
      for (const auto& u : s.ups) conv(u.c), n += u.skip.q.size();
      for (const auto& v : s.up_resnets)
        for (const auto& r : v) res(r);
      conv(s.conv_out);
    }
    return n * static_cast<index_t>(sizeof(float));
  }
  /// Output frames returned so far.
  index_t frames_out() const noexcept { return emitted_.front(); }

  /// Receives decoded frames as soon as the last conv produces them: `chunk` is [1, 3, m, 32h, 32w] of batch
  /// item `sample`, frames [chunk.first_frame, chunk.first_frame + m) of that sample's video.
  using frame_sink = std::function<void(index_t sample, const video_chunk& chunk)>;

  /// Feeds latent frames [B, C_lat, n, h, w] (channels-first, contiguous); `last` marks the end of the video.
  /// n may be 0 (e.g. a final flush). Decoded frames go to `sink` a few at a time (every stage processes one piece
  /// of input per step, see stage_pixels(), so the working set is a few frames per layer even when the non-causal
  /// decoder's look-ahead is flushed at the end).
  void push(const float* latent, index_t b_n, index_t c_n, index_t n, index_t h, index_t w, bool last,
            const frame_sink& sink) {
    const vae_config& cfg = w_->config;
    if (finished_) throw make_error("vae", "decoder_stream: push after the last chunk");
    if (b_n != static_cast<index_t>(states_.size()))
      throw make_error("vae", "decoder_stream: batch ", b_n, " but the stream was made for ", states_.size());
    if (c_n != cfg.latent_channels)
      throw make_error("vae", "decode: latent has ", c_n, " channels, the VAE expects ", cfg.latent_channels);
    if (n < 0 || h < 1 || w < 1) throw make_error("vae", "decode: bad latent shape [", b_n, ", ", c_n, ", ", n, ", ", h, ", ", w, "]");
    if (cfg.decoder_spatial_padding_mode == vae_padding::reflect && (h < 2 || w < 2))
      throw make_error("vae", "decode: latent ", h, "x", w, " is too small for the decoder's reflect padding (need >= 2x2)");
    if (h_ && (h != h_ || w != w_lat_))
      throw make_error("vae", "decoder_stream: chunk latent is ", h, "x", w, ", earlier chunks were ", h_, "x", w_lat_);
    h_ = h, w_lat_ = w;
    if (n == 0 && !started_ && last) throw make_error("vae", "decode: empty latent (0 frames)");
    if (n > 0) started_ = true;
    finished_ = last;
    for (index_t b = 0; b < b_n; ++b) {
      clip z(n, h, w, c_n);  // channels-first → channels-last
      const float* src = latent + b * c_n * n * h * w;
      for (index_t t = 0; t < n; ++t)
        for (index_t y = 0; y < h; ++y)
          for (index_t x = 0; x < w; ++x)
            for (index_t c = 0; c < c_n; ++c) z.data[((t * h + y) * w + x) * c_n + c] = src[((c * n + t) * h + y) * w + x];
      process(b, 0, z, last, sink);
    }
  }

  /// push() returning the newly final pixel frames [B, 3, m, 32h, 32w] (all batch items emit the same frames).
  video_chunk push(const float* latent, index_t b_n, index_t c_n, index_t n, index_t h, index_t w, bool last) {
    const index_t first = frames_out();
    std::vector<std::vector<video_chunk>> got(static_cast<std::size_t>(b_n));
    push(latent, b_n, c_n, n, h, w, last,
         [&](index_t b, const video_chunk& c) { got[static_cast<std::size_t>(b)].push_back(copy_chunk(c)); });
    const index_t p = w_->config.patch_size;
    video_chunk out;
    out.b = b_n, out.c = w_->config.out_channels, out.t = frames_out() - first;
    index_t sh = 1, sw = 1;
    for (const auto& l : decoder_levels(w_->config)) sh *= l.stride[1], sw *= l.stride[2];
    out.h = h * sh * p, out.w = w * sw * p, out.first_frame = first;
    out.data = host_buffer<float>(out.b * out.c * out.t * out.h * out.w);
    const index_t plane = out.h * out.w;
    for (index_t b = 0; b < b_n; ++b)
      for (const video_chunk& c : got[static_cast<std::size_t>(b)])
        for (index_t ch = 0; ch < out.c; ++ch)
          std::memcpy(out.data.data() + ((b * out.c + ch) * out.t + c.first_frame - first) * plane,
                      c.data.data() + ch * c.t * plane, static_cast<std::size_t>(c.t * plane) * sizeof(float));
    return out;
  }

  /// Input frames each stage takes per step, at least (default 1). A stage takes more frames per step where its
  /// frames are small: up to stage_pixels() input pixels (frames × H × W) per step, so that the convs of the
  /// low-resolution stages run as one GEMM over several frames (the weights are read once per step, not once per
  /// frame) while the high-resolution stages still go one frame at a time. Results do not depend on either
  /// setting (every output element is the same dot product); only the working set and speed do. Frames are never
  /// waited for: a step takes what has arrived, so streaming latency is unchanged.
  index_t stage_frames() const noexcept { return stage_frames_; }
  void set_stage_frames(index_t n) {
    if (n < 1) throw make_error("vae", "decoder_stream: stage_frames ", n, " must be >= 1");
    stage_frames_ = n;
  }
  /// Input pixels (frames × H × W) a stage takes per step, at most, when that is more than stage_frames() frames
  /// (default 4096: a stage's piece is then at most max(one frame, 4096 pixels) × channels). 0 or 1 = always
  /// stage_frames() frames.
  index_t stage_pixels() const noexcept { return stage_pixels_; }
  void set_stage_pixels(index_t n) {
    if (n < 0) throw make_error("vae", "decoder_stream: stage_pixels ", n, " must be >= 0");
    stage_pixels_ = n;
  }

  /// Callback for intermediate activations (channels-last clips) by module name: "decoder.conv_in",
  /// "decoder.mid_block", "decoder.up_blocks.<i>", "decoder.conv_out". For tests; called with consecutive pieces of
  /// each module's output, in frame order.
  std::function<void(const std::string&, const clip&)> on_intermediate;

 private:
  static video_chunk copy_chunk(const video_chunk& c) {
    video_chunk o;
    o.b = c.b, o.c = c.c, o.t = c.t, o.h = c.h, o.w = c.w, o.first_frame = c.first_frame;
    o.data = host_buffer<float>(c.data.size());
    std::memcpy(o.data.data(), c.data.data(), static_cast<std::size_t>(c.data.size()) * sizeof(float));
    return o;
  }

  // Stage i of the flat pipeline: 0 conv_in, then the mid ResNets, then per level the upsampler and its ResNets,
  // then norm_out + SiLU + conv_out.
  clip run_stage(detail::decoder_state& s, std::size_t i, const clip& x, bool last, std::string& tap) {
    const std::size_t n_mid = s.mid.size();
    tap.clear();
    if (i == 0) {
      tap = "decoder.conv_in";
      return s.conv_in.push(x, last);
    }
    if (i <= n_mid) {
      if (i == n_mid) tap = "decoder.mid_block";
      return s.mid[i - 1].push(x, last);
    }
    std::size_t k = i - n_mid - 1;
    for (std::size_t l = 0; l < s.ups.size(); ++l) {
      const std::size_t n_res = s.up_resnets[l].size();
      if (k <= n_res) {
        if (k == n_res) tap = str_cat("decoder.up_blocks.", l);
        return k == 0 ? s.ups[l].push(x, last) : s.up_resnets[l][k - 1].push(x, last);
      }
      k -= n_res + 1;
    }
    tap = "decoder.conv_out";
    clip h = detail::norm_silu_copy(x);
    return s.conv_out.push(h, last);
  }

  std::size_t stage_count(const detail::decoder_state& s) const {
    std::size_t n = 2 + s.mid.size();
    for (const auto& r : s.up_resnets) n += 1 + r.size();
    return n;
  }

  // Pushes x through stages [i, end) in pieces of max(stage_frames_, stage_pixels_ / (H·W)) frames, depth first, so
  // every stage holds only one piece's activations; the last stage's output goes to the sink.
  void process(index_t b, std::size_t i, const clip& x, bool last, const frame_sink& sink) {
    detail::decoder_state& s = states_[static_cast<std::size_t>(b)];
    if (i == stage_count(s)) {
      if (x.t == 0) return;
      const index_t p = w_->config.patch_size;
      video_chunk c;
      c.b = 1, c.c = w_->config.out_channels, c.t = x.t, c.h = x.h * p, c.w = x.w * p;
      c.first_frame = emitted_[static_cast<std::size_t>(b)];
      c.data = host_buffer<float>(c.c * c.t * c.h * c.w);
      unpatchify(x, p, c.data.data(), c.t, 0);
      emitted_[static_cast<std::size_t>(b)] += x.t;
      sink(b, c);
      return;
    }
    std::string tap;
    if (x.t == 0) {
      if (!last) return;
      const clip y = run_stage(s, i, x, true, tap);
      if (on_intermediate && !tap.empty() && y.t > 0) on_intermediate(tap, y);
      process(b, i + 1, y, true, sink);
      return;
    }
    const index_t plane = std::max<index_t>(1, x.h * x.w);
    const index_t step = std::max(stage_frames_, stage_pixels_ / plane);
    for (index_t p0 = 0; p0 < x.t; p0 += step) {
      const index_t p1 = std::min(x.t, p0 + step);
      const bool l = last && p1 == x.t;
      clip piece;
      const clip* in = &x;
      if (p0 > 0 || p1 < x.t) piece = slice_frames(x, p0, p1), in = &piece;
      const clip y = run_stage(s, i, *in, l, tap);
      if (on_intermediate && !tap.empty() && y.t > 0) on_intermediate(tap, y);
      process(b, i + 1, y, l, sink);
    }
  }

  const vae_weights* w_;
  bool causal_ = false;
  std::vector<detail::decoder_state> states_;
  std::vector<index_t> emitted_;
  index_t stage_frames_ = 1;
  index_t stage_pixels_ = 4096;
  index_t h_ = 0, w_lat_ = 0;
  bool started_ = false, finished_ = false;
};

/// Spatial tiling (diffusers `enable_tiling()`): the latent is cut into `tile` × `tile` latent tiles at `stride`,
/// each decoded on its own; neighbouring tiles are blended linearly over (tile − stride)·32 pixels (first with the
/// tile above, then with the tile to the left, each already blended), and each tile keeps its first stride·32 rows
/// and columns. Diffusers' defaults: tile 16 (512 px), stride 14 (448 px). tile = 0 disables tiling. A latent no
/// larger than one tile decodes exactly as without tiling; otherwise tiles see less context at their borders, so
/// the result only approximates the full decode (docs/vae.md gives the measured error).
struct spatial_tiling {
  index_t tile = 0;
  index_t stride = 0;
  static constexpr spatial_tiling diffusers() noexcept { return {16, 14}; }
  bool enabled() const noexcept { return tile > 0; }
};

/// Streaming decoder with spatial tiling: one decoder_stream per latent tile, outputs blended per push. Same
/// interface and frame schedule as decoder_stream; the memory of one push is that of one tile plus the output.
class tiled_decoder_stream {
 public:
  tiled_decoder_stream(const vae_weights& w, index_t batch, index_t h, index_t w_lat, spatial_tiling t,
                       bool force_causal = false)
      : h_(h), w_lat_(w_lat), t_(t) {
    if (t.tile < 1 || t.stride < 1 || t.stride > t.tile)
      throw make_error("vae", "spatial tiling: need 1 <= stride <= tile, got tile ", t.tile, " stride ", t.stride);
    for (index_t i = 0; i < h; i += t.stride) rows_.push_back({i, std::min(t.tile, h - i)});
    for (index_t j = 0; j < w_lat; j += t.stride) cols_.push_back({j, std::min(t.tile, w_lat - j)});
    for (std::size_t k = 0; k < rows_.size() * cols_.size(); ++k) tiles_.emplace_back(w, batch, force_causal);
    scale_ = w.config.spatial_compression_ratio;
  }

  index_t frames_out() const noexcept { return tiles_.front().frames_out(); }
  /// Runs every tile's convs on `exec` (see decoder_stream::set_conv_executor).
  void set_conv_executor(conv_executor* exec) noexcept {
    for (auto& t : tiles_) t.set_conv_executor(exec);
  }

  /// Feeds latent frames [B, C_lat, n, h, w] (the full latent width/height given at construction).
  video_chunk push(const float* latent, index_t b_n, index_t c_n, index_t n, index_t h, index_t w, bool last) {
    if (h != h_ || w != w_lat_)
      throw make_error("vae", "tiled decode: chunk latent is ", h, "x", w, ", the stream was made for ", h_, "x", w_lat_);
    std::vector<video_chunk> outs;
    std::vector<float> part;
    std::size_t k = 0;
    for (const auto& r : rows_)
      for (const auto& c : cols_) {
        part.assign(static_cast<std::size_t>(b_n * c_n * n * r[1] * c[1]), 0.0f);
        for (index_t bc = 0; bc < b_n * c_n; ++bc)
          for (index_t t = 0; t < n; ++t)
            for (index_t y = 0; y < r[1]; ++y)
              std::memcpy(part.data() + ((bc * n + t) * r[1] + y) * c[1], latent + ((bc * n + t) * h + r[0] + y) * w + c[0],
                          static_cast<std::size_t>(c[1]) * sizeof(float));
        outs.push_back(tiles_[k++].push(part.data(), b_n, c_n, n, r[1], c[1], last));
      }
    const index_t blend = (t_.tile - t_.stride) * scale_, keep = t_.stride * scale_;
    const index_t nc = static_cast<index_t>(cols_.size());
    video_chunk out;
    out.b = b_n, out.c = outs.front().c, out.t = outs.front().t, out.h = h * scale_, out.w = w * scale_;
    out.first_frame = outs.front().first_frame;
    out.data = host_buffer<float>(out.b * out.c * out.t * out.h * out.w);
    const index_t planes = out.b * out.c * out.t;
    for (std::size_t ti = 0; ti < outs.size(); ++ti) {
      const index_t i = static_cast<index_t>(ti) / nc, j = static_cast<index_t>(ti) % nc;
      video_chunk& b = outs[ti];
      if (i > 0) {  // blend with the tile above (already blended): rows [0, e) of b with the last e rows of a
        const video_chunk& a = outs[ti - static_cast<std::size_t>(nc)];
        const index_t e = std::min({a.h, b.h, blend});
        for (index_t p = 0; p < planes; ++p)
          for (index_t y = 0; y < e; ++y) {
            const float wb = static_cast<float>(y) / static_cast<float>(e);
            const float* ar = a.data.data() + (p * a.h + a.h - e + y) * a.w;
            float* br = b.data.data() + (p * b.h + y) * b.w;
            for (index_t x = 0; x < std::min(a.w, b.w); ++x) br[x] = ar[x] * (1.0f - wb) + br[x] * wb;
          }
      }
      if (j > 0) {  // blend with the tile to the left: columns [0, e) of b with the last e columns of a
        const video_chunk& a = outs[ti - 1];
        const index_t e = std::min({a.w, b.w, blend});
        for (index_t p = 0; p < planes; ++p)
          for (index_t y = 0; y < std::min(a.h, b.h); ++y) {
            const float* ar = a.data.data() + (p * a.h + y) * a.w + a.w - e;
            float* br = b.data.data() + (p * b.h + y) * b.w;
            for (index_t x = 0; x < e; ++x) {
              const float wb = static_cast<float>(x) / static_cast<float>(e);
              br[x] = ar[x] * (1.0f - wb) + br[x] * wb;
            }
          }
      }
    }
    // Keep [0, keep) of every tile (the last row/column keeps what remains) and place it.
    for (std::size_t ti = 0; ti < outs.size(); ++ti) {
      const index_t i = static_cast<index_t>(ti) / nc, j = static_cast<index_t>(ti) % nc;
      const video_chunk& b = outs[ti];
      const index_t y0 = rows_[static_cast<std::size_t>(i)][0] * scale_, x0 = cols_[static_cast<std::size_t>(j)][0] * scale_;
      const index_t hk = std::min({keep, b.h, out.h - y0}), wk = std::min({keep, b.w, out.w - x0});
      for (index_t p = 0; p < planes; ++p)
        for (index_t y = 0; y < hk; ++y)
          std::memcpy(out.data.data() + (p * out.h + y0 + y) * out.w + x0, b.data.data() + (p * b.h + y) * b.w,
                      static_cast<std::size_t>(wk) * sizeof(float));
    }
    return out;
  }

 private:
  index_t h_, w_lat_;
  spatial_tiling t_;
  index_t scale_ = 32;
  std::vector<std::array<index_t, 2>> rows_, cols_;  // latent {start, size}
  std::vector<decoder_stream> tiles_;
};

/// Options of decode().
struct decode_options {
  bool causal = false;        ///< upstream's decode(causal=True) (forced on when the config's decoder is causal)
  index_t chunk_frames = 0;   ///< latent frames per pushed chunk (memory bound); 0 = the whole latent at once
  spatial_tiling tiling{};    ///< spatial tiling (off by default)
  conv_executor* executor = nullptr;  ///< where the convs run (nullptr: the CPU), see conv_executor.hpp
};

/// Number of pixel frames decoded from t latent frames: 8(t − 1) + 1 (for the LTX-2 strides).
inline index_t decoded_frames(const vae_config& c, index_t t_lat) {
  index_t t = t_lat;
  for (const auto& l : decoder_levels(c)) t = t * l.stride[0] - (l.stride[0] - 1);
  return t;
}

/// `vae.decode(latent)`: latent [B, C_lat, T, h, w] channels-first (de-normalised) → video [B, 3, 8(T−1)+1, 32h,
/// 32w] raw decoder output. Runs the stream in chunks of `opt.chunk_frames` latent frames.
inline tensor<float, dextents<5>> decode(const vae_weights& w, tensor_view<const float, dextents<5>> latent,
                                         const decode_options& opt = {}) {
  if (!latent.is_contiguous()) throw make_error("vae", "decode: the latent must be contiguous");
  const index_t b_n = latent.extent(0), c_n = latent.extent(1), t_n = latent.extent(2), h = latent.extent(3),
                w_n = latent.extent(4);
  if (t_n < 1) throw make_error("vae", "decode: empty latent (0 frames)");
  std::optional<decoder_stream> plain;
  std::optional<tiled_decoder_stream> tiled;
  if (opt.tiling.enabled()) tiled.emplace(w, b_n, h, w_n, opt.tiling, opt.causal);
  else plain.emplace(w, b_n, opt.causal);
  if (tiled) tiled->set_conv_executor(opt.executor);
  else plain->set_conv_executor(opt.executor);
  const index_t f_total = decoded_frames(w.config, t_n);
  index_t sh = 1, sw = 1;
  for (const auto& l : decoder_levels(w.config)) sh *= l.stride[1], sw *= l.stride[2];
  const index_t hh = h * sh * w.config.patch_size, ww = w_n * sw * w.config.patch_size;
  tensor<float, dextents<5>> video(dextents<5>(b_n, w.config.out_channels, f_total, hh, ww));
  const index_t chunk = opt.chunk_frames > 0 ? opt.chunk_frames : t_n;
  std::vector<float> part;
  for (index_t t0 = 0; t0 < t_n; t0 += chunk) {
    const index_t n = std::min(chunk, t_n - t0);
    part.assign(static_cast<std::size_t>(b_n * c_n * n * h * w_n), 0.0f);
    for (index_t b = 0; b < b_n; ++b)
      for (index_t c = 0; c < c_n; ++c)
        std::memcpy(part.data() + ((b * c_n + c) * n) * h * w_n, &latent(b, c, t0, 0, 0),
                    static_cast<std::size_t>(n * h * w_n) * sizeof(float));
    const bool last = t0 + n >= t_n;
    const video_chunk vc = tiled ? tiled->push(part.data(), b_n, c_n, n, h, w_n, last)
                                 : plain->push(part.data(), b_n, c_n, n, h, w_n, last);
    if (vc.t == 0) continue;
    for (index_t b = 0; b < b_n; ++b)
      for (index_t c = 0; c < vc.c; ++c)
        std::memcpy(&video(b, c, vc.first_frame, 0, 0), vc.data.data() + ((b * vc.c + c) * vc.t) * vc.h * vc.w,
                    static_cast<std::size_t>(vc.t * vc.h * vc.w) * sizeof(float));
  }
  const index_t got = tiled ? tiled->frames_out() : plain->frames_out();
  if (got != f_total) throw make_error("vae", "decode: internal error, ", got, " frames decoded, expected ", f_total);
  return video;
}

}  // namespace sanawm::vae

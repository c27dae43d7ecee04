// SPDX-License-Identifier: Apache-2.0
// sanawm/io/video.hpp — video output (y4m, PNG frames, ffmpeg-encoded mp4/webm/...) behind one video_sink
// interface, and a YUV4MPEG2 reader for tests and tools.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/video.hpp: host-only header (files, processes); include it from .cpp files and link sanawm::media"
#endif

#include <algorithm>    // std::clamp, std::max, std::min
#include <cctype>       // std::tolower
#include <cerrno>       // errno, EINTR, EPIPE
#include <cmath>        // std::abs, std::llround
#include <cstddef>      // std::byte, std::size_t
#include <cstdint>      // std::uint8_t
#include <cstdio>       // std::FILE, std::fopen, std::fwrite
#include <cstdlib>      // std::getenv, mkstemps
#include <cstring>      // std::strerror
#include <filesystem>   // std::filesystem
#include <fstream>      // std::ifstream (ffmpeg log)
#include <iterator>     // std::istreambuf_iterator
#include <memory>       // std::unique_ptr
#include <numeric>      // std::gcd
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <system_error>  // std::generic_category
#include <utility>      // std::exchange, std::move
#include <vector>       // std::vector

#include <fcntl.h>     // O_WRONLY
#include <signal.h>    // sigset_t, pthread_sigmask, sigtimedwait
#include <spawn.h>     // posix_spawn
#include <sys/wait.h>  // waitpid
#include <unistd.h>    // pipe, write, close, access

#include "sanawm/core/error.hpp"      // make_error
#include "sanawm/core/int.hpp"        // index_t
#include "sanawm/io/image.hpp"        // image_u8, write_png
#include "sanawm/io/mapped_file.hpp"  // read_file_bytes

extern char** environ;  // POSIX: the environment passed to ffmpeg

namespace sanawm::io {

/// A frame rate as a rational number (YUV4MPEG2 writes it as "F<num>:<den>").
struct frame_rate {
  int num = 16;
  int den = 1;
  double value() const noexcept { return static_cast<double>(num) / static_cast<double>(den); }
};

/// The rational closest to `fps`: exact for integers and the NTSC rates (n·1000/1001), else within 1e-6.
inline frame_rate to_frame_rate(double fps) {
  if (!(fps > 0.0) || fps > 1000.0) throw make_error("video", "frame rate must be in (0, 1000], got ", fps);
  for (int den : {1, 1001, 2, 3, 4, 5, 6, 8, 10, 100, 1000, 1000000}) {
    const auto num = std::llround(fps * den);
    if (num > 0 && std::abs(static_cast<double>(num) / den - fps) <= 1e-9 * fps) {
      const auto g = std::gcd(num, static_cast<long long>(den));
      return {static_cast<int>(num / g), static_cast<int>(den / g)};
    }
  }
  const auto num = std::llround(fps * 1000000.0);
  const auto g = std::gcd(num, 1000000LL);
  return {static_cast<int>(num / g), static_cast<int>(1000000LL / g)};
}

/// YUV4MPEG2 chroma layouts the writer produces.
enum class y4m_chroma {
  c420jpeg,  ///< 4:2:0, chroma centred between 2x2 luma samples (2x2 box average); what ffmpeg wants
  c444,      ///< no subsampling: lossless up to the colour conversion's rounding
};

/// A destination for frames. Call begin() once, write_frame() per frame (all of the begin() size, RGB or
/// grey), then finish(); finish() reports deferred errors (e.g. ffmpeg's). Destroying an unfinished sink
/// closes it quietly. Not copyable.
class video_sink {
 public:
  video_sink() = default;
  video_sink(const video_sink&) = delete;
  video_sink& operator=(const video_sink&) = delete;
  virtual ~video_sink() = default;

  /// Starts the video: frame size and rate. Throws when called twice or with a bad size/rate.
  virtual void begin(index_t width, index_t height, double fps) = 0;
  /// Appends one frame (width x height of begin(), 3 channels, or 1 channel = grey).
  virtual void write_frame(const image_u8& frame) = 0;
  /// Flushes and closes; idempotent. Throws on I/O or encoder errors.
  virtual void finish() = 0;
  /// Where the video goes (a file, or the PNG pattern).
  virtual const std::filesystem::path& path() const = 0;

  index_t frames_written() const noexcept { return frames_; }

 protected:
  void check_begin(index_t width, index_t height, double fps, std::string_view op) {
    if (begun_) throw make_error(op, path().string(), ": begin() called twice");
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
      throw make_error(op, path().string(), ": frame size ", width, "x", height, " out of range (1..16384)");
    rate_ = to_frame_rate(fps);
    width_ = width;
    height_ = height;
    begun_ = true;
  }
  void check_frame(const image_u8& f, std::string_view op) const {
    if (!begun_) throw make_error(op, path().string(), ": write_frame() before begin()");
    if (finished_) throw make_error(op, path().string(), ": write_frame() after finish()");
    detail::check_image(f, op);
    if (f.width != width_ || f.height != height_)
      throw make_error(op, path().string(), ": frame ", frames_, " is ", f.width, "x", f.height, ", the video is ",
                       width_, "x", height_);
    if (f.channels != 3 && f.channels != 1)
      throw make_error(op, path().string(), ": frames must be RGB or grey, got ", f.channels, " channels");
  }

  bool begun_ = false;
  bool finished_ = false;
  index_t width_ = 0, height_ = 0;
  frame_rate rate_{};
  index_t frames_ = 0;
};

// ---- YUV4MPEG2 --------------------------------------------------------------------------------------------

namespace detail {

/// Full-range BT.601 (JPEG/JFIF) RGB -> YCbCr, unrounded.
struct ycbcr {
  double y, cb, cr;
};
inline ycbcr rgb_to_ycbcr(double r, double g, double b) {
  return {0.299 * r + 0.587 * g + 0.114 * b, 128.0 - 0.168735892 * r - 0.331264108 * g + 0.5 * b,
          128.0 + 0.5 * r - 0.418687589 * g - 0.081312411 * b};
}
inline std::uint8_t clamp_round_u8(double v) {
  return static_cast<std::uint8_t>(std::clamp(std::floor(v + 0.5), 0.0, 255.0));
}

/// The header line of a YUV4MPEG2 stream (with the trailing newline).
inline std::string y4m_header(index_t w, index_t h, frame_rate r, y4m_chroma c) {
  return str_cat("YUV4MPEG2 W", w, " H", h, " F", r.num, ":", r.den, " Ip A1:1 ",
                 c == y4m_chroma::c444 ? "C444 XCOLORRANGE=FULL" : "C420jpeg XYSCSS=420JPEG", "\n");
}

/// Appends "FRAME\n" and the Y, Cb, Cr planes of `f` (RGB or grey) to `out`. 4:2:0 chroma is the average of
/// the (up to) 2x2 full-resolution chroma values of each block, so odd sizes get ceil(W/2) x ceil(H/2).
inline void y4m_encode_frame(const image_u8& f, y4m_chroma c, std::vector<std::uint8_t>& out) {
  const index_t w = f.width, h = f.height, ch = f.channels;
  const index_t cw = c == y4m_chroma::c444 ? w : (w + 1) / 2;
  const index_t chh = c == y4m_chroma::c444 ? h : (h + 1) / 2;
  const std::size_t base = out.size();
  constexpr std::string_view tag = "FRAME\n";
  out.resize(base + tag.size() + static_cast<std::size_t>(w * h + 2 * cw * chh));
  std::memcpy(out.data() + base, tag.data(), tag.size());
  std::uint8_t* yp = out.data() + base + tag.size();
  std::uint8_t* up = yp + w * h;
  std::uint8_t* vp = up + cw * chh;
  auto px = [&](index_t y, index_t x) {
    const std::uint8_t* p = f.pixels.data() + (y * w + x) * ch;
    return ch >= 3 ? rgb_to_ycbcr(p[0], p[1], p[2]) : rgb_to_ycbcr(p[0], p[0], p[0]);
  };
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) yp[y * w + x] = clamp_round_u8(px(y, x).y);
  for (index_t by = 0; by < chh; ++by)
    for (index_t bx = 0; bx < cw; ++bx) {
      if (c == y4m_chroma::c444) {
        const auto v = px(by, bx);
        up[by * cw + bx] = clamp_round_u8(v.cb);
        vp[by * cw + bx] = clamp_round_u8(v.cr);
        continue;
      }
      double cb = 0.0, cr = 0.0;
      int n = 0;
      for (index_t y = 2 * by; y < std::min(2 * by + 2, h); ++y)
        for (index_t x = 2 * bx; x < std::min(2 * bx + 2, w); ++x) {
          const auto v = px(y, x);
          cb += v.cb;
          cr += v.cr;
          ++n;
        }
      up[by * cw + bx] = clamp_round_u8(cb / n);
      vp[by * cw + bx] = clamp_round_u8(cr / n);
    }
}

inline std::string errno_text(int err) { return std::generic_category().message(err); }

}  // namespace detail

/// Writes YUV4MPEG2 (.y4m) incrementally: one frame in memory at a time. Default chroma C420jpeg (full-range
/// BT.601, 2x2 box-averaged chroma, what ffmpeg and most players read); C444 for a near-lossless file.
class y4m_writer final : public video_sink {
 public:
  explicit y4m_writer(std::filesystem::path path, y4m_chroma chroma = y4m_chroma::c420jpeg)
      : path_(std::move(path)), chroma_(chroma) {}
  ~y4m_writer() override {
    if (file_) std::fclose(file_);
  }

  void begin(index_t width, index_t height, double fps) override {
    check_begin(width, height, fps, "y4m_writer");
    if (path_.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(path_.parent_path(), ec);
    }
    file_ = std::fopen(path_.c_str(), "wb");
    if (!file_) throw make_error("y4m_writer", path_.string(), ": cannot open for writing: ", detail::errno_text(errno));
    const auto header = detail::y4m_header(width, height, rate_, chroma_);
    put(header.data(), header.size());
  }
  void write_frame(const image_u8& frame) override {
    check_frame(frame, "y4m_writer");
    buf_.clear();
    detail::y4m_encode_frame(frame, chroma_, buf_);
    put(buf_.data(), buf_.size());
    ++frames_;
  }
  void finish() override {
    if (finished_) return;
    finished_ = true;
    if (!file_) return;
    std::FILE* f = std::exchange(file_, nullptr);
    const bool flush_failed = std::fflush(f) != 0;
    const int err = errno;
    if (std::fclose(f) != 0 || flush_failed)
      throw make_error("y4m_writer", path_.string(), ": write failed: ", detail::errno_text(err));
  }
  const std::filesystem::path& path() const override { return path_; }
  y4m_chroma chroma() const noexcept { return chroma_; }

 private:
  void put(const void* data, std::size_t n) {
    if (std::fwrite(data, 1, n, file_) != n)
      throw make_error("y4m_writer", path_.string(), ": write failed after ", frames_,
                       " frames: ", detail::errno_text(errno));
  }

  std::filesystem::path path_;
  y4m_chroma chroma_;
  std::FILE* file_ = nullptr;
  std::vector<std::uint8_t> buf_;
};

// ---- PNG frames -------------------------------------------------------------------------------------------

namespace detail {

/// A PNG file-name pattern: prefix, one integer conversion (%d, %Nd, %0Nd) and suffix; "%%" is a literal '%'.
struct frame_pattern {
  std::string prefix, suffix;
  int width = 0;
  bool zero_pad = false;

  std::string format(index_t i) const {
    std::string num = std::to_string(i);
    if (static_cast<int>(num.size()) < width)
      num.insert(0, static_cast<std::size_t>(width) - num.size(), zero_pad ? '0' : ' ');
    return prefix + num + suffix;
  }
};

inline frame_pattern parse_frame_pattern(std::string_view s) {
  frame_pattern p;
  bool found = false;
  std::string* cur = &p.prefix;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      cur->push_back(s[i]);
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '%') {
      cur->push_back('%');
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    if (j < s.size() && s[j] == '0') {
      p.zero_pad = true;
      ++j;
    }
    int width = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9' && width < 100) width = width * 10 + (s[j++] - '0');
    if (found || j >= s.size() || s[j] != 'd' || width > 32)
      throw make_error("png_sequence_writer", "bad frame pattern \"", std::string(s),
                       "\": use exactly one %d, %Nd or %0Nd (and %% for a literal %)");
    found = true;
    p.width = width;
    cur = &p.suffix;
    i = j;
  }
  if (!found)
    throw make_error("png_sequence_writer", "frame pattern \"", std::string(s), "\" has no %d conversion");
  return p;
}

}  // namespace detail

/// Writes each frame as a PNG file. `target` is a printf-like pattern with one integer conversion
/// ("out/frame_%04d.png"), or a directory (existing, or a path ending in '/'), which means
/// "<dir>/frame_%05d.png". Frames are numbered from `start_number`; missing directories are created.
class png_sequence_writer final : public video_sink {
 public:
  explicit png_sequence_writer(const std::filesystem::path& target, index_t start_number = 0)
      : next_(start_number) {
    const std::string s = target.string();
    std::error_code ec;
    if (s.find('%') == std::string::npos &&
        (s.empty() || s.back() == '/' || std::filesystem::is_directory(target, ec))) {
      path_ = target / "frame_%05d.png";
    } else {
      path_ = target;
    }
    pattern_ = detail::parse_frame_pattern(path_.string());
  }

  void begin(index_t width, index_t height, double fps) override {
    check_begin(width, height, fps, "png_sequence_writer");
    const std::filesystem::path first = pattern_.format(next_);
    if (first.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(first.parent_path(), ec);
      if (ec)
        throw make_error("png_sequence_writer", first.parent_path().string(),
                         ": cannot create directory: ", ec.message());
    }
  }
  void write_frame(const image_u8& frame) override {
    check_frame(frame, "png_sequence_writer");
    const std::filesystem::path p = frame_path(next_);
    write_png(p, frame);
    written_.push_back(p);
    ++next_;
    ++frames_;
  }
  void finish() override { finished_ = true; }
  const std::filesystem::path& path() const override { return path_; }

  /// The file name of frame number `i` (counting from start_number).
  std::filesystem::path frame_path(index_t i) const { return pattern_.format(i); }
  /// The files written so far, in order.
  const std::vector<std::filesystem::path>& files() const noexcept { return written_; }

 private:
  std::filesystem::path path_;
  detail::frame_pattern pattern_;
  index_t next_;
  std::vector<std::filesystem::path> written_;
};

// ---- ffmpeg -----------------------------------------------------------------------------------------------

/// Settings of ffmpeg_writer.
struct ffmpeg_options {
  /// Codec arguments; empty picks by extension: .webm -> VP9 (`-c:v libvpx-vp9 -crf 30 -b:v 0`), anything else
  /// -> H.264 (`-c:v libx264 -crf <crf> -preset medium`); both with `-pix_fmt yuv420p`.
  std::vector<std::string> codec_args;
  int crf = 18;                         ///< x264 quality when codec_args is empty
  std::vector<std::string> extra_args;  ///< appended after the codec arguments, before the output file
  std::filesystem::path ffmpeg;         ///< the executable; empty = search PATH for "ffmpeg"
};

/// The first executable file `name` in $PATH ("" when there is none). Empty PATH entries mean ".".
inline std::filesystem::path find_on_path(std::string_view name) {
  const char* env = std::getenv("PATH");
  if (env == nullptr) return {};
  std::string_view rest(env);
  while (true) {
    const auto colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    const std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : std::string(dir)) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return {};
}

/// Encodes through an external `ffmpeg` (found on PATH when constructed: a missing ffmpeg is reported before
/// any work is done): y4m C420jpeg frames are piped to
/// `ffmpeg -hide_banner -nostats -y -loglevel error -f yuv4mpegpipe -i - <codec args> <extra args> <out>`.
/// Odd frame sizes are padded to even with `-vf pad` (yuv420p needs even sizes). ffmpeg's stderr goes to a
/// temporary log whose tail is quoted when it fails; finish() waits for it and checks the exit status.
class ffmpeg_writer final : public video_sink {
 public:
  explicit ffmpeg_writer(std::filesystem::path path, ffmpeg_options options = {})
      : path_(std::move(path)), opt_(std::move(options)) {
    exe_ = opt_.ffmpeg.empty() ? find_on_path("ffmpeg") : opt_.ffmpeg;
    if (exe_.empty())
      throw make_error("ffmpeg_writer", path_.string(),
                       ": ffmpeg not found on PATH; install it (apt-get install ffmpeg) or write .y4m / PNG frames "
                       "instead");
  }
  ~ffmpeg_writer() override {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
    }
    remove_log();
  }

  void begin(index_t width, index_t height, double fps) override {
    check_begin(width, height, fps, "ffmpeg_writer");
    if (path_.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(path_.parent_path(), ec);
    }
    std::vector<std::string> args = {exe_.string(), "-hide_banner", "-nostats", "-y", "-loglevel", "error",
                                     "-f", "yuv4mpegpipe", "-i", "-"};
    if (opt_.codec_args.empty()) {
      std::string ext = path_.extension().string();
      for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (ext == ".webm")
        args.insert(args.end(), {"-c:v", "libvpx-vp9", "-crf", "30", "-b:v", "0"});
      else
        args.insert(args.end(), {"-c:v", "libx264", "-preset", "medium", "-crf", std::to_string(opt_.crf)});
      args.insert(args.end(), {"-pix_fmt", "yuv420p"});
    } else {
      args.insert(args.end(), opt_.codec_args.begin(), opt_.codec_args.end());
    }
    if (width % 2 != 0 || height % 2 != 0)
      args.insert(args.end(), {"-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"});
    args.insert(args.end(), opt_.extra_args.begin(), opt_.extra_args.end());
    args.push_back(path_.string());
    spawn(args);
    const auto header = detail::y4m_header(width, height, rate_, y4m_chroma::c420jpeg);
    put(reinterpret_cast<const std::uint8_t*>(header.data()), header.size());
  }
  void write_frame(const image_u8& frame) override {
    check_frame(frame, "ffmpeg_writer");
    buf_.clear();
    detail::y4m_encode_frame(frame, y4m_chroma::c420jpeg, buf_);
    put(buf_.data(), buf_.size());
    ++frames_;
  }
  void finish() override {
    if (finished_) return;
    finished_ = true;
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (pid_ <= 0) return;
    const int st = wait_child();
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
      const std::string why = WIFEXITED(st) ? str_cat("exited with status ", WEXITSTATUS(st))
                                            : str_cat("was killed by signal ", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
      throw make_error("ffmpeg_writer", path_.string(), ": ffmpeg ", why, " after ", frames_, " frames: ",
                       log_tail());
    }
    remove_log();
  }
  const std::filesystem::path& path() const override { return path_; }
  /// The ffmpeg executable that will be (or was) run.
  const std::filesystem::path& executable() const noexcept { return exe_; }

 private:
  void spawn(const std::vector<std::string>& args) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sanawm_ffmpeg_XXXXXX.log").string();
    const int log_fd = ::mkstemps(tmpl.data(), 4);
    if (log_fd < 0) throw make_error("ffmpeg_writer", "cannot create a log file: ", detail::errno_text(errno));
    log_path_ = tmpl;
    int p[2];
    if (::pipe(p) != 0) {
      ::close(log_fd);
      throw make_error("ffmpeg_writer", "pipe failed: ", detail::errno_text(errno));
    }
    ::fcntl(p[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    posix_spawn_file_actions_addclose(&fa, log_fd);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, exe_.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(p[0]);
    ::close(log_fd);
    if (rc != 0) {
      ::close(p[1]);
      throw make_error("ffmpeg_writer", "cannot run ", exe_.string(), ": ", detail::errno_text(rc));
    }
    pid_ = pid;
    fd_ = p[1];
  }

  /// write(2) with SIGPIPE blocked for this thread: a dead ffmpeg shows up as EPIPE, not as a killed process.
  void put(const std::uint8_t* data, std::size_t n) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int err = 0;
    while (n > 0) {
      const auto w = ::write(fd_, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    if (err == EPIPE) {  // consume the pending SIGPIPE before unblocking it
      const timespec zero{0, 0};
      while (sigtimedwait(&block, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (err != 0) {
      ::close(fd_);
      fd_ = -1;
      finished_ = true;
      const int st = pid_ > 0 ? wait_child() : 0;
      throw make_error("ffmpeg_writer", path_.string(), ": ffmpeg stopped reading after ", frames_, " frames (",
                       detail::errno_text(err), WIFEXITED(st) ? str_cat(", exit status ", WEXITSTATUS(st)) : "",
                       "): ", log_tail());
    }
  }

  int wait_child() {
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0) {
      if (errno != EINTR) {
        st = 0;
        break;
      }
    }
    pid_ = -1;
    return st;
  }

  std::string log_tail() const {
    std::ifstream in(log_path_, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    if (text.empty()) return "(ffmpeg printed nothing)";
    if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
    return text;
  }
  void remove_log() {
    if (!log_path_.empty()) {
      std::error_code ec;
      std::filesystem::remove(log_path_, ec);
      log_path_.clear();
    }
  }

  std::filesystem::path path_;
  ffmpeg_options opt_;
  std::filesystem::path exe_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::vector<std::uint8_t> buf_;
};

// ---- dispatch ---------------------------------------------------------------------------------------------

/// Options of make_video_sink.
struct video_options {
  y4m_chroma chroma = y4m_chroma::c420jpeg;  ///< for .y4m
  ffmpeg_options ffmpeg;                     ///< for .mp4/.webm/.mkv/.mov/.avi
  index_t png_start_number = 0;              ///< for PNG frames
};

/// The sink `out` asks for: a pattern containing '%', a path ending in '/' or an existing directory -> PNG
/// frames; .y4m -> y4m_writer; .mp4/.m4v/.webm/.mkv/.mov/.avi -> ffmpeg_writer (throws now when ffmpeg is
/// missing). Anything else is an error that lists the choices. `fps` is validated here and must be passed to
/// begin() again (sinks are told the frame size there).
inline std::unique_ptr<video_sink> make_video_sink(const std::filesystem::path& out, double fps,
                                                   const video_options& options = {}) {
  (void)to_frame_rate(fps);  // validate early
  const std::string s = out.string();
  if (s.empty()) throw make_error("make_video_sink", "empty output path");
  std::error_code ec;
  if (s.find('%') != std::string::npos || s.back() == '/' || std::filesystem::is_directory(out, ec))
    return std::make_unique<png_sequence_writer>(out, options.png_start_number);
  std::string ext = out.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext == ".y4m") return std::make_unique<y4m_writer>(out, options.chroma);
  if (ext == ".mp4" || ext == ".m4v" || ext == ".webm" || ext == ".mkv" || ext == ".mov" || ext == ".avi")
    return std::make_unique<ffmpeg_writer>(out, options.ffmpeg);
  if (ext == ".png")
    throw make_error("make_video_sink", s, ": a single .png cannot hold a video; use a pattern such as "
                     "frames/frame_%04d.png or a directory ending in '/'");
  throw make_error("make_video_sink", s, ": unknown video extension \"", ext, "\"; use .y4m, .mp4, .webm, .mkv, "
                   ".mov, .avi (the last five through ffmpeg), a PNG pattern with %d, or a directory ending in '/'");
}

// ---- y4m reader -------------------------------------------------------------------------------------------

/// A decoded YUV4MPEG2 stream, frames converted to RGB.
struct y4m_video {
  index_t width = 0, height = 0;
  int fps_num = 0, fps_den = 0;
  std::string chroma;  ///< the C tag ("420jpeg", "444", ...); "420jpeg" when absent
  bool full_range = true;
  std::vector<image_u8> frames;
};

namespace detail {

inline bool parse_y4m_int(std::string_view s, long long max, long long& out) {
  if (s.empty() || s.size() > 10) return false;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

inline std::uint8_t ycbcr_to_channel(double v) { return clamp_round_u8(v); }

}  // namespace detail

/// Parses a YUV4MPEG2 stream: W, H (1..16384), F (positive num:den), C in {420jpeg, 420paldv, 420mpeg2, 420,
/// 422, 444, mono} (absent = 420jpeg); I, A and X tags are accepted (XCOLORRANGE=LIMITED selects studio
/// range, otherwise samples are full-range BT.601). 4:2:0/4:2:2 chroma is upsampled by replication. Throws on
/// malformed headers, unknown colour spaces, and truncated or trailing data, naming `label` and the frame.
inline y4m_video parse_y4m(std::span<const std::byte> bytes, std::string_view label = "<memory>") {
  constexpr std::string_view op = "read_y4m";
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  constexpr std::string_view magic = "YUV4MPEG2";
  if (text.substr(0, magic.size()) != magic)
    throw make_error(op, label, ": not a YUV4MPEG2 stream (missing \"YUV4MPEG2\" signature)");
  const auto eol = text.find('\n');
  if (eol == std::string_view::npos || eol > 4096)
    throw make_error(op, label, ": header line not terminated by a newline within 4096 bytes");
  y4m_video v;
  v.chroma = "420jpeg";
  bool have_w = false, have_h = false, have_f = false;
  std::string_view hdr = text.substr(magic.size(), eol - magic.size());
  while (!hdr.empty()) {
    if (hdr.front() != ' ') throw make_error(op, label, ": malformed header (expected a space before a tag)");
    hdr.remove_prefix(1);
    const auto sp = hdr.find(' ');
    const std::string_view tok = hdr.substr(0, sp);
    hdr = sp == std::string_view::npos ? std::string_view{} : hdr.substr(sp);
    if (tok.empty()) throw make_error(op, label, ": malformed header (empty tag)");
    const char tag = tok.front();
    const std::string_view val = tok.substr(1);
    long long n = 0, d = 0;
    switch (tag) {
      case 'W':
      case 'H':
        if (!detail::parse_y4m_int(val, 16384, n) || n == 0)
          throw make_error(op, label, ": bad ", tag == 'W' ? "width" : "height", " \"", std::string(val),
                           "\" (1..16384)");
        (tag == 'W' ? v.width : v.height) = n;
        (tag == 'W' ? have_w : have_h) = true;
        break;
      case 'F': {
        const auto colon = val.find(':');
        if (colon == std::string_view::npos || !detail::parse_y4m_int(val.substr(0, colon), 1000000000, n) ||
            !detail::parse_y4m_int(val.substr(colon + 1), 1000000000, d) || n == 0 || d == 0)
          throw make_error(op, label, ": bad frame rate \"", std::string(val), "\" (want F<num>:<den>, both > 0)");
        v.fps_num = static_cast<int>(n);
        v.fps_den = static_cast<int>(d);
        have_f = true;
        break;
      }
      case 'C':
        if (val != "420jpeg" && val != "420paldv" && val != "420mpeg2" && val != "420" && val != "422" &&
            val != "444" && val != "mono")
          throw make_error(op, label, ": unsupported colour space C", std::string(val),
                           " (supported: 420jpeg, 420paldv, 420mpeg2, 420, 422, 444, mono)");
        v.chroma = std::string(val);
        break;
      case 'X':
        if (val == "COLORRANGE=LIMITED") v.full_range = false;
        break;
      case 'I':
      case 'A':
        break;
      default:
        throw make_error(op, label, ": unknown header tag '", tag, "'");
    }
  }
  if (!have_w || !have_h) throw make_error(op, label, ": header lacks W or H");
  if (!have_f) throw make_error(op, label, ": header lacks the frame rate F<num>:<den>");
  const index_t w = v.width, h = v.height;
  index_t cw = w, chh = h;
  if (v.chroma.rfind("420", 0) == 0) {
    cw = (w + 1) / 2;
    chh = (h + 1) / 2;
  } else if (v.chroma == "422") {
    cw = (w + 1) / 2;
  } else if (v.chroma == "mono") {
    cw = chh = 0;
  }
  const auto frame_bytes = static_cast<std::size_t>(w * h + 2 * cw * chh);
  const index_t sx = cw == w ? 1 : 2, sy = chh == h ? 1 : 2;
  std::size_t pos = eol + 1;
  while (pos < text.size()) {
    const index_t fi = static_cast<index_t>(v.frames.size());
    if (text.substr(pos, 5) != "FRAME")
      throw make_error(op, label, ": frame ", fi, " at byte ", pos, " does not start with \"FRAME\"");
    const auto fe = text.find('\n', pos);
    if (fe == std::string_view::npos || fe - pos > 4096)
      throw make_error(op, label, ": frame ", fi, " header is not terminated by a newline");
    if (fe != pos + 5 && text[pos + 5] != ' ')
      throw make_error(op, label, ": frame ", fi, " header is malformed");
    pos = fe + 1;
    if (text.size() - pos < frame_bytes)
      throw make_error(op, label, ": truncated: frame ", fi, " needs ", frame_bytes, " bytes, ", text.size() - pos,
                       " left");
    const auto* yp = reinterpret_cast<const std::uint8_t*>(text.data() + pos);
    const auto* up = yp + w * h;
    const auto* vp = up + cw * chh;
    image_u8 img(w, h, 3);
    const double ys = v.full_range ? 1.0 : 255.0 / 219.0, yo = v.full_range ? 0.0 : 16.0;
    const double cs = v.full_range ? 1.0 : 255.0 / 224.0;
    for (index_t y = 0; y < h; ++y)
      for (index_t x = 0; x < w; ++x) {
        const double Y = (yp[y * w + x] - yo) * ys;
        double cb = 0.0, cr = 0.0;
        if (cw > 0) {
          const index_t ci = (y / sy) * cw + x / sx;
          cb = (up[ci] - 128.0) * cs;
          cr = (vp[ci] - 128.0) * cs;
        }
        std::uint8_t* p = img.pixels.data() + (y * w + x) * 3;
        p[0] = detail::ycbcr_to_channel(Y + 1.402 * cr);
        p[1] = detail::ycbcr_to_channel(Y - 0.344136286 * cb - 0.714136286 * cr);
        p[2] = detail::ycbcr_to_channel(Y + 1.772 * cb);
      }
    v.frames.push_back(std::move(img));
    pos += frame_bytes;
  }
  return v;
}

/// Reads a .y4m file (whole file in memory; see parse_y4m).
inline y4m_video read_y4m(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw make_error("read_y4m", path.string(), ": no such file");
  const auto file = mapped_file::map(path, "read_y4m");
  return parse_y4m(file.bytes(), path.string());
}

}  // namespace sanawm::io

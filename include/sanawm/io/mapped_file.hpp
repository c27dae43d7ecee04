// SPDX-License-Identifier: Apache-2.0
// sanawm/io/mapped_file.hpp — read-only bytes of a file: a POSIX mmap of it, or an owned in-memory copy.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/mapped_file.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <cerrno>        // errno
#include <cstdint>       // std::uintptr_t
#include <cstddef>       // std::byte, std::size_t
#include <filesystem>    // std::filesystem::path
#include <fstream>       // std::ofstream
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::generic_category
#include <utility>       // std::exchange
#include <vector>        // std::vector

#include <fcntl.h>     // ::open
#include <sys/mman.h>  // ::mmap, ::munmap
#include <sys/stat.h>  // ::fstat
#include <unistd.h>    // ::close

#include "sanawm/core/error.hpp"  // make_error

namespace sanawm::io {

/// Read-only bytes with an owner: either a private read-only mapping of a regular file (checkpoints of many
/// GB cost no copy and only the touched pages are read) or an owned buffer (tests, fuzzing, decompressed
/// data). Move-only. The bytes of a mapping stay valid while the object lives; truncating the file underneath
/// a live mapping is outside this contract (the kernel answers with SIGBUS).
class mapped_file {
 public:
  mapped_file() noexcept = default;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  mapped_file(mapped_file&& o) noexcept
      : map_(std::exchange(o.map_, nullptr)),
        map_size_(std::exchange(o.map_size_, 0)),
        owned_(std::move(o.owned_)),
        label_(std::move(o.label_)) {}
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      release();
      map_ = std::exchange(o.map_, nullptr);
      map_size_ = std::exchange(o.map_size_, 0);
      owned_ = std::move(o.owned_);
      label_ = std::move(o.label_);
    }
    return *this;
  }
  ~mapped_file() { release(); }

  /// Maps `path` read-only. Errors ("[op] <path>: ...") for a missing/unreadable path or a non-regular file.
  /// An empty file gives an empty byte range (mmap refuses length 0).
  static mapped_file map(const std::filesystem::path& path, std::string_view op = "mapped_file") {
    mapped_file out;
    out.label_ = path.string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw make_error(op, out.label_, ": cannot open: ", std::generic_category().message(errno));
    struct ::stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      throw make_error(op, out.label_, ": cannot stat: ", std::generic_category().message(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw make_error(op, out.label_, ": not a regular file");
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size > 0) {
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw make_error(op, out.label_, ": mmap of ", size,
                         " bytes failed: ", std::generic_category().message(err));
      }
      out.map_ = p;
      out.map_size_ = size;
    }
    ::close(fd);  // the mapping keeps its own reference to the file
    return out;
  }

  /// Takes ownership of `bytes`; `label` stands in for the path in error messages.
  static mapped_file from_bytes(std::vector<std::byte> bytes, std::string label = "<memory>") {
    mapped_file out;
    out.owned_ = std::move(bytes);
    out.label_ = std::move(label);
    return out;
  }

  /// The whole content.
  std::span<const std::byte> bytes() const noexcept {
    if (map_ != nullptr) return {static_cast<const std::byte*>(map_), map_size_};
    return {owned_.data(), owned_.size()};
  }
  std::size_t size() const noexcept { return bytes().size(); }
  /// The path it was mapped from, or the label given to `from_bytes`.
  const std::string& label() const noexcept { return label_; }

  /// Drops the whole pages inside `range` from this process's resident set (madvise MADV_DONTNEED) once a loader
  /// has converted them: the mapping is private and read-only, so the pages are simply re-read from the file if
  /// touched again. A 10 GB checkpoint then costs its converted weights in RSS, not weights + file. A no-op for
  /// owned buffers (where DONTNEED would zero the memory) and for ranges outside the mapping.
  void drop_pages(std::span<const std::byte> range) const noexcept {
    if (map_ == nullptr || range.empty()) return;
    const auto base = reinterpret_cast<std::uintptr_t>(map_);
    const auto lo = reinterpret_cast<std::uintptr_t>(range.data()), hi = lo + range.size();
    if (lo < base || hi > base + map_size_) return;
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t first = (lo + page - 1) / page * page, last = hi / page * page;
    if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }

 private:
  void release() noexcept {
    if (map_ != nullptr) ::munmap(map_, map_size_);
    map_ = nullptr;
    map_size_ = 0;
  }

  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::vector<std::byte> owned_;
  std::string label_;
};

/// Reads a whole file into memory (for small files that are parsed once: JSON, .npy).
inline std::vector<std::byte> read_file_bytes(const std::filesystem::path& path, std::string_view op = "io") {
  auto m = mapped_file::map(path, op);
  auto b = m.bytes();
  return {b.begin(), b.end()};
}

/// Writes `bytes` to `path` through a temporary sibling and a rename, so readers never see a half-written
/// file and a failed write leaves the old file in place.
inline void write_file_bytes(const std::filesystem::path& path, std::span<const std::byte> bytes,
                             std::string_view op = "io") {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw make_error(op, tmp.string(), ": cannot open for writing");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw make_error(op, tmp.string(), ": write of ", bytes.size(), " bytes failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(tmp, ec);
    throw make_error(op, path.string(), ": cannot rename the temporary file into place: ", reason);
  }
}

}  // namespace sanawm::io

// SPDX-License-Identifier: Apache-2.0
// sanawm/core/buffer.hpp — host_buffer<T>: owning, 64-byte aligned host storage (no value-initialisation).
#pragma once

#include <cstddef>      // std::size_t
#include <new>          // aligned operator new/delete
#include <type_traits>  // std::is_trivially_copyable_v
#include <utility>      // std::exchange

#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/core/int.hpp"    // index_t

namespace sanawm {

/// Alignment of every sanawm host allocation: one cache line, and one AVX-512 register.
inline constexpr std::size_t host_alignment = 64;

/// Owning array of trivially copyable elements on the host, aligned to `host_alignment`.
/// Elements start uninitialised (kernels overwrite them; tests poison them with `fill`). Move-only.
template <class T>
class host_buffer {
  static_assert(std::is_trivially_copyable_v<T>, "sanawm: host_buffer holds trivially copyable elements only");

 public:
  host_buffer() noexcept = default;
  explicit host_buffer(index_t n) : size_(n) {
    if (n < 0) throw make_error("host_buffer", "negative element count ", n);
    if (n > 0) {
      if (static_cast<std::size_t>(n) > static_cast<std::size_t>(-1) / sizeof(T))
        throw make_error("host_buffer", "element count ", n, " overflows size_t");
      data_ = static_cast<T*>(::operator new(bytes(), std::align_val_t{host_alignment}));
    }
  }
  host_buffer(const host_buffer&) = delete;
  host_buffer& operator=(const host_buffer&) = delete;
  host_buffer(host_buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  host_buffer& operator=(host_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~host_buffer() { release(); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  index_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(size_) * sizeof(T); }
  T& operator[](index_t i) noexcept { return data_[i]; }
  const T& operator[](index_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }

 private:
  void release() noexcept {
    if (data_) ::operator delete(data_, std::align_val_t{host_alignment});
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  index_t size_ = 0;
};

}  // namespace sanawm

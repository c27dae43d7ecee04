// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/memory.hpp — backend_memory<Be>: owning buffers and copies where backend Be runs, so code written
// once over a backend tag (model/dit/engine.hpp) can allocate its working set and move data in and out. The CPU
// specialisation is here (host_buffer + memcpy); the CUDA one is in backend/cuda/backend_memory.cuh.
#pragma once

#include <cstring>  // std::memcpy, std::memset

#include "sanawm/backend/tags.hpp"  // cpu_t, cuda_t
#include "sanawm/core/buffer.hpp"   // host_buffer
#include "sanawm/core/int.hpp"      // index_t

namespace sanawm {

/// Memory of backend Be. Every specialisation provides:
///   template <class T> using buffer = …;                       owning, move-only, .data() / .size()
///   template <class T> static buffer<T> make(Be, index_t n);   n uninitialised elements
///   to_backend(Be, T* dst, const T* src, index_t n)            host → backend
///   to_host(Be, T* dst, const T* src, index_t n)               backend → host; the values are there on return
///   copy(Be, T* dst, const T* src, index_t n)                  backend → backend (ordered with the backend's work)
///   zero(Be, T* dst, index_t n)                                all bytes 0
///   synchronize(Be)                                            waits for the backend's queued work
template <class Be>
struct backend_memory;

template <>
struct backend_memory<cpu_t> {
  template <class T>
  using buffer = host_buffer<T>;

  template <class T>
  static buffer<T> make(cpu_t, index_t n) {
    return host_buffer<T>(n);
  }
  template <class T>
  static void to_backend(cpu_t, T* dst, const T* src, index_t n) noexcept {
    if (n > 0) std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
  }
  template <class T>
  static void to_host(cpu_t, T* dst, const T* src, index_t n) noexcept {
    if (n > 0) std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
  }
  template <class T>
  static void copy(cpu_t, T* dst, const T* src, index_t n) noexcept {
    if (n > 0) std::memmove(dst, src, static_cast<std::size_t>(n) * sizeof(T));
  }
  template <class T>
  static void zero(cpu_t, T* dst, index_t n) noexcept {
    if (n > 0) std::memset(static_cast<void*>(dst), 0, static_cast<std::size_t>(n) * sizeof(T));
  }
  static void synchronize(cpu_t) noexcept {}
};

}  // namespace sanawm

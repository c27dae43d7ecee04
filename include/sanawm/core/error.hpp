// SPDX-License-Identifier: Apache-2.0
// sanawm/core/error.hpp — sanawm::error ("[op] message with values") and the host/device check macros.
#pragma once

#include <charconv>     // std::to_chars for numbers in messages (no iostreams, no fmt: nvcc-safe)
#include <concepts>     // std::integral, std::floating_point
#include <stdexcept>    // std::runtime_error
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <system_error>  // std::errc
#include <type_traits>  // std::is_enum_v

#include "sanawm/config.hpp"  // SANAWM_HD, SANAWM_DEVICE_PASS

namespace sanawm {

/// The one exception type sanawm throws on the host. `what()` reads "[op] message with values", where op
/// names the public entry point that rejected its input (MLX's convention).
class error : public std::runtime_error {
 public:
  explicit error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {

inline void append(std::string& out, std::string_view s) { out.append(s); }
inline void append(std::string& out, const char* s) { out.append(s ? s : "(null)"); }
inline void append(std::string& out, const std::string& s) { out.append(s); }
inline void append(std::string& out, char c) { out.push_back(c); }
inline void append(std::string& out, bool b) { out.append(b ? "true" : "false"); }

template <class T>
  requires(std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>)
void append(std::string& out, T v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

template <std::floating_point T>
void append(std::string& out, T v) {
  char buf[64];
  // Shortest round-trip representation: messages show exactly the value that was rejected.
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  if (res.ec == std::errc{}) out.append(buf, res.ptr);
  else out.append("<float>");
}

template <class T>
  requires std::is_enum_v<T>
void append(std::string& out, T v) {
  append(out, static_cast<std::underlying_type_t<T>>(v));
}

}  // namespace detail

/// Concatenates strings and numbers into one message (numbers in shortest round-trip form).
template <class... Args>
std::string str_cat(const Args&... args) {
  std::string out;
  (detail::append(out, args), ...);
  return out;
}

/// Builds the error for entry point `op`: `make_error("rms_norm", "hidden size ", 96, " not on menu")`.
template <class... Args>
error make_error(std::string_view op, const Args&... args) {
  return error(str_cat("[", op, "] ", args...));
}

}  // namespace sanawm

/// Host-side precondition check: throws sanawm::error("[op] <message parts>") when `cond` is false.
#define SANAWM_EXPECT(cond, op, ...)                            \
  do {                                                          \
    if (!(cond)) [[unlikely]] throw ::sanawm::make_error(op, __VA_ARGS__); \
  } while (0)

/// Device-side assertion: traps in debug device builds (NDEBUG unset), compiles to nothing otherwise.
/// On the host (and under g++) it throws sanawm::error in debug builds and is free with NDEBUG.
#if SANAWM_DEVICE_PASS
#if defined(NDEBUG)
#define SANAWM_DEVICE_ASSERT(cond) ((void)0)
#else
#define SANAWM_DEVICE_ASSERT(cond) \
  do {                             \
    if (!(cond)) __trap();         \
  } while (0)
#endif
#elif defined(NDEBUG)
#define SANAWM_DEVICE_ASSERT(cond) ((void)0)
#else
#define SANAWM_DEVICE_ASSERT(cond)                                                                  \
  do {                                                                                              \
    if (!(cond)) [[unlikely]] throw ::sanawm::error("[device_assert] " #cond " failed at " __FILE__); \
  } while (0)
#endif

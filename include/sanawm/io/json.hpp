// SPDX-License-Identifier: Apache-2.0
// sanawm/io/json.hpp — JSON parsing (nlohmann-json) with sanawm::error messages and typed, key-naming field
// access.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/json.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <concepts>     // std::integral, std::floating_point
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint64_t
#include <filesystem>   // std::filesystem::path
#include <fstream>      // std::ifstream
#include <iterator>     // std::istreambuf_iterator
#include <limits>       // std::numeric_limits
#include <optional>     // std::optional
#include <set>          // std::set (duplicate-key detection)
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_same_v
#include <utility>      // std::cmp_less, std::cmp_greater
#include <vector>       // std::vector

#include <nlohmann/json.hpp>

#include "sanawm/core/error.hpp"      // make_error
#include "sanawm/io/detail/text.hpp"  // detail::printable_key

namespace sanawm::io {

/// The JSON value type used across sanawm's I/O (ordered by key, as nlohmann's default `json`).
using json = nlohmann::json;

/// Limits applied while parsing untrusted JSON (safetensors headers, index files, configs).
struct json_parse_options {
  /// Deepest allowed nesting of arrays/objects; bounds the recursion of later consumers of the value.
  int max_depth = 64;
  /// nlohmann keeps the last of duplicate keys silently; a checkpoint header with two entries for one
  /// tensor is corrupt, so the default rejects them.
  bool reject_duplicate_keys = true;
};

namespace detail {

/// nlohmann prefixes its messages with "[json.exception.parse_error.101] "; sanawm messages carry their own
/// op.
inline std::string strip_nlohmann_prefix(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    if (auto close = what.find("] "); close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  return std::string(what);
}

}  // namespace detail

/// Parses `text` as exactly one JSON value (whitespace around it allowed, nothing else).
/// Throws `make_error(op, context, ": invalid JSON: ", detail)` on syntax errors, invalid UTF-8, nesting
/// deeper than `options.max_depth` and (by default) duplicate object keys.
inline json parse_json(std::string_view text, std::string_view op = "json",
                       std::string_view context = "<memory>", const json_parse_options& options = {}) {
  // nlohmann's lexer takes a NUL byte for the end of input, which would accept "{}\0<anything>". Raw NUL
  // is never valid JSON (inside strings it must be escaped), so refuse it up front.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw make_error(op, context, ": invalid JSON: NUL byte at offset ", nul);
  // One set of seen keys per open object; a key event always belongs to the innermost open object.
  std::vector<std::set<std::string, std::less<>>> open_objects;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= options.max_depth)
          throw make_error(op, context, ": invalid JSON: nesting deeper than ", options.max_depth, " levels");
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (options.reject_duplicate_keys && !open_objects.empty()) {
          const auto& key = parsed.get_ref<const std::string&>();
          if (!open_objects.back().insert(key).second)
            throw make_error(op, context, ": invalid JSON: duplicate key '", detail::printable_key(key), "'");
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    throw make_error(op, context, ": invalid JSON: ", detail::strip_nlohmann_prefix(e.what()));
  }
}

/// Reads a whole (small) file and parses it with `parse_json`; the context of every error is the path.
inline json read_json_file(const std::filesystem::path& path, std::string_view op = "json",
                           const json_parse_options& options = {}) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(op, path.string(), ": cannot open for reading");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw make_error(op, path.string(), ": read error");
  return parse_json(text, op, path.string(), options);
}

/// The member `key` of object `obj`, or nullptr when absent. Throws when `obj` is not an object.
inline const json* json_find(const json& obj, std::string_view key, std::string_view op = "json",
                             std::string_view context = "<memory>") {
  if (!obj.is_object())
    throw make_error(op, context, ": expected a JSON object holding '", detail::printable_key(key), "', got ",
                     obj.type_name());
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

/// The member `key` of object `obj`; the error names the missing key.
inline const json& json_at(const json& obj, std::string_view key, std::string_view op = "json",
                           std::string_view context = "<memory>") {
  if (const json* v = json_find(obj, key, op, context)) return *v;
  throw make_error(op, context, ": missing key '", detail::printable_key(key), "'");
}

/// Converts one JSON value to T with strict type checks: bool, std::string, integers (range-checked, JSON
/// integers only), floating point (any JSON number), std::vector<U> of those, or json itself. `what` names
/// the value in errors ("key 'depth'", "shape[2]").
template <class T>
T json_as(const json& value, std::string_view what, std::string_view op = "json",
          std::string_view context = "<memory>");

namespace detail {

template <class T>
inline constexpr bool is_std_vector_v = false;
template <class U, class A>
inline constexpr bool is_std_vector_v<std::vector<U, A>> = true;

[[noreturn]] inline void json_type_mismatch(const json& value, std::string_view what,
                                            std::string_view expected, std::string_view op,
                                            std::string_view context) {
  throw make_error(op, context, ": ", what, ": expected ", expected, ", got ", value.type_name());
}

}  // namespace detail

template <class T>
T json_as(const json& value, std::string_view what, std::string_view op, std::string_view context) {
  if constexpr (std::is_same_v<T, json>) {
    return value;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean()) detail::json_type_mismatch(value, what, "a boolean", op, context);
    return value.get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!value.is_string()) detail::json_type_mismatch(value, what, "a string", op, context);
    return value.get<std::string>();
  } else if constexpr (std::integral<T>) {
    // Floats are never accepted for integer fields: 3.0 in a shape means a broken writer.
    if (value.is_number_unsigned()) {
      const auto v = value.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        throw make_error(op, context, ": ", what, ": value ", v, " does not fit the expected integer type");
      return static_cast<T>(v);
    }
    if (value.is_number_integer()) {
      const auto v = value.get<std::int64_t>();
      if (std::cmp_less(v, std::numeric_limits<T>::min()) ||
          std::cmp_greater(v, std::numeric_limits<T>::max()))
        throw make_error(op, context, ": ", what, ": value ", v, " does not fit the expected integer type");
      return static_cast<T>(v);
    }
    detail::json_type_mismatch(value, what, "an integer", op, context);
  } else if constexpr (std::floating_point<T>) {
    if (!value.is_number()) detail::json_type_mismatch(value, what, "a number", op, context);
    return value.get<T>();
  } else if constexpr (detail::is_std_vector_v<T>) {
    if (!value.is_array()) detail::json_type_mismatch(value, what, "an array", op, context);
    T out;
    out.reserve(value.size());
    std::size_t i = 0;
    for (const auto& element : value) {
      out.push_back(json_as<typename T::value_type>(element, str_cat(what, "[", i, "]"), op, context));
      ++i;
    }
    return out;
  } else {
    static_assert(sizeof(T) == 0, "sanawm::io::json_as: unsupported target type");
  }
}

/// Typed member access: `json_get<int>(config, "depth", "dit_config", path)`; errors name the missing or
/// mistyped key.
template <class T>
T json_get(const json& obj, std::string_view key, std::string_view op = "json",
           std::string_view context = "<memory>") {
  return json_as<T>(json_at(obj, key, op, context), str_cat("key '", detail::printable_key(key), "'"), op,
                    context);
}

/// Like `json_get`, but an absent key (or an explicit null) yields `fallback`; a present key of the wrong
/// type is still an error.
template <class T>
T json_get_or(const json& obj, std::string_view key, T fallback, std::string_view op = "json",
              std::string_view context = "<memory>") {
  const json* v = json_find(obj, key, op, context);
  if (v == nullptr || v->is_null()) return fallback;
  return json_as<T>(*v, str_cat("key '", detail::printable_key(key), "'"), op, context);
}

/// Like `json_get_or` without a fallback: std::nullopt when absent or null.
template <class T>
std::optional<T> json_get_optional(const json& obj, std::string_view key, std::string_view op = "json",
                                   std::string_view context = "<memory>") {
  const json* v = json_find(obj, key, op, context);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return json_as<T>(*v, str_cat("key '", detail::printable_key(key), "'"), op, context);
}

}  // namespace sanawm::io

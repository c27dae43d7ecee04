// SPDX-License-Identifier: Apache-2.0
// sanawm/io/detail/text.hpp — message helpers of the I/O parsers: printable names and "did you mean" hints.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/detail/text.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <algorithm>    // std::min, std::max, std::sort
#include <cstddef>      // std::size_t
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::pair, std::swap
#include <vector>       // std::vector

#include "sanawm/core/error.hpp"  // str_cat

namespace sanawm::io::detail {

/// A short, printable rendering of `key` for error messages (hostile input may hold control bytes).
inline std::string printable_key(std::string_view key, std::size_t max_len = 80) {
  std::string out;
  for (std::size_t i = 0; i < key.size() && i < max_len; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      constexpr char hex[] = "0123456789abcdef";
      out.append("\\x");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (key.size() > max_len) out.append("...");
  return out;
}

/// Levenshtein distance with an early exit once every entry of a row exceeds `cap` (returns cap + 1 then).
inline std::size_t bounded_edit_distance(std::string_view a, std::string_view b, std::size_t cap) {
  if (a.size() > b.size() + cap || b.size() > a.size() + cap) return cap + 1;
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > cap) return cap + 1;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

/// " (did you mean 'a', 'b'?)" for the stored names closest to `wanted`: small edit distance, or one name
/// being a dotted suffix of the other (a checkpoint saved with or without a "model." prefix).
template <class Names>
std::string near_matches(std::string_view wanted, const Names& names) {
  if (names.size() > 200'000) return {};  // an error path; do not make it quadratic on huge checkpoints
  const std::size_t cap = std::max<std::size_t>(2, wanted.size() / 5);
  std::vector<std::pair<std::size_t, std::string_view>> hits;
  for (const auto& entry : names) {
    const std::string_view name = entry.first;
    std::size_t dist = bounded_edit_distance(wanted, name, cap);
    const bool suffix = (name.size() > wanted.size() && name.ends_with(wanted) &&
                         name[name.size() - wanted.size() - 1] == '.') ||
                        (wanted.size() > name.size() && wanted.ends_with(name) &&
                         wanted[wanted.size() - name.size() - 1] == '.');
    if (suffix) dist = std::min(dist, cap);
    if (dist <= cap) hits.emplace_back(dist, name);
  }
  if (hits.empty()) return {};
  std::sort(hits.begin(), hits.end());
  std::string out = " (did you mean ";
  for (std::size_t i = 0; i < hits.size() && i < 3; ++i)
    out += str_cat(i ? ", '" : "'", printable_key(hits[i].second), "'");
  return out + "?)";
}

}  // namespace sanawm::io::detail

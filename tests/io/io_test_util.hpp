// SPDX-License-Identifier: Apache-2.0
// tests/io/io_test_util.hpp — temporary directories, byte helpers and error-message matchers for the I/O
// tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "sanawm/core/error.hpp"

namespace sanawm::test {

/// A fresh directory for one test, removed with everything in it at scope exit.
class temp_dir {
 public:
  temp_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("sanawm_io_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
  return out;
}

inline void append(std::vector<std::byte>& v, std::string_view s) {
  const auto b = to_bytes(s);
  v.insert(v.end(), b.begin(), b.end());
}

template <class U>
void append_le(std::vector<std::byte>& v, U value) {
  for (std::size_t i = 0; i < sizeof(U); ++i) v.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<std::byte>& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline std::vector<std::byte> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  if (!c.empty()) std::memcpy(out.data(), c.data(), c.size());
  return out;
}

/// The message of the sanawm::error `f` throws; fails the test (and returns "") when it throws nothing
/// or something else.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sanawm::error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-sanawm exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

/// Expects `f` to throw sanawm::error whose message contains every one of `parts`.
#define SANAWM_EXPECT_ERROR(stmt, ...)                                               \
  do {                                                                               \
    const std::string sanawm_msg_ = ::sanawm::test::error_of([&] { (void)(stmt); }); \
    const std::vector<std::string> sanawm_parts_{__VA_ARGS__};                       \
    for (const std::string& sanawm_part_ : sanawm_parts_)                            \
      EXPECT_NE(sanawm_msg_.find(sanawm_part_), std::string::npos)                   \
          << "message \"" << sanawm_msg_ << "\" lacks \"" << sanawm_part_ << "\"";   \
  } while (0)

/// The directory of the upstream golden data, or "" when this build has none.
inline std::filesystem::path golden_dir() {
#if defined(SANAWM_GOLDEN_DIR)
  const std::filesystem::path p = SANAWM_GOLDEN_DIR;
  if (!p.empty() && std::filesystem::is_directory(p)) return p;
#endif
  return {};
}

/// The fuzz seed corpus, whose NumPy-written files double as fixtures.
inline std::filesystem::path corpus_dir(const std::string& target) {
  return std::filesystem::path(SANAWM_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / target;
}

}  // namespace sanawm::test

// SPDX-License-Identifier: Apache-2.0
// tests/fuzz/replay_main.cpp — libFuzzer-free driver: replays a seed corpus plus deterministic mutations of
// it.
//
// Usage: <target> [--mutations N] [--seed S] [--max-seconds T] [--only K] <corpus dir or file>...
// Runs LLVMFuzzerTestOneInput on every seed file, then on N mutants (bit flips, interesting bytes,
// truncations, erased/duplicated ranges, length-field and digit edits, splices), numbered 0..N-1 and
// reproducible from (S, K). A crash, sanitizer report or escaping exception writes the input to
// `fuzz-failure-<target>.bin` in the working directory, names it, and fails the run.
#include "fuzz_target.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANAWM_REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANAWM_REPLAY_ASAN 1
#endif
#endif
#if defined(SANAWM_REPLAY_ASAN)
#include <sanitizer/common_interface_defs.h>  // __sanitizer_set_death_callback
#endif

namespace {

// The input being run, kept where a signal handler or the sanitizer's death callback can dump it.
std::vector<std::uint8_t> g_input;
char g_label[256] = "";
char g_dump_path[512] = "fuzz-failure.bin";

void dump_current_input() {
  const int fd = ::open(g_dump_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    std::size_t done = 0;
    while (done < g_input.size()) {
      const auto n = ::write(fd, g_input.data() + done, g_input.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  // write(2) only: this may run inside a signal handler.
  const char* parts[] = {"\nfuzz replay: failing input ", g_label, " written to ", g_dump_path, "\n"};
  for (const char* p : parts) {
    if (::write(2, p, std::strlen(p)) < 0) break;
  }
}

void on_signal(int sig) {
  dump_current_input();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

/// splitmix64: tiny, seedable and identical everywhere, so mutant K is the same bytes on every machine.
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Writes `v` little-endian in `width` bytes at `at` (clipped to the buffer).
void poke_le(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width && at + i < b.size(); ++i)
    b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

void mutate_once(std::vector<std::uint8_t>& b, const std::vector<std::vector<std::uint8_t>>& seeds, rng& r) {
  static constexpr std::uint8_t interesting_bytes[] = {0x00, 0xff, 0x7f, 0x80, 0x01, '{', '}',
                                                       '[',  ']',  '"',  ',',  ':',  '0', '9',
                                                       '-',  'e',  ' ',  '\n', '\\', 'L'};
  const std::size_t n = b.size();
  switch (r.below(8)) {
    case 0:  // bit flips
      for (std::size_t k = 1 + r.below(4); n && k; --k)
        b[r.below(n)] ^= static_cast<std::uint8_t>(1u << r.below(8));
      break;
    case 1:  // interesting byte
      if (n) b[r.below(n)] = interesting_bytes[r.below(std::size(interesting_bytes))];
      break;
    case 2:  // truncation
      b.resize(r.below(n + 1));
      break;
    case 3:  // erase a range
      if (n) {
        const std::size_t at = r.below(n), len = 1 + r.below(std::min<std::size_t>(n - at, 64));
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                b.begin() + static_cast<std::ptrdiff_t>(at + len));
      }
      break;
    case 4:  // duplicate a range somewhere else
      if (n) {
        const std::size_t at = r.below(n), len = 1 + r.below(std::min<std::size_t>(n - at, 64));
        const std::vector<std::uint8_t> chunk(b.begin() + static_cast<std::ptrdiff_t>(at),
                                              b.begin() + static_cast<std::ptrdiff_t>(at + len));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(r.below(n + 1)), chunk.begin(), chunk.end());
      }
      break;
    case 5: {  // length-field edit: header length at 0, or a 2/4/8-byte integer anywhere
      const std::uint64_t values[] = {0,          1,      n,        n - 1,          n + 1,
                                      n / 2,      0xffff, 0x10000,  0xffffffff,     0x100000000,
                                      1ull << 62, ~0ull,  r.next(), r.below(n + 64)};
      const std::size_t widths[] = {2, 4, 8};
      const std::size_t at = r.below(2) ? 0 : r.below(n + 1);
      poke_le(b, at, values[r.below(std::size(values))], widths[r.below(3)]);
      break;
    }
    case 6: {  // digit edit: JSON numbers, shape tuples and offsets are ASCII digits
      std::vector<std::size_t> digits;
      for (std::size_t i = 0; i < n; ++i)
        if (b[i] >= '0' && b[i] <= '9') digits.push_back(i);
      if (!digits.empty()) {
        const std::size_t at = digits[r.below(digits.size())];
        if (r.below(2))
          b[at] = static_cast<std::uint8_t>('0' + r.below(10));
        else
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>('0' + r.below(10)));
      }
      break;
    }
    default: {  // splice: a prefix of this input and a suffix of another seed
      const auto& other = seeds[r.below(seeds.size())];
      const std::size_t cut = r.below(n + 1), from = r.below(other.size() + 1);
      b.resize(cut);
      b.insert(b.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 2000, only = -1;
  double max_seconds = 0;
  std::uint64_t seed = 0x5A7A'F022ull;
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--mutations" && has_value)
      mutations = std::atol(argv[++i]);
    else if (a == "--seed" && has_value)
      seed = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--max-seconds" && has_value)
      max_seconds = std::atof(argv[++i]);
    else if (a == "--only" && has_value)
      only = std::atol(argv[++i]);
    else
      inputs.emplace_back(a);
  }
  const std::string target = std::filesystem::path(argv[0]).filename().string();
  std::snprintf(g_dump_path, sizeof g_dump_path, "fuzz-failure-%s.bin", target.c_str());

  std::vector<std::vector<std::uint8_t>> seeds;
  std::vector<std::string> seed_names;
  for (const auto& in : inputs) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(in)) {
      for (const auto& e : std::filesystem::directory_iterator(in))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());  // directory order differs between file systems
    } else {
      files.push_back(in);
    }
    for (const auto& f : files) {
      seeds.push_back(read_file(f));
      seed_names.push_back(f.filename().string());
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "%s: no seed inputs (usage: %s [--mutations N] [--seed S] <corpus dir>...)\n",
                 target.c_str(), target.c_str());
    return 2;
  }

  std::signal(SIGSEGV, on_signal);
  std::signal(SIGBUS, on_signal);
  std::signal(SIGFPE, on_signal);
  std::signal(SIGILL, on_signal);
  std::signal(SIGABRT, on_signal);
#if defined(SANAWM_REPLAY_ASAN)
  __sanitizer_set_death_callback(dump_current_input);
#endif

  auto run = [&](const std::vector<std::uint8_t>& input, const std::string& label) {
    g_input = input;
    std::snprintf(g_label, sizeof g_label, "%s", label.c_str());
    try {
      LLVMFuzzerTestOneInput(g_input.data(), g_input.size());
    } catch (const std::exception& e) {
      // The targets catch sanawm::error; anything escaping is a parser bug.
      std::fprintf(stderr, "%s: uncaught exception: %s\n", target.c_str(), e.what());
      dump_current_input();
      std::exit(1);
    } catch (...) {
      std::fprintf(stderr, "%s: uncaught non-std exception\n", target.c_str());
      dump_current_input();
      std::exit(1);
    }
  };

  const auto start = std::chrono::steady_clock::now();
  if (only < 0)
    for (std::size_t i = 0; i < seeds.size(); ++i) run(seeds[i], "seed " + seed_names[i]);
  long done = 0;
  for (long k = (only < 0 ? 0 : only); k < (only < 0 ? mutations : only + 1); ++k) {
    rng r{seed ^ (static_cast<std::uint64_t>(k) * 0xD1B54A32D192ED03ull)};
    const std::size_t base = r.below(seeds.size());
    std::vector<std::uint8_t> m = seeds[base];
    for (std::size_t stack = 1 + r.below(3); stack; --stack) mutate_once(m, seeds, r);
    run(m, "mutant " + std::to_string(k) + " of " + seed_names[base] + " (--seed " + std::to_string(seed) +
               " --only " + std::to_string(k) + ")");
    ++done;
    if (max_seconds > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > max_seconds) {
      std::printf("%s: time budget of %.1f s reached\n", target.c_str(), max_seconds);
      break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %zu seeds and %ld mutants passed in %.2f s\n", target.c_str(), seeds.size(), done, secs);
  return 0;
}

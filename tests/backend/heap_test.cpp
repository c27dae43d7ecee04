// SPDX-License-Identifier: Apache-2.0
// keep_freed_memory(): the opt-out, and that a large block freed and allocated again costs no new page faults.
#include "sanawm/backend/cpu/heap.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__unix__)
#include <sys/resource.h>  // getrusage: minor page faults
#endif

namespace sanawm {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool asan = true;
#else
constexpr bool asan = false;
#endif
#else
constexpr bool asan = false;
#endif

#if defined(__unix__)
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}
#endif

// Kept in a volatile global so the compiler cannot drop a malloc/memset/free round.
void* volatile sink = nullptr;

// Page faults of one round: allocate `bytes`, write every page, free.
long faults_of_one_round(std::size_t bytes) {
  const long before = minor_faults();
  sink = std::malloc(bytes);
  EXPECT_NE(sink, nullptr);
  std::memset(sink, 1, bytes);
  std::free(sink);
  sink = nullptr;
  return minor_faults() - before;
}

TEST(KeepFreedMemory, EnvironmentOptOut) {
  ::setenv("SANAWM_KEEP_FREED_MEMORY", "0", 1);
  EXPECT_FALSE(cpu::keep_freed_memory());
  ::unsetenv("SANAWM_KEEP_FREED_MEMORY");
}

TEST(KeepFreedMemory, ReallocatingAFreedBlockCostsNoPageFaults) {
#if !defined(__GLIBC__) || !defined(__unix__)
  GTEST_SKIP() << "keep_freed_memory() acts on glibc's malloc only";
#else
  if (asan) GTEST_SKIP() << "AddressSanitizer replaces malloc (mallopt has no effect there)";
  constexpr std::size_t bytes = std::size_t{64} << 20;  // above glibc's largest default mmap threshold (32 MiB)
  constexpr long pages = static_cast<long>(bytes / 4096);
  // Default policy: every round maps fresh pages (each 4 KiB page faults once; transparent huge pages can only lower
  // that, so the bound is loose).
  faults_of_one_round(bytes);
  const long fresh = faults_of_one_round(bytes);
  ASSERT_TRUE(cpu::keep_freed_memory());
  faults_of_one_round(bytes);  // the first round after the call grows the heap
  const long reused = faults_of_one_round(bytes);
  EXPECT_LT(reused, pages / 16) << "the freed block should have been reused with its pages (" << fresh
                                << " faults per round before keep_freed_memory())";
  if (fresh > pages / 2) {
    EXPECT_LT(reused * 8, fresh);
  }
#endif
}

}  // namespace
}  // namespace sanawm

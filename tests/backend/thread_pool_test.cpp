// SPDX-License-Identifier: Apache-2.0
// Thread pool and parallel_for on the CPU: coverage, deterministic partitioning, nesting, exceptions, env.
#include "sanawm/backend/cpu/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sanawm {
namespace {

TEST(StaticPartition, CoversRangeContiguouslyAndBalanced) {
  for (index_t n : {0, 1, 7, 64, 1000, 1001}) {
    for (index_t parts : {1, 2, 3, 8, 17}) {
      index_t expect_begin = 0, max_sz = 0, min_sz = n;
      for (index_t p = 0; p < parts; ++p) {
        const auto r = cpu::static_partition(n, parts, p);
        EXPECT_EQ(r.begin, expect_begin);
        expect_begin = r.end;
        max_sz = std::max(max_sz, r.end - r.begin);
        min_sz = std::min(min_sz, r.end - r.begin);
      }
      EXPECT_EQ(expect_begin, n);
      EXPECT_LE(max_sz - min_sz, 1);
    }
  }
}

TEST(ThreadPool, RunsEveryPartOnce) {
  cpu::thread_pool pool(4);
  std::vector<std::atomic<int>> hits(4);
  for (int rep = 0; rep < 50; ++rep) pool.run([&](int p) { hits[static_cast<std::size_t>(p)]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 50);
}

TEST(ThreadPool, SamePartAlwaysSameRange) {
  cpu::thread_pool pool(3);
  std::vector<index_t> owner1(100, -1), owner2(100, -1);
  cpu::parallel_ranges(pool, 100, [&](index_t b, index_t e, int p) {
    for (index_t i = b; i < e; ++i) owner1[static_cast<std::size_t>(i)] = p;
  });
  cpu::parallel_ranges(pool, 100, [&](index_t b, index_t e, int p) {
    for (index_t i = b; i < e; ++i) owner2[static_cast<std::size_t>(i)] = p;
  });
  EXPECT_EQ(owner1, owner2);
}

TEST(ThreadPool, RethrowsFirstException) {
  cpu::thread_pool pool(3);
  EXPECT_THROW(pool.run([](int p) {
    if (p == 2) throw std::runtime_error("boom");
  }),
               std::runtime_error);
  // The pool stays usable after an exception.
  std::atomic<int> n{0};
  pool.run([&](int) { n++; });
  EXPECT_EQ(n.load(), 3);
}

TEST(ThreadPool, NestedCallsRunSerially) {
  cpu::thread_pool pool(2);
  std::atomic<int> inner{0};
  pool.run([&](int) {
    EXPECT_TRUE(cpu::thread_pool::in_parallel_region());
    pool.run([&](int) { inner++; });
  });
  EXPECT_EQ(inner.load(), 4);
  EXPECT_FALSE(cpu::thread_pool::in_parallel_region());
}

TEST(ThreadPool, RejectsZeroThreads) { EXPECT_THROW(cpu::thread_pool(0), error); }

// SANAWM_SPIN_US: 0 blocks at once (same results), a malformed value is an error from the constructor.
TEST(ThreadPool, SpinBudgetFromEnvironment) {
  const char* old = std::getenv("SANAWM_SPIN_US");
  const std::string saved = old ? old : "";
  for (const char* v : {"0", "250"}) {
    ::setenv("SANAWM_SPIN_US", v, 1);
    cpu::thread_pool pool(3);
    std::atomic<int> sum{0};
    for (int rep = 0; rep < 50; ++rep) pool.run([&](int p) { sum += p + 1; });
    EXPECT_EQ(sum.load(), 50 * 6) << "SANAWM_SPIN_US=" << v;
  }
  for (const char* bad : {"-1", "abc", "12us", "2000000"}) {
    ::setenv("SANAWM_SPIN_US", bad, 1);
    try {
      cpu::thread_pool pool(2);
      ADD_FAILURE() << "expected an error for SANAWM_SPIN_US=" << bad;
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("SANAWM_SPIN_US"), std::string::npos) << e.what();
    }
  }
  if (old) ::setenv("SANAWM_SPIN_US", saved.c_str(), 1);
  else ::unsetenv("SANAWM_SPIN_US");
}

TEST(ParallelFor, VisitsEveryIndexOnce) {
  std::vector<int> out(10007, 0);
  struct body {
    int* out;
    void operator()(index_t i) const { out[i] += 1; }
  };
  parallel_for(cpu_t{}, static_cast<index_t>(out.size()), body{out.data()});
  for (int v : out) EXPECT_EQ(v, 1);
}

TEST(ParallelFor, TwoDimensional) {
  std::vector<int> out(13 * 29, 0);
  struct body {
    int* out;
    void operator()(index_t i, index_t j) const { out[i * 29 + j] += static_cast<int>(i * 1000 + j); }
  };
  parallel_for_2d(cpu_t{}, 13, 29, body{out.data()});
  for (index_t i = 0; i < 13; ++i)
    for (index_t j = 0; j < 29; ++j) EXPECT_EQ(out[static_cast<std::size_t>(i * 29 + j)], i * 1000 + j);
}

TEST(ParallelReduce, DeterministicAndCorrect) {
  auto map = [](index_t i) { return 1.0 / static_cast<double>(i + 1); };
  auto add = [](double a, double b) { return a + b; };
  const double a = parallel_reduce(cpu_t{}, 100000, 0.0, map, add);
  const double b = parallel_reduce(cpu_t{}, 100000, 0.0, map, add);
  EXPECT_EQ(a, b);  // bit-identical for a fixed thread count
  double serial = 0;
  for (index_t i = 0; i < 100000; ++i) serial += map(i);
  EXPECT_NEAR(a, serial, 1e-9);
}

TEST(DefaultThreadCount, ReadsEnvironmentAndRejectsGarbage) {
  const char* old = std::getenv("SANAWM_NUM_THREADS");
  const std::string saved = old ? old : "";
  ::setenv("SANAWM_NUM_THREADS", "3", 1);
  EXPECT_EQ(cpu::default_thread_count(), 3);
  ::setenv("SANAWM_NUM_THREADS", "three", 1);
  EXPECT_THROW(cpu::default_thread_count(), error);
  ::setenv("SANAWM_NUM_THREADS", "0", 1);
  EXPECT_THROW(cpu::default_thread_count(), error);
  if (old) ::setenv("SANAWM_NUM_THREADS", saved.c_str(), 1);
  else ::unsetenv("SANAWM_NUM_THREADS");
  EXPECT_GE(cpu::default_thread_count(), 1);
}

TEST(GlobalPool, SetNumThreads) {
  cpu::set_num_threads(3);
  EXPECT_EQ(cpu::num_threads(), 3);
  std::atomic<int> parts{0};
  cpu::parallel_ranges(300, [&](index_t, index_t, int) { parts++; });
  EXPECT_EQ(parts.load(), 3);
  cpu::set_num_threads(1);
  EXPECT_EQ(cpu::num_threads(), 1);
}

}  // namespace
}  // namespace sanawm

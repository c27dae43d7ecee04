// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cpu/thread_pool.hpp — a fixed pool of worker threads with deterministic static partitioning.
// Host code only, but nvcc-safe (no intrinsics, no fmt), so tests compiled by nvcc can run the CPU backend.
#pragma once

#include <algorithm>           // std::min
#include <atomic>              // std::atomic
#include <chrono>              // std::chrono::steady_clock (bounded spinning)
#include <condition_variable>  // std::condition_variable
#include <cstdlib>             // std::getenv, std::strtol
#include <exception>           // std::exception_ptr
#include <functional>          // std::function (only for the pool's own job slot)
#include <memory>              // std::unique_ptr
#include <mutex>               // std::mutex
#include <thread>              // std::thread
#include <vector>              // std::vector

#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/core/int.hpp"    // index_t

namespace sanawm::cpu {

/// Fixed-size pool: `size()` threads in total, the calling thread included (it runs part 0).
/// `run(fn)` calls fn(part) once for every part in [0, size()) and returns when all are done; the first
/// exception thrown by any part is rethrown in the caller. Calls from inside a part run serially in the
/// calling thread (nested-use guard), so kernels may call other parallel kernels safely.
/// Calls from several outside threads are serialised.
///
/// Hand-off: an idle worker first polls the job counter (up to SANAWM_SPIN_US, default 100 µs, adapted to how
/// often polling succeeds) and only then sleeps on a condition variable; the caller waits for the parts the same
/// way. A DiT
/// forward is hundreds of parallel regions a few tens of microseconds apart, and a futex wake-up costs 20–60 µs
/// on a VM (measured: the 24-token golden forward took 11.9 ms on 2 threads with sleep-only hand-off, slower than
/// 9.4 ms on one). Polling is bounded so an idle pool does not keep burning a core (the same trade as OpenMP's
/// spin-then-block wait policy).
class thread_pool {
 public:
  explicit thread_pool(int threads) {
    if (threads < 1) throw make_error("thread_pool", "thread count must be >= 1, got ", threads);
    size_ = threads;
    max_budget_us_ = static_cast<int>(spin_time_from_env().count());
    budget_us_.store(max_budget_us_, std::memory_order_relaxed);
    workers_.reserve(static_cast<std::size_t>(threads - 1));
    for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    {
      std::lock_guard lk(m_);
      stop_flag_.store(true, std::memory_order_release);
    }
    cv_start_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int size() const noexcept { return size_; }

  /// True inside a part run by any sanawm pool (nested calls then run serially).
  static bool in_parallel_region() noexcept { return nested_flag(); }

  template <class F>
  void run(F&& fn) {
    if (size_ == 1 || nested_flag()) {
      for (int p = 0; p < size_; ++p) run_part(fn, p);
      return;
    }
    std::lock_guard submit(submit_m_);  // one job at a time per pool
    std::function<void(int)> job = [&fn](int p) { fn(p); };
    {
      std::lock_guard lk(m_);
      job_ = &job;
      error_ = nullptr;
      pending_.store(size_ - 1, std::memory_order_relaxed);
      // Release: a worker that sees the new generation while spinning (outside m_) also sees job_ and pending_.
      generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    cv_start_.notify_all();  // no system call when every worker is still spinning
    std::exception_ptr mine;
    try {
      run_part(fn, 0);
    } catch (...) {
      mine = std::current_exception();
    }
    if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock lk(m_);
      cv_done_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    {
      std::lock_guard lk(m_);
      job_ = nullptr;
    }
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static bool& nested_flag() noexcept {
    thread_local bool flag = false;
    return flag;
  }
  template <class F>
  static void run_part(F& fn, int p) {
    bool& flag = nested_flag();
    const bool outer = !flag;
    flag = true;
    try {
      fn(p);
    } catch (...) {
      if (outer) flag = false;
      throw;
    }
    if (outer) flag = false;
  }

  /// How long a waiting thread polls before it blocks: SANAWM_SPIN_US microseconds (0 = block at once), else 100.
  /// Read when the pool is built, so a malformed value is an error in the constructing thread.
  static std::chrono::microseconds spin_time_from_env() {
    if (const char* s = std::getenv("SANAWM_SPIN_US"); s && *s) {
      char* end = nullptr;
      const long v = std::strtol(s, &end, 10);
      if (*end != '\0' || v < 0 || v > 1000000)
        throw make_error("thread_pool", "SANAWM_SPIN_US must be an integer in [0, 1000000], got \"", s, "\"");
      return std::chrono::microseconds(v);
    }
    return std::chrono::microseconds(100);
  }

  /// Polls `ready` for at most the current budget (0: just once); true as soon as it holds. The budget adapts
  /// between 0 and SANAWM_SPIN_US: a wait that had to give up halves it, one that succeeded doubles it (+1 µs).
  /// On an idle machine the other threads answer within microseconds and the budget stays at its maximum; on an
  /// oversubscribed one (more runnable threads than cores) the thread being waited for is often descheduled, the
  /// polls fail, and within a few waits the pool blocks at once instead of burning a core it shares. Polling
  /// uses the CPU's pause hint, never sched_yield: a yield can hand the core to another process for a whole
  /// time slice, so a "100 µs" poll could last hundreds of milliseconds under load.
  template <class Ready>
  bool spin_until(Ready&& ready) {
    const int budget = budget_us_.load(std::memory_order_relaxed);
    if (ready()) {
      if (budget < max_budget_us_) budget_us_.store(std::min(max_budget_us_, 2 * budget + 1), std::memory_order_relaxed);
      return true;
    }
    if (budget == 0) return false;
    const auto t0 = std::chrono::steady_clock::now();
    const auto limit = std::chrono::microseconds(budget);
    for (int i = 1;; ++i) {
      pause();
      if (ready()) {
        if (budget < max_budget_us_) budget_us_.store(std::min(max_budget_us_, 2 * budget + 1), std::memory_order_relaxed);
        return true;
      }
      if ((i & 7) == 0 && std::chrono::steady_clock::now() - t0 > limit) {
        budget_us_.store(budget / 2, std::memory_order_relaxed);
        return false;
      }
    }
  }
  static void pause() noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__CUDACC__)
    __builtin_ia32_pause();  // a spin-wait hint: saves power, frees the sibling hyperthread
#endif
  }

  void worker_loop(int w) {
    unsigned long seen = 0;
    for (;;) {
      std::function<void(int)>* job;
      auto started = [&] {
        return stop_flag_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(started)) {
        std::unique_lock lk(m_);
        cv_start_.wait(lk, started);
      }
      if (stop_flag_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      job = job_;
      try {
        run_part(*job, w);
      } catch (...) {
        std::lock_guard lk(m_);
        if (!error_) error_ = std::current_exception();
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lk(m_);  // pairs with the caller's predicate check (it may be about to block)
        cv_done_.notify_one();
      }
    }
  }

  int size_ = 1;
  int max_budget_us_ = 0;            ///< SANAWM_SPIN_US
  std::atomic<int> budget_us_{0};    ///< the current polling budget, adapted by spin_until
  std::vector<std::thread> workers_;
  std::mutex submit_m_;
  std::mutex m_;
  std::condition_variable cv_start_, cv_done_;
  std::function<void(int)>* job_ = nullptr;
  std::exception_ptr error_;
  std::atomic<int> pending_{0};
  std::atomic<unsigned long> generation_{0};  ///< written under m_, read by spinning workers without it
  std::atomic<bool> stop_flag_{false};
};

/// Thread count from SANAWM_NUM_THREADS (a positive integer), else std::thread::hardware_concurrency().
/// A malformed value is an error rather than a silent fallback.
inline int default_thread_count() {
  if (const char* s = std::getenv("SANAWM_NUM_THREADS"); s && *s) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > 4096)
      throw make_error("thread_pool", "SANAWM_NUM_THREADS must be an integer in [1, 4096], got \"", s, "\"");
    return static_cast<int>(v);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

namespace detail {
inline std::unique_ptr<thread_pool>& global_pool_slot() {
  static std::unique_ptr<thread_pool> pool;
  return pool;
}
inline std::mutex& global_pool_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace detail

/// The process-wide pool used by parallel_for(cpu_t, ...); created on first use.
inline thread_pool& global_pool() {
  std::lock_guard lk(detail::global_pool_mutex());
  auto& slot = detail::global_pool_slot();
  if (!slot) slot = std::make_unique<thread_pool>(default_thread_count());
  return *slot;
}

/// Replaces the global pool with one of `threads` threads (e.g. a CLI's --threads). Must not be called while
/// a parallel_for is running.
inline void set_num_threads(int threads) {
  auto next = std::make_unique<thread_pool>(threads);
  std::lock_guard lk(detail::global_pool_mutex());
  detail::global_pool_slot() = std::move(next);
}

/// Number of threads of the global pool.
inline int num_threads() { return global_pool().size(); }

}  // namespace sanawm::cpu

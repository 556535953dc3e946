// The fork-join pool: static shares (parallel_for) and static shares with
// stealing from the back (parallel_for_balanced).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace anvil {
namespace {

TEST(ThreadPool, StaticSharesCoverTheRangeOnceInOrder) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 5, 64, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::vector<int> calls(static_cast<size_t>(threads), 0);
      std::mutex mu;
      pool.parallel_for(n, [&](int64_t b, int64_t e, int tid) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
        std::lock_guard<std::mutex> lk(mu);
        calls[static_cast<size_t>(tid)]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " i=" << i;
      for (int c : calls) EXPECT_LE(c, 1) << "a thread got more than its one share";
    }
  }
}

TEST(ThreadPool, BalancedCoversTheRangeOnceForAnyGrain) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 7, 64, 1001})
      for (int64_t grain : {1, 3, 16, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.parallel_for_balanced(n, grain, [&](int64_t b, int64_t e, int tid) {
          ASSERT_LT(b, e);
          ASSERT_GE(tid, 0);
          ASSERT_LT(tid, threads);
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
        });
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "threads=" << threads << " n=" << n << " grain=" << grain
                                                            << " i=" << i;
      }
  }
}

// On a quiet run each thread keeps its own share (locality from layer to
// layer); when thread 1 is slow, thread 0 takes pieces from the back of
// thread 1's share instead of waiting for it.
TEST(ThreadPool, BalancedKeepsSharesAndStealsFromASlowThread) {
  ThreadPool pool(2);
  const int64_t n = 64;
  std::vector<int> owner(static_cast<size_t>(n), -1);
  pool.parallel_for_balanced(n, 4, [&](int64_t b, int64_t e, int tid) {
    for (int64_t i = b; i < e; ++i) owner[static_cast<size_t>(i)] = tid;
    if (tid == 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  });
  // Thread 1 sleeps 20 ms per piece of 4: thread 0 finishes its 32 items at
  // once and takes the back of thread 1's share.
  int stolen = 0;
  for (int64_t i = n / 2; i < n; ++i) stolen += owner[static_cast<size_t>(i)] == 0;
  EXPECT_GT(stolen, 0);
  for (int64_t i = 0; i < n / 2; ++i) EXPECT_EQ(owner[static_cast<size_t>(i)], 0) << i;
  // Thread 1's first pieces are its own, taken from the front.
  EXPECT_NE(owner[static_cast<size_t>(n / 2)], -1);
}

}  // namespace
}  // namespace anvil

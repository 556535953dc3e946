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

// The activity a profiler reads: off by default (nothing recorded); on,
// each region adds its threads' time inside fn and the caller's time from
// fork to join, of which the part spent waiting for a slower worker.
TEST(ThreadPool, ActivityCountsBusyThreadsAndTheCallersWait) {
  using std::chrono::milliseconds;
  ThreadPool pool(2);
  auto sleep_in = [](int who) {
    return [who](int64_t, int64_t, int tid) {
      if (tid == who) std::this_thread::sleep_for(milliseconds(30));
    };
  };
  pool.parallel_for(2, sleep_in(0));
  ThreadPool::Activity a = pool.take_activity();
  EXPECT_EQ(a.regions, 0);
  EXPECT_EQ(a.busy_s, 0);

  pool.set_activity_timing(true);
  // The caller (thread 0) is the slow one (how long it then waits depends
  // on when the worker woke: not checked on a shared host).
  pool.parallel_for(2, sleep_in(0));
  a = pool.take_activity();
  EXPECT_EQ(a.regions, 1);
  EXPECT_GE(a.busy_s, 0.029);
  EXPECT_GE(a.region_s, 0.029);
  EXPECT_LE(a.busy_s, 2 * a.region_s);
  EXPECT_LE(a.wait_s, a.region_s);
  // The worker is the slow one: the caller waits most of the region.
  pool.parallel_for(2, sleep_in(1));
  a = pool.take_activity();
  EXPECT_EQ(a.regions, 1);
  EXPECT_GE(a.busy_s, 0.029);
  EXPECT_GE(a.wait_s, 0.025);
  EXPECT_LE(a.wait_s, a.region_s);
  // take_activity() clears; a region of one piece runs on the caller alone.
  EXPECT_EQ(pool.take_activity().regions, 0);
  pool.parallel_for(1, sleep_in(0));
  a = pool.take_activity();
  EXPECT_EQ(a.regions, 1);
  EXPECT_GE(a.busy_s, 0.029);
  EXPECT_EQ(a.wait_s, 0);
  // Balanced regions are counted once, with both threads' pieces.
  pool.parallel_for_balanced(64, 4, [](int64_t, int64_t, int) { std::this_thread::sleep_for(milliseconds(2)); });
  a = pool.take_activity();
  EXPECT_EQ(a.regions, 1);
  EXPECT_GE(a.busy_s, 0.016 * 2 - 0.002);
  pool.set_activity_timing(false);
  pool.parallel_for(2, sleep_in(0));
  EXPECT_EQ(pool.take_activity().regions, 0);
}

}  // namespace
}  // namespace anvil

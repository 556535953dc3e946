// A small fork-join pool with warm workers: parallel_for splits a range into
// one contiguous chunk per thread (the caller runs chunk 0), so layers are
// split without locks or queues. Workers spin briefly before sleeping, which
// keeps the per-layer fork cost at a few microseconds between back-to-back
// layers. Each job carries the caller's MXCSR so FTZ/DAZ (set by the
// executor) hold on workers too; a worker restores its own afterwards.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/function_ref.h"

namespace anvil {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // Calls fn(begin, end, thread_index) for each thread's share of [0, n).
  // Not reentrant: one parallel_for at a time per pool. fn is referenced,
  // not copied (no allocation per call).
  void parallel_for(int64_t n, FunctionRef<void(int64_t, int64_t, int)> fn);

  // The same static shares, but each thread runs its own in pieces of
  // `grain` from the front (fn is called once per piece, so fn must not
  // assume one call per thread), and a thread done with its share takes
  // pieces from the back of the others'. On a quiet host every thread
  // still runs exactly its own share, front to back (the locality static
  // shares keep); when one core is slowed (a shared host's other tenants)
  // the other takes over its tail instead of waiting: with static shares
  // alone, 2 threads on a half-speed second core ran no faster than 1.
  void parallel_for_balanced(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t, int)> fn);

  // What the threads did, for profilers: off by default (no clock reads on
  // the hot path). With it on, each parallel region adds its threads' time
  // inside fn, the caller's wall time from fork to join and the part of it
  // spent waiting for the workers, until take_activity() reads and clears
  // them. Read between regions only (the executor does, after each node).
  // Times are wall time: a thread preempted inside fn (a vCPU taken by
  // another tenant) still counts as busy.
  struct Activity {
    double busy_s = 0;    // all threads' time inside fn, summed
    double region_s = 0;  // the caller's time from each fork to its join
    double wait_s = 0;    // the caller's time waiting at joins for workers
    int regions = 0;
  };
  void set_activity_timing(bool on) { timing_.store(on, std::memory_order_relaxed); }
  Activity take_activity();

  // A grain giving each thread about `pieces` pieces of [0, n).
  int64_t grain_for(int64_t n, int64_t pieces = 8) const {
    return std::max<int64_t>(1, n / (static_cast<int64_t>(threads_) * pieces));
  }

 private:
  void worker(int index);
  int64_t share_begin(int64_t n, int index) const;

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
  const FunctionRef<void(int64_t, int64_t, int)>* job_ = nullptr;
  // parallel_for_balanced's shares, one per thread, allocated once: that
  // call runs per layer, where allocating would put the heap on the hot path.
  std::unique_ptr<std::atomic<uint64_t>[]> shares_;
  int64_t n_ = 0;
  uint32_t mxcsr_ = 0;
  std::atomic<bool> timing_{false};
  // Per thread (workers write their own slot, a cache line each),
  // nanoseconds of wall time inside fn: a preempted thread counts as busy.
  struct alignas(64) BusySlot {
    std::atomic<int64_t> ns{0};
  };
  std::unique_ptr<BusySlot[]> busy_ns_;
  // The caller's (only the thread that runs the executor forks regions;
  // parallel_for is not reentrant).
  int64_t region_ns_ = 0, wait_ns_ = 0;
  int regions_ = 0;
};

// Number of threads to use when the user asks for 0 ("one per core").
int default_thread_count();

}  // namespace anvil

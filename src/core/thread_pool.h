// A small fork-join pool with warm workers: parallel_for splits a range into
// one contiguous chunk per thread (the caller runs chunk 0), so layers are
// split without locks or queues. Workers spin briefly before sleeping, which
// keeps the per-layer fork cost at a few microseconds between back-to-back
// layers. Each job carries the caller's MXCSR so FTZ/DAZ (set by the
// executor) hold on workers too; a worker restores its own afterwards.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace anvil {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // Calls fn(begin, end, thread_index) for each thread's share of [0, n).
  // Not reentrant: one parallel_for at a time per pool.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn);

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
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t n_ = 0;
  uint32_t mxcsr_ = 0;
};

// Number of threads to use when the user asks for 0 ("one per core").
int default_thread_count();

}  // namespace anvil

#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "core/denormals.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define ANVIL_PAUSE() _mm_pause()
#else
#define ANVIL_PAUSE() std::this_thread::yield()
#endif

namespace anvil {

namespace {
constexpr int kSpinIterations = 20000;  // ~100 us: spans the gap between layers

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

ThreadPool::Activity ThreadPool::take_activity() {
  Activity a;
  int64_t busy = 0;
  for (int t = 0; t < threads_; ++t) busy += busy_ns_[static_cast<size_t>(t)].ns.exchange(0, std::memory_order_acq_rel);
  a.busy_s = static_cast<double>(busy) * 1e-9;
  a.region_s = static_cast<double>(region_ns_) * 1e-9;
  a.wait_s = static_cast<double>(wait_ns_) * 1e-9;
  a.regions = regions_;
  region_ns_ = wait_ns_ = 0;
  regions_ = 0;
  return a;
}

int default_thread_count() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int threads)
    : threads_(std::max(1, threads)),
      shares_(new std::atomic<uint64_t>[static_cast<size_t>(std::max(1, threads))]),
      busy_ns_(new BusySlot[static_cast<size_t>(std::max(1, threads))]) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// Thread i's share starts at ceil(n * i / T): the caller (thread 0), which
// starts at once, takes the larger share when n does not divide evenly.
// Shares stay static (not claimed dynamically): a thread then keeps the
// same channels or pixels from layer to layer, and reads its inputs from
// its own L2; chunks claimed from a counter lost that and ran MobileNetV2
// and ResNet-101 ~15% slower on 2 threads.
int64_t ThreadPool::share_begin(int64_t n, int index) const { return (n * index + threads_ - 1) / threads_; }

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      ANVIL_PAUSE();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      wake_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stop_) return;
    }
    const int64_t b = share_begin(n_, index), e = share_begin(n_, index + 1);
    if (b < e) {
      const uint32_t saved = read_mxcsr();
      write_mxcsr(mxcsr_);
      const bool timed = timing_.load(std::memory_order_relaxed);
      const int64_t t0 = timed ? now_ns() : 0;
      (*job_)(b, e, index);
      if (timed) busy_ns_[static_cast<size_t>(index)].ns.fetch_add(now_ns() - t0, std::memory_order_relaxed);
      write_mxcsr(saved);
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  const bool timed = timing_.load(std::memory_order_relaxed);
  const int64_t r0 = timed ? now_ns() : 0;
  if (threads_ == 1 || n == 1) {
    fn(0, n, 0);
    if (timed) {
      const int64_t dt = now_ns() - r0;
      busy_ns_[0].ns.fetch_add(dt, std::memory_order_relaxed);
      region_ns_ += dt;
      ++regions_;
    }
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &fn;
    n_ = n;
    mxcsr_ = read_mxcsr();
    pending_.store(threads_ - 1, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  const int64_t c0 = timed ? now_ns() : 0;
  fn(0, share_begin(n, 1), 0);
  const int64_t c1 = timed ? now_ns() : 0;
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0 && spin < kSpinIterations; ++spin) ANVIL_PAUSE();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  if (timed) {
    const int64_t r1 = now_ns();
    busy_ns_[0].ns.fetch_add(c1 - c0, std::memory_order_relaxed);
    wait_ns_ += r1 - c1;
    region_ns_ += r1 - r0;
    ++regions_;
  }
}

namespace {

// A share [lo, hi) packed in one word, so the owner (taking from the front)
// and a thief (from the back) claim pieces with one compare-and-swap each.
inline uint64_t pack_range(int64_t lo, int64_t hi) {
  return static_cast<uint64_t>(lo) | (static_cast<uint64_t>(hi) << 32);
}

bool claim(std::atomic<uint64_t>& r, int64_t grain, bool front, int64_t& b, int64_t& e) {
  uint64_t cur = r.load(std::memory_order_acquire);
  for (;;) {
    const int64_t lo = static_cast<int64_t>(cur & 0xffffffffu), hi = static_cast<int64_t>(cur >> 32);
    if (lo >= hi) return false;
    const uint64_t next = front ? pack_range(std::min(hi, lo + grain), hi) : pack_range(lo, std::max(lo, hi - grain));
    if (r.compare_exchange_weak(cur, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      b = front ? lo : std::max(lo, hi - grain);
      e = front ? std::min(hi, lo + grain) : hi;
      return true;
    }
  }
}

}  // namespace

void ThreadPool::parallel_for_balanced(int64_t n, int64_t grain,
                                       FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  // Ranges are packed as two 32-bit halves.
  if (threads_ == 1 || n <= grain || n >= (int64_t{1} << 31)) {
    parallel_for(n, fn);
    return;
  }
  std::atomic<uint64_t>* shares = shares_.get();
  for (int t = 0; t < threads_; ++t) shares[t].store(pack_range(share_begin(n, t), share_begin(n, t + 1)));
  parallel_for(threads_, [&](int64_t, int64_t, int tid) {
    int64_t b, e;
    while (claim(shares[tid], grain, true, b, e)) fn(b, e, tid);
    for (int k = 1; k < threads_; ++k) {
      auto& victim = shares[(tid + k) % threads_];
      while (claim(victim, grain, false, b, e)) fn(b, e, tid);
    }
  });
}

}  // namespace anvil

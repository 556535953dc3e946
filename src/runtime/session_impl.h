#pragma once
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "anvil/anvil.h"
#include "core/cpu.h"
#include "runtime/executor.h"

namespace anvil {

// A Session is one optimized graph served by a pool of Executors: an
// Executor owns its activation slots (and its kernels' packed weights and
// thread pool), so each concurrent run() borrows one. `executor`, the first,
// is used whenever it is free, so single-threaded callers always get it
// (check.cc and the profiler read its per-value slots after a run). More are
// made on demand from a copy of its graph, whose constant tensors (weights)
// share storage; the kernels' packed copies are per Executor.
struct Session::Impl {
  std::unique_ptr<Executor> executor;
  std::vector<TensorInfo> inputs, outputs;
  CompileOptions options;
  std::optional<Isa> max_isa;
  std::string report;
  // The first executor's kernels and packed weights, for the others.
  std::vector<KernelChoice> choices;
  std::shared_ptr<const Precompiled> pre;  // set when compiled from a .anvil

  std::mutex mu;
  std::condition_variable freed;
  bool primary_busy = false;
  std::vector<std::unique_ptr<Executor>> extra;  // every one made so far
  std::vector<Executor*> idle;                   // extra ones not in use
  int lent_extra = 0;                             // extra ones lent out or being made

  // Returns an executor to its pool when destroyed.
  class Lease {
   public:
    Lease(Impl* impl, Executor* ex) : impl_(impl), ex_(ex) {}
    Lease(Lease&& o) noexcept : impl_(o.impl_), ex_(o.ex_) { o.ex_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (ex_) impl_->release(ex_);
    }
    Executor& operator*() const { return *ex_; }
    Executor* operator->() const { return ex_; }

   private:
    Impl* impl_;
    Executor* ex_;
  };

  // Blocks while options.max_concurrency executors are in use.
  Result<Lease> acquire();
  void release(Executor* ex);
  // Executors made so far (the first included).
  size_t num_executors();
};

}  // namespace anvil

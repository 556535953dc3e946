// Runs a shape-bound graph node by node. One Executor owns its activation
// tensors, so a run() is not reentrant; Sessions create one per caller.
#pragma once
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "core/cpu.h"
#include "core/thread_pool.h"
#include "runtime/kernel_registry.h"
#include "runtime/tuner.h"

namespace anvil {

// Tensors by position without owning or copying them: a vector's elements,
// or an array of pointers (Session::run gathers its maps into one on the
// stack). A Tensor copy allocates its shape, so the run path takes these.
class TensorSpan {
 public:
  TensorSpan(const std::vector<Tensor>& v) : dense_(v.data()), n_(v.size()) {}  // NOLINT: implicit
  // Only as a call's argument (run({x}, out)): the list lives until that
  // call returns. A TensorSpan variable made from a braced list dangles.
  TensorSpan(std::initializer_list<Tensor> l) : dense_(l.begin()), n_(l.size()) {}  // NOLINT: implicit
  TensorSpan(const Tensor* const* ptrs, size_t n) : ptrs_(ptrs), n_(n) {}
  const Tensor& operator[](size_t i) const { return ptrs_ ? *ptrs_[i] : dense_[i]; }
  size_t size() const { return n_; }

 private:
  const Tensor* const* ptrs_ = nullptr;
  const Tensor* dense_ = nullptr;
  size_t n_ = 0;
};

struct NodeTiming {
  double seconds = 0;
  // steady_clock time the kernel started (seconds since the clock's epoch),
  // so a profiler can lay runs out on a timeline and find the gaps.
  double start = 0;
  // With a thread pool: the node's parallel regions (ThreadPool::Activity):
  // every thread's time inside them, summed, and the caller's wall time in
  // them. Outside them the caller ran alone.
  double busy_s = 0, region_s = 0;
};

class Executor {
 public:
  // `g` must have bound input shapes; create() infers shapes and prepares
  // one slot per value. Errors name the node, op and shapes.
  // threads: 0 = one per core, 1 = no worker threads.
  // max_isa caps the kernels' ISA below active_isa() for this executor only.
  // exact: no Winograd (see CompileOptions::exact).
  // choices (if given, one per node of g, by node index): kernels picked
  // before, with their packed weights (see select_kernel), so that this
  // executor neither searches nor packs again.
  // memory_limit >= 0: refuse (check_memory_limit) before any kernel packs
  // or any activation is allocated; memory_limit_source names the limit.
  // tune: measure the candidate kernels of each conv (runtime/tuner.h)
  // instead of taking the first that accepts; nodes with a choice keep it.
  static Result<std::unique_ptr<Executor>> create(Graph g, int threads = 1,
                                                  std::optional<Isa> max_isa = std::nullopt, bool exact = false,
                                                  const std::vector<KernelChoice>* choices = nullptr,
                                                  int64_t memory_limit = -1,
                                                  const std::string& memory_limit_source = "",
                                                  TuneMode tune = TuneMode::kOff);
  // What this executor picked, one entry per node of graph() (constant
  // nodes and reference kernels have an empty factory), with the packed
  // weights, which are shared, not copied.
  std::vector<KernelChoice> kernel_choices() const;
  int threads() const;
  Isa isa() const { return isa_; }  // the level kernels were selected for

  const Graph& graph() const { return g_; }
  // Inputs in graph-input order; outputs in graph-output order (fresh tensors
  // owned by the caller). Input dtype/shape must match the bound ones.
  Status run(TensorSpan inputs, std::vector<Tensor>& outputs, std::vector<NodeTiming>* timings = nullptr);
  // Zero-copy outputs: dest[i] (graph-output order; an undefined Tensor
  // skips that output) must have the output's dtype and shape; kernels write
  // straight into it (a kernel that replaces its output tensor, e.g. an
  // aliasing reshape, costs one copy). dest must not alias the inputs.
  // After the first run, a run_into allocates nothing (tests/alloc).
  Status run_into(TensorSpan inputs, TensorSpan dest);
  // Sets FTZ/DAZ in MXCSR for the duration of run() (default on); the
  // caller's MXCSR is restored on return.
  void set_flush_denormals(bool on) { flush_denormals_ = on; }
  // Number of nodes executed per run (constant-folded ones excluded).
  size_t num_steps() const { return steps_.size(); }
  const Node& step_node(size_t i) const { return g_.nodes()[static_cast<size_t>(steps_[i].node)]; }
  std::string step_kernel_name(size_t i) const { return steps_[i].kernel->name(); }
  // The tensor a value (by name) held at the end of the last run(): every
  // computed value keeps its own slot, so `anvil check --per-layer` can read
  // intermediate results without making them graph outputs (which would
  // block fusion). nullptr for unknown names and graph inputs (released
  // after each run). Meaningful after a run() and until the next one.
  // Meaningful only with set_keep_intermediates(true), or for graph outputs.
  const Tensor* value(const std::string& name) const;

  // Memory plan. By default values that are never alive at the same time
  // share memory (liveness over the step order, best fit), so a network's
  // activations stay in cache instead of streaming through DRAM. With
  // keep_intermediates every computed value keeps its own memory and value()
  // can read any of them after a run (anvil check --per-layer).
  void set_keep_intermediates(bool on);
  // Bytes of activation memory the current plan holds (inputs excluded).
  int64_t activation_bytes() const { return activation_bytes_; }
  // Steps whose output took over an input's buffer (OpKernel::in_place_input).
  int in_place_steps() const { return in_place_steps_; }

 private:
  explicit Executor(Graph g) : g_(std::move(g)) {}
  struct Step {
    std::unique_ptr<OpKernel> kernel;
    int32_t node = 0;
    std::string factory;  // "" for the reference
  };
  Graph g_;
  std::vector<Step> steps_;
  std::vector<Tensor> slots_;  // one per value; constants alias their data
  std::vector<Tensor> arena_;  // buffers the planned slots point into
  // Per step, the kernel's operands: pointers into slots_ (remade if
  // slots_ moves); and the output slots run_into lends out, kept for their
  // capacity.
  std::vector<KernelContext> contexts_;
  const Tensor* contexts_slots_ = nullptr;
  std::vector<std::pair<size_t, Tensor>> own_slots_;
  std::vector<Tensor> input_placeholders_;  // per graph input: its shape, no data
  bool keep_intermediates_ = false;
  int64_t activation_bytes_ = 0;
  int in_place_steps_ = 0;
  void plan_memory();
  bool flush_denormals_ = true;
  Isa isa_ = Isa::kScalar;
  std::unique_ptr<ThreadPool> pool_;
  Status run_impl(TensorSpan inputs, std::vector<Tensor>* outputs, const TensorSpan* dest,
                  std::vector<NodeTiming>* timings);
};

}  // namespace anvil

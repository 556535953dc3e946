#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/cpu.h"
#include "core/thread_pool.h"
#include "core/denormals.h"
#include "kernels/gemm.h"
#include "runtime/memory_limit.h"

namespace anvil {

Result<std::unique_ptr<Executor>> Executor::create(Graph g, int threads, std::optional<Isa> max_isa, bool exact,
                                                   const std::vector<KernelChoice>* choices, int64_t memory_limit,
                                                   const std::string& memory_limit_source, TuneMode tune) {
  if (choices && choices->size() != g.nodes().size())
    return internal_error("kernel choices for " + std::to_string(choices->size()) + " nodes, graph has " +
                          std::to_string(g.nodes().size()));
  Status s = infer_shapes(g);
  if (!s.is_ok()) return std::move(s).with_context(g.source.empty() ? "model" : g.source);
  if (threads < 0) return invalid_argument("threads must be >= 0 (0: one per core), got " + std::to_string(threads));
  if (Status m = check_memory_limit(g, memory_limit, memory_limit_source); !m.is_ok())
    return std::move(m).with_context(g.source.empty() ? "model" : g.source);
  std::unique_ptr<Executor> ex(new Executor(std::move(g)));
  const int nthreads = threads == 0 ? default_thread_count() : threads;
  if (nthreads > 1) {
    ex->pool_ = std::make_unique<ThreadPool>(nthreads);
    // One share per thread (a static split: each runs its own).
    ex->pool_->parallel_for(nthreads, [](int64_t, int64_t, int) { kernels::reserve_packing_buffers(); });
  }
  Graph& gr = ex->g_;
  ex->slots_.resize(gr.num_values());
  for (ValueId in : gr.inputs) {
    const Value& v = gr.value(in);
    ex->input_placeholders_.push_back(Tensor::wrap(v.dtype, v.shape, nullptr));
  }
  for (size_t i = 0; i < gr.num_values(); ++i) {
    const Value& v = gr.value(static_cast<ValueId>(i));
    if (v.constant) ex->slots_[i] = *v.constant;
  }
  KernelConfig cfg = default_kernel_config();
  cfg.isa = max_isa && *max_isa < active_isa() ? *max_isa : active_isa();
  ex->isa_ = cfg.isa;
  cfg.pool = ex->pool_.get();
  cfg.winograd = !exact;
  // Tuning: a node with a choice made before (compiled artifact, a
  // session's first executor) keeps it.
  auto tuned = [&](size_t i, const Node& n) {
    return tune != TuneMode::kOff && tunable(n) && !(choices && !(*choices)[i].factory.empty());
  };
  size_t to_tune = 0;
  for (size_t i = 0; i < gr.nodes().size(); ++i) to_tune += tuned(i, gr.nodes()[i]);
  if (to_tune) tune_progress_begin(to_tune);
  for (size_t i = 0; i < gr.nodes().size(); ++i) {
    const Node& n = gr.nodes()[i];
    bool all_const = true;
    for (ValueId o : n.outputs)
      if (o != kNoValue && !gr.value(o).constant) all_const = false;
    if (all_const) continue;  // computed at compile time by shape inference
    Step st;
    std::string log;
    if (tuned(i, n))
      st.kernel = tune_kernel(gr, n, cfg, tune, nthreads, verbose_dispatch() ? &log : nullptr, &st.factory);
    else
      st.kernel = select_kernel(gr, n, cfg, verbose_dispatch() ? &log : nullptr, choices ? &(*choices)[i] : nullptr,
                                &st.factory);
    if (verbose_dispatch())
      std::fprintf(stderr, "anvil dispatch: %s [isa %s]\n%s", gr.node_desc_with_shapes(n).c_str(), isa_name(cfg.isa),
                   log.c_str());
    st.node = static_cast<int32_t>(i);
    ex->steps_.push_back(std::move(st));
  }
  if (to_tune) tune_progress_end();
  ex->plan_memory();
  return ex;
}

std::vector<KernelChoice> Executor::kernel_choices() const {
  std::vector<KernelChoice> r(g_.nodes().size());
  for (const Step& st : steps_) {
    KernelChoice& c = r[static_cast<size_t>(st.node)];
    c.factory = st.factory;
    c.packed = st.kernel->packed();
    c.kernel = st.kernel->name();
  }
  return r;
}

void Executor::set_keep_intermediates(bool on) {
  if (on == keep_intermediates_) return;
  keep_intermediates_ = on;
  plan_memory();
}

namespace {
constexpr int64_t kInPlaceMinBytesThreaded = int64_t{1} << 20;
}  // namespace

void Executor::plan_memory() {
  const size_t nv = g_.num_values();
  const int n_steps = static_cast<int>(steps_.size());
  std::vector<int> def(nv, -1), last(nv, -1);
  for (int si = 0; si < n_steps; ++si) {
    const Node& n = g_.nodes()[static_cast<size_t>(steps_[static_cast<size_t>(si)].node)];
    for (ValueId o : n.outputs)
      if (o != kNoValue && !g_.value(o).constant) def[static_cast<size_t>(o)] = si;
    for (ValueId in : n.inputs)
      if (in != kNoValue) last[static_cast<size_t>(in)] = si;
  }
  for (ValueId o : g_.outputs) last[static_cast<size_t>(o)] = n_steps;  // read after the run
  arena_.clear();
  activation_bytes_ = 0;
  in_place_steps_ = 0;
  if (keep_intermediates_) {
    for (size_t v = 0; v < nv; ++v) {
      if (def[v] < 0) continue;
      const Value& val = g_.value(static_cast<ValueId>(v));
      slots_[v] = Tensor(val.dtype, val.shape);
      activation_bytes_ += static_cast<int64_t>(slots_[v].nbytes());
    }
    return;
  }
  // Greedy best fit in step order: a buffer is free for the outputs of any
  // step after the last one that reads its current value (never the same
  // step: kernels do not run in place).
  struct Buf {
    size_t cap;
    int busy_until;
  };
  std::vector<Buf> bufs;
  std::vector<size_t> owner(nv, SIZE_MAX);
  for (int si = 0; si < n_steps; ++si) {
    const Node& n = g_.nodes()[static_cast<size_t>(steps_[static_cast<size_t>(si)].node)];
    // The kernel's in-place input (OpKernel::in_place_input), when this step
    // is its last reader, it is read through no other input slot, lives in
    // the arena and has the output's dtype and shape: the output takes its
    // buffer. With several threads only for outputs past a core's L2: a
    // smaller input is still cached in both cores (both read it for the
    // block's first conv), and writing over it invalidated the other
    // core's copies line by line: ResNet-101's 14x14 residual 1x1s
    // (200 KB) ran 1.11-1.21x slower at 2 threads (23 of 23 nodes, 6
    // alternated rounds), its 56x56 and 28x28 ones 0.95x at 1 and 2.
    const int ip = steps_[static_cast<size_t>(si)].kernel->in_place_input();
    if (ip >= 0 && static_cast<size_t>(ip) < n.inputs.size() && !n.outputs.empty()) {
      const ValueId v = n.inputs[static_cast<size_t>(ip)], o = n.outputs[0];
      const bool once = std::count(n.inputs.begin(), n.inputs.end(), v) == 1;
      const int64_t bytes = g_.value(o).shape.numel() * static_cast<int64_t>(dtype_size(g_.value(o).dtype));
      const bool worth = threads() == 1 || bytes >= kInPlaceMinBytesThreaded;
      if (v != kNoValue && o != kNoValue && once && worth && def[static_cast<size_t>(o)] == si &&
          owner[static_cast<size_t>(v)] != SIZE_MAX && last[static_cast<size_t>(v)] == si &&
          g_.value(v).dtype == g_.value(o).dtype && g_.value(v).shape == g_.value(o).shape) {
        const size_t b = owner[static_cast<size_t>(v)];
        bufs[b].busy_until = std::max(si, last[static_cast<size_t>(o)]);
        owner[static_cast<size_t>(o)] = b;
        ++in_place_steps_;
      }
    }
    for (ValueId o : n.outputs) {
      if (o == kNoValue || def[static_cast<size_t>(o)] != si || owner[static_cast<size_t>(o)] != SIZE_MAX) continue;
      const Value& val = g_.value(o);
      const size_t need = std::max<size_t>(64, (static_cast<size_t>(val.shape.numel()) * dtype_size(val.dtype) + 63) / 64 * 64);
      size_t best = SIZE_MAX;
      for (size_t b = 0; b < bufs.size(); ++b)
        if (bufs[b].busy_until < si && bufs[b].cap >= need && (best == SIZE_MAX || bufs[b].cap < bufs[best].cap)) best = b;
      if (best == SIZE_MAX) {
        bufs.push_back({need, -1});
        best = bufs.size() - 1;
      }
      bufs[best].busy_until = std::max(si, last[static_cast<size_t>(o)]);
      owner[static_cast<size_t>(o)] = best;
    }
  }
  for (const Buf& b : bufs) {
    arena_.push_back(Tensor(DType::kU8, Shape{static_cast<int64_t>(b.cap)}));
    activation_bytes_ += static_cast<int64_t>(b.cap);
  }
  for (size_t v = 0; v < nv; ++v) {
    if (owner[v] == SIZE_MAX) continue;
    const Value& val = g_.value(static_cast<ValueId>(v));
    slots_[v] = Tensor::wrap(val.dtype, val.shape, arena_[owner[v]].raw());
  }
}

Status Executor::run(TensorSpan inputs, std::vector<Tensor>& outputs, std::vector<NodeTiming>* timings) {
  return run_impl(inputs, &outputs, nullptr, timings);
}

Status Executor::run_into(TensorSpan inputs, TensorSpan dest) {
  if (dest.size() != g_.outputs.size())
    return invalid_argument("the model has " + std::to_string(g_.outputs.size()) + " outputs, got " +
                            std::to_string(dest.size()) + " destinations");
  for (size_t i = 0; i < dest.size(); ++i) {
    const Value& v = g_.value(g_.outputs[i]);
    if (!dest[i].defined() && dest[i].numel() != 0) continue;
    if (dest[i].dtype() != v.dtype || dest[i].shape() != v.shape)
      return invalid_argument("output '" + v.name + "' is " + dtype_name(v.dtype) + "[" + v.shape.str() +
                              "], the destination is " + dest[i].desc());
  }
  return run_impl(inputs, nullptr, &dest, nullptr);
}

Status Executor::run_impl(TensorSpan inputs, std::vector<Tensor>* outputs, const TensorSpan* dest,
                          std::vector<NodeTiming>* timings) {
  if (inputs.size() != g_.inputs.size())
    return invalid_argument("the model takes " + std::to_string(g_.inputs.size()) + " inputs, got " +
                            std::to_string(inputs.size()));
  // On every return, errors included, the input slots let go of the
  // caller's tensors: back to the placeholders (no data, the inputs'
  // shapes, so the slots' shape memory stays for the next run).
  struct ReleaseInputs {
    Executor& ex;
    ~ReleaseInputs() {
      for (size_t i = 0; i < ex.g_.inputs.size(); ++i)
        ex.slots_[static_cast<size_t>(ex.g_.inputs[i])] = ex.input_placeholders_[i];
    }
  } release_inputs{*this};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g_.value(g_.inputs[i]);
    const Tensor& t = inputs[i];
    if (t.dtype() != v.dtype || t.shape() != v.shape)
      return invalid_argument("input '" + v.name + "' expects " + dtype_name(v.dtype) + "[" + v.shape.str() +
                              "], got " + t.desc());
    if (!t.defined()) return invalid_argument("input '" + v.name + "' has no data");
    slots_[static_cast<size_t>(g_.inputs[i])] = t;
  }
  if (timings) timings->assign(steps_.size(), {});
  // Zero copy: the destinations stand in for the output slots of computed
  // values during this run (slots of constants and inputs are left alone).
  // own_slots_ keeps its entries from run to run, and tensors are copied
  // into them, not moved: a Tensor's shape is a vector, and copying into
  // one of the same rank reuses its memory (the run path stays off the heap).
  size_t n_own = 0;
  if (dest) {
    for (size_t i = 0; i < dest->size(); ++i) {
      const size_t o = static_cast<size_t>(g_.outputs[i]);
      if (!(*dest)[i].raw() || g_.value(g_.outputs[i]).constant) continue;
      if (std::find(g_.inputs.begin(), g_.inputs.end(), g_.outputs[i]) != g_.inputs.end()) continue;
      bool bound = false;
      for (size_t j = 0; j < n_own; ++j) bound |= own_slots_[j].first == o;
      if (bound) continue;
      if (n_own == own_slots_.size()) own_slots_.emplace_back();
      own_slots_[n_own].first = o;
      own_slots_[n_own++].second = slots_[o];
      slots_[o] = (*dest)[i];
    }
  }
  struct RestoreSlots {
    std::vector<Tensor>& slots;
    const std::vector<std::pair<size_t, Tensor>>& own;
    size_t n;
    ~RestoreSlots() {
      for (size_t j = 0; j < n; ++j) slots[own[j].first] = own[j].second;
    }
  } restore{slots_, own_slots_, n_own};
  // Subnormal operands cost Intel cores ~100x per FMA; FTZ/DAZ make them
  // zeros for the whole run. Restored on every return path by the guard.
  DenormalGuard denormal_guard(flush_denormals_);
  kernels::reserve_packing_buffers();  // this thread's, on its first run (the pool's were at create)
  // Each step's operand pointers, made once: built per node per run they
  // were two small allocations a node (the run path stays off the heap).
  if (contexts_slots_ != slots_.data() || contexts_.size() != steps_.size()) {
    contexts_.clear();
    contexts_.reserve(steps_.size());
    for (const Step& st : steps_) {
      const Node& n = g_.nodes()[static_cast<size_t>(st.node)];
      KernelContext& k = contexts_.emplace_back(KernelContext{n, {}, {}});
      for (ValueId in : n.inputs) k.inputs.push_back(in == kNoValue ? nullptr : &slots_[static_cast<size_t>(in)]);
      for (ValueId o : n.outputs) k.outputs.push_back(o == kNoValue ? nullptr : &slots_[static_cast<size_t>(o)]);
    }
    contexts_slots_ = slots_.data();
  }
  if (pool_) {
    pool_->set_activity_timing(timings != nullptr);
    if (timings) pool_->take_activity();  // drop what came before this run
  }
  for (size_t si = 0; si < steps_.size(); ++si) {
    const Step& st = steps_[si];
    const Node& n = g_.nodes()[static_cast<size_t>(st.node)];
    KernelContext& k = contexts_[si];
    // The clock is read only when asked: profiling off costs nothing.
    std::chrono::steady_clock::time_point t0;
    if (timings) t0 = std::chrono::steady_clock::now();
    Status s = st.kernel->run(k);
    if (timings) {
      (*timings)[si].seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      (*timings)[si].start = std::chrono::duration<double>(t0.time_since_epoch()).count();
      if (pool_) {
        const ThreadPool::Activity a = pool_->take_activity();
        (*timings)[si].busy_s = a.busy_s;
        (*timings)[si].region_s = a.region_s;
      }
    }
    if (!s.is_ok()) return std::move(s).with_context(g_.node_desc_with_shapes(n));
  }
  if (dest) {
    // Outputs a kernel did not write in place (it replaced the slot's
    // tensor), and outputs that are constants or inputs, are copied once.
    for (size_t i = 0; i < dest->size(); ++i) {
      const Tensor& d = (*dest)[i];
      const Tensor& s = slots_[static_cast<size_t>(g_.outputs[i])];
      if (d.raw() && s.raw() != d.raw()) std::memcpy(const_cast<void*>(d.raw()), s.raw(), d.nbytes());
    }
  } else {
    outputs->clear();
    outputs->reserve(g_.outputs.size());
    // Outputs are copied out because the slots are reused by the next run.
    for (ValueId o : g_.outputs) outputs->push_back(slots_[static_cast<size_t>(o)].clone());
  }
  return Status::ok();
}

int Executor::threads() const { return pool_ ? pool_->threads() : 1; }

const Tensor* Executor::value(const std::string& name) const {
  const ValueId id = g_.find_value(name);
  if (id == kNoValue) return nullptr;
  // Planned memory is shared: only graph outputs are still intact.
  if (!keep_intermediates_ && std::find(g_.outputs.begin(), g_.outputs.end(), id) == g_.outputs.end() &&
      !g_.value(id).constant)
    return nullptr;
  const Tensor& t = slots_[static_cast<size_t>(id)];
  return t.defined() ? &t : nullptr;
}

}  // namespace anvil

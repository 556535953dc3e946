#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>

#include "anvil/anvil.h"
#include "frontend/mxnet/mxnet_import.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "core/cpu.h"
#include "runtime/artifact.h"
#include "runtime/executor.h"
#include "runtime/memory_limit.h"
#include "runtime/session_impl.h"
#include "runtime/share_weights.h"

namespace anvil {

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// No exception crosses the API: what escapes from below (allocation
// failures, a library's throw) becomes a Status.
Status api_exception(const std::string& where) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return out_of_range(where + ": out of memory");
  } catch (const TensorTooLarge& e) {
    return out_of_range(where + ": " + e.what());
  } catch (const std::exception& e) {
    return internal_error(where + ": unexpected exception: " + e.what());
  } catch (...) {
    return internal_error(where + ": unexpected exception");
  }
}

std::vector<TensorInfo> infos(const Graph& g, const std::vector<ValueId>& ids) {
  std::vector<TensorInfo> r;
  for (ValueId id : ids) {
    const Value& v = g.value(id);
    r.push_back({v.name, v.dtype, v.shape});
  }
  return r;
}

}  // namespace

#ifndef ANVIL_VERSION
#define ANVIL_VERSION "unknown"
#endif
const char* version() { return ANVIL_VERSION; }

namespace {

Status load_compiled(const std::string& path, const LoadOptions& options, std::shared_ptr<const Graph>& graph,
                     std::shared_ptr<const Precompiled>& pre) {
  ANVIL_ASSIGN_OR_RETURN(LoadedArtifact a, load_artifact(path));
  for (const auto& [name, shape] : options.shapes) {
    const ValueId id = a.graph.find_value(name);
    if (id == kNoValue || std::find(a.graph.inputs.begin(), a.graph.inputs.end(), id) == a.graph.inputs.end())
      return invalid_argument(path + ": no input named '" + name + "' in the compiled model");
    if (a.graph.value(id).shape != shape)
      return invalid_argument(path + ": input '" + name + "' was compiled for shape " + a.graph.value(id).shape.str() +
                              ", not " + shape.str() + " (compile the source model again for other shapes)");
  }
  graph = std::make_shared<const Graph>(std::move(a.graph));
  pre = std::make_shared<const Precompiled>(std::move(a.pre));
  return Status::ok();
}

}  // namespace

Result<Model> Model::load(const std::string& path, const LoadOptions& options) try {
  std::error_code ec;
  // By content; a .anvil file without the magic gets the artifact loader's
  // message, not ONNX's.
  if (std::filesystem::is_regular_file(path, ec) && (is_artifact_file(path) || ends_with(path, ".anvil"))) {
    Model m;
    ANVIL_TRY(load_compiled(path, options, m.graph_, m.pre_));
    return m;
  }
  // MXNet checkpoints: PREFIX (not itself a file), PREFIX-symbol.json or
  // PREFIX-NNNN.params. The importer binds the input shapes itself, since
  // it needs them to shape parameters and resolve layouts.
  if (!ends_with(path, ".onnx") && mxnet::is_mxnet_path(path)) {
    auto mg = mxnet::load_mxnet(path, options);
    if (!mg) return mg.status();
    Model m;
    m.graph_ = std::make_shared<const Graph>(std::move(mg).value());
    return m;
  }
  if (!std::filesystem::exists(path, ec)) return not_found(path + ": no such file");
  Result<Graph> g = invalid_argument("unreachable");
  if (ends_with(path, ".onnx") || ends_with(path, ".pb")) {
    g = load_onnx(path);
  } else {
    // Unknown extension: sniff. ONNX has no magic number, so try it last.
    g = load_onnx(path);
  }
  if (!g) return g.status();
  std::unordered_map<std::string, Shape> shapes(options.shapes.begin(), options.shapes.end());
  Status s = bind_input_shapes(*g, shapes);
  if (!s.is_ok()) return std::move(s).with_context(path);
  Model m;
  m.graph_ = std::make_shared<const Graph>(std::move(g).value());
  return m;
} catch (...) {
  return api_exception(path);
}

std::vector<TensorInfo> Model::inputs() const { return graph_ ? infos(*graph_, graph_->inputs) : std::vector<TensorInfo>{}; }
std::vector<TensorInfo> Model::outputs() const {
  if (!graph_) return {};
  bool typed = true;
  for (ValueId id : graph_->outputs) typed &= graph_->value(id).has_type;
  if (typed) return infos(*graph_, graph_->outputs);
  // Importers type the inputs only: infer the outputs on a copy (weights
  // are shared, not copied). With unbound dynamic inputs this may fail;
  // the declared (possibly untyped) outputs are returned then.
  Graph g = *graph_;
  if (!infer_shapes(g).is_ok()) return infos(*graph_, graph_->outputs);
  return infos(g, g.outputs);
}

Session::Session() = default;
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

namespace {
const std::vector<TensorInfo> kNoInfos;
const CompileOptions kNoOptions;
}  // namespace

const std::vector<TensorInfo>& Session::inputs() const { return impl_ ? impl_->inputs : kNoInfos; }
const std::vector<TensorInfo>& Session::outputs() const { return impl_ ? impl_->outputs : kNoInfos; }
std::string Session::optimization_report() const { return impl_ ? impl_->report : std::string(); }
int Session::threads() const { return impl_ ? impl_->executor->threads() : 0; }
int Session::executors() const { return impl_ ? static_cast<int>(impl_->num_executors()) : 0; }

Status Session::reserve(int concurrent_runs) const try {
  if (!impl_) return invalid_argument("reserve: the session is not compiled");
  if (concurrent_runs < 0) return invalid_argument("reserve: concurrent_runs must be >= 0, got " + std::to_string(concurrent_runs));
  const int cap = impl_->options.max_concurrency;
  const int n = cap > 0 ? std::min(cap, concurrent_runs) : concurrent_runs;
  // Holding n leases at once makes n distinct executors (the first is one).
  std::vector<Impl::Lease> held;
  held.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ANVIL_ASSIGN_OR_RETURN(Impl::Lease l, impl_->acquire());
    held.push_back(std::move(l));
  }
  return Status::ok();
} catch (...) {
  return api_exception("reserve");
}
int64_t Session::activation_bytes() const { return impl_ ? impl_->executor->activation_bytes() : 0; }
std::string Session::isa() const { return impl_ ? isa_name(impl_->executor->isa()) : ""; }
const CompileOptions& Session::options() const { return impl_ ? impl_->options : kNoOptions; }

Result<Session::Impl::Lease> Session::Impl::acquire() {
  std::unique_lock<std::mutex> lock(mu);
  const int cap = options.max_concurrency;
  for (;;) {
    if (!primary_busy) {
      primary_busy = true;
      return Lease(this, executor.get());
    }
    if (!idle.empty()) {
      Executor* ex = idle.back();
      idle.pop_back();
      ++lent_extra;
      return Lease(this, ex);
    }
    // In use: the first, plus the extra ones lent out or being made.
    if (cap <= 0 || 1 + lent_extra < cap) break;
    freed.wait(lock);
  }
  ++lent_extra;
  lock.unlock();
  // Made outside the lock (shape inference, kernel selection and weight
  // packing take a while); the graph is only read by running executors.
  // The first executor's kernel choices and packed weights are reused:
  // weights are packed once per session, not once per concurrent caller.
  auto ex = Executor::create(Graph(executor->graph()), options.threads, max_isa, options.exact, &choices);
  lock.lock();
  if (!ex) {
    --lent_extra;
    freed.notify_one();
    return ex.status();
  }
  (*ex)->set_flush_denormals(options.flush_denormals);
  (*ex)->set_keep_intermediates(options.keep_intermediates);
  extra.push_back(std::move(ex).value());
  return Lease(this, extra.back().get());
}

void Session::Impl::release(Executor* ex) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (ex == executor.get()) {
      primary_busy = false;
    } else {
      idle.push_back(ex);
      --lent_extra;
    }
  }
  freed.notify_one();
}

size_t Session::Impl::num_executors() {
  std::lock_guard<std::mutex> lock(mu);
  return 1 + extra.size();
}

namespace {

// Extra outputs by value name, or by node name (its first output), so that
// internal tensors such as MXNet's "conv_1_relu" can be fetched.
Status add_extra_outputs(Graph& g, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    ValueId id = g.find_value(name);
    if (id == kNoValue) {
      for (const Node& n : g.nodes())
        if (n.name == name && !n.outputs.empty()) id = n.outputs[0];
    }
    if (id == kNoValue) {
      std::string near;
      int shown = 0;
      for (size_t v = 0; v < g.num_values() && shown < 8; ++v) {
        const std::string& vn = g.value(static_cast<ValueId>(v)).name;
        if (!g.value(static_cast<ValueId>(v)).is_initializer && vn.find(name) != std::string::npos) {
          near += (shown++ ? ", " : "") + vn;
        }
      }
      return not_found("no tensor or node named '" + name + "' in the model" +
                       (near.empty() ? "" : " (similar: " + near + ")"));
    }
    if (g.value(id).is_initializer)
      return invalid_argument("'" + name + "' is a weight, not a computed tensor");
    if (std::find(g.outputs.begin(), g.outputs.end(), id) == g.outputs.end()) g.outputs.push_back(id);
  }
  return Status::ok();
}

}  // namespace

Result<Session> Model::compile(const CompileOptions& options) const& { return compile_graph(graph_, pre_, options); }

Result<Session> Model::compile(const CompileOptions& options) && {
  return compile_graph(std::move(graph_), std::move(pre_), options);
}

Result<Session> Model::compile_graph(std::shared_ptr<const Graph> graph, std::shared_ptr<const Precompiled> pre,
                                     const CompileOptions& options) try {
  if (!graph) return invalid_argument("compile: the model is not loaded");
  std::optional<Isa> max_isa;
  if (!options.max_isa.empty()) {
    max_isa = isa_from_name(options.max_isa);
    if (!max_isa) return invalid_argument("max_isa: unknown ISA '" + options.max_isa + "' (scalar, avx2, avx512)");
  }
  auto tune = parse_tune_mode(options.tune);
  if (!tune) return invalid_argument("tune: " + tune.status().message());
  if (options.max_concurrency < 0)
    return invalid_argument("max_concurrency must be >= 0 (0: no limit), got " + std::to_string(options.max_concurrency));
  Graph g0 = *graph;
  graph.reset();  // the last reference (a consumed model): g0 alone holds the weights now
  if (!options.extra_outputs.empty()) ANVIL_TRY(add_extra_outputs(g0, options.extra_outputs));
  std::string report_text;
  std::vector<KernelChoice> unpacked;
  const std::vector<KernelChoice>* choices = nullptr;
  if (pre) {
    // The saved packed weights are laid out for the file's ISA: run at most
    // that, and repack (from the saved raw weights) if this anvil's GEMM
    // blocking differs from the writer's.
    if (!max_isa || *max_isa > pre->isa) max_isa = pre->isa;
    choices = &pre->choices;
    std::string repack;
    // The layout the kernels will read: at the ISA this session runs (a
    // lower cap, e.g. scalar, may pack differently with the same sizes, so
    // the sizes alone cannot tell), with this anvil's blocking.
    const Isa run_isa = std::min(*max_isa, active_isa());
    if (pre->packed_layout != packed_layout(run_isa)) {
      unpacked = pre->choices;
      for (KernelChoice& c : unpacked) c.packed.clear();
      choices = &unpacked;
      repack = "; weights packed again: written for '" + pre->packed_layout + "', this session uses '" +
               packed_layout(run_isa) + "'";
    }
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f", pre->load_seconds * 1e3);
    report_text = "compiled model " + pre->path + " (anvil " + pre->anvil_version + ", -O" +
                  std::to_string(pre->opt_level) + ", " + isa_name(pre->isa) + " kernels" +
                  (pre->exact ? ", exact" : "") + "): mapped and verified in " + ms +
                  " ms; import and optimizer skipped" + repack + "\n" + pre->report;
  } else {
    PassOptions po;
    po.opt_level = options.opt_level;
    po.disabled.insert(options.disable_passes.begin(), options.disable_passes.end());
    po.enabled.insert(options.enable_passes.begin(), options.enable_passes.end());
    po.flush_subnormals = options.flush_denormals;
    auto report = run_passes(g0, po);
    if (!report) return report.status().with_context(g0.source.empty() ? "model" : g0.source);
    report_text = report->to_text();
  }
  std::vector<KernelChoice> shared;
  const Session* donor = options.share_weights_with;
  if (donor && donor->impl_ && !pre) {
    // Shapes first: nodes match the donor's by their values' shapes.
    Status si = infer_shapes(g0);
    if (!si.is_ok()) return std::move(si).with_context(g0.source.empty() ? "model" : g0.source);
    WeightSharing ws;
    shared = share_weights(g0, donor->impl_->executor->graph(), donor->impl_->choices, &ws);
    choices = &shared;
    char line[160];
    std::snprintf(line, sizeof line, "weights shared with another session: %.1f of %.1f MB; %lld of %lld nodes offered its kernels\n",
                  static_cast<double>(ws.constant_bytes) / 1e6, static_cast<double>(ws.total_constant_bytes) / 1e6,
                  static_cast<long long>(ws.nodes_offered), static_cast<long long>(ws.nodes));
    report_text += line;
  }
  std::string limit_source;
  ANVIL_ASSIGN_OR_RETURN(const int64_t memory_limit, resolve_memory_limit(options.memory_limit, &limit_source));
  auto ex = Executor::create(std::move(g0), options.threads, max_isa, options.exact, choices, memory_limit,
                             limit_source, *tune);
  if (!ex) return ex.status();
  (*ex)->set_flush_denormals(options.flush_denormals);
  (*ex)->set_keep_intermediates(options.keep_intermediates);
  Session s;
  s.impl_ = std::make_unique<Session::Impl>();
  s.impl_->report = std::move(report_text);
  s.impl_->executor = std::move(ex).value();
  s.impl_->choices = s.impl_->executor->kernel_choices();
  s.impl_->pre = pre;
  const Graph& g = s.impl_->executor->graph();
  s.impl_->inputs = infos(g, g.inputs);
  s.impl_->outputs = infos(g, g.outputs);
  s.impl_->options = options;
  s.impl_->max_isa = max_isa;
  return s;
} catch (...) {
  return api_exception("compile");
}

Status Session::save(const std::string& path) const try {
  if (!impl_) return invalid_argument("save: the session is not compiled");
  Precompiled pre;
  pre.choices = impl_->choices;
  pre.isa = impl_->executor->isa();
  pre.packed_layout = packed_layout(pre.isa);
  pre.anvil_version = version();
  const CompileOptions& o = impl_->options;
  pre.opt_level = impl_->pre ? impl_->pre->opt_level : o.opt_level;
  pre.exact = o.exact;
  pre.flush_denormals = impl_->pre ? impl_->pre->flush_denormals : o.flush_denormals;
  pre.report = impl_->pre ? impl_->pre->report : impl_->report;
  return write_artifact(path, impl_->executor->graph(), pre);
} catch (...) {
  return api_exception("save " + path);
}

namespace {

// Inputs in graph order; every one given, no unknown names.
// Pointers to a run's tensors in graph order, on the stack for up to 16
// (a run after the first allocates nothing: tests/alloc).
class TensorPtrs {
 public:
  explicit TensorPtrs(size_t n) : n_(n) {
    if (n > small_.size()) big_.resize(n);
  }
  const Tensor*& operator[](size_t i) { return data()[i]; }
  const Tensor** data() { return n_ > small_.size() ? big_.data() : small_.data(); }
  TensorSpan span() { return TensorSpan(data(), n_); }
  size_t size() const { return n_; }

 private:
  size_t n_;
  std::array<const Tensor*, 16> small_{};
  std::vector<const Tensor*> big_;
};

Status gather_inputs(const Session::Impl& impl, const std::map<std::string, Tensor>& inputs, TensorPtrs& in) {
  for (size_t i = 0; i < impl.inputs.size(); ++i) {
    const TensorInfo& ti = impl.inputs[i];
    auto it = inputs.find(ti.name);
    if (it == inputs.end())
      return invalid_argument("missing input '" + ti.name + "' (" + dtype_name(ti.dtype) + "[" + ti.shape.str() + "])");
    in[i] = &it->second;
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (const TensorInfo& ti : impl.inputs) known |= ti.name == name;
    if (!known) {
      std::string names;
      for (const TensorInfo& ti : impl.inputs) names += (names.empty() ? "" : ", ") + ti.name;
      return invalid_argument("'" + name + "' is not an input of the model (inputs: " + names + ")");
    }
  }
  return Status::ok();
}

bool overlaps(const Tensor& a, const Tensor& b) {
  if (!a.raw() || !b.raw() || a.nbytes() == 0 || b.nbytes() == 0) return false;
  const auto* pa = static_cast<const char*>(a.raw());
  const auto* pb = static_cast<const char*>(b.raw());
  return pa < pb + b.nbytes() && pb < pa + a.nbytes();
}

}  // namespace

Result<std::map<std::string, Tensor>> Session::run(const std::map<std::string, Tensor>& inputs) const try {
  if (!impl_) return invalid_argument("run: the session is not compiled");
  TensorPtrs in(impl_->inputs.size());
  ANVIL_TRY(gather_inputs(*impl_, inputs, in));
  std::vector<Tensor> out;
  {
    ANVIL_ASSIGN_OR_RETURN(Impl::Lease ex, impl_->acquire());
    ANVIL_TRY(ex->run(in.span(), out));
  }
  std::map<std::string, Tensor> r;
  for (size_t i = 0; i < out.size(); ++i) r[impl_->outputs[i].name] = std::move(out[i]);
  return r;
} catch (...) {
  return api_exception("run");
}

Status Session::run(const std::map<std::string, Tensor>& inputs, const std::map<std::string, Tensor>& outputs) const try {
  if (!impl_) return invalid_argument("run: the session is not compiled");
  TensorPtrs in(impl_->inputs.size());
  ANVIL_TRY(gather_inputs(*impl_, inputs, in));
  static const Tensor kSkip;  // an output not asked for: computed and dropped
  TensorPtrs dest(impl_->outputs.size());
  for (size_t i = 0; i < dest.size(); ++i) dest[i] = &kSkip;
  for (const auto& [name, t] : outputs) {
    size_t i = 0;
    while (i < impl_->outputs.size() && impl_->outputs[i].name != name) ++i;
    if (i == impl_->outputs.size()) {
      std::string names;
      for (const TensorInfo& ti : impl_->outputs) names += (names.empty() ? "" : ", ") + ti.name;
      return invalid_argument("'" + name + "' is not an output of the model (outputs: " + names + ")");
    }
    const TensorInfo& ti = impl_->outputs[i];
    if (t.dtype() != ti.dtype || t.shape() != ti.shape)
      return invalid_argument("output '" + name + "' is " + dtype_name(ti.dtype) + "[" + ti.shape.str() +
                              "], the destination is " + t.desc());
    if (!t.defined()) return invalid_argument("output '" + name + "': the destination has no data");
    for (size_t j = 0; j < in.size(); ++j)
      if (overlaps(t, *in[j])) return invalid_argument("output '" + name + "': the destination overlaps an input");
    for (const auto& [other, u] : outputs)
      if (other != name && overlaps(t, u))
        return invalid_argument("outputs '" + name + "' and '" + other + "': the destinations overlap");
    dest[i] = &t;
  }
  ANVIL_ASSIGN_OR_RETURN(Impl::Lease ex, impl_->acquire());
  return ex->run_into(in.span(), dest.span());
} catch (...) {
  return api_exception("run");
}

}  // namespace anvil

// anvil: a CPU inference engine for CNNs. The public C++ API.
//
//   auto model = anvil::Model::load("resnet50.onnx", {.shapes = {{"input", {1, 3, 224, 224}}}});
//   auto session = model->compile({.threads = 2});
//   auto outputs = session->run({{"input", x}});
//
// Errors are Status/Result values: no exception crosses this API (an
// allocation failure or a bug caught inside comes back as kInternal /
// kOutOfRange). Zero copy: inputs given as Tensor::wrap(user memory) are read
// in place, and run(inputs, outputs) writes into caller tensors. One Session
// serves concurrent run() calls from any number of threads.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "anvil/dtype.h"
#include "anvil/shape.h"
#include "anvil/status.h"
#include "anvil/tensor.h"

namespace anvil {

class Graph;
class Session;
struct Precompiled;

// "0.1.0"
const char* version();

struct LoadOptions {
  // Input shapes to bind (replaces dynamic dimensions), by input name.
  std::map<std::string, Shape> shapes;
  // MXNet: checkpoint epoch when the path is a prefix.
  int epoch = 0;
  // MXNet: initialise parameters missing from .params to zero (with a warning).
  bool allow_missing = false;
};

struct CompileOptions {
  int threads = 0;    // 0: one per physical core
  int opt_level = 3;  // -O0 .. -O3 (see src/passes/pass.h)
  std::vector<std::string> disable_passes;
  std::vector<std::string> enable_passes;
  // Flush-to-zero and denormals-are-zero while kernels run, and subnormal
  // weights flushed by the optimizer. false keeps subnormals, for study.
  bool flush_denormals = true;
  // Internal tensors to return from run() after the model's own outputs, by
  // value name or node name (e.g. MXNet's "conv_1_relu" or
  // "conv_1_relu_output").
  std::vector<std::string> extra_outputs;
  // Caps the instruction set kernels may use for this session: "scalar",
  // "avx2" or "avx512"; "" (default) is the host's best. The environment's
  // ANVIL_MAX_ISA still applies (the lower cap wins).
  std::string max_isa;
  // Concurrent run() calls: each borrows an executor (its own activation
  // memory, thread pool of `threads` and packed weights), made on first
  // need. At most this many exist; further callers wait. 0: no limit.
  int max_concurrency = 0;
  // Direct summation for every convolution: no Winograd, whose transforms
  // reassociate the sums (outputs then differ from the reference by up to
  // ~1e-5 relative instead of ~1e-6; see docs/kernels.md).
  bool exact = false;
  // Every intermediate tensor keeps its own memory and stays readable after
  // run() (anvil check --per-layer uses it). Off: values whose lifetimes do
  // not overlap share memory, which keeps activations in cache.
  bool keep_intermediates = false;
  // compile() refuses (kOutOfRange, with the numbers) a model whose weights,
  // inputs and peak activations would need more bytes than this, before
  // allocating any of them. 0: the environment's ANVIL_MAX_MEMORY (e.g.
  // "8G"), else the machine's physical memory. -1: no limit.
  int64_t memory_limit = 0;
  // Per-layer algorithm choice: "off" (default) takes the first kernel that
  // accepts each conv, in a fixed order tuned on Zen 4; "fast" (best of 3)
  // or "full" (best of 15) measures every candidate on the layer's shapes
  // on this host and caches the choice ($ANVIL_TUNE_CACHE, else
  // ~/.cache/anvil/tune.json), so each shape is measured once.
  std::string tune = "off";
  // Another session of the same model, compiled before (e.g. for another
  // batch size): weights the optimizer made identically (name, shape and
  // bytes) are shared with it instead of copied, and each node that matches
  // one of its nodes (same name, op, attributes and weights; the same
  // shapes but for dim 0) is offered its kernel and packed weights, kept
  // when this compile makes the same kernel. Read during compile() only;
  // the two sessions stay independent (either may be destroyed first).
  // Not for compiled models (.anvil), which bring their own.
  const Session* share_weights_with = nullptr;
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;  // -1 for an unbound dynamic dimension
};

class Session;

class Model {
 public:
  // Loads an ONNX file (.onnx), an MXNet checkpoint (PREFIX with
  // options.epoch, PREFIX-symbol.json, PREFIX-NNNN.params) or a compiled
  // model (.anvil, from Session::save or `anvil compile`). The format is
  // detected from the path/content. A compiled model is already optimized
  // with bound shapes: options.shapes must be empty or the same.
  static Result<Model> load(const std::string& path, const LoadOptions& options = {});

  // Empty for a default-constructed Model.
  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  Result<Session> compile(const CompileOptions& options = {}) const&;
  // The same, consuming the model (std::move(model).compile(...)): the
  // session's graph is then the only holder of the imported weights, so
  // the optimizer frees each one it replaces (a conv's weights folded with
  // its BatchNorm) instead of keeping both. `anvil bench` compiles this
  // way: with the importers' one-buffer file reads, ResNet-101 224 peaks
  // at 656 MiB resident under it, 863 MiB before.
  // The model is left unloaded, whether or not compiling succeeds.
  Result<Session> compile(const CompileOptions& options = {}) &&;
  bool loaded() const { return graph_ != nullptr; }
  // Loaded from a .anvil file: compile() skips the optimizer and reuses the
  // saved kernel choices and packed weights (CompileOptions::opt_level and
  // the pass lists do not apply; threads, max_isa, exact and the rest do).
  bool precompiled() const { return pre_ != nullptr; }

  // The imported graph (internal IR; see src/ir/graph.h).
  const Graph& graph() const { return *graph_; }

 private:
  // `graph` by value: when it is the last reference, the imported weights
  // go with the session's copy of the graph alone.
  static Result<Session> compile_graph(std::shared_ptr<const Graph> graph, std::shared_ptr<const Precompiled> pre,
                                       const CompileOptions& options);

  std::shared_ptr<const Graph> graph_;
  std::shared_ptr<const Precompiled> pre_;
};

class Session {
 public:
  Session();
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  // Runs once. Every input must be given, with the dtype and shape of
  // inputs(); it is read in place (wrap your buffer with Tensor::wrap).
  // Outputs come back by name, freshly allocated.
  // Thread-safe: concurrent calls on one Session run in parallel, each in
  // its own activation memory (see CompileOptions::max_concurrency).
  Result<std::map<std::string, Tensor>> run(const std::map<std::string, Tensor>& inputs) const;
  // Same, writing outputs into caller tensors (e.g. Tensor::wrap of your
  // buffers) by name, zero copy: kernels write straight into them. Any subset
  // of outputs() may be given, each with its dtype and shape; the others are
  // computed and dropped. Output memory must not overlap the inputs or each
  // other.
  Status run(const std::map<std::string, Tensor>& inputs, const std::map<std::string, Tensor>& outputs) const;

  // Makes the executors for `concurrent_runs` simultaneous run() calls now
  // (at most CompileOptions::max_concurrency), so the first concurrent
  // calls do not wait while one is made. Each has its own activation memory
  // and thread pool; all share the weights and packed weights.
  Status reserve(int concurrent_runs) const;
  // Executors made so far (1 + those reserve() or concurrent runs added).
  int executors() const;
  int threads() const;      // worker threads per run (1: none)
  std::string isa() const;  // what kernels use: "avx512", "avx2" or "scalar"
  // Activation memory one concurrent run holds (the executor's memory plan;
  // inputs and weights excluded).
  int64_t activation_bytes() const;
  const CompileOptions& options() const;
  bool compiled() const { return impl_ != nullptr; }

  // What the optimizer did ("folded 104 BN; flushed ... subnormal weights").
  std::string optimization_report() const;

  // Writes a compiled model (.anvil): the optimized graph, the kernel chosen
  // for every node on this host and the kernels' packed weights, checksummed.
  // Model::load maps it back without importing, optimizing or packing. The
  // file runs on CPUs with this session's ISA (isa()) or better.
  Status save(const std::string& path) const;

  struct Impl;
  Impl* impl() { return impl_.get(); }

 private:
  friend class Model;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anvil

// anvil: a CPU inference engine for CNNs. The public C++ API.
//
//   auto model = anvil::Model::load("resnet50.onnx", {.shapes = {{"input", {1, 3, 224, 224}}}});
//   auto session = model->compile({.threads = 2});
//   auto outputs = session->run({{"input", x}});
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
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;  // -1 for an unbound dynamic dimension
};

class Session;

class Model {
 public:
  // Loads an ONNX file (.onnx) or an MXNet checkpoint (PREFIX with
  // options.epoch, PREFIX-symbol.json, PREFIX-NNNN.params). The format is
  // detected from the path/content.
  static Result<Model> load(const std::string& path, const LoadOptions& options = {});

  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  Result<Session> compile(const CompileOptions& options = {}) const;

  // The imported graph (internal IR; see src/ir/graph.h).
  const Graph& graph() const { return *graph_; }

 private:
  std::shared_ptr<const Graph> graph_;
};

class Session {
 public:
  Session();
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  // Runs once. Every input must be given; outputs come back by name.
  // Not reentrant: use one Session per thread.
  Result<std::map<std::string, Tensor>> run(const std::map<std::string, Tensor>& inputs);

  // What the optimizer did ("folded 104 BN; flushed ... subnormal weights").
  std::string optimization_report() const;

  struct Impl;
  Impl* impl() { return impl_.get(); }

 private:
  friend class Model;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anvil

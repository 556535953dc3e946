#include <algorithm>
#include <filesystem>
#include <fstream>

#include "anvil/anvil.h"
#include "frontend/mxnet/mxnet_import.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/executor.h"
#include "runtime/session_impl.h"

namespace anvil {

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
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

Result<Model> Model::load(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
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
}

std::vector<TensorInfo> Model::inputs() const { return infos(*graph_, graph_->inputs); }
std::vector<TensorInfo> Model::outputs() const { return infos(*graph_, graph_->outputs); }

Session::Session() = default;
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const std::vector<TensorInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Session::outputs() const { return impl_->outputs; }
std::string Session::optimization_report() const { return impl_->report; }

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

Result<Session> Model::compile(const CompileOptions& options) const {
  Graph g0 = *graph_;
  if (!options.extra_outputs.empty()) ANVIL_TRY(add_extra_outputs(g0, options.extra_outputs));
  PassOptions po;
  po.opt_level = options.opt_level;
  po.disabled.insert(options.disable_passes.begin(), options.disable_passes.end());
  po.enabled.insert(options.enable_passes.begin(), options.enable_passes.end());
  po.flush_subnormals = options.flush_denormals;
  auto report = run_passes(g0, po);
  if (!report) return report.status().with_context(g0.source.empty() ? "model" : g0.source);
  auto ex = Executor::create(std::move(g0), options.threads);
  if (!ex) return ex.status();
  (*ex)->set_flush_denormals(options.flush_denormals);
  Session s;
  s.impl_ = std::make_unique<Session::Impl>();
  s.impl_->report = report->to_text();
  s.impl_->executor = std::move(ex).value();
  const Graph& g = s.impl_->executor->graph();
  s.impl_->inputs = infos(g, g.inputs);
  s.impl_->outputs = infos(g, g.outputs);
  s.impl_->options = options;
  return s;
}

Result<std::map<std::string, Tensor>> Session::run(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> in;
  for (const TensorInfo& ti : impl_->inputs) {
    auto it = inputs.find(ti.name);
    if (it == inputs.end()) return invalid_argument("missing input '" + ti.name + "' (" + dtype_name(ti.dtype) + "[" + ti.shape.str() + "])");
    in.push_back(it->second);
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (const TensorInfo& ti : impl_->inputs) known |= ti.name == name;
    if (!known) {
      std::string names;
      for (const TensorInfo& ti : impl_->inputs) names += (names.empty() ? "" : ", ") + ti.name;
      return invalid_argument("'" + name + "' is not an input of the model (inputs: " + names + ")");
    }
  }
  std::vector<Tensor> out;
  ANVIL_TRY(impl_->executor->run(in, out));
  std::map<std::string, Tensor> r;
  for (size_t i = 0; i < out.size(); ++i) r[impl_->outputs[i].name] = std::move(out[i]);
  return r;
}

}  // namespace anvil

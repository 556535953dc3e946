#include "frontend/mxnet/mxnet_import.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <set>

#include "ir/op_registry.h"

namespace anvil::mxnet {

namespace {

std::string join(const std::vector<std::string>& v, size_t max_items = 12) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max_items) s += ", ... (" + std::to_string(v.size() - max_items) + " more)";
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + ")";
}

// MXNet writes every operator parameter as a Python-formatted string:
// "True", "1e-05", "(3, 3)", "[1, 2]", "None", "3L".
class MxAttrs {
 public:
  explicit MxAttrs(const MxNode& n) : n_(n) {}
  bool has(const std::string& k) const { return n_.attrs.count(k) != 0; }
  const std::string* find(const std::string& k) const {
    auto it = n_.attrs.find(k);
    return it == n_.attrs.end() ? nullptr : &it->second;
  }
  static bool is_none(const std::string& s) { return s == "None" || s == "none" || s.empty(); }

  Status get_str(const std::string& k, std::string& v) const {
    if (const std::string* s = find(k)) v = *s;
    return Status::ok();
  }
  Status get_bool(const std::string& k, bool& v) const {
    const std::string* s = find(k);
    if (!s) return Status::ok();
    const std::string t = trim(*s);
    if (t == "True" || t == "true" || t == "1") v = true;
    else if (t == "False" || t == "false" || t == "0") v = false;
    else return bad(k, "a boolean");
    return Status::ok();
  }
  Status get_int(const std::string& k, int64_t& v) const {
    const std::string* s = find(k);
    if (!s) return Status::ok();
    if (!parse_int(trim(*s), v)) return bad(k, "an integer");
    return Status::ok();
  }
  Status get_opt_int(const std::string& k, std::optional<int64_t>& v) const {
    const std::string* s = find(k);
    if (!s || is_none(trim(*s))) return Status::ok();
    int64_t x = 0;
    if (!parse_int(trim(*s), x)) return bad(k, "an integer or None");
    v = x;
    return Status::ok();
  }
  Status get_float(const std::string& k, double& v) const {
    const std::string* s = find(k);
    if (!s) return Status::ok();
    const std::string t = trim(*s);
    char* end = nullptr;
    errno = 0;
    const double x = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size()) return bad(k, "a number");
    v = x;
    return Status::ok();
  }
  Status get_opt_float(const std::string& k, std::optional<double>& v) const {
    const std::string* s = find(k);
    if (!s || is_none(trim(*s))) return Status::ok();
    double x = 0;
    ANVIL_TRY(get_float(k, x));
    v = x;
    return Status::ok();
  }
  // "(3, 3)", "[3,3]", "3", "()", "(None, 2)": None entries are nullopt.
  Status get_opt_tuple(const std::string& k, std::vector<std::optional<int64_t>>& v, bool* present = nullptr) const {
    const std::string* s = find(k);
    if (present) *present = s != nullptr;
    if (!s) return Status::ok();
    std::string t = trim(*s);
    if (!t.empty() && (t.front() == '(' || t.front() == '[')) {
      if (t.size() < 2 || (t.back() != ')' && t.back() != ']')) return bad(k, "a tuple");
      t = t.substr(1, t.size() - 2);
    }
    v.clear();
    size_t start = 0;
    while (start <= t.size()) {
      size_t comma = t.find(',', start);
      if (comma == std::string::npos) comma = t.size();
      const std::string item = trim(t.substr(start, comma - start));
      if (!item.empty()) {
        if (item == "None") {
          v.push_back(std::nullopt);
        } else {
          int64_t x = 0;
          if (!parse_int(item, x)) return bad(k, "a tuple of integers");
          v.push_back(x);
        }
      } else if (comma != t.size()) {
        return bad(k, "a tuple of integers");
      }
      start = comma + 1;
    }
    return Status::ok();
  }
  Status get_tuple(const std::string& k, std::vector<int64_t>& v, bool* present = nullptr) const {
    std::vector<std::optional<int64_t>> o;
    bool p = false;
    ANVIL_TRY(get_opt_tuple(k, o, &p));
    if (present) *present = p;
    if (!p) return Status::ok();
    v.clear();
    for (const auto& x : o) {
      if (!x) return bad(k, "a tuple of integers (no None)");
      v.push_back(*x);
    }
    return Status::ok();
  }
  template <class T>
  Status require(const std::string& k, T& v) const {
    if (!has(k)) return invalid_model("missing required parameter '" + k + "'");
    if constexpr (std::is_same_v<T, std::vector<int64_t>>) return get_tuple(k, v);
    else if constexpr (std::is_same_v<T, int64_t>) return get_int(k, v);
    else if constexpr (std::is_same_v<T, double>) return get_float(k, v);
    else return get_str(k, v);
  }

 private:
  static bool parse_int(std::string t, int64_t& v) {
    if (!t.empty() && (t.back() == 'L' || t.back() == 'l')) t.pop_back();  // Python 2 longs
    if (t.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(t.c_str(), &end, 10);
    if (end != t.c_str() + t.size() || errno == ERANGE) {
      // "3.0" for an integer parameter: accept when integral.
      const double d = std::strtod(t.c_str(), &end);
      if (end != t.c_str() + t.size() || d != std::floor(d) || std::fabs(d) > 9e15) return false;
      v = static_cast<int64_t>(d);
      return true;
    }
    v = x;
    return true;
  }
  Status bad(const std::string& k, const char* expected) const {
    return invalid_model("parameter '" + k + "' = '" + n_.attrs.at(k) + "' is not " + expected);
  }
  const MxNode& n_;
};

enum class Role { kData, kParam, kLabel };

// Which inputs of an op are learned parameters (from .params) or training
// labels (dropped at inference); everything else is data.
Role input_role(const std::string& op, size_t k) {
  if (k == 0) return Role::kData;
  static const std::set<std::string> weighted = {"Convolution", "Deconvolution", "FullyConnected", "BatchNorm",
                                                 "BatchNorm_v1", "CuDNNBatchNorm", "SyncBatchNorm",
                                                 "_contrib_SyncBatchNorm", "InstanceNorm", "LayerNorm",
                                                 "GroupNorm", "Embedding", "Convolution_v1"};
  static const std::set<std::string> losses = {"SoftmaxOutput", "Softmax", "LinearRegressionOutput",
                                               "LogisticRegressionOutput", "MAERegressionOutput", "SVMOutput"};
  if (weighted.count(op)) return Role::kParam;
  if (op == "LeakyReLU" && k == 1) return Role::kParam;
  if (losses.count(op) && k == 1) return Role::kLabel;
  return Role::kData;
}

std::string strip_prefix(const std::string& n, std::string* prefix) {
  for (const char* p : {"arg:", "aux:"}) {
    if (n.rfind(p, 0) == 0) {
      if (prefix) *prefix = std::string(p, 3);
      return n.substr(4);
    }
  }
  if (prefix) prefix->clear();
  return n;
}

struct Importer {
  const MxSymbol& sym;
  const NDArrayList& plist;
  std::string sname, pname;
  const ImportOptions& opt;
  Graph g;

  std::map<std::string, Tensor> params;     // by name without arg:/aux:
  std::vector<std::vector<ValueId>> outs;   // per MXNet node: its outputs
  std::vector<Role> var_role;               // per node, for variables: strongest use
  std::vector<bool> var_used;
  std::vector<std::string> missing_warned;
  std::map<std::string, std::vector<std::string>> unsupported_ops;
  int64_t cur = -1;  // MXNet node being translated

  const MxNode& node() const { return sym.nodes[static_cast<size_t>(cur)]; }
  std::string where(int64_t id) const {
    const MxNode& n = sym.nodes[static_cast<size_t>(id)];
    return "node '" + n.name + "' (" + (n.op == "null" ? std::string("variable") : n.op) + ")";
  }

  // Graph building ------------------------------------------------------------
  std::string out_name(size_t i, size_t n) const {
    return node().name + "_output" + (n > 1 ? std::to_string(i) : "");
  }

  Status infer_last() {
    Node& n = g.nodes().back();
    for (ValueId v : n.inputs)
      if (v != kNoValue && !g.value(v).has_type) return Status::ok();
    const OpDef* def = OpRegistry::instance().find(n.op);
    if (!def) return internal_error("IR op '" + n.op + "' is not registered");
    InferContext ctx = make_infer_context(g, n);
    Status s = def->infer(ctx);
    if (!s.is_ok()) return std::move(s).with_context(g.node_desc_with_shapes(n));
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o] == kNoValue) continue;
      Value& v = g.value(n.outputs[o]);
      v.dtype = ctx.outputs[o].dtype;
      v.shape = ctx.outputs[o].shape;
      v.has_type = true;
    }
    return Status::ok();
  }

  Result<std::vector<ValueId>> add(const std::string& op, std::vector<ValueId> ins, Attrs attrs,
                                   const std::vector<std::string>& out_names, const std::string& node_name) {
    Node n;
    n.name = node_name;
    n.op = op;
    n.inputs = std::move(ins);
    while (!n.inputs.empty() && n.inputs.back() == kNoValue) n.inputs.pop_back();
    n.attrs = std::move(attrs);
    n.origin.push_back(node().name);
    for (const std::string& on : out_names)
      n.outputs.push_back(g.add_value(g.find_value(on) == kNoValue ? on : g.unique_value_name(on)));
    g.add_node(std::move(n));
    ANVIL_TRY(infer_last());
    return g.nodes().back().outputs;
  }
  // A helper node "<node>/<what>" with one output of the same name.
  Result<ValueId> emit(const std::string& op, std::vector<ValueId> ins, Attrs attrs, const std::string& what) {
    const std::string nm = node().name + "/" + what;
    ANVIL_ASSIGN_OR_RETURN(auto o, add(op, std::move(ins), std::move(attrs), {nm}, nm));
    return o[0];
  }
  // The node standing for the MXNet node itself: its name, output "<node>_output".
  Status finish(const std::string& op, std::vector<ValueId> ins, Attrs attrs = {}) {
    ANVIL_ASSIGN_OR_RETURN(auto o, add(op, std::move(ins), std::move(attrs), {out_name(0, 1)}, node().name));
    outs[static_cast<size_t>(cur)] = o;
    return Status::ok();
  }
  ValueId constant(const std::string& what, Tensor t) {
    return g.add_initializer(g.unique_value_name(node().name + "/" + what), std::move(t));
  }
  ValueId ints_const(const std::string& what, const std::vector<int64_t>& v) {
    return constant(what, Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(v.size())}, v));
  }
  // A scalar of the dtype of `like` (f32 when unknown).
  ValueId scalar_like(const std::string& what, double v, ValueId like) {
    Tensor t = Tensor::scalar<float>(static_cast<float>(v));
    if (like != kNoValue && g.value(like).has_type && g.value(like).dtype != DType::kF32) {
      if (g.value(like).dtype == DType::kF64) t = Tensor::scalar<double>(v);
      else t = t.cast(g.value(like).dtype);
    }
    return constant(what, t);
  }

  // Inputs --------------------------------------------------------------------
  size_t num_inputs() const { return node().inputs.size(); }
  Status need_inputs(size_t lo, size_t hi) const {
    const size_t n = num_inputs();
    if (n < lo || n > hi)
      return invalid_model("takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
                           " inputs, got " + std::to_string(n));
    return Status::ok();
  }
  bool input_is_var(size_t k) const {
    return sym.nodes[static_cast<size_t>(node().inputs[k].node)].op == "null";
  }
  const std::string& input_var_name(size_t k) const {
    return sym.nodes[static_cast<size_t>(node().inputs[k].node)].name;
  }
  Result<ValueId> in(size_t k) {
    const MxEntry& e = node().inputs[k];
    const auto& o = outs[static_cast<size_t>(e.node)];
    if (e.index >= static_cast<int64_t>(o.size()) || o[static_cast<size_t>(e.index)] == kNoValue) {
      const MxNode& src = sym.nodes[static_cast<size_t>(e.node)];
      if (src.op == "null") return internal_error("input " + std::to_string(k) + " '" + src.name + "' has no value");
      return invalid_model("input " + std::to_string(k) + " uses output " + std::to_string(e.index) + " of " +
                           where(e.node) + ", which has " + std::to_string(o.size()) + " usable output(s)");
    }
    return o[static_cast<size_t>(e.index)];
  }
  const Value* info(ValueId v) const { return v != kNoValue && g.value(v).has_type ? &g.value(v) : nullptr; }
  int64_t rank_of(ValueId v) const { return info(v) ? static_cast<int64_t>(info(v)->shape.rank()) : -1; }
  // Dimension d of v when known (and static).
  std::optional<int64_t> dim_of(ValueId v, int64_t d) const {
    const Value* i = info(v);
    if (!i) return std::nullopt;
    const int64_t r = static_cast<int64_t>(i->shape.rank());
    if (d < 0) d += r;
    if (d < 0 || d >= r || i->shape[static_cast<size_t>(d)] < 0) return std::nullopt;
    return i->shape[static_cast<size_t>(d)];
  }

  // The parameter at input k as a tensor. A missing one (allowed by
  // allow_missing; otherwise the import failed before translation) is zeros
  // of the shape `expected` computes from the data shape.
  Result<Tensor> param_tensor(size_t k, const std::function<Result<Shape>()>& expected) {
    if (k >= num_inputs()) return invalid_model("parameter input " + std::to_string(k) + " is missing");
    if (!input_is_var(k))
      return unsupported("input " + std::to_string(k) + " must be a parameter (a variable), but is computed by " +
                         where(node().inputs[k].node));
    const std::string& name = input_var_name(k);
    auto it = params.find(name);
    if (it != params.end()) {
      if (!it->second.defined()) return invalid_model("parameter '" + name + "' is stored without a shape (none)");
      return it->second;
    }
    auto shape = expected();
    if (!shape)
      return shape.status().with_context("parameter '" + name +
                                         "' is missing and its shape cannot be derived; bind the input shapes (--shape)");
    if (shape->numel() < 0 || static_cast<uint64_t>(shape->numel()) > tensor_byte_limit() / 4)
      return out_of_range("parameter '" + name + "' is missing, and the zeros standing for it (f32[" + shape->str() +
                          "]) would exceed the tensor size limit of " + std::to_string(tensor_byte_limit()) + " bytes");
    Tensor z(DType::kF32, *shape);
    params[name] = z;
    missing_warned.push_back(name + " " + ints_str(shape->dims()));
    return z;
  }
  Result<ValueId> param(size_t k, const std::function<Result<Shape>()>& expected) {
    ANVIL_ASSIGN_OR_RETURN(Tensor t, param_tensor(k, expected));
    const std::string& name = input_var_name(k);
    const ValueId existing = g.find_value(name);
    if (existing != kNoValue && g.value(existing).is_initializer) return existing;
    return g.add_initializer(existing == kNoValue ? name : g.unique_value_name(name), t);
  }
  Result<Shape> channel_shape(ValueId x, int64_t axis) const {
    auto c = dim_of(x, axis);
    if (!c) return invalid_argument("the input's channel count is unknown");
    return Shape{*c};
  }

  // Translation ---------------------------------------------------------------
  Status translate();
  Status convolution();
  Status batch_norm();
  Status pooling();
  Status fully_connected();
  Status leaky_relu();
  Status binary(const std::string& op);
  Status scalar_op(const std::string& op, bool reversed);
  Status reduce(bool mean);
  Status split();
  Status softmax_like(const std::string& op, int64_t axis, bool legacy_2d, std::optional<double> temperature);
  Status l2_normalization();
  Status tile();
  Status slice();

  Status run();
};

Status Importer::convolution() {
  const MxAttrs a(node());
  std::vector<int64_t> kernel, stride, dilate, pad;
  int64_t num_filter = 0, num_group = 1;
  bool no_bias = false;
  std::string layout;
  ANVIL_TRY(a.require("kernel", kernel));
  ANVIL_TRY(a.require("num_filter", num_filter));
  ANVIL_TRY(a.get_tuple("stride", stride));
  ANVIL_TRY(a.get_tuple("dilate", dilate));
  ANVIL_TRY(a.get_tuple("pad", pad));
  ANVIL_TRY(a.get_int("num_group", num_group));
  ANVIL_TRY(a.get_bool("no_bias", no_bias));
  ANVIL_TRY(a.get_str("layout", layout));
  if (!layout.empty() && !MxAttrs::is_none(layout) && layout != "NCW" && layout != "NCHW" && layout != "NCDHW")
    return unsupported("layout '" + layout + "' is not supported (anvil runs channel-first layouts)");
  const size_t nd = kernel.size();
  if (nd == 0) return invalid_model("parameter 'kernel' is empty");
  if (stride.empty()) stride.assign(nd, 1);
  if (dilate.empty()) dilate.assign(nd, 1);
  if (pad.empty()) pad.assign(nd, 0);
  if (stride.size() != nd || dilate.size() != nd || pad.size() != nd)
    return invalid_model("kernel " + ints_str(kernel) + ", stride " + ints_str(stride) + ", dilate " + ints_str(dilate) +
                         " and pad " + ints_str(pad) + " must have the same length");
  if (num_group <= 0 || num_filter <= 0) return invalid_model("num_filter and num_group must be positive");
  ANVIL_TRY(need_inputs(no_bias ? 2 : 3, no_bias ? 2 : 3));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  ANVIL_ASSIGN_OR_RETURN(ValueId w, param(1, [&]() -> Result<Shape> {
    auto c = dim_of(x, 1);
    if (!c) return invalid_argument("the input's channel count is unknown");
    std::vector<int64_t> s = {num_filter, *c / num_group};
    s.insert(s.end(), kernel.begin(), kernel.end());
    return Shape(s);
  }));
  std::vector<ValueId> ins = {x, w};
  if (!no_bias) {
    ANVIL_ASSIGN_OR_RETURN(ValueId b, param(2, [&]() -> Result<Shape> { return Shape{num_filter}; }));
    ins.push_back(b);
  }
  std::vector<int64_t> pads = pad;
  pads.insert(pads.end(), pad.begin(), pad.end());
  Attrs at;
  at.set("kernel_shape", kernel);
  at.set("strides", stride);
  at.set("dilations", dilate);
  at.set("pads", pads);
  at.set("group", num_group);
  return finish("Conv", ins, at);
}

Status Importer::batch_norm() {
  const MxAttrs a(node());
  double eps = 1e-3;
  bool fix_gamma = true, output_mean_var = false;
  int64_t axis = 1;
  ANVIL_TRY(a.get_float("eps", eps));
  ANVIL_TRY(a.get_bool("fix_gamma", fix_gamma));
  ANVIL_TRY(a.get_int("axis", axis));
  ANVIL_TRY(a.get_bool("output_mean_var", output_mean_var));
  ANVIL_TRY(need_inputs(5, 5));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  const int64_t r = rank_of(x);
  const int64_t ax = axis < 0 && r >= 0 ? axis + r : axis;
  if (ax != 1)
    return unsupported("axis " + std::to_string(axis) + " is not supported (anvil normalises channel axis 1)");
  auto cshape = [&]() { return channel_shape(x, 1); };
  ANVIL_ASSIGN_OR_RETURN(Tensor gamma, param_tensor(1, cshape));
  ValueId gv = kNoValue;
  if (fix_gamma) {
    // MXNet ignores the stored gamma when fix_gamma is set: it is 1.
    Tensor ones(DType::kF32, gamma.shape());
    for (int64_t i = 0; i < ones.numel(); ++i) ones.data<float>()[i] = 1.0f;
    gv = constant("gamma_fixed", ones);
  } else {
    ANVIL_ASSIGN_OR_RETURN(gv, param(1, cshape));
  }
  ANVIL_ASSIGN_OR_RETURN(ValueId beta, param(2, cshape));
  ANVIL_ASSIGN_OR_RETURN(ValueId mean, param(3, cshape));
  ANVIL_ASSIGN_OR_RETURN(ValueId var, param(4, cshape));
  Attrs at;
  at.set("epsilon", static_cast<float>(eps));
  return finish("BatchNormalization", {x, gv, beta, mean, var}, at);
}

Status Importer::pooling() {
  const MxAttrs a(node());
  std::vector<int64_t> kernel, stride, pad;
  std::string pool_type = "max", convention = "valid", layout;
  bool global = false, count_include_pad = true;
  ANVIL_TRY(a.get_tuple("kernel", kernel));
  ANVIL_TRY(a.get_tuple("stride", stride));
  ANVIL_TRY(a.get_tuple("pad", pad));
  ANVIL_TRY(a.get_str("pool_type", pool_type));
  ANVIL_TRY(a.get_str("pooling_convention", convention));
  ANVIL_TRY(a.get_bool("global_pool", global));
  ANVIL_TRY(a.get_bool("count_include_pad", count_include_pad));
  ANVIL_TRY(a.get_str("layout", layout));
  if (!layout.empty() && !MxAttrs::is_none(layout) && layout != "NCW" && layout != "NCHW" && layout != "NCDHW")
    return unsupported("layout '" + layout + "' is not supported (anvil runs channel-first layouts)");
  if (pool_type != "max" && pool_type != "avg" && pool_type != "sum")
    return unsupported("pool_type '" + pool_type + "' is not supported (max, avg, sum)");
  ANVIL_TRY(need_inputs(1, 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  if (global) {
    if (pool_type == "max") return finish("GlobalMaxPool", {x});
    if (pool_type == "avg") return finish("GlobalAveragePool", {x});
    const int64_t r = rank_of(x) >= 0 ? rank_of(x) : static_cast<int64_t>(kernel.size()) + 2;
    std::vector<int64_t> axes;
    for (int64_t d = 2; d < r; ++d) axes.push_back(d);
    Attrs at;
    at.set("keepdims", int64_t{1});
    return finish("ReduceSum", {x, ints_const("axes", axes)}, at);
  }
  const size_t nd = kernel.size();
  if (nd == 0) return invalid_model("parameter 'kernel' is required unless global_pool is set");
  if (stride.empty()) stride.assign(nd, 1);
  if (pad.empty()) pad.assign(nd, 0);
  if (stride.size() != nd || pad.size() != nd)
    return invalid_model("kernel " + ints_str(kernel) + ", stride " + ints_str(stride) + " and pad " + ints_str(pad) +
                         " must have the same length");
  std::vector<int64_t> pads_begin = pad, pads_end = pad;
  int64_t ceil_mode = 0;
  const Value* xi = info(x);
  const bool known = xi && xi->shape.rank() == nd + 2 && xi->shape.is_static();
  if (convention == "full") {
    // MXNet: out = 1 + ceil((in + 2p - k) / s), keeping a last window that
    // starts in the end padding, which ONNX's ceil_mode drops. Where the two
    // differ, the end padding is extended instead (exact for max, and for
    // avg when padding is not counted).
    ceil_mode = 1;
    if (known) {
      bool differs = false;
      std::vector<int64_t> ext = pads_end;
      for (size_t d = 0; d < nd; ++d) {
        const int64_t in_d = xi->shape[d + 2], span = in_d + 2 * pad[d] - kernel[d];
        if (span < 0) break;
        const int64_t mx_out = 1 + (span + stride[d] - 1) / stride[d];
        int64_t onnx_out = mx_out;
        if ((onnx_out - 1) * stride[d] >= in_d + pad[d]) --onnx_out;
        if (onnx_out != mx_out) differs = true;
        ext[d] = (mx_out - 1) * stride[d] + kernel[d] - in_d - pad[d];
      }
      if (differs) {
        if (pool_type != "max" && count_include_pad)
          return unsupported("pooling_convention 'full' with a window that starts in the end padding and "
                             "count_include_pad is not supported for " + pool_type + " pooling");
        pads_end = ext;
        ceil_mode = 0;
      }
    }
  } else if (convention == "same") {
    // Output ceil(in / stride), windows starting at -pad, extra at the end.
    if (!known) return unsupported("pooling_convention 'same' needs the input shape; bind it with --shape");
    for (size_t d = 0; d < nd; ++d) {
      const int64_t in_d = xi->shape[d + 2], out = (in_d + stride[d] - 1) / stride[d];
      pads_end[d] = std::max<int64_t>(0, (out - 1) * stride[d] + kernel[d] - in_d - pad[d]);
    }
  } else if (convention != "valid") {
    return unsupported("pooling_convention '" + convention + "' is not supported (valid, full, same)");
  }
  std::vector<int64_t> pads = pads_begin;
  pads.insert(pads.end(), pads_end.begin(), pads_end.end());
  Attrs at;
  at.set("kernel_shape", kernel);
  at.set("strides", stride);
  at.set("pads", pads);
  if (ceil_mode) at.set("ceil_mode", ceil_mode);
  if (pool_type == "max") return finish("MaxPool", {x}, at);
  if (pool_type == "avg") {
    at.set("count_include_pad", int64_t{count_include_pad ? 1 : 0});
    return finish("AveragePool", {x}, at);
  }
  // sum = average over the padded window times its size; exact only while
  // every window has the full size (no ceil-mode overhang).
  bool overhang = ceil_mode != 0 || convention == "same";
  if (known && convention == "full" && ceil_mode) {
    overhang = false;
    for (size_t d = 0; d < nd; ++d)
      if ((xi->shape[d + 2] + 2 * pad[d] - kernel[d]) % stride[d] != 0) overhang = true;
  }
  if (overhang) return unsupported("sum pooling with windows past the end padding is not supported");
  at.set("count_include_pad", int64_t{1});
  ANVIL_ASSIGN_OR_RETURN(ValueId avg, emit("AveragePool", {x}, at, "avg"));
  int64_t k = 1;
  for (int64_t v : kernel) k *= v;
  return finish("Mul", {avg, scalar_like("window_size", static_cast<double>(k), x)});
}

Status Importer::fully_connected() {
  const MxAttrs a(node());
  int64_t num_hidden = 0;
  bool no_bias = false, flatten = true;
  ANVIL_TRY(a.require("num_hidden", num_hidden));
  ANVIL_TRY(a.get_bool("no_bias", no_bias));
  ANVIL_TRY(a.get_bool("flatten", flatten));
  ANVIL_TRY(need_inputs(no_bias ? 2 : 3, no_bias ? 2 : 3));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  ANVIL_ASSIGN_OR_RETURN(Tensor w, param_tensor(1, [&]() -> Result<Shape> {
    const Value* xi = info(x);
    if (!xi || !xi->shape.is_static() || xi->shape.rank() < 1) return invalid_argument("the input shape is unknown");
    int64_t k = xi->shape[xi->shape.rank() - 1];
    if (flatten) k = xi->shape.rank() < 2 ? 1 : xi->shape.numel() / std::max<int64_t>(xi->shape[0], 1);
    return Shape{num_hidden, k};
  }));
  if (w.rank() != 2 || w.dim(0) != num_hidden)
    return invalid_model("weight '" + input_var_name(1) + "' is " + w.desc() + ", expected [" +
                         std::to_string(num_hidden) + ", K] for num_hidden " + std::to_string(num_hidden));
  ValueId b = kNoValue;
  if (!no_bias) {
    ANVIL_ASSIGN_OR_RETURN(b, param(2, [&]() -> Result<Shape> { return Shape{num_hidden}; }));
  }
  if (flatten) {
    ValueId x2 = x;
    if (rank_of(x) != 2) {
      Attrs fa;
      fa.set("axis", int64_t{1});
      ANVIL_ASSIGN_OR_RETURN(x2, emit("Flatten", {x}, fa, "flatten"));
    }
    ANVIL_ASSIGN_OR_RETURN(ValueId wv, param(1, nullptr));
    Attrs at;
    at.set("transB", int64_t{1});
    return finish("Gemm", {x2, wv, b}, at);
  }
  // flatten=False: y = x . W^T over the last axis, any leading dims.
  Tensor wt(DType::kF32, Shape{w.dim(1), w.dim(0)});
  const Tensor wf = w.dtype() == DType::kF32 ? w : w.cast(DType::kF32);
  for (int64_t i = 0; i < w.dim(0); ++i)
    for (int64_t j = 0; j < w.dim(1); ++j) wt.data<float>()[j * w.dim(0) + i] = wf.data<float>()[i * w.dim(1) + j];
  const ValueId wtv = constant("weight_t", wt);
  if (no_bias) return finish("MatMul", {x, wtv});
  ANVIL_ASSIGN_OR_RETURN(ValueId mm, emit("MatMul", {x, wtv}, {}, "matmul"));
  return finish("Add", {mm, b});
}

Status Importer::leaky_relu() {
  const MxAttrs a(node());
  std::string act = "leaky";
  double slope = 0.25, lower = 0.125, upper = 0.334;
  ANVIL_TRY(a.get_str("act_type", act));
  ANVIL_TRY(a.get_float("slope", slope));
  ANVIL_TRY(a.get_float("lower_bound", lower));
  ANVIL_TRY(a.get_float("upper_bound", upper));
  ANVIL_TRY(need_inputs(1, act == "prelu" ? 2 : 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  Attrs at;
  if (act == "leaky" || act == "rrelu") {
    // rrelu at inference uses the mean of its random slope range.
    at.set("alpha", static_cast<float>(act == "leaky" ? slope : (lower + upper) / 2));
    return finish("LeakyRelu", {x}, at);
  }
  if (act == "elu") {
    at.set("alpha", static_cast<float>(slope));
    return finish("Elu", {x}, at);
  }
  if (act == "selu") return finish("Selu", {x});
  if (act == "gelu") return finish("Gelu", {x});
  if (act != "prelu") return unsupported("act_type '" + act + "' is not supported (leaky, prelu, elu, selu, gelu, rrelu)");
  ANVIL_TRY(need_inputs(2, 2));
  ANVIL_ASSIGN_OR_RETURN(Tensor gamma, param_tensor(1, [&]() { return channel_shape(x, 1); }));
  // MXNet's gamma is per channel (axis 1): shape it [C, 1, ...] so it
  // broadcasts against N x C x spatial. Rank 4 is assumed when unknown.
  const int64_t r = rank_of(x) >= 0 ? rank_of(x) : 4;
  std::vector<int64_t> s = {gamma.numel()};
  for (int64_t d = 2; d < r; ++d) s.push_back(1);
  Tensor gs = (gamma.dtype() == DType::kF32 ? gamma : gamma.cast(DType::kF32)).reshaped(Shape(s));
  const std::string gname = input_var_name(1);
  const ValueId gv = g.add_initializer(g.find_value(gname) == kNoValue ? gname : g.unique_value_name(gname), gs);
  return finish("PRelu", {x, gv});
}

Status Importer::binary(const std::string& op) {
  ANVIL_TRY(need_inputs(2, 2));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  ANVIL_ASSIGN_OR_RETURN(ValueId y, in(1));
  return finish(op, {x, y});
}

Status Importer::scalar_op(const std::string& op, bool reversed) {
  const MxAttrs a(node());
  double s = 0;
  ANVIL_TRY(a.require("scalar", s));
  ANVIL_TRY(need_inputs(1, 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  const ValueId c = scalar_like("scalar", s, x);
  return finish(op, reversed ? std::vector<ValueId>{c, x} : std::vector<ValueId>{x, c});
}

Status Importer::reduce(bool mean) {
  const MxAttrs a(node());
  std::vector<int64_t> axis;
  bool has_axis = false, keepdims = false, exclude = false;
  ANVIL_TRY(a.get_tuple("axis", axis, &has_axis));
  ANVIL_TRY(a.get_bool("keepdims", keepdims));
  ANVIL_TRY(a.get_bool("exclude", exclude));
  ANVIL_TRY(need_inputs(1, 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  const int64_t r = rank_of(x);
  if (exclude && !axis.empty()) {
    if (r < 0) return unsupported("exclude=True needs the input rank; bind the input shapes (--shape)");
    std::vector<bool> keep(static_cast<size_t>(r), false);
    for (int64_t v : axis) {
      const int64_t n = v < 0 ? v + r : v;
      if (n < 0 || n >= r) return invalid_model("axis " + std::to_string(v) + " is out of range for rank " + std::to_string(r));
      keep[static_cast<size_t>(n)] = true;
    }
    axis.clear();
    for (int64_t d = 0; d < r; ++d)
      if (!keep[static_cast<size_t>(d)]) axis.push_back(d);
    if (axis.empty()) return finish("Identity", {x});
  }
  // Reducing everything without keepdims gives shape (1,) in MXNet, not a scalar.
  const bool all = axis.empty() || (r >= 0 && static_cast<int64_t>(axis.size()) == r);
  const bool to_one = all && !keepdims;
  Attrs at;
  at.set("keepdims", int64_t{keepdims ? 1 : 0});
  std::vector<ValueId> ins = {x};
  if (mean) {
    if (!axis.empty()) at.set("axes", axis);
  } else if (!axis.empty()) {
    ins.push_back(ints_const("axes", axis));
  }
  const std::string op = mean ? "ReduceMean" : "ReduceSum";
  if (!to_one) return finish(op, ins, at);
  ANVIL_ASSIGN_OR_RETURN(ValueId red, emit(op, ins, at, "reduce"));
  return finish("Reshape", {red, ints_const("shape", {1})});
}

Status Importer::split() {
  const MxAttrs a(node());
  int64_t n = 0, axis = 1;
  bool squeeze = false;
  ANVIL_TRY(a.require("num_outputs", n));
  ANVIL_TRY(a.get_int("axis", axis));
  ANVIL_TRY(a.get_bool("squeeze_axis", squeeze));
  if (n <= 0 || n > 1 << 20) return invalid_model("num_outputs " + std::to_string(n) + " is not a sane positive count");
  ANVIL_TRY(need_inputs(1, 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i)
    names.push_back(squeeze ? node().name + "/split" + std::to_string(i) : out_name(static_cast<size_t>(i), static_cast<size_t>(n) + 1));
  Attrs at;
  at.set("axis", axis);
  ANVIL_ASSIGN_OR_RETURN(auto parts, add("Split", {x}, at, names, squeeze ? node().name + "/split" : node().name));
  if (!squeeze) {
    outs[static_cast<size_t>(cur)] = parts;
    return Status::ok();
  }
  const ValueId axes = ints_const("axes", {axis});
  std::vector<ValueId> res;
  for (int64_t i = 0; i < n; ++i) {
    const std::string on = out_name(static_cast<size_t>(i), static_cast<size_t>(n) + 1);
    ANVIL_ASSIGN_OR_RETURN(auto o, add("Squeeze", {parts[static_cast<size_t>(i)], axes}, {}, {on},
                                       node().name + (i == 0 ? "" : "/squeeze" + std::to_string(i))));
    res.push_back(o[0]);
  }
  outs[static_cast<size_t>(cur)] = res;
  return Status::ok();
}

Status Importer::softmax_like(const std::string& op, int64_t axis, bool legacy_2d, std::optional<double> temperature) {
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  if (temperature && *temperature != 1.0) {
    ANVIL_ASSIGN_OR_RETURN(x, emit("Div", {x, scalar_like("temperature", *temperature, x)}, {}, "scaled"));
  }
  Attrs at;
  at.set("axis", axis);
  if (legacy_2d) at.set("legacy_2d", int64_t{1});
  return finish(op, {x}, at);
}

Status Importer::l2_normalization() {
  const MxAttrs a(node());
  std::string mode = "instance";
  double eps = 1e-10;
  ANVIL_TRY(a.get_str("mode", mode));
  ANVIL_TRY(a.get_float("eps", eps));
  ANVIL_TRY(need_inputs(1, 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  const int64_t r = rank_of(x);
  std::vector<int64_t> axes;
  if (mode == "channel") {
    axes = {1};
  } else if (mode == "instance" || mode == "spatial") {
    if (r < 0) return unsupported("mode '" + mode + "' needs the input rank; bind the input shapes (--shape)");
    for (int64_t d = mode == "instance" ? 1 : 2; d < r; ++d) axes.push_back(d);
  } else {
    return unsupported("mode '" + mode + "' is not supported (instance, channel, spatial)");
  }
  // y = x / sqrt(sum(x^2) + eps), as MXNet computes it.
  ANVIL_ASSIGN_OR_RETURN(ValueId sq, emit("Mul", {x, x}, {}, "square"));
  Attrs ra;
  ra.set("keepdims", int64_t{1});
  ANVIL_ASSIGN_OR_RETURN(ValueId s, emit("ReduceSum", {sq, ints_const("axes", axes)}, ra, "sum"));
  ANVIL_ASSIGN_OR_RETURN(ValueId se, emit("Add", {s, scalar_like("eps", eps, x)}, {}, "sum_eps"));
  ANVIL_ASSIGN_OR_RETURN(ValueId nrm, emit("Sqrt", {se}, {}, "norm"));
  return finish("Div", {x, nrm});
}

Status Importer::tile() {
  const MxAttrs a(node());
  std::vector<int64_t> reps;
  ANVIL_TRY(a.require("reps", reps));
  ANVIL_TRY(need_inputs(1, 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  const int64_t r = rank_of(x) >= 0 ? rank_of(x) : static_cast<int64_t>(reps.size());
  // MXNet aligns reps and the input shape on the right, padding with 1s.
  while (static_cast<int64_t>(reps.size()) < r) reps.insert(reps.begin(), 1);
  if (static_cast<int64_t>(reps.size()) > r) {
    std::vector<int64_t> lead;
    for (int64_t d = 0; d < static_cast<int64_t>(reps.size()) - r; ++d) lead.push_back(d);
    ANVIL_ASSIGN_OR_RETURN(x, emit("Unsqueeze", {x, ints_const("lead_axes", lead)}, {}, "expand"));
  }
  return finish("Tile", {x, ints_const("reps", reps)});
}

Status Importer::slice() {
  const MxAttrs a(node());
  std::vector<std::optional<int64_t>> begin, end, step;
  ANVIL_TRY(a.get_opt_tuple("begin", begin));
  ANVIL_TRY(a.get_opt_tuple("end", end));
  ANVIL_TRY(a.get_opt_tuple("step", step));
  if (begin.size() != end.size() || (!step.empty() && step.size() != begin.size()))
    return invalid_model("begin, end and step must have the same length");
  ANVIL_TRY(need_inputs(1, 1));
  ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  std::vector<int64_t> b, e, s, axes;
  for (size_t i = 0; i < begin.size(); ++i) {
    const int64_t st = i < step.size() && step[i] ? *step[i] : 1;
    if (st == 0) return invalid_model("step 0 in slice");
    b.push_back(begin[i] ? *begin[i] : (st > 0 ? 0 : kMax));
    e.push_back(end[i] ? *end[i] : (st > 0 ? kMax : kMin));
    s.push_back(st);
    axes.push_back(static_cast<int64_t>(i));
  }
  return finish("Slice", {x, ints_const("starts", b), ints_const("ends", e), ints_const("axes", axes),
                          ints_const("steps", s)});
}

Status Importer::translate() {
  const MxNode& n = node();
  const std::string& op = n.op;
  const MxAttrs a(n);
  static const std::map<std::string, std::string> kBinary = {
      {"elemwise_add", "Add"}, {"_Plus", "Add"}, {"_plus", "Add"}, {"_add", "Add"}, {"broadcast_add", "Add"},
      {"broadcast_plus", "Add"}, {"elemwise_sub", "Sub"}, {"_Minus", "Sub"}, {"_minus", "Sub"}, {"_sub", "Sub"},
      {"broadcast_sub", "Sub"}, {"broadcast_minus", "Sub"}, {"elemwise_mul", "Mul"}, {"_Mul", "Mul"},
      {"_mul", "Mul"}, {"broadcast_mul", "Mul"}, {"elemwise_div", "Div"}, {"_Div", "Div"}, {"_div", "Div"},
      {"broadcast_div", "Div"}};
  // op -> (IR op, operands reversed)
  static const std::map<std::string, std::pair<std::string, bool>> kScalar = {
      {"_plus_scalar", {"Add", false}},  {"_PlusScalar", {"Add", false}},   {"_minus_scalar", {"Sub", false}},
      {"_MinusScalar", {"Sub", false}},  {"_rminus_scalar", {"Sub", true}}, {"_RMinusScalar", {"Sub", true}},
      {"_mul_scalar", {"Mul", false}},   {"_MulScalar", {"Mul", false}},    {"_div_scalar", {"Div", false}},
      {"_DivScalar", {"Div", false}},    {"_rdiv_scalar", {"Div", true}},   {"_RDivScalar", {"Div", true}}};
  static const std::map<std::string, std::string> kUnary = {
      {"relu", "Relu"},   {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"sqrt", "Sqrt"}, {"softsign", "Softsign"},
      {"BlockGrad", "Identity"}, {"stop_gradient", "Identity"}, {"identity", "Identity"}, {"_copy", "Identity"},
      {"_copyto", "Identity"}, {"Dropout", "Identity"}, {"MakeLoss", "Identity"}, {"make_loss", "Identity"},
      {"LinearRegressionOutput", "Identity"}, {"MAERegressionOutput", "Identity"},
      {"LogisticRegressionOutput", "Sigmoid"}, {"Flatten", "Flatten"}, {"flatten", "Flatten"}};

  if (op == "Convolution") return convolution();
  if (op == "BatchNorm" || op == "BatchNorm_v1" || op == "CuDNNBatchNorm") return batch_norm();
  if (op == "Pooling" || op == "Pooling_v1") return pooling();
  if (op == "FullyConnected") return fully_connected();
  if (op == "LeakyReLU") return leaky_relu();
  if (auto it = kBinary.find(op); it != kBinary.end()) return binary(it->second);
  if (auto it = kScalar.find(op); it != kScalar.end()) return scalar_op(it->second.first, it->second.second);
  if (auto it = kUnary.find(op); it != kUnary.end()) {
    // Losses carry a label input, ignored at inference.
    ANVIL_TRY(need_inputs(1, op.find("Output") != std::string::npos ? 2 : 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    Attrs at;
    if (it->second == "Flatten") at.set("axis", int64_t{1});
    return finish(it->second, {x}, at);
  }
  if (op == "Activation") {
    std::string act;
    ANVIL_TRY(a.require("act_type", act));
    static const std::map<std::string, std::string> kAct = {
        {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"softrelu", "Softplus"}, {"softsign", "Softsign"}};
    auto it = kAct.find(act);
    if (it == kAct.end()) return unsupported("act_type '" + act + "' is not supported (relu, sigmoid, tanh, softrelu, softsign)");
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    return finish(it->second, {x});
  }
  if (op == "square") {
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    return finish("Mul", {x, x});
  }
  if (op == "negative" || op == "reciprocal" || op == "rsqrt") {
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    if (op == "negative") return finish("Sub", {scalar_like("zero", 0, x), x});
    if (op == "reciprocal") return finish("Div", {scalar_like("one", 1, x), x});
    ANVIL_ASSIGN_OR_RETURN(ValueId s, emit("Sqrt", {x}, {}, "sqrt"));
    return finish("Div", {scalar_like("one", 1, x), s});
  }
  if (op == "add_n" || op == "ElementWiseSum" || op == "_sum") {
    if (num_inputs() == 0) return invalid_model("takes at least one input");
    std::vector<ValueId> ins;
    for (size_t k = 0; k < num_inputs(); ++k) {
      ANVIL_ASSIGN_OR_RETURN(ValueId v, in(k));
      ins.push_back(v);
    }
    return finish("Sum", ins);
  }
  if (op == "Concat" || op == "concat") {
    int64_t dim = 1;
    ANVIL_TRY(a.get_int("dim", dim));
    if (num_inputs() == 0) return invalid_model("takes at least one input");
    std::vector<ValueId> ins;
    for (size_t k = 0; k < num_inputs(); ++k) {
      ANVIL_ASSIGN_OR_RETURN(ValueId v, in(k));
      ins.push_back(v);
    }
    Attrs at;
    at.set("axis", dim);
    return finish("Concat", ins, at);
  }
  if (op == "SliceChannel" || op == "split") return split();
  if (op == "Reshape" || op == "reshape") {
    std::vector<int64_t> shape, target;
    bool reverse = false, keep_highest = false, has_shape = false;
    ANVIL_TRY(a.get_tuple("shape", shape, &has_shape));
    ANVIL_TRY(a.get_tuple("target_shape", target));
    ANVIL_TRY(a.get_bool("reverse", reverse));
    ANVIL_TRY(a.get_bool("keep_highest", keep_highest));
    if (shape.empty() && !target.empty()) {
      // Deprecated form: 0 in target_shape means "infer".
      if (keep_highest) return unsupported("the deprecated target_shape with keep_highest is not supported");
      shape = target;
      for (int64_t& v : shape)
        if (v == 0) v = -1;
    }
    if (shape.empty()) return invalid_model("parameter 'shape' is required");
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    Attrs at;
    at.set("shape", shape);
    if (reverse) at.set("reverse", int64_t{1});
    return finish("MxReshape", {x}, at);
  }
  if (op == "transpose") {
    std::vector<int64_t> axes;
    ANVIL_TRY(a.get_tuple("axes", axes));
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    Attrs at;
    if (!axes.empty()) at.set("perm", axes);
    return finish("Transpose", {x}, at);
  }
  if (op == "expand_dims") {
    int64_t axis = 0;
    ANVIL_TRY(a.require("axis", axis));
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    return finish("Unsqueeze", {x, ints_const("axes", {axis})});
  }
  if (op == "squeeze") {
    std::vector<int64_t> axis;
    ANVIL_TRY(a.get_tuple("axis", axis));
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    if (axis.empty()) return finish("Squeeze", {x});
    return finish("Squeeze", {x, ints_const("axes", axis)});
  }
  if (op == "slice_axis") {
    int64_t axis = 0, begin = 0;
    std::optional<int64_t> end;
    ANVIL_TRY(a.require("axis", axis));
    ANVIL_TRY(a.require("begin", begin));
    ANVIL_TRY(a.get_opt_int("end", end));
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    return finish("Slice", {x, ints_const("starts", {begin}),
                            ints_const("ends", {end ? *end : std::numeric_limits<int64_t>::max()}),
                            ints_const("axes", {axis})});
  }
  if (op == "slice" || op == "crop") return slice();
  if (op == "clip") {
    double lo = 0, hi = 0;
    ANVIL_TRY(a.require("a_min", lo));
    ANVIL_TRY(a.require("a_max", hi));
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    return finish("Clip", {x, scalar_like("min", lo, x), scalar_like("max", hi, x)});
  }
  if (op == "mean" || op == "sum" || op == "sum_axis") return reduce(op == "mean");
  if (op == "tile") return tile();
  if (op == "softmax" || op == "log_softmax") {
    int64_t axis = -1;
    std::optional<double> temperature;
    bool use_length = false;
    ANVIL_TRY(a.get_int("axis", axis));
    ANVIL_TRY(a.get_opt_float("temperature", temperature));
    ANVIL_TRY(a.get_bool("use_length", use_length));
    if (use_length) return unsupported("use_length=True is not supported");
    ANVIL_TRY(need_inputs(1, 1));
    return softmax_like(op == "softmax" ? "Softmax" : "LogSoftmax", axis, false, temperature);
  }
  if (op == "SoftmaxOutput" || op == "Softmax") {
    bool multi = false, preserve = false;
    ANVIL_TRY(a.get_bool("multi_output", multi));
    ANVIL_TRY(a.get_bool("preserve_shape", preserve));
    ANVIL_TRY(need_inputs(1, 2));
    // Inference: a softmax over the flattened trailing dims, over axis 1
    // (multi_output), or over the last axis (preserve_shape).
    if (preserve) return softmax_like("Softmax", -1, false, std::nullopt);
    return softmax_like("Softmax", 1, !multi, std::nullopt);
  }
  if (op == "SoftmaxActivation") {
    std::string mode = "instance";
    ANVIL_TRY(a.get_str("mode", mode));
    ANVIL_TRY(need_inputs(1, 1));
    if (mode != "instance" && mode != "channel") return unsupported("mode '" + mode + "' is not supported");
    return softmax_like("Softmax", 1, mode == "instance", std::nullopt);
  }
  if (op == "L2Normalization") return l2_normalization();
  if (op == "Cast" || op == "cast") {
    std::string dt;
    ANVIL_TRY(a.require("dtype", dt));
    static const std::map<std::string, std::string> kTypes = {
        {"float32", "f32"}, {"float64", "f64"}, {"int32", "i32"}, {"int64", "i64"},
        {"uint8", "u8"},    {"int8", "i8"},     {"bool", "bool"}};
    auto it = kTypes.find(dt);
    if (it == kTypes.end())
      return unsupported("cast to '" + dt + "' is not supported (anvil computes in float32; float32, float64, int8, "
                         "uint8, int32, int64, bool)");
    ANVIL_TRY(need_inputs(1, 1));
    ANVIL_ASSIGN_OR_RETURN(ValueId x, in(0));
    Attrs at;
    at.set("to", it->second);
    return finish("Cast", {x}, at);
  }
  unsupported_ops[op].push_back(n.name);
  return Status::ok();
}

Status Importer::run() {
  register_all_ops();
  g.source = sname;
  g.name = std::filesystem::path(sname).stem().string();
  g.producer = sym.mxnet_version ? "mxnet " + std::to_string(sym.mxnet_version) : "mxnet";
  g.opset = 17;

  // Parameters by name.
  if (plist.names.empty() && !plist.arrays.empty())
    return invalid_model(pname + ": the file holds " + std::to_string(plist.arrays.size()) +
                         " unnamed arrays; a checkpoint's parameters must be named (arg:NAME / aux:NAME)");
  for (size_t i = 0; i < plist.names.size(); ++i) {
    const std::string name = strip_prefix(plist.names[i], nullptr);
    if (!params.emplace(name, plist.arrays[i]).second)
      return invalid_model(pname + ": parameter '" + name + "' is stored twice");
  }

  // How each variable is used decides whether it is a parameter, a data
  // input, or an ignored training label.
  const size_t nn = sym.nodes.size();
  var_role.assign(nn, Role::kLabel);
  var_used.assign(nn, false);
  for (size_t i = 0; i < nn; ++i) {
    const MxNode& n = sym.nodes[i];
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const size_t src = static_cast<size_t>(n.inputs[k].node);
      if (sym.nodes[src].op != "null") continue;
      const Role r = input_role(n.op, k);
      if (!var_used[src] || r == Role::kData || (r == Role::kParam && var_role[src] == Role::kLabel)) var_role[src] = r;
      var_used[src] = true;
    }
  }
  for (const MxEntry& h : sym.heads)
    if (sym.nodes[static_cast<size_t>(h.node)].op == "null") {
      var_role[static_cast<size_t>(h.node)] = Role::kData;
      var_used[static_cast<size_t>(h.node)] = true;
    }

  std::set<std::string> var_names;
  std::vector<std::string> missing;
  outs.assign(nn, {});
  std::set<std::string> bound;
  for (size_t i = 0; i < nn; ++i) {
    const MxNode& n = sym.nodes[i];
    if (n.op != "null") continue;
    if (!var_names.insert(n.name).second)
      return invalid_model(sname + ": two variables are named '" + n.name + "'");
    if (params.count(n.name)) continue;  // initializer, created when first used
    if (!var_used[i]) continue;
    if (var_role[i] == Role::kParam) {
      missing.push_back(n.name);
      continue;
    }
    if (var_role[i] == Role::kLabel) continue;
    // A data input. Its shape: bound by the caller, else `__shape__`.
    const ValueId v = g.add_value(n.name);
    Value& val = g.value(v);
    val.dtype = DType::kF32;
    auto it = opt.shapes.find(n.name);
    if (it != opt.shapes.end()) {
      val.shape = it->second;
      val.has_type = true;
      bound.insert(n.name);
    } else if (auto sh = n.attrs.find("__shape__"); sh != n.attrs.end()) {
      std::vector<int64_t> dims;
      Status s = MxAttrs(n).get_tuple("__shape__", dims);
      if (!s.is_ok()) return std::move(s).with_context(sname + ": " + where(static_cast<int64_t>(i)));
      for (int64_t& d : dims)
        if (d <= 0) d = -1;  // 0 meant "unknown" before numpy shapes
      val.shape = Shape(dims);
      val.has_type = !dims.empty();
      val.dim_names.assign(dims.size(), "");
    }
    g.inputs.push_back(v);
    outs[i] = {v};
  }
  for (const auto& [name, shape] : opt.shapes) {
    if (bound.count(name)) continue;
    std::vector<std::string> ins;
    for (ValueId v : g.inputs) ins.push_back(g.value(v).name);
    return invalid_argument(sname + ": cannot bind shape for '" + name + "': not an input of the model (inputs: " +
                            join(ins) + ")");
  }

  std::vector<std::string> extra;
  for (const auto& [name, t] : params)
    if (!var_names.count(name)) extra.push_back(name);
  if (!missing.empty() && !opt.allow_missing)
    return invalid_model(pname + ": " + std::to_string(missing.size()) + " parameter" +
                         (missing.size() > 1 ? "s" : "") + " of the symbol " + (missing.size() > 1 ? "are" : "is") +
                         " missing from the params file: " + join(missing) +
                         " (--allow-missing initialises them to zero)");
  if (!extra.empty())
    return invalid_model(pname + ": the params file holds " + std::to_string(extra.size()) + " parameter" +
                         (extra.size() > 1 ? "s" : "") + " that the symbol " + sname + " does not use: " + join(extra));

  // Parameters feeding data slots (e.g. a constant added with broadcast_add)
  // become initializers here; parameter slots create theirs on demand.
  for (size_t i = 0; i < nn; ++i) {
    const MxNode& n = sym.nodes[i];
    if (n.op != "null" || !params.count(n.name) || !var_used[i] || var_role[i] != Role::kData) continue;
    const Tensor& t = params[n.name];
    if (!t.defined()) return invalid_model(pname + ": parameter '" + n.name + "' is stored without a shape (none)");
    outs[i] = {g.add_initializer(n.name, t)};
  }

  for (int64_t id : sym.topo_order) {
    if (sym.nodes[static_cast<size_t>(id)].op == "null") continue;
    cur = id;
    Status s = translate();
    if (!s.is_ok()) return std::move(s).with_context(sname + ": " + where(id));
  }
  if (!unsupported_ops.empty()) {
    std::string msg = "unsupported MXNet op" + std::string(unsupported_ops.size() > 1 ? "s" : "") + ": ";
    bool first = true;
    for (const auto& [op, nodes] : unsupported_ops) {
      msg += (first ? "" : "; ") + op + " (" + std::to_string(nodes.size()) + " node" + (nodes.size() > 1 ? "s" : "") +
             ", first '" + nodes[0] + "')";
      first = false;
    }
    return unsupported(sname + ": " + msg);
  }
  for (const MxEntry& h : sym.heads) {
    const auto& o = outs[static_cast<size_t>(h.node)];
    if (h.index >= static_cast<int64_t>(o.size()) || o[static_cast<size_t>(h.index)] == kNoValue)
      return invalid_model(sname + ": head uses output " + std::to_string(h.index) + " of " + where(h.node) +
                           ", which has " + std::to_string(o.size()) + " usable output(s)");
    g.outputs.push_back(o[static_cast<size_t>(h.index)]);
  }
  Status s = g.topo_sort();
  if (s.is_ok()) s = g.verify();
  if (!s.is_ok()) return std::move(s).with_context(sname);

  if (sym.legacy) g.notes.push_back("symbol upgraded from the MXNet 0.8 JSON form");
  for (const std::string& n : plist.notes) g.notes.push_back(pname + ": " + n);
  if (!missing_warned.empty())
    g.notes.push_back("warning: " + std::to_string(missing_warned.size()) +
                      " parameters missing from " + pname + " were initialised to zero (--allow-missing): " +
                      join(missing_warned, 50));
  for (ValueId v : g.inputs)
    if (!g.value(v).has_type)
      g.notes.push_back("input '" + g.value(v).name + "' has no shape in the symbol; bind it, e.g. --shape " +
                        g.value(v).name + ":1,3,112,112");
  return Status::ok();
}

std::string epoch_params(const std::string& prefix, int epoch) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%04d.params", epoch);
  return prefix + buf;
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// Epochs present beside a prefix, for "not found" messages.
std::vector<std::string> available_epochs(const std::string& prefix) {
  std::vector<std::string> r;
  std::error_code ec;
  const std::filesystem::path p(prefix);
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  const std::string base = p.filename().string() + "-";
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f.rfind(base, 0) == 0 && ends_with(f, ".params")) r.push_back(f.substr(base.size(), f.size() - base.size() - 7));
  }
  std::sort(r.begin(), r.end());
  return r;
}

}  // namespace

bool is_mxnet_path(const std::string& path) {
  if (ends_with(path, ".json") || ends_with(path, ".params")) return true;
  std::error_code ec;
  return !std::filesystem::is_regular_file(path, ec) && std::filesystem::exists(path + "-symbol.json", ec);
}

Result<CheckpointPaths> resolve_checkpoint(const std::string& path, int epoch) {
  CheckpointPaths c;
  std::string prefix;
  if (ends_with(path, "-symbol.json")) {
    prefix = path.substr(0, path.size() - 12);
    c.symbol = path;
  } else if (ends_with(path, ".json")) {
    prefix = path.substr(0, path.size() - 5);
    c.symbol = path;
  } else if (ends_with(path, ".params")) {
    c.params = path;
    const std::string stem = path.substr(0, path.size() - 7);
    const size_t dash = stem.rfind('-');
    if (dash == std::string::npos || dash + 1 == stem.size() ||
        stem.find_first_not_of("0123456789", dash + 1) != std::string::npos)
      return invalid_argument(path + ": a params file must be named PREFIX-NNNN.params so that PREFIX-symbol.json "
                              "can be found");
    prefix = stem.substr(0, dash);
    c.symbol = prefix + "-symbol.json";
  } else {
    prefix = path;
    c.symbol = path + "-symbol.json";
  }
  if (epoch < 0) return invalid_argument("epoch " + std::to_string(epoch) + " is negative");
  if (c.params.empty()) c.params = epoch_params(prefix, epoch);
  std::error_code ec;
  if (!std::filesystem::exists(c.symbol, ec)) return not_found(c.symbol + ": no such file (MXNet symbol of " + path + ")");
  if (!std::filesystem::exists(c.params, ec)) {
    const auto eps = available_epochs(prefix);
    return not_found(c.params + ": no such file (epoch " + std::to_string(epoch) + " of " + prefix + "; " +
                     (eps.empty() ? std::string("no PREFIX-NNNN.params files found")
                                  : "available epochs: " + join(eps) + ", pick one with --epoch") +
                     ")");
  }
  return c;
}

Result<Graph> import_mxnet(const MxSymbol& sym, const NDArrayList& params, const std::string& symbol_name,
                           const std::string& params_name, const ImportOptions& options) {
  Importer imp{sym, params, symbol_name, params_name, options, {}};
  Status s = imp.run();
  if (!s.is_ok()) return s;
  return std::move(imp.g);
}

Result<Graph> load_mxnet(const std::string& path, const LoadOptions& options) {
  ANVIL_ASSIGN_OR_RETURN(CheckpointPaths c, resolve_checkpoint(path, options.epoch));
  ANVIL_ASSIGN_OR_RETURN(MxSymbol sym, load_mx_symbol(c.symbol));
  ANVIL_ASSIGN_OR_RETURN(NDArrayList params, load_ndarray_list(c.params));
  ImportOptions io;
  io.shapes = options.shapes;
  io.allow_missing = options.allow_missing;
  return import_mxnet(sym, params, c.symbol, c.params, io);
}

}  // namespace anvil::mxnet

#include "ir/graph.h"

#include <algorithm>
#include <queue>
#include <set>
#include <sstream>

#include "ir/op_registry.h"

namespace anvil {

ValueId Graph::add_value(const std::string& name) {
  const ValueId id = static_cast<ValueId>(values_.size());
  Value v;
  v.name = name;
  values_.push_back(std::move(v));
  if (!name.empty()) by_name_[name] = id;
  return id;
}

ValueId Graph::add_value(const std::string& name, DType dtype, Shape shape) {
  const ValueId id = add_value(name);
  Value& v = values_[static_cast<size_t>(id)];
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.has_type = true;
  return id;
}

ValueId Graph::add_initializer(const std::string& name, Tensor t) {
  const ValueId id = add_value(name, t.dtype(), t.shape());
  Value& v = values_[static_cast<size_t>(id)];
  v.constant = std::move(t);
  v.is_initializer = true;
  return id;
}

ValueId Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNoValue : it->second;
}

std::string Graph::unique_value_name(const std::string& base) const {
  if (!by_name_.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (!by_name_.count(n)) return n;
  }
}

int32_t Graph::add_node(Node n) {
  const int32_t idx = static_cast<int32_t>(nodes_.size());
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] == kNoValue) continue;
    Value& v = value(n.outputs[i]);
    v.producer = idx;
    v.producer_output = static_cast<int32_t>(i);
  }
  nodes_.push_back(std::move(n));
  return idx;
}

void Graph::set_nodes(std::vector<Node> nodes) {
  nodes_ = std::move(nodes);
  relink();
}

void Graph::relink() {
  for (Value& v : values_) v.producer = -1;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (size_t o = 0; o < nodes_[i].outputs.size(); ++o) {
      if (nodes_[i].outputs[o] == kNoValue) continue;
      Value& v = value(nodes_[i].outputs[o]);
      v.producer = static_cast<int32_t>(i);
      v.producer_output = static_cast<int32_t>(o);
    }
  }
}

Status Graph::topo_sort() {
  relink();
  const size_t n = nodes_.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int32_t>> users(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<int32_t> deps;
    for (ValueId in : nodes_[i].inputs) {
      if (in == kNoValue) continue;
      const int32_t p = value(in).producer;
      if (p >= 0 && p != static_cast<int32_t>(i)) deps.insert(p);
      if (p == static_cast<int32_t>(i))
        return invalid_model(node_desc(nodes_[i]) + " consumes its own output '" + value(in).name + "'");
    }
    pending[i] = static_cast<int>(deps.size());
    for (int32_t d : deps) users[static_cast<size_t>(d)].push_back(static_cast<int32_t>(i));
  }
  // A min-heap on the original index keeps the file's order where it is valid,
  // so printed graphs and profiles read like the source model.
  std::priority_queue<int32_t, std::vector<int32_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(static_cast<int32_t>(i));
  std::vector<int32_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const int32_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int32_t u : users[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(u)] == 0) ready.push(u);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i] > 0)
        return invalid_model("the graph has a cycle through " + node_desc(nodes_[i]));
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (int32_t i : order) sorted.push_back(std::move(nodes_[static_cast<size_t>(i)]));
  set_nodes(std::move(sorted));
  return Status::ok();
}

Status Graph::verify() const {
  std::vector<int> defined(values_.size(), 0);
  for (ValueId in : inputs) {
    if (in < 0 || static_cast<size_t>(in) >= values_.size())
      return internal_error("graph input id out of range");
    defined[static_cast<size_t>(in)] = 1;
  }
  for (size_t i = 0; i < values_.size(); ++i)
    if (values_[i].constant) defined[i] = 1;
  const OpRegistry& reg = OpRegistry::instance();
  for (const Node& n : nodes_) {
    const OpDef* def = reg.find(n.op);
    if (!def) return unsupported(node_desc(n) + ": op '" + n.op + "' is not supported by anvil");
    const int ni = static_cast<int>(n.inputs.size());
    const int no = static_cast<int>(n.outputs.size());
    if (ni < def->min_inputs || (def->max_inputs >= 0 && ni > def->max_inputs))
      return invalid_model(node_desc(n) + " has " + std::to_string(ni) + " inputs; " + n.op + " takes " +
                           std::to_string(def->min_inputs) + " to " +
                           (def->max_inputs < 0 ? std::string("any number") : std::to_string(def->max_inputs)));
    if (no < def->min_outputs || (def->max_outputs >= 0 && no > def->max_outputs))
      return invalid_model(node_desc(n) + " has " + std::to_string(no) + " outputs; " + n.op + " produces " +
                           std::to_string(def->min_outputs) + " to " +
                           (def->max_outputs < 0 ? std::string("any number") : std::to_string(def->max_outputs)));
    for (int k = 0; k < ni; ++k) {
      const ValueId in = n.inputs[static_cast<size_t>(k)];
      if (in == kNoValue) {
        if (k < def->min_inputs) return invalid_model(node_desc(n) + ": required input " + std::to_string(k) + " is missing");
        continue;
      }
      if (!defined[static_cast<size_t>(in)])
        return invalid_model(node_desc(n) + " uses '" + value(in).name +
                             "' before it is defined (not a graph input, initializer or earlier node output)");
    }
    for (ValueId out : n.outputs) {
      if (out == kNoValue) continue;
      if (defined[static_cast<size_t>(out)])
        return invalid_model(node_desc(n) + ": value '" + value(out).name + "' is defined more than once");
      defined[static_cast<size_t>(out)] = 1;
    }
  }
  for (ValueId out : outputs)
    if (!defined[static_cast<size_t>(out)])
      return invalid_model("graph output '" + value(out).name + "' is never produced");
  return Status::ok();
}

std::string Graph::node_desc(const Node& n) const {
  return "node '" + (n.name.empty() ? std::string("<unnamed>") : n.name) + "' (" + n.op + ")";
}

std::string Graph::value_desc(ValueId id) const {
  if (id == kNoValue) return "<omitted>";
  const Value& v = value(id);
  if (!v.has_type) return v.name + ": <unknown>";
  return v.name + ": " + dtype_name(v.dtype) + "[" + v.shape.str() + "]";
}

std::string Graph::node_desc_with_shapes(const Node& n) const {
  std::string s = node_desc(n) + " with inputs ";
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (i) s += ", ";
    s += value_desc(n.inputs[i]);
  }
  if (n.inputs.empty()) s += "<none>";
  return s;
}

int64_t Graph::num_parameters() const {
  int64_t n = 0;
  for (const Value& v : values_)
    if (v.is_initializer && v.constant) n += v.constant->numel();
  return n;
}

Status bind_input_shapes(Graph& g, const std::unordered_map<std::string, Shape>& shapes) {
  for (const auto& [name, shape] : shapes) {
    ValueId id = kNoValue;
    for (ValueId in : g.inputs)
      if (g.value(in).name == name) id = in;
    if (id == kNoValue) {
      std::string names;
      for (ValueId in : g.inputs) names += (names.empty() ? "" : ", ") + g.value(in).name;
      return invalid_argument("cannot bind shape for '" + name + "': not an input of the model (inputs: " +
                              names + ")");
    }
    Value& v = g.value(id);
    if (v.has_type && v.shape.rank() != shape.rank() && v.shape.rank() != 0)
      return invalid_argument("input '" + name + "' has rank " + std::to_string(v.shape.rank()) + " (" +
                              v.shape.str() + ") but the bound shape " + shape.str() + " has rank " +
                              std::to_string(shape.rank()));
    for (size_t d = 0; d < shape.rank(); ++d) {
      if (shape[d] < 0)
        return invalid_argument("bound shape " + shape.str() + " for input '" + name + "' has a negative dimension");
      if (v.has_type && d < v.shape.rank() && v.shape[d] >= 0 && v.shape[d] != shape[d] && d != 0)
        return invalid_argument("input '" + name + "' is declared " + v.shape.str() + "; dimension " +
                                std::to_string(d) + " cannot be bound to " + std::to_string(shape[d]));
    }
    v.shape = shape;
    v.has_type = true;
    v.dim_names.clear();
  }
  return Status::ok();
}

namespace {
// Constant-evaluating bigger tensors at compile time would just move
// inference work into compilation; shape arithmetic is tiny.
constexpr int64_t kMaxFoldElements = 1 << 16;
}  // namespace

Status infer_shapes(Graph& g) {
  register_all_ops();
  for (ValueId in : g.inputs) {
    const Value& v = g.value(in);
    if (!v.has_type) return invalid_model("graph input '" + v.name + "' has no declared type");
    for (size_t d = 0; d < v.shape.rank(); ++d) {
      if (v.shape[d] < 0) {
        const std::string sym = d < v.dim_names.size() && !v.dim_names[d].empty() ? " ('" + v.dim_names[d] + "')" : "";
        std::string example = v.shape.str();
        return invalid_argument("input '" + v.name + "' has a dynamic dimension " + std::to_string(d) + sym +
                                " in shape " + v.shape.str() + "; bind it, e.g. --shape " + v.name + ":" +
                                [&] {
                                  std::string s;
                                  for (size_t k = 0; k < v.shape.rank(); ++k) {
                                    if (k) s += ",";
                                    s += std::to_string(v.shape[k] < 0 ? 1 : v.shape[k]);
                                  }
                                  return s;
                                }());
      }
    }
  }
  const OpRegistry& reg = OpRegistry::instance();
  for (Node& n : g.nodes()) {
    const OpDef* def = reg.find(n.op);
    if (!def) return unsupported(g.node_desc(n) + ": op '" + n.op + "' is not supported by anvil");
    for (ValueId in : n.inputs)
      if (in != kNoValue && !g.value(in).has_type)
        return internal_error(g.node_desc(n) + ": input '" + g.value(in).name + "' has no inferred type");
    InferContext ctx = make_infer_context(g, n);
    Status s = def->infer(ctx);
    if (!s.is_ok()) return std::move(s).with_context(g.node_desc_with_shapes(n));
    bool all_const = def->foldable;
    int64_t elems = 0;
    for (const InputInfo& ii : ctx.inputs) {
      if (!ii.present) continue;
      if (!ii.constant) all_const = false;
      else elems += ii.constant->numel();
    }
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o] == kNoValue) continue;
      Value& v = g.value(n.outputs[o]);
      v.dtype = ctx.outputs[o].dtype;
      v.shape = ctx.outputs[o].shape;
      v.has_type = true;
      v.constant.reset();
      for (int64_t d : v.shape.dims())
        if (d < 0)
          return internal_error(g.node_desc_with_shapes(n) + ": inferred output shape " + v.shape.str() +
                                " is not static");
      elems += v.shape.numel();
    }
    if (def->reads_only_shapes) all_const = true;
    if (all_const && elems <= kMaxFoldElements) {
      std::vector<Tensor> outs;
      outs.reserve(n.outputs.size());
      for (const OutputInfo& oi : ctx.outputs) outs.emplace_back(oi.dtype, oi.shape);
      std::vector<Tensor> shape_only;
      shape_only.reserve(ctx.inputs.size());
      KernelContext k{n, {}, {}};
      for (const InputInfo& ii : ctx.inputs) {
        if (ii.present && !ii.constant && def->reads_only_shapes) {
          shape_only.push_back(Tensor::wrap(ii.dtype, ii.shape, nullptr));
          k.inputs.push_back(&shape_only.back());
          continue;
        }
        k.inputs.push_back(ii.present ? ii.constant : nullptr);
      }
      for (Tensor& t : outs) k.outputs.push_back(&t);
      Status rs = def->reference(k);
      if (!rs.is_ok()) return std::move(rs).with_context(g.node_desc_with_shapes(n));
      for (size_t o = 0; o < n.outputs.size(); ++o)
        if (n.outputs[o] != kNoValue) g.value(n.outputs[o]).constant = std::move(outs[o]);
    }
  }
  return Status::ok();
}

}  // namespace anvil

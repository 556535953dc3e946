#include "passes/pass_util.h"

namespace anvil::passes {

std::vector<std::vector<int32_t>> compute_users(const Graph& g) {
  std::vector<std::vector<int32_t>> users(g.num_values());
  for (size_t i = 0; i < g.nodes().size(); ++i)
    for (ValueId in : g.nodes()[i].inputs)
      if (in != kNoValue) users[static_cast<size_t>(in)].push_back(static_cast<int32_t>(i));
  return users;
}

bool is_graph_output(const Graph& g, ValueId v) {
  for (ValueId o : g.outputs)
    if (o == v) return true;
  return false;
}

bool single_use(const Graph& g, const std::vector<std::vector<int32_t>>& users, ValueId v) {
  return users[static_cast<size_t>(v)].size() == 1 && !is_graph_output(g, v);
}

void replace_uses(Graph& g, ValueId from, ValueId to) {
  for (Node& n : g.nodes())
    for (ValueId& in : n.inputs)
      if (in == from) in = to;
}

ValueId add_constant(Graph& g, const std::string& base, Tensor t) {
  return g.add_initializer(g.unique_value_name(base), std::move(t));
}

void remove_nodes(Graph& g, const std::vector<bool>& dead) {
  std::vector<Node> kept;
  kept.reserve(g.nodes().size());
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (!dead[i]) kept.push_back(std::move(g.nodes()[i]));
  g.set_nodes(std::move(kept));
}

const Tensor* const_input(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue) return nullptr;
  const Value& v = g.value(n.inputs[i]);
  return v.constant ? &*v.constant : nullptr;
}

}  // namespace anvil::passes

namespace anvil::passes {

bool make_fused(Node& n) {
  if (n.op == "Conv") n.op = "FusedConv";
  else if (n.op == "Gemm") n.op = "FusedGemm";
  else if (n.op != "FusedConv" && n.op != "FusedGemm") return false;
  if (n.inputs.size() < 3) n.inputs.resize(3, kNoValue);
  return true;
}

void add_channel_input(Graph& g, Node& n, const std::string& suffix, const std::vector<double>& v) {
  Tensor t(DType::kF32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = static_cast<float>(v[i]);
  n.inputs.push_back(add_constant(g, n.name + "." + suffix, std::move(t)));
}

}  // namespace anvil::passes

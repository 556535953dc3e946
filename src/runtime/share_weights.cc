#include "runtime/share_weights.h"

#include <cstring>
#include <string>
#include <unordered_map>
#include <variant>

namespace anvil {

namespace {

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.raw() == b.raw() || a.nbytes() == 0) return true;
  return a.raw() && b.raw() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

bool same_attrs(const Attrs& a, const Attrs& b) {
  if (a.all().size() != b.all().size()) return false;
  for (const auto& [name, va] : a.all()) {
    const AttrValue* vb = b.find(name);
    if (!vb || vb->index() != va.index()) return false;
    if (const Tensor* ta = std::get_if<Tensor>(&va)) {
      if (!same_tensor(*ta, std::get<Tensor>(*vb))) return false;
    } else if (!std::visit(
                   [&](const auto& x) {
                     using T = std::decay_t<decltype(x)>;
                     if constexpr (std::is_same_v<T, Tensor>) return false;
                     else return x == std::get<T>(*vb);
                   },
                   va)) {
      return false;
    }
  }
  return true;
}

// Same rank and dims, dim 0 aside.
bool same_but_batch(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (size_t d = 1; d < a.rank(); ++d)
    if (a[d] != b[d]) return false;
  return true;
}

bool same_value(const Graph& g, ValueId a, const Graph& donor, ValueId b) {
  if ((a == kNoValue) != (b == kNoValue)) return false;
  if (a == kNoValue) return true;
  const Value& va = g.value(a);
  const Value& vb = donor.value(b);
  if (va.dtype != vb.dtype || va.constant.has_value() != vb.constant.has_value()) return false;
  if (va.constant) return va.constant->raw() == vb.constant->raw() && va.constant->shape() == vb.constant->shape();
  return same_but_batch(va.shape, vb.shape);
}

}  // namespace

std::vector<KernelChoice> share_weights(Graph& g, const Graph& donor, const std::vector<KernelChoice>& donor_choices,
                                        WeightSharing* stats) {
  WeightSharing st;
  std::unordered_map<std::string, ValueId> donor_values;
  for (size_t i = 0; i < donor.num_values(); ++i) {
    const Value& v = donor.value(static_cast<ValueId>(i));
    if (v.constant) donor_values.emplace(v.name, static_cast<ValueId>(i));
  }
  for (size_t i = 0; i < g.num_values(); ++i) {
    Value& v = g.value(static_cast<ValueId>(i));
    if (!v.constant) continue;
    st.total_constant_bytes += static_cast<int64_t>(v.constant->nbytes());
    auto it = donor_values.find(v.name);
    if (it == donor_values.end()) continue;
    const Tensor& d = *donor.value(it->second).constant;
    if (!same_tensor(*v.constant, d)) continue;
    if (v.constant->raw() != d.raw()) v.constant = d;  // g's copy goes when nothing else holds it
    st.constant_bytes += static_cast<int64_t>(d.nbytes());
  }

  std::vector<KernelChoice> choices(g.nodes().size());
  std::unordered_map<std::string, size_t> donor_nodes;
  for (size_t j = 0; j < donor.nodes().size(); ++j) donor_nodes.emplace(donor.nodes()[j].name, j);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    bool all_const = true;
    for (ValueId o : n.outputs)
      if (o != kNoValue && !g.value(o).constant) all_const = false;
    if (all_const) continue;
    ++st.nodes;
    auto it = donor_nodes.find(n.name);
    if (it == donor_nodes.end() || it->second >= donor_choices.size()) continue;
    const Node& m = donor.nodes()[it->second];
    const KernelChoice& c = donor_choices[it->second];
    if (c.factory.empty() || m.op != n.op || m.inputs.size() != n.inputs.size() ||
        m.outputs.size() != n.outputs.size() || !same_attrs(m.attrs, n.attrs))
      continue;
    bool same = true;
    for (size_t k = 0; k < n.inputs.size() && same; ++k) same = same_value(g, n.inputs[k], donor, m.inputs[k]);
    for (size_t k = 0; k < n.outputs.size() && same; ++k) same = same_value(g, n.outputs[k], donor, m.outputs[k]);
    if (!same) continue;
    choices[i] = c;
    ++st.nodes_offered;
  }
  if (stats) *stats = st;
  return choices;
}

}  // namespace anvil

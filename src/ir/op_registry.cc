#include "ir/op_registry.h"

#include <algorithm>

namespace anvil {

OpRegistry& OpRegistry::instance() {
  static OpRegistry r;
  return r;
}

void OpRegistry::add(OpDef def) {
  for (OpDef& d : defs_)
    if (d.name == def.name) {
      d = std::move(def);
      return;
    }
  defs_.push_back(std::move(def));
}

const OpDef* OpRegistry::find(const std::string& name) const {
  for (const OpDef& d : defs_)
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> n;
  for (const OpDef& d : defs_) n.push_back(d.name);
  std::sort(n.begin(), n.end());
  return n;
}

InferContext make_infer_context(const Graph& g, const Node& n) {
  InferContext c{n, {}, {}};
  c.inputs.resize(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ValueId id = n.inputs[i];
    if (id == kNoValue) continue;
    const Value& v = g.value(id);
    InputInfo& ii = c.inputs[i];
    ii.present = true;
    ii.dtype = v.dtype;
    ii.shape = v.shape;
    ii.constant = v.constant ? &*v.constant : nullptr;
  }
  c.outputs.resize(n.outputs.size());
  return c;
}

}  // namespace anvil

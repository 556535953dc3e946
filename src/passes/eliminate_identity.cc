// Removes nodes that pass their input through unchanged: Identity, Dropout
// (inference), and Reshape/Flatten/Cast whose output equals the input in
// shape and dtype. Outputs that are graph outputs keep their producer, so
// the model's output names never change.
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

Status eliminate_identity(Graph& g, PassStats& st) {
  std::vector<bool> dead(g.nodes().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    if (n.inputs.empty() || n.inputs[0] == kNoValue || n.outputs.empty()) continue;
    const ValueId in = n.inputs[0], out = n.outputs[0];
    bool noop = false;
    if (n.op == "Identity") {
      noop = true;
    } else if (n.op == "Dropout") {
      noop = n.outputs.size() == 1;  // a used mask output keeps the node
    } else if (n.op == "Reshape" || n.op == "Flatten" || n.op == "Cast" || n.op == "MxReshape") {
      const Value& a = g.value(in);
      const Value& b = g.value(out);
      noop = a.has_type && b.has_type && a.dtype == b.dtype && a.shape == b.shape;
    }
    if (!noop || is_graph_output(g, out)) continue;
    replace_uses(g, out, in);
    dead[i] = true;
    ++st.nodes_removed;
  }
  if (st.nodes_removed) {
    remove_nodes(g, dead);
    st.details.push_back("removed " + std::to_string(st.nodes_removed) + " pass-through nodes");
  }
  return Status::ok();
}

}  // namespace anvil::passes

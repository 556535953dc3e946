// Removes nodes none of whose outputs reach a graph output.
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

Status dead_code(Graph& g, PassStats& st) {
  std::vector<bool> live_value(g.num_values(), false);
  for (ValueId o : g.outputs) live_value[static_cast<size_t>(o)] = true;
  std::vector<bool> dead(g.nodes().size(), true);
  for (size_t i = g.nodes().size(); i-- > 0;) {
    const Node& n = g.nodes()[i];
    bool live = false;
    for (ValueId o : n.outputs) live |= o != kNoValue && live_value[static_cast<size_t>(o)];
    if (!live) continue;
    dead[i] = false;
    for (ValueId in : n.inputs)
      if (in != kNoValue) live_value[static_cast<size_t>(in)] = true;
  }
  for (bool d : dead) st.nodes_removed += d;
  if (st.nodes_removed) {
    remove_nodes(g, dead);
    st.details.push_back("removed " + std::to_string(st.nodes_removed) + " dead nodes");
  }
  return Status::ok();
}

}  // namespace anvil::passes

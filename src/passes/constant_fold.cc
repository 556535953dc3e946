// Replaces nodes whose outputs shape inference already computed from
// constants (e.g. torch exports' Shape->Gather->Unsqueeze->Concat->Reshape
// chains once input shapes are bound) by initializers.
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

Status constant_fold(Graph& g, PassStats& st) {
  ANVIL_TRY(infer_shapes(g));
  std::vector<bool> dead(g.nodes().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    bool all_const = !n.outputs.empty();
    for (ValueId o : n.outputs) all_const &= o == kNoValue || g.value(o).constant.has_value();
    if (!all_const) continue;
    for (ValueId o : n.outputs) {
      if (o == kNoValue) continue;
      g.value(o).is_initializer = true;
      ++st.constants_rewritten;
    }
    dead[i] = true;
    ++st.nodes_removed;
  }
  if (st.nodes_removed) {
    remove_nodes(g, dead);
    st.details.push_back("folded " + std::to_string(st.nodes_removed) + " constant nodes");
  }
  return Status::ok();
}

}  // namespace anvil::passes

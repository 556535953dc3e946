// Conv + residual Add: Add(conv(x), r) becomes FusedConv with a "sum"
// post-op reading r, as MXNet's conv+sum and ORT's NchwcConvSum do; the add
// then costs no extra pass over memory. When both operands come from
// convs, the later one (in execution order) absorbs the add, so the other
// operand is already computed when it runs.
#include "ops/post_ops.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

Status fuse_residual(Graph& g, PassStats& st) {
  auto users = compute_users(g);
  std::vector<bool> dead(g.nodes().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    Node& add = g.nodes()[i];
    if (add.op != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    const Value& out = g.value(add.outputs[0]);
    if (out.dtype != DType::kF32 || out.shape.rank() < 3) continue;
    int best = -1;
    for (int k = 0; k < 2; ++k) {
      const ValueId v = add.inputs[static_cast<size_t>(k)];
      const ValueId other = add.inputs[static_cast<size_t>(1 - k)];
      if (v == other) continue;
      const int32_t p = g.value(v).producer;
      if (p < 0 || dead[static_cast<size_t>(p)] || !single_use(g, users, v)) continue;
      const std::string& op = g.nodes()[static_cast<size_t>(p)].op;
      if (op != "Conv" && op != "FusedConv") continue;
      if (g.value(v).shape != out.shape || g.value(other).shape != out.shape) continue;
      if (best < 0 || p > g.value(add.inputs[static_cast<size_t>(best)]).producer) best = k;
    }
    if (best < 0) continue;
    const ValueId v = add.inputs[static_cast<size_t>(best)];
    const ValueId residual = add.inputs[static_cast<size_t>(1 - best)];
    const int32_t p = g.value(v).producer;
    Node& conv = g.nodes()[static_cast<size_t>(p)];
    make_fused(conv);
    ops::append_post_op(conv.attrs, ops::PostOpKind::kSum);
    conv.inputs.push_back(residual);
    conv.outputs[0] = add.outputs[0];
    g.value(add.outputs[0]).producer = p;
    conv.origin.insert(conv.origin.end(), add.origin.begin(), add.origin.end());
    dead[i] = true;
    ++st.nodes_fused;
  }
  if (st.nodes_fused) {
    remove_nodes(g, dead);
    st.details.push_back("fused " + std::to_string(st.nodes_fused) + " residual Add into Conv epilogues");
  }
  return Status::ok();
}

}  // namespace anvil::passes

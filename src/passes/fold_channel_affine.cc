// Mul/Add/Sub/Div by a per-channel constant ([C,1,1], [1,C,1,1], or one
// value) after a Conv or Gemm is the same per-channel affine map as a
// BatchNormalization, and goes the same way:
//  - into the producer's weights and bias when the producer is a plain
//    Conv/Gemm feeding only this node (Mul scales weights and bias, Add
//    shifts the bias; exact algebra in double, rounded once to f32);
//  - else, when the producer is already a fused node (its epilogue has
//    non-linear post-ops, so its weights cannot absorb it), into its
//    epilogue as a scale_shift post-op (shift 0 or scale 1);
//  - else it stays. fuse_scale_shift, last in the pipeline, retries those
//    against the fused nodes the later passes create.
// Runs after fold_batchnorm so Conv -> BN -> Mul chains fold completely.
#include "ops/post_ops.h"
#include "passes/bn_util.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

Status fold_channel_affine(Graph& g, PassStats& st) {
  auto users = compute_users(g);
  std::vector<bool> dead(g.nodes().size(), false);
  int into_weights = 0, into_epilogue = 0;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    Node& n = g.nodes()[i];
    Affine a;
    ValueId x = kNoValue;
    if (!arith_channel_affine(g, n, a, x)) continue;
    const int32_t p = g.value(x).producer;
    if (p < 0 || dead[static_cast<size_t>(p)] || !single_use(g, users, x)) continue;
    Node& prod = g.nodes()[static_cast<size_t>(p)];
    const size_t rank = g.value(x).shape.rank();
    bool ok = false;
    if (prod.op == "Conv" && rank >= 3) {
      ok = fold_affine_into_conv(g, prod, a, st);
      into_weights += ok;
    } else if (prod.op == "Gemm" && rank == 2) {
      ok = fold_affine_into_gemm(g, prod, a, st);
      into_weights += ok;
    } else if (prod.op == "FusedConv" || prod.op == "FusedGemm") {
      ops::append_post_op(prod.attrs, ops::PostOpKind::kScaleShift);
      add_channel_input(g, prod, "post_scale", a.s);
      add_channel_input(g, prod, "post_shift", a.t);
      st.constants_rewritten += 2;
      ok = true;
      ++into_epilogue;
    }
    if (!ok) continue;
    prod.outputs[0] = n.outputs[0];
    g.value(n.outputs[0]).producer = p;  // a following Mul/Add must see the producer
    prod.origin.insert(prod.origin.end(), n.origin.begin(), n.origin.end());
    dead[i] = true;
    ++st.nodes_fused;
  }
  if (st.nodes_fused) {
    remove_nodes(g, dead);
    st.details.push_back("folded " + std::to_string(into_weights) + " per-channel Mul/Add into Conv/Gemm weights, " +
                         std::to_string(into_epilogue) + " into fused epilogues");
  }
  return Status::ok();
}

}  // namespace anvil::passes

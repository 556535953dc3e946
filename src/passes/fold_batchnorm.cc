// Folds BatchNormalization into the Conv or Gemm that produces its input:
//   BN(W*x + b) = (s*W)*x + (s*(b - mean) + beta),   s = gamma/sqrt(var+eps)
// per output channel, computed in double and rounded once to f32. The
// producer's output must feed only the BN. Weights are written to new
// initializers (a shared weight would otherwise change for its other users).
#include "passes/bn_util.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

Status fold_batchnorm(Graph& g, PassStats& st) {
  auto users = compute_users(g);
  std::vector<bool> dead(g.nodes().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    Node& bn = g.nodes()[i];
    Affine a;
    if (!bn_affine(g, bn, a)) continue;
    const ValueId x = bn.inputs[0];
    const int32_t p = g.value(x).producer;
    if (p < 0 || !single_use(g, users, x)) continue;
    Node& prod = g.nodes()[static_cast<size_t>(p)];
    bool ok = false;
    if (prod.op == "Conv" && g.value(x).shape.rank() >= 3) ok = fold_affine_into_conv(g, prod, a, st);
    else if (prod.op == "Gemm" && g.value(x).shape.rank() == 2) ok = fold_affine_into_gemm(g, prod, a, st);
    if (!ok) continue;
    prod.outputs[0] = bn.outputs[0];
    g.value(bn.outputs[0]).producer = p;  // a following BN must see the conv
    prod.origin.insert(prod.origin.end(), bn.origin.begin(), bn.origin.end());
    dead[i] = true;
    ++st.nodes_fused;
  }
  if (st.nodes_fused) {
    remove_nodes(g, dead);
    st.details.push_back("folded " + std::to_string(st.nodes_fused) + " BatchNormalization into Conv/Gemm weights");
  }
  return Status::ok();
}

}  // namespace anvil::passes

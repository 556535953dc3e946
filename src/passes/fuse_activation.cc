// Conv/Gemm (+ epilogue) followed by an activation: the activation becomes
// the next post-op, applied in the producer's epilogue. Covers Relu, Clip
// with constant bounds (ReLU6), LeakyRelu, PRelu with per-channel slopes,
// Sigmoid, HardSigmoid, HardSwish, Tanh, Elu, and SiLU written as
// Mul(x, Sigmoid(x)).
#include <limits>

#include "ops/post_ops.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

namespace {

bool is_fusable_producer(const Node& n) {
  return n.op == "Conv" || n.op == "FusedConv" || n.op == "Gemm" || n.op == "FusedGemm";
}

}  // namespace

Status fuse_activation(Graph& g, PassStats& st) {
  auto users = compute_users(g);
  std::vector<bool> dead(g.nodes().size(), false);
  int silu = 0;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    Node& act = g.nodes()[i];
    if (act.inputs.empty() || act.inputs[0] == kNoValue || act.outputs.size() != 1) continue;
    const ValueId x = act.inputs[0];
    const int32_t p = g.value(x).producer;
    if (p < 0 || dead[static_cast<size_t>(p)] || g.value(x).dtype != DType::kF32) continue;
    Node& prod = g.nodes()[static_cast<size_t>(p)];
    if (!is_fusable_producer(prod)) continue;
    const int64_t C = g.value(x).shape.rank() > 1 ? g.value(x).shape[1] : 0;

    // SiLU: x feeds exactly a Sigmoid and a Mul(x, sigmoid(x)).
    if (act.op == "Sigmoid" && users[static_cast<size_t>(x)].size() == 2 && !is_graph_output(g, x)) {
      const ValueId sg = act.outputs[0];
      const int32_t other = users[static_cast<size_t>(x)][0] == static_cast<int32_t>(i) ? users[static_cast<size_t>(x)][1]
                                                                                        : users[static_cast<size_t>(x)][0];
      Node& mul = g.nodes()[static_cast<size_t>(other)];
      if (mul.op == "Mul" && single_use(g, users, sg) && mul.inputs.size() == 2 &&
          ((mul.inputs[0] == x && mul.inputs[1] == sg) || (mul.inputs[0] == sg && mul.inputs[1] == x))) {
        make_fused(prod);
        ops::append_post_op(prod.attrs, ops::PostOpKind::kSilu);
        prod.outputs[0] = mul.outputs[0];
        g.value(mul.outputs[0]).producer = p;
        prod.origin.insert(prod.origin.end(), act.origin.begin(), act.origin.end());
        prod.origin.insert(prod.origin.end(), mul.origin.begin(), mul.origin.end());
        dead[i] = true;
        dead[static_cast<size_t>(other)] = true;
        st.nodes_fused += 2;
        ++silu;
        continue;
      }
    }
    if (!single_use(g, users, x)) continue;

    ops::PostOpKind kind;
    float alpha = 0, beta = 0;
    std::vector<double> slope;
    if (ops::activation_post_op(act.op, act.attrs, kind, alpha, beta)) {
      if (act.inputs.size() != 1) continue;
    } else if (act.op == "Clip") {
      const Tensor* lo = const_input(g, act, 1);
      const Tensor* hi = const_input(g, act, 2);
      if ((act.inputs.size() > 1 && act.inputs[1] != kNoValue && !lo) ||
          (act.inputs.size() > 2 && act.inputs[2] != kNoValue && !hi))
        continue;
      kind = ops::PostOpKind::kClip;
      alpha = lo ? lo->to_f32_vector().at(0) : -std::numeric_limits<float>::infinity();
      beta = hi ? hi->to_f32_vector().at(0) : std::numeric_limits<float>::infinity();
    } else if (act.op == "PRelu") {
      const Tensor* s = const_input(g, act, 1);
      if (!s || s->dtype() != DType::kF32) continue;
      // Per-channel slopes ([C], [C,1,1], [1,C,1,1]) or one shared slope.
      std::vector<float> v = s->to_f32_vector();
      // Broadcasting aligns the slope's shape to the right of X's: it is
      // per-channel only if its non-1 dimension lands on axis 1.
      const size_t xr = g.value(x).shape.rank(), sr = s->rank();
      bool per_channel = s->numel() == C && sr <= xr;
      for (size_t d = 0; per_channel && d < sr; ++d) {
        const size_t axis = d + (xr - sr);
        if (s->dim(d) != (axis == 1 ? C : 1)) per_channel = false;
      }
      if (!per_channel && s->numel() != 1) continue;
      slope.assign(static_cast<size_t>(C), 0.0);
      for (int64_t c = 0; c < C; ++c) slope[static_cast<size_t>(c)] = v[per_channel ? c : 0];
      kind = ops::PostOpKind::kPrelu;
    } else {
      continue;
    }
    make_fused(prod);
    ops::append_post_op(prod.attrs, kind, alpha, beta);
    if (kind == ops::PostOpKind::kPrelu) {
      add_channel_input(g, prod, "post_slope", slope);
      ++st.constants_rewritten;
    }
    prod.outputs[0] = act.outputs[0];
    g.value(act.outputs[0]).producer = p;
    prod.origin.insert(prod.origin.end(), act.origin.begin(), act.origin.end());
    dead[i] = true;
    ++st.nodes_fused;
  }
  if (st.nodes_fused) {
    remove_nodes(g, dead);
    st.details.push_back("fused " + std::to_string(st.nodes_fused) + " activation nodes into epilogues" +
                         (silu ? " (" + std::to_string(silu) + " SiLU)" : ""));
  }
  return Status::ok();
}

}  // namespace anvil::passes

// BatchNormalization that fold_batchnorm could not fold (its producer is not
// a plain Conv/Gemm, e.g. a conv with a fused activation, or it runs before
// a conv as in InsightFace "IR" units), and per-channel constant Mul/Add
// that fold_channel_affine left, become a per-channel scale-shift:
//  - appended to its producer's epilogue (FusedConv/FusedGemm post-op), or
//  - folded into the single Conv that consumes it, when that is exact: the
//    conv has no padding, or the shift is zero (a pure scale). Otherwise the
//    conv would see the shift t where it pads zeros, so such nodes stay.
#include "ops/post_ops.h"
#include "passes/bn_util.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

namespace {

bool unpadded(const Node& conv) {
  for (int64_t p : conv.attrs.ints("pads")) if (p != 0) return false;
  const std::string ap = conv.attrs.s("auto_pad", "NOTSET");
  return ap == "NOTSET" || ap == "VALID";
}

// conv(s*x + t) = (W*s)x + (b + sum_{i,k} W[o,i,k] * t[i])
bool fold_before_conv(Graph& g, Node& conv, const Affine& a, PassStats& st) {
  // A FusedConv's epilogue acts on the conv's output, so its input side is
  // as foldable as a plain Conv's.
  if ((conv.op != "Conv" && conv.op != "FusedConv") || !(unpadded(conv) || a.shift_is_zero())) return false;
  // With a pre-op the weights see pre(x), not x: folding would reorder them.
  if (ops::has_pre_scale_shift(conv.attrs)) return false;
  const Tensor* w = const_input(g, conv, 1);
  if (!w || w->dtype() != DType::kF32 || w->rank() < 3) return false;
  const int64_t group = conv.attrs.i("group", 1);
  const int64_t OC = w->dim(0), Cg = w->dim(1), C = Cg * group;
  if (static_cast<int64_t>(a.s.size()) != C) return false;
  const Tensor* b = const_input(g, conv, 2);
  if (conv.inputs.size() > 2 && conv.inputs[2] != kNoValue && (!b || b->numel() != OC)) return false;
  const int64_t ks = w->numel() / (OC * Cg), OCg = OC / group;
  Tensor nw(DType::kF32, w->shape());
  Tensor nb(DType::kF32, {OC});
  for (int64_t o = 0; o < OC; ++o) {
    double bias = b ? b->data<float>()[o] : 0.0;
    const int64_t gi = o / OCg;
    for (int64_t ic = 0; ic < Cg; ++ic) {
      const int64_t c = gi * Cg + ic;
      for (int64_t k = 0; k < ks; ++k) {
        const int64_t idx = (o * Cg + ic) * ks + k;
        const double wv = w->data<float>()[idx];
        nw.data<float>()[idx] = static_cast<float>(wv * a.s[c]);
        bias += wv * a.t[c];
      }
    }
    nb.data<float>()[o] = static_cast<float>(bias);
  }
  conv.inputs[1] = add_constant(g, conv.name + ".weight_prescaled", std::move(nw));
  if (conv.inputs.size() < 3) conv.inputs.resize(3, kNoValue);
  conv.inputs[2] = add_constant(g, conv.name + ".bias_prescaled", std::move(nb));
  st.constants_rewritten += 2;
  return true;
}

}  // namespace

Status fuse_scale_shift(Graph& g, PassStats& st) {
  auto users = compute_users(g);
  std::vector<bool> dead(g.nodes().size(), false);
  int into_epilogue = 0, into_next = 0, into_pre = 0, arith = 0;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    Node& bn = g.nodes()[i];
    Affine a;
    ValueId x = kNoValue;
    if (!channel_affine(g, bn, a, x)) continue;
    const ValueId y = bn.outputs[0];
    const bool is_bn = bn.op == "BatchNormalization";
    if (g.value(x).shape.rank() < 2) continue;
    const int32_t p = g.value(x).producer;
    if (p >= 0 && single_use(g, users, x)) {
      Node& prod = g.nodes()[static_cast<size_t>(p)];
      if (make_fused(prod)) {
        ops::append_post_op(prod.attrs, ops::PostOpKind::kScaleShift);
        add_channel_input(g, prod, "post_scale", a.s);
        add_channel_input(g, prod, "post_shift", a.t);
        prod.outputs[0] = y;
        g.value(y).producer = p;  // later BNs in a chain must see the fused node
        prod.origin.insert(prod.origin.end(), bn.origin.begin(), bn.origin.end());
        dead[i] = true;
        ++st.nodes_fused;
        st.constants_rewritten += 2;
        ++into_epilogue;
        arith += !is_bn;
        continue;
      }
    }
    if (single_use(g, users, y)) {
      Node& next = g.nodes()[static_cast<size_t>(users[static_cast<size_t>(y)][0])];
      if (next.inputs[0] == y && fold_before_conv(g, next, a, st)) {
        next.inputs[0] = x;
        next.origin.insert(next.origin.begin(), bn.origin.begin(), bn.origin.end());
        dead[i] = true;
        ++st.nodes_fused;
        ++into_next;
        arith += !is_bn;
      } else if (next.inputs[0] == y && (next.op == "Conv" || next.op == "FusedConv") &&
                 !ops::has_pre_scale_shift(next.attrs) && g.value(y).shape.rank() == 4 &&
                 static_cast<int64_t>(a.s.size()) == g.value(y).shape[1]) {
        // Padded conv (InsightFace IR units): the affine runs as the conv's
        // pre-op, applied while its input is gathered, padding kept zero.
        make_fused(next);
        next.attrs.set("pre_scale_shift", int64_t{1});
        std::vector<ValueId> extra(next.inputs.begin() + 3, next.inputs.end());
        next.inputs.resize(3);
        add_channel_input(g, next, "pre_scale", a.s);
        add_channel_input(g, next, "pre_shift", a.t);
        next.inputs.insert(next.inputs.end(), extra.begin(), extra.end());
        next.inputs[0] = x;
        next.origin.insert(next.origin.begin(), bn.origin.begin(), bn.origin.end());
        dead[i] = true;
        ++st.nodes_fused;
        st.constants_rewritten += 2;
        ++into_pre;
        arith += !is_bn;
      }
    }
  }
  if (st.nodes_fused) {
    remove_nodes(g, dead);
    st.details.push_back("fused " + std::to_string(into_epilogue) + " BatchNormalization/Mul/Add as a scale-shift epilogue, " +
                         std::to_string(into_next) + " into the following Conv's weights, " + std::to_string(into_pre) +
                         " as a padded Conv's input pre-op (" + std::to_string(arith) +
                         " of them Mul/Add)");
  }
  return Status::ok();
}

}  // namespace anvil::passes

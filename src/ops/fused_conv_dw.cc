// FusedConvDw: a pointwise (1x1, stride 1, no padding) Conv with an
// optional ReLU/Clip, feeding a depthwise Conv, as one node. Produced by the
// optimizer (passes/fuse_pointwise_depthwise.cc) where the intermediate
// tensor would spill the caches: MobileNet's expansions (4.8 MB at 112x112)
// are written by one node and read back by the next. Kernels compute the
// intermediate a strip of rows at a time instead.
// Inputs: X, W1 [M, C, 1, 1], B1 [M] (may be omitted), W2 [M, 1, KH, KW],
// B2 [M] (may be omitted), then the depthwise post-ops' extra inputs.
// Attributes: the depthwise Conv's (strides, pads, dilations, group = M,
// post_ops...), and the pointwise activation: pw_act = 0 (none), 1 (ReLU)
// or 2 (Clip to pw_clip = [lo, hi]).
#include "ops/fused_conv_dw.h"

#include <algorithm>

#include "ops/post_ops.h"

namespace anvil::ops {

Status pointwise_activation(const Attrs& attrs, bool& on, float& lo, float& hi) {
  int64_t act = 0;
  ANVIL_TRY(attrs.get("pw_act", act));
  on = act != 0;
  lo = 0.f;
  hi = std::numeric_limits<float>::infinity();
  if (act == 0 || act == 1) return Status::ok();
  if (act != 2) return invalid_model("FusedConvDw: pw_act is " + std::to_string(act) + ", not 0, 1 or 2");
  std::vector<float> c;
  ANVIL_TRY(attrs.get("pw_clip", c));
  if (c.size() != 2) return invalid_model("FusedConvDw: pw_clip needs [lo, hi], has " + std::to_string(c.size()) + " values");
  lo = c[0];
  hi = c[1];
  return Status::ok();
}

namespace {

constexpr int kOwnInputs = 5;

Status check_pointwise(const InferContext& c) {
  const Shape& x = c.in(0).shape;
  const Shape& w = c.in(1).shape;
  if (x.rank() != 4) return invalid_model("FusedConvDw: input rank " + std::to_string(x.rank()) + ", not 4");
  if (w.rank() != 4 || w[1] != x[1] || w[2] != 1 || w[3] != 1)
    return invalid_model("FusedConvDw: pointwise weights " + w.str() + " do not fit input " + x.str() +
                         " (want [M, " + std::to_string(x[1]) + ", 1, 1])");
  if (c.has_input(2) && c.in(2).shape.numel() != w[0])
    return invalid_model("FusedConvDw: pointwise bias has " + std::to_string(c.in(2).shape.numel()) + " values for " +
                         std::to_string(w[0]) + " channels");
  return Status::ok();
}

// The depthwise Conv's view: the intermediate [N, M, H, W] as its input.
InferContext depthwise_view(const InferContext& c) {
  InferContext v{c.node, {}, {}};
  InputInfo mid;
  mid.present = true;
  mid.dtype = DType::kF32;
  mid.shape = Shape{c.in(0).shape[0], c.in(1).shape[0], c.in(0).shape[2], c.in(0).shape[3]};
  v.inputs = {mid, c.inputs[3]};
  if (c.num_inputs() > 4) v.inputs.push_back(c.inputs[4]);
  v.outputs.resize(1);
  return v;
}

Status infer(InferContext& c) {
  if (c.num_inputs() < 4 || !c.has_input(0) || !c.has_input(1) || !c.has_input(3))
    return invalid_model("FusedConvDw: needs X, W1, B1 (optional), W2, B2 (optional)");
  for (size_t i : {size_t{0}, size_t{1}, size_t{3}})
    if (c.in(i).dtype != DType::kF32) return unsupported("FusedConvDw: only f32");
  ANVIL_TRY(check_pointwise(c));
  bool on = false;
  float lo = 0, hi = 0;
  ANVIL_TRY(pointwise_activation(c.node.attrs, on, lo, hi));
  const int64_t M = c.in(1).shape[0];
  if (c.node.attrs.i("group", 1) != M || c.in(3).shape.rank() != 4 || c.in(3).shape[0] != M || c.in(3).shape[1] != 1)
    return invalid_model("FusedConvDw: depthwise weights " + c.in(3).shape.str() + " and group " +
                         std::to_string(c.node.attrs.i("group", 1)) + " for " + std::to_string(M) + " channels");
  InferContext v = depthwise_view(c);
  ANVIL_TRY(OpRegistry::instance().find("Conv")->infer(v));
  c.out(0) = v.out(0);
  std::vector<PostOp> ops;
  ANVIL_TRY(parse_post_ops(c.node.attrs, kOwnInputs, ops));
  // B2 may be left off the end when no post-op reads an input.
  const int extra = post_op_input_count(ops), n = static_cast<int>(c.num_inputs());
  if (extra ? n != kOwnInputs + extra : n > kOwnInputs)
    return invalid_model("FusedConvDw: " + std::to_string(n) + " inputs, post-ops need " +
                         std::to_string(kOwnInputs + extra));
  return check_post_op_inputs(c, ops, c.out(0).shape);
}

int64_t flops(const InferContext& c) {
  const Shape& x = c.in(0).shape;
  const int64_t M = c.in(1).shape[0], mid = x[0] * M * x[2] * x[3];
  bool on = false;
  float lo = 0, hi = 0;
  (void)pointwise_activation(c.node.attrs, on, lo, hi);
  InferContext v = depthwise_view(c);
  v.outputs = c.outputs;
  std::vector<PostOp> ops;
  (void)parse_post_ops(c.node.attrs, kOwnInputs, ops);
  return 2 * mid * x[1] + (c.has_input(2) ? mid : 0) + (on ? mid : 0) +
         OpRegistry::instance().find("Conv")->flops(v) + post_op_flops(ops) * c.outputs[0].shape.numel();
}

// The unfused sequence, op by op: the pointwise Conv's reference, the
// activation, the depthwise Conv's reference, the post-ops.
Status run(KernelContext& k) {
  const OpDef* conv = OpRegistry::instance().find("Conv");
  const Tensor& x = k.in(0);
  const Tensor& w1 = k.in(1);
  Tensor mid(DType::kF32, Shape{x.dim(0), w1.dim(0), x.dim(2), x.dim(3)});
  Node pw;
  pw.op = "Conv";
  pw.name = k.node.name;
  KernelContext pk{pw, {&x, &w1}, {&mid}};
  if (k.has_input(2)) pk.inputs.push_back(&k.in(2));
  ANVIL_TRY(conv->reference(pk));
  bool on = false;
  float lo = 0, hi = 0;
  ANVIL_TRY(pointwise_activation(k.node.attrs, on, lo, hi));
  if (on)
    for (int64_t i = 0; i < mid.numel(); ++i) {
      float& v = mid.data<float>()[i];
      v = v < lo ? lo : v > hi ? hi : v;  // NaN stays NaN
    }
  KernelContext dk{k.node, {&mid, &k.in(3)}, k.outputs};
  dk.inputs.push_back(k.has_input(4) ? &k.in(4) : nullptr);
  ANVIL_TRY(conv->reference(dk));
  return apply_node_post_ops(k, kOwnInputs, k.out(0));
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(FusedConvDw, {.name = "FusedConvDw",
                                .min_inputs = 4, .max_inputs = -1,
                                .infer = anvil::ops::infer,
                                .flops = anvil::ops::flops,
                                .reference = anvil::ops::run,
                                .foldable = false})

// FusedConv: Conv followed by an epilogue of post-ops (ops/post_ops.h),
// produced by the optimizer (BN folding, activation and residual fusion).
// Inputs: X, W, B (may be omitted), then the post-ops' extra inputs.
#include "ops/post_ops.h"

namespace anvil::ops {
namespace {

constexpr int kConvInputs = 3;

InferContext conv_view(const InferContext& c) {
  InferContext v{c.node, {}, {}};
  v.inputs.assign(c.inputs.begin(), c.inputs.begin() + std::min<size_t>(kConvInputs, c.inputs.size()));
  v.outputs.resize(1);
  return v;
}

Status infer(InferContext& c) {
  const OpDef* conv = OpRegistry::instance().find("Conv");
  InferContext v = conv_view(c);
  ANVIL_TRY(conv->infer(v));
  if (v.out(0).dtype != DType::kF32) return unsupported("FusedConv: only f32");
  c.out(0) = v.out(0);
  std::vector<PostOp> ops;
  const int own = fused_conv_own_inputs(c.node.attrs);
  ANVIL_TRY(parse_post_ops(c.node.attrs, own, ops));
  if (static_cast<int>(c.num_inputs()) != own + post_op_input_count(ops))
    return invalid_model("FusedConv: " + std::to_string(c.num_inputs()) + " inputs, post-ops need " +
                         std::to_string(own + post_op_input_count(ops)));
  if (has_pre_scale_shift(c.node.attrs)) {
    const int64_t C = c.in(0).shape[1];
    for (size_t i : {size_t{3}, size_t{4}})
      if (!c.has_input(i) || c.in(i).dtype != DType::kF32 || c.in(i).shape.numel() != C)
        return invalid_model("FusedConv: pre-op scale/shift input " + std::to_string(i) +
                             " must be f32 with one value per input channel (" + std::to_string(C) + ")");
  }
  return check_post_op_inputs(c, ops, c.out(0).shape);
}

int64_t flops(const InferContext& c) {
  const OpDef* conv = OpRegistry::instance().find("Conv");
  std::vector<PostOp> ops;
  (void)parse_post_ops(c.node.attrs, fused_conv_own_inputs(c.node.attrs), ops);
  InferContext v = conv_view(c);
  v.outputs = c.outputs;
  const int64_t pre = has_pre_scale_shift(c.node.attrs) ? 2 * c.in(0).shape.numel() : 0;
  return conv->flops(v) + post_op_flops(ops) * c.outputs[0].shape.numel() + pre;
}

Status run(KernelContext& k) {
  const OpDef* conv = OpRegistry::instance().find("Conv");
  KernelContext v{k.node, {}, k.outputs};
  v.inputs.assign(k.inputs.begin(), k.inputs.begin() + std::min<size_t>(kConvInputs, k.inputs.size()));
  Tensor pre;
  if (has_pre_scale_shift(k.node.attrs)) {
    // Scale-shift the input itself; the conv then pads with true zeros.
    const Tensor& x = k.in(0);
    pre = Tensor(DType::kF32, x.shape());
    const int64_t N = x.dim(0), C = x.dim(1), P = x.numel() / (N * C);
    const float* sc = k.in(3).data<float>();
    const float* sh = k.in(4).data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t i = 0; i < P; ++i) {
          const int64_t idx = (n * C + ch) * P + i;
          pre.data<float>()[idx] = x.data<float>()[idx] * sc[ch] + sh[ch];
        }
    v.inputs[0] = &pre;
  }
  ANVIL_TRY(conv->reference(v));
  return apply_node_post_ops(k, fused_conv_own_inputs(k.node.attrs), k.out(0));
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(FusedConv, {.name = "FusedConv",
                              .min_inputs = 2, .max_inputs = -1,
                              .infer = anvil::ops::infer,
                              .flops = anvil::ops::flops,
                              .reference = anvil::ops::run,
                              .foldable = false})

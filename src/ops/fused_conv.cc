// FusedConv: Conv followed by an epilogue of post-ops (ops/post_ops.h),
// produced by the optimizer (BN folding, activation and residual fusion).
// Inputs: X, W, B (may be omitted), then the post-ops' extra inputs.
#include "ops/post_ops.h"

namespace anvil::ops {
namespace {

constexpr int kOwnInputs = 3;

InferContext conv_view(const InferContext& c) {
  InferContext v{c.node, {}, {}};
  v.inputs.assign(c.inputs.begin(), c.inputs.begin() + std::min<size_t>(kOwnInputs, c.inputs.size()));
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
  ANVIL_TRY(parse_post_ops(c.node.attrs, kOwnInputs, ops));
  if (static_cast<int>(c.num_inputs()) != kOwnInputs + post_op_input_count(ops))
    return invalid_model("FusedConv: " + std::to_string(c.num_inputs()) + " inputs, post-ops need " +
                         std::to_string(kOwnInputs + post_op_input_count(ops)));
  return check_post_op_inputs(c, ops, c.out(0).shape);
}

int64_t flops(const InferContext& c) {
  const OpDef* conv = OpRegistry::instance().find("Conv");
  std::vector<PostOp> ops;
  (void)parse_post_ops(c.node.attrs, kOwnInputs, ops);
  InferContext v = conv_view(c);
  v.outputs = c.outputs;
  return conv->flops(v) + post_op_flops(ops) * c.outputs[0].shape.numel();
}

Status run(KernelContext& k) {
  const OpDef* conv = OpRegistry::instance().find("Conv");
  KernelContext v{k.node, {}, k.outputs};
  v.inputs.assign(k.inputs.begin(), k.inputs.begin() + std::min<size_t>(kOwnInputs, k.inputs.size()));
  ANVIL_TRY(conv->reference(v));
  std::vector<PostOp> ops;
  ANVIL_TRY(parse_post_ops(k.node.attrs, kOwnInputs, ops));
  Tensor& y = k.out(0);
  const int64_t N = y.dim(0), C = y.dim(1), P = y.numel() / (N * C);
  for (int64_t n = 0; n < N; ++n) apply_post_ops(ops, k, y.data<float>() + n * C * P, n, C, 0, C, P);
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(FusedConv, {.name = "FusedConv",
                              .min_inputs = 2, .max_inputs = -1,
                              .infer = anvil::ops::infer,
                              .flops = anvil::ops::flops,
                              .reference = anvil::ops::run,
                              .foldable = false})

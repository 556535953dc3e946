// FusedGemm: Gemm followed by post-ops on its [M, N] output (channels = N,
// axis 1), produced by the optimizer (BN folding into FC, activations).
// Inputs: A, B, C (may be omitted), then the post-ops' extra inputs.
#include "ops/post_ops.h"

namespace anvil::ops {
namespace {

constexpr int kOwnInputs = 3;

InferContext gemm_view(const InferContext& c) {
  InferContext v{c.node, {}, {}};
  v.inputs.assign(c.inputs.begin(), c.inputs.begin() + std::min<size_t>(kOwnInputs, c.inputs.size()));
  v.outputs.resize(1);
  return v;
}

Status infer(InferContext& c) {
  const OpDef* gemm = OpRegistry::instance().find("Gemm");
  InferContext v = gemm_view(c);
  ANVIL_TRY(gemm->infer(v));
  if (v.out(0).dtype != DType::kF32) return unsupported("FusedGemm: only f32");
  c.out(0) = v.out(0);
  std::vector<PostOp> ops;
  ANVIL_TRY(parse_post_ops(c.node.attrs, kOwnInputs, ops));
  if (static_cast<int>(c.num_inputs()) != kOwnInputs + post_op_input_count(ops))
    return invalid_model("FusedGemm: " + std::to_string(c.num_inputs()) + " inputs, post-ops need " +
                         std::to_string(kOwnInputs + post_op_input_count(ops)));
  return check_post_op_inputs(c, ops, c.out(0).shape);
}

int64_t flops(const InferContext& c) {
  const OpDef* gemm = OpRegistry::instance().find("Gemm");
  std::vector<PostOp> ops;
  (void)parse_post_ops(c.node.attrs, kOwnInputs, ops);
  InferContext v = gemm_view(c);
  v.outputs = c.outputs;
  return gemm->flops(v) + post_op_flops(ops) * c.outputs[0].shape.numel();
}

Status run(KernelContext& k) {
  const OpDef* gemm = OpRegistry::instance().find("Gemm");
  KernelContext v{k.node, {}, k.outputs};
  v.inputs.assign(k.inputs.begin(), k.inputs.begin() + std::min<size_t>(kOwnInputs, k.inputs.size()));
  ANVIL_TRY(gemm->reference(v));
  std::vector<PostOp> ops;
  ANVIL_TRY(parse_post_ops(k.node.attrs, kOwnInputs, ops));
  Tensor& y = k.out(0);
  const int64_t M = y.dim(0), N = y.dim(1);
  // Channels are columns here: apply per row with p = 1 per channel.
  for (int64_t m = 0; m < M; ++m) apply_post_ops(ops, k, y.data<float>() + m * N, m, N, 0, N, 1);
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(FusedGemm, {.name = "FusedGemm",
                              .min_inputs = 2, .max_inputs = -1,
                              .infer = anvil::ops::infer,
                              .flops = anvil::ops::flops,
                              .reference = anvil::ops::run,
                              .foldable = false})

// Sqrt: y = sqrt(x); negative x gives NaN, as in ONNX.
#include "ops/unary_math.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) { return infer_float_unary(c, "Sqrt"); }

Status run(KernelContext& k) {
  return run_float_unary(k, []<class T>(T v) { return std::sqrt(v); });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Sqrt, {.name = "Sqrt",
                         .min_inputs = 1, .max_inputs = 1,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext& c) { return anvil::ops::out_numel(c); },
                         .reference = anvil::ops::run})

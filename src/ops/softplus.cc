// Softplus: y = ln(1 + exp(x)) (MXNet Activation softrelu).
#include "ops/unary_math.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) { return infer_float_unary(c, "Softplus"); }

Status run(KernelContext& k) {
  // log1p(exp(-|x|)) + max(x, 0) never overflows, unlike log(1 + exp(x)).
  return run_float_unary(k, []<class T>(T v) { return std::log1p(std::exp(-std::fabs(v))) + (v > T(0) ? v : T(0)); });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Softplus, {.name = "Softplus",
                             .min_inputs = 1, .max_inputs = 1,
                             .infer = anvil::ops::infer,
                             .flops = [](const anvil::InferContext& c) { return 4 * anvil::ops::out_numel(c); },
                             .reference = anvil::ops::run})

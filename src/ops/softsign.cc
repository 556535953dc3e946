// Softsign: y = x / (1 + |x|).
#include "ops/unary_math.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) { return infer_float_unary(c, "Softsign"); }

Status run(KernelContext& k) {
  return run_float_unary(k, []<class T>(T v) { return v / (T(1) + std::fabs(v)); });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Softsign, {.name = "Softsign",
                             .min_inputs = 1, .max_inputs = 1,
                             .infer = anvil::ops::infer,
                             .flops = [](const anvil::InferContext& c) { return 3 * anvil::ops::out_numel(c); },
                             .reference = anvil::ops::run})

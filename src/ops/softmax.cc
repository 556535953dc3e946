// Softmax: y = exp(x - max) / sum(exp(x - max)) along axis.
#include "ops/softmax_common.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) { return softmax_infer(c, "Softmax"); }
Status run(KernelContext& k) { return softmax_run<false>(k, "Softmax"); }

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Softmax, {.name = "Softmax",
                            .min_inputs = 1, .max_inputs = 1,
                            .infer = anvil::ops::infer,
                            .flops = [](const anvil::InferContext& c) { return 5 * anvil::ops::out_numel(c); },
                            .reference = anvil::ops::run})

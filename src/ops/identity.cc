// Identity: y = x, any dtype.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Identity: input 0 is missing");
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Identity, {.name = "Identity",
                             .min_inputs = 1, .max_inputs = 1,
                             .infer = anvil::ops::infer,
                             .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                             .reference = anvil::ops::copy_input_to_output})

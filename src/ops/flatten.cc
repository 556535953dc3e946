// Flatten: reshapes to 2-D [prod(dims[:axis]), prod(dims[axis:])]; axis in [-r, r].
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Flatten: input 0 is missing");
  const Shape& x = c.in(0).shape;
  const int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis = 1;
  ANVIL_TRY(get_attr(c, "axis", axis));
  // Unlike most ops, axis == rank is valid (everything goes to the first dim).
  if (axis < -rank || axis > rank) {
    return invalid_argument("Flatten: axis " + std::to_string(axis) + " is out of range for " + input_str(c, 0) +
                            " (valid: " + std::to_string(-rank) + ".." + std::to_string(rank) + ")");
  }
  if (axis < 0) axis += rank;
  const size_t ax = static_cast<size_t>(axis);
  c.out(0) = {c.in(0).dtype, Shape{dims_product(x, 0, ax), dims_product(x, ax, x.rank())}};
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Flatten, {.name = "Flatten",
                            .min_inputs = 1, .max_inputs = 1,
                            .infer = anvil::ops::infer,
                            .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                            .reference = anvil::ops::copy_input_to_output})

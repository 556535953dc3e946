// Squeeze: inputs (x, axes?); removes the listed size-1 axes, or every
// size-1 axis when `axes` is omitted or empty.
#include <algorithm>

#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Squeeze: input 0 is missing");
  const Shape& x = c.in(0).shape;
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<bool> drop(x.rank(), false);
  std::vector<int64_t> axes;
  if (c.has_input(1)) ANVIL_TRY(constant_ints(c, 1, "axes", axes));
  // An empty 'axes' tensor means the same as an omitted one (as in ONNX Runtime).
  if (!axes.empty()) {
    for (int64_t a : axes) {
      int64_t axis = a;
      Status s = normalize_axis(axis, rank, "'axes' entry");
      if (!s.is_ok()) return std::move(s).with_context("Squeeze: " + input_str(c, 0));
      const size_t ax = static_cast<size_t>(axis);
      if (drop[ax]) return invalid_model("Squeeze: 'axes' " + ints_str(axes) + " names axis " + std::to_string(axis) + " twice");
      // An unbound dimension is accepted: the model promises it is 1.
      if (x[ax] != 1 && x[ax] >= 0) {
        return invalid_argument("Squeeze: axis " + std::to_string(a) + " of " + input_str(c, 0) + " has size " +
                                std::to_string(x[ax]) + ", not 1");
      }
      drop[ax] = true;
    }
  } else {
    for (size_t i = 0; i < x.rank(); ++i) {
      if (x[i] < 0) {
        return unsupported("Squeeze: without 'axes', every dimension of " + input_str(c, 0) +
                           " must be bound to decide which ones are 1");
      }
      drop[i] = x[i] == 1;
    }
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < x.rank(); ++i) {
    if (!drop[i]) out.push_back(x[i]);
  }
  c.out(0) = {c.in(0).dtype, Shape(std::move(out))};
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Squeeze, {.name = "Squeeze",
                            .min_inputs = 1, .max_inputs = 2,
                            .infer = anvil::ops::infer,
                            .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                            .reference = anvil::ops::copy_input_to_output})

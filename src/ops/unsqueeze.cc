// Unsqueeze: inputs (x, axes); inserts size-1 axes at the listed positions of
// the output (negative positions count from the end of the output).
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Unsqueeze: input 0 is missing");
  const Shape& x = c.in(0).shape;
  std::vector<int64_t> axes;
  ANVIL_TRY(constant_ints(c, 1, "axes", axes));
  const int64_t out_rank = static_cast<int64_t>(x.rank() + axes.size());
  std::vector<bool> insert(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) {
    int64_t axis = a;
    Status s = normalize_axis(axis, out_rank, "'axes' entry");
    if (!s.is_ok()) return std::move(s).with_context("Unsqueeze: " + input_str(c, 0) + " with axes " + ints_str(axes));
    if (insert[static_cast<size_t>(axis)]) {
      return invalid_model("Unsqueeze: 'axes' " + ints_str(axes) + " names output axis " + std::to_string(axis) + " twice");
    }
    insert[static_cast<size_t>(axis)] = true;
  }
  std::vector<int64_t> out;
  size_t next = 0;
  for (bool ins : insert) out.push_back(ins ? 1 : x[next++]);
  c.out(0) = {c.in(0).dtype, Shape(std::move(out))};
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Unsqueeze, {.name = "Unsqueeze",
                              .min_inputs = 2, .max_inputs = 2,
                              .infer = anvil::ops::infer,
                              .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                              .reference = anvil::ops::copy_input_to_output})

// Concat: joins inputs along `axis` (required); all other dimensions must match.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (c.num_inputs() == 0) return invalid_model("Concat: needs at least one input");
  int64_t axis = 0;
  ANVIL_TRY(c.node.attrs.require("axis", axis).with_context("Concat"));
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    if (!c.has_input(i)) return invalid_model("Concat: input " + std::to_string(i) + " is missing");
  }
  const InputInfo& first = c.in(0);
  const int64_t rank = static_cast<int64_t>(first.shape.rank());
  Status s = normalize_axis(axis, rank);
  if (!s.is_ok()) return std::move(s).with_context("Concat: " + input_str(c, 0));
  Shape out = first.shape;
  for (size_t i = 1; i < c.num_inputs(); ++i) {
    const InputInfo& in = c.in(i);
    if (in.dtype != first.dtype) {
      return invalid_model("Concat: inputs must share one dtype, but " + input_str(c, 0) + " and " +
                           input_str(c, i) + " differ");
    }
    if (static_cast<int64_t>(in.shape.rank()) != rank) {
      return invalid_argument("Concat: all inputs must have the same rank, but " + input_str(c, 0) + " and " +
                              input_str(c, i) + " differ");
    }
    for (int64_t d = 0; d < rank; ++d) {
      const size_t du = static_cast<size_t>(d);
      if (d == axis) {
        out[du] = (out[du] < 0 || in.shape[du] < 0) ? -1 : out[du] + in.shape[du];
      } else if (in.shape[du] >= 0 && out[du] >= 0 && in.shape[du] != out[du]) {
        return invalid_argument("Concat: along axis " + std::to_string(axis) + ", " + input_str(c, 0) + " and " +
                                input_str(c, i) + " differ in dimension " + std::to_string(d));
      } else if (out[du] < 0) {
        out[du] = in.shape[du];
      }
    }
  }
  c.out(0) = {first.dtype, out};
  return Status::ok();
}

Status run(KernelContext& k) {
  Tensor& y = k.out(0);
  int64_t axis = k.node.attrs.i("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(y.rank());
  const size_t esize = dtype_size(y.dtype());
  const int64_t outer = dims_product(y.shape(), 0, static_cast<size_t>(axis));
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t i = 0; i < k.inputs.size(); ++i) {
      const Tensor& x = k.in(i);
      // One contiguous block per input per outer index: dims [axis, rank).
      const size_t block = static_cast<size_t>(dims_product(x.shape(), static_cast<size_t>(axis), x.rank())) * esize;
      copy_bytes(dst, static_cast<const uint8_t*>(x.raw()) + static_cast<size_t>(o) * block, block);
      dst += block;
    }
  }
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Concat, {.name = "Concat",
                           .min_inputs = 1, .max_inputs = -1,
                           .infer = anvil::ops::infer,
                           .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                           .reference = anvil::ops::run})

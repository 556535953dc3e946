// Shape: the input's dimensions as a 1-D i64 tensor, optionally only
// dims[start:end] (opset 15; negative bounds count from the end, then clamp).
#include <algorithm>

#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

void resolve_range(const Attrs& attrs, int64_t rank, int64_t& start, int64_t& end) {
  start = attrs.i("start", 0);
  end = attrs.i("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
}

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Shape: input 0 is missing");
  int64_t start = 0, end = 0;
  ANVIL_TRY(get_attr(c, "start", start));
  ANVIL_TRY(get_attr(c, "end", end));
  resolve_range(c.node.attrs, static_cast<int64_t>(c.in(0).shape.rank()), start, end);
  c.out(0) = {DType::kI64, Shape{std::max<int64_t>(0, end - start)}};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Shape& x = k.in(0).shape();
  int64_t start = 0, end = 0;
  resolve_range(k.node.attrs, static_cast<int64_t>(x.rank()), start, end);
  int64_t* dst = k.out(0).data<int64_t>();
  for (int64_t i = start; i < end; ++i) *dst++ = x[static_cast<size_t>(i)];
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

// The result depends only on the input's shape, so the reference kernel never
// reads the input's data: it may be folded once that shape is static even if
// the data itself is not a constant.
ANVIL_REGISTER_OP(Shape, {.name = "Shape",
                          .min_inputs = 1, .max_inputs = 1,
                          .infer = anvil::ops::infer,
                          .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                          .reference = anvil::ops::run,
                          .reads_only_shapes = true})

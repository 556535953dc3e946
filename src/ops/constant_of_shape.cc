// ConstantOfShape: a tensor of the shape given by input 0 (1-D i64), filled
// with the one-element Tensor attribute `value` (default f32 0); the output
// takes the dtype of `value`.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status fill_value(const Attrs& attrs, Tensor& v) {
  if (!attrs.has("value")) {
    v = Tensor::scalar<float>(0.0f);
    return Status::ok();
  }
  ANVIL_TRY(attrs.get("value", v));
  if (!v.defined() || v.numel() != 1) {
    return invalid_model("attribute 'value' must hold exactly one element, got " + v.desc());
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  std::vector<int64_t> dims;
  ANVIL_TRY(expect_dtype(c, 0, {DType::kI64, DType::kI32}));
  ANVIL_TRY(constant_ints(c, 0, "shape", dims));
  for (int64_t d : dims) {
    if (d < 0) return invalid_argument("ConstantOfShape: negative dimension in shape " + ints_str(dims));
  }
  Tensor v;
  ANVIL_TRY(fill_value(c.node.attrs, v).with_context("ConstantOfShape"));
  c.out(0) = {v.dtype(), Shape(std::move(dims))};
  return Status::ok();
}

Status run(KernelContext& k) {
  Tensor v;
  ANVIL_TRY(fill_value(k.node.attrs, v).with_context("ConstantOfShape"));
  Tensor& y = k.out(0);
  return dispatch_elem_size(dtype_size(y.dtype()), [&]<class U>() {
    const U val = *static_cast<const U*>(v.raw());
    U* dst = static_cast<U*>(y.raw());
    for (int64_t i = 0, n = y.numel(); i < n; ++i) dst[i] = val;
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(ConstantOfShape, {.name = "ConstantOfShape",
                                    .min_inputs = 1, .max_inputs = 1,
                                    .infer = anvil::ops::infer,
                                    .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                                    .reference = anvil::ops::run})

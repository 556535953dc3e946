// LeakyRelu: y = x >= 0 ? x : alpha * x.
#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "LeakyRelu", "X", {DType::kF32, DType::kF64}));
  float alpha = 0.01f;
  ANVIL_TRY(c.node.attrs.get("alpha", alpha));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const float alpha = k.node.attrs.f("alpha", 0.01f);
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    const T a = static_cast<T>(alpha);
    for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = src[i] >= T(0) ? src[i] : a * src[i];
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(LeakyRelu, {.name = "LeakyRelu",
                              .min_inputs = 1, .max_inputs = 1,
                              .infer = anvil::ops::infer,
                              .flops = [](const anvil::InferContext& c) { return anvil::ops::out_numel(c); },
                              .reference = anvil::ops::run})

// HardSwish: y = x * max(0, min(1, x / 6 + 0.5)).
#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "HardSwish", "X", {DType::kF32, DType::kF64}));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    const T sixth = T(1) / T(6);
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      T g = src[i] * sixth + T(0.5);
      g = g < T(0) ? T(0) : g;
      g = g > T(1) ? T(1) : g;
      dst[i] = src[i] * g;
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(HardSwish, {.name = "HardSwish",
                              .min_inputs = 1, .max_inputs = 1,
                              .infer = anvil::ops::infer,
                              .flops = [](const anvil::InferContext& c) { return 3 * anvil::ops::out_numel(c); },
                              .reference = anvil::ops::run})

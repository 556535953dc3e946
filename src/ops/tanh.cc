// Tanh: y = tanh(x).
#include <cmath>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "Tanh", "X", {DType::kF32, DType::kF64}));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = std::tanh(src[i]);
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Tanh, {.name = "Tanh",
                         .min_inputs = 1, .max_inputs = 1,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext& c) { return 4 * anvil::ops::out_numel(c); },
                         .reference = anvil::ops::run})

// Relu: y = max(x, 0).
#include "ops/op_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(expect_dtype(c, 0, {DType::kF32, DType::kF64, DType::kI8, DType::kI32, DType::kI64}));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_dtype(x.dtype(), [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = src[i] > T(0) ? src[i] : T(0);
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Relu, {.name = "Relu",
                         .min_inputs = 1, .max_inputs = 1,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext& c) { return anvil::ops::out_numel(c); },
                         .reference = anvil::ops::run})

// GlobalMaxPool: maximum over all spatial dims, keeping them as size 1.
#include <limits>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "GlobalMaxPool", "X", {DType::kF32, DType::kF64, DType::kI8, DType::kU8}));
  const InputInfo& x = c.in(0);
  if (x.shape.rank() < 2) {
    return invalid_model("GlobalMaxPool: X " + type_desc(x) + " must have rank >= 2 (N, C, spatial...)");
  }
  std::vector<int64_t> out = x.shape.dims();
  for (size_t d = 2; d < out.size(); ++d) {
    if (out[d] == 0) return invalid_argument("GlobalMaxPool: X " + type_desc(x) + " has an empty spatial dimension");
    out[d] = 1;
  }
  c.out(0) = {x.dtype, Shape(std::move(out))};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t inner = planes == 0 ? 0 : x.numel() / planes;
  return dispatch_numeric(x.dtype(), [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* v = src + pl * inner;
        T acc = std::numeric_limits<T>::lowest();
        for (int64_t i = 0; i < inner; ++i) acc = v[i] > acc ? v[i] : acc;
        dst[pl] = acc;
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(GlobalMaxPool, {.name = "GlobalMaxPool",
                                  .min_inputs = 1, .max_inputs = 1,
                                  .infer = anvil::ops::infer,
                                  .flops = [](const anvil::InferContext& c) { return c.in(0).shape.numel(); },
                                  .reference = anvil::ops::run})

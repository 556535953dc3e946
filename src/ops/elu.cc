// Elu: y = x >= 0 ? x : alpha * (exp(x) - 1).
#include <cmath>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "Elu", "X", {DType::kF32, DType::kF64}));
  float alpha = 1.0f;
  ANVIL_TRY(c.node.attrs.get("alpha", alpha));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const float alpha = k.node.attrs.f("alpha", 1.0f);
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    const T a = static_cast<T>(alpha);
    // expm1 keeps precision for x near 0 where exp(x) - 1 cancels.
    for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = src[i] >= T(0) ? src[i] : a * std::expm1(src[i]);
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Elu, {.name = "Elu",
                        .min_inputs = 1, .max_inputs = 1,
                        .infer = anvil::ops::infer,
                        .flops = [](const anvil::InferContext& c) { return 4 * anvil::ops::out_numel(c); },
                        .reference = anvil::ops::run})

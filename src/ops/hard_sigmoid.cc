// HardSigmoid: y = max(0, min(1, alpha * x + beta)).
#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "HardSigmoid", "X", {DType::kF32, DType::kF64}));
  float alpha = 0.2f, beta = 0.5f;
  ANVIL_TRY(c.node.attrs.get("alpha", alpha));
  ANVIL_TRY(c.node.attrs.get("beta", beta));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const float alpha = k.node.attrs.f("alpha", 0.2f), beta = k.node.attrs.f("beta", 0.5f);
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      T v = a * src[i] + b;
      v = v < T(0) ? T(0) : v;
      dst[i] = v > T(1) ? T(1) : v;
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(HardSigmoid, {.name = "HardSigmoid",
                                .min_inputs = 1, .max_inputs = 1,
                                .infer = anvil::ops::infer,
                                .flops = [](const anvil::InferContext& c) { return 2 * anvil::ops::out_numel(c); },
                                .reference = anvil::ops::run})

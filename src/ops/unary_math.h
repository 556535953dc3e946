// Float-only elementwise unary ops (Sqrt, Softplus, Softsign, Selu, Gelu):
// same-shape output, one scalar function per element.
#pragma once
#include <cmath>
#include <string>

#include "ops/nn_util.h"

namespace anvil::ops {

inline Status infer_float_unary(InferContext& c, const char* op) {
  ANVIL_TRY(check_dtype(c, 0, op, "X", {DType::kF32, DType::kF64}));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

// `f.template operator()<T>(x, attrs)` maps one element.
template <class F>
Status run_float_unary(KernelContext& k, F&& f) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) dst[i] = f.template operator()<T>(src[i]);
  });
}

}  // namespace anvil::ops

// PRelu: y = x < 0 ? slope * x : x, slope broadcast unidirectionally to X.
#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "PRelu", "X", {DType::kF32, DType::kF64, DType::kI32, DType::kI64},
                        {DType::kF16, DType::kBF16}));
  ANVIL_TRY(check_dtype(c, 1, "PRelu", "slope", {DType::kF32, DType::kF64, DType::kI32, DType::kI64},
                        {DType::kF16, DType::kBF16}));
  ANVIL_TRY(check_same_dtype(c, 1, "PRelu", "X", "slope"));
  const Shape& xs = c.in(0).shape;
  const Shape& ss = c.in(1).shape;
  Shape b;
  Status s = broadcast_shapes({xs, ss}, b);
  if (!s.is_ok() || b != xs) {
    // A per-channel slope [C] against NCHW is the usual mistake; say so.
    std::string hint;
    if (ss.rank() == 1 && xs.rank() > 2 && ss[0] == xs[1] && ss[0] != xs[xs.rank() - 1])
      hint = " (a per-channel slope must have shape [C,1,...,1])";
    return invalid_model("PRelu: slope " + type_desc(c.in(1)) + " is not unidirectionally broadcastable to X " +
                         type_desc(c.in(0)) + hint);
  }
  c.out(0) = {c.in(0).dtype, xs};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  const Tensor& slope = k.in(1);
  Tensor& y = k.out(0);
  const Shape& xs = x.shape();
  const size_t r = xs.rank();
  const std::vector<int64_t> st = broadcast_strides(slope.shape(), xs);
  const int64_t inner = r == 0 ? 1 : xs[r - 1];
  const int64_t inner_stride = r == 0 ? 0 : st[r - 1];
  const int64_t rows = inner == 0 ? 0 : x.numel() / inner;
  return dispatch_numeric(x.dtype(), [&]<class T>() {
    const T* __restrict src = x.data<T>();
    const T* __restrict sl = slope.data<T>();
    T* __restrict dst = y.data<T>();
    for (int64_t row = 0; row < rows; ++row) {
      int64_t off = 0;
      for (int64_t rem = row, d = static_cast<int64_t>(r) - 2; d >= 0; --d) {
        off += (rem % xs[d]) * st[d];
        rem /= xs[d];
      }
      const T* xr = src + row * inner;
      T* yr = dst + row * inner;
      if (inner_stride == 0) {
        const T a = sl[off];
        for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] < T(0) ? static_cast<T>(a * xr[i]) : xr[i];
      } else {
        const T* sr = sl + off;
        for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] < T(0) ? static_cast<T>(sr[i] * xr[i]) : xr[i];
      }
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(PRelu, {.name = "PRelu",
                          .min_inputs = 2, .max_inputs = 2,
                          .infer = anvil::ops::infer,
                          .flops = [](const anvil::InferContext& c) { return anvil::ops::out_numel(c); },
                          .reference = anvil::ops::run})

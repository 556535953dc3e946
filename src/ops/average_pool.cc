// AveragePool: N-d average pooling; count_include_pad picks the divisor.
#include "ops/pool_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  WindowGeometry geo;
  ANVIL_TRY(infer_pool(c, "AveragePool", {DType::kF32, DType::kF64}, geo));
  int64_t cip = 0;
  ANVIL_TRY(c.node.attrs.get("count_include_pad", cip));
  if (cip != 0 && cip != 1) {
    return invalid_model("AveragePool: attribute 'count_include_pad' is " + std::to_string(cip) + ", expected 0 or 1");
  }
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  PoolPlan p;
  ANVIL_TRY(p.init(x, y, k.node.attrs));
  const bool include_pad = k.node.attrs.i("count_include_pad", 0) == 1;
  const size_t nd = p.nd;
  const std::vector<int64_t> in_strides = contiguous_strides(Shape(p.in));
  const int64_t L = static_cast<int64_t>(nd) - 1;
  const int64_t dil_last = p.geo.dilations[L];

  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* xs = x.data<T>();
    T* ys = y.data<T>();
    std::vector<int64_t> oidx(nd), st(nd), j0(nd), j1(nd), jidx(nd);
    for (int64_t pl = 0; pl < p.planes; ++pl) {
      const T* xp = xs + pl * p.in_plane;
      std::fill(oidx.begin(), oidx.end(), 0);
      for (int64_t o = 0; o < p.out_plane; ++o) {
        bool empty = false;
        int64_t count = 1;
        for (size_t d = 0; d < nd; ++d) {
          p.taps(d, oidx[d], st[d], j0[d], j1[d]);
          empty |= j0[d] >= j1[d];
          count *= include_pad ? p.padded_taps(d, st[d]) : j1[d] - j0[d];
        }
        T sum = T(0);
        if (!empty) {
          jidx = j0;
          for (;;) {
            int64_t off = 0;
            for (int64_t d = 0; d < L; ++d) off += (st[d] + jidx[d] * p.geo.dilations[d]) * in_strides[d];
            for (int64_t j = j0[L]; j < j1[L]; ++j) sum += xp[off + st[L] + j * dil_last];
            int64_t d = L - 1;
            for (; d >= 0; --d) {
              if (++jidx[d] < j1[d]) break;
              jidx[d] = j0[d];
            }
            if (d < 0) break;
          }
        }
        // A window entirely in padding has count 0 and yields NaN, as in the
        // ONNX reference implementation.
        ys[pl * p.out_plane + o] = sum / static_cast<T>(count);
        for (int64_t d = L; d >= 0; --d) {
          if (++oidx[d] < p.out[d]) break;
          oidx[d] = 0;
        }
      }
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(AveragePool, {.name = "AveragePool",
                                .min_inputs = 1, .max_inputs = 1,
                                .infer = anvil::ops::infer,
                                .flops = [](const anvil::InferContext& c) {
                                  int64_t k = 1;
                                  for (int64_t v : c.node.attrs.ints("kernel_shape")) k *= v;
                                  return anvil::ops::out_numel(c) * k;
                                },
                                .reference = anvil::ops::run})

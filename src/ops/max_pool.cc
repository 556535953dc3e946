// MaxPool: N-d max pooling with optional Indices output (int64 positions in
// the flattened input, row- or column-major per storage_order).
#include <limits>

#include "ops/pool_util.h"

namespace anvil::ops {
namespace {

constexpr std::initializer_list<DType> kTypes = {DType::kF32, DType::kF64, DType::kI8, DType::kU8};

Status infer(InferContext& c) {
  WindowGeometry geo;
  ANVIL_TRY(infer_pool(c, "MaxPool", kTypes, geo));
  int64_t storage_order = 0;
  ANVIL_TRY(c.node.attrs.get("storage_order", storage_order));
  if (storage_order != 0 && storage_order != 1) {
    return invalid_model("MaxPool: attribute 'storage_order' is " + std::to_string(storage_order) +
                         ", expected 0 (row major) or 1 (column major)");
  }
  if (c.outputs.size() > 1) c.out(1) = {DType::kI64, c.out(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  Tensor* ind = k.outputs.size() > 1 ? k.outputs[1] : nullptr;
  PoolPlan p;
  ANVIL_TRY(p.init(x, y, k.node.attrs));
  const bool col_major = k.node.attrs.i("storage_order", 0) == 1;
  const size_t nd = p.nd;
  const std::vector<int64_t> in_strides = contiguous_strides(Shape(p.in));
  // Column-major strides for Indices with storage_order=1.
  std::vector<int64_t> col_strides(nd, 1);
  for (size_t d = 1; d < nd; ++d) col_strides[d] = col_strides[d - 1] * p.in[d - 1];
  const int64_t L = static_cast<int64_t>(nd) - 1;
  const int64_t dil_last = p.geo.dilations[L];

  return dispatch_numeric(x.dtype(), [&]<class T>() {
    const T* xs = x.data<T>();
    T* ys = y.data<T>();
    int64_t* is = ind ? ind->data<int64_t>() : nullptr;
    std::vector<int64_t> oidx(nd), st(nd), j0(nd), j1(nd), jidx(nd);
    for (int64_t pl = 0; pl < p.planes; ++pl) {
      const T* xp = xs + pl * p.in_plane;
      std::fill(oidx.begin(), oidx.end(), 0);
      for (int64_t o = 0; o < p.out_plane; ++o) {
        bool empty = false;
        for (size_t d = 0; d < nd; ++d) {
          p.taps(d, oidx[d], st[d], j0[d], j1[d]);
          empty |= j0[d] >= j1[d];
        }
        // Padding never wins: it is -inf for max pooling, not zero.
        T best = std::numeric_limits<T>::lowest();
        int64_t best_i = -1;
        if (!empty) {
          jidx = j0;
          for (;;) {
            int64_t off = 0;
            for (int64_t d = 0; d < L; ++d) off += (st[d] + jidx[d] * p.geo.dilations[d]) * in_strides[d];
            for (int64_t j = j0[L]; j < j1[L]; ++j) {
              const int64_t i = off + st[L] + j * dil_last;
              // Strict > keeps the first maximum in scan order, as onnxruntime does.
              if (xp[i] > best || best_i < 0) {
                best = xp[i];
                best_i = i;
              }
            }
            int64_t d = L - 1;
            for (; d >= 0; --d) {
              if (++jidx[d] < j1[d]) break;
              jidx[d] = j0[d];
            }
            if (d < 0) break;
          }
        }
        ys[pl * p.out_plane + o] = best;
        if (is) {
          int64_t idx = -1;
          if (best_i >= 0) {
            int64_t within = best_i;
            if (col_major) {
              within = 0;
              for (size_t d = 0; d < nd; ++d) within += (best_i / in_strides[d] % p.in[d]) * col_strides[d];
            }
            idx = pl * p.in_plane + within;
          }
          is[pl * p.out_plane + o] = idx;
        }
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

ANVIL_REGISTER_OP(MaxPool, {.name = "MaxPool",
                            .min_inputs = 1, .max_inputs = 1,
                            .min_outputs = 1, .max_outputs = 2,
                            .infer = anvil::ops::infer,
                            .flops = [](const anvil::InferContext& c) {
                              int64_t k = 1;
                              for (int64_t v : c.node.attrs.ints("kernel_shape")) k *= v;
                              return anvil::ops::out_numel(c) * k;
                            },
                            .reference = anvil::ops::run})

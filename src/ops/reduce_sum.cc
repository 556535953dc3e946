// ReduceSum (opset 13): sum over the axes given as an optional constant
// input; no axes reduces everything unless noop_with_empty_axes=1.
#include <type_traits>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

struct Plan {
  std::vector<bool> reduced;
  bool keepdims = true;
  bool noop = false;
};

Status make_plan(const Attrs& attrs, const std::vector<int64_t>& axes, int64_t rank, const std::string& desc, Plan& p) {
  int64_t keep = 1, noop_empty = 0;
  ANVIL_TRY(attrs.get("keepdims", keep));
  ANVIL_TRY(attrs.get("noop_with_empty_axes", noop_empty));
  if ((keep != 0 && keep != 1) || (noop_empty != 0 && noop_empty != 1))
    return invalid_model("ReduceSum: attributes 'keepdims' and 'noop_with_empty_axes' must be 0 or 1");
  p.keepdims = keep == 1;
  p.noop = axes.empty() && noop_empty == 1;
  p.reduced.assign(static_cast<size_t>(rank), axes.empty() && !p.noop);
  for (int64_t a : axes) {
    Status s = normalize_axis(a, rank, "axes value");
    if (!s.is_ok()) return std::move(s).with_context("ReduceSum (axes " + int_list_str(axes) + ", data " + desc + ")");
    if (p.reduced[static_cast<size_t>(a)])
      return invalid_model("ReduceSum: 'axes' " + int_list_str(axes) + " repeats axis " + std::to_string(a));
    p.reduced[static_cast<size_t>(a)] = true;
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "ReduceSum", "data", {DType::kF32, DType::kF64, DType::kI32, DType::kI64}));
  const InputInfo& x = c.in(0);
  std::vector<int64_t> axes;
  if (c.has_input(1)) ANVIL_TRY(constant_ints(c, 1, "axes", axes));
  Plan p;
  ANVIL_TRY(make_plan(c.node.attrs, axes, static_cast<int64_t>(x.shape.rank()), type_desc(x), p));
  std::vector<int64_t> out;
  for (size_t d = 0; d < x.shape.rank(); ++d) {
    if (!p.reduced[d]) out.push_back(x.shape[d]);
    else if (p.keepdims) out.push_back(1);
  }
  c.out(0) = {x.dtype, Shape(std::move(out))};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes;
  if (k.has_input(1)) axes = k.in(1).to_i64_vector();
  Plan p;
  ANVIL_TRY(make_plan(k.node.attrs, axes, rank, x.desc(), p));
  // Output strides laid over the input's dims (0 on reduced axes).
  std::vector<int64_t> ost(static_cast<size_t>(rank), 0);
  for (int64_t d = rank - 1, s = 1; d >= 0; --d) {
    if (!p.reduced[d]) {
      ost[d] = s;
      s *= x.dim(d);
    }
  }
  return dispatch_numeric(x.dtype(), [&]<class T>() {
    const T* xs = x.data<T>();
    T* ys = y.data<T>();
    const int64_t on = y.numel(), n = x.numel();
    if (p.noop || rank == 0) {
      for (int64_t i = 0; i < on; ++i) ys[i] = xs[i];
      return;
    }
    // Double accumulators for floats: sums over whole feature maps.
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    std::vector<Acc> acc(static_cast<size_t>(on), Acc(0));
    std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
    int64_t off = 0;
    for (int64_t i = 0; i < n; ++i) {
      acc[static_cast<size_t>(off)] += static_cast<Acc>(xs[i]);
      for (int64_t d = rank - 1; d >= 0; --d) {
        off += ost[d];
        if (++idx[d] < x.dim(d)) break;
        off -= ost[d] * x.dim(d);
        idx[d] = 0;
      }
    }
    for (int64_t i = 0; i < on; ++i) ys[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(ReduceSum, {.name = "ReduceSum",
                              .min_inputs = 1, .max_inputs = 2,
                              .infer = anvil::ops::infer,
                              .flops = [](const anvil::InferContext& c) { return c.in(0).shape.numel(); },
                              .reference = anvil::ops::run})

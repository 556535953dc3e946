// ReduceMean: mean over `axes` (attribute, or constant second input as in
// opset 18); no axes reduces everything unless noop_with_empty_axes=1.
#include <limits>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

// Which axes of a rank-`rank` input are reduced; empty `reduced` with
// noop=true means the op is an identity.
struct ReducePlan {
  std::vector<bool> reduced;
  bool keepdims = true;
  bool noop = false;
};

Status read_flag(const Attrs& attrs, const char* name, int64_t def, bool& out) {
  int64_t v = def;
  ANVIL_TRY(attrs.get(name, v));
  if (v != 0 && v != 1) {
    return invalid_model(std::string("ReduceMean: attribute '") + name + "' is " + std::to_string(v) + ", expected 0 or 1");
  }
  out = v == 1;
  return Status::ok();
}

Status make_plan(const Attrs& attrs, const std::vector<int64_t>* axes_input, int64_t rank, const std::string& desc,
                 ReducePlan& p) {
  ANVIL_TRY(read_flag(attrs, "keepdims", 1, p.keepdims));
  bool noop_empty = false;
  ANVIL_TRY(read_flag(attrs, "noop_with_empty_axes", 0, noop_empty));
  std::vector<int64_t> axes;
  if (attrs.has("axes")) {
    if (axes_input) return invalid_model("ReduceMean: 'axes' given both as attribute and as input");
    ANVIL_TRY(attrs.get("axes", axes));
  } else if (axes_input) {
    axes = *axes_input;
  }
  p.reduced.assign(static_cast<size_t>(rank), axes.empty() && !noop_empty);
  p.noop = axes.empty() && noop_empty;
  const std::vector<int64_t> given = axes;
  for (int64_t& a : axes) {
    Status s = normalize_axis(a, rank, "axes value");
    if (!s.is_ok()) return std::move(s).with_context("ReduceMean (axes " + int_list_str(given) + ", data " + desc + ")");
    if (p.reduced[static_cast<size_t>(a)]) {
      return invalid_model("ReduceMean: 'axes' " + int_list_str(given) + " repeats axis " + std::to_string(a));
    }
    p.reduced[static_cast<size_t>(a)] = true;
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "ReduceMean", "data", {DType::kF32, DType::kF64},
                        {DType::kF16, DType::kBF16, DType::kI32, DType::kI64, DType::kI8, DType::kU8}));
  const InputInfo& x = c.in(0);
  std::vector<int64_t> axes_in;
  if (c.has_input(1)) ANVIL_TRY(constant_ints(c, 1, "axes", axes_in));
  ReducePlan p;
  ANVIL_TRY(make_plan(c.node.attrs, c.has_input(1) ? &axes_in : nullptr, static_cast<int64_t>(x.shape.rank()),
                      type_desc(x), p));
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
  std::vector<int64_t> axes_in;
  if (k.has_input(1)) axes_in = k.in(1).to_i64_vector();
  ReducePlan p;
  ANVIL_TRY(make_plan(k.node.attrs, k.has_input(1) ? &axes_in : nullptr, rank, x.desc(), p));
  // Output strides laid over the input's dims (0 on reduced axes), so every
  // input element knows its output slot without reshaping.
  std::vector<int64_t> ost(static_cast<size_t>(rank), 0);
  int64_t count = 1;
  for (int64_t d = rank - 1, s = 1; d >= 0; --d) {
    if (p.reduced[d]) {
      count *= x.dim(d);
    } else {
      ost[d] = s;
      s *= x.dim(d);
    }
  }
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* xs = x.data<T>();
    T* ys = y.data<T>();
    const int64_t on = y.numel();
    if (p.noop) {
      for (int64_t i = 0; i < on; ++i) ys[i] = xs[i];
      return;
    }
    // The mean of an empty set is NaN, as in numpy.
    if (rank == 0 || x.numel() == 0) {
      for (int64_t i = 0; i < on; ++i) ys[i] = rank == 0 ? xs[0] : std::numeric_limits<T>::quiet_NaN();
      return;
    }
    // Double accumulators: a mean over a whole feature map sums thousands of values.
    std::vector<double> acc(static_cast<size_t>(on), 0.0);
    const int64_t L = rank - 1, inner = x.dim(L), rows = x.numel() / inner;
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0;
      for (int64_t rem = r, d = L - 1; d >= 0; --d) {
        off += (rem % x.dim(d)) * ost[d];
        rem /= x.dim(d);
      }
      const T* xr = xs + r * inner;
      if (p.reduced[L]) {
        double s = 0.0;
        for (int64_t i = 0; i < inner; ++i) s += xr[i];
        acc[off] += s;
      } else {
        double* a = acc.data() + off;
        for (int64_t i = 0; i < inner; ++i) a[i] += xr[i];
      }
    }
    for (int64_t i = 0; i < on; ++i) ys[i] = static_cast<T>(acc[i] / static_cast<double>(count));
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(ReduceMean, {.name = "ReduceMean",
                               .min_inputs = 1, .max_inputs = 2,
                               .infer = anvil::ops::infer,
                               .flops = [](const anvil::InferContext& c) { return c.in(0).shape.numel(); },
                               .reference = anvil::ops::run})

// Slice: inputs (data, starts, ends, axes?, steps?), ONNX opset 13 semantics
// with out-of-range starts/ends clamped (INT64_MAX / INT64_MIN mean "to the end").
#include <algorithm>
#include <limits>

#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

// Per input dimension: first element, step between elements, element count.
struct SliceDim {
  int64_t start = 0, step = 1, count = 0;
};

Status resolve(const Shape& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
               std::vector<int64_t> axes, std::vector<int64_t> steps, std::vector<SliceDim>& dims) {
  const int64_t rank = static_cast<int64_t>(in.rank());
  if (starts.size() != ends.size()) {
    return invalid_model("'starts' " + ints_str(starts) + " and 'ends' " + ints_str(ends) +
                         " differ in length");
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  } else if (axes.size() != starts.size()) {
    return invalid_model("'axes' " + ints_str(axes) + " and 'starts' " + ints_str(starts) + " differ in length");
  }
  if (steps.empty()) {
    steps.assign(starts.size(), 1);
  } else if (steps.size() != starts.size()) {
    return invalid_model("'steps' " + ints_str(steps) + " and 'starts' " + ints_str(starts) + " differ in length");
  }
  dims.assign(in.rank(), SliceDim{});
  std::vector<bool> seen(in.rank(), false);
  for (size_t i = 0; i < in.rank(); ++i) dims[i].count = in[i];
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes[i];
    ANVIL_TRY(normalize_axis(axis, rank, "'axes' entry"));
    const size_t ax = static_cast<size_t>(axis);
    if (seen[ax]) return invalid_model("'axes' " + ints_str(axes) + " names axis " + std::to_string(axis) + " twice");
    seen[ax] = true;
    const int64_t step = steps[i];
    if (step == 0) return invalid_model("'steps' " + ints_str(steps) + " contains a zero step");
    const int64_t d = in[ax];
    SliceDim& sd = dims[ax];
    sd.step = step;
    if (d < 0) {  // unbound dimension: the result is unknown too
      sd.count = -1;
      continue;
    }
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += d;  // cannot overflow: s < 0 <= d
    if (e < 0) e += d;
    if (d == 0) {
      sd.start = 0;
      sd.count = 0;
    } else if (step > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      sd.start = s;
      sd.count = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      const int64_t neg = step == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -step;
      sd.start = s;
      sd.count = s > e ? (s - e - 1) / neg + 1 : 0;
    }
    // A huge step over a single element would overflow offset arithmetic.
    if (sd.count <= 1) sd.step = 1;
  }
  return Status::ok();
}

Status read_optional(const InferContext& c, size_t i, const char* what, std::vector<int64_t>& out) {
  out.clear();
  if (!c.has_input(i)) return Status::ok();
  return constant_ints(c, i, what, out);
}

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Slice: input 0 is missing");
  std::vector<int64_t> starts, ends, axes, steps;
  ANVIL_TRY(constant_ints(c, 1, "starts", starts));
  ANVIL_TRY(constant_ints(c, 2, "ends", ends));
  ANVIL_TRY(read_optional(c, 3, "axes", axes));
  ANVIL_TRY(read_optional(c, 4, "steps", steps));
  std::vector<SliceDim> dims;
  Status s = resolve(c.in(0).shape, starts, ends, axes, steps, dims);
  if (!s.is_ok()) return std::move(s).with_context("Slice: data " + info_desc(c.in(0)));
  Shape out = c.in(0).shape;
  for (size_t i = 0; i < dims.size(); ++i) out[i] = dims[i].count;
  c.out(0) = {c.in(0).dtype, out};
  return Status::ok();
}

std::vector<int64_t> optional_ints(const KernelContext& k, size_t i) {
  return k.has_input(i) ? k.in(i).to_i64_vector() : std::vector<int64_t>{};
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  std::vector<SliceDim> dims;
  Status s = resolve(x.shape(), k.in(1).to_i64_vector(), k.in(2).to_i64_vector(), optional_ints(k, 3),
                     optional_ints(k, 4), dims);
  if (!s.is_ok()) return std::move(s).with_context("Slice");
  if (y.numel() == 0) return Status::ok();
  if (x.rank() == 0) return copy_input_to_output(k);
  const std::vector<int64_t> xs = contiguous_strides(x.shape());
  const size_t r = dims.size();
  const SliceDim& last = dims[r - 1];
  return dispatch_elem_size(dtype_size(x.dtype()), [&]<class U>() {
    const U* src = static_cast<const U*>(x.raw());
    U* dst = static_cast<U*>(y.raw());
    // Offset of the current row's first element; rows are the last dimension.
    int64_t base = 0;
    for (size_t d = 0; d < r; ++d) base += dims[d].start * xs[d];
    std::vector<int64_t> idx(r, 0);
    const int64_t rows = y.numel() / last.count;
    for (int64_t row = 0; row < rows; ++row) {
      const U* p = src + base;
      for (int64_t j = 0; j < last.count; ++j) *dst++ = p[j * last.step];
      for (size_t d = r - 1; d-- > 0;) {
        base += dims[d].step * xs[d];
        if (++idx[d] < dims[d].count) break;
        base -= dims[d].step * xs[d] * dims[d].count;
        idx[d] = 0;
      }
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Slice, {.name = "Slice",
                          .min_inputs = 3, .max_inputs = 5,
                          .infer = anvil::ops::infer,
                          .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                          .reference = anvil::ops::run})

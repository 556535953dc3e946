// Shared by MaxPool and AveragePool: attribute validation / shape inference
// and the per-window tap ranges of the reference kernels.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "ops/nn_util.h"

namespace anvil::ops {

// Validates X and kernel_shape, resolves the window and fills output 0.
inline Status infer_pool(InferContext& c, const char* op, std::initializer_list<DType> types, WindowGeometry& geo) {
  ANVIL_TRY(check_dtype(c, 0, op, "X", types));
  const InputInfo& x = c.in(0);
  if (x.shape.rank() < 3) {
    return invalid_model(std::string(op) + ": X " + type_desc(x) +
                         " must have rank >= 3 (N, C and at least one spatial dim)");
  }
  std::vector<int64_t> kernel;
  if (!c.node.attrs.has("kernel_shape")) {
    return invalid_model(std::string(op) + ": required attribute 'kernel_shape' is missing");
  }
  ANVIL_TRY(c.node.attrs.get("kernel_shape", kernel));
  for (int64_t k : kernel) {
    if (k <= 0) return invalid_model(std::string(op) + ": attribute 'kernel_shape' " + int_list_str(kernel) + " must be positive");
  }
  std::vector<int64_t> in_spatial(x.shape.dims().begin() + 2, x.shape.dims().end());
  Status s = resolve_window(in_spatial, kernel, c.node.attrs, /*ceil_mode_allowed=*/true, geo);
  if (!s.is_ok()) return std::move(s).with_context(std::string(op) + " (X " + type_desc(x) + ")");
  std::vector<int64_t> out = {x.shape[0], x.shape[1]};
  out.insert(out.end(), geo.out.begin(), geo.out.end());
  c.out(0) = {x.dtype, Shape(std::move(out))};
  return Status::ok();
}

// Geometry of one pooling run, with helpers to find, for an output
// position, which kernel taps land inside the input.
struct PoolPlan {
  size_t nd = 0;
  std::vector<int64_t> in, out;
  WindowGeometry geo;
  int64_t in_plane = 1, out_plane = 1, planes = 0;

  Status init(const Tensor& x, const Tensor& y, const Attrs& attrs) {
    nd = x.rank() - 2;
    in.assign(x.shape().dims().begin() + 2, x.shape().dims().end());
    out.assign(y.shape().dims().begin() + 2, y.shape().dims().end());
    ANVIL_TRY(resolve_window(in, attrs.ints("kernel_shape"), attrs, true, geo));
    for (size_t d = 0; d < nd; ++d) {
      in_plane *= in[d];
      out_plane *= out[d];
    }
    planes = x.dim(0) * x.dim(1);
    return Status::ok();
  }

  // For spatial dim d and output index o: window start in input coordinates
  // and the half-open tap range [j0, j1) whose positions are inside the input.
  void taps(size_t d, int64_t o, int64_t& start, int64_t& j0, int64_t& j1) const {
    const int64_t dil = geo.dilations[d], k = geo.kernel[d];
    start = o * geo.strides[d] - geo.pad_begin[d];
    j0 = start >= 0 ? 0 : (-start + dil - 1) / dil;
    const int64_t last = in[d] - 1 - start;  // largest j*dil allowed
    j1 = last < 0 ? 0 : std::min<int64_t>(k, last / dil + 1);
    if (j1 < j0) j1 = j0;
  }

  // Taps of dim d inside the explicitly padded input [-pad_begin, in + pad_end):
  // the divisor of AveragePool with count_include_pad. Taps past the end
  // padding (possible with ceil_mode) never count.
  int64_t padded_taps(size_t d, int64_t start) const {
    const int64_t dil = geo.dilations[d], k = geo.kernel[d];
    const int64_t lo = -geo.pad_begin[d], hi = in[d] + geo.pad_end[d];
    int64_t n = 0;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t p = start + j * dil;
      n += p >= lo && p < hi;
    }
    return n;
  }
};

}  // namespace anvil::ops

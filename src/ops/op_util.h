// Helpers shared by op definitions: axis handling, broadcasting, pooling
// and convolution geometry, dtype dispatch for reference kernels.
#pragma once
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "ir/op_registry.h"

namespace anvil::ops {

// Normalises a possibly negative axis against `rank`; error names the op.
Status normalize_axis(int64_t& axis, int64_t rank, const char* what = "axis");

// Numpy-style multidirectional broadcasting of two or more shapes.
Status broadcast_shapes(const std::vector<Shape>& shapes, Shape& out);
// Strides (in elements) of `in` viewed as broadcast to `out` (0 on broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);
// Row-major contiguous strides.
std::vector<int64_t> contiguous_strides(const Shape& s);

// Spatial geometry shared by Conv, MaxPool, AveragePool (NCHW, any number of
// spatial dims). Resolves auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER),
// pads (begin..., end...), strides, dilations and ceil_mode into explicit
// begin/end pads and output sizes.
struct WindowGeometry {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end, out;
};
Status resolve_window(const std::vector<int64_t>& in_spatial, const std::vector<int64_t>& kernel,
                      const Attrs& attrs, bool ceil_mode_allowed, WindowGeometry& g);

// Checks that input `i` exists and has one of the given dtypes.
Status expect_dtype(const InferContext& c, size_t i, std::initializer_list<DType> allowed);
// Checks rank of input i.
Status expect_rank(const InferContext& c, size_t i, size_t rank);
Status expect_min_rank(const InferContext& c, size_t i, size_t rank);

// Reads a constant int64-like input (e.g. Reshape's shape); error when it is
// not known at compile time ("requires a constant 'shape' input").
Status constant_ints(const InferContext& c, size_t i, const char* what, std::vector<int64_t>& out);

// Calls f.template operator()<T>() with T the C++ type of `t`, for the
// numeric dtypes reference kernels support (f32, f64, i8, u8, i32, i64, bool).
// f16/bf16 are not computed on directly.
template <class F>
Status dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::kF32: f.template operator()<float>(); return Status::ok();
    case DType::kF64: f.template operator()<double>(); return Status::ok();
    case DType::kI8: f.template operator()<int8_t>(); return Status::ok();
    case DType::kU8: f.template operator()<uint8_t>(); return Status::ok();
    case DType::kI32: f.template operator()<int32_t>(); return Status::ok();
    case DType::kI64: f.template operator()<int64_t>(); return Status::ok();
    case DType::kBool: f.template operator()<bool>(); return Status::ok();
    default: return unsupported(std::string("dtype ") + dtype_name(t) + " is not supported by this kernel");
  }
}

// Flop helpers.
inline int64_t out_numel(const InferContext& c, size_t i = 0) { return c.outputs[i].shape.numel(); }

}  // namespace anvil::ops

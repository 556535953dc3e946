// Gather: picks entries of `data` along `axis` by `indices` (i32/i64,
// negative counts from the end); output shape is
// data[:axis] + indices.shape + data[axis+1:]. Any data dtype.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status check_indices(const std::vector<int64_t>& idx, int64_t dim, const std::string& what) {
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < -dim || idx[i] >= dim) {
      return invalid_argument("Gather: index " + std::to_string(idx[i]) + " (at flat position " + std::to_string(i) +
                              " of indices) is out of range for " + what + " (valid: " + std::to_string(-dim) + ".." +
                              std::to_string(dim - 1) + ")");
    }
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Gather: input 0 (data) is missing");
  ANVIL_TRY(expect_dtype(c, 1, {DType::kI64, DType::kI32}));
  const Shape& data = c.in(0).shape;
  const Shape& indices = c.in(1).shape;
  int64_t axis = 0;
  ANVIL_TRY(get_attr(c, "axis", axis));
  Status s = normalize_axis(axis, static_cast<int64_t>(data.rank()));
  if (!s.is_ok()) return std::move(s).with_context("Gather: data " + info_desc(c.in(0)));
  const size_t ax = static_cast<size_t>(axis);
  if (c.in(1).constant != nullptr && data[ax] >= 0) {
    ANVIL_TRY(check_indices(c.in(1).constant->to_i64_vector(), data[ax],
                            "axis " + std::to_string(axis) + " of data " + info_desc(c.in(0))));
  }
  std::vector<int64_t> out(data.dims().begin(), data.dims().begin() + axis);
  out.insert(out.end(), indices.dims().begin(), indices.dims().end());
  out.insert(out.end(), data.dims().begin() + axis + 1, data.dims().end());
  c.out(0) = {c.in(0).dtype, Shape(std::move(out))};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  int64_t axis = k.node.attrs.i("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(x.rank());
  const size_t ax = static_cast<size_t>(axis);
  const int64_t dim = x.dim(ax);
  const std::vector<int64_t> idx = k.in(1).to_i64_vector();
  ANVIL_TRY(check_indices(idx, dim, "axis " + std::to_string(axis) + " of data " + x.desc()));
  const size_t esize = dtype_size(x.dtype());
  const int64_t outer = dims_product(x.shape(), 0, ax);
  const size_t block = static_cast<size_t>(dims_product(x.shape(), ax + 1, x.rank())) * esize;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i : idx) {
      const int64_t row = o * dim + (i < 0 ? i + dim : i);
      copy_bytes(dst, src + static_cast<size_t>(row) * block, block);
      dst += block;
    }
  }
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Gather, {.name = "Gather",
                           .min_inputs = 2, .max_inputs = 2,
                           .infer = anvil::ops::infer,
                           .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                           .reference = anvil::ops::run})

// Split: cuts input 0 along `axis` into one piece per node output, sized by
// the optional `split` input or equal otherwise (opset 13-17 semantics: an
// equal split must divide the dimension exactly).
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Split: input 0 is missing");
  const InputInfo& x = c.in(0);
  int64_t axis = 0;
  ANVIL_TRY(get_attr(c, "axis", axis));
  Status s = normalize_axis(axis, static_cast<int64_t>(x.shape.rank()));
  if (!s.is_ok()) return std::move(s).with_context("Split: " + input_str(c, 0));
  const size_t ax = static_cast<size_t>(axis);
  const int64_t dim = x.shape[ax];
  const size_t n = c.outputs.size();
  std::vector<int64_t> sizes;
  if (c.has_input(1)) {
    ANVIL_TRY(constant_ints(c, 1, "split", sizes));
    if (sizes.size() != n) {
      return invalid_model("Split: 'split' " + ints_str(sizes) + " has " + std::to_string(sizes.size()) +
                           " entries but the node has " + std::to_string(n) + " outputs");
    }
    int64_t total = 0;
    for (int64_t v : sizes) {
      if (v < 0) return invalid_model("Split: 'split' " + ints_str(sizes) + " has a negative size");
      total += v;
    }
    if (dim >= 0 && total != dim) {
      return invalid_argument("Split: 'split' " + ints_str(sizes) + " sums to " + std::to_string(total) +
                              " but axis " + std::to_string(axis) + " of " + input_str(c, 0) + " is " +
                              std::to_string(dim));
    }
  } else if (dim < 0) {
    sizes.assign(n, -1);
  } else {
    if (dim % static_cast<int64_t>(n) != 0) {
      return invalid_argument("Split: axis " + std::to_string(axis) + " of " + input_str(c, 0) + " has size " +
                              std::to_string(dim) + ", which does not split evenly into " + std::to_string(n) +
                              " outputs");
    }
    sizes.assign(n, dim / static_cast<int64_t>(n));
  }
  for (size_t i = 0; i < n; ++i) {
    Shape s_out = x.shape;
    s_out[ax] = sizes[i];
    c.out(i) = {x.dtype, s_out};
  }
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  int64_t axis = k.node.attrs.i("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(x.rank());
  const size_t ax = static_cast<size_t>(axis);
  const size_t esize = dtype_size(x.dtype());
  const int64_t outer = dims_product(x.shape(), 0, ax);
  const size_t in_block = static_cast<size_t>(dims_product(x.shape(), ax, x.rank())) * esize;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  size_t offset = 0;  // byte offset of the current piece inside one outer block
  for (Tensor* y : k.outputs) {
    if (y == nullptr) return internal_error("Split: an output was not allocated");
    const size_t block = static_cast<size_t>(dims_product(y->shape(), ax, y->rank())) * esize;
    auto* dst = static_cast<uint8_t*>(y->raw());
    for (int64_t o = 0; o < outer; ++o) {
      copy_bytes(dst + static_cast<size_t>(o) * block, src + static_cast<size_t>(o) * in_block + offset, block);
    }
    offset += block;
  }
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Split, {.name = "Split",
                          .min_inputs = 1, .max_inputs = 2,
                          .min_outputs = 1, .max_outputs = -1,
                          .infer = anvil::ops::infer,
                          .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                          .reference = anvil::ops::run})

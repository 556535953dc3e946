// Tile: output dim d = input dim d * repeats[d]; `repeats` is a constant
// int64 input with one entry per input dimension.
#include <cstring>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Tile: required input 'input' is missing");
  if (!c.has_input(1)) return invalid_model("Tile: required input 'repeats' is missing");
  const InputInfo& x = c.in(0);
  std::vector<int64_t> reps;
  ANVIL_TRY(constant_ints(c, 1, "repeats", reps));
  if (reps.size() != x.shape.rank())
    return invalid_model("Tile: 'repeats' " + int_list_str(reps) + " has " + std::to_string(reps.size()) +
                         " entries but the input " + type_desc(x) + " has rank " + std::to_string(x.shape.rank()));
  std::vector<int64_t> out;
  for (size_t d = 0; d < reps.size(); ++d) {
    if (reps[d] < 0) return invalid_model("Tile: 'repeats' " + int_list_str(reps) + " has a negative entry");
    out.push_back(x.shape[d] * reps[d]);
  }
  c.out(0) = {x.dtype, Shape(std::move(out))};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  const size_t r = x.rank();
  const size_t es = dtype_size(x.dtype());
  if (y.numel() == 0) return Status::ok();
  if (r == 0) {
    std::memcpy(y.raw(), x.raw(), es);
    return Status::ok();
  }
  const std::vector<int64_t> xst = contiguous_strides(x.shape());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(y.raw());
  // Output rows along the last dim: each is the input row repeated.
  const int64_t in_last = x.dim(r - 1), out_last = y.dim(r - 1);
  const int64_t rows = y.numel() / out_last;
  std::vector<int64_t> idx(r, 0);
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = 0;
    for (int64_t rem = row, d = static_cast<int64_t>(r) - 2; d >= 0; --d) {
      off += (rem % y.dim(d)) % x.dim(d) * xst[d];
      rem /= y.dim(d);
    }
    char* out = dst + static_cast<size_t>(row * out_last) * es;
    for (int64_t j = 0; j < out_last; j += in_last)
      std::memcpy(out + static_cast<size_t>(j) * es, src + static_cast<size_t>(off) * es, static_cast<size_t>(in_last) * es);
  }
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Tile, {.name = "Tile",
                         .min_inputs = 2, .max_inputs = 2,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext&) { return int64_t{0}; },
                         .reference = anvil::ops::run})

// Transpose: output dim i is input dim perm[i]; perm defaults to reversed axes.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status resolve_perm(const Attrs& attrs, size_t rank, std::vector<int64_t>& perm) {
  perm.clear();
  ANVIL_TRY(attrs.get("perm", perm));
  if (!attrs.has("perm")) {
    for (size_t i = rank; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
    return Status::ok();
  }
  if (perm.size() != rank) {
    return invalid_model("perm " + ints_str(perm) + " has " + std::to_string(perm.size()) +
                         " entries for a rank-" + std::to_string(rank) + " input");
  }
  std::vector<bool> seen(rank, false);
  for (int64_t& p : perm) {
    const int64_t orig = p;
    ANVIL_TRY(normalize_axis(p, static_cast<int64_t>(rank), "perm entry"));
    if (seen[static_cast<size_t>(p)]) {
      return invalid_model("perm " + ints_str(perm) + " is not a permutation (" + std::to_string(orig) +
                           " repeats)");
    }
    seen[static_cast<size_t>(p)] = true;
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Transpose: input 0 is missing");
  const Shape& x = c.in(0).shape;
  std::vector<int64_t> perm;
  Status s = resolve_perm(c.node.attrs, x.rank(), perm);
  if (!s.is_ok()) return std::move(s).with_context("Transpose: " + input_str(c, 0));
  Shape out = x;
  for (size_t i = 0; i < perm.size(); ++i) out[i] = x[static_cast<size_t>(perm[i])];
  c.out(0) = {c.in(0).dtype, out};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  std::vector<int64_t> perm;
  ANVIL_TRY(resolve_perm(k.node.attrs, x.rank(), perm));
  if (y.numel() == 0) return Status::ok();
  const size_t r = x.rank();
  if (r == 0) return copy_input_to_output(k);
  const std::vector<int64_t> xs = contiguous_strides(x.shape());
  // Input stride for each output dimension, so the output is written in order.
  std::vector<int64_t> st(r);
  for (size_t i = 0; i < r; ++i) st[i] = xs[static_cast<size_t>(perm[i])];
  const Shape& ys = y.shape();
  return dispatch_elem_size(dtype_size(x.dtype()), [&]<class U>() {
    const U* src = static_cast<const U*>(x.raw());
    U* dst = static_cast<U*>(y.raw());
    const int64_t inner = ys[r - 1], inner_stride = st[r - 1];
    std::vector<int64_t> idx(r, 0);
    int64_t base = 0;
    for (int64_t row = 0, rows = y.numel() / inner; row < rows; ++row) {
      for (int64_t j = 0; j < inner; ++j) *dst++ = src[base + j * inner_stride];
      for (size_t d = r - 1; d-- > 0;) {
        base += st[d];
        if (++idx[d] < ys[d]) break;
        base -= st[d] * ys[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Transpose, {.name = "Transpose",
                              .min_inputs = 1, .max_inputs = 1,
                              .infer = anvil::ops::infer,
                              .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                              .reference = anvil::ops::run})

// Reshape: inputs (data, shape). In `shape`, 0 copies the input dimension at
// the same index (unless allowzero=1, where 0 is a literal zero) and one -1
// is inferred from the element count.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Reshape: input 0 is missing");
  const Shape& x = c.in(0).shape;
  std::vector<int64_t> spec;
  ANVIL_TRY(constant_ints(c, 1, "shape", spec));
  int64_t allowzero = 0;
  ANVIL_TRY(get_attr(c, "allowzero", allowzero));
  const std::string ctx = "Reshape: cannot reshape " + input_str(c, 0) + " to " + ints_str(spec);
  std::vector<int64_t> out(spec.size());
  int64_t infer_at = -1;
  bool has_zero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t v = spec[i];
    if (v == -1) {
      if (infer_at >= 0) return invalid_model(ctx + ": more than one -1");
      infer_at = static_cast<int64_t>(i);
      out[i] = -1;
    } else if (v < -1) {
      return invalid_model(ctx + ": negative dimension " + std::to_string(v));
    } else if (v == 0 && allowzero == 0) {
      if (i >= x.rank()) return invalid_model(ctx + ": 0 at index " + std::to_string(i) + " has no input dimension to copy");
      out[i] = x[i];
    } else {
      if (v == 0) has_zero = true;
      out[i] = v;
    }
  }
  if (has_zero && infer_at >= 0) return invalid_model(ctx + ": with allowzero=1, 0 and -1 cannot both appear");
  const int64_t in_numel = dims_product(x, 0, x.rank());
  int64_t known = 1;
  bool unknown = false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<int64_t>(i) == infer_at) continue;
    if (out[i] < 0) {
      unknown = true;  // a copied unbound dimension
    } else {
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    const size_t at = static_cast<size_t>(infer_at);
    if (in_numel < 0 || unknown) {
      out[at] = -1;
    } else if (known == 0 || in_numel % known != 0) {
      return invalid_argument(ctx + ": the -1 dimension cannot be inferred (" + std::to_string(in_numel) +
                              " elements, " + std::to_string(known) + " from the other dimensions)");
    } else {
      out[at] = in_numel / known;
    }
  } else if (in_numel >= 0 && !unknown && known != in_numel) {
    return invalid_argument(ctx + ": element counts differ (" + std::to_string(in_numel) + " vs " +
                            std::to_string(known) + ")");
  }
  c.out(0) = {c.in(0).dtype, Shape(std::move(out))};
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Reshape, {.name = "Reshape",
                            .min_inputs = 2, .max_inputs = 2,
                            .infer = anvil::ops::infer,
                            .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                            .reference = anvil::ops::copy_input_to_output})

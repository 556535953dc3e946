// Dropout (inference only): inputs (data, ratio?, training_mode?); output 0
// is data unchanged, the optional output 1 (mask) is all true.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Dropout: input 0 is missing");
  if (c.has_input(1)) {
    ANVIL_TRY(expect_dtype(c, 1, {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}));
  }
  if (c.has_input(2)) {
    ANVIL_TRY(expect_dtype(c, 2, {DType::kBool}));
    // Training mode drops values at random; only a constant false is inference.
    const Tensor* t = c.in(2).constant;
    if (t == nullptr || t->numel() != 1) {
      return unsupported("Dropout: 'training_mode' (" + input_str(c, 2) +
                         ") must be a constant false; anvil runs inference only");
    }
    if (*t->data<bool>()) return unsupported("Dropout: training_mode=true is not supported; anvil runs inference only");
  }
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  if (c.outputs.size() > 1) c.out(1) = {DType::kBool, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  ANVIL_TRY(copy_input_to_output(k));
  if (k.outputs.size() > 1 && k.outputs[1] != nullptr) {
    Tensor& mask = *k.outputs[1];
    bool* m = mask.data<bool>();
    for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = true;
  }
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Dropout, {.name = "Dropout",
                            .min_inputs = 1, .max_inputs = 3,
                            .min_outputs = 1, .max_outputs = 2,
                            .infer = anvil::ops::infer,
                            .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                            .reference = anvil::ops::run})

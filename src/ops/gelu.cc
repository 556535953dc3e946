// Gelu (ONNX opset 20): approximate="none": y = 0.5 x (1 + erf(x / sqrt 2));
// "tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#include "ops/unary_math.h"

namespace anvil::ops {
namespace {

Status infer(InferContext& c) {
  std::string approx = "none";
  ANVIL_TRY(c.node.attrs.get("approximate", approx));
  if (approx != "none" && approx != "tanh")
    return invalid_model("Gelu: attribute 'approximate' is '" + approx + "', expected 'none' or 'tanh'");
  return infer_float_unary(c, "Gelu");
}

Status run(KernelContext& k) {
  if (k.node.attrs.s("approximate", "none") == "tanh") {
    return run_float_unary(k, []<class T>(T v) {
      const T c = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
      return T(0.5) * v * (T(1) + std::tanh(c * (v + static_cast<T>(0.044715) * v * v * v)));
    });
  }
  return run_float_unary(k, []<class T>(T v) { return T(0.5) * v * (T(1) + std::erf(v * static_cast<T>(0.7071067811865476))); });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Gelu, {.name = "Gelu",
                         .min_inputs = 1, .max_inputs = 1,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext& c) { return 8 * anvil::ops::out_numel(c); },
                         .reference = anvil::ops::run})

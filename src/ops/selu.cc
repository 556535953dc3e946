// Selu: y = gamma * (x > 0 ? x : alpha * (exp(x) - 1)); ONNX defaults
// (the self-normalising constants, which MXNet's LeakyReLU selu also uses).
#include "ops/unary_math.h"

namespace anvil::ops {
namespace {

constexpr float kAlpha = 1.67326319217681884765625f;
constexpr float kGamma = 1.05070102214813232421875f;

Status infer(InferContext& c) {
  float a = kAlpha, g = kGamma;
  ANVIL_TRY(c.node.attrs.get("alpha", a));
  ANVIL_TRY(c.node.attrs.get("gamma", g));
  return infer_float_unary(c, "Selu");
}

Status run(KernelContext& k) {
  const double alpha = k.node.attrs.f("alpha", kAlpha), gamma = k.node.attrs.f("gamma", kGamma);
  return run_float_unary(k, [&]<class T>(T v) {
    return static_cast<T>(gamma) * (v > T(0) ? v : static_cast<T>(alpha) * std::expm1(v));
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Selu, {.name = "Selu",
                         .min_inputs = 1, .max_inputs = 1,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext& c) { return 4 * anvil::ops::out_numel(c); },
                         .reference = anvil::ops::run})

// BatchNormalization (inference): y = scale * (x - mean) / sqrt(var + eps) + B
// per channel (axis 1).
#include <cmath>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

constexpr const char* kNames[] = {"X", "scale", "B", "input_mean", "input_var"};

Status infer(InferContext& c) {
  int present_outputs = 0;
  for (ValueId o : c.node.outputs) present_outputs += o != kNoValue;
  if (present_outputs > 1) {
    return unsupported("BatchNormalization: training outputs (running mean/var, saved statistics) are not "
                       "supported; the node has " + std::to_string(present_outputs) + " outputs");
  }
  int64_t spatial = 1, training_mode = 0;
  float epsilon = 1e-5f, momentum = 0.9f;
  ANVIL_TRY(c.node.attrs.get("spatial", spatial));
  ANVIL_TRY(c.node.attrs.get("training_mode", training_mode));
  ANVIL_TRY(c.node.attrs.get("epsilon", epsilon));
  ANVIL_TRY(c.node.attrs.get("momentum", momentum));
  if (spatial == 0) return unsupported("BatchNormalization: attribute spatial=0 (per-element statistics) is not supported");
  if (spatial != 1) return invalid_model("BatchNormalization: attribute 'spatial' is " + std::to_string(spatial) + ", expected 0 or 1");
  if (training_mode != 0) return unsupported("BatchNormalization: training_mode=1 is not supported (inference only)");
  if (!(epsilon >= 0.0f)) return invalid_model("BatchNormalization: attribute 'epsilon' is " + std::to_string(epsilon) + ", must be >= 0");

  ANVIL_TRY(check_dtype(c, 0, "BatchNormalization", "X", {DType::kF32, DType::kF64}));
  const InputInfo& x = c.in(0);
  if (x.shape.rank() < 2) {
    return invalid_model("BatchNormalization: X " + type_desc(x) + " must have rank >= 2 (N, C, ...)");
  }
  const int64_t C = x.shape[1];
  for (size_t i = 1; i < 5; ++i) {
    ANVIL_TRY(check_dtype(c, i, "BatchNormalization", kNames[i], {DType::kF32, DType::kF64}));
    if (c.in(i).dtype != x.dtype) {
      // Opset 15 allows parameters in another float type than X.
      return unsupported(std::string("BatchNormalization: input '") + kNames[i] + "' " + type_desc(c.in(i)) +
                         " has a different dtype than X " + type_desc(x));
    }
    const Shape& s = c.in(i).shape;
    if (s.rank() != 1 || (dim_known(C) && dim_known(s[0]) && s[0] != C)) {
      return invalid_model(std::string("BatchNormalization: input '") + kNames[i] + "' " + type_desc(c.in(i)) +
                           " must have shape [" + std::to_string(C) + "] (channels of X " + type_desc(x) + ")");
    }
  }
  c.out(0) = {x.dtype, x.shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  const double eps = k.node.attrs.f("epsilon", 1e-5f);
  const int64_t N = x.dim(0), C = x.dim(1);
  const int64_t inner = C == 0 || N == 0 ? 0 : x.numel() / (N * C);
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* scale = k.in(1).data<T>();
    const T* bias = k.in(2).data<T>();
    const T* mean = k.in(3).data<T>();
    const T* var = k.in(4).data<T>();
    // Fold to y = x * a + b per channel so the inner loop is one FMA.
    std::vector<T> a(static_cast<size_t>(C)), b(static_cast<size_t>(C));
    for (int64_t ch = 0; ch < C; ++ch) {
      const double s = static_cast<double>(scale[ch]) / std::sqrt(static_cast<double>(var[ch]) + eps);
      a[ch] = static_cast<T>(s);
      b[ch] = static_cast<T>(static_cast<double>(bias[ch]) - static_cast<double>(mean[ch]) * s);
    }
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t ch = 0; ch < C; ++ch) {
        const T av = a[ch], bv = b[ch];
        const int64_t off = (n * C + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[off + i] = src[off + i] * av + bv;
      }
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(BatchNormalization, {.name = "BatchNormalization",
                                       .min_inputs = 5, .max_inputs = 5,
                                       .min_outputs = 1, .max_outputs = 5,
                                       .infer = anvil::ops::infer,
                                       .flops = [](const anvil::InferContext& c) { return 2 * anvil::ops::out_numel(c); },
                                       .reference = anvil::ops::run})

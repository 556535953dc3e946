// Clip: y = min(max(x, min), max) with optional scalar bound inputs.
#include <limits>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

constexpr std::initializer_list<DType> kTypes = {DType::kF32, DType::kF64, DType::kI8,
                                                 DType::kU8,  DType::kI32, DType::kI64};

Status check_bound(const InferContext& c, size_t i, const char* name) {
  if (!c.has_input(i)) return Status::ok();
  ANVIL_TRY(check_same_dtype(c, i, "Clip", "input", name));
  const Shape& s = c.in(i).shape;
  // ONNX says scalar; exporters also write [1], which is unambiguous.
  if (s.rank() > 1 || (s.is_static() && s.numel() != 1)) {
    return invalid_model(std::string("Clip: '") + name + "' must be a scalar, got " + type_desc(c.in(i)));
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "Clip", "input", kTypes, {DType::kF16, DType::kBF16}));
  ANVIL_TRY(check_bound(c, 1, "min"));
  ANVIL_TRY(check_bound(c, 2, "max"));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  return dispatch_numeric(x.dtype(), [&]<class T>() {
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if (std::numeric_limits<T>::has_infinity) {
      lo = -std::numeric_limits<T>::infinity();
      hi = std::numeric_limits<T>::infinity();
    }
    if (k.has_input(1) && k.in(1).numel() > 0) lo = k.in(1).data<T>()[0];
    if (k.has_input(2) && k.in(2).numel() > 0) hi = k.in(2).data<T>()[0];
    const T* __restrict src = x.data<T>();
    T* __restrict dst = y.data<T>();
    // Compare-and-replace (not std::clamp) keeps NaN inputs NaN and gives
    // `max` everywhere when min > max, as ONNX specifies.
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      T v = src[i];
      v = v < lo ? lo : v;
      dst[i] = v > hi ? hi : v;
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Clip, {.name = "Clip",
                         .min_inputs = 1, .max_inputs = 3,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext& c) { return anvil::ops::out_numel(c); },
                         .reference = anvil::ops::run})

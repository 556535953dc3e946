// Cast: converts to the dtype named by attribute `to` (an anvil dtype name
// such as "f32" or "i64"; an ONNX TensorProto data type number is accepted
// too, for graphs built without the importer's normalisation).
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

std::optional<DType> from_onnx_enum(int64_t v) {
  switch (v) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kI8;
    case 6: return DType::kI32;
    case 7: return DType::kI64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 11: return DType::kF64;
    case 16: return DType::kBF16;
    default: return std::nullopt;
  }
}

Status target_dtype(const Attrs& attrs, DType& out) {
  const AttrValue* a = attrs.find("to");
  if (a == nullptr) return invalid_model("missing required attribute 'to'");
  if (const auto* s = std::get_if<std::string>(a)) {
    std::optional<DType> t = dtype_from_name(*s);
    if (!t) return unsupported("attribute 'to' names unknown dtype '" + *s + "'");
    out = *t;
    return Status::ok();
  }
  if (const auto* i = std::get_if<int64_t>(a)) {
    std::optional<DType> t = from_onnx_enum(*i);
    if (!t) return unsupported("attribute 'to' is ONNX data type " + std::to_string(*i) + ", which anvil does not support");
    out = *t;
    return Status::ok();
  }
  return invalid_model(std::string("attribute 'to' must be a dtype name string, got ") + attr_type_name(*a));
}

Status infer(InferContext& c) {
  if (!c.has_input(0)) return invalid_model("Cast: input 0 is missing");
  DType to = DType::kF32;
  ANVIL_TRY(target_dtype(c.node.attrs, to).with_context("Cast"));
  c.out(0) = {to, c.in(0).shape};
  return Status::ok();
}

Status run(KernelContext& k) {
  DType to = DType::kF32;
  ANVIL_TRY(target_dtype(k.node.attrs, to).with_context("Cast"));
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  if (y.dtype() != to || y.shape() != x.shape()) {
    return internal_error("Cast: output " + y.desc() + " does not match input " + x.desc() + " cast to " + dtype_name(to));
  }
  if (x.dtype() == to) return copy_input_to_output(k);
  const Tensor converted = x.cast(to);
  copy_bytes(y.raw(), converted.raw(), converted.nbytes());
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Cast, {.name = "Cast",
                         .min_inputs = 1, .max_inputs = 1,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                         .reference = anvil::ops::run})

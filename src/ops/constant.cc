// Constant: outputs the tensor given by exactly one of the attributes
// value (Tensor), value_float, value_floats, value_int, value_ints.
// Importers normally turn Constant nodes into initializers.
#include "ops/movement_util.h"

namespace anvil::ops {
namespace {

Status constant_value(const Attrs& attrs, Tensor& out) {
  static const char* const kNames[] = {"value", "value_float", "value_floats", "value_int", "value_ints",
                                       "value_string", "value_strings", "sparse_value"};
  std::string present;
  int count = 0;
  for (const char* n : kNames) {
    if (attrs.has(n)) {
      ++count;
      present += present.empty() ? n : std::string(", ") + n;
    }
  }
  if (count != 1) {
    return invalid_model("Constant: exactly one value attribute is required, found " +
                         (count == 0 ? std::string("none") : present));
  }
  if (attrs.has("value")) return attrs.get("value", out);
  if (attrs.has("value_float")) {
    float v = 0;
    ANVIL_TRY(attrs.get("value_float", v));
    out = Tensor::scalar<float>(v);
  } else if (attrs.has("value_floats")) {
    std::vector<float> v;
    ANVIL_TRY(attrs.get("value_floats", v));
    out = Tensor::from_vector<float>(Shape{static_cast<int64_t>(v.size())}, v);
  } else if (attrs.has("value_int")) {
    int64_t v = 0;
    ANVIL_TRY(attrs.get("value_int", v));
    out = Tensor::scalar<int64_t>(v);
  } else if (attrs.has("value_ints")) {
    std::vector<int64_t> v;
    ANVIL_TRY(attrs.get("value_ints", v));
    out = Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(v.size())}, v);
  } else {
    return unsupported("Constant: attribute '" + present + "' is not supported (anvil has no string or sparse tensors)");
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  Tensor t;
  Status s = constant_value(c.node.attrs, t);
  if (!s.is_ok()) return std::move(s).with_context("Constant");
  if (!t.defined()) return invalid_model("Constant: attribute 'value' holds no data");
  c.out(0) = {t.dtype(), t.shape()};
  return Status::ok();
}

Status run(KernelContext& k) {
  Tensor t;
  ANVIL_TRY(constant_value(k.node.attrs, t).with_context("Constant"));
  Tensor& y = k.out(0);
  if (t.nbytes() != y.nbytes()) return internal_error("Constant: output " + y.desc() + " does not match " + t.desc());
  copy_bytes(y.raw(), t.raw(), t.nbytes());
  return Status::ok();
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Constant, {.name = "Constant",
                             .min_inputs = 0, .max_inputs = 0,
                             .infer = anvil::ops::infer,
                             .flops = [](const anvil::InferContext&) -> int64_t { return 0; },
                             .reference = anvil::ops::run})

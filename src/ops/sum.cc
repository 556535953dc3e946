// Sum: elementwise sum of one or more inputs, with multidirectional broadcasting.
#include "ops/binary_elementwise.h"

namespace anvil::ops {
namespace {

Status run(KernelContext& k) {
  Tensor& y = k.out(0);
  if (k.inputs.size() == 1) return copy_input_to_output(k);
  Status bad = Status::ok();
  Status s = dispatch_dtype(y.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      bad = unsupported("Sum: bool operands are not supported");
    } else {
      const Tensor& a = k.in(0);
      const Tensor& b = k.in(1);
      broadcast_binary<AddOp, T>(a.data<T>(), a.shape(), b.data<T>(), b.shape(), y.data<T>(), y.shape());
      // Accumulating in place is safe: y is read and written at the same index.
      for (size_t i = 2; i < k.inputs.size(); ++i) {
        const Tensor& x = k.in(i);
        broadcast_binary<AddOp, T>(y.data<T>(), y.shape(), x.data<T>(), x.shape(), y.data<T>(), y.shape());
      }
    }
  });
  ANVIL_TRY(s);
  return bad;
}

// One add per output element for each input after the first.
int64_t flops(const InferContext& c) {
  return static_cast<int64_t>(c.num_inputs() > 1 ? c.num_inputs() - 1 : 0) * out_numel(c);
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Sum, {.name = "Sum",
                        .min_inputs = 1, .max_inputs = -1,
                        .infer = anvil::ops::infer_broadcasting_arithmetic,
                        .flops = anvil::ops::flops,
                        .reference = anvil::ops::run})

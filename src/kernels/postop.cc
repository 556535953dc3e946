#include "kernels/postop.h"

#include <algorithm>
#include <cmath>

namespace anvil::kernels {

// The reference's expressions (ops/post_ops.cc), one value at a time.
void f32_postop_ukernel_1x1__scalar(RowOp op, float a, float b, const float* r, float* y, int64_t n) {
  switch (op) {
    case RowOp::kAdd:
      for (int64_t i = 0; i < n; ++i) y[i] += r[i];
      break;
    case RowOp::kScaleShift:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] * a + b;
      break;
    case RowOp::kPrelu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] < 0 ? y[i] * a : y[i];
      break;
    case RowOp::kClamp:
      for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], a), b);
      break;
    case RowOp::kHardSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = std::max(0.f, std::min(1.f, a * y[i] + b));
      break;
    case RowOp::kHardSwish:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] * std::max(0.f, std::min(1.f, y[i] / 6.f + 0.5f));
      break;
    case RowOp::kSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
      break;
    case RowOp::kSilu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] / (1.f + std::exp(-y[i]));
      break;
    case RowOp::kTanh:
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
      break;
    case RowOp::kElu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] < 0 ? a * (std::exp(y[i]) - 1.f) : y[i];
      break;
  }
}

PostOpRowUkernel postop_row_ukernel_for(Isa isa) {
  if (isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512) return f32_postop_ukernel_1x16__avx512;
  if (isa >= Isa::kAvx2 && host_isa() >= Isa::kAvx2) return f32_postop_ukernel_1x8__avx2;
  return f32_postop_ukernel_1x1__scalar;
}

}  // namespace anvil::kernels

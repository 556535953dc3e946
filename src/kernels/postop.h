// Element-wise epilogues on one channel's row of a finished output block:
// the post-ops (ops/post_ops.h) that optimized kernels cannot apply in their
// registers, run over the block while it is in cache
// (runtime/post_ops_rows.cc). The plain reference loops were scalar and
// branchy: PReLU's `y < 0 ? y * s : y` mispredicted on about every other
// value, and on LResNet100E-IR (50 PReLUs on 5.4 M values a run) the
// epilogues took ~9% of the run.
//
// Every kernel computes exactly what the reference's expression gives,
// value for value (no FMA contraction; NaN and -0 as the reference's
// std::min/std::max operand order): the tests compare them bit for bit.
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {

enum class RowOp : int {
  kAdd,          // y += r[i]
  kScaleShift,   // y = y * a + b
  kPrelu,        // y = y < 0 ? y * a : y   (PRelu's slope, LeakyRelu's alpha)
  kClamp,        // y = min(max(y, a), b)   (ReLU: a = 0, b = +inf)
  kHardSigmoid,  // y = max(0, min(1, a * y + b))
  kHardSwish,    // y = y * max(0, min(1, y / 6 + 0.5))
  // Not bit for bit: exp is a polynomial (Cephes' expf), the result at
  // most 4 ulp from the reference's std::exp form over the float range
  // (tests/kernels/test_postop_kernels.cc), at AVX-512 (2^n by vscalefps)
  // and AVX2 (2^n from exponent bits, in two halves).
  kSigmoid,      // y = 1 / (1 + exp(-y))
  kSilu,         // y = y / (1 + exp(-y))
  // Cephes' tanhf: |y| <= 0.625 an odd polynomial (no cancellation near 0),
  // else 1 - 2 / (exp(2|y|) + 1); the sign of y put back, so -0 and NaN
  // come out as the reference's std::tanh.
  kTanh,         // y = tanh(y)
  kElu,          // y = y < 0 ? a * (exp(y) - 1) : y (the reference's form, its cancellation near 0 included)
};

// n values of y in place; r is read by kAdd only.
using PostOpRowUkernel = void (*)(RowOp op, float a, float b, const float* r, float* y, int64_t n);
PostOpRowUkernel postop_row_ukernel_for(Isa isa);  // never null

void f32_postop_ukernel_1x1__scalar(RowOp op, float a, float b, const float* r, float* y, int64_t n);
void f32_postop_ukernel_1x8__avx2(RowOp op, float a, float b, const float* r, float* y, int64_t n);
void f32_postop_ukernel_1x16__avx512(RowOp op, float a, float b, const float* r, float* y, int64_t n);

}  // namespace anvil::kernels

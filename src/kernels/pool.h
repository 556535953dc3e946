// Pooling microkernels: a whole channel plane at a time. The driver
// (runtime/impl_pool.cc) threads over planes; its plain loop (max) or the
// op's reference (global average) is what every kernel here is tested
// against (tests/kernels/).
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {

// 3x3 window, stride 2, dilation 1, any top/bottom padding and up to 2
// columns on the left (ResNet's stem pool; the driver's loop takes wider): the
// H x W plane x into OH x OW y, taps in the padding ignored (a window all in
// padding yields lowest(), as the reference's).
using MaxPool3x3s2PlaneUkernel = void (*)(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t OH,
                                          int64_t OW, float* y);
// Null when this ISA has none.
MaxPool3x3s2PlaneUkernel maxpool3x3s2_ukernel_for(Isa isa);

void f32_pool_max_3x3s2_ukernel_1x16__avx512(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw,
                                             int64_t OH, int64_t OW, float* y);

// Global average: y[p] = (sum of x[p * n .. p * n + n)) * (1 / n) for each
// of `planes` planes of n floats (n >= 1).
using GlobalAvgPoolUkernel = void (*)(const float* x, int64_t planes, int64_t n, float* y);
GlobalAvgPoolUkernel gavgpool_ukernel_for(Isa isa);  // never null

void f32_pool_gavg_ukernel_1x1__scalar(const float* x, int64_t planes, int64_t n, float* y);
void f32_pool_gavg_ukernel_1x16__avx512(const float* x, int64_t planes, int64_t n, float* y);

}  // namespace anvil::kernels

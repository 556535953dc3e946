// Transposing epilogue of the transposed conv product (runtime/impl_conv.cc):
// a block of [pixels x channels] into the NCHW output [channels x pixels],
// with bias, residual and clamp on the way. The plain loop in impl_conv.cc
// is the reference and the path at ISAs without a kernel here.
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {

using TransposeEpilogueUkernel = void (*)(const float* src, int64_t lds, int64_t rows, int64_t cols, float* dst,
                                          int64_t ldd, const float* bias, const float* res, int64_t ldr,
                                          const float* clamp);
// Null when this ISA has none.
TransposeEpilogueUkernel transpose_epilogue_ukernel_for(Isa isa);

void f32_transpose_minmax_ukernel_16x16__avx512(const float* src, int64_t lds, int64_t rows, int64_t cols,
                                                float* dst, int64_t ldd, const float* bias, const float* res,
                                                int64_t ldr, const float* clamp);

}  // namespace anvil::kernels

// Strided copies for layout changes done on the fly (runtime/impl_conv.cc
// splits a stride-2 conv's input into 2x2 phase planes): dst[i] = src[2i]
// for i < n, with an optional x * st[0] + st[1] on the way (a BatchNorm
// before the conv). Reads src[0 .. 2n - 2] only. The __scalar version is
// the plain-loop reference and the path at ISAs without a kernel here.
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {

using CopyS2Ukernel = void (*)(const float* src, int64_t n, float* dst, const float* st);
CopyS2Ukernel copy_s2_ukernel_for(Isa isa);

void f32_copy_s2_ukernel_1x1__scalar(const float* src, int64_t n, float* dst, const float* st);
void f32_copy_s2_ukernel_1x16__avx512(const float* src, int64_t n, float* dst, const float* st);

}  // namespace anvil::kernels

// Depthwise 2-D convolution, one output row of one channel at a time:
//   out[ow] = bias + sum_{kh, kw} w[kh * KW + kw] * rows[kh][ow * stride + kw * dilation]
// `rows` are KH pointers into a zero-padded copy of the input channel, so
// the microkernel never checks bounds. The driver (runtime/impl_dwconv.cc)
// pads, threads over channels and applies the epilogue.
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {

using DwconvRowUkernel = void (*)(const float* const* rows, const float* w, int64_t KH, int64_t KW, int64_t stride,
                                  int64_t dilation, int64_t ow_count, float bias, float* out);

struct DwconvUkernelInfo {
  DwconvRowUkernel fn;
  const char* name;
  Isa isa;
};

// The row microkernel for `isa` (or the best one <= isa the host has).
const DwconvUkernelInfo& dwconv_ukernel_for(Isa isa);

// `channels` whole consecutive channels of a 3x3 depthwise conv (stride 1
// or 2, dilation 1, any padding) from the unpadded H x W inputs into OH x
// OW, bias added (bias: one per channel, or null) and, with clamp = {lo,
// hi}, clamped. Channel i reads x + i*H*W and w + 9*i, writes y + i*OH*OW.
// AVX-512 only (masked loads do the padding). A run of channels per call:
// MobileNet's 7x7 layers have 960 channels of 49 outputs each, where a call
// per channel cost as much as the arithmetic.
using Dwconv3x3PlaneUkernel = void (*)(int64_t channels, const float* x, int64_t H, int64_t W, const float* w,
                                       const float* bias, int64_t stride, int64_t ph, int64_t pw, int64_t OH,
                                       int64_t OW, const float* clamp, float* y);
struct Dwconv3x3UkernelInfo {
  Dwconv3x3PlaneUkernel fn;  // null: none at this ISA
  const char* name;
};
const Dwconv3x3UkernelInfo& dwconv3x3_ukernel_for(Isa isa);

void f32_dwconv3x3_minmax_ukernel_1x16__avx512(int64_t channels, const float* x, int64_t H, int64_t W,
                                              const float* w, const float* bias, int64_t stride, int64_t ph,
                                              int64_t pw, int64_t OH, int64_t OW, const float* clamp, float* y);
void f32_dwconv_ukernel_1x16__avx2(const float* const* rows, const float* w, int64_t KH, int64_t KW, int64_t stride,
                                    int64_t dilation, int64_t ow_count, float bias, float* out);
void f32_dwconv_ukernel_1x1__scalar(const float* const* rows, const float* w, int64_t KH, int64_t KW,
                                      int64_t stride, int64_t dilation, int64_t ow_count, float bias, float* out);

}  // namespace anvil::kernels

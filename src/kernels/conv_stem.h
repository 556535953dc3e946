// Direct convolution for layers with few input channels (network stems:
// RGB in, 3 channels): a GEMM over them has a reduction of only C*KH*KW
// (27 for a 3x3 stem), so its tiles spend as long on their epilogue as on
// their products, and every B panel is a gathered copy. Here vectors run
// along the output row and the taps are the reduction, read straight from
// phase rows the driver (runtime/impl_conv_stem.cc) builds once per image.
//
// Input layout: for input channel c and window row kh of the output row,
// tap kw of output column ow is
//     x[c * cs + kh * rs + (kw % S) * ld + kw / S + ow]
// (S = stride, 1 or 2: row q of S phase rows holds the zero-padded input columns
// q, q + S, q + 2S...). Weights: w[((c * KH + kh) * KW + kw) * 4 + o].
// Output: y[o * ldy + ow] for o < mr (at most 4) and ow < nc (at most the
// kernel's nr: 64 at AVX-512, 16 at AVX2),
//     bias[o] + sum over (c, kh, kw), then clamped to [clamp[0], clamp[1]]
// when clamp is not null. bias: 4 values, or null for zero. The kernel
// reads tap rows up to 16 * ceil(nc / 16) columns (the driver pads them).
#pragma once
#include <cstdint>

#include "core/cpu.h"

namespace anvil::kernels {

constexpr int kStemMR = 4;                // output channels per call
constexpr int kStemNR = 64;               // columns per call, at most (AVX-512)
constexpr int64_t kStemMaxKernel = 11;   // KH, KW at most this

using ConvStemUkernel = void (*)(int64_t C, int64_t KH, int64_t KW, int64_t S, const float* x, int64_t cs,
                                 int64_t rs, int64_t ld, const float* w, const float* bias, int64_t mr, int64_t nc,
                                 const float* clamp, float* y, int64_t ldy);

struct ConvStemUkernelInfo {
  ConvStemUkernel fn;  // null: none at this ISA
  const char* name;
  int nr;  // columns per call, at most: a multiple of 16
};
const ConvStemUkernelInfo& conv_stem_ukernel_for(Isa isa);

// The plain-loop reference (tests).
void f32_conv_minmax_ukernel_4x64__scalar(int64_t C, int64_t KH, int64_t KW, int64_t S, const float* x, int64_t cs,
                                          int64_t rs, int64_t ld, const float* w, const float* bias, int64_t mr,
                                          int64_t nc, const float* clamp, float* y, int64_t ldy);
void f32_conv_minmax_ukernel_4x16__avx2(int64_t C, int64_t KH, int64_t KW, int64_t S, const float* x, int64_t cs,
                                        int64_t rs, int64_t ld, const float* w, const float* bias, int64_t mr,
                                        int64_t nc, const float* clamp, float* y, int64_t ldy);
void f32_conv_minmax_ukernel_4x64__avx512(int64_t C, int64_t KH, int64_t KW, int64_t S, const float* x, int64_t cs,
                                          int64_t rs, int64_t ld, const float* w, const float* bias, int64_t mr,
                                          int64_t nc, const float* clamp, float* y, int64_t ldy);

}  // namespace anvil::kernels

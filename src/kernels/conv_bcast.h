// Strided conv tiles with the output pixels as broadcast rows and the output
// channels as vector columns (runtime/impl_conv.cc, run_bcast): a tile is
// up to 14 pixels of one output row, 2 input columns apart, times up to 32
// output channels. Reduction row k = (c, kh, kw) reads pixel i at
// x[off[k] + 2 * i], straight from the image (or its zero-padded copy): no
// im2col panels and no phase planes, which held ResNet's 3x3/2 and 1x1/2
// convs to 55-70% of peak on Zen 5 (the register tile itself ran at ~95%).
// w is [K][32], output channels fastest, zero past nc. Output channel o's
// np results go to y + o * ldy, consecutive pixels, as
// clamp(acc + bias[o] + residual[o * ldy + i]); bias, residual and clamp
// ({lo, hi}) may be null.
#pragma once
#include <cstdint>

namespace anvil::kernels {

using ConvBcastUkernel = void (*)(int64_t K, const float* w, const float* x, const int32_t* off, int64_t np,
                                  int64_t nc, float* y, int64_t ldy, const float* bias, const float* residual,
                                  const float* clamp);

constexpr int kConvBcastPixels = 14, kConvBcastChannels = 32;

// Reads x[off[k] + 2 * i] (s1: x[off[k] + i]) for every i < 14 whatever np
// is: the caller keeps 28 floats readable past each tile's last pixel.
void f32_conv_s2_minmax_ukernel_14x32__avx512(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp);
void f32_conv_s2_minmax_ukernel_14x32__scalar(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp);
// The same with consecutive pixels (x[off[k] + i]): 1x1 stride-1 convs,
// tiles of 14 pixels along the flattened map (rows do not matter there).
void f32_conv_s1_minmax_ukernel_14x32__avx512(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp);
void f32_conv_s1_minmax_ukernel_14x32__scalar(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp);

}  // namespace anvil::kernels

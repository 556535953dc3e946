#include "kernels/conv_bcast.h"

#include <algorithm>

namespace anvil::kernels {

namespace {

void tile_ref(int64_t stride, int64_t K, const float* w, const float* x, const int32_t* off, int64_t np, int64_t nc,
              float* y, int64_t ldy, const float* bias, const float* residual, const float* clamp) {
  for (int64_t o = 0; o < nc; ++o)
    for (int64_t i = 0; i < np; ++i) {
      float s = 0.f;
      for (int64_t k = 0; k < K; ++k) s += w[k * kConvBcastChannels + o] * x[off[k] + stride * i];
      if (bias) s += bias[o];
      if (residual) s += residual[o * ldy + i];
      if (clamp) s = std::min(clamp[1], std::max(clamp[0], s));
      y[o * ldy + i] = s;
    }
}

}  // namespace

void f32_conv_s2_minmax_ukernel_14x32__scalar(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp) {
  tile_ref(2, K, w, x, off, np, nc, y, ldy, bias, residual, clamp);
}

void f32_conv_s1_minmax_ukernel_14x32__scalar(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp) {
  tile_ref(1, K, w, x, off, np, nc, y, ldy, bias, residual, clamp);
}

}  // namespace anvil::kernels

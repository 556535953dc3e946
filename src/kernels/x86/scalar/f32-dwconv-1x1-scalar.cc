#include "kernels/dwconv.h"

namespace anvil::kernels {

void f32_dwconv_ukernel_1x1__scalar(const float* const* rows, const float* w, int64_t KH, int64_t KW,
                                      int64_t stride, int64_t dilation, int64_t ow_count, float bias, float* out) {
  for (int64_t ow = 0; ow < ow_count; ++ow) {
    float acc = bias;
    for (int64_t kh = 0; kh < KH; ++kh) {
      const float* r = rows[kh] + ow * stride;
      for (int64_t kw = 0; kw < KW; ++kw) acc += w[kh * KW + kw] * r[kw * dilation];
    }
    out[ow] = acc;
  }
}

}  // namespace anvil::kernels

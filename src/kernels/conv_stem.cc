#include "kernels/conv_stem.h"

#include <algorithm>

namespace anvil::kernels {

void f32_conv_minmax_ukernel_4x64__scalar(int64_t C, int64_t KH, int64_t KW, int64_t S, const float* x, int64_t cs,
                                          int64_t rs, int64_t ld, const float* w, const float* bias, int64_t mr,
                                          int64_t nc, const float* clamp, float* y, int64_t ldy) {
  for (int64_t o = 0; o < mr; ++o)
    for (int64_t ow = 0; ow < nc; ++ow) {
      float acc = bias ? bias[o] : 0.f;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw)
            acc += w[((c * KH + kh) * KW + kw) * kStemMR + o] * x[c * cs + kh * rs + (kw % S) * ld + kw / S + ow];
      if (clamp) acc = acc < clamp[0] ? clamp[0] : acc > clamp[1] ? clamp[1] : acc;  // NaN stays NaN
      y[o * ldy + ow] = acc;
    }
}

const ConvStemUkernelInfo& conv_stem_ukernel_for(Isa isa) {
  static const ConvStemUkernelInfo avx512{f32_conv_minmax_ukernel_4x64__avx512, "f32_conv_minmax_ukernel_4x64__avx512",
                                          64};
  static const ConvStemUkernelInfo avx2{f32_conv_minmax_ukernel_4x16__avx2, "f32_conv_minmax_ukernel_4x16__avx2", 16};
  static const ConvStemUkernelInfo none{nullptr, "", 0};
  const Isa best = std::min(isa, host_isa());
  return best >= Isa::kAvx512 ? avx512 : best >= Isa::kAvx2 ? avx2 : none;
}

}  // namespace anvil::kernels

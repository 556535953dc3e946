#include <immintrin.h>

#include "kernels/transpose.h"
#include "kernels/x86/avx512/transpose16-avx512.h"

namespace anvil::kernels {

// rows x cols of src (row stride lds) into cols x rows of dst (row stride
// ldd), rows, cols <= 16; dst row c gets + bias[c], + res[c * ldr + i],
// then the clamp. 16 scattered 4-byte stores per source row became one
// masked 16-wide store per destination row (the transposed conv product's
// output pass was ~1/3 of MobileNetV2's 7x7 pointwise layers).
void f32_transpose_minmax_ukernel_16x16__avx512(const float* src, int64_t lds, int64_t rows, int64_t cols,
                                                float* dst, int64_t ldd, const float* bias, const float* res,
                                                int64_t ldr, const float* clamp) {
  const __mmask16 cm = cols >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << cols) - 1u);
  const __mmask16 rm = rows >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << rows) - 1u);
  __m512 r[16];
  for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * lds) : _mm512_setzero_ps();
  avx512::transpose16(r);
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  for (int c = 0; c < cols; ++c) {
    __m512 v = r[c];
    if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[c]));
    if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(rm, res + c * ldr));
    if (clamp) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
    _mm512_mask_storeu_ps(dst + c * ldd, rm, v);
  }
}

}  // namespace anvil::kernels

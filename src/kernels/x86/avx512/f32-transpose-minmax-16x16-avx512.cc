#include <immintrin.h>

#include "kernels/transpose.h"

namespace anvil::kernels {

namespace {

// 16x16 transpose of r[0..15] in registers: 32-bit, then 64-bit interleaves
// within 128-bit lanes, then two 128-bit lane shuffles.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  // r[4q + j] now holds, in 128-bit lane l, column j of rows 4l'..: lanes
  // pair up rows 0-3 / 4-7 / 8-11 / 12-15 per source group q.
  for (int j = 0; j < 4; ++j) {
    const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
    const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88), d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
    t[j] = _mm512_shuffle_f32x4(a, c, 0x88);
    t[j + 8] = _mm512_shuffle_f32x4(a, c, 0xdd);
    t[j + 4] = _mm512_shuffle_f32x4(b, d, 0x88);
    t[j + 12] = _mm512_shuffle_f32x4(b, d, 0xdd);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace

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
  transpose16(r);
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

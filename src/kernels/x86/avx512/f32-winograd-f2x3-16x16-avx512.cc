#include <immintrin.h>

#include "kernels/winograd.h"

namespace anvil::kernels {

namespace {

inline void bt4(const __m512 d[4], __m512 t[4]) {
  t[0] = _mm512_sub_ps(d[0], d[2]);
  t[1] = _mm512_add_ps(d[1], d[2]);
  t[2] = _mm512_sub_ps(d[2], d[1]);
  t[3] = _mm512_sub_ps(d[1], d[3]);
}

inline void at4(const __m512 m[4], __m512 s[2]) {
  s[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
  s[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

}  // namespace

// As the F(4x4, 3x3) pair (f32-winograd-f4x3-36x16-avx512.cc): one gather
// per window position, one scatter per output position.
void f32_winograd_f2x3_input_ukernel_16x16__avx512(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride) {
  const __m512i idx = _mm512_loadu_si512(in_off);
  __m512 t[4][4];
  for (int j = 0; j < 4; ++j) {
    __m512 d[4], r[4];
    for (int k = 0; k < 4; ++k) d[k] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, idx, plane + k * pw + j, 4);
    bt4(d, r);
    for (int i = 0; i < 4; ++i) t[i][j] = r[i];
  }
  for (int i = 0; i < 4; ++i) {
    __m512 r[4];
    bt4(t[i], r);
    for (int j = 0; j < 4; ++j) _mm512_storeu_ps(v + (i * 4 + j) * vstride, r[j]);
  }
}

void f32_winograd_f2x3_output_ukernel_16x16__avx512(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks) {
  const __m512i idx = _mm512_loadu_si512(out_off);
  const __m512 bv = _mm512_set1_ps(bias);
  __m512 s[2][4];
  for (int j = 0; j < 4; ++j) {
    __m512 col[4], r[2];
    for (int k = 0; k < 4; ++k) col[k] = _mm512_loadu_ps(m + (k * 4 + j) * mstride);
    at4(col, r);
    for (int i = 0; i < 2; ++i) s[i][j] = r[i];
  }
  for (int i = 0; i < 2; ++i) {
    __m512 r[2];
    at4(s[i], r);
    for (int j = 0; j < 2; ++j)
      _mm512_mask_i32scatter_ps(y + i * ow + j, masks[i * 2 + j], idx, _mm512_add_ps(r[j], bv), 4);
  }
}

}  // namespace anvil::kernels

#include <immintrin.h>

#include "kernels/winograd.h"

namespace anvil::kernels {

namespace {

// B^T applied to six vectors (a column or a row of the 6x6 window).
inline void bt6(const __m512 d[6], __m512 t[6]) {
  const __m512 four = _mm512_set1_ps(4.f), five = _mm512_set1_ps(5.f), two = _mm512_set1_ps(2.f);
  t[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
  t[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
  t[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
  t[3] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[4], d[2]));
  t[4] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[1], d[3]), _mm512_sub_ps(d[4], d[2]));
  t[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

// A^T applied to six vectors.
inline void at6(const __m512 m[6], __m512 s[4]) {
  const __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
  const __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
  s[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
  s[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.f), d, b);
  s[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.f), c, a);
  s[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.f), d, b), m[5]);
}

}  // namespace

// The 16 tiles' windows overlap and sit at arbitrary offsets (4 tiles a
// row at 14x14), so each of the 36 window positions is one gather; the
// column pass runs first and keeps its 36 results in registers and L1.
void f32_winograd_f4x3_input_ukernel_36x16__avx512(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride) {
  const __m512i idx = _mm512_loadu_si512(in_off);
  __m512 t[6][6];  // t[i][j] = (B^T d)[i][j]
  for (int j = 0; j < 6; ++j) {
    __m512 d[6], r[6];
    for (int k = 0; k < 6; ++k) d[k] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, idx, plane + k * pw + j, 4);
    bt6(d, r);
    for (int i = 0; i < 6; ++i) t[i][j] = r[i];
  }
  for (int i = 0; i < 6; ++i) {
    __m512 r[6];
    bt6(t[i], r);
    for (int j = 0; j < 6; ++j) _mm512_storeu_ps(v + (i * 6 + j) * vstride, r[j]);
  }
}

// Scatters keep partial tiles (masked lanes) out of the neighbours' rows.
void f32_winograd_f4x3_output_ukernel_36x16__avx512(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks) {
  const __m512i idx = _mm512_loadu_si512(out_off);
  const __m512 bv = _mm512_set1_ps(bias);
  __m512 s[4][6];  // s[i][j] = (A^T M)[i][j]
  for (int j = 0; j < 6; ++j) {
    __m512 col[6], r[4];
    for (int k = 0; k < 6; ++k) col[k] = _mm512_loadu_ps(m + (k * 6 + j) * mstride);
    at6(col, r);
    for (int i = 0; i < 4; ++i) s[i][j] = r[i];
  }
  for (int i = 0; i < 4; ++i) {
    __m512 r[4];
    at6(s[i], r);
    for (int j = 0; j < 4; ++j)
      _mm512_mask_i32scatter_ps(y + i * ow + j, masks[i * 4 + j], idx, _mm512_add_ps(r[j], bv), 4);
  }
}

}  // namespace anvil::kernels

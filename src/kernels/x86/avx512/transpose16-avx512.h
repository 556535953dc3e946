// A 16x16 transpose of 32-bit lanes in registers, shared by the AVX-512
// kernels that turn lanes-as-columns into rows (f32-transpose-minmax-16x16,
// the Winograd F(4x4, 3x3) output transform). Included by AVX-512 files
// only.
#pragma once
#include <immintrin.h>

namespace anvil::kernels::avx512 {

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

}  // namespace anvil::kernels::avx512

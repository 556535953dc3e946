// Transposes of 32-bit lanes in registers, shared by the AVX-512 kernels
// that turn lanes-as-columns into rows (f32-transpose-minmax-16x16, the
// Winograd transforms, winograd-lanes-avx512.h). Included by AVX-512 files
// only.
#pragma once
#include <immintrin.h>

namespace anvil::kernels::avx512 {

// A 4x4 transpose within each 128-bit lane across four registers:
// out[j] lane r element e = in[e] lane r element j. Its own inverse.
inline void transpose4_in_lanes(const __m512 in[4], __m512 out[4]) {
  const __m512 a0 = _mm512_unpacklo_ps(in[0], in[1]), a1 = _mm512_unpackhi_ps(in[0], in[1]);
  const __m512 a2 = _mm512_unpacklo_ps(in[2], in[3]), a3 = _mm512_unpackhi_ps(in[2], in[3]);
  out[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a0), _mm512_castps_pd(a2)));
  out[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a0), _mm512_castps_pd(a2)));
  out[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a1), _mm512_castps_pd(a3)));
  out[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a1), _mm512_castps_pd(a3)));
}

// 16x16 transpose of r[0..15] in registers: a 4x4 transpose within
// 128-bit lanes of each four registers, then two 128-bit lane shuffles.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int q = 0; q < 16; q += 4) transpose4_in_lanes(r + q, t + q);
  // t[4q + j] now holds, in 128-bit lane l, column j of rows 4l'..: lanes
  // pair up rows 0-3 / 4-7 / 8-11 / 12-15 per source group q.
  for (int j = 0; j < 4; ++j) {
    const __m512 a = _mm512_shuffle_f32x4(t[j], t[4 + j], 0x88), b = _mm512_shuffle_f32x4(t[j], t[4 + j], 0xdd);
    const __m512 c = _mm512_shuffle_f32x4(t[8 + j], t[12 + j], 0x88), d = _mm512_shuffle_f32x4(t[8 + j], t[12 + j], 0xdd);
    r[j] = _mm512_shuffle_f32x4(a, c, 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(a, c, 0xdd);
    r[j + 4] = _mm512_shuffle_f32x4(b, d, 0x88);
    r[j + 12] = _mm512_shuffle_f32x4(b, d, 0xdd);
  }
}

}  // namespace anvil::kernels::avx512

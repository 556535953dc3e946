// The shared body of the AVX-512 Winograd transforms with 16 tiles as
// lanes (kernels/winograd.h): F(4x4, 3x3) and F(2x2, 3x3) differ only in
// their window size kA, output size kM and the 1-D transforms, passed as
//   bt(const __m512 d[kA], __m512 t[kA])   (B^T on a column or row)
//   at(const __m512 m[kA], __m512 s[kM])   (A^T on a column or row)
// The tiles' windows overlap and sit at arbitrary offsets (4 tiles a row
// at 14x14), so each window position is one gather and each output
// position one masked scatter (partial tiles stay out of the neighbours'
// rows). The column pass runs first and keeps its results in registers and
// L1.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace anvil::kernels::lanes {

template <int kA, class BT>
inline void input(BT bt, const float* plane, int64_t pw, const int32_t* in_off, float* v, int64_t vstride) {
  const __m512i idx = _mm512_loadu_si512(in_off);
  __m512 t[kA][kA];  // t[i][j] = (B^T d)[i][j]
  for (int j = 0; j < kA; ++j) {
    __m512 d[kA], r[kA];
    for (int k = 0; k < kA; ++k)
      d[k] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, idx, plane + k * pw + j, 4);
    bt(d, r);
    for (int i = 0; i < kA; ++i) t[i][j] = r[i];
  }
  for (int i = 0; i < kA; ++i) {
    __m512 r[kA];
    bt(t[i], r);
    for (int j = 0; j < kA; ++j) _mm512_storeu_ps(v + (i * kA + j) * vstride, r[j]);
  }
}

template <int kA, int kM, class AT>
inline void output(AT at, const float* m, int64_t mstride, float bias, float* y, int64_t ow, const int32_t* out_off,
                   const uint16_t* masks) {
  const __m512i idx = _mm512_loadu_si512(out_off);
  const __m512 bv = _mm512_set1_ps(bias);
  __m512 s[kM][kA];  // s[i][j] = (A^T M)[i][j]
  for (int j = 0; j < kA; ++j) {
    __m512 col[kA], r[kM];
    for (int k = 0; k < kA; ++k) col[k] = _mm512_loadu_ps(m + (k * kA + j) * mstride);
    at(col, r);
    for (int i = 0; i < kM; ++i) s[i][j] = r[i];
  }
  for (int i = 0; i < kM; ++i) {
    __m512 r[kM];
    at(s[i], r);
    for (int j = 0; j < kM; ++j)
      _mm512_mask_i32scatter_ps(y + i * ow + j, masks[i * kM + j], idx, _mm512_add_ps(r[j], bv), 4);
  }
}

}  // namespace anvil::kernels::lanes

// The shared body of the AVX-512 Winograd transforms with 16 tiles as
// lanes (kernels/winograd.h): F(4x4, 3x3) and F(2x2, 3x3) differ only in
// their window size kA, output size kM and the 1-D transforms, passed as
//   bt(const __m512 d[kA], __m512 t[kA])   (B^T on a column or row)
//   at(const __m512 m[kA], __m512 s[kM])   (A^T on a column or row)
// The tiles' windows overlap and sit at arbitrary offsets (4 tiles a row
// at 14x14), so each window position is one gather; outputs go back a tile
// at a time (F(4x4): 16 outputs per tile, transposed in registers) or, for
// F(2x2), one masked scatter per output position (partial tiles stay out of
// the neighbours' rows). The column pass runs first and keeps its results in registers and
// L1.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "kernels/x86/avx512/transpose16-avx512.h"

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
  if constexpr (kM == 4) {
    // 16 outputs of 16 tiles: transposed in registers so each tile's 4x4
    // block is one vector, stored as four 4-float rows (masked where the
    // tile overhangs the map). Scattered, the 16 scatters of 16 lanes were
    // ~800 cycles a call, ~16% of a 64@56 layer (perf).
    __m512 o[16];
    for (int i = 0; i < kM; ++i) {
      __m512 r[kM];
      at(s[i], r);
      for (int j = 0; j < kM; ++j) o[i * kM + j] = _mm512_add_ps(r[j], bv);
    }
    avx512::transpose16(o);
    // Lane p of mv: the tiles whose output p exists; tile l's outputs are
    // the positions whose lane has bit l.
    const __m512i mv = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(masks)));
    for (int l = 0; l < 16; ++l) {
      const uint32_t k = _mm512_test_epi32_mask(mv, _mm512_set1_epi32(1 << l));
      if (!k) continue;
      float* yt = y + out_off[l];
      const __m512 v = o[l];
      if (k == 0xffff) {
        _mm_storeu_ps(yt, _mm512_castps512_ps128(v));
        _mm_storeu_ps(yt + ow, _mm512_extractf32x4_ps(v, 1));
        _mm_storeu_ps(yt + 2 * ow, _mm512_extractf32x4_ps(v, 2));
        _mm_storeu_ps(yt + 3 * ow, _mm512_extractf32x4_ps(v, 3));
      } else {
        _mm_mask_storeu_ps(yt, static_cast<__mmask8>(k & 0xf), _mm512_castps512_ps128(v));
        _mm_mask_storeu_ps(yt + ow, static_cast<__mmask8>((k >> 4) & 0xf), _mm512_extractf32x4_ps(v, 1));
        _mm_mask_storeu_ps(yt + 2 * ow, static_cast<__mmask8>((k >> 8) & 0xf), _mm512_extractf32x4_ps(v, 2));
        _mm_mask_storeu_ps(yt + 3 * ow, static_cast<__mmask8>((k >> 12) & 0xf), _mm512_extractf32x4_ps(v, 3));
      }
    }
  } else {
    for (int i = 0; i < kM; ++i) {
      __m512 r[kM];
      at(s[i], r);
      for (int j = 0; j < kM; ++j)
        _mm512_mask_i32scatter_ps(y + i * ow + j, masks[i * kM + j], idx, _mm512_add_ps(r[j], bv), 4);
    }
  }
}

}  // namespace anvil::kernels::lanes

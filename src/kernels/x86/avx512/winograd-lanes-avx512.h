// The shared body of the AVX-512 Winograd transforms with 16 tiles as
// lanes (kernels/winograd.h): F(4x4, 3x3) and F(2x2, 3x3) differ only in
// their window size kA, output size kM and the 1-D transforms, passed as
//   bt(const __m512 d[kA], __m512 t[kA])   (B^T on a column or row)
//   at(const __m512 m[kA], __m512 s[kM])   (A^T on a column or row)
// The tiles' windows overlap and sit at arbitrary offsets (4 tiles a row
// at 14x14), so both directions go through registers a tile at a time:
// each tile's window rows are plain loads, transposed so a vector holds one
// window position of the 16 tiles, and the outputs are transposed back and
// stored a tile row at a time (masked where a tile overhangs the map). The
// gathers and scatters this replaced ran ~800 cycles a call at F(4x4). The
// row pass runs first and keeps its results in registers and L1.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "kernels/x86/avx512/transpose16-avx512.h"

namespace anvil::kernels::lanes {

// Row k (6 values) of the 16 tiles' windows as 6 vectors, d[j] lane l =
// tile l's value j: each tile's row is one 6-float load, two tiles per
// register, then a 4x4 transpose within each 128-bit lane of each four
// registers and one two-source permute per column to interleave the tiles.
// rmask (the direct form: the unpadded image): tile l's row is loaded
// under rmask[l] (zeros where the window hangs over the image); null: the
// padded plane, all 6 values.
inline void window_row6(const float* plane, const int32_t* in_off, __m512 d[6], const uint8_t* rmask = nullptr) {
  __m512 z[8], b[8];
  for (int m = 0; m < 8; ++m) {
    const __mmask8 k0 = rmask ? rmask[2 * m] : 0x3f, k1 = rmask ? rmask[2 * m + 1] : 0x3f;
    z[m] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_maskz_loadu_ps(k0, plane + in_off[2 * m])),
                              _mm256_maskz_loadu_ps(k1, plane + in_off[2 * m + 1]), 1);
  }
  avx512::transpose4_in_lanes(z, b);
  avx512::transpose4_in_lanes(z + 4, b + 4);
  // b[j] (tiles 0-7) and b[4 + j] (tiles 8-15): 128-bit lane 0 holds value
  // j of the even tiles, lane 1 value j + 4 of them, lanes 2 and 3 the same
  // for the odd tiles.
  const __m512i lo = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 16, 24, 17, 25, 18, 26, 19, 27);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(4));
  for (int j = 0; j < 4; ++j) d[j] = _mm512_permutex2var_ps(b[j], lo, b[4 + j]);
  for (int j = 0; j < 2; ++j) d[4 + j] = _mm512_permutex2var_ps(b[j], hi, b[4 + j]);
}

// Lane 4e + r <-> lane 4r + e (its own inverse): between "register e,
// 128-bit lane r holds tile 4e + r" and "lane l holds tile l".
inline __m512i lanes_by_tile4() { return _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15); }

// Row k (4 values) of the 16 tiles' windows as 4 vectors, d[j] lane l =
// tile l's value j: one 4-float load per tile, four tiles per register.
inline __m128 row4(const float* p, const uint8_t* rmask, int l) {
  return rmask ? _mm_maskz_loadu_ps(static_cast<__mmask8>(rmask[l]), p) : _mm_loadu_ps(p);
}
inline void window_row4(const float* plane, const int32_t* in_off, __m512 d[4], const uint8_t* rmask = nullptr) {
  __m512 z[4], b[4];
  for (int e = 0; e < 4; ++e) {
    __m512 v = _mm512_castps128_ps512(row4(plane + in_off[4 * e], rmask, 4 * e));
    v = _mm512_insertf32x4(v, row4(plane + in_off[4 * e + 1], rmask, 4 * e + 1), 1);
    v = _mm512_insertf32x4(v, row4(plane + in_off[4 * e + 2], rmask, 4 * e + 2), 2);
    z[e] = _mm512_insertf32x4(v, row4(plane + in_off[4 * e + 3], rmask, 4 * e + 3), 3);
  }
  avx512::transpose4_in_lanes(z, b);  // b[j] lane r element e: tile 4e + r, value j
  const __m512i idx = lanes_by_tile4();
  for (int j = 0; j < 4; ++j) d[j] = _mm512_permutexvar_ps(idx, b[j]);
}

// Rows first (d B, a row of the window at a time from window_row6 or
// window_row4), then the columns (B^T (d B)). With one gather per window
// position (36 at F(4x4), 16 at F(2x2)) a call ran ~800 cycles at F(4x4),
// ~14% of a 64@56 layer (perf).
// rmask: the direct form (kernels/winograd.h), row k's 16 tile masks at
// rmask + 16 k; null: the padded plane.
template <int kA, class BT>
inline void input(BT bt, const float* plane, int64_t pw, const int32_t* in_off, float* v, int64_t vstride,
                  const uint8_t* rmask = nullptr) {
  static_assert(kA == 4 || kA == 6, "F(2x2) or F(4x4)");
  __m512 e[kA][kA];  // e[k][j] = (d B)[k][j]
  for (int k = 0; k < kA; ++k) {
    __m512 d[kA];
    const uint8_t* rk = rmask ? rmask + 16 * k : nullptr;
    if constexpr (kA == 6) window_row6(plane + k * pw, in_off, d, rk);
    else window_row4(plane + k * pw, in_off, d, rk);
    bt(d, e[k]);
  }
  for (int j = 0; j < kA; ++j) {
    __m512 col[kA], r[kA];
    for (int k = 0; k < kA; ++k) col[k] = e[k][j];
    bt(col, r);
    for (int i = 0; i < kA; ++i) _mm512_storeu_ps(v + (i * kA + j) * vstride, r[i]);
  }
}

template <int kA, int kM, class AT>
inline void output(AT at, const float* m, int64_t mstride, float bias, float* y, int64_t ow, const int32_t* out_off,
                   const uint16_t* masks, const float* clamp) {
  const __m512 bv = _mm512_set1_ps(bias);
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  // This operand order keeps NaN, as the reference Relu/Clip do.
  auto finish = [&](__m512 v) { return clamp ? _mm512_min_ps(hi, _mm512_max_ps(lo, v)) : v; };
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
      for (int j = 0; j < kM; ++j) o[i * kM + j] = finish(_mm512_add_ps(r[j], bv));
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
    static_assert(kM == 2, "F(2x2) or F(4x4)");
    // 4 outputs of 16 tiles back to tile order (the input side's steps,
    // reversed), each tile's 2x2 block two 2-float rows.
    __m512 o[4], b[4], z[4];
    for (int i = 0; i < 2; ++i) {
      __m512 r[2];
      at(s[i], r);
      for (int j = 0; j < 2; ++j) o[i * 2 + j] = finish(_mm512_add_ps(r[j], bv));
    }
    const __m512i tix = lanes_by_tile4();
    for (int j = 0; j < 4; ++j) b[j] = _mm512_permutexvar_ps(tix, o[j]);
    avx512::transpose4_in_lanes(b, z);  // z[e] 128-bit lane r: tile 4e + r's outputs (0,0) (0,1) (1,0) (1,1)
    const __m512i mv =
        _mm512_cvtepu16_epi32(_mm256_zextsi128_si256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(masks))));
    auto put = [&](int l, __m128 x) {
      const uint32_t k = _mm512_test_epi32_mask(mv, _mm512_set1_epi32(1 << l));
      if (!k) return;
      float* yt = y + out_off[l];
      _mm_mask_storeu_ps(yt, static_cast<__mmask8>(k & 3), x);
      _mm_mask_storeu_ps(yt + ow - 2, static_cast<__mmask8>(k & 0xc), x);  // lanes 2, 3 at yt + ow
    };
    for (int e = 0; e < 4; ++e) {
      put(4 * e, _mm512_castps512_ps128(z[e]));
      put(4 * e + 1, _mm512_extractf32x4_ps(z[e], 1));
      put(4 * e + 2, _mm512_extractf32x4_ps(z[e], 2));
      put(4 * e + 3, _mm512_extractf32x4_ps(z[e], 3));
    }
  }
}

}  // namespace anvil::kernels::lanes

#include <immintrin.h>

#include <algorithm>

#include "kernels/copy.h"

namespace anvil::kernels {

// An input row (W <= 32) is two registers; each tap column kw's output row
// (OW <= 16 lanes, ow -> column ow*sw + kw*dw - pw) is one zero-masked
// two-source permute of them, so padding costs nothing and a strided tap
// needs no phase planes. The same loaded row serves every kw of its
// (channel, kh), and each output row is one masked store into the block.
// Through phase planes (split, zeroed, then packed run by run) the packing
// was ~17% of ResNet's 3x3/2 512@14 (perf: copy, memset, run packing).
void f32_im2row_ukernel_1x16__avx512(const float* x, const Im2rowGeo& g, int64_t k0, int64_t kc, const int64_t* seg,
                                     int64_t ldd, float* dst, const float* scale, const float* shift) {
  __m512i idx[kIm2rowMaxKW];
  __mmask16 valid[kIm2rowMaxKW];
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __mmask16 out = static_cast<__mmask16>((1u << g.OW) - 1u);
  for (int64_t kw = 0; kw < std::min(g.KW, kIm2rowMaxKW); ++kw) {
    const __m512i col = _mm512_add_epi32(_mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(g.sw))),
                                         _mm512_set1_epi32(static_cast<int>(kw * g.dw - g.pw)));
    valid[kw] = static_cast<__mmask16>(out & _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512()) &
                                       _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32(static_cast<int>(g.W))));
    idx[kw] = _mm512_maskz_mov_epi32(valid[kw], col);
  }
  const __mmask16 m_lo = static_cast<__mmask16>(g.W >= 16 ? 0xffffu : (1u << g.W) - 1u);
  const __mmask16 m_hi = static_cast<__mmask16>(g.W <= 16 ? 0u : g.W >= 32 ? 0xffffu : (1u << (g.W - 16)) - 1u);
  const int64_t taps = g.KH * g.KW, kend = k0 + kc;
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t k = k0; k < kend;) {
    const int64_t c = k / taps, kh = k % taps / g.KW, kw0 = k % g.KW;
    const int64_t kw1 = std::min(g.KW, kw0 + (kend - k));
    const float* xc = x + c * g.H * g.W;
    float* d0 = dst + (k - k0) * ldd;
    const __m512 s = _mm512_set1_ps(scale ? scale[c] : 1.f), t = _mm512_set1_ps(scale ? shift[c] : 0.f);
    for (int64_t oh = g.oh0; oh < g.oh1; ++oh) {
      const int64_t ih = oh * g.sh + kh * g.dh - g.ph;
      float* d = d0 + seg[oh - g.oh0];
      if (ih < 0 || ih >= g.H) {
        for (int64_t kw = kw0; kw < kw1; ++kw, d += ldd) _mm512_mask_storeu_ps(d, out, zero);
        continue;
      }
      __m512 lo = _mm512_maskz_loadu_ps(m_lo, xc + ih * g.W);
      __m512 hi = _mm512_maskz_loadu_ps(m_hi, xc + ih * g.W + 16);
      if (scale) {
        lo = _mm512_fmadd_ps(lo, s, t);
        hi = _mm512_fmadd_ps(hi, s, t);
      }
      for (int64_t kw = kw0; kw < kw1; ++kw, d += ldd)
        _mm512_mask_storeu_ps(d, out, _mm512_maskz_permutex2var_ps(valid[kw], lo, idx[kw], hi));
    }
    k += kw1 - kw0;
  }
}

}  // namespace anvil::kernels

#include <immintrin.h>

#include <algorithm>

#include "kernels/dwconv.h"

namespace anvil::kernels {

namespace {

// Lanes [0, 16) of a load starting at column `s` that fall inside [0, W).
inline __mmask16 valid_lanes(int64_t s, int64_t W) {
  const int64_t lo = std::clamp<int64_t>(-s, 0, 16), hi = std::clamp<int64_t>(W - s, 0, 16);
  if (hi <= lo) return 0;
  const uint32_t upto_hi = hi >= 16 ? 0xffffu : (1u << hi) - 1u;
  const uint32_t below_lo = (1u << lo) - 1u;
  return static_cast<__mmask16>(upto_hi & ~below_lo);
}

}  // namespace

// A whole channel of a 3x3 depthwise conv, stride 1 or 2, any padding,
// straight from the unpadded input: masked loads read zero where the
// window hangs over the border (AVX-512 masked lanes are never accessed),
// so the padded copy of the plane, its memset and the per-row calls of
// the generic row kernel go away; MobileNetV2's 14x14 and 7x7 channels
// spent more time in that setup than in the FMAs. Bias and clamp are
// applied before the one store.
void f32_dwconv3x3_minmax_ukernel_1x16__avx512(const float* x, int64_t H, int64_t W, const float* w, float bias,
                                              int64_t stride, int64_t ph, int64_t pw, int64_t OH, int64_t OW,
                                              const float* clamp, float* y) {
  __m512 wv[9];
  for (int i = 0; i < 9; ++i) wv[i] = _mm512_set1_ps(w[i]);
  const __m512 bv = _mm512_set1_ps(bias);
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  // Even lanes of the pair (a, b): the stride-2 columns.
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  // Planes that fit L1 (MobileNet's 28x28 and smaller): column chunks
  // outside, rows inside, the chunk's border masks held in mask registers
  // for all its rows. Larger planes below: rows outside, so the plane
  // streams in order from L3.
  if (H * W <= 4096) {
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
      const __mmask16 out_mask = OW - ow0 >= 16 ? static_cast<__mmask16>(0xffff)
                                                : static_cast<__mmask16>((1u << (OW - ow0)) - 1u);
      const int64_t s0 = stride * ow0 - pw;
      __mmask16 ma[3], mb[3];
      for (int kw = 0; kw < 3; ++kw) {
        ma[kw] = valid_lanes(s0 + kw, W);
        mb[kw] = valid_lanes(s0 + kw + 16, W);
      }
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t ih0 = oh * stride - ph;
        __m512 acc = bv;
        for (int kh = 0; kh < 3; ++kh) {
          if (ih0 + kh < 0 || ih0 + kh >= H) continue;
          const float* row = x + (ih0 + kh) * W + s0;
          if (stride == 1) {
            for (int kw = 0; kw < 3; ++kw)
              acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(ma[kw], row + kw), wv[kh * 3 + kw], acc);
          } else {
            for (int kw = 0; kw < 3; ++kw) {
              const __m512 a = _mm512_maskz_loadu_ps(ma[kw], row + kw);
              const __m512 b = _mm512_maskz_loadu_ps(mb[kw], row + kw + 16);
              acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(a, even, b), wv[kh * 3 + kw], acc);
            }
          }
        }
        if (clamp) acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));  // keeps NaN, as the reference does
        _mm512_mask_storeu_ps(y + oh * OW + ow0, out_mask, acc);
      }
    }
    return;
  }
  // Each 16-column chunk's border masks are the same for every row: worked
  // out once (per tap they were more scalar work than the FMAs).
  constexpr int64_t kMaxChunks = 64;
  const int64_t chunks = (OW + 15) / 16;
  __mmask16 masks[kMaxChunks][6];
  for (int64_t ch = 0; ch < std::min(chunks, kMaxChunks); ++ch)
    for (int kw = 0; kw < 3; ++kw) {
      const int64_t s0 = stride * ch * 16 - pw + kw;
      masks[ch][kw] = valid_lanes(s0, W);
      masks[ch][3 + kw] = valid_lanes(s0 + 16, W);
    }
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t ih0 = oh * stride - ph;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t ow0 = ch * 16;
      __mmask16 m[6];
      if (ch < kMaxChunks) {
        for (int i = 0; i < 6; ++i) m[i] = masks[ch][i];
      } else {
        for (int kw = 0; kw < 3; ++kw) {
          m[kw] = valid_lanes(stride * ow0 - pw + kw, W);
          m[3 + kw] = valid_lanes(stride * ow0 - pw + kw + 16, W);
        }
      }
      const __mmask16 out_mask = OW - ow0 >= 16 ? static_cast<__mmask16>(0xffff)
                                                : static_cast<__mmask16>((1u << (OW - ow0)) - 1u);
      const int64_t s0 = stride * ow0 - pw;
      __m512 acc = bv;
      // kh with constant bounds: the compiler unrolls it and keeps all nine
      // weights in registers.
      for (int kh = 0; kh < 3; ++kh) {
        if (ih0 + kh < 0 || ih0 + kh >= H) continue;
        const float* row = x + (ih0 + kh) * W + s0;
        if (stride == 1) {
          for (int kw = 0; kw < 3; ++kw)
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[kw], row + kw), wv[kh * 3 + kw], acc);
        } else {
          for (int kw = 0; kw < 3; ++kw) {
            const __m512 a = _mm512_maskz_loadu_ps(m[kw], row + kw);
            const __m512 b = _mm512_maskz_loadu_ps(m[3 + kw], row + kw + 16);
            acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(a, even, b), wv[kh * 3 + kw], acc);
          }
        }
      }
      if (clamp) acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));  // keeps NaN, as the reference does
      _mm512_mask_storeu_ps(y + oh * OW + ow0, out_mask, acc);
    }
  }
}

}  // namespace anvil::kernels

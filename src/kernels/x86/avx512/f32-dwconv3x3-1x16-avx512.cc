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

// Border masks of one 16-output chunk whose first tap reads column s0:
// m[kw] for the 16 columns from s0 + kw, m[3 + kw] for the 16 after them
// (stride 2 reads 32 columns per tap).
struct ChunkMasks {
  __mmask16 m[6];
  ChunkMasks() = default;
  ChunkMasks(int64_t s0, int64_t W) {
    for (int kw = 0; kw < 3; ++kw) {
      m[kw] = valid_lanes(s0 + kw, W);
      m[3 + kw] = valid_lanes(s0 + kw + 16, W);
    }
  }
};

struct Plane {
  const float* x;
  int64_t H, W, stride, ph, pw, OH, OW;
  __m512 w[9];
  __m512 bias, lo, hi;
  bool clamp;
  __m512i even;  // even lanes of a register pair: the stride-2 columns

  // Output row oh, columns [ow0, ow0 + 16): bias + the three taps of each
  // input row in range, clamped, stored under the row's tail mask.
  inline void chunk(int64_t oh, int64_t ow0, const ChunkMasks& cm, float* y) const {
    const int64_t ih0 = oh * stride - ph, s0 = stride * ow0 - pw;
    __m512 acc = bias;
    // kh with constant bounds: unrolled, all nine weights stay in registers.
    for (int kh = 0; kh < 3; ++kh) {
      if (ih0 + kh < 0 || ih0 + kh >= H) continue;
      const float* row = x + (ih0 + kh) * W + s0;
      for (int kw = 0; kw < 3; ++kw) {
        __m512 v = _mm512_maskz_loadu_ps(cm.m[kw], row + kw);
        if (stride == 2)
          v = _mm512_permutex2var_ps(v, even, _mm512_maskz_loadu_ps(cm.m[3 + kw], row + kw + 16));
        acc = _mm512_fmadd_ps(v, w[kh * 3 + kw], acc);
      }
    }
    if (clamp) acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));  // this operand order keeps NaN, as the reference does
    const __mmask16 out = OW - ow0 >= 16 ? static_cast<__mmask16>(0xffff)
                                         : static_cast<__mmask16>((1u << (OW - ow0)) - 1u);
    _mm512_mask_storeu_ps(y + oh * OW + ow0, out, acc);
  }
};

}  // namespace

// A whole channel of a 3x3 depthwise conv, stride 1 or 2, any padding,
// straight from the unpadded input: masked loads read zero where the
// window hangs over the border (AVX-512 masked lanes are never accessed),
// so the padded copy of the plane, its memset and the per-row calls of
// the generic row kernel go away; MobileNetV2's 14x14 and 7x7 channels
// spent more time in that setup than in the FMAs. A chunk's border masks
// are the same for every row, so they are worked out once (per tap they
// were more scalar work than the FMAs). Bias and clamp are applied before
// the one store.
void f32_dwconv3x3_minmax_ukernel_1x16__avx512(const float* x, int64_t H, int64_t W, const float* w, float bias,
                                              int64_t stride, int64_t ph, int64_t pw, int64_t OH, int64_t OW,
                                              const float* clamp, float* y) {
  Plane p;
  p.x = x;
  p.H = H;
  p.W = W;
  p.stride = stride;
  p.ph = ph;
  p.pw = pw;
  p.OH = OH;
  p.OW = OW;
  for (int i = 0; i < 9; ++i) p.w[i] = _mm512_set1_ps(w[i]);
  p.bias = _mm512_set1_ps(bias);
  p.clamp = clamp != nullptr;
  p.lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f);
  p.hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  p.even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  // Planes that fit L1 (MobileNet's 28x28 and smaller): column chunks
  // outside, rows inside, one chunk's masks held for all its rows. Larger
  // planes: rows outside, so the plane streams in order from L3 and the
  // hardware prefetcher keeps up (56x56 and 112x112 ran ~1.4x slower
  // chunk by chunk), with every chunk's masks from a table.
  if (H * W <= 4096) {
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
      const ChunkMasks cm(stride * ow0 - pw, W);
      for (int64_t oh = 0; oh < OH; ++oh) p.chunk(oh, ow0, cm, y);
    }
    return;
  }
  constexpr int64_t kMaxChunks = 64;
  const int64_t chunks = (OW + 15) / 16;
  ChunkMasks table[kMaxChunks];
  for (int64_t ch = 0; ch < std::min(chunks, kMaxChunks); ++ch) table[ch] = ChunkMasks(stride * ch * 16 - pw, W);
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ch = 0; ch < chunks; ++ch)
      p.chunk(oh, ch * 16, ch < kMaxChunks ? table[ch] : ChunkMasks(stride * ch * 16 - pw, W), y);
}

}  // namespace anvil::kernels

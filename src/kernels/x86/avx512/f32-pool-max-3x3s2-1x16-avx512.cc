#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "kernels/pool.h"

namespace anvil::kernels {

// 16 outputs of a row at a time, all in registers. Chunk j's column max of
// the (up to) three input rows covers input columns 32j .. 32j + 31 (two
// masked loads per row at the row's own alignment, lowest() past the
// edge); its even and odd lanes, picked by permutes, are columns 2*ow and
// 2*ow + 1 of outputs ow = 16j ..; the taps left and right of those are
// the same vectors shifted by one lane with the neighbouring chunk's end
// lane. Output ow's taps are columns 2*ow - pw .. 2*ow - pw + 2, pw <= 2.
// Two earlier forms lost to memory details: a padded row buffer re-read at
// offsets 1 and 2 floats off its stores missed store forwarding (~240
// cycles an output row; 0.25 ms for ResNet's 64x112x112 stem output, ORT
// 0.11), and loads starting at column -pw split a cache line every time
// (fast with the input hot, 1.2-1.8x slower in the model).
constexpr int64_t kPrefetchRows = 8;

void f32_pool_max_3x3s2_ukernel_1x16__avx512(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw,
                                             int64_t OH, int64_t OW, float* y) {
  const __m512 low = _mm512_set1_ps(std::numeric_limits<float>::lowest());
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  // (v, other): v one lane on, other's first lane last / one lane back,
  // other's last lane first.
  const __m512i fwd = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  const __m512i back = _mm512_setr_epi32(31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
  auto cols = [W](int64_t s) -> __mmask16 {  // lanes l with s + l < W (s >= 0)
    const int64_t n = std::min<int64_t>(16, W - s);
    return n <= 0 ? 0 : static_cast<__mmask16>(n >= 16 ? 0xffffu : (1u << n) - 1u);
  };
  const int64_t chunks = (OW + 15) / 16;
  for (int64_t oh = 0; oh < OH; ++oh) {
    const float* r[3];
    int nr = 0;
    for (int64_t kh = 0; kh < 3; ++kh) {
      const int64_t ih = 2 * oh - ph + kh;
      if (ih >= 0 && ih < H) r[nr++] = x + ih * W;
    }
    auto vmax = [&](int64_t s) -> __m512 {
      const __mmask16 m = cols(s);
      __m512 v = low;
      if (!m) return v;
      for (int i = 0; i < nr; ++i) v = _mm512_max_ps(_mm512_mask_loadu_ps(low, m, r[i] + s), v);
      return v;
    };
    // Even and odd columns of chunk j.
    auto split = [&](int64_t j, __m512& e, __m512& o) {
      const __m512 a = vmax(32 * j), b = vmax(32 * j + 16);
      e = _mm512_permutex2var_ps(a, even, b);
      o = _mm512_permutex2var_ps(a, odd, b);
    };
    // The rows this row's successor kPrefetchRows on reads first (its
    // last two): the pool reads its input once, from L3 or memory, and
    // the hardware prefetcher does not follow three interleaved rows.
    // Past the plane's end it fetches the next plane's first rows.
    for (int64_t kh = 1; kh < 3; ++kh) {
      const char* p = reinterpret_cast<const char*>(x + (2 * (oh + kPrefetchRows) - ph + kh) * W);
      for (int64_t b = 0; b < W * 4; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
    }
    float* out = y + oh * OW;
    __m512 ep = low, op = low, e, o, en = low, on = low;
    split(0, e, o);
    for (int64_t j = 0; j < chunks; ++j) {
      if (pw == 0) split(j + 1, en, on);  // column 2*ow + 2 reaches the next chunk
      __m512 m;
      if (pw == 1) {
        m = _mm512_max_ps(_mm512_max_ps(_mm512_permutex2var_ps(o, back, op), e), o);
      } else if (pw == 0) {
        m = _mm512_max_ps(_mm512_max_ps(e, o), _mm512_permutex2var_ps(e, fwd, en));
      } else {  // 2
        m = _mm512_max_ps(_mm512_max_ps(_mm512_permutex2var_ps(e, back, ep), _mm512_permutex2var_ps(o, back, op)), e);
      }
      const __mmask16 k = OW - 16 * j >= 16 ? static_cast<__mmask16>(0xffff)
                                            : static_cast<__mmask16>((1u << (OW - 16 * j)) - 1u);
      _mm512_mask_storeu_ps(out + 16 * j, k, m);
      ep = e;
      op = o;
      if (pw == 0) {
        e = en;
        o = on;
      } else if (j + 1 < chunks) {
        split(j + 1, e, o);
      }
    }
  }
}

}  // namespace anvil::kernels

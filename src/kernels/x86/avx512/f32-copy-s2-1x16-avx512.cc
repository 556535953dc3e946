#include <immintrin.h>

#include "kernels/copy.h"

namespace anvil::kernels {

// 16 outputs from 32 inputs with one two-source permute (the even lanes).
// The generic build compiled the plain loop to SSE shuffles, 4 at a time:
// 13% of MobileNetV2's 3x3/2 stem in perf. The tail's loads are masked to
// the 2n - 1 inputs it may read, so nothing past src[2n - 2] is touched.
void f32_copy_s2_ukernel_1x16__avx512(const float* src, int64_t n, float* dst, const float* st) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512 s = _mm512_set1_ps(st ? st[0] : 1.f), t = _mm512_set1_ps(st ? st[1] : 0.f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    // The last full step reads src[2i + 31], one past src[2n - 2] when
    // i + 16 == n: mask it off then.
    const __mmask16 hi = i + 16 < n ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>(0x7fff);
    const __m512 a = _mm512_loadu_ps(src + 2 * i), b = _mm512_maskz_loadu_ps(hi, src + 2 * i + 16);
    __m512 v = _mm512_permutex2var_ps(a, even, b);
    if (st) v = _mm512_fmadd_ps(v, s, t);
    _mm512_storeu_ps(dst + i, v);
  }
  if (i < n) {
    const int64_t m = n - i, need = 2 * m - 1;  // inputs src[2i .. 2i + need)
    const __mmask16 la = need >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << need) - 1);
    const __mmask16 lb = need > 16 ? static_cast<__mmask16>((1u << (need - 16)) - 1) : static_cast<__mmask16>(0);
    const __m512 a = _mm512_maskz_loadu_ps(la, src + 2 * i), b = _mm512_maskz_loadu_ps(lb, src + 2 * i + 16);
    __m512 v = _mm512_permutex2var_ps(a, even, b);
    if (st) v = _mm512_fmadd_ps(v, s, t);
    _mm512_mask_storeu_ps(dst + i, static_cast<__mmask16>((1u << m) - 1), v);
  }
}

}  // namespace anvil::kernels

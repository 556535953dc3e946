#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

namespace anvil::kernels {

// 7 rows x 2 zmm columns = 14 accumulators. Made for the transposed
// products of 7x7 feature maps (ResNet's last stage at 224, stage 3 at
// 112): 49 pixels are exactly 7 row panels, where 6-row tiles pad them to
// 54 and 16-row tiles to 64; and the kc x 32 B panel (32 KB at KC=256) stays
// near L1 where 6x64's 64 KB one is re-read from L2 by every row panel.
// Standalone on Zen 4: ~108 GFLOP/s on 49 x 512 x 2048 against ~98 for 6x64.
void f32_gemm_ukernel_7x32__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                   int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  PrefetchSpread pf{prefetch, prefetch_lines, kc};
  __m512 acc[7][2];
  for (int i = 0; i < 7; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    pf.step(k);
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
    for (int i = 0; i < 7; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += 7;
    b += 32;
  }
  pf.finish();
  const __mmask16 m0 = nr >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? static_cast<__mmask16>(0xffff)
                       : nr > 16 ? static_cast<__mmask16>((1u << (nr - 16)) - 1)
                                 : static_cast<__mmask16>(0);
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    __m512 v0 = acc[i][0], v1 = acc[i][1];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, m0, v0);
    _mm512_mask_storeu_ps(ci + 16, m1, v1);
  }
}

}  // namespace anvil::kernels

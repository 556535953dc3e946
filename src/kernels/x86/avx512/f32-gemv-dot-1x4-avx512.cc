#include <immintrin.h>

#include "kernels/gemm.h"

namespace anvil::kernels {

// y[j] = a[0..K) . bt[j * K .. j * K + K) for j < n <= 4: a batch-1 fully
// connected layer with few outputs (a regression head, a binary
// classifier), its weights packed as rows, one per output. The 64-column
// panels pad such a layer to 64 outputs, so a 2048 x 1 head streamed 512 KB
// for 8 KB of weights; here every weight byte read is used. Vectors run
// along K: per 32 k, 2 loads of a and 2 of each row feed 2n FMAs into
// separate chains, summed across lanes at the end; a masked tail takes the
// last K % 16.
void f32_gemv_dot_ukernel_1x4__avx512(int64_t K, const float* a, const float* bt, float* y, int64_t n) {
  const float* r0 = bt;
  const float* r1 = n > 1 ? bt + K : bt;
  const float* r2 = n > 2 ? bt + 2 * K : bt;
  const float* r3 = n > 3 ? bt + 3 * K : bt;
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    const __m512 x0 = _mm512_loadu_ps(a + k), x1 = _mm512_loadu_ps(a + k + 16);
    c0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r0 + k), c0);
    d0 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r0 + k + 16), d0);
    c1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r1 + k), c1);
    d1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r1 + k + 16), d1);
    c2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r2 + k), c2);
    d2 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r2 + k + 16), d2);
    c3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r3 + k), c3);
    d3 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r3 + k + 16), d3);
  }
  for (; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (K - k)) - 1u);
    const __m512 x = _mm512_maskz_loadu_ps(m, a + k);
    c0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r0 + k), c0);
    c1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r1 + k), c1);
    c2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r2 + k), c2);
    c3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r3 + k), c3);
  }
  const float s[4] = {_mm512_reduce_add_ps(_mm512_add_ps(c0, d0)), _mm512_reduce_add_ps(_mm512_add_ps(c1, d1)),
                      _mm512_reduce_add_ps(_mm512_add_ps(c2, d2)), _mm512_reduce_add_ps(_mm512_add_ps(c3, d3))};
  for (int64_t j = 0; j < n; ++j) y[j] = s[j];
}

}  // namespace anvil::kernels

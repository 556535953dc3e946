#include <immintrin.h>

#include "kernels/gemm.h"

namespace anvil::kernels {

// y[0..n) = a[0..K) . B, B one panel of 64 columns packed [K][64] (zero
// past column n): a fully connected layer at batch 1, which reads each
// weight once, so the run is a stream of K * 256 bytes per panel from
// memory. Eight accumulators (two k steps of four vectors) keep the FMA
// chains short of the latency; the lines 4 KB ahead are prefetched, as one
// sequential stream per thread left the core's memory queue part empty
// (ResNet's 2048 x 1000 FC, 8 MB, read at ~23 GB/s through the 6x64 GEMM
// tile, whose six rows were five of padding).
void f32_gemv_ukernel_1x64__avx512(int64_t K, const float* a, const float* b, float* y, int64_t n) {
  constexpr int64_t kAhead = 4096 / sizeof(float);
  __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
  __m512 d0 = _mm512_setzero_ps(), d1 = _mm512_setzero_ps(), d2 = _mm512_setzero_ps(), d3 = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 2 <= K; k += 2, b += 128) {
    for (int l = 0; l < 128; l += 16) _mm_prefetch(reinterpret_cast<const char*>(b + kAhead + l), _MM_HINT_T0);
    const __m512 x0 = _mm512_set1_ps(a[k]), x1 = _mm512_set1_ps(a[k + 1]);
    c0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b), c0);
    c1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + 16), c1);
    c2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + 32), c2);
    c3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + 48), c3);
    d0 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b + 64), d0);
    d1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b + 80), d1);
    d2 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b + 96), d2);
    d3 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b + 112), d3);
  }
  if (k < K) {
    const __m512 x0 = _mm512_set1_ps(a[k]);
    c0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b), c0);
    c1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + 16), c1);
    c2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + 32), c2);
    c3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + 48), c3);
  }
  const __m512 r[4] = {_mm512_add_ps(c0, d0), _mm512_add_ps(c1, d1), _mm512_add_ps(c2, d2), _mm512_add_ps(c3, d3)};
  for (int v = 0; v < 4 && 16 * v < n; ++v) {
    const int64_t left = n - 16 * v;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
    _mm512_mask_storeu_ps(y + 16 * v, m, r[v]);
  }
}

}  // namespace anvil::kernels

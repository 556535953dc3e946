#include <immintrin.h>

#include "kernels/pool.h"

namespace anvil::kernels {

// Each plane summed in four zmm accumulators (independent add chains over
// the 4-cycle latency), the tail masked, one horizontal sum per plane.
// ResNet's 2048 planes of 7x7 and MobileNetV2's 1280 are 3 vectors and a
// lane each.
void f32_pool_gavg_ukernel_1x16__avx512(const float* x, int64_t planes, int64_t n, float* y) {
  const float inv = 1.f / static_cast<float>(n);
  for (int64_t p = 0; p < planes; ++p) {
    const float* v = x + p * n;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
      a0 = _mm512_add_ps(a0, _mm512_loadu_ps(v + i));
      a1 = _mm512_add_ps(a1, _mm512_loadu_ps(v + i + 16));
      a2 = _mm512_add_ps(a2, _mm512_loadu_ps(v + i + 32));
      a3 = _mm512_add_ps(a3, _mm512_loadu_ps(v + i + 48));
    }
    for (; i + 16 <= n; i += 16) a0 = _mm512_add_ps(a0, _mm512_loadu_ps(v + i));
    if (i < n) a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - i)) - 1u), v + i));
    y[p] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))) * inv;
  }
}

}  // namespace anvil::kernels

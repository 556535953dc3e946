#include <immintrin.h>

#include "kernels/x86/avx2/avx2_util.h"

#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

namespace anvil::kernels {

namespace {

using avx2::tail_mask;

inline void store_row(float* c, __m256 v0, __m256 v1, int64_t nr, bool accumulate) {
  if (nr == 16) {
    if (accumulate) {
      v0 = _mm256_add_ps(v0, _mm256_loadu_ps(c));
      v1 = _mm256_add_ps(v1, _mm256_loadu_ps(c + 8));
    }
    _mm256_storeu_ps(c, v0);
    _mm256_storeu_ps(c + 8, v1);
    return;
  }
  const __m256i m0 = tail_mask(nr), m1 = tail_mask(nr - 8);
  if (accumulate) {
    v0 = _mm256_add_ps(v0, _mm256_maskload_ps(c, m0));
    v1 = _mm256_add_ps(v1, _mm256_maskload_ps(c + 8, m1));
  }
  _mm256_maskstore_ps(c, m0, v0);
  _mm256_maskstore_ps(c + 8, m1, v1);
}

}  // namespace

// 6 rows x 2 ymm = 12 accumulators out of 16 registers: the largest tile
// that leaves room for the two B loads and a broadcast. The accumulators
// are named scalars, never an array indexed at run time: GCC spills an
// array to the stack on every iteration (12 stores per 12 FMAs), which
// held this kernel at a quarter of peak.
void f32_gemm_ukernel_6x16__avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                 int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  prefetch_burst_l2(prefetch, prefetch_lines);
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    // B streams from L3 or memory on the first pass over a panel (weights,
    // freshly packed columns); a line per k step, fetched 16 steps ahead (measured best of 8, 16, 32).
    _mm_prefetch(reinterpret_cast<const char*>(b + 256), _MM_HINT_T0);
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += 6;
    b += 16;
  }
  store_row(c, c00, c01, nr, accumulate);
  if (mr > 1) store_row(c + ldc, c10, c11, nr, accumulate);
  if (mr > 2) store_row(c + 2 * ldc, c20, c21, nr, accumulate);
  if (mr > 3) store_row(c + 3 * ldc, c30, c31, nr, accumulate);
  if (mr > 4) store_row(c + 4 * ldc, c40, c41, nr, accumulate);
  if (mr > 5) store_row(c + 5 * ldc, c50, c51, nr, accumulate);
}

}  // namespace anvil::kernels

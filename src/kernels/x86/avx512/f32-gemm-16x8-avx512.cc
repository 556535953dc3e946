#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

namespace anvil::kernels {

// The 16x16 tile's twin for a last column panel of at most 8 columns
// (14x14 maps: 196 = 12 x 16 + 4): ymm accumulators, so the 4 columns cost
// half a full panel instead of all of it (a ymm FMA takes one of Zen 4's
// two 256-bit pipes, a zmm FMA both). B is read with a row stride: ldb for
// B in place, 16 for a packed 16-wide panel.
#define ANVIL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define ANVIL_ZERO(i) __m256 acc##i = _mm256_setzero_ps();
#define ANVIL_FMA(i) acc##i = _mm256_fmadd_ps(_mm256_set1_ps(a[i]), bv, acc##i);

namespace {

inline void store_row8(__m256 v, int i, float* c, int64_t ldc, __mmask8 m, bool accumulate, const float* bias,
                       const float* residual, int64_t ldr, const float* clamp, __m256 lo, __m256 hi) {
  float* ci = c + i * ldc;
  if (accumulate) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(m, ci));
  if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[i]));
  if (residual) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(m, residual + i * ldr));
  if (clamp) v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
  _mm256_mask_storeu_ps(ci, m, v);
}

}  // namespace

void f32_gemm_minmax_bstride_ukernel_16x8__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                  int64_t ldc, int64_t mr, int64_t nr, bool accumulate,
                                                  const float* bias, const float* residual, int64_t ldr,
                                                  const float* clamp, const char* prefetch, int64_t prefetch_lines) {
  const __mmask8 m = nr >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << nr) - 1);
  ANVIL_ROWS(ANVIL_ZERO)
  PrefetchSpread pf{prefetch, prefetch_lines, kc, ldb == 16 ? 64 : ldb * static_cast<int64_t>(sizeof(float))};
  for (int64_t k = 0; k < kc; ++k) {
    pf.step(k);
    const __m256 bv = _mm256_maskz_loadu_ps(m, b);
    ANVIL_ROWS(ANVIL_FMA)
    a += 16;
    b += ldb;
  }
  pf.finish();
  const __m256 lo = _mm256_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm256_set1_ps(clamp ? clamp[1] : 0.f);
#define ANVIL_STORE(i) \
  if (i < mr) store_row8(acc##i, i, c, ldc, m, accumulate, bias, residual, ldr, clamp, lo, hi);
  ANVIL_ROWS(ANVIL_STORE)
#undef ANVIL_STORE
}

#undef ANVIL_FMA
#undef ANVIL_ZERO
#undef ANVIL_ROWS

}  // namespace anvil::kernels

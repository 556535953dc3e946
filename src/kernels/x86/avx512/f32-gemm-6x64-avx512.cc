#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

// GCC 12 flags the _mm512_undefined_ps() inside _mm512_max_ps/_mm512_min_ps
// (their unused merge source) once inlined: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace anvil::kernels {

// 6 rows x 4 zmm columns = 24 accumulators: enough independent FMA chains
// to cover the 4-cycle latency on both pipes, with 4 loads and 6 broadcasts
// per 24 FMAs so the load ports are not the limit (the 16x16 tile does 17
// per 16: on Zen 5's full-width FMAs, maps of 64-256 pixels ran 0.77-0.89x
// the 16x16 tile's time here, ResNet-101 at 256x256 input).
namespace {

// One row (a fully-connected layer at batch 1): the full tile would run 6x
// the FMAs of the real row. Eight accumulators (even and odd k apart) keep
// FMA chains off the critical path; the weights stream from memory, so the
// loop is load-bound by design.
void gemv_1x64(int64_t kc, const float* a, const float* b, float* c, int64_t nr, bool accumulate, const char* prefetch,
               int64_t prefetch_lines) {
  PrefetchSpread pf{prefetch, prefetch_lines, kc};
  __m512 e0 = _mm512_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
  int64_t k = 0;
  for (; k + 2 <= kc; k += 2) {
    pf.step(k);
    pf.step(k + 1);
    const __m512 x0 = _mm512_set1_ps(a[6 * k]), x1 = _mm512_set1_ps(a[6 * k + 6]);
    const float* b0 = b + 64 * k;
    e0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0), e0);
    e1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0 + 16), e1);
    e2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0 + 32), e2);
    e3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0 + 48), e3);
    o0 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b0 + 64), o0);
    o1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b0 + 80), o1);
    o2 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b0 + 96), o2);
    o3 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b0 + 112), o3);
  }
  if (k < kc) {
    const __m512 x0 = _mm512_set1_ps(a[6 * k]);
    const float* b0 = b + 64 * k;
    e0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0), e0);
    e1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0 + 16), e1);
    e2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0 + 32), e2);
    e3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b0 + 48), e3);
  }
  pf.finish();
  const __m512 v[4] = {_mm512_add_ps(e0, o0), _mm512_add_ps(e1, o1), _mm512_add_ps(e2, o2), _mm512_add_ps(e3, o3)};
  for (int j = 0; j < 4; ++j) {
    const int64_t left = nr - 16 * j;
    if (left <= 0) break;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    __m512 r = v[j];
    if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, c + 16 * j));
    _mm512_mask_storeu_ps(c + 16 * j, m, r);
  }
}

}  // namespace

namespace {

// kEpi: + bias[i], + residual[i * ldr + j], clamp, before the one store
// (the fused epilogue of the last K block; see GemmUkernelEpi).
template <bool kEpi>
void tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr, bool accumulate,
          const float* bias, const float* residual, int64_t ldr, const float* clamp, const char* prefetch,
          int64_t prefetch_lines) {
  PrefetchSpread pf{prefetch, prefetch_lines, kc};
  __m512 acc[6][4];
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    pf.step(k);
    const __m512 b0 = _mm512_loadu_ps(b + 0);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
    const __m512 b2 = _mm512_loadu_ps(b + 32);
    const __m512 b3 = _mm512_loadu_ps(b + 48);
#define ANVIL_ROW(i)                                  \
  {                                                   \
    const __m512 ai = _mm512_set1_ps(a[i]);           \
    acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);   \
    acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);   \
    acc[i][2] = _mm512_fmadd_ps(ai, b2, acc[i][2]);   \
    acc[i][3] = _mm512_fmadd_ps(ai, b3, acc[i][3]);   \
  }
    ANVIL_ROW(0) ANVIL_ROW(1) ANVIL_ROW(2) ANVIL_ROW(3) ANVIL_ROW(4) ANVIL_ROW(5)
#undef ANVIL_ROW
    a += 6;
    b += 64;
  }
  pf.finish();
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    const float* ri = kEpi && residual ? residual + i * ldr : nullptr;
    for (int j = 0; j < 4; ++j) {
      const int64_t left = nr - 16 * j;
      if (left <= 0) break;
      const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
      __m512 v = acc[i][j];
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ci + 16 * j));
      if (kEpi) {
        if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[i]));
        if (ri) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ri + 16 * j));
        if (clamp) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
      }
      _mm512_mask_storeu_ps(ci + 16 * j, m, v);
    }
  }
}

}  // namespace

void f32_gemm_ukernel_6x64__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                   int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  if (mr == 1) return gemv_1x64(kc, a, b, c, nr, accumulate, prefetch, prefetch_lines);
  tile<false>(kc, a, b, c, ldc, mr, nr, accumulate, nullptr, nullptr, 0, nullptr, prefetch, prefetch_lines);
}

void f32_gemm_minmax_ukernel_6x64__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                          int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                          const float* residual, int64_t ldr, const float* clamp,
                                          const char* prefetch, int64_t prefetch_lines) {
  tile<true>(kc, a, b, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch, prefetch_lines);
}

}  // namespace anvil::kernels

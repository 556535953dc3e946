#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

namespace anvil::kernels {

// 16 rows x one zmm column = 16 accumulators, one B load and 16 embedded
// broadcasts of A per 16 FMAs. On Zen 4 a zmm FMA takes both 256-bit pipes
// (one a cycle), so 16 chains cover the 4-cycle latency four times over,
// and the B panel (kc x 16) is a quarter of the 6x64 tile's: at KC=256 it
// is 16 KB and stays in L1 with the A panel, where 6x64's 64 KB panel
// spilled to L2 and held the kernel to ~85% of peak (bench/bench_conv_layers).
// Its 16-pixel width also wastes less of odd pixel counts (14x14 = 196 ->
// 208) than 64 (-> 256), so 14x14 layers need no transposed product.
namespace {

template <bool kEpi>
inline void gemm_16x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                       bool accumulate, const float* bias, const float* residual, int64_t ldr, const float* clamp,
                       const char* prefetch, int64_t prefetch_lines) {
  PrefetchSpread pf{prefetch, prefetch_lines, kc};
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    pf.step(k);
    const __m512 bv = _mm512_loadu_ps(b);
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), bv, acc[i]);
    a += 16;
    b += 16;
  }
  pf.finish();
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  const __mmask16 m = nr >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << nr) - 1);
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    __m512 v = acc[i];
    if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ci));
    if (kEpi) {
      if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[i]));
      if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual + i * ldr));
      if (clamp) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
    }
    _mm512_mask_storeu_ps(ci, m, v);
  }
}

}  // namespace

void f32_gemm_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                    int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  gemm_16x16<false>(kc, a, b, c, ldc, mr, nr, accumulate, nullptr, nullptr, 0, nullptr, prefetch, prefetch_lines);
}

// The last K block of a conv: bias, residual add and ReLU/ReLU6 in
// registers, so the output is written once instead of stored, reloaded and
// stored again.
void f32_gemm_minmax_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                           int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                           const float* residual, int64_t ldr, const float* clamp,
                                           const char* prefetch, int64_t prefetch_lines) {
  gemm_16x16<true>(kc, a, b, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch, prefetch_lines);
}

}  // namespace anvil::kernels

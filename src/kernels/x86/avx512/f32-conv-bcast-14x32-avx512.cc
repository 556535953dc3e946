#include <immintrin.h>
#include <algorithm>

#include "kernels/conv_bcast.h"
#include "kernels/x86/avx512/transpose16-avx512.h"

// GCC 12 flags the _mm512_undefined_ps() inside _mm512_max_ps/_mm512_min_ps
// (their unused merge source) once inlined: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace anvil::kernels {

// 14 pixels x 2 zmm of output channels: 28 accumulators, the step's two
// weight vectors and one broadcast, 31 of the 32 registers. Per reduction
// row 16 loads (2 vectors, 14 broadcasts at fixed displacements from one
// pointer) feed 28 FMAs.
namespace {

template <int kStride>
void tile(int64_t K, const float* w, const float* x, const int32_t* off, int64_t np, int64_t nc, float* y,
          int64_t ldy, const float* bias, const float* residual, const float* clamp) {
  __m512 acc[14][2];
#pragma GCC unroll 14
  for (int i = 0; i < 14; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* p = x + off[k];
    const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
    w += 32;
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) {
      const __m512 b = _mm512_set1_ps(p[kStride * i]);
      acc[i][0] = _mm512_fmadd_ps(b, w0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(b, w1, acc[i][1]);
    }
  }
  const __mmask16 pm = static_cast<__mmask16>((1u << np) - 1u);
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    // Pixels x channels to channels x pixels: row o of r is channel 16h+o.
    __m512 r[16];
#pragma GCC unroll 14
    for (int i = 0; i < 14; ++i) r[i] = acc[i][h];
    r[14] = r[15] = _mm512_setzero_ps();
    avx512::transpose16(r);
    const int64_t n = std::min<int64_t>(16, nc - 16 * h);
    for (int64_t o = 0; o < n; ++o) {
      const int64_t oc = 16 * h + o;
      __m512 v = r[o];
      if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[oc]));
      if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(pm, residual + oc * ldy));
      if (clamp) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
      _mm512_mask_storeu_ps(y + oc * ldy, pm, v);
    }
  }
}

}  // namespace

void f32_conv_s2_minmax_ukernel_14x32__avx512(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp) {
  tile<2>(K, w, x, off, np, nc, y, ldy, bias, residual, clamp);
}

void f32_conv_s1_minmax_ukernel_14x32__avx512(int64_t K, const float* w, const float* x, const int32_t* off,
                                              int64_t np, int64_t nc, float* y, int64_t ldy, const float* bias,
                                              const float* residual, const float* clamp) {
  tile<1>(K, w, x, off, np, nc, y, ldy, bias, residual, clamp);
}

}  // namespace anvil::kernels

#include <immintrin.h>

#include "kernels/conv_stem.h"
#include "kernels/x86/avx2/avx2_util.h"

namespace anvil::kernels {

namespace {

// 4 output channels x NV ymm vectors of 8 columns: 4 * NV accumulators of
// AVX2's 16 registers, plus NV loads and a broadcast per tap.
template <int NV>
void tile(int64_t C, int64_t KH, int64_t KW, const int64_t* off, const float* x, int64_t cs, int64_t rs,
          const float* w, const float* bias, int64_t mr, int64_t nc, const float* clamp, float* y, int64_t ldy) {
  __m256 acc[kStemMR][NV];
#pragma GCC unroll 4
  for (int o = 0; o < kStemMR; ++o) {
    const __m256 b = _mm256_set1_ps(bias ? bias[o] : 0.f);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[o][v] = b;
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < KH; ++kh) {
      const float* r = x + c * cs + kh * rs;
      for (int64_t kw = 0; kw < KW; ++kw, w += kStemMR) {
        const float* p = r + off[kw];
        __m256 xv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) xv[v] = _mm256_loadu_ps(p + 8 * v);
#pragma GCC unroll 4
        for (int o = 0; o < kStemMR; ++o) {
          const __m256 wv = _mm256_broadcast_ss(w + o);
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) acc[o][v] = _mm256_fmadd_ps(xv[v], wv, acc[o][v]);
        }
      }
    }
  const __m256 lo = _mm256_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm256_set1_ps(clamp ? clamp[1] : 0.f);
  const __m256i last = avx2::tail_mask(nc - 8 * (NV - 1));
#pragma GCC unroll 4
  for (int o = 0; o < kStemMR; ++o)
    if (o < mr)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        __m256 a = acc[o][v];
        if (clamp) a = _mm256_min_ps(hi, _mm256_max_ps(lo, a));  // this operand order keeps NaN, as the reference does
        if (v + 1 < NV) _mm256_storeu_ps(y + o * ldy + 8 * v, a);
        else _mm256_maskstore_ps(y + o * ldy + 8 * v, last, a);
      }
}

}  // namespace

void f32_conv_minmax_ukernel_4x16__avx2(int64_t C, int64_t KH, int64_t KW, int64_t S, const float* x, int64_t cs,
                                        int64_t rs, int64_t ld, const float* w, const float* bias, int64_t mr,
                                        int64_t nc, const float* clamp, float* y, int64_t ldy) {
  int64_t off[kStemMaxKernel];
  for (int64_t kw = 0; kw < KW; ++kw) off[kw] = S == 2 ? (kw & 1) * ld + (kw >> 1) : kw;
  if (nc > 8) tile<2>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
  else tile<1>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
}

}  // namespace anvil::kernels

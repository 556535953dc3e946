#include <immintrin.h>

#include "kernels/conv_stem.h"

// GCC 12 flags the _mm512_undefined_ps() inside _mm512_max_ps/_mm512_min_ps
// (their unused merge source) once the accumulator array is unrolled: a
// false positive, the intrinsics never read it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace anvil::kernels {

namespace {

// 4 output channels x NV vectors of 16 columns: per tap, NV loads and 4
// broadcasts feed 4 * NV FMAs (16 at NV = 4: one a cycle on Zen 4's paired
// 256-bit pipes, with 16 chains over the 4-cycle latency). The taps' column
// offsets are worked out once per call; the tap loop runs over them.
// KWC: the window's width at compile time (0: KW at run time). Unrolled
// over a row of taps, the 7x7 stem ran ~5% faster and MobileNet's 3x3 ~7%
// (bench_conv_layers, 3 alternated runs; in-model 0.94x and 0.81x, 8 of 8
// alternated rounds): the loop's counter, offset load and branch came
// every 16 (or 12) FMAs. The AVX2 twin unrolled the same way measured
// level at 3x3 and 1.07x slower at 7x7, so it keeps its loop.
template <int NV, int KWC>
void tile(int64_t C, int64_t KH, int64_t KW_, const int64_t* off, const float* x, int64_t cs, int64_t rs,
          const float* w, const float* bias, int64_t mr, int64_t nc, const float* clamp, float* y, int64_t ldy) {
  const int64_t KW = KWC ? KWC : KW_;
  __m512 acc[kStemMR][NV];
#pragma GCC unroll 4
  for (int o = 0; o < kStemMR; ++o) {
    const __m512 b = _mm512_set1_ps(bias ? bias[o] : 0.f);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[o][v] = b;
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < KH; ++kh) {
      const float* r = x + c * cs + kh * rs;
#pragma GCC unroll 7
      for (int64_t kw = 0; kw < KW; ++kw, w += kStemMR) {
        const float* p = r + off[kw];
        __m512 xv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) xv[v] = _mm512_loadu_ps(p + 16 * v);
#pragma GCC unroll 4
        for (int o = 0; o < kStemMR; ++o) {
          const __m512 wv = _mm512_set1_ps(w[o]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[o][v] = _mm512_fmadd_ps(xv[v], wv, acc[o][v]);
        }
      }
    }
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  const int64_t tail = nc - 16 * (NV - 1);
  const __mmask16 last = tail >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << tail) - 1u);
  if (clamp)
#pragma GCC unroll 4
    for (int o = 0; o < kStemMR; ++o)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[o][v] = _mm512_min_ps(hi, _mm512_max_ps(lo, acc[o][v]));  // keeps NaN, as the reference does
#pragma GCC unroll 4
  for (int o = 0; o < kStemMR; ++o)
    if (o < mr)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        _mm512_mask_storeu_ps(y + o * ldy + 16 * v, v + 1 < NV ? static_cast<__mmask16>(0xffff) : last, acc[o][v]);
}

template <int KWC>
void by_width(int64_t C, int64_t KH, int64_t KW, const int64_t* off, const float* x, int64_t cs, int64_t rs,
              const float* w, const float* bias, int64_t mr, int64_t nc, const float* clamp, float* y, int64_t ldy) {
  switch ((nc + 15) / 16) {
    case 1: return tile<1, KWC>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
    case 2: return tile<2, KWC>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
    case 3: return tile<3, KWC>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
    default: return tile<4, KWC>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
  }
}

}  // namespace

void f32_conv_minmax_ukernel_4x64__avx512(int64_t C, int64_t KH, int64_t KW, int64_t S, const float* x, int64_t cs,
                                          int64_t rs, int64_t ld, const float* w, const float* bias, int64_t mr,
                                          int64_t nc, const float* clamp, float* y, int64_t ldy) {
  int64_t off[kStemMaxKernel];
  // Shifts, not divisions: seven of those per call were ~8% of the 7x7
  // stem's time (perf).
  for (int64_t kw = 0; kw < KW; ++kw) off[kw] = S == 2 ? (kw & 1) * ld + (kw >> 1) : kw;
  switch (KW) {
    case 3: return by_width<3>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
    case 5: return by_width<5>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
    case 7: return by_width<7>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
    default: return by_width<0>(C, KH, KW, off, x, cs, rs, w, bias, mr, nc, clamp, y, ldy);
  }
}

}  // namespace anvil::kernels

// The body shared by the AVX-512 GEMM tiles of kMR rows x one zmm column
// (f32-gemm-16x16-avx512.cc, f32-gemm-24x16-avx512.cc): kMR accumulators,
// one B load and kMR embedded broadcasts of A per kMR FMAs. On Zen 4 a zmm
// FMA takes both 256-bit pipes (one a cycle), so 16 or 24 chains cover the
// 4-cycle latency several times over. Included by those two files only
// (compiled with the AVX-512 flags).
#pragma once
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

// GCC 12 flags the _mm512_undefined_ps() inside _mm512_max_ps/_mm512_min_ps
// (their unused merge source) once these tiles are inlined: a false
// positive, the intrinsics never read it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace anvil::kernels::avx512_rows {

// One output row of the tile: the epilogue, then the masked store.
template <bool kEpi>
inline void store_row(__m512 v, int i, float* c, int64_t ldc, __mmask16 m, bool accumulate, const float* bias,
                      const float* residual, int64_t ldr, const float* clamp, __m512 lo, __m512 hi) {
  float* ci = c + i * ldc;
  if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ci));
  if (kEpi) {
    if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[i]));
    if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual + i * ldr));
    if (clamp) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
  }
  _mm512_mask_storeu_ps(ci, m, v);
}

// The residual tile's lines (16 floats per row, two lines when unaligned),
// fetched when the tile starts so they are in L1 by its epilogue: the
// residual is the block's input, written three convs earlier and by then
// in L3 (1.6 MB at 512x28x28), and 16-32 misses at the epilogue stalled
// ResNet's expanding 1x1 convs by ~20% (1.3 vs 1.05 ms without residual).
inline void prefetch_tile(const float* p, int64_t ld, int64_t mr) {
  for (int64_t i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i * ld), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i * ld + 15), _MM_HINT_T0);
  }
}

// The accumulators acc0..acc23 as named variables: with an array (indexed
// at run time by the mr-row store loop) GCC kept it in memory and stored
// all of it every k step in some builds. Rows at and past kMR compile away.
#define ANVIL_ROWS24(X)                                                                                             \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) \
  X(20) X(21) X(22) X(23)
#define ANVIL_ZERO(i) __m512 acc##i = _mm512_setzero_ps();
#define ANVIL_FMA(i) \
  if (i < kMR) acc##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), bv, acc##i);

// kLdb: B read in place, row k at b + k * ldb, masked to nr columns; the
// prefetch lines are one per row of the next panel (stride ldb).
template <int kMR, bool kEpi, bool kLdb = false>
inline void gemm_rows(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                      bool accumulate, const float* bias, const float* residual, int64_t ldr, const float* clamp,
                      const char* prefetch, int64_t prefetch_lines, int64_t ldb = 16) {
  static_assert(kMR <= 24, "ANVIL_ROWS24 names 24 accumulators");
  const __mmask16 m = nr >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << nr) - 1);
#define ANVIL_STORE(i) \
  if (i < kMR && i < mr) store_row<kEpi>(acc##i, i, c, ldc, m, accumulate, bias, residual, ldr, clamp, lo, hi);
  ANVIL_ROWS24(ANVIL_ZERO)
  if (kEpi && residual) prefetch_tile(residual, ldr, mr);
  PrefetchSpread pf{prefetch, prefetch_lines, kc, kLdb ? ldb * static_cast<int64_t>(sizeof(float)) : 64};
  for (int64_t k = 0; k < kc; ++k) {
    pf.step(k);
    const __m512 bv = kLdb ? _mm512_maskz_loadu_ps(m, b) : _mm512_loadu_ps(b);
    ANVIL_ROWS24(ANVIL_FMA)
    a += kMR;
    b += kLdb ? ldb : 16;
  }
  pf.finish();
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  ANVIL_ROWS24(ANVIL_STORE)
#undef ANVIL_STORE
}

#undef ANVIL_FMA
#undef ANVIL_ZERO
#undef ANVIL_ROWS24

}  // namespace anvil::kernels::avx512_rows

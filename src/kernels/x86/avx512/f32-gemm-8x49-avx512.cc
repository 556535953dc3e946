#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

// GCC 12 flags the _mm512_undefined_ps() inside _mm512_max_ps/_mm512_min_ps
// (their unused merge source) once inlined: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace anvil::kernels {

// 8 rows x 49 columns: a 7x7 map (ResNet's last stage at 224, its third at
// 112, MobileNetV2's last) whole in one tile. 49 = 3 x 16 + 1, so columns
// 0-47 are 3 zmm per row (24 accumulators, 3 B loads and 8 embedded
// broadcasts of A per step) and column 48 is one ymm down the 8 rows (the
// step's 8 A values as a vector times column 48's B value broadcast), at
// half a zmm FMA's cost: 24.5 FMA slots per 8 x 49 products, every lane
// used. The 16x16 tile fills 49 of 64 columns and the transposed 7x32
// product pays for packing the pixels and transposing the result; both
// held these layers to 75-85% of peak. B rows are 49 consecutive floats
// (the image's channel rows, or a packed panel), a sequential stream.
// 29 of the 32 zmm registers.
namespace {

#define ANVIL_R8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define ANVIL_ZERO(i)                      \
  __m512 acc##i##a = _mm512_setzero_ps(); \
  __m512 acc##i##b = _mm512_setzero_ps(); \
  __m512 acc##i##c = _mm512_setzero_ps();
#define ANVIL_FMA(i)                                 \
  {                                                  \
    const __m512 av = _mm512_set1_ps(a[i]);          \
    acc##i##a = _mm512_fmadd_ps(av, b0, acc##i##a); \
    acc##i##b = _mm512_fmadd_ps(av, b1, acc##i##b); \
    acc##i##c = _mm512_fmadd_ps(av, b2, acc##i##c); \
  }

inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << std::max<int64_t>(n, 0)) - 1u);
}

// One 16-column part of an output row: + C (accumulate), + bias, +
// residual, then the clamp, then the masked store.
template <bool kEpi>
inline void store16(__m512 v, float* c, __mmask16 m, bool accumulate, float bias, const float* residual,
                    const float* clamp, __m512 lo, __m512 hi) {
  if (!m) return;
  if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
  if (kEpi) {
    v = _mm512_add_ps(v, _mm512_set1_ps(bias));
    if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual));
    if (clamp) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
  }
  _mm512_mask_storeu_ps(c, m, v);
}

// kLdb: B row k at b + k * ldb (and the prefetch lines one per row of the
// next panel, ldb apart); else the packed panel, rows 49 floats apart.
template <bool kEpi, bool kLdb, bool kCol48>
void tile(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t mr, int64_t nr,
          bool accumulate, const float* bias, const float* residual, int64_t ldr, const float* clamp,
          const char* prefetch, int64_t prefetch_lines) {
  const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16), m2 = lanes(nr - 32);
  ANVIL_R8(ANVIL_ZERO)
  __m256 acc48 = _mm256_setzero_ps();
  if (kEpi && residual)
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t off = 0; off < 49; off += 16)
        _mm_prefetch(reinterpret_cast<const char*>(residual + i * ldr + off), _MM_HINT_T0);
  PrefetchSpread pf{prefetch, prefetch_lines, kc, kLdb ? ldb * static_cast<int64_t>(sizeof(float)) : 64};
  for (int64_t k = 0; k < kc; ++k) {
    pf.step(k);
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
    const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    const __m512 b2 = _mm512_maskz_loadu_ps(m2, b + 32);
    ANVIL_R8(ANVIL_FMA)
    if (kCol48) acc48 = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_set1_ps(b[48]), acc48);
    a += 8;
    b += kLdb ? ldb : 49;
  }
  pf.finish();
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
#define ANVIL_STORE(i)                                                                                          \
  if (i < mr) {                                                                                                 \
    float* ci = c + i * ldc;                                                                                    \
    const float bi = kEpi && bias ? bias[i] : 0.f;                                                              \
    const float* ri = kEpi && residual ? residual + i * ldr : nullptr;                                          \
    store16<kEpi>(acc##i##a, ci, m0, accumulate, bi, ri, clamp, lo, hi);                                       \
    store16<kEpi>(acc##i##b, ci + 16, m1, accumulate, bi, ri ? ri + 16 : nullptr, clamp, lo, hi);              \
    store16<kEpi>(acc##i##c, ci + 32, m2, accumulate, bi, ri ? ri + 32 : nullptr, clamp, lo, hi);              \
  }
  ANVIL_R8(ANVIL_STORE)
#undef ANVIL_STORE
  if (kCol48) {
    // Column 48 of the 8 rows as one vector: + C, + bias, + residual
    // (gathered), clamp, then 8 scalar stores. Lane by lane in scalar code
    // it was ~1/3 of the tile's epilogue, which at K = 64 (64 -> 256 at
    // 56x56: 800 cycles of FMAs a tile) is what holds it under peak.
    const __mmask8 rows = static_cast<__mmask8>(mr >= 8 ? 0xff : (1u << mr) - 1u);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 v = acc48;
    if (accumulate)
      v = _mm256_add_ps(v, _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), rows,
                                                     _mm256_mullo_epi32(lane, _mm256_set1_epi32(static_cast<int>(ldc))),
                                                     c + 48, 4));
    if (kEpi) {
      if (bias) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(rows, bias));
      if (residual)
        v = _mm256_add_ps(v, _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), rows,
                                                       _mm256_mullo_epi32(lane, _mm256_set1_epi32(static_cast<int>(ldr))),
                                                       residual + 48, 4));
      if (clamp) v = _mm256_min_ps(_mm512_castps512_ps256(hi), _mm256_max_ps(_mm512_castps512_ps256(lo), v));  // NaN kept, as above
    }
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    for (int64_t i = 0; i < std::min<int64_t>(mr, 8); ++i) c[i * ldc + 48] = t[i];
  }
}

#undef ANVIL_FMA
#undef ANVIL_ZERO
#undef ANVIL_R8

template <bool kEpi, bool kLdb>
void dispatch(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t mr, int64_t nr,
              bool accumulate, const float* bias, const float* residual, int64_t ldr, const float* clamp,
              const char* prefetch, int64_t prefetch_lines) {
  if (nr > 48)
    tile<kEpi, kLdb, true>(kc, a, b, ldb, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch,
                           prefetch_lines);
  else
    tile<kEpi, kLdb, false>(kc, a, b, ldb, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch,
                            prefetch_lines);
}

}  // namespace

void f32_gemm_ukernel_8x49__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                   int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  dispatch<false, false>(kc, a, b, 49, c, ldc, mr, nr, accumulate, nullptr, nullptr, 0, nullptr, prefetch,
                         prefetch_lines);
}

void f32_gemm_minmax_ukernel_8x49__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                          int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                          const float* residual, int64_t ldr, const float* clamp,
                                          const char* prefetch, int64_t prefetch_lines) {
  dispatch<true, false>(kc, a, b, 49, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch,
                        prefetch_lines);
}

void f32_gemm_minmax_bstride_ukernel_8x49__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                  int64_t ldc, int64_t mr, int64_t nr, bool accumulate,
                                                  const float* bias, const float* residual, int64_t ldr,
                                                  const float* clamp, const char* prefetch, int64_t prefetch_lines) {
  dispatch<true, true>(kc, a, b, ldb, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch,
                       prefetch_lines);
}

}  // namespace anvil::kernels

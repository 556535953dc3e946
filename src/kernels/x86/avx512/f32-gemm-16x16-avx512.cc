#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/avx512/gemm-rows-avx512.h"
#include "kernels/x86/prefetch.h"

namespace anvil::kernels {

// 16 rows x one zmm column (the tile's body: gemm-rows-avx512.h). Its B
// panel (kc x 16) is a quarter of the 6x64 tile's: at KC=256 it is 16 KB
// and stays in L1 with the A panel, where 6x64's 64 KB panel spilled to L2
// and held the kernel to ~85% of peak (bench/bench_conv_layers). Its
// 16-pixel width also wastes less of odd pixel counts (14x14 = 196 -> 208)
// than 64 (-> 256), so 14x14 layers need no transposed product.
using avx512_rows::gemm_rows;
using avx512_rows::prefetch_tile;

void f32_gemm_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                    int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  gemm_rows<16, false>(kc, a, b, c, ldc, mr, nr, accumulate, nullptr, nullptr, 0, nullptr, prefetch, prefetch_lines);
}

// The last K block of a conv: bias, residual add and ReLU/ReLU6 in
// registers, so the output is written once instead of stored, reloaded and
// stored again.
void f32_gemm_minmax_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                           int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                           const float* residual, int64_t ldr, const float* clamp,
                                           const char* prefetch, int64_t prefetch_lines) {
  gemm_rows<16, true>(kc, a, b, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch, prefetch_lines);
}

// B in place (GemmArgs::b_in_place): 1x1 convs read the image's channel
// rows instead of packing them.
void f32_gemm_minmax_bstride_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                               int64_t ldc, int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                               const float* residual, int64_t ldr, const float* clamp,
                                               const char* prefetch, int64_t prefetch_lines) {
  gemm_rows<16, true, true>(kc, a, b, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch, prefetch_lines,
                         ldb);
}

#define ANVIL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define ANVIL_ZERO(i) __m512 acc##i = _mm512_setzero_ps();
#define ANVIL_FMA(i) acc##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), bv, acc##i);

// Indirect B (stride-1 convs from a zero-padded image, runtime/impl_conv.cc):
// step k's 16 values are b + off[k], unmasked (the caller pads its buffer
// past the last lane any panel can read). The 16 lanes are consecutive
// pixels of a virtual image as wide as the padded one, so a tile may span
// two output rows with junk columns between them: lanes in mask0 are stored
// at c, lanes in mask1 at c - cshift (the next output row, shifted left by
// the junk), the rest nowhere. The accumulated C and the residual are read
// the same way.
namespace {

inline __m512 load_split(const float* p, __mmask16 m0, __mmask16 m1, int64_t shift) {
  return _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(m0, p), m1, p - shift);
}

inline void store_row_split(__m512 v, int i, float* c, int64_t ldc, __mmask16 m0, __mmask16 m1, int64_t shift,
                            bool accumulate, const float* bias, const float* residual, int64_t ldr, const float* clamp,
                            __m512 lo, __m512 hi) {
  float* ci = c + i * ldc;
  if (accumulate) v = _mm512_add_ps(v, load_split(ci, m0, m1, shift));
  if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[i]));
  if (residual) v = _mm512_add_ps(v, load_split(residual + i * ldr, m0, m1, shift));
  if (clamp) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));  // this operand order keeps NaN, as the reference does
  _mm512_mask_storeu_ps(ci, m0, v);
  _mm512_mask_storeu_ps(ci - shift, m1, v);
}

}  // namespace

void f32_igemm_minmax_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, const int32_t* off,
                                               float* c, int64_t ldc, int64_t mr, uint32_t mask0, uint32_t mask1,
                                               int64_t cshift, bool accumulate, const float* bias,
                                               const float* residual, int64_t ldr, const float* clamp) {
#define ANVIL_STORE(i)                                                                                          \
  if (i < mr)                                                                                                   \
    store_row_split(acc##i, i, c, ldc, m0, m1, cshift, accumulate, bias, residual, ldr, clamp, lo, hi);
  ANVIL_ROWS(ANVIL_ZERO)
  if (residual) {  // lanes at c and c - cshift: both spans
    prefetch_tile(residual, ldr, mr);
    if (mask1) prefetch_tile(residual - cshift, ldr, mr);
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 bv = _mm512_loadu_ps(b + off[k]);
    ANVIL_ROWS(ANVIL_FMA)
    a += 16;
  }
  const __mmask16 m0 = static_cast<__mmask16>(mask0), m1 = static_cast<__mmask16>(mask1);
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  ANVIL_ROWS(ANVIL_STORE)
#undef ANVIL_STORE
}

#undef ANVIL_FMA
#undef ANVIL_ZERO
#undef ANVIL_ROWS

}  // namespace anvil::kernels

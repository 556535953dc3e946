#include <immintrin.h>

#include "kernels/x86/avx2/avx2_util.h"

#include <algorithm>

#include "kernels/dwconv.h"

namespace anvil::kernels {

namespace {

using avx2::tail_mask;

// Eight outputs from `r`: contiguous at stride 1; at stride 2 two vectors
// are loaded and their even lanes kept (no gathers).
template <int S>
inline __m256 load_taps(const float* r) {
  if constexpr (S == 1) {
    return _mm256_loadu_ps(r);
  } else {
    const __m256 lo = _mm256_loadu_ps(r), hi = _mm256_loadu_ps(r + 8);
    const __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));  // lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
  }
}

template <int S>
void row(const float* const* rows, const float* w, int64_t KH, int64_t KW, int64_t dilation, int64_t ow_count,
         float bias, float* out) {
  // Two vectors of outputs per step: two independent FMA chains per tap.
  int64_t ow = 0;
  for (; ow + 16 <= ow_count; ow += 16) {
    __m256 a0 = _mm256_set1_ps(bias), a1 = a0;
    for (int64_t kh = 0; kh < KH; ++kh) {
      const float* r = rows[kh] + ow * S;
      for (int64_t kw = 0; kw < KW; ++kw) {
        const __m256 wv = _mm256_broadcast_ss(w + kh * KW + kw);
        a0 = _mm256_fmadd_ps(wv, load_taps<S>(r + kw * dilation), a0);
        a1 = _mm256_fmadd_ps(wv, load_taps<S>(r + kw * dilation + 8 * S), a1);
      }
    }
    _mm256_storeu_ps(out + ow, a0);
    _mm256_storeu_ps(out + ow + 8, a1);
  }
  for (; ow + 8 <= ow_count; ow += 8) {
    __m256 a0 = _mm256_set1_ps(bias);
    for (int64_t kh = 0; kh < KH; ++kh) {
      const float* r = rows[kh] + ow * S;
      for (int64_t kw = 0; kw < KW; ++kw)
        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + kh * KW + kw), load_taps<S>(r + kw * dilation), a0);
    }
    _mm256_storeu_ps(out + ow, a0);
  }
  // Tail (1..7 outputs; all of a 7-wide row): masked loads touch only the
  // taps the window reads, so nothing past the padded row is read.
  const int64_t n = ow_count - ow;
  if (n > 0) {
    const __m256i m_out = tail_mask(n);
    const __m256i m_lo = tail_mask(std::min<int64_t>(8, (n - 1) * S + 1));
    const __m256i m_hi = tail_mask(std::max<int64_t>(0, (n - 1) * S + 1 - 8));
    __m256 a0 = _mm256_set1_ps(bias);
    for (int64_t kh = 0; kh < KH; ++kh) {
      const float* r = rows[kh] + ow * S;
      for (int64_t kw = 0; kw < KW; ++kw) {
        const float* t = r + kw * dilation;
        __m256 v;
        if constexpr (S == 1) {
          v = _mm256_maskload_ps(t, m_out);
        } else {
          const __m256 lo = _mm256_maskload_ps(t, m_lo), hi = _mm256_maskload_ps(t + 8, m_hi);
          const __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
        }
        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + kh * KW + kw), v, a0);
      }
    }
    _mm256_maskstore_ps(out + ow, m_out, a0);
  }
}

}  // namespace

void f32_dwconv_ukernel_1x16__avx2(const float* const* rows, const float* w, int64_t KH, int64_t KW, int64_t stride,
                                    int64_t dilation, int64_t ow_count, float bias, float* out) {
  if (stride == 1) return row<1>(rows, w, KH, KW, dilation, ow_count, bias, out);
  if (stride == 2) return row<2>(rows, w, KH, KW, dilation, ow_count, bias, out);
  f32_dwconv_ukernel_1x1__scalar(rows, w, KH, KW, stride, dilation, ow_count, bias, out);
}

}  // namespace anvil::kernels

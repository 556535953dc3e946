#include <immintrin.h>

#include <cstdint>

#include "kernels/postop.h"

namespace anvil::kernels {

// One ymm at a time, the tail masked (maskload/maskstore). Operand orders
// as in the AVX-512 twin (f32-postop-1x16-avx512.cc): NaN and -0 as the
// reference's.
namespace {

// exp(x) as the AVX-512 twin's (Cephes' expf), without vscalefps: 2^n is
// made from exponent bits in two halves, 2^(n - n/2) * 2^(n/2), so n from
// -150 to 128 stays exact and the final products overflow to +inf or go
// subnormal where the true value does (one 2^n would need n <= 127 and
// gave inf for exp(88.70) = 3.3e38). x is first held to [-104, 89]; the
// operand order keeps NaN, and a NaN r makes the result NaN whatever the
// exponent bits.
inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(89.f), _mm256_max_ps(_mm256_set1_ps(-104.f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

template <RowOp kOp>
inline __m256 apply(__m256 v, __m256 va, __m256 vb, __m256 r) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  if constexpr (kOp == RowOp::kAdd) return _mm256_add_ps(v, r);
  if constexpr (kOp == RowOp::kScaleShift) return _mm256_add_ps(_mm256_mul_ps(v, va), vb);
  if constexpr (kOp == RowOp::kPrelu)
    return _mm256_blendv_ps(v, _mm256_mul_ps(v, va), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
  if constexpr (kOp == RowOp::kClamp) return _mm256_min_ps(vb, _mm256_max_ps(va, v));
  if constexpr (kOp == RowOp::kHardSigmoid)
    return _mm256_max_ps(_mm256_min_ps(_mm256_add_ps(_mm256_mul_ps(va, v), vb), one), zero);
  if constexpr (kOp == RowOp::kHardSwish) {
    const __m256 t = _mm256_add_ps(_mm256_div_ps(v, _mm256_set1_ps(6.f)), _mm256_set1_ps(0.5f));
    return _mm256_mul_ps(v, _mm256_max_ps(_mm256_min_ps(t, one), zero));
  }
  if constexpr (kOp == RowOp::kSigmoid)
    return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(zero, v))));
  if constexpr (kOp == RowOp::kSilu) return _mm256_div_ps(v, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(zero, v))));
  if constexpr (kOp == RowOp::kTanh) {
    // On |y| (tanh is odd), the sign put back last: -0 stays -0, NaN NaN.
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), v), sign = _mm256_and_ps(v, _mm256_set1_ps(-0.f));
    const __m256 z = _mm256_mul_ps(ax, ax);
    __m256 q = _mm256_set1_ps(-5.70498872745e-3f);
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(2.06390887954e-2f));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(-5.37397155531e-2f));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.33314422036e-1f));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(-3.33332819422e-1f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(q, z), ax, ax);
    const __m256 large =
        _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.f), _mm256_add_ps(exp_ps(_mm256_add_ps(ax, ax)), one)));
    const __m256 t = _mm256_blendv_ps(small, large, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_GT_OQ));
    return _mm256_or_ps(t, sign);
  }
  if constexpr (kOp == RowOp::kElu) return _mm256_blendv_ps(v, _mm256_mul_ps(va, _mm256_sub_ps(exp_ps(v), one)), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
  return v;
}

template <RowOp kOp>
void row(float a, float b, const float* r, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 rv = kOp == RowOp::kAdd ? _mm256_loadu_ps(r + i) : _mm256_setzero_ps();
    _mm256_storeu_ps(y + i, apply<kOp>(_mm256_loadu_ps(y + i), va, vb, rv));
  }
  if (i < n) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 rv = kOp == RowOp::kAdd ? _mm256_maskload_ps(r + i, m) : _mm256_setzero_ps();
    _mm256_maskstore_ps(y + i, m, apply<kOp>(_mm256_maskload_ps(y + i, m), va, vb, rv));
  }
}

}  // namespace

void f32_postop_ukernel_1x8__avx2(RowOp op, float a, float b, const float* r, float* y, int64_t n) {
  switch (op) {
    case RowOp::kAdd: return row<RowOp::kAdd>(a, b, r, y, n);
    case RowOp::kScaleShift: return row<RowOp::kScaleShift>(a, b, r, y, n);
    case RowOp::kPrelu: return row<RowOp::kPrelu>(a, b, r, y, n);
    case RowOp::kClamp: return row<RowOp::kClamp>(a, b, r, y, n);
    case RowOp::kHardSigmoid: return row<RowOp::kHardSigmoid>(a, b, r, y, n);
    case RowOp::kHardSwish: return row<RowOp::kHardSwish>(a, b, r, y, n);
    case RowOp::kSigmoid: return row<RowOp::kSigmoid>(a, b, r, y, n);
    case RowOp::kSilu: return row<RowOp::kSilu>(a, b, r, y, n);
    case RowOp::kTanh: return row<RowOp::kTanh>(a, b, r, y, n);
    case RowOp::kElu: return row<RowOp::kElu>(a, b, r, y, n);
  }
}

}  // namespace anvil::kernels

#include <immintrin.h>

#include <cstdint>

#include "kernels/postop.h"

// GCC 12 flags the _mm512_undefined_ps() inside _mm512_max_ps/_mm512_min_ps
// (their unused merge source) once inlined: a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace anvil::kernels {

// One zmm at a time, the tail masked. std::max(x, y) is (x < y) ? y : x and
// MAXPS(p, q) is (p > q) ? p : q, so std::max(y, a) is MAXPS(a, y) and
// std::min(m, b) is MINPS(b, m): NaN and -0 come out as the reference's.
namespace {

// exp(x): Cephes' expf. n = round(x log2 e), r = x - n ln 2 (ln 2 in two
// parts), exp(r) by a degree-7 polynomial, times 2^n by vscalefps, which
// gives +inf past the float range and 0 (subnormals, flushed under FTZ)
// below it. x is first held to [-104, 89], where those already hold, so a
// huge |x| cannot wreck r; the operand order keeps NaN.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(89.f), _mm512_max_ps(_mm512_set1_ps(-104.f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

template <RowOp kOp>
inline __m512 apply(__m512 v, __m512 va, __m512 vb, __m512 r) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.f);
  if constexpr (kOp == RowOp::kAdd) return _mm512_add_ps(v, r);
  if constexpr (kOp == RowOp::kScaleShift) return _mm512_add_ps(_mm512_mul_ps(v, va), vb);
  if constexpr (kOp == RowOp::kPrelu)
    return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, va);
  if constexpr (kOp == RowOp::kClamp) return _mm512_min_ps(vb, _mm512_max_ps(va, v));
  if constexpr (kOp == RowOp::kHardSigmoid)
    return _mm512_max_ps(_mm512_min_ps(_mm512_add_ps(_mm512_mul_ps(va, v), vb), one), zero);
  if constexpr (kOp == RowOp::kHardSwish) {
    const __m512 t = _mm512_add_ps(_mm512_div_ps(v, _mm512_set1_ps(6.f)), _mm512_set1_ps(0.5f));
    return _mm512_mul_ps(v, _mm512_max_ps(_mm512_min_ps(t, one), zero));
  }
  if constexpr (kOp == RowOp::kSigmoid)
    return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(zero, v))));
  if constexpr (kOp == RowOp::kSilu) return _mm512_div_ps(v, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(zero, v))));
  if constexpr (kOp == RowOp::kTanh) {
    // On |y| (tanh is odd), the sign put back last: -0 stays -0, NaN NaN.
    const __m512 ax = _mm512_abs_ps(v), sign = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
    const __m512 z = _mm512_mul_ps(ax, ax);
    __m512 q = _mm512_set1_ps(-5.70498872745e-3f);
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(2.06390887954e-2f));
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(-5.37397155531e-2f));
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(1.33314422036e-1f));
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(-3.33332819422e-1f));
    const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(q, z), ax, ax);
    const __m512 large =
        _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.f), _mm512_add_ps(exp_ps(_mm512_add_ps(ax, ax)), one)));
    const __m512 t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_GT_OQ), small, large);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), _mm512_castps_si512(sign)));
  }
  if constexpr (kOp == RowOp::kElu) return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), va, _mm512_sub_ps(exp_ps(v), one));
  return v;
}

template <RowOp kOp>
void row(float a, float b, const float* r, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 rv = kOp == RowOp::kAdd ? _mm512_loadu_ps(r + i) : _mm512_setzero_ps();
    _mm512_storeu_ps(y + i, apply<kOp>(_mm512_loadu_ps(y + i), va, vb, rv));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 rv = kOp == RowOp::kAdd ? _mm512_maskz_loadu_ps(m, r + i) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(y + i, m, apply<kOp>(_mm512_maskz_loadu_ps(m, y + i), va, vb, rv));
  }
}

}  // namespace

void f32_postop_ukernel_1x16__avx512(RowOp op, float a, float b, const float* r, float* y, int64_t n) {
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

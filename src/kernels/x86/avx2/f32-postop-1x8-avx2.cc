#include <immintrin.h>

#include "kernels/postop.h"

namespace anvil::kernels {

// One ymm at a time, the tail masked (maskload/maskstore). Operand orders
// as in the AVX-512 twin (f32-postop-1x16-avx512.cc): NaN and -0 as the
// reference's.
namespace {

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
    case RowOp::kSigmoid:  // no vector exp at AVX2: the plain loop
    case RowOp::kSilu:
      return f32_postop_ukernel_1x1__scalar(op, a, b, r, y, n);
  }
}

}  // namespace anvil::kernels

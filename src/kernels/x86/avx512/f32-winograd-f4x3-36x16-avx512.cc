#include <immintrin.h>

#include "kernels/winograd.h"
#include "kernels/x86/avx512/winograd-lanes-avx512.h"

namespace anvil::kernels {

namespace {

// B^T applied to six vectors (a column or a row of the 6x6 window).
inline void bt6(const __m512 d[6], __m512 t[6]) {
  const __m512 four = _mm512_set1_ps(4.f), five = _mm512_set1_ps(5.f), two = _mm512_set1_ps(2.f);
  t[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
  t[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
  t[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
  t[3] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[4], d[2]));
  t[4] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[1], d[3]), _mm512_sub_ps(d[4], d[2]));
  t[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

// A^T applied to six vectors.
inline void at6(const __m512 m[6], __m512 s[4]) {
  const __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
  const __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
  s[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
  s[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.f), d, b);
  s[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.f), c, a);
  s[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.f), d, b), m[5]);
}

}  // namespace

void f32_winograd_f4x3_input_ukernel_36x16__avx512(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride) {
  lanes::input<6>([](const __m512* d, __m512* t) { bt6(d, t); }, plane, pw, in_off, v, vstride);
}

// Separate from the plane form so the padded-plane path keeps its
// unmasked loads (a mask per tile row costs a byte load each).
void f32_winograd_f4x3_input_direct_ukernel_36x16__avx512(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride) {
  lanes::input<6>([](const __m512* d, __m512* t) { bt6(d, t); }, image, w, in_off, v, vstride, rmask);
}

void f32_winograd_f4x3_output_ukernel_36x16__avx512(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks,
    const float* clamp) {
  lanes::output<6, 4>([](const __m512* x, __m512* s) { at6(x, s); }, m, mstride, bias, y, ow, out_off, masks, clamp);
}

}  // namespace anvil::kernels

#include <immintrin.h>

#include "kernels/winograd.h"
#include "kernels/x86/avx512/winograd-lanes-avx512.h"

namespace anvil::kernels {

namespace {

inline void bt4(const __m512 d[4], __m512 t[4]) {
  t[0] = _mm512_sub_ps(d[0], d[2]);
  t[1] = _mm512_add_ps(d[1], d[2]);
  t[2] = _mm512_sub_ps(d[2], d[1]);
  t[3] = _mm512_sub_ps(d[1], d[3]);
}

inline void at4(const __m512 m[4], __m512 s[2]) {
  s[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
  s[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

}  // namespace

void f32_winograd_f2x3_input_ukernel_16x16__avx512(const float* plane, int64_t pw, const int32_t* in_off, float* v,
                                                   int64_t vstride) {
  lanes::input<4>([](const __m512* d, __m512* t) { bt4(d, t); }, plane, pw, in_off, v, vstride);
}

// Separate from the plane form so the padded-plane path keeps its
// unmasked loads (a mask per tile row costs a byte load each).
void f32_winograd_f2x3_input_direct_ukernel_16x16__avx512(const float* image, int64_t w, const int32_t* in_off,
                                                          const uint8_t* rmask, float* v, int64_t vstride) {
  lanes::input<4>([](const __m512* d, __m512* t) { bt4(d, t); }, image, w, in_off, v, vstride, rmask);
}

void f32_winograd_f2x3_output_ukernel_16x16__avx512(const float* m, int64_t mstride, float bias, float* y,
                                                    int64_t ow, const int32_t* out_off, const uint16_t* masks,
    const float* clamp) {
  lanes::output<4, 2>([](const __m512* x, __m512* s) { at4(x, s); }, m, mstride, bias, y, ow, out_off, masks, clamp);
}

}  // namespace anvil::kernels

#include <immintrin.h>

#include <algorithm>

#include "kernels/copy.h"

namespace anvil::kernels {
namespace {

inline __mmask16 lanes_below(int64_t n) {
  return n <= 0 ? static_cast<__mmask16>(0) : n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace

// Each 16-column chunk of a plane row is one zero-masked load from the
// image row (the mask keeps the columns that exist, so the pads come out
// zero and nothing outside the image is read) and one store: every plane
// byte written once, no calls. As memcpy + two memsets per row (rows of
// 7-58 floats, gaps of 1-3) the calls outweighed the bytes: memset +
// memmove + their callers were ~4% of ResNet-101 at 1 thread in perf.
void f32_pad_plane_ukernel_1x16__avx512(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t PH,
                                        int64_t PW, float* dst, const float* scale, const float* shift) {
  if (PW <= 0) return;
  const int64_t lo = std::clamp<int64_t>(pw, 0, PW), hi = std::clamp<int64_t>(W + pw, lo, PW);
  const __m512 s = _mm512_set1_ps(scale ? scale[0] : 1.f), t = _mm512_set1_ps(shift ? shift[0] : 0.f);
  const __m512 zero = _mm512_setzero_ps();
  const __mmask16 tail = lanes_below(PW % 16 ? PW % 16 : 16);
  const int64_t full = PW - (PW % 16 ? PW % 16 : 16);  // the last chunk starts here
  for (int64_t r = 0; r < PH; ++r, dst += PW) {
    const int64_t ih = r - ph;
    if (ih < 0 || ih >= H || hi <= lo) {
      int64_t j = 0;
      for (; j < full; j += 16) _mm512_storeu_ps(dst + j, zero);
      _mm512_mask_storeu_ps(dst + j, tail, zero);
      continue;
    }
    // Column j of the plane is x_row[j - pw]; masked-off lanes are not read.
    const float* row = x + ih * W - pw;
    int64_t j = 0;
    for (; j <= full; j += 16) {
      const __mmask16 keep = static_cast<__mmask16>(lanes_below(hi - j) & ~lanes_below(lo - j));
      __m512 v = _mm512_maskz_loadu_ps(keep, row + j);
      if (scale) v = _mm512_maskz_fmadd_ps(keep, v, s, t);
      if (j < full) _mm512_storeu_ps(dst + j, v);
      else _mm512_mask_storeu_ps(dst + j, tail, v);
    }
  }
}

}  // namespace anvil::kernels

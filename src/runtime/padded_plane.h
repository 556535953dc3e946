// One input channel copied into the window of its zero-padded version that
// a convolution reads, so direct kernels (depthwise, Winograd's input
// transform) never check bounds.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace anvil {

// x: H x W. dst: PH x PW, the padded plane from row -ph, column -pw. With
// scale, valid pixels become x * scale + shift (the padding stays zero, as
// for a BatchNorm that runs before a padded conv).
inline void copy_padded_plane(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t PH, int64_t PW,
                              float* dst, const float* scale = nullptr, const float* shift = nullptr) {
  const int64_t lo = std::clamp<int64_t>(pw, 0, PW), hi = std::clamp<int64_t>(W + pw, lo, PW);
  for (int64_t r = 0; r < PH; ++r, dst += PW) {
    const int64_t ih = r - ph;
    if (ih < 0 || ih >= H) {
      std::fill(dst, dst + PW, 0.f);
      continue;
    }
    const float* src = x + ih * W + (lo - pw);
    std::fill(dst, dst + lo, 0.f);
    if (scale) {
      const float s = *scale, t = *shift;
      for (int64_t q = 0; q < hi - lo; ++q) dst[lo + q] = src[q] * s + t;
    } else {
      std::memcpy(dst + lo, src, static_cast<size_t>(hi - lo) * sizeof(float));
    }
    std::fill(dst + hi, dst + PW, 0.f);
  }
}

}  // namespace anvil

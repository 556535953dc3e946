#include "kernels/copy.h"

#include <algorithm>
#include <cstring>

namespace anvil::kernels {

void f32_copy_s2_ukernel_1x1__scalar(const float* src, int64_t n, float* dst, const float* st) {
  if (st)
    for (int64_t i = 0; i < n; ++i) dst[i] = src[2 * i] * st[0] + st[1];
  else
    for (int64_t i = 0; i < n; ++i) dst[i] = src[2 * i];
}

void f32_pack_runs_ukernel_1x1__scalar(int64_t rows, const float* const* src, int64_t runs, const int64_t* at,
                                       const int64_t* off, const int64_t* len, int64_t nr, float* dst) {
  for (int64_t r = 0; r < rows; ++r, dst += nr) {
    for (int64_t q = 0; q < nr; ++q) dst[q] = 0.f;
    for (int64_t i = 0; i < runs; ++i)
      for (int64_t q = 0; q < len[i]; ++q) dst[at[i] + q] = src[r][off[i] + q];
  }
}

// Row by row with memcpy and fills: the path at ISAs below AVX-512 too,
// so it stays as fast as the plane copy it replaced there.
void f32_pad_plane_ukernel_1x1__scalar(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t PH,
                                       int64_t PW, float* dst, const float* scale, const float* shift) {
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

void f32_im2row_ukernel_1x1__scalar(const float* x, const Im2rowGeo& g, int64_t k0, int64_t kc, const int64_t* seg,
                                    int64_t ldd, float* dst, const float* scale, const float* shift) {
  const int64_t taps = g.KH * g.KW;
  for (int64_t k = k0; k < k0 + kc; ++k) {
    const int64_t c = k / taps, kh = k % taps / g.KW, kw = k % g.KW;
    const float* xc = x + c * g.H * g.W;
    float* d = dst + (k - k0) * ldd;
    for (int64_t oh = g.oh0; oh < g.oh1; ++oh) {
      const int64_t ih = oh * g.sh + kh * g.dh - g.ph;
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t iw = ow * g.sw + kw * g.dw - g.pw;
        float v = 0.f;
        if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) v = scale ? xc[ih * g.W + iw] * scale[c] + shift[c] : xc[ih * g.W + iw];
        d[seg[oh - g.oh0] + ow] = v;
      }
    }
  }
}

Im2rowUkernel im2row_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_im2row_ukernel_1x16__avx512 : nullptr;
}

PadPlaneUkernel pad_plane_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_pad_plane_ukernel_1x16__avx512
                                                            : f32_pad_plane_ukernel_1x1__scalar;
}

PackRunsUkernel pack_runs_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_pack_runs_ukernel_1x16__avx512
                                                            : f32_pack_runs_ukernel_1x1__scalar;
}

CopyS2Ukernel copy_s2_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_copy_s2_ukernel_1x16__avx512
                                                            : f32_copy_s2_ukernel_1x1__scalar;
}

}  // namespace anvil::kernels

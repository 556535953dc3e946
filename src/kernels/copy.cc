#include "kernels/copy.h"

#include <algorithm>

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

void f32_pad_plane_ukernel_1x1__scalar(const float* x, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t PH,
                                       int64_t PW, float* dst, const float* scale, const float* shift) {
  for (int64_t r = 0; r < PH; ++r)
    for (int64_t c = 0; c < PW; ++c) {
      const int64_t ih = r - ph, iw = c - pw;
      const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
      const float v = inside ? x[ih * W + iw] : 0.f;
      dst[r * PW + c] = inside && scale ? v * scale[0] + shift[0] : v;
    }
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

#include "kernels/copy.h"

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

PackRunsUkernel pack_runs_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_pack_runs_ukernel_1x16__avx512
                                                            : f32_pack_runs_ukernel_1x1__scalar;
}

CopyS2Ukernel copy_s2_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_copy_s2_ukernel_1x16__avx512
                                                            : f32_copy_s2_ukernel_1x1__scalar;
}

}  // namespace anvil::kernels

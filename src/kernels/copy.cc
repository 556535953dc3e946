#include "kernels/copy.h"

namespace anvil::kernels {

void f32_copy_s2_ukernel_1x1__scalar(const float* src, int64_t n, float* dst, const float* st) {
  if (st)
    for (int64_t i = 0; i < n; ++i) dst[i] = src[2 * i] * st[0] + st[1];
  else
    for (int64_t i = 0; i < n; ++i) dst[i] = src[2 * i];
}

CopyS2Ukernel copy_s2_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_copy_s2_ukernel_1x16__avx512
                                                            : f32_copy_s2_ukernel_1x1__scalar;
}

}  // namespace anvil::kernels

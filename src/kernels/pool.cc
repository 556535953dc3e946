#include "kernels/pool.h"

namespace anvil::kernels {

MaxPool3x3s2PlaneUkernel maxpool3x3s2_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_pool_max_3x3s2_ukernel_1x16__avx512 : nullptr;
}

void f32_pool_gavg_ukernel_1x1__scalar(const float* x, int64_t planes, int64_t n, float* y) {
  const float inv = 1.f / static_cast<float>(n);
  for (int64_t p = 0; p < planes; ++p) {
    const float* v = x + p * n;
    float acc = 0.f;
    for (int64_t i = 0; i < n; ++i) acc += v[i];
    y[p] = acc * inv;
  }
}

GlobalAvgPoolUkernel gavgpool_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_pool_gavg_ukernel_1x16__avx512
                                                             : f32_pool_gavg_ukernel_1x1__scalar;
}

}  // namespace anvil::kernels

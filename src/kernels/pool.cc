#include "kernels/pool.h"

namespace anvil::kernels {

MaxPool3x3s2PlaneUkernel maxpool3x3s2_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_pool_max_3x3s2_ukernel_1x16__avx512 : nullptr;
}

}  // namespace anvil::kernels

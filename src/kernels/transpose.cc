#include "kernels/transpose.h"

namespace anvil::kernels {

TransposeEpilogueUkernel transpose_epilogue_ukernel_for(Isa isa) {
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? f32_transpose_minmax_ukernel_16x16__avx512 : nullptr;
}

}  // namespace anvil::kernels

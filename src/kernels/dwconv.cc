#include "kernels/dwconv.h"

namespace anvil::kernels {

namespace {
const DwconvUkernelInfo kAvx2{f32_dwconv_ukernel_1x16__avx2, "f32_dwconv_ukernel_1x16__avx2", Isa::kAvx2};
const DwconvUkernelInfo kScalar{f32_dwconv_ukernel_1x1__scalar, "f32_dwconv_ukernel_1x1__scalar", Isa::kScalar};
}  // namespace

// AVX-512 hosts use the AVX2 kernel: a depthwise row is load-bound (one
// FMA per loaded vector), so wider vectors buy little on Zen 4's split
// 512-bit units.
const DwconvUkernelInfo& dwconv_ukernel_for(Isa isa) {
  if (isa >= Isa::kAvx2 && host_isa() >= Isa::kAvx2) return kAvx2;
  return kScalar;
}

const Dwconv3x3UkernelInfo& dwconv3x3_ukernel_for(Isa isa) {
  static const Dwconv3x3UkernelInfo kAvx512{f32_dwconv3x3_minmax_ukernel_1x16__avx512,
                                            "f32_dwconv3x3_minmax_ukernel_1x16__avx512"};
  static const Dwconv3x3UkernelInfo kNone{nullptr, ""};
  return isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512 ? kAvx512 : kNone;
}

}  // namespace anvil::kernels

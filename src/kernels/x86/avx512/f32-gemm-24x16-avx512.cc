#include "kernels/gemm.h"
#include "kernels/x86/avx512/gemm-rows-avx512.h"

namespace anvil::kernels {

// 24 rows x one zmm column (the tile's body: gemm-rows-avx512.h), for
// products with 24, 72... rows: MobileNetV2's projections to 24 channels at
// 56x56 filled 16-row tiles to 3/4 and ran on the packed 6x64 tile, which
// copies the image before reading it; this one reads it in place (24 FMAs
// per B load, 26 of the 32 zmm registers).
void f32_gemm_ukernel_24x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                    int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  avx512_rows::gemm_rows<24, false>(kc, a, b, c, ldc, mr, nr, accumulate, nullptr, nullptr, 0, nullptr, prefetch,
                                    prefetch_lines);
}

void f32_gemm_minmax_ukernel_24x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                           int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                           const float* residual, int64_t ldr, const float* clamp,
                                           const char* prefetch, int64_t prefetch_lines) {
  avx512_rows::gemm_rows<24, true>(kc, a, b, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch,
                                   prefetch_lines);
}

void f32_gemm_minmax_bstride_ukernel_24x16__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                   int64_t ldc, int64_t mr, int64_t nr, bool accumulate,
                                                   const float* bias, const float* residual, int64_t ldr,
                                                   const float* clamp, const char* prefetch, int64_t prefetch_lines) {
  avx512_rows::gemm_rows<24, true, true>(kc, a, b, c, ldc, mr, nr, accumulate, bias, residual, ldr, clamp, prefetch,
                                         prefetch_lines, ldb);
}

}  // namespace anvil::kernels

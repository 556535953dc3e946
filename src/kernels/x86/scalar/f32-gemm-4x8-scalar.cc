#include "kernels/gemm.h"
#include "kernels/x86/prefetch.h"

namespace anvil::kernels {

void f32_gemm_ukernel_4x8__scalar(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                  int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines) {
  prefetch_burst_l2(prefetch, prefetch_lines);
  constexpr int MR = 4, NR = 8;
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[k * MR + i] * b[k * NR + j];
  }
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

}  // namespace anvil::kernels

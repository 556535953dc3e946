// Helpers shared by the AVX2 microkernels (included only by files built
// with AVX2 flags).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace anvil::kernels::avx2 {

// Lanes [0, n) set, for vmaskmovps loads and stores of partial vectors
// (n <= 0: none, n >= 8: all).
inline __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace anvil::kernels::avx2

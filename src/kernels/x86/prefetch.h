// The GEMM driver hands each microkernel call a slice of the next weight
// panel to fetch into L2 (kernels/gemm.h). Issued in one burst, dozens of
// prefetches fill the L2 miss queue and the core waits on them at the
// burst (the prefetch loop was the hottest spot of the driver in perf);
// spread over the call's k loop, they overlap with the FMAs.
#pragma once
#include <xmmintrin.h>

#include <cstdint>

namespace anvil::kernels {

inline void prefetch_burst_l2(const char* p, int64_t lines) {
  for (int64_t i = 0; i < lines; ++i) _mm_prefetch(p + 64 * i, _MM_HINT_T1);
}

// Prefetches spread evenly over a kc-step loop: call step(k) at each step,
// finish() after the loop for any left.
// `stride`: bytes between the lines (64: contiguous; a row stride for B
// read in place).
struct PrefetchSpread {
  const char* p;
  int64_t lines, kc, stride = 64, i = 0;
  // More lines than steps (a 64-wide panel streamed by one row: 4 lines a
  // step) issue several a step, not the rest in one burst at finish().
  inline void step(int64_t k) {
    while (i < lines && k * lines >= i * kc) {
      _mm_prefetch(p + stride * i, _MM_HINT_T1);
      ++i;
    }
  }
  inline void finish() {
    for (; i < lines; ++i) _mm_prefetch(p + stride * i, _MM_HINT_T1);
  }
};

}  // namespace anvil::kernels

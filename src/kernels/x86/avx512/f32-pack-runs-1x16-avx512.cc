#include <immintrin.h>

#include <algorithm>

#include "kernels/copy.h"

namespace anvil::kernels {

// Each 16-column chunk of a panel row is one register: every run (or the
// part of it in the chunk) is one masked load whose lanes line up with the
// panel columns (masked-off lanes are never read, so the
// address may start before the source row), then the chunk is one store.
// Element by element, the runs of a 28-pixel-wide map's 16-wide panels
// (16 = 12 + 4, 8 + 8, ...) cost ~10% of ResNet's 3x3/2 128@56 (perf).
void f32_pack_runs_ukernel_1x16__avx512(int64_t rows, const float* const* src, int64_t runs, const int64_t* at,
                                        const int64_t* off, const int64_t* len, int64_t nr, float* dst) {
  constexpr int kMaxPieces = kPackRunsMax + 3;  // a run split by each of the (at most 3) chunk edges
  const int chunks = static_cast<int>((nr + 15) / 16);
  __mmask16 mask[kMaxPieces];
  int64_t shift[kMaxPieces];  // source offset of the chunk's lane 0
  int first[5] = {0, 0, 0, 0, 0};  // chunk ch's pieces: [first[ch], first[ch + 1])
  int pieces = 0;
  for (int ch = 0; ch < chunks; ++ch) {
    const int64_t c0 = 16 * ch, c1 = std::min<int64_t>(nr, c0 + 16);
    first[ch] = pieces;
    for (int64_t i = 0; i < runs; ++i) {
      const int64_t lo = std::max(c0, at[i]), hi = std::min(c1, at[i] + len[i]);
      if (hi <= lo) continue;
      const uint32_t bits = ((hi - lo >= 32 ? 0u : (1u << (hi - lo))) - 1u) << (lo - c0);
      mask[pieces] = static_cast<__mmask16>(bits);
      shift[pieces] = off[i] - at[i] + c0;
      ++pieces;
    }
  }
  first[chunks] = pieces;
  const __mmask16 tail = nr % 16 ? static_cast<__mmask16>((1u << (nr % 16)) - 1u) : static_cast<__mmask16>(0xffff);
  for (int64_t r = 0; r < rows; ++r, dst += nr) {
    const float* s = src[r];
    for (int ch = 0; ch < chunks; ++ch) {
      // Zero-masked loads ORed together (the pieces' lanes are disjoint):
      // merge-masked loads into one register would wait on each other, and
      // the planes are often in L3 by the time they are packed.
      __m512 v = _mm512_setzero_ps();
      for (int p = first[ch]; p < first[ch + 1]; ++p) v = _mm512_or_ps(v, _mm512_maskz_loadu_ps(mask[p], s + shift[p]));
      if (ch + 1 < chunks) _mm512_storeu_ps(dst + 16 * ch, v);
      else _mm512_mask_storeu_ps(dst + 16 * ch, tail, v);
    }
  }
}

}  // namespace anvil::kernels

#include <immintrin.h>

#include <cstring>

#include <algorithm>

#include "kernels/dwconv.h"

namespace anvil::kernels {

namespace {

// Lanes [0, 16) of a load starting at column `s` that fall inside [0, W).
inline __mmask16 valid_lanes(int64_t s, int64_t W) {
  const int64_t lo = std::clamp<int64_t>(-s, 0, 16), hi = std::clamp<int64_t>(W - s, 0, 16);
  if (hi <= lo) return 0;
  const uint32_t upto_hi = hi >= 16 ? 0xffffu : (1u << hi) - 1u;
  const uint32_t below_lo = (1u << lo) - 1u;
  return static_cast<__mmask16>(upto_hi & ~below_lo);
}

// Border masks of one 16-output chunk whose first tap reads column s0:
// m[kw] for the 16 columns from s0 + kw, m[3 + kw] for the 16 after them
// (stride 2 reads 32 columns per tap).
struct ChunkMasks {
  __mmask16 m[6];
  ChunkMasks() = default;
  ChunkMasks(int64_t s0, int64_t W) {
    for (int kw = 0; kw < 3; ++kw) {
      m[kw] = valid_lanes(s0 + kw, W);
      m[3 + kw] = valid_lanes(s0 + kw + 16, W);
    }
  }
};

// Small planes at stride 1 (MobileNet's 7x7 layers: 960 channels of 49
// pixels) run flat: with OW == W, output p reads input p + (kh - ph) * W +
// (kw - pw) for tap (kh, kw), so 16 outputs at a time span several rows
// and each tap is one masked load (masks: taps that leave the plane, above,
// below or across a row end). 16-wide row chunks used 7 lanes of 16 there.
// The masks depend only on the geometry: worked out once per call, for
// the whole run of channels.
constexpr int64_t kSmallPlaneMax = 64;  // outputs: 4 vectors

void small_planes(int64_t channels, const float* x, int64_t H, int64_t W, const float* w, const float* bias,
                  int64_t ph, int64_t pw, int64_t OH, const float* clamp, float* y) {
  const int64_t P = OH * W, nv = (P + 15) / 16;
  int64_t off[9];
  for (int t = 0; t < 9; ++t) off[t] = (t / 3 - ph) * W + (t % 3 - pw);
  // The masks depend on the geometry only: kept per thread from the last
  // call. Threads call once per piece of a balanced split (16 pieces at 2
  // threads), and worked out every call with a division per lane and tap
  // they took as long as the 960@7 layer's FMAs: no speed-up at 2 threads.
  thread_local struct {
    int64_t H = -1, W = -1, OH = -1, ph = -1, pw = -1;
    __mmask16 m[4][9];
  } memo;
  if (memo.H != H || memo.W != W || memo.OH != OH || memo.ph != ph || memo.pw != pw) {
    for (int64_t v = 0; v < nv; ++v)
      for (int t = 0; t < 9; ++t) {
        uint32_t bits = 0;
        for (int l = 0; l < 16; ++l) {
          const int64_t p = v * 16 + l, oh = p / W, ow = p % W;
          const int64_t ih = oh + t / 3 - ph, iw = ow + t % 3 - pw;
          if (p < P && ih >= 0 && ih < H && iw >= 0 && iw < W) bits |= 1u << l;
        }
        memo.m[v][t] = static_cast<__mmask16>(bits);
      }
    memo.H = H, memo.W = W, memo.OH = OH, memo.ph = ph, memo.pw = pw;
  }
  // A local copy: the loop below then compiles as it did with local masks.
  __mmask16 m[4][9];
  std::memcpy(m, memo.m, sizeof m);
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  const __mmask16 last = P % 16 ? static_cast<__mmask16>((1u << (P % 16)) - 1u) : static_cast<__mmask16>(0xffff);
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * H * W;
    const float* wc = w + c * 9;
    float* yc = y + c * P;
    const __m512 b = _mm512_set1_ps(bias ? bias[c] : 0.f);
    for (int64_t v = 0; v < nv; ++v) {
      __m512 acc = b;
      const float* xv = xc + v * 16;
#pragma GCC unroll 9
      for (int t = 0; t < 9; ++t)
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v][t], xv + off[t]), _mm512_set1_ps(wc[t]), acc);
      if (clamp) acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));  // keeps NaN, as the reference does
      _mm512_mask_storeu_ps(yc + v * 16, v + 1 < nv ? static_cast<__mmask16>(0xffff) : last, acc);
    }
  }
}

// Small planes at stride 2 with one pixel of padding before (MobileNet's
// 576@14 -> 7x7): each channel is first split into its four stride-2
// phases (even/odd rows x even/odd columns), OH x OW each, in L1. Tap
// (kh, kw) then reads phase ((kh + 1) % 2, (kw + 1) % 2) at (oh + di,
// ow + dj), di, dj in {-1, 0}: a stride-1 read, so the outputs run flat as
// in small_planes, 16 at a time across rows, one masked load per tap
// (masks: the row or column -1). Row chunks of 16 used 7 lanes of 16 there
// and paid three permutes per input row per block: 0.032 against 0.037 ms
// in-model (6 alternated runs, 5 faster). Only up to 8 outputs wide: at
// 14 wide (192@28 -> 14x14) the split costs what the lanes save, and the
// flat loads wait on the split's fresh stores (0.032 against 0.022 ms).
constexpr int64_t kS2FlatMax = 64;  // outputs: 4 vectors

// Out of line: inlined, it grew the kernel's one function and moved the
// row path's loops (the 96@112 stride-2 plane ran ~20% slower).
__attribute__((noinline)) void small_planes_s2(int64_t channels, const float* x, int64_t H, int64_t W,
                                               const float* w, const float* bias, int64_t OH, int64_t OW,
                                               const float* clamp, float* y) {
  const int64_t P = OH * OW, nv = (P + 15) / 16;
  alignas(64) float phase[4][kS2FlatMax + 16];  // (row parity, column parity); +16: the last vector's lanes
  int64_t off[9], ph_of[9];
  // Masks per thread from the last call with this geometry (see small_planes).
  thread_local struct {
    int64_t OH = -1, OW = -1;
    __mmask16 m[kS2FlatMax / 16][9];
  } memo;
  const bool fresh = memo.OH == OH && memo.OW == OW;
  for (int t = 0; t < 9; ++t) {
    const int64_t u = t / 3 - 1, v = t % 3 - 1;  // input row 2*oh + u, column 2*ow + v
    const int64_t a = u & 1, b = v & 1, di = (u - a) / 2, dj = (v - b) / 2;
    ph_of[t] = a * 2 + b;
    off[t] = di * OW + dj;
    if (fresh) continue;
    for (int64_t q = 0; q < nv; ++q) {
      uint32_t bits = 0;
      for (int l = 0; l < 16; ++l) {
        const int64_t p = q * 16 + l, oh = p / OW, ow = p % OW;
        if (p < P && oh + di >= 0 && ow + dj >= 0) bits |= 1u << l;
      }
      memo.m[q][t] = static_cast<__mmask16>(bits);
    }
  }
  memo.OH = OH, memo.OW = OW;
  __mmask16 m[kS2FlatMax / 16][9];
  std::memcpy(m, memo.m, sizeof m);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  // Input columns 2j and 2j + 1 for j < OW that exist (W <= 2 * OW + 1 <= 17).
  const __mmask16 lo_cols = static_cast<__mmask16>(W >= 16 ? 0xffffu : (1u << W) - 1u);
  const __mmask16 hi_cols = static_cast<__mmask16>(W <= 16 ? 0u : W >= 32 ? 0xffffu : (1u << (W - 16)) - 1u);
  const __mmask16 ow_mask = static_cast<__mmask16>((1u << OW) - 1u);
  const __m512 lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f), hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  const __mmask16 last = P % 16 ? static_cast<__mmask16>((1u << (P % 16)) - 1u) : static_cast<__mmask16>(0xffff);
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * H * W;
    for (int64_t i = 0; i < OH; ++i)
      for (int a = 0; a < 2; ++a) {
        const int64_t r = 2 * i + a;
        __m512 e = _mm512_setzero_ps(), o = e;  // rows past the input: zero
        if (r < H) {
          const __m512 l0 = _mm512_maskz_loadu_ps(lo_cols, xc + r * W);
          const __m512 l1 = _mm512_maskz_loadu_ps(hi_cols, xc + r * W + 16);
          e = _mm512_permutex2var_ps(l0, even, l1);
          o = _mm512_permutex2var_ps(l0, odd, l1);
        }
        _mm512_mask_storeu_ps(phase[a * 2] + i * OW, ow_mask, e);
        _mm512_mask_storeu_ps(phase[a * 2 + 1] + i * OW, ow_mask, o);
      }
    const float* wc = w + c * 9;
    float* yc = y + c * P;
    const __m512 b = _mm512_set1_ps(bias ? bias[c] : 0.f);
    for (int64_t q = 0; q < nv; ++q) {
      __m512 acc = b;
#pragma GCC unroll 9
      for (int t = 0; t < 9; ++t)
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[q][t], phase[ph_of[t]] + q * 16 + off[t]), _mm512_set1_ps(wc[t]),
                              acc);
      if (clamp) acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));  // keeps NaN, as the reference does
      _mm512_mask_storeu_ps(yc + q * 16, q + 1 < nv ? static_cast<__mmask16>(0xffff) : last, acc);
    }
  }
}

// Output rows per block: each input row is loaded once for all the block's
// rows that read it, (R + 2) / R row loads per output row at stride 1
// instead of 3 (the kernel was load-bound: 9 loads per 9 FMAs).
constexpr int kR = 4;

struct Plane {
  const float* x;
  int64_t H, W, ph, pw, OH, OW;
  __m512 w[9];
  __m512 bias, lo, hi;
  bool clamp;
  const char* next = nullptr;  // the next channel's plane, fetched over this one's blocks (small planes)
  int64_t next_lines = 0;

  // Output rows [oh0, oh0 + kR) (those below OH stored), columns
  // [ow0, ow0 + 16): bias + every tap, clamped, stored under the row's
  // tail mask.
  template <int S>
  inline void block(int64_t oh0, int64_t ow0, const ChunkMasks& cm, float* y) const {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t ih0 = oh0 * S - ph, s0 = S * ow0 - pw;
    __m512 acc[kR];
    for (int j = 0; j < kR; ++j) acc[j] = bias;
    // Input row i of the block feeds output row j through tap kh = i - S*j.
    constexpr int kRows = S * (kR - 1) + 3;
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) {
      const int64_t ih = ih0 + i;
      if (ih < 0 || ih >= H) continue;
      const float* row = x + ih * W + s0;
      __m512 v[3];
      if (S == 1) {
        for (int kw = 0; kw < 3; ++kw) v[kw] = _mm512_maskz_loadu_ps(cm.m[kw], row + kw);
      } else {
        const __m512 l0 = _mm512_maskz_loadu_ps(cm.m[0], row), l1 = _mm512_maskz_loadu_ps(cm.m[3], row + 16);
        const __m512 l2 = _mm512_maskz_loadu_ps(cm.m[2], row + 2), l3 = _mm512_maskz_loadu_ps(cm.m[5], row + 18);
        v[0] = _mm512_permutex2var_ps(l0, even, l1);
        v[1] = _mm512_permutex2var_ps(l0, odd, l1);
        v[2] = _mm512_permutex2var_ps(l2, even, l3);
      }
#pragma GCC unroll 4
      for (int j = 0; j < kR; ++j) {
        const int kh = i - S * j;
        if (kh < 0 || kh > 2) continue;
        for (int kw = 0; kw < 3; ++kw) acc[j] = _mm512_fmadd_ps(v[kw], w[kh * 3 + kw], acc[j]);
      }
    }
    const __mmask16 out = OW - ow0 >= 16 ? static_cast<__mmask16>(0xffff)
                                         : static_cast<__mmask16>((1u << (OW - ow0)) - 1u);
    for (int j = 0; j < kR; ++j) {
      if (oh0 + j >= OH) break;
      __m512 a = acc[j];
      if (clamp) a = _mm512_min_ps(hi, _mm512_max_ps(lo, a));  // this operand order keeps NaN, as the reference does
      _mm512_mask_storeu_ps(y + (oh0 + j) * OW + ow0, out, a);
    }
  }

  template <int S>
  void run(float* y) const {
    // Small planes (MobileNet's 28x28 and smaller; 56x56 at stride 2):
    // column chunks outside, row blocks inside, one chunk's masks held for
    // all of them. Larger planes: row blocks outside, so the plane streams
    // in order from L3 and the hardware prefetcher keeps up (112x112 ran
    // ~1.4x slower chunk by chunk), with every chunk's masks from a table.
    // MobileNetV2's 144@56 at stride 1 takes the row order too: 0.199-0.223
    // ms against 0.262-0.352 chunk by chunk (anvil profile, 4 alternated
    // runs); its stride-2 twin measured the other way (0.067-0.089 chunk by
    // chunk against 0.091-0.094).
    // At stride 2 each block reads twice the input rows per output row, and
    // the plane (up to 16 KB) comes from L3, written by the expanding 1x1
    // before it: the next channel's plane is fetched a share per block
    // (MobileNetV2's 144@56 -> 28: 0.83x at 1 and 2 threads, 192@28 -> 14
    // 0.97x and 0.65x, in-model, 8 alternated rounds). At stride 1 (28x28
    // and 14x14 planes) it read 1.02-1.05x, so only stride 2.
    if (H * W <= (S == 1 ? 1024 : 4096)) {
      const int64_t nb = (OW + 15) / 16 * ((OH + kR - 1) / kR);
      int64_t b = 0, done = 0;
      for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
        const ChunkMasks cm(S * ow0 - pw, W);
        for (int64_t oh0 = 0; oh0 < OH; oh0 += kR) {
          if (S == 2 && next) {
            const int64_t upto = next_lines * ++b / nb;
            for (; done < upto; ++done) _mm_prefetch(next + 64 * done, _MM_HINT_T0);
          }
          block<S>(oh0, ow0, cm, y);
        }
      }
      return;
    }
    constexpr int64_t kMaxChunks = 64;
    const int64_t chunks = (OW + 15) / 16;
    ChunkMasks table[kMaxChunks];
    for (int64_t ch = 0; ch < std::min(chunks, kMaxChunks); ++ch) table[ch] = ChunkMasks(S * ch * 16 - pw, W);
    // The rows the next block adds, fetched while this one runs: the
    // plane comes from L3 or DRAM (MobileNet's 112x112 stride-2 layer read
    // its 4.8 MB input at ~10 GB/s on the hardware prefetcher alone).
    const int64_t row_bytes = W * static_cast<int64_t>(sizeof(float));
    for (int64_t oh0 = 0; oh0 < OH; oh0 += kR) {
      const int64_t r0 = std::max<int64_t>(0, (oh0 + kR - 1) * S - ph + 3);
      const int64_t r1 = std::min(H, (oh0 + 2 * kR - 1) * S - ph + 3);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t off = 0; off < row_bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(x + r * W) + off, _MM_HINT_T0);
      for (int64_t ch = 0; ch < chunks; ++ch)
        block<S>(oh0, ch * 16, ch < kMaxChunks ? table[ch] : ChunkMasks(S * ch * 16 - pw, W), y);
    }
  }
};

}  // namespace

// A whole channel of a 3x3 depthwise conv, stride 1 or 2, any padding,
// straight from the unpadded input: masked loads read zero where the
// window hangs over the border (AVX-512 masked lanes are never accessed),
// so there is no padded copy of the plane. A chunk's border masks are the
// same for every row, so they are worked out once. Output rows go in
// blocks of kR sharing their input rows' loads; bias and clamp are applied
// before the one store.
void f32_dwconv3x3_minmax_ukernel_1x16__avx512(int64_t channels, const float* x, int64_t H, int64_t W,
                                              const float* w, const float* bias, int64_t stride, int64_t ph,
                                              int64_t pw, int64_t OH, int64_t OW, const float* clamp, float* y) {
  if (stride == 1 && OW == W && OW < 16 && OH * OW <= kSmallPlaneMax) {
    small_planes(channels, x, H, W, w, bias, ph, pw, OH, clamp, y);
    return;
  }
  if (stride == 2 && ph == 1 && pw == 1 && OW <= 8 && OH * OW <= kS2FlatMax) {
    small_planes_s2(channels, x, H, W, w, bias, OH, OW, clamp, y);
    return;
  }
  Plane p;
  p.H = H;
  p.W = W;
  p.ph = ph;
  p.pw = pw;
  p.OH = OH;
  p.OW = OW;
  p.clamp = clamp != nullptr;
  p.lo = _mm512_set1_ps(clamp ? clamp[0] : 0.f);
  p.hi = _mm512_set1_ps(clamp ? clamp[1] : 0.f);
  p.next_lines = (H * W * static_cast<int64_t>(sizeof(float)) + 63) / 64;
  for (int64_t c = 0; c < channels; ++c) {
    p.x = x + c * H * W;
    p.next = c + 1 < channels ? reinterpret_cast<const char*>(x + (c + 1) * H * W) : nullptr;
    for (int i = 0; i < 9; ++i) p.w[i] = _mm512_set1_ps(w[c * 9 + i]);
    p.bias = _mm512_set1_ps(bias ? bias[c] : 0.f);
    if (stride == 2) p.run<2>(y + c * OH * OW);
    else p.run<1>(y + c * OH * OW);
  }
}

}  // namespace anvil::kernels

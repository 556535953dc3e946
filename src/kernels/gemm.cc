#include "kernels/gemm.h"

#include <algorithm>
#include <cstring>
#include <xmmintrin.h>
#include <vector>

#include "core/tensor_alloc.h"
#include "core/thread_pool.h"
#include "kernels/x86/prefetch.h"

namespace anvil::kernels {

namespace {

const GemmUkernelInfo kAvx512{f32_gemm_ukernel_16x16__avx512, 16, 16, "f32_gemm_ukernel_16x16__avx512", Isa::kAvx512,
                             f32_gemm_minmax_ukernel_16x16__avx512, f32_gemm_minmax_bstride_ukernel_16x16__avx512,
                             f32_igemm_minmax_ukernel_16x16__avx512, f32_gemm_minmax_bstride_ukernel_16x8__avx512, 8};
const GemmUkernelInfo kAvx512Narrow{f32_gemm_ukernel_7x32__avx512, 7, 32, "f32_gemm_ukernel_7x32__avx512", Isa::kAvx512};
const GemmUkernelInfo kAvx512Tall{f32_gemm_ukernel_24x16__avx512, 24, 16, "f32_gemm_ukernel_24x16__avx512", Isa::kAvx512,
                                 f32_gemm_minmax_ukernel_24x16__avx512, f32_gemm_minmax_bstride_ukernel_24x16__avx512};
// 7x7 maps whole (49 columns) and 14x14 ones in 4 panels, only there (see plan_score).
const GemmUkernelInfo kAvx512Map7{f32_gemm_ukernel_8x49__avx512, 8, 49, "f32_gemm_ukernel_8x49__avx512", Isa::kAvx512,
                                 f32_gemm_minmax_ukernel_8x49__avx512, f32_gemm_minmax_bstride_ukernel_8x49__avx512};
const GemmUkernelInfo kAvx512Wide{f32_gemm_ukernel_6x64__avx512, 6, 64, "f32_gemm_ukernel_6x64__avx512", Isa::kAvx512,
                                  f32_gemm_minmax_ukernel_6x64__avx512};
const GemmUkernelInfo kAvx2{f32_gemm_ukernel_6x16__avx2, 6, 16, "f32_gemm_ukernel_6x16__avx2", Isa::kAvx2};
const GemmUkernelInfo kScalar{f32_gemm_ukernel_4x8__scalar, 4, 8, "f32_gemm_ukernel_4x8__scalar", Isa::kScalar};

// Blocking (GotoBLAS order): an NC-column block of B is packed KC rows at a
// time and stays in L2 while every MC x KC block of A (L2) sweeps it; each
// KC x NR panel of B is reused from L1 by all MR-row panels of the block.
constexpr int64_t kKC = 256;
constexpr int64_t kMC = 192;  // rounded down to a multiple of the MR in use
constexpr int64_t kNC = 384;  // 384 KB at KC; rounded down to a multiple of the NR in use (49: 343)

// Packing buffers, per thread. The executor reserves the largest block any
// shape needs (KC x NC and MC x KC: 384 and 192 KB) on each pool thread and
// on the running thread (reserve_packing_buffers): with
// parallel_for_balanced a worker may first pack at all in some later run,
// when the other thread took all of every packing region before, and a run
// after the first must not allocate (tests/alloc).
thread_local std::vector<float> t_a_buf, t_b_buf, t_rows;

}  // namespace

void reserve_packing_buffers() {
  if (static_cast<int64_t>(t_b_buf.size()) < kKC * kNC) t_b_buf.resize(static_cast<size_t>(kKC * kNC));
  if (static_cast<int64_t>(t_a_buf.size()) < kMC * kKC) t_a_buf.resize(static_cast<size_t>(kMC * kKC));
  if (static_cast<int64_t>(t_rows.size()) < kPackRows * kNC) t_rows.resize(static_cast<size_t>(kPackRows * kNC));
}

std::vector<float>& pack_rows_scratch() { return t_rows; }

namespace {

// A points at element (0, 0) of the block; with trans, (m, k) is A[k*lda + m].
void pack_a(const float* A, int64_t lda, bool trans, int64_t mc, int64_t kc, int mr_tile, float* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr_tile) {
    const int64_t rows = std::min<int64_t>(mr_tile, mc - i0);
    for (int64_t k = 0; k < kc; ++k) {
      if (trans) {
        const float* src = A + k * lda + i0;
        for (int64_t i = 0; i < rows; ++i) dst[i] = src[i];
      } else {
        for (int64_t i = 0; i < rows; ++i) dst[i] = A[(i0 + i) * lda + k];
      }
      for (int64_t i = rows; i < mr_tile; ++i) dst[i] = 0.f;
      dst += mr_tile;
    }
  }
}

void pack_b(const float* B, int64_t ldb, int64_t kc, int64_t nc, int nr_tile, float* dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += nr_tile) {
    const int64_t cols = std::min<int64_t>(nr_tile, nc - j0);
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = B + k * ldb + j0;
      std::memcpy(dst, src, static_cast<size_t>(cols) * sizeof(float));
      for (int64_t j = cols; j < nr_tile; ++j) dst[j] = 0.f;
      dst += nr_tile;
    }
  }
}

void apply_epilogue(float* c, int64_t ldc, int64_t mr, int64_t nr, const float* bias, const float* res, int64_t ldr,
                    const float* clamp) {
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    const float b = bias ? bias[i] : 0.f;
    const float* ri = res ? res + i * ldr : nullptr;
    for (int64_t j = 0; j < nr; ++j) {
      float v = ci[j] + b;
      if (ri) v += ri[j];
      ci[j] = clamp ? std::min(std::max(v, clamp[0]), clamp[1]) : v;
    }
  }
}

}  // namespace

Tensor prepack_gemv_b(const float* B, int64_t ldb, int64_t K, int64_t N) {
  const int64_t panels = (N + kGemvPanel - 1) / kGemvPanel;
  Tensor t(DType::kF32, Shape{panels * K * kGemvPanel});
  float* d = t.data<float>();
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < kGemvPanel; ++j) {
        const int64_t col = p * kGemvPanel + j;
        *d++ = col < N ? B[k * ldb + col] : 0.f;
      }
  return t;
}

void f32_gemv_ukernel_1x64__scalar(int64_t K, const float* a, const float* b, float* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    float s = 0.f;
    for (int64_t k = 0; k < K; ++k) s += a[k] * b[k * kGemvPanel + j];
    y[j] = s;
  }
}

Tensor prepack_gemv_rows(const float* B, int64_t ldb, int64_t K, int64_t N) {
  Tensor t(DType::kF32, Shape{N * K});
  float* d = t.data<float>();
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) *d++ = B[k * ldb + j];
  return t;
}

void f32_gemv_dot_ukernel_1x4__scalar(int64_t K, const float* a, const float* bt, float* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    float s = 0.f;
    for (int64_t k = 0; k < K; ++k) s += a[k] * bt[j * K + k];
    y[j] = s;
  }
}

const GemmUkernelInfo& gemm_ukernel_for(Isa isa) {
  if (isa >= Isa::kAvx512 && host_isa() >= Isa::kAvx512) return kAvx512;
  if (isa >= Isa::kAvx2 && host_isa() >= Isa::kAvx2) return kAvx2;
  return kScalar;
}

std::vector<const GemmUkernelInfo*> gemm_ukernels(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return {&kAvx512, &kAvx512Narrow, &kAvx512Wide, &kAvx512Tall, &kAvx512Map7};
    case Isa::kAvx2: return {&kAvx2};
    default: return {&kScalar};
  }
}

namespace {

// Share of an n-wide dimension that tiles of `tile` fill.
double tile_use(int64_t n, int tile) { return double(n) / double((n + tile - 1) / tile * tile); }

// Speed of a microkernel with its tile full, relative to the ISA's best
// (standalone on Zen 4: 16x16 and 7x32 ~105-110 GFLOP/s, 6x64 ~95-100 with
// its 64 KB B panel in L2).
double tile_speed(const GemmUkernelInfo& uk) { return &uk == &kAvx512Wide ? 0.95 : 1.0; }

// The transposed product pays for packing its pixel rows and transposing
// the result into the output (~8% of a 14x14 1x1 conv, perf).
constexpr double kTransposeCost = 0.92;

// Expected speed of `uk` on a rows x cols product, relative to a full tile
// of the ISA's best microkernel.
// The 8x49 tile takes 7x7 maps whole and 14x14 ones as 4 panels of 49
// (the image's rows of 196 read in place): in-model ResNet-101 and
// MobileNetV2 profiles, 8 alternated runs, ran the 14x14 1x1 convs 4-7%
// faster than the 16x16 tile with its 16x8 tail. 28x28 and 56x56 maps
// (also multiples of 49) fill 16-wide tiles exactly, and the tie goes to
// the 16x16 tile (listed first); forced onto the 8x49 tile, ResNet-50's
// 28x28 layers measured level within this host's noise (6 alternated runs).
// With a reduction of 64 or less (ResNet's 64-channel 1x1s at 56x56,
// MobileNetV2's 24- and 32-channel ones) it also takes larger maps that are
// multiples of 49 (3136 = 64 x 49, 784 = 16 x 49) or not (64x64 = 83 x 49 + 29:
// the last tile masked), and is preferred: there
// each output element gets only 64 FMAs, so the tile's loads and stores
// weigh, and 8x49 does 3 B loads and 8 broadcasts per 24.5 FMA slots and
// writes 8 rows of 49 floats, where 16x16 does 17 loads per 16 FMAs and
// writes 16 rows of one line each. In-model, 6 alternated rounds on Zen 5:
// ResNet-101's layer1 64->256@56 1x1s 0.86-0.88x the 16x16 tile's time at
// 1 thread (0.87-0.97 at 2), its 64->64 0.77; MobileNetV2's 24->144@56
// 0.83, 32->16@112 0.87; with K = 144 (144->24@56) it was 1.15x slower.
double plan_score(const GemmUkernelInfo& uk, int64_t rows, int64_t cols, int64_t depth) {
  const bool shallow = depth > 0 && depth <= 64;
  if (&uk == &kAvx512Map7 && !((cols % 49 == 0 && cols <= 196) || (shallow && cols > 196))) return 0;
  const double bonus = &uk == &kAvx512Map7 && cols > 196 ? 1.05 : 1.0;
  return tile_use(rows, uk.mr) * tile_use(cols, uk.nr) * tile_speed(uk) * bonus;
}

}  // namespace

GemmPlan gemm_plan(int64_t cols, int64_t rows, Isa isa, int64_t depth) {
  const GemmUkernelInfo& def = gemm_ukernel_for(isa);
  GemmPlan best{&def, false};
  double best_score = -1;
  for (const GemmUkernelInfo* uk : gemm_ukernels(def.isa))
    for (bool t : {false, true}) {
      // (Only the direct product reads B, the image, in place: the depth
      // rule is about that orientation.)
      double s = t ? plan_score(*uk, cols, rows, 0) * kTransposeCost : plan_score(*uk, rows, cols, depth);
      // Maps of 64, 128, 192 or 256 pixels (8x8 and 16x16 outputs: ResNet's
      // last stages at 256x256 input) in the direct orientation take the
      // 6x64 tile: 4 B loads and 6 broadcasts per 24 FMAs against the
      // 16x16 tile's 17 per 16, and on Zen 5's full-width FMAs the loads
      // were the limit (ResNet-101 at 256, alternated in-model, 4 of 4
      // rounds: layer4's 1x1s on 8x8 0.84-0.86x, its 3x3/2 0.81x and 1x1/2
      // 0.77x, layer3's 3x3/2 and 1x1/2 to 16x16 0.90x and 0.86x).
      if (!t && uk == &kAvx512Wide && cols % 64 == 0 && cols >= 64 && cols <= 256) s *= 1.1;
      if (s > best_score + 1e-9) {
        best_score = s;
        best = {uk, t};
      }
    }
  return best;
}

const GemmUkernelInfo& gemm_ukernel_best(int64_t M, int64_t N, Isa isa) {
  const GemmUkernelInfo& def = gemm_ukernel_for(isa);
  const GemmUkernelInfo* best = &def;
  double best_score = -1;
  for (const GemmUkernelInfo* uk : gemm_ukernels(def.isa)) {
    const double s = plan_score(*uk, M, N, 0);
    if (s > best_score + 1e-9) {
      best_score = s;
      best = uk;
    }
  }
  return *best;
}

int64_t gemm_kc() { return kKC; }

void sgemm(const GemmArgs& args) { sgemm_isa(args, active_isa()); }

int64_t prepacked_a_numel(int64_t M, int64_t K, Isa isa) { return prepacked_a_numel(M, K, gemm_ukernel_for(isa)); }
int64_t prepacked_b_numel(int64_t K, int64_t N, Isa isa) { return prepacked_b_numel(K, N, gemm_ukernel_for(isa)); }
Tensor prepack_a(const float* A, int64_t lda, int64_t M, int64_t K, Isa isa) {
  return prepack_a(A, lda, M, K, gemm_ukernel_for(isa));
}
Tensor prepack_b(const float* B, int64_t ldb, int64_t K, int64_t N, bool trans_b, Isa isa) {
  return prepack_b(B, ldb, K, N, trans_b, gemm_ukernel_for(isa));
}

int64_t prepacked_a_numel(int64_t M, int64_t K, const GemmUkernelInfo& uk) {
  const int mr = uk.mr;
  return (M + mr - 1) / mr * mr * K;
}

int64_t prepacked_b_numel(int64_t K, int64_t N, const GemmUkernelInfo& uk) {
  const int nr = uk.nr;
  return (N + nr - 1) / nr * nr * K;
}

Tensor prepack_a(const float* A, int64_t lda, int64_t M, int64_t K, const GemmUkernelInfo& uk) {
  const int mr = uk.mr;
  const int64_t panels = (M + mr - 1) / mr;
  Tensor out = tensor_for_overwrite(DType::kF32, Shape{prepacked_a_numel(M, K, uk)});
  for (int64_t pc = 0; pc < K; pc += kKC) {
    const int64_t kc = std::min(kKC, K - pc);
    float* block = out.data<float>() + pc * panels * mr;
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t i = 0; i < mr; ++i)
          block[(p * kc + k) * mr + i] = p * mr + i < M ? A[(p * mr + i) * lda + pc + k] : 0.f;
  }
  return out;
}

Tensor prepack_b(const float* B, int64_t ldb, int64_t K, int64_t N, bool trans_b, const GemmUkernelInfo& uk) {
  const int nr = uk.nr;
  const int64_t panels = (N + nr - 1) / nr;
  Tensor out = tensor_for_overwrite(DType::kF32, Shape{prepacked_b_numel(K, N, uk)});
  for (int64_t pc = 0; pc < K; pc += kKC) {
    const int64_t kc = std::min(kKC, K - pc);
    float* block = out.data<float>() + pc * panels * nr;
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t j = 0; j < nr; ++j) {
          const int64_t n = p * nr + j, kk = pc + k;
          block[(p * kc + k) * nr + j] = n >= N ? 0.f : trans_b ? B[n * ldb + kk] : B[kk * ldb + n];
        }
  }
  return out;
}

void sgemm_isa(const GemmArgs& g, Isa isa) {
  const GemmUkernelInfo& uk = g.ukernel ? *g.ukernel : gemm_ukernel_for(isa);
  if (g.M <= 0 || g.N <= 0) return;
  bool accumulate = g.accumulate;
  if (g.bias) {
    for (int64_t m = 0; m < g.M; ++m) {
      float* row = g.C + m * g.ldc;
      for (int64_t n = 0; n < g.N; ++n) {
        const float bv = g.bias_per_column ? g.bias[n] : g.bias[m];
        row[n] = accumulate ? row[n] + bv : bv;
      }
    }
    accumulate = true;
  }
  const GemmEpilogue* epi = g.epilogue;
  const float clamp_lh[2] = {epi ? epi->lo : 0.f, epi ? epi->hi : 0.f};
  const float* clamp = epi && epi->clamp ? clamp_lh : nullptr;
  if (g.K <= 0) {
    if (!accumulate)
      for (int64_t m = 0; m < g.M; ++m) std::fill(g.C + m * g.ldc, g.C + m * g.ldc + g.N, 0.f);
    if (epi)
      for (int64_t m = 0; m < g.M; ++m)
        apply_epilogue(g.C + m * g.ldc, g.ldc, 1, g.N, epi->bias ? epi->bias + g.row0 + m : nullptr,
                       epi->residual ? epi->residual + (g.row0 + m) * epi->ldr + g.col0 : nullptr, epi->ldr, clamp);
    return;
  }
  // Panels in the whole prepacked matrices (a thread may own a slice).
  const int64_t a_panels = ((g.a_prepacked_m ? g.a_prepacked_m : g.M + g.a_prepacked_row0) + uk.mr - 1) / uk.mr;
  const int64_t b_panels = ((g.b_prepacked_n ? g.b_prepacked_n : g.N + g.b_prepacked_col0) + uk.nr - 1) / uk.nr;
  std::vector<float>& a_buf = t_a_buf;
  std::vector<float>& b_buf = t_b_buf;
  const int64_t kc_max = std::min(kKC, g.K);
  const int64_t NC = kNC / uk.nr * uk.nr;  // column blocks must hold whole NR panels
  const int64_t nc_max = std::min(NC, (g.N + uk.nr - 1) / uk.nr * uk.nr);
  // (A single column panel is packed: cheap, and its calls' prefetches
  // stream A instead.)
  const bool b_in_place = g.b_in_place && uk.fn_ldb && !g.b_prepacked && !g.pack_b_fn && g.N > uk.nr;
  // A single column panel whose rows are exactly NR floats apart (the image
  // of a 1x1 conv on a 7x7 map with the 8x49 tile, or 4x4 with 16x16) is
  // already in the packed panel's layout: read it where it is. Packing it
  // was a copy of the whole input per call, made by each thread (the
  // threads split the rows): 200 KB for 1024->256@7.
  const bool b_as_packed =
      g.b_in_place && !g.b_prepacked && !g.pack_b_fn && g.N == uk.nr && g.ldb == uk.nr && g.B != nullptr;
  if ((!g.b_prepacked || g.pack_b_fn) && !b_in_place && !b_as_packed &&
      static_cast<int64_t>(b_buf.size()) < kc_max * nc_max)
    b_buf.resize(static_cast<size_t>(kc_max * nc_max));
  const int64_t MC = kMC / uk.mr * uk.mr;  // row blocks must hold whole MR panels
  const int64_t mc_max = std::min<int64_t>(MC, (g.M + uk.mr - 1) / uk.mr * uk.mr);
  if ((!g.a_prepacked || g.pack_a_fn) && static_cast<int64_t>(a_buf.size()) < mc_max * kc_max)
    a_buf.resize(static_cast<size_t>(mc_max * kc_max));

  // A single column panel (4x4 maps: 16 pixels) streams each prepacked A
  // (weights) panel once from memory: every microkernel call spreads the
  // prefetches of the panel two ahead over its k loop. (The next panel in a
  // burst held 3x3 512@4 to ~60 GFLOP/s, the miss queue full at each call.)
  const bool stream_a = g.a_prepacked && g.N <= uk.nr;
  for (int64_t jc = 0; jc < g.N; jc += NC) {
    const int64_t nc = std::min(NC, g.N - jc);
    for (int64_t pc = 0; pc < g.K; pc += kKC) {
      const int64_t kc = std::min(kKC, g.K - pc);
      if (g.pack_b_fn) g.pack_b_fn(g.pack_ctx, g.col0 + jc, nc, pc, kc, uk.nr, b_buf.data());
      else if (!g.b_prepacked && !b_in_place && !b_as_packed)
        pack_b(g.B + pc * g.ldb + jc, g.ldb, kc, nc, uk.nr, b_buf.data());
      const bool acc = accumulate || pc > 0;
      const float* a_block = g.a_prepacked ? g.a_prepacked + pc * a_panels * uk.mr : nullptr;
      const float* b_block = g.b_prepacked ? g.b_prepacked + pc * b_panels * uk.nr : nullptr;
      for (int64_t ic = 0; ic < g.M; ic += MC) {
        const int64_t mc = std::min(MC, g.M - ic);
        if (g.pack_a_fn) {
          g.pack_a_fn(g.pack_ctx, g.row0 + ic, mc, pc, kc, uk.mr, a_buf.data());
        } else if (!g.a_prepacked) {
          const float* a_src = g.trans_a ? g.A + pc * g.lda + ic : g.A + ic * g.lda + pc;
          pack_a(a_src, g.lda, g.trans_a, mc, kc, uk.mr, a_buf.data());
        }
        // Prepacked A (weights, in the direct orientation) for the block
        // after this one is fetched into L2 a slice per microkernel call
        // over the whole block, so its first column panel does not wait
        // on DRAM (one panel ahead was too late for 1x1 convs at 14x14).
        const char* next_a = nullptr;
        int64_t next_a_bytes = 0;
        if (a_block && !stream_a) {
          int64_t rows = 0, kc2 = kc;
          const float* blk = nullptr;
          if (ic + MC < g.M) {
            blk = a_block + ((g.a_prepacked_row0 + ic + MC) / uk.mr) * kc * uk.mr;
            rows = std::min(MC, g.M - ic - MC);
          } else if (pc + kc < g.K) {
            kc2 = std::min(kKC, g.K - pc - kc);
            blk = g.a_prepacked + (pc + kc) * a_panels * uk.mr + (g.a_prepacked_row0 / uk.mr) * kc2 * uk.mr;
            rows = std::min(MC, g.M);
          }
          next_a = reinterpret_cast<const char*>(blk);
          next_a_bytes = (rows + uk.mr - 1) / uk.mr * uk.mr * kc2 * static_cast<int64_t>(sizeof(float));
        }
        if (b_in_place && kc == g.K && g.K <= 64) {
          // Tiny reductions (MobileNet's 16->96 expansion at 112x112): the
          // output is the traffic. Row panel by row panel, a call's 16
          // output rows advance together along the image (16 write
          // streams); column panel by column panel, all the block's rows
          // (96) were written at once, and the layer ran at ~1/2 of ORT's
          // speed. A and B blocks (a few KB) stay in L1 either way.
          for (int64_t ir = 0; ir < mc; ir += uk.mr) {
            const int64_t mr = std::min<int64_t>(uk.mr, mc - ir);
            const float* ap = a_block ? a_block + ((g.a_prepacked_row0 + ic + ir) / uk.mr) * kc * uk.mr
                                      : a_buf.data() + (ir / uk.mr) * kc * uk.mr;
            const int64_t r0 = g.row0 + ic + ir;
            const float* bias = epi && epi->bias ? epi->bias + r0 : nullptr;
            for (int64_t jr = 0; jr < nc; jr += uk.nr) {
              const int64_t nr = std::min<int64_t>(uk.nr, nc - jr), c0 = g.col0 + jc + jr;
              const float* res = epi && epi->residual ? epi->residual + r0 * epi->ldr + c0 : nullptr;
              const GemmUkernelLdb f = uk.fn_narrow && nr <= uk.narrow_nr ? uk.fn_narrow : uk.fn_ldb;
              f(kc, ap, g.B + jc + jr, g.ldb, g.C + (ic + ir) * g.ldc + jc + jr, g.ldc, mr, nr, acc, bias,
                        res, epi ? epi->ldr : 0, clamp, nullptr, 0);
            }
          }
          continue;
        }
        const int64_t calls = ((nc + uk.nr - 1) / uk.nr) * ((mc + uk.mr - 1) / uk.mr);
        const int64_t a_slice = (next_a_bytes / calls + 127) / 64 * 64;
        int64_t call = 0;
        for (int64_t jr = 0; jr < nc; jr += uk.nr) {
          const int64_t nr = std::min<int64_t>(uk.nr, nc - jr);
          const float* bp = b_in_place || b_as_packed ? g.B + pc * g.ldb + jc + jr
                            : b_block  ? b_block + ((g.b_prepacked_col0 + jc + jr) / uk.nr) * kc * uk.nr
                                       : b_buf.data() + (jr / uk.nr) * kc * uk.nr;
          // Prepacked B (weights) comes from memory: while this panel is
          // reused from L1 by every row panel, the next one is fetched into
          // L2 a slice per microkernel call (the microkernel spreads the
          // slice's prefetches over its k loop), so no call waits on DRAM.
          const char* next = b_block && jr + uk.nr < nc ? reinterpret_cast<const char*>(bp + kc * uk.nr) : nullptr;
          const int64_t row_panels = (mc + uk.mr - 1) / uk.mr;
          const int64_t panel_bytes = kc * uk.nr * static_cast<int64_t>(sizeof(float));
          const int64_t slice = (panel_bytes / row_panels + 63) / 64 * 64;
          for (int64_t ir = 0, ip = 0; ir < mc; ir += uk.mr, ++ip) {
            const int64_t mr = std::min<int64_t>(uk.mr, mc - ir);
            const float* ap = a_block ? a_block + ((g.a_prepacked_row0 + ic + ir) / uk.mr) * kc * uk.mr
                                      : a_buf.data() + (ir / uk.mr) * kc * uk.mr;
            const char* pf = next ? next + ip * slice : nullptr;
            int64_t pf_lines =
                next ? std::max<int64_t>(0, (std::min(panel_bytes, (ip + 1) * slice) - ip * slice + 63) / 64) : 0;
            if (b_in_place && jr + uk.nr < nc) {
              // B in place: the next column panel's rows (one line each),
              // a share per row panel, so its first call finds them in L2.
              const int64_t share = (kc + row_panels - 1) / row_panels;
              const int64_t k_lo = std::min(kc, ip * share), k_hi = std::min(kc, k_lo + share);
              pf = reinterpret_cast<const char*>(bp + uk.nr + k_lo * g.ldb);
              pf_lines = k_hi - k_lo;
            }
            // The first column panel reads each prepacked A (weights) panel
            // from memory for the block: fetch the next one meanwhile. With
            // a single column panel (4x4 maps: 16 pixels) every call streams
            // its weights once, so the microkernel spreads those prefetches
            // over its k loop, two panels ahead (one ahead, in a burst, held
            // 3x3 512@4 to ~60 GFLOP/s).
            if (stream_a) {
              // Panel i + 2 of this thread's rows, in this KC block or the next.
              const int64_t my_panels = (g.M + uk.mr - 1) / uk.mr, target = (ic + ir) / uk.mr + 2;
              pf = nullptr;
              pf_lines = 0;
              if (target < my_panels) {
                pf = reinterpret_cast<const char*>(a_block + ((g.a_prepacked_row0 + target * uk.mr) / uk.mr) * kc * uk.mr);
                pf_lines = kc * uk.mr * static_cast<int64_t>(sizeof(float)) / 64;
                if (pc == 0 && ic + ir == 0 && my_panels > 1)  // the first call's next panel
                  prefetch_burst_l2(reinterpret_cast<const char*>(ap + kc * uk.mr), pf_lines);
              } else if (pc + kc < g.K && target - my_panels < my_panels) {
                const int64_t kc2 = std::min(kKC, g.K - pc - kc);
                pf = reinterpret_cast<const char*>(g.a_prepacked + (pc + kc) * a_panels * uk.mr +
                                                   ((g.a_prepacked_row0 + (target - my_panels) * uk.mr) / uk.mr) * kc2 * uk.mr);
                pf_lines = kc2 * uk.mr * static_cast<int64_t>(sizeof(float)) / 64;
              }
            } else if (a_block && jr == 0 && ir + uk.mr < mc) {
              const char* an = reinterpret_cast<const char*>(ap + kc * uk.mr);
              for (int64_t off = 0; off < kc * uk.mr * static_cast<int64_t>(sizeof(float)); off += 64)
                _mm_prefetch(an + off, _MM_HINT_T1);
            }
            if (next_a) {
              for (int64_t off = call * a_slice; off < std::min(next_a_bytes, (call + 1) * a_slice); off += 64)
                _mm_prefetch(next_a + off, _MM_HINT_T1);
              ++call;
            }
            float* ct = g.C + (ic + ir) * g.ldc + jc + jr;
            // A last panel of at most narrow_nr columns (14x14 maps: 4 of
            // 16) goes to the narrow twin, which reads B with a row stride
            // (the image's for B in place, the packed panel's 16 else).
            const bool narrow = uk.fn_narrow && nr <= uk.narrow_nr;
            const int64_t nldb = b_in_place ? g.ldb : uk.nr;
            if (narrow) {
              const bool fin = epi && pc + kc >= g.K;
              const int64_t r0 = g.row0 + ic + ir, c0 = g.col0 + jc + jr;
              uk.fn_narrow(kc, ap, bp, nldb, ct, g.ldc, mr, nr, acc, fin && epi->bias ? epi->bias + r0 : nullptr,
                           fin && epi->residual ? epi->residual + r0 * epi->ldr + c0 : nullptr, fin ? epi->ldr : 0,
                           fin ? clamp : nullptr, pf, pf_lines);
            } else if (epi && pc + kc >= g.K) {
              const int64_t r0 = g.row0 + ic + ir, c0 = g.col0 + jc + jr;
              const float* bias = epi->bias ? epi->bias + r0 : nullptr;
              const float* res = epi->residual ? epi->residual + r0 * epi->ldr + c0 : nullptr;
              if (b_in_place) {
                uk.fn_ldb(kc, ap, bp, g.ldb, ct, g.ldc, mr, nr, acc, bias, res, epi->ldr, clamp, pf, pf_lines);
              } else if (uk.fn_epi) {
                uk.fn_epi(kc, ap, bp, ct, g.ldc, mr, nr, acc, bias, res, epi->ldr, clamp, pf, pf_lines);
              } else {
                uk.fn(kc, ap, bp, ct, g.ldc, mr, nr, acc, pf, pf_lines);
                apply_epilogue(ct, g.ldc, mr, nr, bias, res, epi->ldr, clamp);
              }
            } else if (b_in_place) {
              uk.fn_ldb(kc, ap, bp, g.ldb, ct, g.ldc, mr, nr, acc, nullptr, nullptr, 0, nullptr, pf, pf_lines);
            } else {
              uk.fn(kc, ap, bp, ct, g.ldc, mr, nr, acc, pf, pf_lines);
            }
          }
        }
      }
    }
    if (g.block_done) g.block_done(g.block_ctx, g.row0, g.row0 + g.M, g.col0 + jc, g.col0 + jc + nc);
  }
}

void sgemm_parallel(const GemmArgs& g, Isa isa, ThreadPool* pool) {
  const int T = pool ? pool->threads() : 1;
  const GemmUkernelInfo& uk = g.ukernel ? *g.ukernel : gemm_ukernel_for(isa);
  // Below ~1 MFLOP per thread the fork costs more than it saves.
  if (T == 1 || 2 * g.M * g.N * g.K < int64_t{1} << 21) {
    sgemm_isa(g, isa);
    return;
  }
  const int64_t col_tiles = (g.N + uk.nr - 1) / uk.nr;
  const int64_t row_tiles = (g.M + uk.mr - 1) / uk.mr;
  // Each thread reads all of the operand it does not split (A is M x K, B
  // is K x N): when both sides split evenly (two tiles a thread or more),
  // split the larger operand's side so it is read once in all. That is the
  // weights in wide late layers (1x1 1024->256 at 14x14: M = 1024 rows of
  // weights against 196 pixel columns), which otherwise both threads stream.
  const bool cols_fit = col_tiles >= 2 * T, rows_fit = row_tiles >= 2 * T;
  const bool by_cols = cols_fit && rows_fit ? g.N >= g.M : cols_fit || (!rows_fit && col_tiles >= row_tiles);
  const int64_t tiles = by_cols ? col_tiles : row_tiles;
  // Pieces of a thread's share are whole sgemm calls, which pack their own
  // panels of the operand not split: stealing (parallel_for_balanced) only
  // where that operand is prepacked or read in place, so no panel is packed
  // twice.
  // (B in place as sgemm_isa decides it: a single column panel is packed,
  // unless its rows are exactly the panel's width apart.)
  const bool b_unpacked = g.b_prepacked || (g.b_in_place && uk.fn_ldb && !g.pack_b_fn && g.N > uk.nr) ||
                          (g.b_in_place && !g.pack_b_fn && g.N == uk.nr && g.ldb == uk.nr && g.B != nullptr);
  const bool balanced = by_cols ? g.a_prepacked && !g.pack_a_fn : b_unpacked;
  auto part_fn = [&](int64_t b, int64_t e, int) {
    GemmArgs part = g;
    if (by_cols) {
      const int64_t j0 = b * uk.nr, j1 = std::min(g.N, e * uk.nr);
      part.N = j1 - j0;
      if (g.b_prepacked) {
        part.b_prepacked_n = g.b_prepacked_n ? g.b_prepacked_n : g.N + g.b_prepacked_col0;
        part.b_prepacked_col0 = g.b_prepacked_col0 + j0;
      } else {
        if (g.B) part.B = g.B + j0;  // null when pack_b_fn supplies B
      }
      part.C = g.C + j0;
      part.col0 = g.col0 + j0;
      if (g.bias && g.bias_per_column) part.bias = g.bias + j0;
    } else {
      const int64_t i0 = b * uk.mr, i1 = std::min(g.M, e * uk.mr);
      part.M = i1 - i0;
      if (g.a_prepacked) {
        part.a_prepacked_m = g.a_prepacked_m ? g.a_prepacked_m : g.M + g.a_prepacked_row0;
        part.a_prepacked_row0 = g.a_prepacked_row0 + i0;
      } else {
        if (g.A) part.A = g.trans_a ? g.A + i0 : g.A + i0 * g.lda;  // null when pack_a_fn supplies A
      }
      part.C = g.C + i0 * g.ldc;
      part.row0 = g.row0 + i0;
      if (g.bias && !g.bias_per_column) part.bias = g.bias + i0;
    }
    if (part.M > 0 && part.N > 0) sgemm_isa(part, isa);
  };
  if (balanced) pool->parallel_for_balanced(tiles, pool->grain_for(tiles, 4), part_fn);
  else pool->parallel_for(tiles, part_fn);
}

}  // namespace anvil::kernels

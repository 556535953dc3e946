// Single-precision GEMM for convolution and fully-connected layers:
//   C[M x N] = A[M x K] * B[K x N] (+ C when accumulate) (+ bias[m] per row)
// All matrices row-major with leading dimensions. The driver blocks for the
// caches, packs panels, and runs the best microkernel for active_isa().
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "anvil/tensor.h"
#include "core/cpu.h"

namespace anvil {
class ThreadPool;
}

namespace anvil::kernels {

struct GemmUkernelInfo;

// Applied to each element of C once it is final (all of K added), in this
// order: + bias[row], + residual[row * ldr + col], then when clamp,
// min(max(., lo), hi) (ReLU: lo 0, hi +inf; ReLU6: 0, 6), NaN kept as the
// reference Relu/Clip keep it.
// Rows and columns are the whole problem's (row0/col0 included). A
// microkernel with fn_epi applies it in registers before its one store;
// others get it from the driver right after the tile, while it is in L1.
struct GemmEpilogue {
  const float* bias = nullptr;
  const float* residual = nullptr;
  int64_t ldr = 0;
  bool clamp = false;
  float lo = 0.f, hi = 0.f;
};

struct GemmArgs {
  int64_t M = 0, N = 0, K = 0;
  const float* A = nullptr;
  int64_t lda = 0;
  const float* B = nullptr;
  int64_t ldb = 0;
  float* C = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;  // per row of C (length M), optional
  bool accumulate = false;      // C += A*B instead of C = A*B
  // A is stored transposed: element (m, k) at A[k * lda + m].
  bool trans_a = false;
  // A already packed by prepack_a() for this ISA (A, lda, trans_a ignored).
  const float* a_prepacked = nullptr;
  // B already packed by prepack_b() for this ISA (B and ldb are ignored).
  const float* b_prepacked = nullptr;
  // B (row-major, ldb) is read where it is, not packed, when the
  // microkernel has fn_ldb (else packed as usual). For products that use
  // each B value for few rows: a 1x1 conv with 64 output channels reads the
  // image's channel rows, and packing them cost ~1/4 of its time.
  bool b_in_place = false;
  // bias is per column (length N) instead of per row.
  bool bias_per_column = false;
  // When a call covers part of a prepacked matrix (a thread's share): the
  // packed matrix's full row count (A) or column count (B), 0 = this call's
  // M or N, and where this call starts in it (a multiple of MR or NR).
  int64_t a_prepacked_m = 0, a_prepacked_row0 = 0;
  int64_t b_prepacked_n = 0, b_prepacked_col0 = 0;

  // Implicit operands (convolution without an im2col matrix): instead of
  // reading A or B from memory, the driver asks the caller to write a block
  // straight into the packed panel layout. `first, count`: rows of A (MR
  // panels) or columns of B (NR panels); `k0, kc`: the reduction rows.
  // Coordinates are the whole problem's (see row0/col0).
  using PackFn = void (*)(const void* ctx, int64_t first, int64_t count, int64_t k0, int64_t kc, int tile, float* dst);
  PackFn pack_a_fn = nullptr;
  PackFn pack_b_fn = nullptr;
  const void* pack_ctx = nullptr;
  // Called once each block of C is final (all of K added): rows [m0, m1),
  // columns [n0, n1), while it is still in cache; for epilogues. C and
  // coordinates as for the whole problem.
  using BlockFn = void (*)(void* ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  BlockFn block_done = nullptr;
  void* block_ctx = nullptr;
  // Where this call's C starts in the whole problem (sgemm_parallel sets
  // them for each thread's share); only callbacks see them.
  int64_t row0 = 0, col0 = 0;
  // The microkernel to use (one of gemm_ukernels(isa)); null: the ISA's
  // default, gemm_ukernel_for(isa). Prepacked operands must have been
  // packed for the same one.
  const GemmUkernelInfo* ukernel = nullptr;
  // Optional fused epilogue (see GemmEpilogue).
  const GemmEpilogue* epilogue = nullptr;
};

// Packed weights. prepack_a packs A (M x K) once: per KC block of K, the
// panels of the microkernel's MR rows. prepack_b packs B (K x N; or N x K
// with trans_b) once: per KC block, panels of NR columns, zero-padded. That
// is the order the driver reads them in, so weights that do not fit the
// caches stream sequentially from memory. The result is a 1-D f32 tensor of
// prepacked_{a,b}_numel() elements (64-byte aligned); a compiled artifact
// (.anvil) stores it as is.
// The Isa overloads pack for the ISA's default microkernel.
int64_t gemm_kc();  // the reduction block size of these layouts

// The calling thread's packing buffers, sized to the largest block any
// shape needs; executors call it on every pool thread and at each run, so
// runs after the first allocate nothing (tests/alloc). Cheap once done.
void reserve_packing_buffers();
// Per-thread rows for packers that build kPackRows reduction rows of up to
// a column block (at most 384 columns) before scattering them into panels
// (runtime/impl_conv.cc); reserved by reserve_packing_buffers.
constexpr int64_t kPackRows = 16;
std::vector<float>& pack_rows_scratch();
int64_t prepacked_a_numel(int64_t M, int64_t K, Isa isa);
int64_t prepacked_b_numel(int64_t K, int64_t N, Isa isa);
Tensor prepack_a(const float* A, int64_t lda, int64_t M, int64_t K, Isa isa);
Tensor prepack_b(const float* B, int64_t ldb, int64_t K, int64_t N, bool trans_b, Isa isa);
int64_t prepacked_a_numel(int64_t M, int64_t K, const GemmUkernelInfo& uk);
int64_t prepacked_b_numel(int64_t K, int64_t N, const GemmUkernelInfo& uk);
Tensor prepack_a(const float* A, int64_t lda, int64_t M, int64_t K, const GemmUkernelInfo& uk);
Tensor prepack_b(const float* B, int64_t ldb, int64_t K, int64_t N, bool trans_b, const GemmUkernelInfo& uk);

// Microkernel contract: computes an MR x NR tile of C from packed A (kc
// groups of MR values, one per row) and packed B (kc groups of NR values),
// over kc steps, and adds (accumulate) or stores the tile into C rows
// [0, mr) and columns [0, nr) with mr <= MR, nr <= NR. Meanwhile it fetches
// `prefetch_lines` 64-byte lines from `prefetch` into L2 (the driver's
// slice of the next weight panel; kernels/x86/prefetch.h).
using GemmUkernel = void (*)(int64_t kc, const float* a_packed, const float* b_packed, float* c, int64_t ldc,
                             int64_t mr, int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines);
// The same, then the epilogue on the tile before its store: `bias` points
// at the tile's first row's bias (or null), `residual` at its first
// element (or null, row stride ldr).
using GemmUkernelEpi = void (*)(int64_t kc, const float* a_packed, const float* b_packed, float* c, int64_t ldc,
                                int64_t mr, int64_t nr, bool accumulate, const float* bias, const float* residual,
                                int64_t ldr, const float* clamp /* {lo, hi} or null */, const char* prefetch,
                                int64_t prefetch_lines);

// B read in place instead of packed: step k's NR values at b + k * ldb
// (masked to nr, nothing read past them), epilogue as GemmUkernelEpi (all
// null before the last K block). The prefetch lines are one per step, at
// prefetch + i * ldb: rows of the next column panel.
using GemmUkernelLdb = void (*)(int64_t kc, const float* a_packed, const float* b, int64_t ldb, float* c,
                                int64_t ldc, int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                const float* residual, int64_t ldr, const float* clamp, const char* prefetch,
                                int64_t prefetch_lines);

// Indirect B for stride-1 convs (see f32_igemm_minmax_ukernel_16x16__avx512):
// step k reads NR values at b + off[k]; the tile's lanes are stored at c
// (mask0) and c - cshift (mask1). Epilogue arguments as GemmUkernelEpi.
using GemmUkernelInd = void (*)(int64_t kc, const float* a_packed, const float* b, const int32_t* off, float* c,
                                int64_t ldc, int64_t mr, uint32_t mask0, uint32_t mask1, int64_t cshift,
                                bool accumulate, const float* bias, const float* residual, int64_t ldr,
                                const float* clamp);

struct GemmUkernelInfo {
  GemmUkernel fn;
  int mr, nr;
  const char* name;
  Isa isa;
  GemmUkernelEpi fn_epi = nullptr;
  GemmUkernelLdb fn_ldb = nullptr;  // see GemmArgs::b_in_place
  GemmUkernelInd fn_ind = nullptr;  // NR = 16 only
  // For column panels of at most narrow_nr columns (a last partial panel):
  // a cheaper twin reading B with a row stride (ldb for B in place, nr for
  // a packed panel), epilogue as fn_ldb.
  GemmUkernelLdb fn_narrow = nullptr;
  int narrow_nr = 0;
};

// The microkernel the driver uses at ISA level `isa` (or the best <= isa).
const GemmUkernelInfo& gemm_ukernel_for(Isa isa);

// Every microkernel of exactly this ISA level, the default first.
std::vector<const GemmUkernelInfo*> gemm_ukernels(Isa isa);

// How to run a product with `rows` output rows (channels) and `cols`
// output columns (pixels, tiles) at `isa`: which microkernel, and whether
// to compute the transposed product (pixels as rows, then transposed into
// the output). Scores each candidate by how much of its register tile the
// shape fills, weighted by the tile's own measured speed and by the cost
// of the transposition; the same shape always gets the same plan, so
// packed weights saved in an artifact match it.
struct GemmPlan {
  const GemmUkernelInfo* uk;
  bool transposed;
};
// `depth`: the reduction length K when known (0: unknown); with 64 or
// fewer the 8x49 tile also takes maps larger than 14x14 (see plan_score).
GemmPlan gemm_plan(int64_t cols, int64_t rows, Isa isa, int64_t depth = 0);
// Bumped whenever gemm_plan or gemm_ukernel_best can answer differently
// for some shape: a saved artifact's packed weights (whose sizes alone may
// match another plan's) are then packed again instead of misread.
constexpr int kGemmPlanVersion = 9;  // 2: the 24x16 tile; 3: the 8x49 tile; 4: stride-2 bcast panels; 5: batch-1 GEMV panels; 6: 8x49 for K <= 64, GEMV rows for N < 32; 7: 8x49 for K <= 64 on any map over 196 pixels, 1x1 bcast on maps not a multiple of 14; 8: 6x64 for direct products on maps of 64-256 pixels (multiples of 64); 9: 1x1/2 convs on the even-even phase with the broadcast tiles
// The fastest microkernel for a plain M x N product (no transposition).
const GemmUkernelInfo& gemm_ukernel_best(int64_t M, int64_t N, Isa isa);

// C = A*B (+bias) with the microkernel for `isa` (default: active_isa()).
void sgemm(const GemmArgs& args);
void sgemm_isa(const GemmArgs& args, Isa isa);
// Splits the output between the pool's threads (columns when wide enough,
// else rows), each part a whole sgemm_isa call. pool may be null.
void sgemm_parallel(const GemmArgs& args, Isa isa, ThreadPool* pool);

// Microkernels, one per ISA folder.
void f32_gemm_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                    int64_t nr, bool accumulate, const char* prefetch,
    int64_t prefetch_lines);
void f32_gemm_minmax_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                           int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                           const float* residual, int64_t ldr, const float* clamp,
                                           const char* prefetch, int64_t prefetch_lines);
void f32_igemm_minmax_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, const int32_t* off,
                                               float* c, int64_t ldc, int64_t mr, uint32_t mask0, uint32_t mask1,
                                               int64_t cshift, bool accumulate, const float* bias,
                                               const float* residual, int64_t ldr, const float* clamp);
void f32_gemm_minmax_bstride_ukernel_16x8__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                  int64_t ldc, int64_t mr, int64_t nr, bool accumulate,
                                                  const float* bias, const float* residual, int64_t ldr,
                                                  const float* clamp, const char* prefetch, int64_t prefetch_lines);
void f32_gemm_minmax_bstride_ukernel_16x16__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                               int64_t ldc, int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                               const float* residual, int64_t ldr, const float* clamp,
                                               const char* prefetch, int64_t prefetch_lines);
void f32_gemm_ukernel_24x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                    int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines);
void f32_gemm_minmax_ukernel_24x16__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                           int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                           const float* residual, int64_t ldr, const float* clamp,
                                           const char* prefetch, int64_t prefetch_lines);
void f32_gemm_minmax_bstride_ukernel_24x16__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                   int64_t ldc, int64_t mr, int64_t nr, bool accumulate,
                                                   const float* bias, const float* residual, int64_t ldr,
                                                   const float* clamp, const char* prefetch, int64_t prefetch_lines);
void f32_gemm_ukernel_8x49__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                   int64_t nr, bool accumulate, const char* prefetch, int64_t prefetch_lines);
void f32_gemm_minmax_ukernel_8x49__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                          int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                          const float* residual, int64_t ldr, const float* clamp,
                                          const char* prefetch, int64_t prefetch_lines);
void f32_gemm_minmax_bstride_ukernel_8x49__avx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                  int64_t ldc, int64_t mr, int64_t nr, bool accumulate,
                                                  const float* bias, const float* residual, int64_t ldr,
                                                  const float* clamp, const char* prefetch, int64_t prefetch_lines);
void f32_gemm_ukernel_7x32__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                   int64_t nr, bool accumulate, const char* prefetch,
    int64_t prefetch_lines);
void f32_gemm_ukernel_6x64__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                   int64_t nr, bool accumulate, const char* prefetch,
    int64_t prefetch_lines);
void f32_gemm_minmax_ukernel_6x64__avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                          int64_t mr, int64_t nr, bool accumulate, const float* bias,
                                          const float* residual, int64_t ldr, const float* clamp,
                                          const char* prefetch, int64_t prefetch_lines);
void f32_gemm_ukernel_6x16__avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                 int64_t nr, bool accumulate, const char* prefetch,
    int64_t prefetch_lines);
void f32_gemm_ukernel_4x8__scalar(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                                  int64_t nr, bool accumulate, const char* prefetch,
    int64_t prefetch_lines);

// Matrix-vector product for batch-1 fully connected layers: B packed by
// prepack_gemv_b() as panels of kGemvPanel columns, each [K][kGemvPanel]
// (zero past column N). The ukernel does one panel: y[0..n) = a . panel.
constexpr int64_t kGemvPanel = 64;
Tensor prepack_gemv_b(const float* B, int64_t ldb, int64_t K, int64_t N);
void f32_gemv_ukernel_1x64__avx512(int64_t K, const float* a, const float* b, float* y, int64_t n);
void f32_gemv_ukernel_1x64__scalar(int64_t K, const float* a, const float* b, float* y, int64_t n);

// Batch 1 with fewer than kGemvDotMaxN outputs (regression heads): B packed
// by prepack_gemv_rows() as one row of K per output ([N][K]), so no byte
// read is padding. The ukernel does up to 4 outputs: y[j] = a . row j.
constexpr int64_t kGemvDotMaxN = 32;
constexpr int64_t kGemvDotRows = 4;
Tensor prepack_gemv_rows(const float* B, int64_t ldb, int64_t K, int64_t N);
void f32_gemv_dot_ukernel_1x4__avx512(int64_t K, const float* a, const float* bt, float* y, int64_t n);
void f32_gemv_dot_ukernel_1x4__scalar(int64_t K, const float* a, const float* bt, float* y, int64_t n);

}  // namespace anvil::kernels

// Every GEMM microkernel, through the driver, against a double-precision
// plain-loop reference on shapes around each tile size, at every ISA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/gemm.h"

namespace anvil::kernels {
namespace {

std::vector<Isa> host_isas() {
  std::vector<Isa> v{Isa::kScalar};
  if (host_isa() >= Isa::kAvx2) v.push_back(Isa::kAvx2);
  if (host_isa() >= Isa::kAvx512) v.push_back(Isa::kAvx512);
  return v;
}

void check(const GemmUkernelInfo& uk, int64_t M, int64_t N, int64_t K, bool bias, bool accumulate,
           bool trans_a = false, bool prepacked = false, bool bias_cols = false, ThreadPool* pool = nullptr) {
  const Isa isa = uk.isa;
  std::mt19937 rng(static_cast<unsigned>(M * 131 + N * 17 + K));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  // Leading dimensions larger than the matrices catch stride mistakes.
  const int64_t lda = K + 3, ldb = N + 5, ldc = N + 7;
  // With trans_a, A is stored K x M (element (m, k) at k*lda_t + m).
  const int64_t lda_t = M + 3;
  std::vector<float> A(M * lda), At(K * lda_t), B(K * ldb), C(M * ldc), bv(bias_cols ? N : M);
  for (float& x : A) x = u(rng);
  for (float& x : B) x = u(rng);
  for (float& x : C) x = u(rng);
  for (float& x : bv) x = u(rng);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) At[k * lda_t + m] = A[m * lda + k];
  std::vector<float> C0 = C;
  GemmArgs g{M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, bias ? bv.data() : nullptr, accumulate};
  if (trans_a) {
    g.A = At.data();
    g.lda = lda_t;
    g.trans_a = true;
  }
  Tensor packed, packed_a;
  if (prepacked && !trans_a) {
    packed_a = prepack_a(A.data(), lda, M, K, uk);
    g.a_prepacked = packed_a.data<float>();
    g.A = nullptr;
  }
  if (prepacked) {
    packed = prepack_b(B.data(), ldb, K, N, false, uk);
    g.b_prepacked = packed.data<float>();
    g.B = nullptr;
  }
  g.bias_per_column = bias_cols;
  g.ukernel = &uk;
  if (pool) sgemm_parallel(g, isa, pool);
  else sgemm_isa(g, isa);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < ldc; ++n) {
      if (n >= N) {
        ASSERT_EQ(C[m * ldc + n], C0[m * ldc + n]) << "wrote past column N at m=" << m << " n=" << n;
        continue;
      }
      double ref = accumulate ? C0[m * ldc + n] : 0.0;
      if (bias) ref += bv[bias_cols ? n : m];
      for (int64_t k = 0; k < K; ++k) ref += double(A[m * lda + k]) * B[k * ldb + n];
      // f32 accumulation over K terms of magnitude <= 1: error grows ~sqrt(K)*eps.
      ASSERT_NEAR(C[m * ldc + n], ref, 1e-5 * (K + 1)) << uk.name << " M=" << M << " N=" << N << " K=" << K
                                                      << " trans_a=" << trans_a << " prepacked=" << prepacked << " at m=" << m << " n=" << n;
    }
  }
}

TEST(GemmKernels, MatchReferenceOnEdgeShapes) {
  for (Isa isa : host_isas())
    for (const GemmUkernelInfo* u : gemm_ukernels(isa)) {
      const GemmUkernelInfo& uk = *u;
      const int64_t mr = uk.mr, nr = uk.nr;
      for (int64_t M : {int64_t{1}, mr - 1, mr, mr + 1, 2 * mr + 3, int64_t{127}})
        for (int64_t N : {int64_t{1}, nr - 1, nr, nr + 1, 2 * nr + 5})
          for (int64_t K : {int64_t{1}, int64_t{7}, int64_t{256}, int64_t{300}}) check(uk, M, N, K, false, false);
      check(uk, 37, 53, 129, true, false);
      check(uk, 37, 53, 129, false, true);
      check(uk, 37, 53, 129, true, true);
      check(uk, 5, 3, 0, true, false);
    }
}

TEST(GemmKernels, TransposedAPrepackedBColumnBiasAndThreads) {
  ThreadPool pool(2);
  for (Isa isa : host_isas())
    for (const GemmUkernelInfo* uk : gemm_ukernels(isa))
      for (int64_t M : {int64_t{1}, int64_t{7}, int64_t{49}, int64_t{200}})
        for (int64_t N : {int64_t{3}, int64_t{64}, int64_t{129}, int64_t{300}})
          for (int64_t K : {int64_t{5}, int64_t{300}}) {
            check(*uk, M, N, K, true, false, true, true, true);
            check(*uk, M, N, K, true, false, true, false, false, &pool);
            check(*uk, M, N, K, true, true, false, true, true, &pool);
            check(*uk, M, N, K, false, false, false, true, false);
          }
}

// The fused epilogue (bias per row, residual, ReLU) on the final K block:
// in registers for microkernels with fn_epi, per tile by the driver for
// the others; K > KC makes the earlier blocks accumulate first, and the
// threaded split checks the row0/col0 offsets into bias and residual.
TEST(GemmKernels, FusedEpilogueMatchesReference) {
  ThreadPool pool(2);
  for (Isa isa : host_isas())
    for (const GemmUkernelInfo* uk : gemm_ukernels(isa))
      for (int64_t M : {int64_t{1}, int64_t{17}, int64_t{70}})
        for (int64_t N : {int64_t{5}, int64_t{49}, int64_t{130}})
          for (int64_t K : {int64_t{0}, int64_t{3}, int64_t{300}})
            for (int variant = 0; variant < 4; ++variant) {
              // variant 3 clamps to [-0.5, 0.7] (Clip), 0 and 2 to ReLU.
              const bool use_bias = variant & 1, use_res = variant & 2, clamp = variant != 1;
              const float lo = variant == 3 ? -0.5f : 0.f, hi = variant == 3 ? 0.7f : INFINITY;
              std::mt19937 rng(static_cast<unsigned>(M * 7 + N * 3 + K + variant));
              std::uniform_real_distribution<float> u(-1.f, 1.f);
              const int64_t ldc = N + 3, ldr = N + 9;
              std::vector<float> A(M * K), B(K * N), C(M * ldc, 7.f), bias(M), res(M * ldr);
              for (float& x : A) x = u(rng);
              for (float& x : B) x = u(rng);
              for (float& x : bias) x = u(rng);
              for (float& x : res) x = u(rng);
              Tensor pa = prepack_a(A.data(), K, M, K, *uk);
              GemmEpilogue e;
              e.bias = use_bias ? bias.data() : nullptr;
              e.residual = use_res ? res.data() : nullptr;
              e.ldr = ldr;
              e.clamp = clamp;
              e.lo = lo;
              e.hi = hi;
              GemmArgs g;
              g.M = M;
              g.N = N;
              g.K = K;
              g.a_prepacked = pa.data<float>();
              g.B = B.data();
              g.ldb = N;
              g.C = C.data();
              g.ldc = ldc;
              g.ukernel = uk;
              g.epilogue = &e;
              sgemm_parallel(g, isa, &pool);
              for (int64_t m = 0; m < M; ++m)
                for (int64_t n = 0; n < ldc; ++n) {
                  if (n >= N) {
                    ASSERT_EQ(C[m * ldc + n], 7.f) << uk->name << " wrote past column N";
                    continue;
                  }
                  double ref = 0;
                  for (int64_t k = 0; k < K; ++k) ref += double(A[m * K + k]) * B[k * N + n];
                  if (use_bias) ref += bias[m];
                  if (use_res) ref += res[m * ldr + n];
                  if (clamp) ref = std::min(std::max(ref, double(lo)), double(hi));
                  ASSERT_NEAR(C[m * ldc + n], ref, 1e-5 * (K + 2))
                      << uk->name << " M=" << M << " N=" << N << " K=" << K << " variant=" << variant << " at " << m
                      << "," << n;
                }
            }
}

// The plan for the ResNet shapes this choice was measured on: 7x7 (49
// pixels) takes the 8x49 tile whole and 14x14 (196) in 4 panels of 49,
// 28x28 the 16x16 tile, 6x7 (42) the transposed 7x32 product (42 = 6 row
// panels), and batch-1 FC rows take the 6-row tile.
TEST(GemmKernels, PlanPicksTheTileThatFitsTheShape) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "needs AVX-512 (the only ISA with a choice of tiles)";
  const GemmPlan p14 = gemm_plan(196, 1024, Isa::kAvx512);
  EXPECT_FALSE(p14.transposed);
  EXPECT_EQ(p14.uk->nr, 49);
  const GemmPlan p28 = gemm_plan(784, 512, Isa::kAvx512);
  EXPECT_FALSE(p28.transposed);
  EXPECT_EQ(p28.uk->mr, 16);
  const GemmPlan p7 = gemm_plan(49, 512, Isa::kAvx512);
  EXPECT_FALSE(p7.transposed);
  EXPECT_EQ(p7.uk->nr, 49);
  const GemmPlan p6x7 = gemm_plan(42, 512, Isa::kAvx512);
  EXPECT_TRUE(p6x7.transposed);
  EXPECT_EQ(p6x7.uk->mr, 7);
  EXPECT_NE(gemm_plan(3136, 256, Isa::kAvx512).uk->nr, 49);  // 56x56: 16-wide tiles fill it exactly
  // ... unless the reduction is 64 or shorter: then the 8x49 tile's fewer
  // loads per FMA and longer row stores win (ResNet's 64->256@56).
  const GemmPlan shallow = gemm_plan(3136, 256, Isa::kAvx512, 64);
  EXPECT_FALSE(shallow.transposed);
  EXPECT_EQ(shallow.uk->nr, 49);
  EXPECT_EQ(gemm_plan(784, 144, Isa::kAvx512, 24).uk->nr, 49);
  EXPECT_NE(gemm_plan(3136, 256, Isa::kAvx512, 65).uk->nr, 49);
  // Maps not a multiple of 49 too (64x64 at 256x256 input: 83 full tiles
  // and one of 29 columns), but not maps of 196 pixels or fewer.
  EXPECT_EQ(gemm_plan(4096, 256, Isa::kAvx512, 64).uk->nr, 49);
  EXPECT_EQ(gemm_plan(3136 + 16, 256, Isa::kAvx512, 64).uk->nr, 49);
  EXPECT_NE(gemm_plan(100, 256, Isa::kAvx512, 64).uk->nr, 49);
  // Maps of 64-256 pixels, a multiple of 64 (8x8, 16x16), take the 6x64
  // tile in the direct orientation; 4x4 (16) and 7x7 (49) keep theirs.
  for (int64_t cols : {64, 128, 256}) {
    const GemmPlan w = gemm_plan(cols, 512, Isa::kAvx512);
    EXPECT_EQ(w.uk->nr, 64) << cols;
    EXPECT_FALSE(w.transposed) << cols;
  }
  EXPECT_EQ(gemm_plan(16, 512, Isa::kAvx512).uk->nr, 16);
  EXPECT_NE(gemm_plan(320, 512, Isa::kAvx512).uk->nr, 64);
  const GemmPlan p56 = gemm_plan(3136, 64, Isa::kAvx512);
  EXPECT_FALSE(p56.transposed);
  EXPECT_EQ(gemm_ukernel_best(1, 1000, Isa::kAvx512).mr, 6);
  EXPECT_EQ(gemm_ukernel_best(64, 1000, Isa::kAvx512).mr, 16);
  // Capped ISAs have one tile each; the plan follows the cap.
  EXPECT_EQ(gemm_plan(196, 1024, Isa::kAvx2).uk->isa, Isa::kAvx2);
}

}  // namespace
}  // namespace anvil::kernels

namespace anvil::kernels {
namespace {

// The batch-1 GEMV for few outputs against its plain loop and a double
// sum: reduction lengths around its 32- and 16-float steps (the masked
// tail), 1 to 4 outputs, nothing written past output n.
TEST(GemvKernels, DotRowsMatchScalarReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this host";
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t K : {1, 2, 15, 16, 17, 31, 32, 33, 47, 2049}) {
    for (int64_t N : {1, 2, 3, 4, 5, 31}) {
      const int64_t ldb = N + 2;
      std::vector<float> a(static_cast<size_t>(K)), B(static_cast<size_t>(K * ldb));
      for (float& f : a) f = u(rng);
      for (float& f : B) f = u(rng);
      const Tensor bt = prepack_gemv_rows(B.data(), ldb, K, N);
      ASSERT_EQ(bt.numel(), N * K);
      std::vector<float> want(static_cast<size_t>(N) + 8, 7.f), got = want;
      for (int64_t g = 0; g < N; g += kGemvDotRows) {
        const int64_t n = std::min(kGemvDotRows, N - g);
        f32_gemv_dot_ukernel_1x4__scalar(K, a.data(), bt.data<float>() + g * K, want.data() + g, n);
        f32_gemv_dot_ukernel_1x4__avx512(K, a.data(), bt.data<float>() + g * K, got.data() + g, n);
      }
      for (int64_t j = 0; j < static_cast<int64_t>(want.size()); ++j) {
        if (j < N) {
          double exact = 0;
          for (int64_t k = 0; k < K; ++k) exact += double(a[static_cast<size_t>(k)]) * B[static_cast<size_t>(k * ldb + j)];
          ASSERT_NEAR(want[static_cast<size_t>(j)], exact, 1e-5 * K) << "scalar K " << K << " N " << N << " out " << j;
          ASSERT_NEAR(got[static_cast<size_t>(j)], exact, 1e-5 * K) << "avx512 K " << K << " N " << N << " out " << j;
        } else {
          ASSERT_EQ(got[static_cast<size_t>(j)], 7.f) << "wrote past output N: K " << K << " N " << N << " at " << j;
        }
      }
    }
  }
}

// The batch-1 GEMV panel kernel against its plain loop: reduction lengths
// odd and even (its two-step unroll), below and past the 4 KB prefetch
// distance, every column count of a panel, on prepack_gemv_b's packing of
// a matrix with a row stride wider than N (last panel partial).
TEST(GemvKernels, PanelsMatchScalarReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this host";
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t K : {1, 2, 3, 16, 33, 2049}) {
    for (int64_t N : {1, 15, 16, 17, 63, 64, 65, 130}) {
      const int64_t ldb = N + 3;
      std::vector<float> a(static_cast<size_t>(K)), B(static_cast<size_t>(K * ldb));
      for (float& f : a) f = u(rng);
      for (float& f : B) f = u(rng);
      const Tensor bp = prepack_gemv_b(B.data(), ldb, K, N);
      const int64_t panels = (N + kGemvPanel - 1) / kGemvPanel;
      ASSERT_EQ(bp.numel(), panels * K * kGemvPanel);
      std::vector<float> want(static_cast<size_t>(panels * kGemvPanel) + 8, 7.f), got = want;
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t n = std::min(kGemvPanel, N - p * kGemvPanel);
        f32_gemv_ukernel_1x64__scalar(K, a.data(), bp.data<float>() + p * K * kGemvPanel, want.data() + p * kGemvPanel, n);
        f32_gemv_ukernel_1x64__avx512(K, a.data(), bp.data<float>() + p * K * kGemvPanel, got.data() + p * kGemvPanel, n);
      }
      for (int64_t j = 0; j < static_cast<int64_t>(want.size()); ++j) {
        if (j < N) {
          double exact = 0;
          for (int64_t k = 0; k < K; ++k) exact += double(a[static_cast<size_t>(k)]) * B[static_cast<size_t>(k * ldb + j)];
          ASSERT_NEAR(want[static_cast<size_t>(j)], exact, 1e-5 * K) << "scalar K " << K << " N " << N << " col " << j;
          ASSERT_NEAR(got[static_cast<size_t>(j)], exact, 1e-5 * K) << "avx512 K " << K << " N " << N << " col " << j;
        } else {
          ASSERT_EQ(got[static_cast<size_t>(j)], 7.f) << "wrote past column N: K " << K << " N " << N << " col " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace anvil::kernels

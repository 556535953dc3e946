// Every GEMM microkernel, through the driver, against a double-precision
// plain-loop reference on shapes around each tile size, at every ISA.
#include <gtest/gtest.h>

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

void check(Isa isa, int64_t M, int64_t N, int64_t K, bool bias, bool accumulate, bool trans_a = false,
           bool prepacked = false, bool bias_cols = false, ThreadPool* pool = nullptr) {
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
    packed_a = prepack_a(A.data(), lda, M, K, isa);
    g.a_prepacked = packed_a.data<float>();
    g.A = nullptr;
  }
  if (prepacked) {
    packed = prepack_b(B.data(), ldb, K, N, false, isa);
    g.b_prepacked = packed.data<float>();
    g.B = nullptr;
  }
  g.bias_per_column = bias_cols;
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
      ASSERT_NEAR(C[m * ldc + n], ref, 1e-5 * (K + 1)) << isa_name(isa) << " M=" << M << " N=" << N << " K=" << K
                                                      << " trans_a=" << trans_a << " prepacked=" << prepacked << " at m=" << m << " n=" << n;
    }
  }
}

TEST(GemmKernels, MatchReferenceOnEdgeShapes) {
  for (Isa isa : host_isas()) {
    const GemmUkernelInfo& uk = gemm_ukernel_for(isa);
    const int64_t mr = uk.mr, nr = uk.nr;
    for (int64_t M : {int64_t{1}, mr - 1, mr, mr + 1, 2 * mr + 3, int64_t{127}})
      for (int64_t N : {int64_t{1}, nr - 1, nr, nr + 1, 2 * nr + 5})
        for (int64_t K : {int64_t{1}, int64_t{7}, int64_t{256}, int64_t{300}}) check(isa, M, N, K, false, false);
    check(isa, 37, 53, 129, true, false);
    check(isa, 37, 53, 129, false, true);
    check(isa, 37, 53, 129, true, true);
    check(isa, 5, 3, 0, true, false);
  }
}

TEST(GemmKernels, TransposedAPrepackedBColumnBiasAndThreads) {
  ThreadPool pool(2);
  for (Isa isa : host_isas()) {
    for (int64_t M : {int64_t{1}, int64_t{7}, int64_t{49}, int64_t{200}})
      for (int64_t N : {int64_t{3}, int64_t{64}, int64_t{129}, int64_t{300}})
        for (int64_t K : {int64_t{5}, int64_t{300}}) {
          check(isa, M, N, K, true, false, true, true, true);
          check(isa, M, N, K, true, false, true, false, false, &pool);
          check(isa, M, N, K, true, true, false, true, true, &pool);
          check(isa, M, N, K, false, false, false, true, false);
        }
  }
}

}  // namespace
}  // namespace anvil::kernels

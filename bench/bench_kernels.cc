// Kernel benchmarks (Google Benchmark): the packed SGEMM at each ISA on
// ResNet-50 layer shapes (M = output channels, N = pixels, K = C*kh*kw), and
// the plain-loop reference Conv for comparison. Counters report GFLOP/s.
//   build/bench/bench_kernels --benchmark_filter=Gemm
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/gemm.h"

namespace {

using anvil::Isa;

void BM_Sgemm(benchmark::State& st, Isa isa) {
  const int64_t M = st.range(0), N = st.range(1), K = st.range(2);
  if (anvil::host_isa() < isa) {
    st.SkipWithError("ISA not available on this host");
    return;
  }
  std::vector<float> A(M * K), B(K * N), C(M * N);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& x : A) x = u(rng);
  for (float& x : B) x = u(rng);
  anvil::kernels::GemmArgs g{M, N, K, A.data(), K, B.data(), N, C.data(), N, nullptr, false};
  for (auto _ : st) {
    anvil::kernels::sgemm_isa(g, isa);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

// ResNet-50: conv2 3x3 64->64 @56x56, conv4 1x1 256->1024... @14x14, conv5 3x3 512 @7x7.
void shapes(benchmark::internal::Benchmark* b) {
  b->Args({64, 3136, 576})->Args({256, 3136, 64})->Args({256, 196, 2304})->Args({1024, 196, 256})->Args({512, 49, 4608});
}

BENCHMARK_CAPTURE(BM_Sgemm, avx512, Isa::kAvx512)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sgemm, avx2, Isa::kAvx2)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sgemm, scalar, Isa::kScalar)->Apply(shapes)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

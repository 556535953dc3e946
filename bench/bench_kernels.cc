// Kernel benchmarks (Google Benchmark): the packed SGEMM at each ISA on
// ResNet-50 layer shapes (M = output channels, N = pixels, K = C*kh*kw), and
// the plain-loop reference Conv for comparison. Counters report GFLOP/s.
// And the batch-1 GEMVs on narrow heads (K = 2048, N outputs): 64-column
// panels against weight rows, weights rotated through 64 MB of copies so
// they come from memory as in a model.
// And every conv shape of bench/conv_layers.h (ResNet-101's, MobileNetV2's)
// through the kernel the executor picks, at each ISA and at 1 and 2
// threads: time per conv (a chain of 8 with their own weights, so large
// weights come from memory as in the model), GFLOP/s, and % of the FMA peak
// measured on this host at that ISA and thread count, as `anvil sysinfo`
// measures it; the label names the kernel.
// And WeightStream: the 8x49 tile over a weight stream as layer4's 1x1s
// at 7x7 read it (8 rows x 256 of the reduction a call, 8 KB), the weights
// in L2, from 64 MB in memory without prefetch, and with the driver's
// prefetch two panels ahead: what streaming weights from DRAM costs the
// tile by itself.
//   build/bench/bench_kernels --benchmark_filter=Gemm
//   build/bench/bench_kernels --benchmark_filter=Gemv
//   build/bench/bench_kernels --benchmark_filter='ConvLayer/avx512/t1/s3'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "conv_layers.h"
#include "core/microbench.h"
#include "kernels/gemm.h"
#include "kernels/postop.h"
#include "runtime/executor.h"

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

// mode 0: 64-column panels (f32_gemv_ukernel_1x64); 1: weight rows
// (f32_gemv_dot_ukernel_1x4).
void BM_Gemv(benchmark::State& st, int mode) {
  const int64_t K = st.range(0), N = st.range(1);
  if (anvil::host_isa() < Isa::kAvx512) {
    st.SkipWithError("needs AVX-512");
    return;
  }
  namespace k = anvil::kernels;
  std::vector<float> a(K), B(K * N), y(N + 64);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& x : a) x = u(rng);
  for (float& x : B) x = u(rng);
  const anvil::Tensor one = mode == 0 ? k::prepack_gemv_b(B.data(), N, K, N) : k::prepack_gemv_rows(B.data(), N, K, N);
  const int64_t copies = std::max<int64_t>(1, (int64_t{64} << 20) / one.nbytes());
  std::vector<anvil::Tensor> w(static_cast<size_t>(copies), one);
  for (auto& t : w) t = one.clone();
  size_t i = 0;
  for (auto _ : st) {
    const float* b = w[i++ % w.size()].data<float>();
    if (mode == 0)
      for (int64_t p = 0; p < N; p += k::kGemvPanel)
        k::f32_gemv_ukernel_1x64__avx512(K, a.data(), b + p * K, y.data() + p, std::min(k::kGemvPanel, N - p));
    else
      for (int64_t g = 0; g < N; g += k::kGemvDotRows)
        k::f32_gemv_dot_ukernel_1x4__avx512(K, a.data(), b + g * K, y.data() + g, std::min(k::kGemvDotRows, N - g));
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["weight KB"] = one.nbytes() / 1024.0;
}

// The epilogue rows (kernels/postop.h) on one channel row of 56x56 (3136
// values, in L1 as in the kernels' blocks): plain loop vs AVX2 vs AVX-512.
// The data mixes signs, as a PReLU's input does (the plain PReLU loop
// branches on each sign).
void BM_PostopRow(benchmark::State& st, anvil::kernels::RowOp op, Isa isa) {
  namespace k = anvil::kernels;
  if (anvil::host_isa() < isa) {
    st.SkipWithError("ISA not on this host");
    return;
  }
  const k::PostOpRowUkernel fn = isa == Isa::kAvx512 ? k::f32_postop_ukernel_1x16__avx512
                                 : isa == Isa::kAvx2 ? k::f32_postop_ukernel_1x8__avx2
                                                     : k::f32_postop_ukernel_1x1__scalar;
  const int64_t n = 3136;
  std::vector<float> y(n), x(n), r(n);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-3, 3);
  for (float& v : x) v = u(rng);
  for (float& v : r) v = u(rng);
  for (auto _ : st) {
    std::copy(x.begin(), x.end(), y.begin());  // fresh signs each time (a PReLU's slope would shrink them)
    fn(op, 0.25f, 0.5f, r.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetItemsProcessed(st.iterations() * n);
}

#define ANVIL_POSTOP_BENCH(name, op)                                                        \
  BENCHMARK_CAPTURE(BM_PostopRow, name##_scalar, anvil::kernels::RowOp::op, Isa::kScalar); \
  BENCHMARK_CAPTURE(BM_PostopRow, name##_avx2, anvil::kernels::RowOp::op, Isa::kAvx2);     \
  BENCHMARK_CAPTURE(BM_PostopRow, name##_avx512, anvil::kernels::RowOp::op, Isa::kAvx512);
ANVIL_POSTOP_BENCH(prelu, kPrelu)
ANVIL_POSTOP_BENCH(scale_shift, kScaleShift)
ANVIL_POSTOP_BENCH(silu, kSilu)
ANVIL_POSTOP_BENCH(tanh, kTanh)
ANVIL_POSTOP_BENCH(elu, kElu)
#undef ANVIL_POSTOP_BENCH

// ResNet-50: conv2 3x3 64->64 @56x56, conv4 1x1 256->1024... @14x14, conv5 3x3 512 @7x7.
void shapes(benchmark::internal::Benchmark* b) {
  b->Args({64, 3136, 576})->Args({256, 3136, 64})->Args({256, 196, 2304})->Args({1024, 196, 256})->Args({512, 49, 4608});
}

BENCHMARK_CAPTURE(BM_Sgemm, avx512, Isa::kAvx512)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sgemm, avx2, Isa::kAvx2)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sgemm, scalar, Isa::kScalar)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, panels, 0)->Args({2048, 1})->Args({2048, 4})->Args({2048, 16})->Args({2048, 31})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Gemv, rows, 1)->Args({2048, 1})->Args({2048, 4})->Args({2048, 16})->Args({2048, 31})
    ->Unit(benchmark::kMicrosecond);

// mode 0: weights cycle through 512 KB (L2); 1: through 64 MB, no
// prefetch; 2: 64 MB, each call prefetching the panel two ahead.
void BM_WeightStream(benchmark::State& st) {
  if (anvil::host_isa() < Isa::kAvx512) {
    st.SkipWithError("no AVX-512 on this host");
    return;
  }
  const int mode = static_cast<int>(st.range(0));
  constexpr int64_t K = 256, kPanel = 8 * K;  // floats a call
  const int64_t panels = (mode == 0 ? (512 << 10) : (64 << 20)) / 4 / kPanel;
  anvil::Tensor a(anvil::DType::kF32, anvil::Shape{panels * kPanel});  // 2 MB+: huge pages, as packed weights
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = u(rng);
  std::vector<float> b(static_cast<size_t>(K * 49), 0.5f), c(8 * 49);
  int64_t p = 0;
  for (auto _ : st) {
    for (int64_t i = 0; i < 64; ++i, p = (p + 1) % panels) {
      const char* pf = mode == 2 ? reinterpret_cast<const char*>(a.data<float>() + (p + 2) % panels * kPanel) : nullptr;
      anvil::kernels::f32_gemm_ukernel_8x49__avx512(K, a.data<float>() + p * kPanel, b.data(), c.data(), 49, 8, 49,
                                                   false, pf, pf ? kPanel * 4 / 64 : 0);
    }
    benchmark::DoNotOptimize(c.data());
  }
  const double flops = 64.0 * 2 * 8 * 49 * K;
  st.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  st.SetLabel(mode == 0 ? "weights in L2" : mode == 1 ? "64 MB, no prefetch" : "64 MB, prefetch 2 panels ahead");
}
BENCHMARK(BM_WeightStream)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

}  // namespace

namespace {

// This host's FMA peak at an ISA and thread count, measured once (best of 5).
double fma_peak(Isa isa, int threads) {
  static std::map<std::pair<int, int>, double> peaks;
  const auto key = std::make_pair(static_cast<int>(isa), threads);
  auto it = peaks.find(key);
  if (it == peaks.end())
    it = peaks.emplace(key, anvil::bench::fma_peak_best(isa, threads)).first;
  return it->second;
}

void BM_ConvLayer(benchmark::State& st, const anvil::bench::Layer& l, Isa isa, int threads) {
  if (anvil::host_isa() < isa) {
    st.SkipWithError("ISA not available on this host");
    return;
  }
  constexpr int kDepth = 8;
  std::mt19937 rng(7);
  auto ex = anvil::Executor::create(anvil::bench::chain(l, kDepth, rng), threads, isa);
  if (!ex) {
    st.SkipWithError(ex.status().message().c_str());
    return;
  }
  const anvil::Tensor x = anvil::bench::random({1, l.C, l.HW, l.HW}, rng, 1.f);
  anvil::Tensor y = anvil::bench::chain_output(l);
  // A fresh executor's first runs of a layer ran up to 1.5x slower
  // (bench_conv_layers): a quarter second of warm-up first.
  const auto w0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - w0 < std::chrono::milliseconds(250)) (void)(*ex)->run_into({x}, {y});
  double total = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!(*ex)->run_into({x}, {y}).is_ok()) {
      st.SkipWithError("run failed");
      return;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / kDepth;
    st.SetIterationTime(s);
    total += s;
  }
  const double flops = anvil::bench::layer_flops(l);
  st.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
  const double gflops = total > 0 ? flops * static_cast<double>(st.iterations()) / total / 1e9 : 0;
  st.counters["%peak"] = 100 * gflops / fma_peak(isa, threads);
  std::string kern = (*ex)->step_kernel_name(0);
  st.SetLabel(kern.substr(0, kern.find(':')));
}

}  // namespace

int main(int argc, char** argv) {
  // ConvLayer/<isa>/t<threads>/<layer>: registered here, one per shape of
  // the table, so that a filter picks a layer by its name.
  for (const auto& l : anvil::bench::kLayers)
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2})
      for (int threads : {1, 2}) {
        std::string name = std::string("ConvLayer/") + anvil::isa_name(isa) + "/t" + std::to_string(threads) + "/" + l.name;
        std::replace(name.begin(), name.end(), ' ', '_');
        benchmark::RegisterBenchmark(name.c_str(), BM_ConvLayer, l, isa, threads)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.3);
      }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

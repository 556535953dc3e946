// This CPU's subnormal penalty (issue 5, "Subnormal guard"): throughput of
// vector FMA and multiply with normal operands, subnormal operands, subnormal
// results and both, with FTZ/DAZ off and on. On Intel cores every
// instruction that touches a subnormal with FTZ/DAZ off takes a microcode
// assist (~100+ cycles); some CPUs have no penalty at all. The loops are
// core/microbench.h's, the ones `anvil sysinfo` reports.
//   build/bench/bench_denormals                       all ISAs
//   build/bench/bench_denormals --benchmark_filter=avx512/fma
// bench/denormal_resnet.sh measures the same effect on a whole ResNet-101.
#include <benchmark/benchmark.h>

#include <string>

#include "core/cpu.h"
#include "core/denormals.h"
#include "core/microbench.h"

namespace {

using anvil::FpData;
using anvil::FpOp;
using anvil::Isa;

void BM_Fp(benchmark::State& st, Isa isa, FpOp op, FpData data, bool ftz_daz) {
  if (anvil::host_isa() < isa) {
    st.SkipWithError("ISA not available on this host");
    return;
  }
  anvil::DenormalGuard guard(ftz_daz);
  // Subnormal loops are ~250x slower: fewer iterations per call keeps the
  // benchmark's own calibration quick.
  const int64_t iters = data == FpData::kNormal || ftz_daz ? 4096 : 64;
  int64_t flops = 0;
  for (auto _ : st) flops += anvil::fp_loop(isa, op, data, iters);
  st.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(flops), benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.SetLabel(std::string(anvil::fp_data_name(data)) + (ftz_daz ? ", FTZ/DAZ on" : ", FTZ/DAZ off"));
}

const bool registered = [] {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kScalar})
    for (FpOp op : {FpOp::kFma, FpOp::kMul})
      for (FpData d : {FpData::kNormal, FpData::kSubnormalInput, FpData::kSubnormalOutput, FpData::kSubnormalBoth})
        for (bool ftz : {false, true}) {
          const std::string name = std::string("Fp/") + anvil::isa_name(isa) + (op == FpOp::kFma ? "/fma/" : "/mul/") +
                                   (d == FpData::kNormal            ? "normal"
                                    : d == FpData::kSubnormalInput  ? "sub_in"
                                    : d == FpData::kSubnormalOutput ? "sub_out"
                                                                    : "sub_both") +
                                   (ftz ? "/ftz_daz" : "/ieee");
          benchmark::RegisterBenchmark(name.c_str(), BM_Fp, isa, op, d, ftz)->MinTime(0.05);
        }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();

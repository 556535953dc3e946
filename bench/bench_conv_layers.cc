// Per-layer conv throughput on ResNet-101's shapes, the way the model runs
// them: a chain of identical-shape convs, each with its own weights, so
// weights come from memory as they do in the full network (ResNet-101's 170
// MB do not fit any cache). Reports GFLOP/s per conv and % of this host's
// measured FMA peak; medians of repeated chains.
//   build/bench/bench_conv_layers [--threads N] [--reps R] [--filter STR] [--depth D] [--exact]
//                                 [--winograd-min-channels C]  (where Winograd starts; default 128)
//                                 [--winograd-lanes-min-channels C]  (AVX-512 Winograd kernels; default 64)
//                                 [--winograd-lanes-min-tiles T]  (tiles where the AVX-512 Winograd kernels start; default 16)
// (--depth 40 puts the chain's weights beyond the 32 MB L3, as in the model)
// The host is shared: compare variants by the best-run column, run alternately.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/microbench.h"
#include "runtime/executor.h"
#include "runtime/kernel_registry.h"
#include "conv_layers.h"

using namespace anvil;

using anvil::bench::kLayers;
using anvil::bench::Layer;
using anvil::bench::chain;
using anvil::bench::random;

int main(int argc, char** argv) {
  int threads = 1, reps = 15, depth = 8;
  bool exact = false;  // --exact: direct convolution only (no Winograd)
  int64_t wino_lanes_channels = KernelConfig{}.winograd_lanes_min_channels;
  int64_t wino_channels = KernelConfig{}.winograd_min_channels, wino_lanes_tiles = KernelConfig{}.winograd_lanes_min_tiles;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
    else if (!std::strcmp(argv[i], "--depth") && i + 1 < argc) depth = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--exact")) exact = true;
    else if (!std::strcmp(argv[i], "--winograd-min-channels") && i + 1 < argc)
      wino_channels = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--winograd-lanes-min-channels") && i + 1 < argc)
      wino_lanes_channels = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--winograd-lanes-min-tiles") && i + 1 < argc)
      wino_lanes_tiles = std::atoi(argv[++i]);
  }
  set_winograd_limits(wino_channels, KernelConfig{}.winograd_min_tiles, wino_lanes_tiles, wino_lanes_channels);
  const double peak = anvil::bench::fma_peak_best(active_isa(), threads);
  std::printf("ISA %s, %d thread(s), measured FMA peak %.1f GFLOP/s; chains of %d convs, median of %d\n",
              isa_name(active_isa()), threads, peak, depth, reps);
  std::printf("%-22s %-28s %9s %9s %7s %9s\n", "layer", "kernel", "ms/conv", "GFLOP/s", "%peak", "best GF/s");
  std::mt19937 rng(7);
  for (const Layer& l : kLayers) {
    if (!filter.empty() && std::string(l.name).find(filter) == std::string::npos) continue;
    auto ex = Executor::create(chain(l, depth, rng), threads, std::nullopt, exact);
    if (!ex) {
      std::fprintf(stderr, "%s: %s\n", l.name, ex.status().message().c_str());
      return 1;
    }
    Tensor x = random({1, l.C, l.HW, l.HW}, rng, 1.f);
    Tensor y = anvil::bench::chain_output(l);
    // Warm up for a quarter second, not a run count: a fresh executor's
    // first runs of a layer (5-10 chains, 20-60 ms) ran up to 1.5x slower
    // than the rest (1024->256@14: 0.73 then 0.48 ms a conv), which put the
    // median of 15 in the slow phase.
    const auto w0 = std::chrono::steady_clock::now();
    for (int w = 0; w < 2 || std::chrono::steady_clock::now() - w0 < std::chrono::milliseconds(250); ++w)
      (void)(*ex)->run_into({x}, {y});
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      (void)(*ex)->run_into({x}, {y});
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / depth);
    }
    std::sort(t.begin(), t.end());
    const double s = t[t.size() / 2];
    const double flops = anvil::bench::layer_flops(l);
    std::string kern = (*ex)->step_kernel_name(0);
    kern = kern.substr(0, kern.find(':'));
    // The best run is the least disturbed by other tenants of the host.
    std::printf("%-22s %-28s %9.3f %9.1f %6.1f%% %9.1f\n", l.name, kern.c_str(), s * 1e3, flops / s / 1e9,
                100 * flops / s / 1e9 / peak, flops / t.front() / 1e9);
  }
}

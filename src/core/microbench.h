// Small in-process measurements of what this CPU can do: FP32 peak per ISA,
// streaming memory bandwidth and the cost of subnormal numbers. The profiler
// divides by these to say how close a layer is to the machine, and `anvil
// sysinfo` and bench/bench_denormals.cc print them. Each takes a few tens of
// milliseconds; nothing here runs unless asked.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cpu.h"

namespace anvil {

enum class FpOp { kFma, kMul };

// What the operands and results of the timed operation are. FMA computes
// a*b+c and MUL a*b; the values are chosen so that exactly the named side
// is subnormal (FTZ/DAZ off).
enum class FpData {
  kNormal,           // 1.5 * 1.25 + 0.5
  kSubnormalInput,   // 1e-39 * 1 + 1 (mul: 1e-39 * 1e10): result normal
  kSubnormalOutput,  // 1e-20 * 1e-20 (+ 0): normal operands, result 1e-40
  kSubnormalBoth,    // 1e-39 * 1 (+ 0)
};
const char* fp_data_name(FpData d);

// Runs `iters` iterations of a loop of 12 independent vector operations at
// `isa` (scalar: SSE2 multiply then add, the baseline the reference kernels
// are built for). Returns the number of floating-point operations done
// (FMA = 2 per lane). The caller sets MXCSR; nothing here touches it.
int64_t fp_loop(Isa isa, FpOp op, FpData data, int64_t iters);
// Vector lanes of `isa` (16, 8, 4).
int isa_lanes(Isa isa);

// GFLOP/s of fp_loop on `threads` threads at once (each its own loop,
// wall-clock time), run for about `seconds`. `ftz_daz` sets both bits on
// every thread for the measurement (restored afterwards).
double measure_fp_gflops(Isa isa, FpOp op, FpData data, bool ftz_daz, int threads = 1, double seconds = 0.03);

// FP32 FMA peak (normal operands, FTZ/DAZ on) at `isa` with `threads`
// threads. Measured once per (isa, threads) per process and cached.
double peak_gflops(Isa isa, int threads);

struct MemoryBandwidth {
  double copy_gbs = 0;   // b[i] = a[i]: bytes read + written per second
  double triad_gbs = 0;  // a[i] = b[i] + s * c[i]
  size_t array_bytes = 0;
  int threads = 1;
};
// Streaming bandwidth over arrays of `array_bytes` each (choose well above
// the last-level cache), best of a few passes.
MemoryBandwidth measure_memory_bandwidth(size_t array_bytes, int threads = 1);

// One CPU of the process's affinity mask measured alone, by a thread pinned
// to it: its FMA peak at `isa` and its read bandwidth over an array of
// `read_bytes` (default 64 MB: from memory). On a VM a vCPU can run much
// slower than its sibling for a while (another tenant on the same physical
// core, or its cache); a multi-threaded run then waits for that CPU at every
// join. `passes` rounds over the CPUs in turn; each value is its median.
// Each thread reads an array it allocated and touched itself (memory near
// its CPU, as a kernel's own buffers would be).
struct CpuSpeed {
  int cpu = -1;
  bool pinned = false;  // the thread ran only on `cpu` (pinning can be refused)
  double fma_gflops = 0;
  double read_gbs = 0;
};
std::vector<CpuSpeed> measure_per_cpu(Isa isa, size_t read_bytes = size_t{64} << 20, int passes = 3);
// The slowest CPU's share of the fastest, the lower of the FMA and read
// ratios; 1 with fewer than two CPUs or nothing measured.
double slowest_cpu_fraction(const std::vector<CpuSpeed>& per);

struct CacheInfo {
  int level = 0;
  std::string type;  // Data, Instruction, Unified
  size_t size_bytes = 0;
  int shared_by = 1;  // logical CPUs sharing it
  int line_bytes = 0;
};
// From /sys/devices/system/cpu/cpu0/cache (empty when not available).
std::vector<CacheInfo> cpu_caches();

}  // namespace anvil

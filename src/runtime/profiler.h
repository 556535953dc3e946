// Per-node profile of a compiled model: where every microsecond of a run
// goes and how close each layer is to what this CPU can do (the measured
// FMA peak of core/microbench.h). `anvil profile` prints it; the library
// keeps no timing state of its own, so an unprofiled run costs nothing.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "anvil/anvil.h"
#include "anvil/status.h"
#include "anvil/tensor.h"

namespace anvil {

class Executor;

struct ProfileOptions {
  int iters = 20;
  int warmup = 3;
  // % of peak needs the FMA peak, a ~60 ms measurement done once per process.
  bool measure_peak = true;
};

struct NodeProfile {
  size_t step = 0;  // execution order
  std::string name, op, kernel;
  std::string isa;                  // of the kernel: avx512, avx2 or scalar
  std::vector<std::string> origin;  // original model nodes it stands for
  std::vector<std::string> input_shapes, output_shapes;  // "f32[1x64x56x56]"
  std::vector<double> seconds;  // per timed iteration
  std::vector<double> start;    // per iteration, seconds since the run began
  double mean_s = 0, median_s = 0;
  int64_t flops = -1;  // -1: unknown (node_flops)
  int64_t bytes = 0;   // input + output tensors, weights included
  // With more than one thread: per timed iteration, how many cores the node
  // kept busy on average (the caller alone outside its parallel regions,
  // every thread inside them, waiting at a join not counted), and the time
  // the caller ran alone; their medians. 1 and 0 at one thread.
  std::vector<double> busy_cores, serial_seconds;
  double busy_cores_median = 1, serial_median_s = 0;

  double gflops_per_s() const { return flops > 0 && median_s > 0 ? static_cast<double>(flops) / median_s * 1e-9 : 0; }
  // FLOPs per byte moved.
  double intensity() const { return flops > 0 && bytes > 0 ? static_cast<double>(flops) / static_cast<double>(bytes) : 0; }
};

struct OpSummary {
  std::string op;
  int nodes = 0;
  double mean_s = 0;  // sum over the op's nodes of their mean time
  int64_t flops = 0;
  int64_t bytes = 0;
};

struct Profile {
  std::string model;
  int opt_level = 3;
  int threads = 1;
  std::string isa;  // active ISA of the session
  bool flush_denormals = true;
  int iters = 0, warmup = 0;
  double peak_gflops = 0;  // measured FMA peak at `isa` and `threads`; 0: not measured

  std::vector<NodeProfile> nodes;  // execution order
  // Per timed iteration: the whole Executor::run, from the call to its return.
  std::vector<double> run_seconds;
  // Per iteration, the parts of run_seconds outside any kernel: before the
  // first kernel (input checks, MXCSR), between kernels (dispatch: building
  // each kernel's arguments, reading the clock) and after the last one
  // (copying outputs out of the reused activation slots).
  std::vector<double> head_seconds, between_seconds, tail_seconds;
  // Steady-clock time each iteration began (seconds), for the trace.
  std::vector<double> run_start;

  double run_mean_s() const;
  double run_median_s() const;
  double node_sum_mean_s() const;  // sum of the nodes' mean times
  // Busy cores over all nodes, weighted by their median times.
  double busy_cores() const;
  // Node indices sorted by mean time, slowest first.
  std::vector<size_t> by_time() const;
  // One row per op (after fusion), slowest first.
  std::vector<OpSummary> op_summary() const;
};

// Runs `warmup` untimed and `iters` timed runs of `ex` on `inputs` (graph
// input order) with per-node timing on.
Result<Profile> profile_executor(Executor& ex, const std::vector<Tensor>& inputs, const ProfileOptions& options);
// Same for a compiled session; inputs by name (all must be given).
Result<Profile> profile_session(Session& session, const std::map<std::string, Tensor>& inputs,
                                const ProfileOptions& options);
// Compiles `model` with `compile` and profiles the session; `report`
// (optional) receives its optimization_report().
Result<Profile> profile_model(const Model& model, const CompileOptions& compile,
                              const std::map<std::string, Tensor>& inputs, const ProfileOptions& options,
                              std::string* report = nullptr);

// Terminal tables: per node (slowest first, `top` rows, 0 = all), per op,
// totals and where the time outside the kernels went.
std::string profile_to_text(const Profile& p, int top = 0);
// One row per node in execution order, with a header row.
std::string profile_to_csv(const Profile& p);
// Everything, as one JSON object.
std::string profile_to_json(const Profile& p);
// Chrome trace event format (chrome://tracing, Perfetto): one "X" complete
// event per node per iteration (cat "node", args: op, kernel, shapes,
// FLOPs) inside one "X" event per run (cat "run"), on the lane of the
// thread that ran the executor.
std::string profile_to_chrome_trace(const Profile& p);

}  // namespace anvil

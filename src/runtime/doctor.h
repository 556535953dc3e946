// `anvil doctor`: runs a model under a few configurations and says what is
// wrong with how it runs here, each finding with the measurements behind it
// and a fix. Checks:
//   subnormal-weights      subnormal weights in the file and after folding,
//                          and whether this CPU penalises them
//   subnormal-activations  subnormal values in every intermediate tensor of
//                          one -O0 run with denormals kept
//   pass-timing            an optimizer pass that makes the model slower
//                          (each pass alone vs -O0, also with denormals kept,
//                          and the whole pipeline)
//   roofline               layers far below what the CPU can do at their
//                          arithmetic intensity, with the likely reason
//   threads                anvil's threads plus OpenMP/MKL/OpenBLAS threads
//                          vs the CPUs this process may use
//   first-run              compile time and first run vs steady state
#pragma once
#include <map>
#include <string>
#include <vector>

#include "anvil/anvil.h"

namespace anvil {

enum class Severity { kOk, kInfo, kProblem };
const char* severity_name(Severity s);  // "ok", "info", "PROBLEM"

struct Finding {
  std::string check;  // one of the names above
  Severity severity = Severity::kOk;
  std::string summary;
  std::vector<std::string> evidence;
  std::string fix;  // empty when there is nothing to do
};

struct DoctorOptions {
  // The configuration the user runs: opt level, passes, denormals, threads.
  CompileOptions base;
  // Timed runs per configuration, fewer when one run is slow (time_budget_s
  // per configuration, at least one timed run).
  int iters = 5;
  double time_budget_s = 2.0;
  // Per-pass A/B timing: compiles and times the model once per pass (twice
  // per constant-writing pass when folding creates subnormals).
  bool pass_timing = true;
  // Microbenchmarks (FMA peak, bandwidth, subnormal penalty, ~0.5 s); off:
  // no roofline check, the penalty is assumed.
  bool measure = true;
  // A configuration counts as slower when its best run exceeds the other's
  // by this fraction and by min_delta_s (timer and machine noise).
  double slower_fraction = 0.15;
  double min_delta_s = 50e-6;
  // A layer is "far below its roofline" under this fraction of it, and
  // reported only when it takes at least min_layer_share of the run.
  double roofline_fraction = 0.10;
  double min_layer_share = 0.03;
  // OMP_NUM_THREADS and friends, by name; unset: read the environment.
  std::map<std::string, std::string> env;
  bool use_process_env = true;
};

struct DoctorReport {
  std::string model;
  std::string config;  // "-O3, 2 threads, denormals flush, ISA avx512"
  std::vector<Finding> findings;
  int problems() const;
  std::string to_text() const;
  std::string to_json() const;
};

// `inputs` by name, for every model input.
Result<DoctorReport> run_doctor(const Model& model, const std::map<std::string, Tensor>& inputs,
                                const DoctorOptions& options);

// The thread check alone (no model needed): `anvil_threads` workers on
// `usable_cpus` CPUs (<= 0: this process's affinity mask).
Finding check_threads(int anvil_threads, const DoctorOptions& options, int usable_cpus = 0);

// Subnormal f32 values (bit pattern: zero exponent, nonzero mantissa, so
// the caller's FTZ/DAZ state cannot hide any).
int64_t count_subnormals(const Tensor& t);

}  // namespace anvil

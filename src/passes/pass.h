// Graph optimization passes and the pass manager.
//
// Levels: -O0 runs nothing; -O1 cleans up (identity elimination, dead code,
// constant folding); -O2 adds BatchNorm folding and scale-shift fusion;
// -O3 (default) adds epilogue fusion (residual add, activations).
// After any pass that writes constants, subnormal f32 values are flushed to
// zero (subnormals make Intel cores ~100x slower) and counted in the report.
#pragma once
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "ir/graph.h"

namespace anvil {

struct PassStats {
  int nodes_removed = 0;
  int nodes_fused = 0;          // nodes absorbed into another node
  int constants_rewritten = 0;  // initializers created or rewritten
  int64_t values_flushed = 0;   // subnormals set to zero
  int tensors_flushed = 0;
  std::vector<std::string> details;  // one line per notable action
  bool changed() const { return nodes_removed || nodes_fused || constants_rewritten || values_flushed; }
};

struct Pass {
  std::string name;
  int level;  // lowest -O level that runs it
  bool writes_constants;
  std::string description;
  std::function<Status(Graph&, PassStats&)> run;
};

// All passes in pipeline order.
const std::vector<Pass>& all_passes();
const Pass* find_pass(const std::string& name);

struct PassOptions {
  int opt_level = 3;
  std::set<std::string> disabled;  // never run
  std::set<std::string> enabled;   // run even if above opt_level
  bool flush_subnormals = true;
  // Called after each pass that ran (e.g. --dump-after).
  std::function<void(const std::string& pass, const Graph& g)> after_pass;
};

struct PassRecord {
  std::string name;
  PassStats stats;
  double ms = 0;
};

struct PassReport {
  std::vector<PassRecord> passes;
  int nodes_before = 0, nodes_after = 0;
  int64_t subnormals_flushed = 0;
  int tensors_flushed = 0;
  // BatchNormalization nodes still in the graph: each costs a pass over its
  // tensor, so the report says how many no exact rewrite could remove.
  int bn_left = 0;
  std::string to_text() const;
};

// Runs the pipeline on `g` (input shapes must be bound). The graph is
// re-sorted, verified and shape-inferred after every pass; a failure names
// the pass that broke it.
Result<PassReport> run_passes(Graph& g, const PassOptions& options);

// Validates pass names given by a user (--disable-pass/--enable-pass).
Status check_pass_names(const std::set<std::string>& names);

// Flushes |x| < FLT_MIN (nonzero) in every f32 initializer; counts per tensor.
void flush_subnormal_constants(Graph& g, PassStats& stats);

}  // namespace anvil

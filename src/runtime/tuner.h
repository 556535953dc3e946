// Per-layer algorithm choice by measurement (CompileOptions::tune, CLI
// --tune): for a convolution that several kernels accept (direct, 1x1
// GEMM, indirect, Winograd F(2x2) / F(4x4)...), each candidate runs on the
// node's real shapes and weights with random activations, on the
// executor's own thread pool, and the fastest wins. Choices are cached in a
// JSON file keyed by the node's op, shapes and attributes, the ISA, the
// thread count and the CPU model, so a shape is measured once per host:
//   $ANVIL_TUNE_CACHE, else $XDG_CACHE_HOME/anvil/tune.json, else
//   ~/.cache/anvil/tune.json.
// Off (the default): the fixed order of kernel_factories(), the first that
// accepts wins (its limits are measured heuristics, docs/kernels.md).
#pragma once
#include <memory>
#include <string>

#include "anvil/status.h"
#include "runtime/kernel_registry.h"

namespace anvil {

enum class TuneMode { kOff, kFast, kFull };

// "off", "fast" (best of 3 runs per candidate), "full" (best of 15 after 3
// warm-ups); anything else is an error listing these.
Result<TuneMode> parse_tune_mode(const std::string& s);
const char* tune_mode_name(TuneMode m);
std::string tune_cache_path();

// Whether tuning applies to this node (several kernels may accept it).
bool tunable(const Node& n);

// The kernel for node n: the cached choice for its key, else every factory
// that accepts it measured (log: the timings; progress on stderr when it is
// a terminal). Falls back to select_kernel when nothing can be measured.
// `chosen` receives the factory name ("" for the reference).
std::unique_ptr<OpKernel> tune_kernel(const Graph& g, const Node& n, const KernelConfig& cfg, TuneMode mode,
                                      int threads, std::string* log, std::string* chosen);

// Progress of a tuning session: the executor calls begin() with the number
// of tunable nodes and end() when done (prints a summary line on a tty).
void tune_progress_begin(size_t nodes);
void tune_progress_end();

}  // namespace anvil

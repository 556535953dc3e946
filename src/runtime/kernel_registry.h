// Optimized implementations of ops, tried in order before the reference.
// Like oneDNN's implementation lists: a factory either accepts the node
// (given its inferred shapes and constant weights) and returns a prepared
// kernel that owns its packed weights, or declines with a reason that
// ANVIL_VERBOSE=dispatch prints.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "core/cpu.h"
#include "ir/graph.h"
#include "ir/op_registry.h"

namespace anvil {

class ThreadPool;

// What a kernel may use: the ISA level and the threads.
struct KernelConfig {
  Isa isa = Isa::kScalar;
  ThreadPool* pool = nullptr;  // null: single-threaded
  // Winograd and other algorithms that reassociate the sum are allowed;
  // false (CompileOptions::exact) keeps every conv a direct summation.
  bool winograd = true;
  // Winograd only for layers at least this wide, with this many 2x2 tiles
  // (see impl_winograd.cc for the measurements behind the defaults).
  int64_t winograd_min_channels = 128, winograd_min_tiles = 36;
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual Status run(KernelContext& k) = 0;
  // e.g. "conv2d_im2col_gemm:f32_gemm_ukernel_6x64__avx512"
  virtual std::string name() const = 0;
};

struct KernelFactory {
  std::string name;
  std::string op;
  // Returns the prepared kernel, or an error (kUnsupported) saying why not.
  std::function<Result<std::unique_ptr<OpKernel>>(const Graph& g, const Node& n, const KernelConfig& cfg)> create;
};

const std::vector<KernelFactory>& kernel_factories();

// Tests widen the Winograd heuristic (KernelConfig::winograd_min_*) to reach
// small and odd shapes; executors created afterwards use these values.
void set_winograd_limits(int64_t min_channels, int64_t min_tiles);
void reset_winograd_limits();
KernelConfig default_kernel_config();

// Picks the first factory that accepts `n`, else the reference kernel.
// `log` (if non-null) receives one line per factory tried.
std::unique_ptr<OpKernel> select_kernel(const Graph& g, const Node& n, const KernelConfig& cfg, std::string* log);

// Environment switch ANVIL_VERBOSE contains "dispatch".
bool verbose_dispatch();

}  // namespace anvil

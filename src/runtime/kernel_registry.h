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
  // winograd_min_tiles counts 2x2 tiles, for conv2d_winograd_f2x3.
  int64_t winograd_min_channels = 128, winograd_min_tiles = 36;
  // At AVX-512, F(4x4, 3x3) when the layer has this many 4x4 tiles, else
  // F(2x2, 3x3) with 16 tiles as vector lanes when it has this many 2x2
  // tiles, both with at least winograd_lanes_min_channels (3x3 64@56:
  // F(4x4) 1.5 vs 2.6 ms direct, bench_conv_layers).
  int64_t winograd_lanes_min_tiles = 16, winograd_lanes_min_channels = 64;
  // Stride-2 convs with output rows of 14 pixels or more take the
  // pixels-broadcast kernel (impl_conv.cc, plan_bcast); off: im2col panels
  // from phase planes, as before it (the tests run both).
  bool conv_bcast = true;
  // ... and 1x1 stride-1 convs with a multiple of 14 output pixels, this
  // many or more (7x7 maps keep the 8x49 tile), this many input channels
  // or more, and output channels filling 32-wide panels to 80% or more.
  int64_t conv_bcast_min_pixels = 196, conv_bcast_min_channels = 128;
  // Packed weights from a compiled artifact (.anvil) or from the executor
  // that was made first: a kernel adopts them instead of packing again when
  // their count and sizes are the ones it would make (adopt_prepacked).
  const std::vector<Tensor>* prepacked = nullptr;
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual Status run(KernelContext& k) = 0;
  // e.g. "conv2d_im2col_gemm:f32_gemm_ukernel_6x64__avx512"
  virtual std::string name() const = 0;
  // The constants the kernel made at init (weights in its own layout), read
  // only while running: executors of one session share them, and
  // `anvil compile` saves them.
  virtual std::vector<Tensor> packed() const { return {}; }
  // An input whose memory the output may take over when this node is its
  // last reader (the memory planner decides), or -1. Only for kernels that
  // read each element of that input once, in the pass that writes the same
  // output element and before writing it: a conv's residual added in the
  // register epilogue of a single pass over the reduction. The output then
  // overwrites lines that were just read, instead of missing on fresh
  // ones (ResNet's expanding 1x1s write 3.2 MB at 56x56).
  virtual int in_place_input() const { return -1; }
};

// Takes cfg.prepacked into `out` when it holds exactly numels.size() f32
// tensors of those element counts; false (and `out` untouched) otherwise,
// and the kernel packs its own.
bool adopt_prepacked(const KernelConfig& cfg, const std::vector<int64_t>& numels, std::vector<Tensor>& out);

struct KernelFactory {
  std::string name;
  std::string op;
  // Returns the prepared kernel, or an error (kUnsupported) saying why not.
  std::function<Result<std::unique_ptr<OpKernel>>(const Graph& g, const Node& n, const KernelConfig& cfg)> create;
};

const std::vector<KernelFactory>& kernel_factories();

// Tests widen the Winograd heuristic (KernelConfig::winograd_min_*) to reach
// small and odd shapes; executors created afterwards use these values.
void set_winograd_limits(int64_t min_channels, int64_t min_tiles,
                         int64_t lanes_min_tiles = KernelConfig{}.winograd_lanes_min_tiles,
                         int64_t lanes_min_channels = KernelConfig{}.winograd_lanes_min_channels);
void reset_winograd_limits();
// Tests shrink the strips of FusedConvDw's kernel (runtime/impl_conv_pw_dw.cc:
// the per-thread buffer of one strip's pointwise output, ~160 KB) to reach
// strip edges on small images; 0 restores the default.
void set_pw_dw_strip_bytes(int64_t bytes);
KernelConfig default_kernel_config();

// A kernel choice made earlier (by `anvil compile`, or by a session's first
// executor): the factory that accepted the node, and its packed constants.
struct KernelChoice {
  std::string factory;  // KernelFactory::name; "" for the reference
  std::vector<Tensor> packed;
  // The kernel's name() when it was made, or "" (a compiled artifact's
  // choices, made for these very shapes). When set, a kernel that the
  // factory makes under another name (another batch size may pick another
  // tile or orientation, whose packing can have the same size) does not
  // keep `packed`: it is made again and packs its own.
  std::string kernel;
};

// Picks the first factory that accepts `n`, else the reference kernel.
// `log` (if non-null) receives one line per factory tried. With `choice`,
// that factory is tried first, given its packed constants; if it declines
// (e.g. the session caps the ISA lower) selection goes on as usual.
// `chosen` (if non-null) receives the factory that was picked.
std::unique_ptr<OpKernel> select_kernel(const Graph& g, const Node& n, const KernelConfig& cfg, std::string* log,
                                        const KernelChoice* choice = nullptr, std::string* chosen = nullptr);

// Environment switch ANVIL_VERBOSE contains "dispatch".
bool verbose_dispatch();

}  // namespace anvil

// The memory a compiled model needs, checked against a limit before any
// activation or packed weight is allocated: a model bound to a huge input
// shape (or a hostile file) is refused with the numbers instead of being
// killed by the kernel's OOM killer halfway through compile or run.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "anvil/status.h"
#include "ir/graph.h"

namespace anvil {

struct MemoryEstimate {
  int64_t weights = 0;           // constant tensors (before packing)
  int64_t inputs = 0;            // graph inputs, which the caller holds
  int64_t peak_activations = 0;  // most computed bytes alive at once, node order
  std::string peak_after;        // the node whose outputs make that peak
  int64_t largest = 0;           // the largest single computed tensor
  std::string largest_desc;      // "'name' f32[1,64,112,112]"
  int64_t total() const { return weights + inputs + peak_activations; }
};

// Liveness over the node order: a lower bound of what the executor's plan
// holds (its best-fit buffers can only round up). Needs inferred shapes.
MemoryEstimate estimate_memory(const Graph& g);

// The limit compile() applies for CompileOptions::memory_limit `option`:
// > 0 bytes as given; 0: ANVIL_MAX_MEMORY if set (a size such as "8G"),
// else the machine's physical memory; < 0: none (-1). `source` says which,
// for messages. A malformed ANVIL_MAX_MEMORY is an error, not ignored.
Result<int64_t> resolve_memory_limit(int64_t option, std::string* source);

// "8G", "512MiB", "1.5g", "1048576": bytes, or nullopt for anything else.
std::optional<int64_t> parse_byte_size(std::string_view text);
// 1536 -> "1.5 KiB".
std::string format_bytes(int64_t bytes);

// kOutOfRange naming the estimate's parts when its total exceeds `limit`
// (limit < 0: no check).
Status check_memory_limit(const Graph& g, int64_t limit, const std::string& limit_source);

}  // namespace anvil

// Compiled artifacts (.anvil): an optimized graph with the kernels chosen for
// a host and their packed weights, loaded by mmap without importing or
// optimizing again. The format is written down in docs/artifact.md.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "anvil/anvil.h"
#include "core/cpu.h"
#include "ir/graph.h"
#include "runtime/kernel_registry.h"

namespace anvil {

// 2: the stride-2 broadcast tiles' weights (conv2d_bcast_s2) are packed with
// the reduction rows of window column 0 last. A version-1 file's panels
// would be read in the wrong order, so it is refused.
inline constexpr uint32_t kArtifactVersion = 2;
inline constexpr size_t kArtifactHeaderBytes = 128;

// What a compiled artifact adds to its graph.
struct Precompiled {
  std::vector<KernelChoice> choices;  // one per node of the graph
  Isa isa = Isa::kScalar;             // the kernels' ISA (packed layouts depend on it)
  std::string report;                 // the optimizer's report at compile time
  std::string anvil_version;          // of the anvil that wrote it
  // The GEMM blocking the packed weights were laid out for (packed_layout());
  // when this anvil's differs they are packed again from the raw weights.
  std::string packed_layout;
  int opt_level = 3;
  bool exact = false, flush_denormals = true;
  std::string path;  // the file it was loaded from
  uint64_t file_bytes = 0;
  double load_seconds = 0;  // open, map, verify and rebuild the graph
};

struct LoadedArtifact {
  Graph graph;
  Precompiled pre;
};

// Writes `g` (optimized, shapes inferred) with `pre`'s kernel choices. The
// file is written beside `path` and renamed over it, so a failed write never
// leaves a partial artifact.
Status write_artifact(const std::string& path, const Graph& g, const Precompiled& pre);

// Checks everything before trusting it: magic, version, header and payload
// checksums, sizes and offsets against the file, every tensor's extent, the
// graph's structure, and that this CPU runs the file's ISA. Tensors point
// into the mapping, which lives as long as any of them.
Result<LoadedArtifact> load_artifact(const std::string& path);
// The same from bytes in memory (copied into aligned storage); for tests
// and the fuzzer. `name` stands for the path in messages.
Result<LoadedArtifact> load_artifact_bytes(const void* data, size_t size, const std::string& name = "<memory>");

// "f32_gemm_ukernel_6x16__avx2 mr=6 nr=16 kc=256"
std::string packed_layout(Isa isa);

// The first bytes are an artifact's magic.
bool is_artifact_file(const std::string& path);

}  // namespace anvil

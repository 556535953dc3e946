#pragma once
#include <map>
#include <string>

#include "ir/graph.h"

namespace anvil {

struct GraphStats {
  std::map<std::string, int> op_histogram;
  int64_t parameters = 0;
  int64_t flops = -1;  // -1 when shapes are not all known
};

// Requires inferred shapes for FLOPs (otherwise flops = -1).
GraphStats graph_stats(const Graph& g);
// FLOPs of one node from its inferred shapes.
int64_t node_flops(const Graph& g, const Node& n);

}  // namespace anvil

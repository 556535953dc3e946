// Small graph-editing helpers shared by the passes.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace anvil::passes {

// users[v] = indices of nodes that read value v (one entry per read).
std::vector<std::vector<int32_t>> compute_users(const Graph& g);
bool is_graph_output(const Graph& g, ValueId v);
// Exactly one node reads v and v is not a graph output.
bool single_use(const Graph& g, const std::vector<std::vector<int32_t>>& users, ValueId v);
void replace_uses(Graph& g, ValueId from, ValueId to);
// A new initializer named after `base`.
ValueId add_constant(Graph& g, const std::string& base, Tensor t);
// Removes the nodes whose indices are flagged, keeping order.
void remove_nodes(Graph& g, const std::vector<bool>& dead);
// The constant value of a node input, or nullptr.
const Tensor* const_input(const Graph& g, const Node& n, size_t i);

}  // namespace anvil::passes

namespace anvil::passes {
// Turns Conv into FusedConv and Gemm into FusedGemm (own inputs padded to
// three) so post-ops can be appended; true if `n` is now a fused node.
bool make_fused(Node& n);
// Appends a per-channel constant input to a fused node.
void add_channel_input(Graph& g, Node& n, const std::string& suffix, const std::vector<double>& v);
}  // namespace anvil::passes

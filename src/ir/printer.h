// Human-readable graph dumps: text (one node per line) and Graphviz DOT.
#pragma once
#include <string>

#include "ir/graph.h"

namespace anvil {

std::string graph_to_text(const Graph& g);
std::string graph_to_dot(const Graph& g);

}  // namespace anvil

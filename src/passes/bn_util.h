// BatchNormalization as a per-channel affine map y = s*x + t, computed in
// double precision:  s = gamma / sqrt(var + eps),  t = beta - mean * s.
#pragma once
#include <vector>

#include "ir/graph.h"

namespace anvil::passes {

struct Affine {
  std::vector<double> s, t;
};

// False when the node's parameters are not constant f32 vectors of equal length.
bool bn_affine(const Graph& g, const Node& bn, Affine& out);

}  // namespace anvil::passes

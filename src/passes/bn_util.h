// Per-channel affine maps y = s*x + t (channels = axis 1), computed in
// double precision, and the algebra that folds them into a Conv or Gemm.
// Sources: BatchNormalization (s = gamma / sqrt(var + eps),
// t = beta - mean * s) and Mul/Add/Sub/Div by a per-channel constant.
#pragma once
#include <vector>

#include "ir/graph.h"
#include "passes/pass.h"

namespace anvil::passes {

struct Affine {
  std::vector<double> s, t;
  bool shift_is_zero() const {
    for (double v : t)
      if (v != 0) return false;
    return true;
  }
};

// False when the node's parameters are not constant f32 vectors of equal length.
bool bn_affine(const Graph& g, const Node& bn, Affine& out);

// Mul(x, c), Mul(c, x), Add(x, c), Add(c, x), Sub(x, c) or Div(x, c) where
// c is a constant f32 that broadcasts along axis 1 of x only ([C,1,1],
// [1,C,1,1], [C] for a 2-D x, or one value), x is a computed f32 tensor of
// rank >= 2 and the output has x's shape. Sets `x` to the data operand.
bool arith_channel_affine(const Graph& g, const Node& n, Affine& out, ValueId& x);

// Either of the above; `x` is the data operand.
bool channel_affine(const Graph& g, const Node& n, Affine& out, ValueId& x);

// Rewrites a plain Conv (weights [OC, ...], optional bias) or Gemm (B
// constant, C per-column or scalar) so that it computes s*y + t, writing new
// initializers (the old ones may be shared). False, with nothing changed,
// when the shapes or constness do not allow it.
bool fold_affine_into_conv(Graph& g, Node& conv, const Affine& a, PassStats& st);
bool fold_affine_into_gemm(Graph& g, Node& gemm, const Affine& a, PassStats& st);

}  // namespace anvil::passes

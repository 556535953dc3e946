#include "passes/bn_util.h"

#include <cmath>

#include "passes/pass_util.h"

namespace anvil::passes {

bool bn_affine(const Graph& g, const Node& bn, Affine& out) {
  if (bn.op != "BatchNormalization" || bn.inputs.size() < 5 || bn.outputs.size() != 1) return false;
  const Tensor* p[4];
  for (size_t i = 0; i < 4; ++i) {
    p[i] = const_input(g, bn, i + 1);
    if (!p[i] || p[i]->dtype() != DType::kF32 || p[i]->rank() != 1) return false;
  }
  const int64_t C = p[0]->numel();
  for (const Tensor* t : p)
    if (t->numel() != C) return false;
  const double eps = bn.attrs.f("epsilon", 1e-5f);
  out.s.resize(static_cast<size_t>(C));
  out.t.resize(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const double gamma = p[0]->data<float>()[c], beta = p[1]->data<float>()[c];
    const double mean = p[2]->data<float>()[c], var = p[3]->data<float>()[c];
    const double s = gamma / std::sqrt(var + eps);
    out.s[c] = s;
    out.t[c] = beta - mean * s;
  }
  return true;
}

}  // namespace anvil::passes

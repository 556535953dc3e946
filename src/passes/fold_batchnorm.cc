// Folds BatchNormalization into the Conv or Gemm that produces its input:
//   BN(W*x + b) = (s*W)*x + (s*(b - mean) + beta),   s = gamma/sqrt(var+eps)
// per output channel, computed in double and rounded once to f32. The
// producer's output must feed only the BN. Weights are written to new
// initializers (a shared weight would otherwise change for its other users).
#include "passes/bn_util.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

namespace {

bool fold_into_conv(Graph& g, Node& conv, const Affine& a, PassStats& st) {
  const Tensor* w = const_input(g, conv, 1);
  if (!w || w->dtype() != DType::kF32 || w->rank() < 3) return false;
  const int64_t OC = w->dim(0);
  if (static_cast<int64_t>(a.s.size()) != OC) return false;
  const Tensor* b = const_input(g, conv, 2);
  const bool has_bias_input = conv.inputs.size() > 2 && conv.inputs[2] != kNoValue;
  if (has_bias_input && (!b || b->dtype() != DType::kF32 || b->numel() != OC)) return false;
  Tensor nw(DType::kF32, w->shape());
  const int64_t per = w->numel() / OC;
  for (int64_t o = 0; o < OC; ++o)
    for (int64_t i = 0; i < per; ++i)
      nw.data<float>()[o * per + i] = static_cast<float>(static_cast<double>(w->data<float>()[o * per + i]) * a.s[o]);
  Tensor nb(DType::kF32, {OC});
  for (int64_t o = 0; o < OC; ++o) {
    const double bo = b ? b->data<float>()[o] : 0.0;
    nb.data<float>()[o] = static_cast<float>(bo * a.s[o] + a.t[o]);
  }
  conv.inputs[1] = add_constant(g, conv.name + ".weight_folded", std::move(nw));
  if (conv.inputs.size() < 3) conv.inputs.resize(3, kNoValue);
  conv.inputs[2] = add_constant(g, conv.name + ".bias_folded", std::move(nb));
  st.constants_rewritten += 2;
  return true;
}

bool fold_into_gemm(Graph& g, Node& gemm, const Affine& a, PassStats& st) {
  const Tensor* b = const_input(g, gemm, 1);
  if (!b || b->dtype() != DType::kF32 || b->rank() != 2) return false;
  const bool trans_b = gemm.attrs.i("transB", 0) != 0;
  const int64_t N = trans_b ? b->dim(0) : b->dim(1), K = trans_b ? b->dim(1) : b->dim(0);
  if (static_cast<int64_t>(a.s.size()) != N) return false;
  const Tensor* c = const_input(g, gemm, 2);
  const bool has_c = gemm.inputs.size() > 2 && gemm.inputs[2] != kNoValue;
  if (has_c && (!c || c->dtype() != DType::kF32 || !(c->numel() == N || c->numel() == 1) ||
                (c->rank() == 2 && c->dim(0) != 1)))
    return false;
  const double alpha = gemm.attrs.f("alpha", 1.f), beta = gemm.attrs.f("beta", 1.f);
  // y = alpha*A*B + beta*C, then s*y + t  =  A*(alpha*s*B) + (s*beta*C + t)
  Tensor nb(DType::kF32, b->shape());
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t idx = trans_b ? n * K + k : k * N + n;
      nb.data<float>()[idx] = static_cast<float>(alpha * a.s[n] * b->data<float>()[idx]);
    }
  Tensor nc(DType::kF32, {N});
  for (int64_t n = 0; n < N; ++n) {
    const double cv = c ? c->data<float>()[c->numel() == 1 ? 0 : n] : 0.0;
    nc.data<float>()[n] = static_cast<float>(a.s[n] * beta * cv + a.t[n]);
  }
  gemm.inputs[1] = add_constant(g, gemm.name + ".weight_folded", std::move(nb));
  if (gemm.inputs.size() < 3) gemm.inputs.resize(3, kNoValue);
  gemm.inputs[2] = add_constant(g, gemm.name + ".bias_folded", std::move(nc));
  gemm.attrs.set("alpha", 1.f);
  gemm.attrs.set("beta", 1.f);
  st.constants_rewritten += 2;
  return true;
}

}  // namespace

Status fold_batchnorm(Graph& g, PassStats& st) {
  auto users = compute_users(g);
  std::vector<bool> dead(g.nodes().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    Node& bn = g.nodes()[i];
    Affine a;
    if (!bn_affine(g, bn, a)) continue;
    const ValueId x = bn.inputs[0];
    const int32_t p = g.value(x).producer;
    if (p < 0 || !single_use(g, users, x)) continue;
    Node& prod = g.nodes()[static_cast<size_t>(p)];
    bool ok = false;
    if (prod.op == "Conv" && g.value(x).shape.rank() >= 3) ok = fold_into_conv(g, prod, a, st);
    else if (prod.op == "Gemm" && g.value(x).shape.rank() == 2) ok = fold_into_gemm(g, prod, a, st);
    if (!ok) continue;
    prod.outputs[0] = bn.outputs[0];
    g.value(bn.outputs[0]).producer = p;  // a following BN must see the conv
    prod.origin.insert(prod.origin.end(), bn.origin.begin(), bn.origin.end());
    dead[i] = true;
    ++st.nodes_fused;
  }
  if (st.nodes_fused) {
    remove_nodes(g, dead);
    st.details.push_back("folded " + std::to_string(st.nodes_fused) + " BatchNormalization into Conv/Gemm weights");
  }
  return Status::ok();
}

}  // namespace anvil::passes

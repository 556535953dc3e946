#include "passes/bn_util.h"

#include <algorithm>
#include <cmath>

#include "core/tensor_alloc.h"
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

bool arith_channel_affine(const Graph& g, const Node& n, Affine& out, ValueId& x) {
  if (n.inputs.size() != 2 || n.outputs.size() != 1) return false;
  const bool commutes = n.op == "Mul" || n.op == "Add";
  if (!commutes && n.op != "Sub" && n.op != "Div") return false;
  int ci = -1;
  for (int k = 0; k < 2; ++k) {
    const ValueId v = n.inputs[static_cast<size_t>(k)];
    if (v == kNoValue) return false;
    if (g.value(v).constant && ci < 0 && (commutes || k == 1)) ci = k;
  }
  if (ci < 0) return false;
  x = n.inputs[static_cast<size_t>(1 - ci)];
  const Value& xv = g.value(x);
  const Tensor& c = *g.value(n.inputs[static_cast<size_t>(ci)]).constant;
  // A constant x would be constant folding's business.
  if (xv.constant || xv.dtype != DType::kF32 || c.dtype() != DType::kF32) return false;
  const size_t xr = xv.shape.rank(), cr = c.rank();
  if (xr < 2 || cr > xr) return false;
  const int64_t C = xv.shape[1];
  if (C <= 0) return false;
  // Broadcasting aligns c's shape to the right of x's: every dimension but
  // the one landing on axis 1 must be 1, or c would mix other axes (or
  // enlarge the output).
  bool per_channel = true;
  for (size_t d = 0; d < cr; ++d) {
    const size_t axis = d + (xr - cr);
    if (c.dim(d) != 1 && !(axis == 1 && c.dim(d) == C)) per_channel = false;
  }
  if (!per_channel) return false;
  const std::vector<float> v = c.to_f32_vector();
  out.s.assign(static_cast<size_t>(C), 1.0);
  out.t.assign(static_cast<size_t>(C), 0.0);
  for (int64_t ch = 0; ch < C; ++ch) {
    const double cv = v[v.size() == 1 ? 0 : static_cast<size_t>(ch)];
    if (n.op == "Mul") out.s[ch] = cv;
    else if (n.op == "Add") out.t[ch] = cv;
    else if (n.op == "Sub") out.t[ch] = -cv;
    else if (cv == 0) return false;  // Div by zero: leave the inf/nan semantics to the op
    else out.s[ch] = 1.0 / cv;
  }
  return true;
}

bool channel_affine(const Graph& g, const Node& n, Affine& out, ValueId& x) {
  if (bn_affine(g, n, out)) {
    x = n.inputs[0];
    return !g.value(x).constant;
  }
  return arith_channel_affine(g, n, out, x);
}

bool fold_affine_into_conv(Graph& g, Node& conv, const Affine& a, PassStats& st) {
  const Tensor* w = const_input(g, conv, 1);
  if (!w || w->dtype() != DType::kF32 || w->rank() < 3) return false;
  const int64_t OC = w->dim(0);
  if (static_cast<int64_t>(a.s.size()) != OC) return false;
  const Tensor* b = const_input(g, conv, 2);
  const bool has_bias_input = conv.inputs.size() > 2 && conv.inputs[2] != kNoValue;
  if (has_bias_input && (!b || b->dtype() != DType::kF32 || b->numel() != OC)) return false;
  // Weights only this conv reads, held by the graph alone (a consumed
  // Model: std::move(model).compile), are scaled where they are: a copy was
  // 170 MB of fresh pages for ResNet-101, most of this pass's time.
  const ValueId wid = conv.inputs[1];
  bool in_place = storage_unshared(*w) && std::find(g.outputs.begin(), g.outputs.end(), wid) == g.outputs.end();
  for (const Node& n : g.nodes())
    for (ValueId in : n.inputs) in_place &= in != wid || &n == &conv;
  Tensor nw = in_place ? *w : tensor_for_overwrite(DType::kF32, w->shape());
  const int64_t per = w->numel() / OC;
  const float* src = w->data<float>();
  float* dst = nw.data<float>();
  for (int64_t o = 0; o < OC; ++o)
    for (int64_t i = 0; i < per; ++i)
      dst[o * per + i] = static_cast<float>(static_cast<double>(src[o * per + i]) * a.s[o]);
  if (in_place) {  // the new value below is the folded weights' only holder
    g.value(wid).constant.reset();
    g.value(wid).is_initializer = false;
  }
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

bool fold_affine_into_gemm(Graph& g, Node& gemm, const Affine& a, PassStats& st) {
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
  Tensor nb = tensor_for_overwrite(DType::kF32, b->shape());
  const float* src = b->data<float>();
  float* dst = nb.data<float>();
  // In memory order: with transB, k inner (LResNet100E-IR's 25088 x 512
  // classifier went column by column, a cache miss an element).
  for (int64_t r = 0; r < (trans_b ? N : K); ++r)
    for (int64_t q = 0; q < (trans_b ? K : N); ++q) {
      const int64_t n = trans_b ? r : q, idx = r * (trans_b ? K : N) + q;
      dst[idx] = static_cast<float>(alpha * a.s[n] * src[idx]);
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

}  // namespace anvil::passes

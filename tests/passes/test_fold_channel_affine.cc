// fold_channel_affine (and the Mul/Add side of fuse_scale_shift): per-channel
// constant Mul/Add/Sub/Div go into Conv/Gemm weights, into fused epilogues,
// or into a following conv where exact, and stay otherwise. Every case is
// checked against the unoptimized graph.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/graph.h"
#include "ir/op_registry.h"
#include "passes/pass.h"
#include "runtime/executor.h"

namespace anvil {
namespace {

Tensor rnd(Shape s, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::kF32, std::move(s));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

struct G {
  Graph g;
  std::mt19937 rng{11};
  int counter = 0;
  G() { register_all_ops(); }
  std::string nm(const std::string& p) { return p + std::to_string(counter++); }
  ValueId input(Shape s) {
    ValueId v = g.add_value("x", DType::kF32, std::move(s));
    g.inputs.push_back(v);
    return v;
  }
  ValueId node(const std::string& op, std::vector<ValueId> in, Attrs a = {}) {
    ValueId out = g.add_value(nm(op + "_out"));
    const std::string name = nm(op);
    g.add_node(Node{.name = name, .op = op, .inputs = std::move(in), .outputs = {out}, .attrs = std::move(a),
                    .origin = {name}});
    return out;
  }
  ValueId cst(Tensor t) { return g.add_initializer(nm("c"), std::move(t)); }
  ValueId conv(ValueId x, int64_t C, int64_t OC, int64_t k, int64_t pad, bool bias = true) {
    Attrs a;
    a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    std::vector<ValueId> in{x, cst(rnd({OC, C, k, k}, rng, -0.5f, 0.5f))};
    if (bias) in.push_back(cst(rnd({OC}, rng)));
    return node("Conv", in, a);
  }
  ValueId gemm(ValueId x, int64_t K, int64_t N) {
    Attrs a;
    a.set("transB", int64_t{1});
    return node("Gemm", {x, cst(rnd({N, K}, rng, -0.5f, 0.5f)), cst(rnd({N}, rng))}, a);
  }
  void output(ValueId v) { g.outputs.push_back(v); }
};

std::vector<Tensor> run(Graph g, const Tensor& x) {
  auto ex = Executor::create(std::move(g));
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  if (!ex) return {};
  std::vector<Tensor> out;
  Status s = (*ex)->run({x}, out);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return out;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& nd : g.nodes()) n += nd.op == op;
  return n;
}

std::vector<std::string> post_ops(const Node& n) {
  std::vector<std::string> v;
  EXPECT_TRUE(n.attrs.get("post_ops", v).is_ok());
  return v;
}

int fused_by(const PassReport& r, const std::string& pass) {
  for (const PassRecord& p : r.passes)
    if (p.name == pass) return p.stats.nodes_fused;
  return -1;
}

// Optimizes a copy, compares every output with the original's within 1e-5
// of its scale, returns the optimized graph and the report.
std::pair<Graph, PassReport> optimize(const Graph& g, PassOptions o = {}) {
  Graph opt = g;
  auto r = run_passes(opt, o);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  Graph ref = g;
  EXPECT_TRUE(infer_shapes(ref).is_ok());
  std::mt19937 rng(5);
  const Tensor x = rnd(ref.value(ref.inputs[0]).shape, rng);
  const std::vector<Tensor> want = run(g, x), got = run(opt, x);
  EXPECT_EQ(want.size(), got.size());
  for (size_t i = 0; i < std::min(want.size(), got.size()); ++i) {
    double m = 0, scale = 1e-6;
    for (int64_t k = 0; k < want[i].numel(); ++k) {
      m = std::max(m, std::fabs(double(want[i].data<float>()[k]) - got[i].data<float>()[k]));
      scale = std::max(scale, std::fabs(double(want[i].data<float>()[k])));
    }
    EXPECT_LT(m / scale, 1e-5) << "output " << i;
  }
  return {std::move(opt), r.is_ok() ? *r : PassReport{}};
}

TEST(PassesChannelAffine, MulAddAfterConvFoldIntoWeights) {
  // Both constant layouts, either operand order, Sub and Div too.
  G b;
  ValueId x = b.input({2, 3, 8, 8});
  ValueId c = b.conv(x, 3, 5, 3, 1);
  c = b.node("Mul", {c, b.cst(rnd({1, 5, 1, 1}, b.rng, 0.5f, 2.f))});
  c = b.node("Add", {b.cst(rnd({5, 1, 1}, b.rng)), c});
  c = b.node("Sub", {c, b.cst(rnd({5, 1, 1}, b.rng))});
  c = b.node("Div", {c, b.cst(rnd({1, 5, 1, 1}, b.rng, 0.5f, 2.f))});
  c = b.node("Mul", {c, b.cst(Tensor::scalar<float>(0.25f))});
  b.output(c);
  PassOptions o;
  o.opt_level = 2;
  auto [opt, r] = optimize(b.g, o);
  ASSERT_EQ(opt.nodes().size(), 1u);
  EXPECT_EQ(opt.nodes()[0].op, "Conv") << "weights absorb them: no epilogue needed";
  EXPECT_EQ(opt.nodes()[0].origin.size(), 6u);
  EXPECT_EQ(fused_by(r, "fold_channel_affine"), 5);
}

TEST(PassesChannelAffine, ConvBnMulFoldCompletely) {
  G b;
  ValueId x = b.input({1, 4, 6, 6});
  ValueId c = b.conv(x, 4, 6, 3, 1, false);
  Attrs a;
  a.set("epsilon", 1e-5f);
  c = b.node("BatchNormalization", {c, b.cst(rnd({6}, b.rng, 0.5f, 1.5f)), b.cst(rnd({6}, b.rng)),
                                    b.cst(rnd({6}, b.rng)), b.cst(rnd({6}, b.rng, 0.5f, 1.5f))},
             a);
  c = b.node("Relu", {b.node("Mul", {c, b.cst(rnd({6, 1, 1}, b.rng))})});
  b.output(c);
  auto [opt, r] = optimize(b.g);
  ASSERT_EQ(opt.nodes().size(), 1u);
  EXPECT_EQ(opt.nodes()[0].op, "FusedConv");
}

TEST(PassesChannelAffine, GemmColumnsScaleAndShift) {
  G b;
  ValueId x = b.input({3, 7});
  ValueId y = b.gemm(x, 7, 4);
  y = b.node("Mul", {y, b.cst(rnd({4}, b.rng))});
  y = b.node("Add", {y, b.cst(rnd({1, 4}, b.rng))});
  b.output(y);
  auto [opt, r] = optimize(b.g);
  ASSERT_EQ(opt.nodes().size(), 1u);
  EXPECT_EQ(opt.nodes()[0].op, "Gemm");
}

TEST(PassesChannelAffine, AfterAnActivationGoesIntoTheEpilogue) {
  G b;
  ValueId x = b.input({1, 3, 6, 6});
  ValueId c = b.node("Relu", {b.conv(x, 3, 4, 3, 1)});
  c = b.node("Add", {b.node("Mul", {c, b.cst(rnd({1, 4, 1, 1}, b.rng))}), b.cst(rnd({4, 1, 1}, b.rng))});
  b.output(c);
  auto [opt, r] = optimize(b.g);
  ASSERT_EQ(opt.nodes().size(), 1u);
  EXPECT_EQ(opt.nodes()[0].op, "FusedConv");
  EXPECT_EQ(post_ops(opt.nodes()[0]),
            (std::vector<std::string>{"relu", "scale_shift", "scale_shift"}));

  // fold_channel_affine itself appends to an existing fused producer: feed
  // it the fused graph with a Mul after it.
  G b2;
  b2.g = opt;
  const ValueId y = b2.g.outputs[0];
  b2.g.outputs.clear();
  b2.output(b2.node("Mul", {y, b2.cst(rnd({4, 1, 1}, b2.rng))}));
  PassOptions only;
  only.opt_level = 0;
  only.enabled = {"fold_channel_affine"};
  auto [opt2, r2] = optimize(b2.g, only);
  ASSERT_EQ(opt2.nodes().size(), 1u);
  EXPECT_EQ(fused_by(r2, "fold_channel_affine"), 1);
  EXPECT_EQ(post_ops(opt2.nodes()[0]).size(), 4u);
}

TEST(PassesChannelAffine, BeforeAConvOnlyWhereExact) {
  {
    // A pure scale commutes with zero padding: folds into the padded conv.
    G b;
    ValueId x = b.input({1, 3, 6, 6});
    b.output(b.conv(b.node("Mul", {x, b.cst(rnd({1, 3, 1, 1}, b.rng))}), 3, 4, 3, 1));
    auto [opt, r] = optimize(b.g);
    EXPECT_EQ(count_op(opt, "Mul"), 0);
    EXPECT_EQ(opt.nodes().size(), 1u);
  }
  {
    // A shift before a padded conv would land in the padding if folded into
    // the weights: it becomes the conv's input pre-op instead.
    G b;
    ValueId x = b.input({1, 3, 6, 6});
    b.output(b.conv(b.node("Add", {x, b.cst(rnd({1, 3, 1, 1}, b.rng))}), 3, 4, 3, 1));
    auto [opt, r] = optimize(b.g);
    EXPECT_EQ(count_op(opt, "Add"), 0);
    ASSERT_EQ(opt.nodes().size(), 1u);
    EXPECT_EQ(opt.nodes()[0].attrs.i("pre_scale_shift", 0), 1);
  }
  {
    // ... but folds into an unpadded one.
    G b;
    ValueId x = b.input({1, 3, 6, 6});
    b.output(b.conv(b.node("Sub", {x, b.cst(rnd({3, 1, 1}, b.rng))}), 3, 4, 3, 0));
    auto [opt, r] = optimize(b.g);
    EXPECT_EQ(count_op(opt, "Sub"), 0);
  }
}

TEST(PassesChannelAffine, NonChannelConstantsAndSharedValuesStay) {
  G b;
  ValueId x = b.input({1, 4, 5, 5});
  ValueId c1 = b.conv(x, 4, 5, 3, 1);
  // [5] on a 4-D tensor broadcasts along W, not channels.
  b.output(b.node("Mul", {c1, b.cst(rnd({5}, b.rng))}));
  ValueId c2 = b.conv(x, 4, 5, 3, 1);
  // Per-position constant.
  b.output(b.node("Add", {c2, b.cst(rnd({1, 1, 5, 5}, b.rng))}));
  ValueId c3 = b.conv(x, 4, 5, 3, 1);
  // c3 is also read by a Relu: folding would change what the Relu sees.
  b.output(b.node("Mul", {c3, b.cst(rnd({1, 5, 1, 1}, b.rng))}));
  b.output(b.node("Relu", {c3}));
  // A constant that would enlarge the output ([1,1,5,5] * [1,5,1,1]).
  ValueId c4 = b.node("Conv", {x, b.cst(rnd({1, 4, 1, 1}, b.rng))}, {});
  b.output(b.node("Mul", {c4, b.cst(rnd({1, 5, 1, 1}, b.rng))}));
  // Div by a zero channel keeps its inf semantics in the op.
  ValueId c5 = b.conv(x, 4, 2, 1, 0);
  Tensor z = rnd({1, 2, 1, 1}, b.rng, 1.f, 2.f);
  z.data<float>()[1] = 0.f;
  b.output(b.node("Div", {c5, b.cst(std::move(z))}));
  PassOptions o;
  o.opt_level = 2;
  Graph opt = b.g;
  auto r = run_passes(opt, o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(count_op(opt, "Mul"), 3);
  EXPECT_EQ(count_op(opt, "Add"), 1);
  EXPECT_EQ(count_op(opt, "Div"), 1);
  EXPECT_EQ(fused_by(*r, "fold_channel_affine"), 0);
}

TEST(PassesChannelAffine, RegisteredAtLevel2BeforeResidualFusion) {
  const Pass* p = find_pass("fold_channel_affine");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->level, 2);
  EXPECT_TRUE(p->writes_constants);
  int fa = -1, fr = -1, fb = -1, i = 0;
  for (const Pass& q : all_passes()) {
    if (q.name == "fold_channel_affine") fa = i;
    if (q.name == "fuse_residual") fr = i;
    if (q.name == "fold_batchnorm") fb = i;
    ++i;
  }
  EXPECT_LT(fb, fa);
  EXPECT_LT(fa, fr);
}

}  // namespace
}  // namespace anvil

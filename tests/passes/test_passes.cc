// The optimizer: each fusion's structure, numerical equality with the
// unoptimized graph (random CNNs and zoo models), the subnormal guard's
// effect on the data, and FTZ/DAZ during runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/denormals.h"
#include "core/thread_pool.h"

#include <atomic>
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "passes/pass.h"
#include "runtime/executor.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

Tensor rnd(Shape s, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::kF32, std::move(s));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// A small graph builder over the IR.
struct Builder {
  Graph g;
  std::mt19937 rng{7};
  int counter = 0;
  Builder() { register_all_ops(); }
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
  ValueId cst(Tensor t) { return g.add_initializer(nm("w"), std::move(t)); }
  ValueId conv(ValueId x, int64_t C, int64_t OC, int64_t k, int64_t pad, int64_t stride = 1, int64_t group = 1,
               bool bias = false) {
    Attrs a;
    a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("group", group);
    std::vector<ValueId> in{x, cst(rnd({OC, C / group, k, k}, rng, -0.5f, 0.5f))};
    if (bias) in.push_back(cst(rnd({OC}, rng)));
    return node("Conv", in, a);
  }
  ValueId bn(ValueId x, int64_t C, bool tiny_gammas = false) {
    Tensor gamma = rnd({C}, rng, 0.5f, 1.5f);
    if (tiny_gammas)
      for (int64_t c = 0; c < C; c += 3) gamma.data<float>()[c] = 3e-39f;  // subnormal, as in dead channels
    Attrs a;
    a.set("epsilon", 1e-5f);
    return node("BatchNormalization",
                {x, cst(gamma), cst(rnd({C}, rng, -0.2f, 0.2f)), cst(rnd({C}, rng, -0.2f, 0.2f)),
                 cst(rnd({C}, rng, 0.5f, 1.5f))},
                a);
  }
  void output(ValueId v) { g.outputs.push_back(v); }
};

std::vector<Tensor> run_graph(Graph g, const Tensor& x) {
  auto ex = Executor::create(std::move(g));
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  if (!ex) return {};
  std::vector<Tensor> out;
  Status s = (*ex)->run({x}, out);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return out;
}

double rel_diff(const Tensor& a, const Tensor& b) {
  double m = 0, scale = 1e-6;
  for (int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::fabs(double(a.data<float>()[i]) - b.data<float>()[i]));
    scale = std::max(scale, std::fabs(double(b.data<float>()[i])));
  }
  return m / scale;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& nd : g.nodes()) n += nd.op == op;
  return n;
}

// Optimizes a copy at `level`, checks outputs against -O0, returns the graph.
Graph optimize_and_compare(const Graph& g, const Tensor& x, int level = 3, double tol = 1e-5) {
  Graph opt = g;
  PassOptions o;
  o.opt_level = level;
  auto r = run_passes(opt, o);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  const std::vector<Tensor> want = run_graph(g, x), got = run_graph(opt, x);
  EXPECT_EQ(want.size(), got.size());
  for (size_t i = 0; i < std::min(want.size(), got.size()); ++i) EXPECT_LT(rel_diff(got[i], want[i]), tol) << "output " << i;
  return opt;
}

TEST(Passes, ConvBnReluBecomesOneFusedConv) {
  Builder b;
  ValueId x = b.input({1, 5, 9, 9});
  ValueId y = b.node("Relu", {b.bn(b.conv(x, 5, 7, 3, 1), 7)});
  b.output(y);
  Graph opt = optimize_and_compare(b.g, rnd({1, 5, 9, 9}, b.rng));
  ASSERT_EQ(opt.nodes().size(), 1u);
  EXPECT_EQ(opt.nodes()[0].op, "FusedConv");
  EXPECT_EQ(opt.nodes()[0].origin.size(), 3u) << "fused node maps back to conv, bn, relu";
}

TEST(Passes, ResidualAddAndActivationFuse) {
  Builder b;
  ValueId x = b.input({2, 8, 6, 6});
  ValueId c1 = b.node("Relu", {b.bn(b.conv(x, 8, 8, 3, 1), 8)});
  ValueId c2 = b.bn(b.conv(c1, 8, 8, 3, 1), 8);
  ValueId y = b.node("Relu", {b.node("Add", {c2, x})});
  b.output(y);
  Graph opt = optimize_and_compare(b.g, rnd({2, 8, 6, 6}, b.rng));
  EXPECT_EQ(count_op(opt, "FusedConv"), 2);
  EXPECT_EQ(count_op(opt, "Add"), 0);
  EXPECT_EQ(count_op(opt, "Relu"), 0);
}

// A 1x1 Conv + BN + ReLU6 feeding a 3x3 depthwise Conv + BN + ReLU6 (the
// MobileNetV2 expansion) becomes one FusedConvDw where the intermediate is
// 2 MB or more (64 channels of 96x96: 2.25 MB), and matches -O0; the same
// pair at 48x48 (0.56 MB) stays two FusedConvs; a pair whose 1x1 output is
// also a graph output is not fused.
TEST(Passes, PointwiseIntoDepthwiseFusesWhereTheIntermediateIsLarge) {
  for (int64_t size : {96, 48}) {
    for (int stride : {1, 2}) {
      Builder b;
      ValueId x = b.input({1, 8, size, size});
      Attrs clip;
      clip.set("min", 0.f);
      clip.set("max", 6.f);
      ValueId e = b.node("Clip", {b.bn(b.conv(x, 8, 64, 1, 0), 64)}, clip);
      ValueId d = b.node("Clip", {b.bn(b.conv(e, 64, 64, 3, 1, stride, 64), 64)}, clip);
      b.output(b.conv(d, 64, 16, 1, 0));
      Graph opt = optimize_and_compare(b.g, rnd({1, 8, size, size}, b.rng));
      const bool large = size == 96;
      EXPECT_EQ(count_op(opt, "FusedConvDw"), large ? 1 : 0) << size << " stride " << stride;
      EXPECT_EQ(count_op(opt, "FusedConv"), large ? 0 : 2) << size << " stride " << stride;
      EXPECT_EQ(count_op(opt, "Conv"), 1) << size << " stride " << stride;
      if (large) {
        for (const Node& n : opt.nodes())
          if (n.op == "FusedConvDw") EXPECT_EQ(n.origin.size(), 6u) << "conv, bn, clip twice";
      }
    }
  }
  Builder b;
  ValueId x = b.input({1, 8, 96, 96});
  ValueId e = b.node("Relu", {b.conv(x, 8, 64, 1, 0, 1, 1, true)});
  b.output(b.conv(e, 64, 64, 3, 1, 1, 64, true));
  b.output(e);
  Graph opt = optimize_and_compare(b.g, rnd({1, 8, 96, 96}, b.rng));
  EXPECT_EQ(count_op(opt, "FusedConvDw"), 0);
}

TEST(Passes, EveryActivationFusesExactly) {
  for (const std::string act : {"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Clip",
                                "PRelu", "SiLU"}) {
    Builder b;
    ValueId x = b.input({1, 4, 7, 7});
    ValueId c = b.conv(x, 4, 6, 3, 1, 1, 1, true);
    ValueId y;
    if (act == "Clip") {
      y = b.node("Clip", {c, b.cst(Tensor::scalar<float>(0.f)), b.cst(Tensor::scalar<float>(0.6f))});
    } else if (act == "PRelu") {
      y = b.node("PRelu", {c, b.cst(rnd({6, 1, 1}, b.rng, 0.f, 0.5f))});
    } else if (act == "SiLU") {
      y = b.node("Mul", {c, b.node("Sigmoid", {c})});
    } else {
      y = b.node(act, {c});
    }
    b.output(y);
    Graph opt = optimize_and_compare(b.g, rnd({1, 4, 7, 7}, b.rng));
    EXPECT_EQ(opt.nodes().size(), 1u) << act;
  }
}

TEST(Passes, BnBeforeUnpaddedConvFoldsButNotBeforePaddedConv) {
  {
    Builder b;
    ValueId x = b.input({1, 6, 5, 5});
    b.output(b.conv(b.bn(x, 6), 6, 4, 1, 0, 1, 1, true));
    Graph opt = optimize_and_compare(b.g, rnd({1, 6, 5, 5}, b.rng));
    EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
  }
  {
    // IR unit: BN then a padded conv. Folding into the weights would turn
    // the zero padding into the BN shift, so it becomes the conv's input
    // pre-op instead, which keeps the padding zero.
    Builder b;
    ValueId x = b.input({1, 6, 5, 5});
    b.output(b.conv(b.bn(x, 6), 6, 4, 3, 1));
    Graph opt = optimize_and_compare(b.g, rnd({1, 6, 5, 5}, b.rng));
    EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
    ASSERT_EQ(opt.nodes().size(), 1u);
    EXPECT_EQ(opt.nodes()[0].attrs.i("pre_scale_shift", 0), 1);
  }
  {
    // BN after a conv+relu: becomes the conv's scale-shift epilogue.
    Builder b;
    ValueId x = b.input({1, 3, 6, 6});
    b.output(b.bn(b.node("Relu", {b.conv(x, 3, 5, 3, 1)}), 5));
    Graph opt = optimize_and_compare(b.g, rnd({1, 3, 6, 6}, b.rng));
    EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
    EXPECT_EQ(count_op(opt, "FusedConv"), 1);
  }
}

TEST(Passes, GraphOutputsAndSharedValuesAreNotFusedAway) {
  Builder b;
  ValueId x = b.input({1, 3, 5, 5});
  ValueId c = b.conv(x, 3, 4, 3, 1);
  ValueId r = b.node("Relu", {c});
  b.output(c);  // the conv output is also a model output: relu must not fuse
  b.output(r);
  Graph opt = optimize_and_compare(b.g, rnd({1, 3, 5, 5}, b.rng));
  EXPECT_EQ(count_op(opt, "Relu"), 1);
}

TEST(Passes, RandomCnnsMatchUnoptimized) {
  std::mt19937 pick(2024);
  for (int trial = 0; trial < 40; ++trial) {
    Builder b;
    b.rng.seed(static_cast<unsigned>(trial));
    std::mt19937 extra(static_cast<unsigned>(trial) + 1000);
    int64_t C = 1 + pick() % 9, H = 6 + pick() % 6;
    ValueId x = b.input({1 + trial % 2, C, H, H});
    ValueId cur = x;
    const char* acts[] = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSwish", "Elu"};
    for (int layer = 0; layer < 4; ++layer) {
      const int64_t k = (pick() % 2) ? 3 : 1, pad = k == 3 ? pick() % 2 : 0;
      const int64_t OC = (pick() % 3 == 0) ? C : 1 + pick() % 9;
      ValueId before = cur;
      if (pick() % 3 == 0) cur = b.bn(cur, C);  // pre-conv BN
      cur = b.conv(cur, C, OC, k, pad, 1, 1, pick() % 2);
      if (pick() % 2) cur = b.bn(cur, OC, pick() % 4 == 0);
      if (OC == C && (k == 1 || pad == 1) && pick() % 2) cur = b.node("Add", {cur, before});
      if (pick() % 3) cur = b.node(acts[pick() % 6], {cur});
      if (pick() % 4 == 0) cur = b.bn(cur, OC);
      // Per-channel constant Mul/Add (fold_channel_affine, fuse_scale_shift),
      // from their own generator so the other choices stay as they were.
      if (extra() % 3 == 0) {
        const bool mul = extra() % 2;
        Tensor k = rnd(extra() % 2 ? Shape{OC, 1, 1} : Shape{1, OC, 1, 1}, b.rng, mul ? 0.5f : -1.f, mul ? 1.5f : 1.f);
        cur = b.node(mul ? "Mul" : "Add", {cur, b.cst(std::move(k))});
      }
      C = OC;
      H = b.g.value(cur).shape.rank() ? H : H;
      Status s = infer_shapes(b.g);
      ASSERT_TRUE(s.is_ok()) << s.message();
      H = b.g.value(cur).shape[2];
      if (H < 3) break;
    }
    b.output(cur);
    optimize_and_compare(b.g, rnd(b.g.value(x).shape, b.rng), 3, 1e-5);
  }
}

bool any_subnormal_constant(const Graph& g, std::string* which) {
  for (size_t i = 0; i < g.num_values(); ++i) {
    const Value& v = g.value(static_cast<ValueId>(i));
    if (!v.constant || v.constant->dtype() != DType::kF32) continue;
    const float* d = v.constant->data<float>();
    for (int64_t k = 0; k < v.constant->numel(); ++k) {
      uint32_t bits;
      std::memcpy(&bits, &d[k], 4);
      if ((bits & 0x7f800000u) == 0 && (bits & 0x7fffffu) != 0) {
        *which = v.name;
        return true;
      }
    }
  }
  return false;
}

TEST(Passes, DenormalProneResNet101HasNoSubnormalConstantsAfterO3) {
  ZooOptions zo;
  zo.input_shape = {1, 3, 32, 32};
  zo.denormal_prone = true;
  auto g = build_zoo_model("resnet101", zo);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  std::string which;
  ASSERT_TRUE(any_subnormal_constant(*g, &which)) << "the denormal-prone model must start with subnormal gammas";
  Graph opt = *g;
  PassOptions o;
  auto r = run_passes(opt, o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(any_subnormal_constant(opt, &which)) << "subnormal left in " << which;
  EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
  int folded = 0;
  for (const PassRecord& p : r->passes)
    if (p.name == "fold_batchnorm") folded = p.stats.nodes_fused;
  EXPECT_EQ(folded, 104);
  EXPECT_GT(r->subnormals_flushed, 100000);
  EXPECT_NE(r->to_text().find("summary: folded 104 BN; flushed"), std::string::npos) << r->to_text();

  // Without the guard, folding really does produce subnormal weights.
  Graph kept = *g;
  o.flush_subnormals = false;
  ASSERT_TRUE(run_passes(kept, o).is_ok());
  EXPECT_TRUE(any_subnormal_constant(kept, &which));
}

// A test-only op whose kernel records MXCSR as a kernel sees it.
uint32_t g_seen_mxcsr = 0;

TEST(Denormals, FtzDazAreSetDuringRunsAndRestoredAfter) {
  register_all_ops();
  OpRegistry::instance().add(OpDef{.name = "TestProbeMxcsr",
                                   .infer = [](InferContext& c) {
                                     c.out(0) = {c.in(0).dtype, c.in(0).shape};
                                     return Status::ok();
                                   },
                                   .flops = [](const InferContext&) -> int64_t { return 0; },
                                   .reference = [](KernelContext& k) {
                                     g_seen_mxcsr = read_mxcsr();
                                     std::memcpy(k.out(0).raw(), k.in(0).raw(), k.in(0).nbytes());
                                     return Status::ok();
                                   },
                                   .foldable = false});
  for (bool flush : {true, false}) {
    Graph g;
    ValueId x = g.add_value("x", DType::kF32, {4});
    g.inputs.push_back(x);
    ValueId y = g.add_value("y");
    g.add_node(Node{.name = "probe", .op = "TestProbeMxcsr", .inputs = {x}, .outputs = {y}});
    g.outputs.push_back(y);
    auto ex = Executor::create(std::move(g));
    ASSERT_TRUE(ex.is_ok());
    (*ex)->set_flush_denormals(flush);
    const uint32_t before = read_mxcsr();
    std::vector<Tensor> out;
    ASSERT_TRUE((*ex)->run({Tensor(DType::kF32, {4})}, out).is_ok());
    EXPECT_EQ(read_mxcsr(), before) << "the caller's MXCSR must be restored";
    const uint32_t bits = kMxcsrFtz | kMxcsrDaz;
    EXPECT_EQ(g_seen_mxcsr & bits, flush ? bits : 0u) << "flush=" << flush;
  }
}

TEST(Passes, UnknownPassNamesAreRejected) {
  Graph g;
  PassOptions o;
  o.disabled = {"fold_bn"};
  auto r = run_passes(g, o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("fold_batchnorm"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace anvil

namespace anvil {
namespace {

// Workers compute too: the pool hands them the caller's MXCSR for each job
// and restores their own afterwards.
TEST(Denormals, WorkersRunWithTheCallersFtzDazAndRestoreTheirOwn) {
  ThreadPool pool(2);
  std::atomic<uint32_t> seen_in_worker{0}, after_in_worker{0};
  const uint32_t bits = kMxcsrFtz | kMxcsrDaz;
  {
    DenormalGuard guard(true);
    pool.parallel_for(2, [&](int64_t, int64_t, int tid) {
      if (tid == 1) seen_in_worker = read_mxcsr();
    });
  }
  EXPECT_EQ(seen_in_worker.load() & bits, bits) << "FTZ/DAZ must be set on the worker during the job";
  EXPECT_EQ(read_mxcsr() & bits, 0u) << "the caller's MXCSR is restored after the guard";
  // A job submitted without the guard sees the worker's own (default) state.
  pool.parallel_for(2, [&](int64_t, int64_t, int tid) {
    if (tid == 1) after_in_worker = read_mxcsr();
  });
  EXPECT_EQ(after_in_worker.load() & bits, 0u) << "the worker's MXCSR is restored after each job";
}

// Through the executor with a worker pool, either setting leaves the
// caller's MXCSR as it was.
TEST(Denormals, ExecutorWithWorkersRestoresTheCallersMxcsr) {
  for (bool flush : {true, false}) {
    ZooOptions zo;
    zo.input_shape = {1, 3, 32, 32};
    auto g = build_zoo_model("tiny_cnn", zo);
    ASSERT_TRUE(g.is_ok());
    auto ex = Executor::create(std::move(*g), 2);
    ASSERT_TRUE(ex.is_ok()) << ex.status().message();
    (*ex)->set_flush_denormals(flush);
    std::vector<Tensor> out;
    Tensor x(DType::kF32, {1, 3, 32, 32});
    ASSERT_TRUE((*ex)->run({x}, out).is_ok());
    EXPECT_EQ(read_mxcsr() & (kMxcsrFtz | kMxcsrDaz), 0u);
  }
}

}  // namespace
}  // namespace anvil

// The optimizer on whole models: -O0 and -O3 give the same outputs within
// 1e-4 of each output's scale (what `anvil check` enforces), every layer of
// the -O3 graph maps back to the value it replaces, and the BatchNorms that
// survive are exactly the ones no exact rewrite can remove.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "frontend/mxnet/mxnet_zoo.h"
#include "frontend/onnx/onnx_export.h"
#include "passes/pass.h"
#include "passes/pass_util.h"
#include "runtime/check.h"
#include "test_paths.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / ("anvil_opt_" + name)).string();
}

Result<Model> zoo_model(const std::string& name, std::vector<int64_t> shape, bool denormal_prone = false) {
  ZooOptions zo;
  zo.input_shape = shape;
  zo.denormal_prone = denormal_prone;
  ANVIL_ASSIGN_OR_RETURN(Graph g, build_zoo_model(name, zo));
  const std::string path = temp_path(name + ".onnx");
  ANVIL_TRY(save_onnx(g, path));
  return Model::load(path, {.shapes = {{"input", Shape(shape)}}});
}

std::map<std::string, Tensor> random_inputs(const Model& m) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::map<std::string, Tensor> in;
  for (const TensorInfo& ti : m.inputs()) {
    Tensor t(DType::kF32, ti.shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    in[ti.name] = std::move(t);
  }
  return in;
}

// -O0 vs -O3 with per-layer mapping; fails the test on any output mismatch.
LevelCheckReport check_o0_o3(const Model& m, const std::string& what) {
  LevelCheckOptions o;
  o.per_layer = true;
  auto r = check_levels(m, random_inputs(m), o);
  EXPECT_TRUE(r.is_ok()) << what << ": " << r.status().message();
  if (!r) return {};
  EXPECT_TRUE(r->ok) << what << ":\n" << r->to_text();
  EXPECT_FALSE(r->layers.empty()) << what;
  double worst_out = 0, worst_layer = 0;
  for (const TensorDiff& d : r->outputs) worst_out = std::max(worst_out, d.rel);
  for (const LayerDiff& l : r->layers) worst_layer = std::max(worst_layer, l.diff.rel);
  std::printf("  %-28s %3zu layers compared, worst layer rel %.3g, worst output rel %.3g\n", what.c_str(),
              r->layers.size(), worst_layer, worst_out);
  return *r;
}

// The -O3 graph's remaining BatchNormalization nodes.
std::vector<const Node*> bns_left(const Graph& opt) {
  std::vector<const Node*> v;
  for (const Node& n : opt.nodes())
    if (n.op == "BatchNormalization") v.push_back(&n);
  return v;
}

Graph optimized(const Model& m, PassReport* report = nullptr) {
  Graph g = m.graph();
  auto r = run_passes(g, {});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (r && report) *report = *r;
  return g;
}

TEST(OptimizerModels, ZooResNet101DenormalProne) {
  auto m = zoo_model("resnet101", {1, 3, 64, 64}, true);
  ASSERT_TRUE(m) << m.status().message();
  const LevelCheckReport r = check_o0_o3(*m, "resnet101 (denormal-prone)");
  EXPECT_EQ(r.first_divergent, -1);
  EXPECT_NE(r.optimization_report.find("summary: folded 104 BN"), std::string::npos) << r.optimization_report;
  EXPECT_TRUE(bns_left(optimized(*m)).empty());
}

TEST(OptimizerModels, ZooMobileNetV2) {
  auto m = zoo_model("mobilenet_v2", {1, 3, 96, 96});
  ASSERT_TRUE(m) << m.status().message();
  check_o0_o3(*m, "mobilenet_v2");
  const Graph opt = optimized(*m);
  EXPECT_TRUE(bns_left(opt).empty());
  int clips = 0;
  for (const Node& n : opt.nodes()) clips += n.op == "Clip";
  EXPECT_EQ(clips, 0) << "ReLU6 goes into the conv epilogues";
}

// InsightFace IR units start with BN -> 3x3 conv (pad 1). That BN cannot go
// into the conv's weights (the conv would see the BN's shift where it pads
// zeros) nor into its producer's epilogue (the producer's output is also the
// unit's shortcut, which must stay un-normalized). It becomes the padded
// conv's input pre-op: one per unit (3 + 13 + 30 + 3), no BN left.
TEST(OptimizerModels, MxnetZooLResNet100EIr) {
  auto c = mxnet::build_mxnet_zoo_model("LResNet100E-IR", 1);
  ASSERT_TRUE(c) << c.status().message();
  const std::string prefix = temp_path("LResNet100E-IR");
  ASSERT_TRUE(mxnet::save_mxnet_checkpoint(prefix, 0, *c).is_ok());
  auto m = Model::load(prefix, {.shapes = {{"data", {1, 3, 112, 112}}}});
  ASSERT_TRUE(m) << m.status().message();
  check_o0_o3(*m, "LResNet100E-IR");

  PassReport rep;
  const Graph opt = optimized(*m, &rep);
  EXPECT_TRUE(bns_left(opt).empty()) << rep.to_text();
  int pre_ops = 0;
  for (const Node& n : opt.nodes()) {
    if (n.op != "FusedConv" || n.attrs.i("pre_scale_shift", 0) == 0) continue;
    ++pre_ops;
    EXPECT_EQ(n.attrs.ints("pads"), (std::vector<int64_t>{1, 1, 1, 1})) << n.name;
    EXPECT_NE(n.origin.front().find("_bn1"), std::string::npos) << n.name << ": the unit's first BN";
  }
  EXPECT_EQ(pre_ops, 49);
  int muls = 0;
  for (const Node& n : opt.nodes()) muls += n.op == "Mul";
  EXPECT_EQ(muls, 0) << "the input scaling (x * 1/128) folds into the padded stem conv: a pure scale is exact";
}

struct RealModel {
  const char* path;  // under ../shared/models
  const char* input;
  Shape shape;
  size_t bns_left;
  const char* why;
};

TEST(OptimizerModels, SharedRealModels) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const RealModel models[] = {
      {"onnx/squeezenet1.1-winml/SqueezeNet_fp32_from_fp16.onnx", "data_0", {1, 3, 224, 224}, 0, "no BN"},
      {"onnx/cifar10-resnet18/resnet18_cifar10.onnx", "input", {1, 3, 32, 32}, 0, "BN folded at export"},
      {"onnx/faceplugin/fr_feature.onnx", "input", {1, 3, 112, 112}, 0, "BN folded at export"},
      {"mxnet/mobilefacenet-y1/model", "data", {1, 3, 112, 112}, 0, "every BN follows a conv or FC"},
      // bn6w normalizes the GNAP pooling output and feeds Flatten -> FC:
      // no conv or fused producer to take it.
      {"mxnet/mobilefacenet-gnap/model", "data", {1, 3, 112, 112}, 1, "bn6w after GlobalAveragePool"},
  };
  for (const RealModel& rm : models) {
    const std::string path = testing::shared_models_dir() + "/" + rm.path;
    auto m = Model::load(path, {.shapes = {{rm.input, rm.shape}}});
    ASSERT_TRUE(m) << m.status().message();
    check_o0_o3(*m, rm.path);
    EXPECT_EQ(bns_left(optimized(*m)).size(), rm.bns_left) << rm.path << " (" << rm.why << ")";
  }
}

TEST(OptimizerCheck, PerLayerMapsEveryFusedNodeBack) {
  auto m = zoo_model("tiny_cnn", {1, 3, 32, 32});
  ASSERT_TRUE(m) << m.status().message();
  LevelCheckOptions o;
  o.per_layer = true;
  auto r = check_levels(*m, random_inputs(*m), o);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_TRUE(r->ok) << r->to_text();
  EXPECT_EQ(r->first_divergent, -1);
  EXPECT_TRUE(r->bisect_log.empty()) << "no bisection when the check passes";
  // Every step of the -O3 graph is compared, and the fused ones carry the
  // original nodes they replace.
  const Graph opt = optimized(*m);
  EXPECT_EQ(r->layers.size(), opt.nodes().size());
  int fused = 0;
  for (const LayerDiff& l : r->layers) {
    EXPECT_FALSE(l.origin.empty()) << l.node;
    EXPECT_EQ(l.origin.front(), l.node) << "a fused node is named after its first original node";
    fused += l.origin.size() > 1;
  }
  EXPECT_GE(fused, 4);
  EXPECT_NE(r->to_text().find("conv1 (FusedConv) <- conv1+bn1+relu"), std::string::npos) << r->to_text();
}

TEST(OptimizerCheck, BisectionNamesTheFirstPassThatChangesTheOutput) {
  auto m = zoo_model("tiny_cnn", {1, 3, 32, 32});
  ASSERT_TRUE(m) << m.status().message();
  // At tolerance 0 any re-rounding fails; the cleanup passes change no
  // arithmetic, BN folding is the first that does.
  LevelCheckOptions o;
  o.tolerance = 0;
  auto r = check_levels(*m, random_inputs(*m), o);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->failing_pass, "fold_batchnorm") << r->to_text();
  EXPECT_EQ(r->bisect_log.size(), 4u) << r->to_text();
  EXPECT_NE(r->failing_layer.find("conv1"), std::string::npos) << r->failing_layer;
  EXPECT_NE(r->to_text().find("first failing pass: fold_batchnorm"), std::string::npos);

  // A disabled pass is not blamed: the next arithmetic-changing one is.
  o.base.disable_passes = {"fold_batchnorm"};
  auto r2 = check_levels(*m, random_inputs(*m), o);
  ASSERT_TRUE(r2) << r2.status().message();
  EXPECT_NE(r2->failing_pass, "fold_batchnorm");
  for (const std::string& line : r2->bisect_log) EXPECT_EQ(line.find("fold_batchnorm"), std::string::npos) << line;
}

TEST(OptimizerCheck, ShapeMismatchAndNonFiniteValuesFail) {
  Tensor a(DType::kF32, {2}), b(DType::kF32, {3});
  a.data<float>()[0] = a.data<float>()[1] = 1.f;
  EXPECT_FALSE(compare_tensors("y", a, b, 1e-4).ok);
  Tensor c = a.clone();
  c.data<float>()[1] = NAN;
  const TensorDiff d = compare_tensors("y", a, c, 1e-4);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.note, "non-finite values differ");
  EXPECT_TRUE(compare_tensors("y", a, a.clone(), 0).ok);
}

}  // namespace
}  // namespace anvil

// ONNX Runtime (npm onnxruntime-node, installed into the build tree by
// scripts/setup-ort.sh) as an independent oracle on the zoo models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "anvil/anvil.h"
#include "core/npy.h"
#include "frontend/onnx/onnx_export.h"
#include "frontend/mxnet/mxnet_import.h"
#include "frontend/mxnet/mxnet_zoo.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

namespace fs = std::filesystem;

std::string ort_dir() {
  if (const char* e = std::getenv("ANVIL_ORT_DIR")) return e;
  return std::string(ANVIL_BINARY_DIR) + "/ort";
}

bool have_ort() { return fs::exists(ort_dir() + "/node_modules/onnxruntime-node/package.json"); }

Tensor uniform_input(Shape s, uint64_t seed) {
  Tensor t(DType::kF32, std::move(s));
  uint64_t x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (int64_t i = 0; i < t.numel(); ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    t.data<float>()[i] = static_cast<float>((x >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f;
  }
  return t;
}

void compare_graph_with_ort(const std::string& name, const Result<Graph>& g, const std::string& input_name,
                            Shape input_shape, double rtol) {
  if (!have_ort())
    GTEST_SKIP() << "ONNX Runtime is not installed in " << ort_dir() << " (run scripts/setup-ort.sh " << ort_dir() << ")";
  const fs::path dir = fs::path(ANVIL_BINARY_DIR) / "oracle" / name;
  fs::create_directories(dir);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  const std::string model = (dir / "model.onnx").string();
  ASSERT_TRUE(save_onnx(*g, model).is_ok());
  const Tensor x = uniform_input(input_shape, 11);
  ASSERT_TRUE(write_npy((dir / "input.npy").string(), x).is_ok());

  const std::string cmd = "NODE_PATH='" + ort_dir() + "/node_modules' node '" + std::string(ANVIL_SOURCE_DIR) +
                          "/tests/oracle/ort_run.js' '" + model + "' --threads 2 --input " + input_name + "='" +
                          (dir / "input.npy").string() + "' --output-dir '" + (dir / "ort").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string out_name = g->value(g->outputs[0]).name;
  auto want = read_npy((dir / "ort" / (out_name + ".npy")).string());
  ASSERT_TRUE(want.is_ok()) << want.status().message();

  auto m = Model::load(model);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  auto s = m->compile();
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  auto out = s->run({{input_name, x}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  const Tensor& got = out->at(out_name);
  ASSERT_EQ(got.shape(), want->shape());
  const std::vector<float> a = got.to_f32_vector(), b = want->to_f32_vector();
  // Relative to the output's scale: logits near zero make per-element
  // relative error meaningless.
  double scale = 0, worst = 0;
  for (float v : b) scale = std::max(scale, std::fabs(double(v)));
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  EXPECT_LT(worst / scale, rtol) << name << ": max |anvil - ORT| = " << worst << ", max |ORT| = " << scale;
  std::printf("oracle %-14s %-14s max|diff|/max|ORT| = %.3g\n", name.c_str(), input_shape.str().c_str(), worst / scale);
}

void compare_with_ort(const std::string& name, Shape input_shape, double rtol) {
  ZooOptions o;
  o.input_shape = input_shape.dims();
  o.seed = 7;
  compare_graph_with_ort(name, build_zoo_model(name, o), "input", input_shape, rtol);
}

// InsightFace's LResNet100E-IR, built as an MXNet checkpoint and imported:
// the ONNX written from it must run the same in ONNX Runtime.
TEST(OrtOracle, LResNet100EIRFromMxnet) {
  auto c = mxnet::build_mxnet_zoo_model("LResNet100E-IR", 3);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  mxnet::ImportOptions io;
  io.shapes["data"] = Shape{1, 3, 112, 112};
  compare_graph_with_ort("LResNet100E-IR",
                         mxnet::import_mxnet(c->symbol, c->params, "LResNet100E-IR-symbol.json",
                                             "LResNet100E-IR-0000.params", io),
                         "data", {1, 3, 112, 112}, 1e-4);
}

TEST(OrtOracle, TinyCnn) { compare_with_ort("tiny_cnn", {2, 3, 32, 32}, 1e-4); }
TEST(OrtOracle, MobileNetV2) { compare_with_ort("mobilenet_v2", {1, 3, 224, 224}, 1e-4); }
TEST(OrtOracle, ResNet50) { compare_with_ort("resnet50", {1, 3, 224, 224}, 1e-4); }
TEST(OrtOracle, ResNet18Batch2At112) { compare_with_ort("resnet18", {2, 3, 112, 112}, 1e-4); }

}  // namespace
}  // namespace anvil

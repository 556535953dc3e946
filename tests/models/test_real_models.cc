// Real pretrained models from ../shared/models against their reference
// outputs (authentic WinML CSVs, OpenCV DNN runs, an NPU run).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "anvil/anvil.h"
#include "core/npy.h"
#include "test_paths.h"

namespace anvil {
namespace {

using testing::shared_models_dir;

Tensor load_npy_or_die(const std::string& p) {
  auto t = read_npy(p);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return t.is_ok() ? std::move(t).value() : Tensor();
}

std::vector<float> run_one(const std::string& model, const std::string& input_name, const Tensor& x) {
  auto m = Model::load(model, {.shapes = {{input_name, x.shape()}}});
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  if (!m) return {};
  auto s = m->compile();
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  if (!s) return {};
  auto out = s->run({{input_name, x}});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  if (!out) return {};
  EXPECT_EQ(out->size(), 1u);
  return out->begin()->second.to_f32_vector();
}

std::vector<float> read_csv_values(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);  // header "Index,Value"
  std::vector<float> v;
  while (std::getline(f, line)) {
    const size_t c = line.find(',');
    if (c != std::string::npos) v.push_back(std::stof(line.substr(c + 1)));
  }
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

size_t argmax(const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(RealModels, SqueezeNetFishMatchesWinMLAndOpenCV) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const std::string dir = shared_models_dir() + "/onnx/squeezenet1.1-winml";
  const Tensor x = load_npy_or_die(dir + "/ref/input_fish_bgr_0_255.npy");
  const std::vector<float> y = run_one(dir + "/SqueezeNet_fp32_from_fp16.onnx", "data_0", x);
  ASSERT_EQ(y.size(), 1000u);
  EXPECT_EQ(argmax(y), 0u) << "top-1 must be class 0 (tench)";
  EXPECT_NEAR(y[0], 0.7378, 2e-3);
  const std::vector<float> winml_fp16 = read_csv_values(dir + "/Squeezenet_fp16_fish_input_CPU.csv");
  const std::vector<float> winml_fp32 = read_csv_values(dir + "/Squeezenet_fish_input_CPU.csv");
  EXPECT_LT(max_abs_diff(y, winml_fp16), 2e-3);
  EXPECT_LT(max_abs_diff(y, winml_fp32), 2e-3);
  const Tensor ref = load_npy_or_die(dir + "/ref/output_fish_opencv_fp32.npy");
  EXPECT_LT(max_abs_diff(y, ref.to_f32_vector()), 1e-4);
}

TEST(RealModels, SqueezeNetKittenMatchesOpenCV) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const std::string dir = shared_models_dir() + "/onnx/squeezenet1.1-winml";
  const Tensor x = load_npy_or_die(dir + "/ref/input_kitten_bgr_0_255.npy");
  const std::vector<float> y = run_one(dir + "/SqueezeNet_fp32_from_fp16.onnx", "data_0", x);
  ASSERT_EQ(y.size(), 1000u);
  EXPECT_EQ(argmax(y), 281u) << "top-1 must be class 281 (tabby)";
  EXPECT_LT(max_abs_diff(y, load_npy_or_die(dir + "/ref/output_kitten_opencv_fp32.npy").to_f32_vector()), 1e-4);
}

TEST(RealModels, SqueezeNetFp16ModelRunsAsF32) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const std::string dir = shared_models_dir() + "/onnx/squeezenet1.1-winml";
  const Tensor x = load_npy_or_die(dir + "/ref/input_fish_bgr_0_255.npy");
  const std::vector<float> y = run_one(dir + "/SqueezeNet_fp16.onnx", "data_0", x);
  ASSERT_EQ(y.size(), 1000u);
  EXPECT_EQ(argmax(y), 0u);
  EXPECT_LT(max_abs_diff(y, read_csv_values(dir + "/Squeezenet_fp16_fish_input_CPU.csv")), 2e-3);
}

TEST(RealModels, Cifar10ResNet18MatchesOpenCVAndNpu) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const std::string dir = shared_models_dir() + "/onnx/cifar10-resnet18";
  const std::string model = dir + "/resnet18_cifar10.onnx";
  const Tensor x = load_npy_or_die(dir + "/ref/input_2_67_rgb_norm05.npy");
  const std::vector<float> y = run_one(model, "input", x);
  const std::vector<float> ref = load_npy_or_die(dir + "/ref/output_2_67_opencv_fp32.npy").to_f32_vector();
  ASSERT_EQ(y.size(), 10u);
  EXPECT_EQ(argmax(y), 2u) << "the test image is a bird";
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-3 * std::max(1.f, std::fabs(ref[i]))) << i;
  const Tensor x2 = load_npy_or_die(dir + "/ref/input_2_67_rgb_rknnpre.npy");
  const std::vector<float> y2 = run_one(model, "input", x2);
  EXPECT_LT(max_abs_diff(y2, load_npy_or_die(dir + "/ref/output_2_67_rknn_fp16_npu.npy").to_f32_vector()), 2e-2);
}

TEST(RealModels, MobileFaceNetEmbeddingMatchesOpenCV) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const std::string dir = shared_models_dir() + "/onnx/faceplugin";
  const Tensor x = load_npy_or_die(dir + "/ref/fr_feature_input_tomhanks.npy");
  const std::vector<float> y = run_one(dir + "/fr_feature.onnx", "input", x);
  const std::vector<float> ref = load_npy_or_die(dir + "/ref/fr_feature_ref_output.npy").to_f32_vector();
  ASSERT_EQ(y.size(), 512u);
  double worst = 0;
  for (size_t i = 0; i < y.size(); ++i)
    worst = std::max(worst, std::fabs(double(y[i]) - ref[i]) / std::max(1e-2, std::fabs(double(ref[i]))));
  EXPECT_LT(worst, 1e-3) << "worst relative error per element";
  EXPECT_GT(cosine(y, ref), 0.99999);
}

}  // namespace
}  // namespace anvil

// The real insightface MobileFaceNets (MXNet checkpoints in ../shared/models)
// load and match their references.
#include <gtest/gtest.h>

#include <cmath>

#include "anvil/anvil.h"
#include "core/npy.h"
#include "ir/graph.h"
#include "runtime/executor.h"
#include "test_paths.h"

namespace anvil {
namespace {

std::string mx_dir(const std::string& model) { return testing::shared_models_dir() + "/mxnet/" + model; }

struct Diff {
  double max_abs = 0, ref_max = 0, cosine = 0;
};

Diff compare(const Tensor& got, const Tensor& ref) {
  Diff d;
  const std::vector<float> a = got.to_f32_vector(), b = ref.to_f32_vector();
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d.max_abs = std::max(d.max_abs, std::fabs(double(a[i]) - b[i]));
    d.ref_max = std::max(d.ref_max, std::fabs(double(b[i])));
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  d.cosine = dot / std::sqrt(na * nb);
  return d;
}

double cosine(const Tensor& x, const Tensor& y) { return compare(x, y).cosine; }

// Mirrors an NCHW image left-right.
Tensor flip_w(const Tensor& x) {
  Tensor y(x.dtype(), x.shape());
  const int64_t w = x.dim(3), rows = x.numel() / w;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) y.data<float>()[r * w + j] = x.data<float>()[r * w + (w - 1 - j)];
  return y;
}

void expect_close(const char* name, const Tensor& got, const Tensor& ref) {
  ASSERT_EQ(got.shape(), ref.shape()) << name;
  const Diff d = compare(got, ref);
  // fp32 vs fp32 from another engine (OpenCV): rtol 1e-3 of the tensor's range.
  EXPECT_LE(d.max_abs, 1e-3 * d.ref_max) << name << ": max |diff| " << d.max_abs << ", max |ref| " << d.ref_max;
  EXPECT_GT(d.cosine, 0.99999) << name;
  std::printf("  %-20s max|diff| %.3g  (max|ref| %.3g, rel %.2e)  cosine %.8f\n", name, d.max_abs, d.ref_max,
              d.max_abs / d.ref_max, d.cosine);
}

// The references were made on the Caffe conversion, which drops bn6f's beta
// (bn6f has fix_gamma=True; MXNet still adds beta, see its batch_norm.cc:
// out = (x - mean) * invstd + beta), and ref_fc1 was derived from that
// ref_bn6f. So: bn6f is compared with ref_bn6f + beta, and fc1 is compared
// on a copy of the graph whose bn6f beta is zeroed, reproducing the recipe.
TEST(MxModels, MobileFaceNetGnapMatchesReferences) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const std::string dir = mx_dir("mobilefacenet-gnap");
  auto input = read_npy(dir + "/ref/input_data_rgb_0_255.npy");
  ASSERT_TRUE(input) << input.status().to_string();
  auto m = Model::load(dir + "/model", {.shapes = {{"data", input->shape()}}});
  ASSERT_TRUE(m) << m.status().to_string();
  auto s = m->compile({.extra_outputs = {"conv_1_relu", "bn6f_output"}});
  ASSERT_TRUE(s) << s.status().to_string();
  auto out = s->run({{"data", *input}});
  ASSERT_TRUE(out) << out.status().to_string();
  auto ref_conv = read_npy(dir + "/ref/ref_conv_1_relu.npy");
  auto ref_bn = read_npy(dir + "/ref/ref_bn6f.npy");
  auto ref_fc = read_npy(dir + "/ref/ref_fc1.npy");
  ASSERT_TRUE(ref_conv && ref_bn && ref_fc);
  ASSERT_TRUE(out->count("conv_1_relu_output") && out->count("bn6f_output") && out->count("fc1_output"));
  expect_close("conv_1_relu", out->at("conv_1_relu_output"), *ref_conv);

  const Graph& g = m->graph();
  const ValueId beta_id = g.find_value("bn6f_beta");
  ASSERT_NE(beta_id, kNoValue);
  const Tensor beta = *g.value(beta_id).constant;
  Tensor ref_bn_beta = ref_bn->clone();
  const int64_t hw = ref_bn->dim(2) * ref_bn->dim(3);
  for (int64_t i = 0; i < ref_bn->numel(); ++i) ref_bn_beta.data<float>()[i] += beta.data<float>()[i / hw % 512];
  expect_close("bn6f (+beta)", out->at("bn6f_output"), ref_bn_beta);

  Graph nob = g;
  nob.value(nob.find_value("bn6f_beta")).constant = Tensor(DType::kF32, beta.shape());
  auto ex = Executor::create(nob);
  ASSERT_TRUE(ex) << ex.status().to_string();
  std::vector<Tensor> outs;
  ASSERT_TRUE((*ex)->run({*input}, outs).is_ok());
  expect_close("fc1 (bn6f beta 0)", outs[0], *ref_fc);
  // And the real MXNet result differs from that recipe by far more than noise.
  EXPECT_LT(compare(out->at("fc1_output"), *ref_fc).cosine, 0.9);
}

TEST(MxModels, MobileFaceNetY1MirroredFaceIsTheSamePerson) {
  ANVIL_REQUIRE_SHARED_MODELS();
  // No PNG decoder in anvil: the gnap folder's input is the same face
  // (images/Tom_Hanks_54745.png as RGB NCHW, 0..255).
  auto input = read_npy(mx_dir("mobilefacenet-gnap") + "/ref/input_data_rgb_0_255.npy");
  ASSERT_TRUE(input) << input.status().to_string();
  auto m = Model::load(mx_dir("mobilefacenet-y1") + "/model-symbol.json", {.shapes = {{"data", {1, 3, 112, 112}}}});
  ASSERT_TRUE(m) << m.status().to_string();
  auto s = m->compile();
  ASSERT_TRUE(s) << s.status().to_string();
  auto a = s->run({{"data", *input}});
  ASSERT_TRUE(a) << a.status().to_string();
  auto b = s->run({{"data", flip_w(*input)}});
  ASSERT_TRUE(b) << b.status().to_string();
  const double c = cosine(a->at("fc1_output"), b->at("fc1_output"));
  std::printf("  cosine(face, mirrored face) = %.4f\n", c);
  EXPECT_GT(c, 0.9);
  // A different "face" (the same image upside down) must be far less similar.
  Tensor ud(input->dtype(), input->shape());
  const int64_t h = 112, w = 112;
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j)
        ud.data<float>()[(ch * h + i) * w + j] = input->data<float>()[(ch * h + (h - 1 - i)) * w + j];
  auto u = s->run({{"data", ud}});
  ASSERT_TRUE(u);
  EXPECT_LT(cosine(a->at("fc1_output"), u->at("fc1_output")), c);
}

TEST(MxModels, PathFormsAreEquivalent) {
  ANVIL_REQUIRE_SHARED_MODELS();
  const std::string dir = mx_dir("mobilefacenet-y1");
  for (const std::string p : {dir + "/model", dir + "/model-symbol.json", dir + "/model-0000.params"}) {
    auto m = Model::load(p, {.shapes = {{"data", {1, 3, 112, 112}}}, .epoch = 0});
    ASSERT_TRUE(m) << p << ": " << m.status().to_string();
    // README: 1,022,848 parameters, plus the two scalars of the input normalisation.
    EXPECT_EQ(m->graph().num_parameters(), 1022848 + 2) << p;
  }
  auto bad = Model::load(dir + "/model", {.epoch = 7});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_NE(bad.status().message().find("model-0007.params"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("available epochs: 0000"), std::string::npos) << bad.status().message();
}

TEST(MxModels, UnknownInternalOutputIsAClearError) {
  ANVIL_REQUIRE_SHARED_MODELS();
  auto m = Model::load(mx_dir("mobilefacenet-gnap") + "/model", {.shapes = {{"data", {1, 3, 112, 112}}}});
  ASSERT_TRUE(m);
  auto s = m->compile({.extra_outputs = {"conv_1_rel"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("conv_1_relu"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace anvil

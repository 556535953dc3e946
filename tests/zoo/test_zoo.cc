#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstring>
#include <map>

#include "frontend/onnx/onnx_export.h"
#include "ir/op_registry.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

Graph build(const std::string& name, ZooOptions o = {}) {
  auto g = build_zoo_model(name, o);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  return g.is_ok() ? std::move(g).value() : Graph();
}

const Tensor& weight(const Graph& g, const std::string& name) {
  const ValueId id = g.find_value(name);
  EXPECT_NE(id, kNoValue) << name;
  return *g.value(id).constant;
}

bool is_tiny(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits &= 0x7fffffffu;
  // Nonzero with |f| <= 1e-36 (exponent field below that of 1e-36), decided
  // on the bits so flush-to-zero cannot interfere.
  return bits != 0 && bits < 0x05000000u;
}

TEST(Zoo, NamesAndUnknownModel) {
  const auto names = zoo_model_names();
  EXPECT_EQ(names, (std::vector<std::string>{"resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                                             "mobilenet_v2", "tiny_cnn"}));
  auto r = build_zoo_model("vgg16", {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("resnet50"), std::string::npos) << r.status().message();
}

TEST(Zoo, BadOptions) {
  for (const std::vector<int64_t>& s : std::vector<std::vector<int64_t>>{{1, 3, 224}, {1, 1, 224, 224}, {1, 3, 0, 5}, {1, 3, -2, 5}}) {
    ZooOptions o;
    o.input_shape = s;
    auto r = build_zoo_model("resnet18", o);
    ASSERT_FALSE(r.is_ok()) << Shape(s).str();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("resnet18"), std::string::npos) << r.status().message();
  }
  ZooOptions o;
  o.num_classes = 0;
  EXPECT_FALSE(build_zoo_model("tiny_cnn", o).is_ok());
}

// torchvision's parameter counts; its running statistics are buffers, not
// parameters, so they are left out of the comparison.
TEST(Zoo, ParameterCountsMatchTorchvision) {
  register_all_ops();
  const std::map<std::string, int64_t> want = {{"resnet18", 11689512}, {"resnet34", 21797672},
                                               {"resnet50", 25557032}, {"resnet101", 44549160},
                                               {"resnet152", 60192808}, {"mobilenet_v2", 3504872}};
  for (const auto& [name, count] : want) {
    SCOPED_TRACE(name);
    const Graph g = build(name);
    EXPECT_TRUE(g.verify().is_ok()) << g.verify().to_string();
    int64_t buffers = 0;
    for (size_t i = 0; i < g.num_values(); ++i) {
      const Value& v = g.value(static_cast<ValueId>(i));
      if (!v.is_initializer) continue;
      const bool stat = v.name.ends_with(".running_mean") || v.name.ends_with(".running_var");
      if (stat || v.name.starts_with("relu6.")) buffers += v.constant->numel();
    }
    EXPECT_EQ(g.num_parameters() - buffers, count);
  }
}

TEST(Zoo, TorchvisionLayout) {
  const Graph r50 = build("resnet50");
  // v1.5: the stride sits on the 3x3 conv of a bottleneck.
  auto conv_attr = [&](const Graph& g, const std::string& node, const char* attr) {
    for (const Node& n : g.nodes())
      if (n.name == node) return n.attrs.ints(attr);
    ADD_FAILURE() << "no node " << node;
    return std::vector<int64_t>{};
  };
  EXPECT_EQ(conv_attr(r50, "layer2.0.conv1", "strides"), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(conv_attr(r50, "layer2.0.conv2", "strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(conv_attr(r50, "layer2.0.downsample.0", "strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(weight(r50, "layer4.2.conv3.weight").shape(), (Shape{2048, 512, 1, 1}));
  EXPECT_EQ(weight(r50, "fc.weight").shape(), (Shape{1000, 2048}));
  EXPECT_EQ(conv_attr(r50, "conv1", "pads"), (std::vector<int64_t>{3, 3, 3, 3}));

  const Graph mb = build("mobilenet_v2");
  EXPECT_EQ(weight(mb, "features.2.conv.1.0.weight").shape(), (Shape{96, 1, 3, 3}));
  EXPECT_EQ(weight(mb, "features.18.0.weight").shape(), (Shape{1280, 320, 1, 1}));
  int clips = 0, adds = 0, bns = 0, convs_with_bias = 0;
  for (const Node& n : mb.nodes()) {
    clips += n.op == "Clip";
    adds += n.op == "Add";
    bns += n.op == "BatchNormalization";
    if (n.op == "Conv") convs_with_bias += n.inputs.size() == 3;
  }
  EXPECT_EQ(clips, 35);
  EXPECT_EQ(adds, 10);
  EXPECT_EQ(bns, 52);
  EXPECT_EQ(convs_with_bias, 0);
}

TEST(Zoo, ShapesInferToLogits) {
  register_all_ops();
  for (const char* name : {"tiny_cnn", "resnet18", "mobilenet_v2"}) {
    SCOPED_TRACE(name);
    Graph g = build(name);
    const Status s = infer_shapes(g);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    const Value& out = g.value(g.outputs[0]);
    EXPECT_EQ(out.name, "output");
    EXPECT_EQ(out.shape, (Shape{1, std::string(name) == "tiny_cnn" ? 10 : 1000}));
  }
  ZooOptions o;
  o.input_shape = {2, 3, 112, 96};
  o.num_classes = 7;
  Graph g = build("resnet18", o);
  ASSERT_TRUE(infer_shapes(g).is_ok());
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{2, 7}));
}

TEST(Zoo, SameSeedSameBytesOtherSeedOtherWeights) {
  for (const char* name : {"tiny_cnn", "resnet18"}) {
    SCOPED_TRACE(name);
    ZooOptions o;
    o.seed = 42;
    auto a = serialize_onnx(build(name, o));
    auto b = serialize_onnx(build(name, o));
    ASSERT_TRUE(a.is_ok()) << a.status().to_string();
    ASSERT_TRUE(b.is_ok());
    EXPECT_TRUE(*a == *b);
    o.seed = 43;
    auto c = serialize_onnx(build(name, o));
    ASSERT_TRUE(c.is_ok());
    EXPECT_EQ(a->size(), c->size());
    EXPECT_FALSE(*a == *c);
  }
  ZooOptions o1, o2;
  o2.seed = 1;
  const Graph g1 = build("resnet18", o1), g2 = build("resnet18", o2);
  for (const char* w : {"conv1.weight", "bn1.weight", "bn1.running_var", "layer3.1.conv2.weight", "fc.weight"}) {
    const Tensor &x = weight(g1, w), &y = weight(g2, w);
    ASSERT_EQ(x.nbytes(), y.nbytes());
    EXPECT_NE(std::memcmp(x.raw(), y.raw(), x.nbytes()), 0) << w;
  }
}

TEST(Zoo, WeightStatisticsLookTrained) {
  const Graph g = build("resnet50");
  auto stats = [](const Tensor& t) {
    double s = 0, s2 = 0;
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      s += p[i];
      s2 += double(p[i]) * p[i];
    }
    const double mean = s / t.numel();
    return std::pair{mean, std::sqrt(s2 / t.numel() - mean * mean)};
  };
  // Kaiming: std ~ sqrt(2 / fan_in) = sqrt(2 / (256*3*3)) for layer3's 3x3.
  auto [m, sd] = stats(weight(g, "layer3.0.conv2.weight"));
  EXPECT_NEAR(m, 0.0, 0.002);
  EXPECT_NEAR(sd, std::sqrt(2.0 / (256 * 9)), 0.3 * std::sqrt(2.0 / (256 * 9)));
  auto [gm, gsd] = stats(weight(g, "layer3.0.bn1.weight"));
  EXPECT_GT(gm, 0.7);
  EXPECT_LT(gm, 1.2);
  auto [rm, rsd] = stats(weight(g, "layer3.0.bn3.weight"));
  EXPECT_LT(rm, 0.5) << "residual branches end in damped BNs";
  const Tensor& var = weight(g, "layer3.0.bn1.running_var");
  for (float v : var.to_f32_vector()) {
    EXPECT_GE(v, 0.5f);
    EXPECT_LE(v, 1.5f);
  }
}

TEST(Zoo, DenormalProneGammas) {
  ZooOptions plain_o, dn_o;
  dn_o.denormal_prone = true;
  const Graph plain = build("resnet18", plain_o), dn = build("resnet18", dn_o);
  int64_t total = 0, tiny = 0, bns = 0;
  for (const Node& n : dn.nodes()) {
    if (n.op != "BatchNormalization") continue;
    ++bns;
    const Tensor& gd = *dn.value(n.inputs[1]).constant;
    const Tensor& gp = weight(plain, dn.value(n.inputs[1]).name);
    int64_t t = 0;
    for (int64_t i = 0; i < gd.numel(); ++i) {
      const float v = gd.data<float>()[i];
      if (is_tiny(v)) {
        ++t;
        EXPECT_GE(std::fabs(double(v)), 0.9e-39);
      } else {
        // The other gammas are the plain model's.
        EXPECT_EQ(std::memcmp(&v, gp.data<float>() + i, sizeof v), 0);
      }
    }
    EXPECT_NEAR(double(t) / gd.numel(), 0.3, 0.05) << n.name;
    total += gd.numel();
    tiny += t;
    // Betas and statistics are unchanged.
    EXPECT_EQ(std::memcmp(dn.value(n.inputs[2]).constant->raw(), weight(plain, dn.value(n.inputs[2]).name).raw(),
                          gd.nbytes()), 0);
  }
  EXPECT_EQ(bns, 20);
  EXPECT_NEAR(double(tiny) / total, 0.3, 0.01);
  for (const Node& n : plain.nodes()) {
    if (n.op != "BatchNormalization") continue;
    for (float v : plain.value(n.inputs[1]).constant->to_f32_vector()) EXPECT_FALSE(is_tiny(v));
  }
}

// The exported zoo models are valid ONNX to ONNX's own checker and shape
// inference.
TEST(Zoo, ExportPassesOnnxChecker) {
  for (const char* name : {"tiny_cnn", "mobilenet_v2", "resnet50"}) {
    SCOPED_TRACE(name);
    ZooOptions o;
    if (std::string(name) == "resnet50") o.input_shape = {-1, 3, 224, 224};
    auto bytes = serialize_onnx(build(name, o));
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
    onnx::ModelProto m;
    ASSERT_TRUE(m.ParseFromString(*bytes));
    EXPECT_EQ(m.ir_version(), 8);
    ASSERT_EQ(m.opset_import_size(), 1);
    EXPECT_EQ(m.opset_import(0).version(), 13);
    EXPECT_NO_THROW(onnx::checker::check_model(m));
    EXPECT_NO_THROW(onnx::shape_inference::InferShapes(m));
    const auto& out = m.graph().output(0);
    EXPECT_EQ(out.name(), "output");
    const auto& dims = out.type().tensor_type().shape().dim();
    ASSERT_EQ(dims.size(), 2);
    if (std::string(name) == "resnet50") {
      EXPECT_EQ(dims[0].dim_param(), "batch");
      EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
    } else {
      EXPECT_EQ(dims[0].dim_value(), 1);
    }
    for (const auto& init : m.graph().initializer()) {
      EXPECT_TRUE(init.has_raw_data()) << init.name();
      EXPECT_EQ(init.float_data_size(), 0);
    }
  }
}

}  // namespace
}  // namespace anvil

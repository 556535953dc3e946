#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/onnx/onnx_export.h"
#include "ir/op_registry.h"

namespace anvil {
namespace {

onnx::ModelProto export_model(const Graph& g, const OnnxExportOptions& o = {}) {
  auto bytes = serialize_onnx(g, o);
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  onnx::ModelProto m;
  if (bytes.is_ok()) {
    EXPECT_TRUE(m.ParseFromString(*bytes));
  }
  return m;
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

// x[2x3x4] -> Softmax(axis, legacy_2d) -> y
Graph softmax_graph(int64_t axis, int64_t legacy) {
  Graph g;
  const ValueId x = g.add_value("x", DType::kF32, Shape{2, 3, 4});
  g.inputs.push_back(x);
  const ValueId y = g.add_value("y", DType::kF32, Shape{2, 3, 4});
  Node n{.name = "sm", .op = "Softmax", .inputs = {x}, .outputs = {y}};
  n.attrs.set("axis", axis);
  n.attrs.set("legacy_2d", legacy);
  g.add_node(std::move(n));
  g.outputs.push_back(y);
  return g;
}

TEST(OnnxExport, LegacySoftmaxIsSpelledOut) {
  const onnx::ModelProto m = export_model(softmax_graph(1, 1));
  const auto& nodes = m.graph().node();
  ASSERT_EQ(nodes.size(), 4);
  EXPECT_EQ(nodes[0].op_type(), "Flatten");
  EXPECT_EQ(find_attr(nodes[0], "axis")->i(), 1);
  EXPECT_EQ(nodes[1].op_type(), "Softmax");
  EXPECT_EQ(find_attr(nodes[1], "axis")->i(), -1);
  EXPECT_EQ(find_attr(nodes[1], "legacy_2d"), nullptr);
  EXPECT_EQ(nodes[2].op_type(), "Shape");
  EXPECT_EQ(nodes[3].op_type(), "Reshape");
  EXPECT_EQ(nodes[3].output(0), "y");
  EXPECT_NO_THROW(onnx::checker::check_model(m));
}

TEST(OnnxExport, SoftmaxOnTheLastAxisNeedsNoRewrite) {
  for (int64_t axis : {2, -1}) {
    const onnx::ModelProto m = export_model(softmax_graph(axis, 1));
    ASSERT_EQ(m.graph().node_size(), 1);
    EXPECT_EQ(find_attr(m.graph().node(0), "axis")->i(), 2);
    EXPECT_EQ(find_attr(m.graph().node(0), "legacy_2d"), nullptr);
  }
  const onnx::ModelProto m = export_model(softmax_graph(1, 0));
  ASSERT_EQ(m.graph().node_size(), 1);
  EXPECT_EQ(find_attr(m.graph().node(0), "axis")->i(), 1);
  EXPECT_EQ(find_attr(m.graph().node(0), "legacy_2d"), nullptr);
}

TEST(OnnxExport, AttributesInitializersAndTypes) {
  Graph g;
  g.name = "mixed";
  const ValueId x = g.add_value("x", DType::kF32, Shape{-1, 4});
  g.value(x).dim_names = {"n", ""};
  g.inputs.push_back(x);
  const ValueId w = g.add_initializer("w", Tensor::from_vector<float>(Shape{4}, {1, 2, 3, 4}));
  const ValueId lo = g.add_initializer("lo", Tensor::scalar<float>(0.f));
  const ValueId sum = g.add_value("sum");
  const ValueId clipped = g.add_value("clipped");
  const ValueId y = g.add_value("y", DType::kI64, Shape{-1, 4});
  g.value(y).dim_names = {"n", ""};
  g.add_node(Node{.name = "add", .op = "Add", .inputs = {x, w}, .outputs = {sum}});
  // Clip with min but no max: the omitted trailing input disappears.
  g.add_node(Node{.name = "clip", .op = "Clip", .inputs = {sum, lo, kNoValue}, .outputs = {clipped}});
  Node cast{.name = "cast", .op = "Cast", .inputs = {clipped}, .outputs = {y}};
  cast.attrs.set("to", std::string("i64"));
  g.add_node(std::move(cast));
  g.outputs.push_back(y);

  const onnx::ModelProto m = export_model(g);
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  const auto& gp = m.graph();
  EXPECT_EQ(gp.name(), "mixed");
  ASSERT_EQ(gp.initializer_size(), 2);
  EXPECT_EQ(gp.initializer(0).name(), "w");
  EXPECT_EQ(gp.initializer(0).raw_data().size(), 16u);
  EXPECT_EQ(gp.initializer(1).dims_size(), 0);
  EXPECT_EQ(gp.node(1).input_size(), 2);
  EXPECT_EQ(find_attr(gp.node(2), "to")->type(), onnx::AttributeProto::INT);
  EXPECT_EQ(find_attr(gp.node(2), "to")->i(), onnx::TensorProto_DataType_INT64);
  EXPECT_EQ(gp.input(0).type().tensor_type().shape().dim(0).dim_param(), "n");
  EXPECT_EQ(gp.output(0).type().tensor_type().elem_type(), onnx::TensorProto_DataType_INT64);
}

TEST(OnnxExport, EveryAttributeKind) {
  Graph g;
  const ValueId x = g.add_value("x", DType::kF32, Shape{1});
  g.inputs.push_back(x);
  const ValueId y = g.add_value("y", DType::kF32, Shape{1});
  Node n{.name = "n", .op = "Identity", .inputs = {x}, .outputs = {y}};
  n.attrs.set("i", int64_t{3});
  n.attrs.set("f", 0.5f);
  n.attrs.set("s", std::string("abc"));
  n.attrs.set("is", std::vector<int64_t>{1, 2});
  n.attrs.set("fs", std::vector<float>{1.5f});
  n.attrs.set("ss", std::vector<std::string>{"a", "b"});
  n.attrs.set("t", Tensor::from_vector<int32_t>(Shape{2}, {7, 8}));
  g.add_node(std::move(n));
  g.outputs.push_back(y);
  const onnx::ModelProto m = export_model(g);
  const auto& node = m.graph().node(0);
  EXPECT_EQ(find_attr(node, "i")->type(), onnx::AttributeProto::INT);
  EXPECT_EQ(find_attr(node, "f")->f(), 0.5f);
  EXPECT_EQ(find_attr(node, "s")->s(), "abc");
  EXPECT_EQ(find_attr(node, "is")->ints_size(), 2);
  EXPECT_EQ(find_attr(node, "fs")->type(), onnx::AttributeProto::FLOATS);
  EXPECT_EQ(find_attr(node, "ss")->strings(1), "b");
  const auto& t = find_attr(node, "t")->t();
  EXPECT_EQ(t.data_type(), onnx::TensorProto_DataType_INT32);
  EXPECT_EQ(t.raw_data().size(), 8u);
}

TEST(OnnxExport, Errors) {
  OnnxExportOptions o;
  o.opset = 11;
  auto r = serialize_onnx(softmax_graph(1, 0), o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);

  Graph g = softmax_graph(1, 0);
  Node cast{.name = "bad_cast", .op = "Cast", .inputs = {g.outputs[0]}, .outputs = {g.add_value("z", DType::kF32, Shape{2, 3, 4})}};
  cast.attrs.set("to", std::string("complex64"));
  g.add_node(std::move(cast));
  r = serialize_onnx(g);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("bad_cast"), std::string::npos) << r.status().message();

  // A value nobody defines.
  Graph h;
  const ValueId x = h.add_value("x", DType::kF32, Shape{1});
  h.inputs.push_back(x);
  const ValueId ghost = h.add_value("ghost");
  const ValueId y = h.add_value("y", DType::kF32, Shape{1});
  h.add_node(Node{.name = "add", .op = "Add", .inputs = {x, ghost}, .outputs = {y}});
  h.outputs.push_back(y);
  r = serialize_onnx(h);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("ghost"), std::string::npos) << r.status().message();

  Status s = save_onnx(softmax_graph(1, 0), "/nonexistent_dir_for_anvil/x.onnx");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("/nonexistent_dir_for_anvil/x.onnx"), std::string::npos);
}

TEST(OnnxExport, UntypedOutputsAreInferred) {
  register_all_ops();
  Graph g;
  const ValueId x = g.add_value("x", DType::kF32, Shape{2, 5});
  g.inputs.push_back(x);
  const ValueId y = g.add_value("y");
  g.add_node(Node{.name = "relu", .op = "Relu", .inputs = {x}, .outputs = {y}});
  g.outputs.push_back(y);
  const onnx::ModelProto m = export_model(g);
  const auto& out = m.graph().output(0).type().tensor_type();
  EXPECT_EQ(out.elem_type(), onnx::TensorProto_DataType_FLOAT);
  ASSERT_EQ(out.shape().dim_size(), 2);
  EXPECT_EQ(out.shape().dim(1).dim_value(), 5);
}

TEST(OnnxExport, SaveWritesTheSerializedBytes) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) / "anvil_export.onnx").string();
  const Graph g = softmax_graph(1, 1);
  ASSERT_TRUE(save_onnx(g, path).is_ok());
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), *serialize_onnx(g));
}

}  // namespace
}  // namespace anvil

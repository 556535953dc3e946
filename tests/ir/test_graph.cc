#include <gtest/gtest.h>

#include "ir/graph.h"
#include "ir/graph_stats.h"
#include "ir/op_registry.h"
#include "ir/printer.h"

namespace anvil {
namespace {

// x -> Relu -> r ; r + bias -> y   (nodes added out of order on purpose)
Graph small_graph(bool reversed) {
  register_all_ops();
  Graph g;
  g.name = "small";
  const ValueId x = g.add_value("x", DType::kF32, {1, 4});
  g.inputs.push_back(x);
  const ValueId b = g.add_initializer("bias", Tensor::from_vector<float>({4}, {1, 2, 3, 4}));
  const ValueId r = g.add_value("r");
  const ValueId y = g.add_value("y");
  Node relu{.name = "relu", .op = "Relu", .inputs = {x}, .outputs = {r}};
  Node add{.name = "add", .op = "Add", .inputs = {r, b}, .outputs = {y}};
  if (reversed) {
    g.add_node(add);
    g.add_node(relu);
  } else {
    g.add_node(relu);
    g.add_node(add);
  }
  g.outputs.push_back(y);
  return g;
}

TEST(Graph, TopoSortOrdersProducersFirst) {
  Graph g = small_graph(true);
  EXPECT_FALSE(g.verify().is_ok()) << "add uses r before relu defines it";
  ASSERT_TRUE(g.topo_sort().is_ok());
  EXPECT_EQ(g.nodes()[0].name, "relu");
  EXPECT_EQ(g.nodes()[1].name, "add");
  EXPECT_TRUE(g.verify().is_ok());
  EXPECT_EQ(g.value(g.find_value("y")).producer, 1);
}

TEST(Graph, CycleIsReportedWithANode) {
  Graph g = small_graph(false);
  // Make relu consume add's output: relu -> add -> relu.
  g.nodes()[0].inputs[0] = g.find_value("y");
  Status s = g.topo_sort();
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("cycle"), std::string::npos) << s.message();
}

TEST(Graph, VerifyRejectsDoubleDefinitionAndUnknownOps) {
  Graph g = small_graph(false);
  g.nodes()[1].outputs[0] = g.find_value("r");
  g.relink();
  Status s = g.verify();
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("defined more than once"), std::string::npos) << s.message();

  Graph h = small_graph(false);
  h.nodes()[0].op = "FancyOp";
  s = h.verify();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("FancyOp"), std::string::npos);
}

TEST(Graph, InferShapesBroadcastsAndCounts) {
  Graph g = small_graph(false);
  ASSERT_TRUE(infer_shapes(g).is_ok());
  const Value& y = g.value(g.find_value("y"));
  EXPECT_TRUE(y.has_type);
  EXPECT_EQ(y.shape, Shape({1, 4}));
  GraphStats st = graph_stats(g);
  EXPECT_EQ(st.parameters, 4);
  EXPECT_EQ(st.op_histogram["Relu"], 1);
  EXPECT_EQ(st.flops, 8);  // 4 for Relu + 4 for Add
}

TEST(Graph, DynamicInputNeedsBinding) {
  Graph g = small_graph(false);
  Value& x = g.value(g.find_value("x"));
  x.shape = Shape({-1, 4});
  x.dim_names = {"batch", ""};
  Status s = infer_shapes(g);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'batch'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--shape x:1,4"), std::string::npos) << s.message();
  ASSERT_TRUE(bind_input_shapes(g, {{"x", Shape({3, 4})}}).is_ok());
  ASSERT_TRUE(infer_shapes(g).is_ok());
  EXPECT_EQ(g.value(g.find_value("y")).shape, Shape({3, 4}));
  Status bad = bind_input_shapes(g, {{"nope", Shape({1})}});
  EXPECT_NE(bad.message().find("inputs: x"), std::string::npos) << bad.message();
}

TEST(Graph, ShapeErrorsNameNodeOpAndShapes) {
  Graph g = small_graph(false);
  g.value(g.find_value("bias")).constant = Tensor::from_vector<float>({3}, {1, 2, 3});
  g.value(g.find_value("bias")).shape = Shape({3});
  Status s = infer_shapes(g);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("node 'add' (Add)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("f32[1x4]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("f32[3]"), std::string::npos) << s.message();
}

TEST(Graph, ConstantSubgraphsFoldDuringInference) {
  register_all_ops();
  Graph g;
  const ValueId x = g.add_value("x", DType::kF32, {2, 3, 4});
  g.inputs.push_back(x);
  const ValueId shp = g.add_value("shp");
  g.add_node(Node{.name = "shape", .op = "Shape", .inputs = {x}, .outputs = {shp}});
  g.outputs.push_back(shp);
  ASSERT_TRUE(infer_shapes(g).is_ok());
  const Value& v = g.value(shp);
  ASSERT_TRUE(v.constant.has_value());
  EXPECT_EQ(v.constant->to_i64_vector(), (std::vector<int64_t>{2, 3, 4}));
}

TEST(Printer, TextAndDotMentionEveryNode) {
  Graph g = small_graph(false);
  ASSERT_TRUE(infer_shapes(g).is_ok());
  const std::string text = graph_to_text(g);
  EXPECT_NE(text.find("%r: f32[1x4] = Relu(%x)"), std::string::npos) << text;
  EXPECT_NE(text.find("Add(%r, @bias)"), std::string::npos) << text;
  const std::string dot = graph_to_dot(g);
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  EXPECT_NE(dot.find("\"n0\" -> \"n1\""), std::string::npos) << dot;
}

}  // namespace
}  // namespace anvil

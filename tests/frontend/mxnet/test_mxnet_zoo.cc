// The MXNet-layout zoo: checkpoints round-trip through the file formats, and
// the same network written as MXNet and as ONNX gives the same outputs.
#include <gtest/gtest.h>

#include <cmath>

#include "frontend/mxnet/mxnet_import.h"
#include "frontend/mxnet/mxnet_zoo.h"
#include "frontend/onnx/onnx_export.h"
#include "frontend/onnx/onnx_import.h"
#include "runtime/executor.h"

namespace anvil::mxnet {
namespace {

Tensor uniform_input(Shape s) {
  Tensor t(DType::kF32, s);
  uint64_t x = 12345;
  for (int64_t i = 0; i < t.numel(); ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    t.data<float>()[i] = static_cast<float>(static_cast<double>(x >> 11) / 9007199254740992.0 * 2 - 1);
  }
  return t;
}

Result<Tensor> run_graph(Graph g, const Tensor& x) {
  ANVIL_ASSIGN_OR_RETURN(auto ex, Executor::create(std::move(g)));
  std::vector<Tensor> out;
  ANVIL_TRY(ex->run({x}, out));
  return out[0];
}

void check_mxnet_vs_onnx(const std::string& name, const Shape& shape, const Shape& out_shape) {
  auto c = build_mxnet_zoo_model(name, 1);
  ASSERT_TRUE(c) << c.status().to_string();
  // Through the file formats, in memory.
  auto pbytes = serialize_ndarray_list(c->params);
  ASSERT_TRUE(pbytes);
  auto params = parse_ndarray_list(*pbytes, name + "-0000.params");
  ASSERT_TRUE(params) << params.status().to_string();
  auto sym = parse_mx_symbol(serialize_mx_symbol(c->symbol, c->num_outputs), name + "-symbol.json");
  ASSERT_TRUE(sym) << sym.status().to_string();
  auto g = import_mxnet(*sym, *params, name + "-symbol.json", name + "-0000.params", {.shapes = {{"data", shape}}});
  ASSERT_TRUE(g) << g.status().to_string();

  auto onnx_bytes = serialize_onnx(*g);
  ASSERT_TRUE(onnx_bytes) << onnx_bytes.status().to_string();
  auto og = parse_onnx(*onnx_bytes, name + ".onnx");
  ASSERT_TRUE(og) << og.status().to_string();
  ASSERT_TRUE(bind_input_shapes(*og, {{"data", shape}}).is_ok());

  const Tensor x = uniform_input(shape);
  auto a = run_graph(*g, x);
  ASSERT_TRUE(a) << a.status().to_string();
  auto b = run_graph(*og, x);
  ASSERT_TRUE(b) << b.status().to_string();
  ASSERT_EQ(a->shape(), out_shape);
  ASSERT_EQ(b->shape(), out_shape);
  double max_diff = 0, max_ref = 0;
  bool finite = true;
  for (int64_t i = 0; i < a->numel(); ++i) {
    const double u = a->data<float>()[i], v = b->data<float>()[i];
    finite &= std::isfinite(u);
    max_diff = std::max(max_diff, std::fabs(u - v));
    max_ref = std::max(max_ref, std::fabs(u));
  }
  EXPECT_TRUE(finite);
  EXPECT_GT(max_ref, 0);
  EXPECT_LE(max_diff, 1e-5 * max_ref) << name;
  std::printf("  %s: MXNet vs ONNX max|diff| %.3g (max|y| %.3g)\n", name.c_str(), max_diff, max_ref);
}

TEST(MxZoo, LResNet100EIrMxnetEqualsOnnx) {
  check_mxnet_vs_onnx("LResNet100E-IR", Shape{1, 3, 112, 112}, Shape{1, 512});
}

TEST(MxZoo, ResNet101LayoutImports) {
  auto c = build_mxnet_zoo_model("resnet101");
  ASSERT_TRUE(c);
  auto g = import_mxnet(c->symbol, c->params, "resnet101-symbol.json", "resnet101-0000.params",
                        {.shapes = {{"data", {1, 3, 224, 224}}}});
  ASSERT_TRUE(g) << g.status().to_string();
  ASSERT_EQ(g->inputs.size(), 1u);  // softmax_label dropped
  EXPECT_EQ(g->value(g->outputs[0]).name, "softmax_output");
  ASSERT_TRUE(infer_shapes(*g).is_ok());
  EXPECT_EQ(g->value(g->outputs[0]).shape, Shape({1, 1000}));
  int convs = 0;
  for (const Node& n : g->nodes()) convs += n.op == "Conv";
  EXPECT_EQ(convs, 104);  // 1 + 3*33 + 4 projection shortcuts
  EXPECT_FALSE(build_mxnet_zoo_model("resnet9000"));
}

}  // namespace
}  // namespace anvil::mxnet

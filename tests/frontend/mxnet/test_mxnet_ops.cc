// MXNet op translations, one tiny symbol each, against hand-computed values
// (MXNet semantics and attribute defaults).
#include <gtest/gtest.h>

#include <cmath>

#include "frontend/mxnet/mxnet_import.h"
#include "runtime/executor.h"

namespace anvil::mxnet {
namespace {

struct Param {
  std::string name;
  Tensor value;
};

// data -> OP(data, params...) with `attrs` (a JSON object body).
Result<std::vector<Tensor>> run_op(const std::string& op, const std::string& attrs, const Tensor& x,
                                   const std::vector<Param>& params = {}, int outputs = 1) {
  std::string nodes = R"J({"op": "null", "name": "data", "inputs": []})J";
  std::string ins = "[0, 0, 0]";
  NDArrayList pl;
  for (size_t i = 0; i < params.size(); ++i) {
    nodes += ", {\"op\": \"null\", \"name\": \"" + params[i].name + "\", \"inputs\": []}";
    ins += ", [" + std::to_string(i + 1) + ", 0, 0]";
    pl.names.push_back("arg:" + params[i].name);
    pl.arrays.push_back(params[i].value);
  }
  const size_t id = params.size() + 1;
  nodes += ", {\"op\": \"" + op + "\", \"name\": \"op\", \"attrs\": {" + attrs + "}, \"inputs\": [" + ins + "]}";
  std::string heads;
  for (int o = 0; o < outputs; ++o) heads += (o ? ", [" : "[") + std::to_string(id) + ", " + std::to_string(o) + ", 0]";
  const std::string json = "{\"nodes\": [" + nodes + "], \"heads\": [" + heads + "]}";
  auto sym = parse_mx_symbol(json, "op-symbol.json");
  if (!sym) return sym.status();
  auto g = import_mxnet(*sym, pl, "op-symbol.json", "op.params", {.shapes = {{"data", x.shape()}}});
  if (!g) return g.status();
  auto ex = Executor::create(std::move(g).value());
  if (!ex) return ex.status();
  std::vector<Tensor> out;
  ANVIL_TRY((*ex)->run({x}, out));
  return out;
}

Tensor tf(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(std::move(s), v); }
Tensor iota(Shape s) {
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

void expect_values(const Result<std::vector<Tensor>>& r, const Shape& shape, const std::vector<float>& want,
                   size_t output = 0, float tol = 1e-5f) {
  ASSERT_TRUE(r) << r.status().to_string();
  const Tensor& t = (*r)[output];
  ASSERT_EQ(t.shape(), shape) << t.desc();
  const std::vector<float> got = t.to_f32_vector();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "element " << i;
}

TEST(MxOpImport, PoolingConventions) {
  const Tensor x = iota({1, 1, 1, 5});
  // valid: floor -> 2 windows; full: ceil -> 3, the last one partial.
  expect_values(run_op("Pooling", R"J("kernel": "(1, 2)", "stride": "(1, 2)")J", x), Shape({1, 1, 1, 2}), {1, 3});
  expect_values(run_op("Pooling", R"J("kernel": "(1, 2)", "stride": "(1, 2)", "pooling_convention": "full")J", x),
                Shape({1, 1, 1, 3}), {1, 3, 4});
  // avg, count_include_pad default True: pad 1, kernel 3, stride 2 over 0..4.
  expect_values(run_op("Pooling", R"J("kernel": "(1, 3)", "stride": "(1, 2)", "pad": "(0, 1)", "pool_type": "avg")J", x),
                Shape({1, 1, 1, 3}), {1.0f / 3, 6.0f / 3, 7.0f / 3});
  expect_values(run_op("Pooling", R"J("kernel": "(1, 3)", "stride": "(1, 2)", "pad": "(0, 1)", "pool_type": "avg",
                         "count_include_pad": "False")J", x),
                Shape({1, 1, 1, 3}), {0.5f, 2, 3.5f});
  // full convention where MXNet keeps a window starting in the end padding
  // (ONNX ceil_mode would drop it): in 3, k 1, s 2, pad 1 -> 1 + ceil(4/2) = 3.
  expect_values(run_op("Pooling", R"J("kernel": "(1, 1)", "stride": "(1, 2)", "pad": "(0, 1)",
                         "pooling_convention": "full")J", iota({1, 1, 1, 3})),
                Shape({1, 1, 1, 3}), {-3.402823466e38f, 1, -3.402823466e38f});
  expect_values(run_op("Pooling", R"J("kernel": "(1, 2)", "stride": "(1, 2)", "pool_type": "sum")J", x),
                Shape({1, 1, 1, 2}), {1, 5});
  expect_values(run_op("Pooling", R"J("global_pool": "True", "kernel": "(1, 1)", "pool_type": "sum")J", x),
                Shape({1, 1, 1, 1}), {10});
  expect_values(run_op("Pooling", R"J("global_pool": "True", "pool_type": "avg")J", x), Shape({1, 1, 1, 1}), {2});
}

TEST(MxOpImport, BatchNormDefaults) {
  const Tensor x = tf({1, 2, 1, 1}, {1, 2});
  const std::vector<Param> p = {{"g", tf({2}, {2, 3})}, {"b", tf({2}, {10, 20})}, {"m", tf({2}, {0, 1})},
                                {"v", tf({2}, {1, 4})}};
  // fix_gamma defaults to True: gamma is 1 whatever is stored; eps 1e-3.
  expect_values(run_op("BatchNorm", "", x, p), Shape({1, 2, 1, 1}),
                {static_cast<float>(10 + 1 / std::sqrt(1.001)), static_cast<float>(20 + 1 / std::sqrt(4.001))});
  expect_values(run_op("BatchNorm", R"J("fix_gamma": "False", "eps": "0")J", x, p), Shape({1, 2, 1, 1}),
                {12, 21.5f});
  auto bad = run_op("BatchNorm", R"J("axis": "3")J", x, p);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("node 'op' (BatchNorm): axis 3 is not supported"), std::string::npos)
      << bad.status().message();
}

TEST(MxOpImport, ActivationsAndLeakyRelu) {
  const Tensor x = tf({1, 2, 1, 1}, {-1, 2});
  expect_values(run_op("Activation", R"J("act_type": "softrelu")J", x), x.shape(), {0.3132617f, 2.1269280f});
  expect_values(run_op("Activation", R"J("act_type": "softsign")J", x), x.shape(), {-0.5f, 2.0f / 3});
  expect_values(run_op("LeakyReLU", "", x), x.shape(), {-0.25f, 2});  // leaky, slope 0.25
  expect_values(run_op("LeakyReLU", R"J("act_type": "elu", "slope": "1")J", x), x.shape(), {-0.6321206f, 2});
  expect_values(run_op("LeakyReLU", R"J("act_type": "prelu")J", x, {{"gamma", tf({2}, {0.5f, 7})}}), x.shape(),
                {-0.5f, 2});
  expect_values(run_op("LeakyReLU", R"J("act_type": "gelu")J", x), x.shape(), {-0.1586553f, 1.9544997f});
  auto bad = run_op("Activation", R"J("act_type": "swishy")J", x);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("act_type 'swishy'"), std::string::npos);
}

TEST(MxOpImport, ShapesAndReductions) {
  const Tensor x = iota({2, 3, 2});
  expect_values(run_op("Reshape", R"J("shape": "(0, -1)")J", x), Shape({2, 6}), x.to_f32_vector());
  expect_values(run_op("SliceChannel", R"J("num_outputs": "3", "squeeze_axis": "1")J", x, {}, 3), Shape({2, 2}),
                {2, 3, 8, 9}, 1);
  expect_values(run_op("sum", R"J("axis": "1", "keepdims": "True")J", x), Shape({2, 1, 2}), {6, 9, 24, 27});
  // Reducing everything gives shape (1,) in MXNet.
  expect_values(run_op("mean", "", x), Shape({1}), {5.5f});
  expect_values(run_op("sum", R"J("axis": "(0, 2)", "exclude": "True")J", x), Shape({2, 2}), {6, 9, 24, 27});
  expect_values(run_op("tile", R"J("reps": "(2,)")J", tf({1, 2}, {1, 2})), Shape({1, 4}), {1, 2, 1, 2});
  expect_values(run_op("tile", R"J("reps": "(2, 1, 1)")J", tf({1, 2}, {1, 2})), Shape({2, 1, 2}), {1, 2, 1, 2});
  expect_values(run_op("slice_axis", R"J("axis": "1", "begin": "1", "end": "None")J", x), Shape({2, 2, 2}),
                {2, 3, 4, 5, 8, 9, 10, 11});
  expect_values(run_op("expand_dims", R"J("axis": "-1")J", tf({2}, {1, 2})), Shape({2, 1}), {1, 2});
  expect_values(run_op("transpose", "", tf({2, 1}, {1, 2})), Shape({1, 2}), {1, 2});
  expect_values(run_op("clip", R"J("a_min": "0", "a_max": "1.5")J", tf({3}, {-1, 1, 2})), Shape({3}), {0, 1, 1.5f});
  expect_values(run_op("_rminus_scalar", R"J("scalar": "10")J", tf({2}, {1, 2})), Shape({2}), {9, 8});
  expect_values(run_op("_rdiv_scalar", R"J("scalar": "1")J", tf({2}, {2, 4})), Shape({2}), {0.5f, 0.25f});
  expect_values(run_op("L2Normalization", "", tf({1, 2}, {3, 4})), Shape({1, 2}), {0.6f, 0.8f});
  expect_values(run_op("softmax", R"J("temperature": "2")J", tf({2}, {0, 2})), Shape({2}),
                {0.2689414f, 0.7310586f});
  expect_values(run_op("SoftmaxOutput", "", tf({1, 2}, {0, 0})), Shape({1, 2}), {0.5f, 0.5f});
  expect_values(run_op("Cast", R"J("dtype": "int32")J", tf({2}, {1.7f, -2})), Shape({2}), {1, -2});
}

TEST(MxOpImport, FullyConnected) {
  const Tensor x = tf({1, 2, 1, 1}, {1, 2});
  const std::vector<Param> p = {{"w", tf({3, 2}, {1, 0, 0, 1, 1, 1})}, {"b", tf({3}, {0, 10, 100})}};
  expect_values(run_op("FullyConnected", R"J("num_hidden": "3")J", x, p), Shape({1, 3}), {1, 12, 103});
  expect_values(run_op("FullyConnected", R"J("num_hidden": "3", "flatten": "False")J", tf({2, 2}, {1, 2, 3, 4}), p),
                Shape({2, 3}), {1, 12, 103, 3, 14, 107});
  auto bad = run_op("FullyConnected", R"J("num_hidden": "4")J", x, p);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("num_hidden 4"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace anvil::mxnet

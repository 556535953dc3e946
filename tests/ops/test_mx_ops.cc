// Ops added for the MXNet frontend: Sqrt, Softplus, Softsign, Selu, Gelu,
// ReduceSum, Tile, MxReshape. Expected values are computed by hand.
#include <cmath>
#include <limits>

#include "ops/op_test_util.h"

namespace anvil::testing {
namespace {

std::vector<Tensor> run1(const std::string& op, std::vector<Tensor> in, Attrs a = {}) {
  auto r = run_single_op(op, std::move(in), std::move(a));
  EXPECT_TRUE(r) << op << ": " << r.status().to_string();
  return r ? *r : std::vector<Tensor>{};
}

TEST(MxOps, UnaryMath) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_tensor_near(run1("Sqrt", {tf({5}, {0, 1, 4, 9, -1})})[0], {0, 1, 2, 3, nan}, Shape{5});
  // ln(1 + e^x): ln 2, ln(1 + e), ln(1 + 1/e), and no overflow at 100.
  expect_tensor_near(run1("Softplus", {tf({4}, {0, 1, -1, 100})})[0], {0.6931472f, 1.3132617f, 0.3132617f, 100},
                     Shape{4});
  expect_tensor_near(run1("Softsign", {tf({3}, {-3, 0, 1})})[0], {-0.75f, 0, 0.5f}, Shape{3});
  // gamma * alpha * (e^-1 - 1) = 1.0507010 * 1.6732632 * -0.6321206
  expect_tensor_near(run1("Selu", {tf({3}, {1, -1, 0})})[0], {1.0507010f, -1.1113307f, 0}, Shape{3});
  expect_tensor_near(run1("Selu", {tf({2}, {2, -1})}, make_attrs({{"alpha", 2.0f}, {"gamma", 3.0f}}))[0],
                     {6, 3 * 2 * -0.6321206f}, Shape{2});
  // 0.5 x (1 + erf(x / sqrt 2)): Phi(1) = 0.8413447
  expect_tensor_near(run1("Gelu", {tf({3}, {0, 1, -1})})[0], {0, 0.8413447f, -0.1586553f}, Shape{3});
  expect_tensor_near(run1("Gelu", {tf({1}, {1})}, make_attrs({{"approximate", std::string("tanh")}}))[0],
                     {0.8411920f}, Shape{1});
  expect_error(run_single_op("Gelu", {tf({1}, {1})}, make_attrs({{"approximate", std::string("cubic")}})),
               StatusCode::kInvalidModel, {"approximate"});
  expect_error(run_single_op("Sqrt", {ti64({1}, {4})}, {}), StatusCode::kInvalidModel, {"Sqrt", "i64"});
}

TEST(MxOps, ReduceSum) {
  const Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_tensor_near(run1("ReduceSum", {x, ti64({1}, {1})}, make_attrs({{"keepdims", int64_t{0}}}))[0], {6, 15},
                     Shape{2});
  expect_tensor_near(run1("ReduceSum", {x, ti64({1}, {0})})[0], {5, 7, 9}, Shape({1, 3}));
  expect_tensor_near(run1("ReduceSum", {x, ti64({1}, {-1})})[0], {6, 15}, Shape({2, 1}));
  expect_tensor_near(run1("ReduceSum", {x})[0], {21}, Shape({1, 1}));
  expect_tensor_near(run1("ReduceSum", {x}, make_attrs({{"keepdims", int64_t{0}}}))[0], {21}, Shape{});
  expect_tensor_near(run1("ReduceSum", {x}, make_attrs({{"noop_with_empty_axes", int64_t{1}}}))[0], {1, 2, 3, 4, 5, 6},
                     Shape({2, 3}));
  // Middle axis of a 2x2x2.
  expect_tensor_near(run1("ReduceSum", {tf({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), ti64({1}, {1})})[0], {4, 6, 12, 14},
                     Shape({2, 1, 2}));
  auto xi = Tensor::from_vector<int32_t>(Shape{3}, {1, -2, 7});
  expect_tensor_near(run1("ReduceSum", {xi})[0], {6}, Shape{1});
  expect_error(run_single_op("ReduceSum", {x, ti64({1}, {2})}, {}), StatusCode::kInvalidArgument, {"axes"});
  expect_error(run_single_op("ReduceSum", {x, ti64({2}, {1, -1})}, {}), StatusCode::kInvalidModel, {"repeats"});
}

TEST(MxOps, Tile) {
  const Tensor x = tf({2, 2}, {1, 2, 3, 4});
  expect_tensor_near(run1("Tile", {x, ti64({2}, {1, 2})})[0], {1, 2, 1, 2, 3, 4, 3, 4}, Shape({2, 4}));
  expect_tensor_near(run1("Tile", {x, ti64({2}, {2, 1})})[0], {1, 2, 3, 4, 1, 2, 3, 4}, Shape({4, 2}));
  expect_tensor_near(run1("Tile", {x, ti64({2}, {2, 2})})[0], {1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4},
                     Shape({4, 4}));
  // GNAP: (1,1,2,1) tiled over channels.
  expect_tensor_near(run1("Tile", {tf({1, 1, 2, 1}, {5, 6}), ti64({4}, {1, 3, 1, 1})})[0], {5, 6, 5, 6, 5, 6},
                     Shape({1, 3, 2, 1}));
  expect_tensor_near(run1("Tile", {x, ti64({2}, {0, 1})})[0], {}, Shape({0, 2}));
  expect_error(run_single_op("Tile", {x, ti64({1}, {2})}, {}), StatusCode::kInvalidModel, {"rank 2"});
  expect_error(run_single_op("Tile", {x, ti64({2}, {-1, 1})}, {}), StatusCode::kInvalidModel, {"negative"});
}

Shape mx_reshape(const Shape& in, std::vector<int64_t> codes, bool reverse = false) {
  Tensor x(DType::kF32, in);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i);
  Attrs a = make_attrs({{"shape", codes}});
  if (reverse) a.set("reverse", int64_t{1});
  auto r = run_single_op("MxReshape", {x}, a);
  EXPECT_TRUE(r) << r.status().to_string();
  if (!r) return Shape{};
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ((*r)[0].data<float>()[i], static_cast<float>(i));
  return (*r)[0].shape();
}

TEST(MxOps, MxReshapeSpecialCodes) {
  // The examples of MXNet's Reshape documentation.
  EXPECT_EQ(mx_reshape({2, 3, 4}, {4, 0, 2}), Shape({4, 3, 2}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {2, 0, 0}), Shape({2, 3, 4}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {6, 1, -1}), Shape({6, 1, 4}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {3, -1, 8}), Shape({3, 1, 8}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {-1}), Shape({24}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {-2}), Shape({2, 3, 4}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {2, -2}), Shape({2, 3, 4}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {-2, 1, 1}), Shape({2, 3, 4, 1, 1}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {-3, 4}), Shape({6, 4}));
  EXPECT_EQ(mx_reshape({2, 3, 4, 5}, {-3, -3}), Shape({6, 20}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {0, -3}), Shape({2, 12}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {-3, -2}), Shape({6, 4}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {-4, 1, 2, -2}), Shape({1, 2, 3, 4}));
  EXPECT_EQ(mx_reshape({2, 3, 4}, {2, -4, -1, 3, -2}), Shape({2, 1, 3, 4}));
  EXPECT_EQ(mx_reshape({10, 5, 4}, {-1, 0}), Shape({40, 5}));
  EXPECT_EQ(mx_reshape({10, 5, 4}, {-1, 0}, true), Shape({50, 4}));
  Tensor x(DType::kF32, Shape{2, 3, 4});
  expect_error(run_single_op("MxReshape", {x}, make_attrs({{"shape", std::vector<int64_t>{-1, -1}}})),
               StatusCode::kInvalidModel, {"more than one -1"});
  expect_error(run_single_op("MxReshape", {x}, make_attrs({{"shape", std::vector<int64_t>{-4, 5, -1, -2}}})),
               StatusCode::kInvalidModel, {"cannot split 2"});
  expect_error(run_single_op("MxReshape", {x}, make_attrs({{"shape", std::vector<int64_t>{0, 0, 0, 0}}})),
               StatusCode::kInvalidModel, {"more dimensions than the input"});
  expect_error(run_single_op("MxReshape", {x}, make_attrs({{"shape", std::vector<int64_t>{5, 5}}})),
               StatusCode::kInvalidModel, {"25 elements"});
  expect_error(run_single_op("MxReshape", {x}, {}), StatusCode::kInvalidModel, {"shape"});
}

}  // namespace
}  // namespace anvil::testing

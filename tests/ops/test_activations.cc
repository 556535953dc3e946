// Activation ops: LeakyRelu, PRelu, Clip, Sigmoid, HardSigmoid, HardSwish,
// Tanh, Elu. Expected values are worked out by hand (ln 2, ln 3 give exact
// exp values).
#include <cmath>
#include <limits>

#include "op_test_util.h"

namespace anvil::testing {
namespace {

const float kLn2 = std::log(2.0f);
const float kLn3 = std::log(3.0f);

TEST(ActivationsTest, LeakyReluDefaultAlpha) {
  auto r = run_single_op("LeakyRelu", {tf({4}, {-2, -0.5f, 0, 3})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-0.02f, -0.005f, 0, 3}, {4});
}

TEST(ActivationsTest, LeakyReluAlphaAndF64) {
  auto r = run_single_op("LeakyRelu", {Tensor::from_vector<double>({2, 2}, {-2, -0.5, 0, 3})},
                         make_attrs({{"alpha", 0.1f}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].dtype(), DType::kF64);
  expect_tensor_near((*r)[0], {-0.2f, -0.05f, 0, 3}, {2, 2});
}

TEST(ActivationsTest, LeakyReluRejectsBadInput) {
  expect_error(run_single_op("LeakyRelu", {Tensor::from_vector<int32_t>({1}, {1})}, {}), StatusCode::kInvalidModel,
               {"LeakyRelu", "i32"});
  expect_error(run_single_op("LeakyRelu", {tf({1}, {1})}, make_attrs({{"alpha", std::string("big")}})),
               StatusCode::kInvalidModel);
  // f16 is valid ONNX that anvil does not compute on.
  expect_error(run_single_op("LeakyRelu", {Tensor(DType::kF16, Shape{2})}, {}), StatusCode::kUnsupported);
}

TEST(ActivationsTest, PReluPerChannelSlope) {
  // X [1,2,2]: channel 0 = [-1, 2] (slope 2), channel 1 = [-3, 4] (slope 0.5).
  auto r = run_single_op("PRelu", {tf({1, 2, 2}, {-1, 2, -3, 4}), tf({2, 1}, {2, 0.5f})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-2, 2, -1.5f, 4}, {1, 2, 2});
}

TEST(ActivationsTest, PReluTrailingAndScalarSlope) {
  // Slope [2] broadcasts against the last axis (numpy rules).
  auto r = run_single_op("PRelu", {tf({1, 2, 2}, {-1, 2, -3, 4}), tf({2}, {10, 100})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-10, 2, -30, 4}, {1, 2, 2});
  auto s = run_single_op("PRelu", {tf({3}, {-1, 0, 5}), tf({1}, {0.25f})}, {});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {-0.25f, 0, 5}, {3});
}

TEST(ActivationsTest, PReluRejectsNonBroadcastSlope) {
  // Per-channel slope [C] against NCHW is not unidirectionally broadcastable.
  expect_error(run_single_op("PRelu", {tf({1, 3, 2, 2}, std::vector<float>(12, 1)), tf({3}, {1, 2, 3})}, {}),
               StatusCode::kInvalidModel, {"slope", "f32[3]", "f32[1x3x2x2]"});
  // Slope larger than X would grow the output.
  expect_error(run_single_op("PRelu", {tf({2}, {1, 2}), tf({2, 2}, {1, 2, 3, 4})}, {}), StatusCode::kInvalidModel);
  expect_error(run_single_op("PRelu", {tf({2}, {1, 2}), Tensor::from_vector<double>({1}, {1})}, {}),
               StatusCode::kInvalidModel, {"slope"});
}

TEST(ActivationsTest, ClipMinMax) {
  auto r = run_single_op("Clip", {tf({5}, {-3, -1, 0, 2, 5}), Tensor::scalar<float>(-1), Tensor::scalar<float>(2)}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-1, -1, 0, 2, 2}, {5});
}

TEST(ActivationsTest, ClipOnlyMaxAndOnlyMin) {
  auto r = run_single_op("Clip", {tf({5}, {-3, -1, 0, 2, 5}), Tensor(), Tensor::scalar<float>(1)}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-3, -1, 0, 1, 1}, {5});
  auto s = run_single_op("Clip", {tf({5}, {-3, -1, 0, 2, 5}), tf({1}, {0})}, {});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {0, 0, 0, 2, 5}, {5});
  auto none = run_single_op("Clip", {tf({2}, {-1e30f, 1e30f})}, {});
  ASSERT_TRUE(none.is_ok()) << none.status().to_string();
  expect_tensor_near((*none)[0], {-1e30f, 1e30f}, {2});
}

TEST(ActivationsTest, ClipIntegerAndMinAboveMax) {
  auto r = run_single_op("Clip", {Tensor::from_vector<int32_t>({4}, {-100, 3, 7, 100}), Tensor::scalar<int32_t>(0),
                                  Tensor::scalar<int32_t>(6)},
                         {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].dtype(), DType::kI32);
  expect_tensor_near((*r)[0], {0, 3, 6, 6}, {4});
  auto u = run_single_op("Clip", {Tensor::from_vector<uint8_t>({3}, {0, 100, 255}), Tensor::scalar<uint8_t>(10)}, {});
  ASSERT_TRUE(u.is_ok()) << u.status().to_string();
  expect_tensor_near((*u)[0], {10, 100, 255}, {3});
  // ONNX: min > max sets everything to max.
  auto m = run_single_op("Clip", {tf({3}, {-5, 2, 9}), Tensor::scalar<float>(3), Tensor::scalar<float>(1)}, {});
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  expect_tensor_near((*m)[0], {1, 1, 1}, {3});
}

TEST(ActivationsTest, ClipKeepsNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto r = run_single_op("Clip", {tf({2}, {nan, 4}), Tensor::scalar<float>(0), Tensor::scalar<float>(1)}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {nan, 1}, {2});
}

TEST(ActivationsTest, ClipRejectsBadBounds) {
  expect_error(run_single_op("Clip", {tf({2}, {1, 2}), tf({2}, {0, 1})}, {}), StatusCode::kInvalidModel,
               {"'min'", "f32[2]"});
  expect_error(run_single_op("Clip", {tf({2}, {1, 2}), Tensor(), Tensor::scalar<double>(1)}, {}),
               StatusCode::kInvalidModel, {"'max'"});
}

TEST(ActivationsTest, Sigmoid) {
  auto r = run_single_op("Sigmoid", {tf({4}, {0, kLn3, -kLn3, -100})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0.5f, 0.75f, 0.25f, 0}, {4});
}

TEST(ActivationsTest, HardSigmoid) {
  auto r = run_single_op("HardSigmoid", {tf({4}, {-3, 0, 1, 3})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0, 0.5f, 0.7f, 1}, {4});
  auto s = run_single_op("HardSigmoid", {tf({2}, {1, -1})}, make_attrs({{"alpha", 0.5f}, {"beta", 0.25f}}));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {0.75f, 0}, {2});
}

TEST(ActivationsTest, HardSwish) {
  auto r = run_single_op("HardSwish", {tf({7}, {-4, -3, -1, 0, 1, 3, 4})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  // x * clamp(x/6 + 1/2, 0, 1): -1 -> -1/3, 1 -> 2/3.
  expect_tensor_near((*r)[0], {0, 0, -1.0f / 3, 0, 2.0f / 3, 3, 4}, {7});
}

TEST(ActivationsTest, Tanh) {
  // tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6
  auto r = run_single_op("Tanh", {tf({3}, {0, kLn2, -kLn2})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0, 0.6f, -0.6f}, {3});
}

TEST(ActivationsTest, Elu) {
  auto r = run_single_op("Elu", {tf({3}, {-kLn2, 0, 2})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-0.5f, 0, 2}, {3});
  // alpha 2, x = -ln 4: 2 * (1/4 - 1) = -1.5
  auto s = run_single_op("Elu", {tf({1}, {-2 * kLn2})}, make_attrs({{"alpha", 2.0f}}));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {-1.5f}, {1});
}

TEST(ActivationsTest, UnaryOpsRejectIntegers) {
  for (const char* op : {"Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu"}) {
    expect_error(run_single_op(op, {Tensor::from_vector<int64_t>({1}, {1})}, {}), StatusCode::kInvalidModel, {op});
  }
}

}  // namespace
}  // namespace anvil::testing

// Add, Sub, Mul, Div, Sum: broadcasting, dtypes, integer semantics, errors.
#include <gtest/gtest.h>

#include <limits>

#include "ops/op_test_util.h"
#include "ops/typed_tensor_util.h"

namespace anvil::testing {
namespace {

Tensor run1(const std::string& op, std::vector<Tensor> in) {
  auto r = run_single_op(op, std::move(in), Attrs{});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r.value()[0] : Tensor();
}

TEST(BinaryOpTest, AddSameShape) {
  expect_tensor_near(run1("Add", {tf({2, 2}, {1, 2, 3, 4}), tf({2, 2}, {10, 20, 30, 40})}), {11, 22, 33, 44},
                     Shape{2, 2});
}

TEST(BinaryOpTest, ScalarOnEitherSide) {
  expect_tensor_near(run1("Add", {tf({2, 2}, {1, 2, 3, 4}), Tensor::scalar<float>(0.5f)}), {1.5, 2.5, 3.5, 4.5},
                     Shape{2, 2});
  expect_tensor_near(run1("Sub", {Tensor::scalar<float>(10.f), tf({2, 2}, {1, 2, 3, 4})}), {9, 8, 7, 6},
                     Shape{2, 2});
  // A one-element tensor of rank 1 broadcasts like a scalar.
  expect_tensor_near(run1("Mul", {tf({3}, {1, 2, 3}), tf({1}, {-2})}), {-2, -4, -6}, Shape{3});
  expect_tensor_near(run1("Add", {Tensor::scalar<float>(1.f), Tensor::scalar<float>(2.f)}), {3}, Shape{});
}

TEST(BinaryOpTest, PerChannel) {
  expect_tensor_near(run1("Mul", {tf({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), tf({2, 1, 1}, {10, 100})}),
                     {10, 20, 30, 40, 500, 600, 700, 800}, Shape{1, 2, 2, 2});
  // Per-channel operand on the left, NCHW batch 2.
  expect_tensor_near(run1("Sub", {tf({1, 2, 1, 1}, {100, 200}), tf({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8})}),
                     {99, 98, 197, 196, 95, 94, 193, 192}, Shape{2, 2, 1, 2});
}

TEST(BinaryOpTest, GeneralBroadcast) {
  const Tensor a = tf({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = tf({2, 1}, {10, 20});
  expect_tensor_near(run1("Add", {a, b}), {11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26}, Shape{2, 2, 3});
  expect_tensor_near(run1("Sub", {b, a}), {9, 8, 7, 19, 18, 17, 6, 5, 4, 16, 15, 14}, Shape{2, 2, 3});
}

TEST(BinaryOpTest, BothOperandsBroadcast) {
  expect_tensor_near(run1("Mul", {tf({3, 1}, {1, 2, 3}), tf({1, 4}, {10, 20, 30, 40})}),
                     {10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120}, Shape{3, 4});
}

TEST(BinaryOpTest, BroadcastInMiddleDimension) {
  std::vector<float> a(12);
  for (int i = 0; i < 12; ++i) a[static_cast<size_t>(i)] = static_cast<float>(i);
  expect_tensor_near(run1("Add", {tf({2, 3, 2}, a), tf({2, 1, 2}, {100, 200, 300, 400})}),
                     {100, 201, 102, 203, 104, 205, 306, 407, 308, 409, 310, 411}, Shape{2, 3, 2});
}

TEST(BinaryOpTest, EmptyResult) {
  auto r = run_single_op("Add", {tf({0, 3}, {}), tf({1, 3}, {1, 2, 3})}, Attrs{});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r.value()[0].shape(), (Shape{0, 3}));
}

TEST(BinaryOpTest, DivFloat) {
  expect_tensor_near(run1("Div", {tf({2}, {1, 3}), tf({2}, {2, 4})}), {0.5, 0.75}, Shape{2});
  expect_values<double>(run1("Div", {tt<double>({2}, {1.0, -3.0}), tt<double>({}, {4.0})}), Shape{2},
                        {0.25, -0.75});
}

TEST(BinaryOpTest, IntegerDivTruncatesTowardZero) {
  expect_values<int32_t>(run1("Div", {tt<int32_t>({4}, {7, -7, 7, -7}), tt<int32_t>({4}, {2, 2, -2, -2})}), Shape{4},
                         {3, -3, -3, 3});
  expect_values<int64_t>(run1("Div", {tt<int64_t>({4}, {7, -7, 7, -7}), tt<int64_t>({4}, {2, 2, -2, -2})}), Shape{4},
                         {3, -3, -3, 3});
  expect_values<int8_t>(run1("Div", {tt<int8_t>({2}, {-9, 9}), tt<int8_t>({}, {4})}), Shape{2}, {-2, 2});
  expect_values<uint8_t>(run1("Div", {tt<uint8_t>({2}, {255, 9}), tt<uint8_t>({}, {4})}), Shape{2}, {63, 2});
}

TEST(BinaryOpTest, IntegerMinDivMinusOneWraps) {
  const int32_t mn = std::numeric_limits<int32_t>::min();
  expect_values<int32_t>(run1("Div", {tt<int32_t>({1}, {mn}), tt<int32_t>({1}, {-1})}), Shape{1}, {mn});
}

TEST(BinaryOpTest, IntegerDivisionByZeroIsAnError) {
  auto r = run_single_op("Div", {tt<int32_t>({2}, {1, 2}), tt<int32_t>({2}, {1, 0})}, Attrs{});
  expect_error(r, StatusCode::kInvalidArgument, {"Div", "division by zero", "flat index 1"});
}

TEST(BinaryOpTest, FloatDivisionByZeroGivesInf) {
  expect_tensor_near(run1("Div", {tf({2}, {1, -1}), tf({}, {0})}), {INFINITY, -INFINITY}, Shape{2});
}

TEST(BinaryOpTest, SmallIntegersWrap) {
  expect_values<int8_t>(run1("Add", {tt<int8_t>({2}, {100, -100}), tt<int8_t>({2}, {100, -100})}), Shape{2},
                        {-56, 56});
  expect_values<uint8_t>(run1("Add", {tt<uint8_t>({1}, {200}), tt<uint8_t>({1}, {100})}), Shape{1}, {44});
  expect_values<uint8_t>(run1("Sub", {tt<uint8_t>({1}, {1}), tt<uint8_t>({1}, {2})}), Shape{1}, {255});
  const int64_t mx = std::numeric_limits<int64_t>::max();
  expect_values<int64_t>(run1("Add", {tt<int64_t>({1}, {mx}), tt<int64_t>({1}, {1})}), Shape{1},
                         {std::numeric_limits<int64_t>::min()});
}

TEST(BinaryOpTest, IntegerAndDoubleArithmetic) {
  expect_values<int64_t>(run1("Mul", {tt<int64_t>({2, 2}, {1, 2, 3, 4}), tt<int64_t>({2}, {-1, 10})}), Shape{2, 2},
                         {-1, 20, -3, 40});
  expect_values<int32_t>(run1("Sub", {tt<int32_t>({3}, {5, 5, 5}), tt<int32_t>({3}, {1, 6, -2})}), Shape{3},
                         {4, -1, 7});
  expect_values<double>(run1("Mul", {tt<double>({2}, {1.5, 2}), tt<double>({2}, {2, 0.25})}), Shape{2}, {3, 0.5});
}

TEST(BinaryOpTest, IncompatibleBroadcastNamesShapes) {
  auto r = run_single_op("Add", {tf({2, 3}, {1, 2, 3, 4, 5, 6}), tf({4, 3}, std::vector<float>(12, 0))}, Attrs{});
  expect_error(r, StatusCode::kInvalidArgument, {"Add", "2x3", "4x3"});
}

TEST(BinaryOpTest, DtypeMismatch) {
  auto r = run_single_op("Mul", {tf({2}, {1, 2}), ti64({2}, {1, 2})}, Attrs{});
  expect_error(r, StatusCode::kInvalidModel, {"Mul", "f32[2]", "i64[2]"});
}

TEST(BinaryOpTest, UnsupportedDtypes) {
  expect_error(run_single_op("Add", {tbool({1}, {true}), tbool({1}, {false})}, Attrs{}), StatusCode::kUnsupported,
               {"Add", "bool"});
  expect_error(run_single_op("Add", {thalf(DType::kF16, {1}, {1}), thalf(DType::kF16, {1}, {1})}, Attrs{}),
               StatusCode::kUnsupported, {"f16"});
}

TEST(BinaryOpTest, NonConstantInputsInferShape) {
  auto r = run_single_op_ex("Add", {tf({3, 1}, {1, 2, 3}), tf({2}, {10, 20})}, Attrs{}, 1, {true, true});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near(r.value()[0], {11, 21, 12, 22, 13, 23}, Shape{3, 2});
}

TEST(BinaryOpTest, SumVariadic) {
  expect_tensor_near(run1("Sum", {tf({2, 2}, {1, 2, 3, 4}), tf({2}, {10, 20}), Tensor::scalar<float>(100.f)}),
                     {111, 122, 113, 124}, Shape{2, 2});
  // The first input is the smaller one: the output still takes the broadcast shape.
  expect_tensor_near(run1("Sum", {tf({2}, {1, 2}), tf({2, 2}, {10, 20, 30, 40})}), {11, 22, 31, 42}, Shape{2, 2});
  expect_tensor_near(run1("Sum", {tf({3}, {1, 2, 3})}), {1, 2, 3}, Shape{3});
  expect_values<int64_t>(run1("Sum", {ti64({2}, {1, 2}), ti64({2}, {3, 4}), ti64({2}, {5, 6}), ti64({1}, {7})}),
                         Shape{2}, {16, 19});
}

TEST(BinaryOpTest, SumIncompatible) {
  auto r = run_single_op("Sum", {tf({2}, {1, 2}), tf({2}, {1, 2}), tf({3}, {1, 2, 3})}, Attrs{});
  expect_error(r, StatusCode::kInvalidArgument, {"Sum", "2, 2, 3"});
}

TEST(BinaryOpTest, Flops) {
  register_all_ops();
  Node n;
  n.op = "Add";
  InferContext c{n, {}, {}};
  c.outputs.push_back({DType::kF32, Shape{2, 3}});
  EXPECT_EQ(OpRegistry::instance().find("Add")->flops(c), 6);
  EXPECT_EQ(OpRegistry::instance().find("Div")->flops(c), 6);
  n.op = "Sum";
  c.inputs.resize(3, InputInfo{true, DType::kF32, Shape{2, 3}, nullptr});
  EXPECT_EQ(OpRegistry::instance().find("Sum")->flops(c), 12);
}

}  // namespace
}  // namespace anvil::testing

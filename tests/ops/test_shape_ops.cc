// Concat, Split, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Shape,
// Constant, ConstantOfShape, Identity, Dropout.
#include <gtest/gtest.h>

#include "ops/op_test_util.h"
#include "ops/typed_tensor_util.h"

namespace anvil::testing {
namespace {

std::vector<Tensor> run(const std::string& op, std::vector<Tensor> in, Attrs attrs = {}, int nout = 1) {
  auto r = run_single_op(op, std::move(in), std::move(attrs), nout);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r.value() : std::vector<Tensor>(static_cast<size_t>(nout));
}

Attrs axis_attr(int64_t a) { return make_attrs({{"axis", a}}); }

// ---- Concat ----------------------------------------------------------------

TEST(ShapeOpTest, ConcatAxis1AndNegative) {
  const Tensor a = tf({2, 1}, {1, 2}), b = tf({2, 2}, {3, 4, 5, 6});
  expect_tensor_near(run("Concat", {a, b}, axis_attr(1))[0], {1, 3, 4, 2, 5, 6}, Shape{2, 3});
  expect_tensor_near(run("Concat", {a, b}, axis_attr(-1))[0], {1, 3, 4, 2, 5, 6}, Shape{2, 3});
}

TEST(ShapeOpTest, ConcatAxis0ThreeInputsI64) {
  expect_values<int64_t>(run("Concat", {ti64({2}, {1, 2}), ti64({1}, {3}), ti64({2}, {4, 5})}, axis_attr(0))[0],
                         Shape{5}, {1, 2, 3, 4, 5});
}

TEST(ShapeOpTest, ConcatOtherDtypesAndEmptyInput) {
  expect_values<bool>(run("Concat", {tbool({1, 2}, {true, false}), tbool({1, 1}, {true})}, axis_attr(1))[0],
                      Shape{1, 3}, {true, false, true});
  const Tensor h = run("Concat", {thalf(DType::kF16, {2}, {1, 2}), thalf(DType::kF16, {1}, {-3})}, axis_attr(0))[0];
  EXPECT_EQ(h.dtype(), DType::kF16);
  EXPECT_EQ(bits16(h), (std::vector<uint16_t>{0x3C00, 0x4000, 0xC200}));
  expect_tensor_near(run("Concat", {tf({2, 0}, {}), tf({2, 1}, {7, 8})}, axis_attr(1))[0], {7, 8}, Shape{2, 1});
}

TEST(ShapeOpTest, ConcatErrors) {
  expect_error(run_single_op("Concat", {tf({2, 1}, {1, 2}), tf({3, 1}, {1, 2, 3})}, axis_attr(1)),
               StatusCode::kInvalidArgument, {"Concat", "f32[2x1]", "f32[3x1]", "dimension 0"});
  expect_error(run_single_op("Concat", {tf({2, 1}, {1, 2}), tf({2, 1}, {1, 2})}, axis_attr(2)),
               StatusCode::kInvalidArgument, {"Concat", "axis 2", "2x1"});
  expect_error(run_single_op("Concat", {tf({2}, {1, 2}), tf({2, 1}, {1, 2})}, axis_attr(0)),
               StatusCode::kInvalidArgument, {"same rank"});
  expect_error(run_single_op("Concat", {tf({2}, {1, 2}), ti64({1}, {1})}, axis_attr(0)), StatusCode::kInvalidModel,
               {"dtype"});
  expect_error(run_single_op("Concat", {tf({2}, {1, 2})}, Attrs{}), StatusCode::kInvalidModel, {"axis"});
}

// ---- Split -----------------------------------------------------------------

Tensor iota_f(Shape s) {
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return tf(std::move(s), v);
}

TEST(ShapeOpTest, SplitEqual) {
  auto o = run("Split", {iota_f({2, 4})}, axis_attr(1), 2);
  expect_tensor_near(o[0], {0, 1, 4, 5}, Shape{2, 2});
  expect_tensor_near(o[1], {2, 3, 6, 7}, Shape{2, 2});
  auto d = run("Split", {iota_f({3, 2})}, Attrs{}, 3);  // default axis 0
  expect_tensor_near(d[0], {0, 1}, Shape{1, 2});
  expect_tensor_near(d[1], {2, 3}, Shape{1, 2});
  expect_tensor_near(d[2], {4, 5}, Shape{1, 2});
}

TEST(ShapeOpTest, SplitSizesInput) {
  auto o = run("Split", {iota_f({2, 4}), ti64({2}, {1, 3})}, axis_attr(-1), 2);
  expect_tensor_near(o[0], {0, 4}, Shape{2, 1});
  expect_tensor_near(o[1], {1, 2, 3, 5, 6, 7}, Shape{2, 3});
  auto z = run("Split", {iota_f({2, 4}), ti64({2}, {0, 4})}, axis_attr(1), 2);
  EXPECT_EQ(z[0].shape(), (Shape{2, 0}));
  expect_tensor_near(z[1], {0, 1, 2, 3, 4, 5, 6, 7}, Shape{2, 4});
}

TEST(ShapeOpTest, SplitI64Data) {
  auto o = run("Split", {ti64({4}, {10, 20, 30, 40})}, Attrs{}, 2);
  expect_values<int64_t>(o[0], Shape{2}, {10, 20});
  expect_values<int64_t>(o[1], Shape{2}, {30, 40});
}

TEST(ShapeOpTest, SplitErrors) {
  expect_error(run_single_op("Split", {iota_f({5})}, Attrs{}, 2), StatusCode::kInvalidArgument,
               {"Split", "f32[5]", "evenly into 2"});
  expect_error(run_single_op("Split", {iota_f({5}), ti64({2}, {2, 2})}, Attrs{}, 2), StatusCode::kInvalidArgument,
               {"[2, 2]", "sums to 4"});
  expect_error(run_single_op("Split", {iota_f({4}), ti64({3}, {1, 1, 2})}, Attrs{}, 2), StatusCode::kInvalidModel,
               {"3 entries", "2 outputs"});
  expect_error(run_single_op("Split", {iota_f({4})}, axis_attr(1), 2), StatusCode::kInvalidArgument, {"axis 1"});
  expect_error(run_single_op_ex("Split", {iota_f({4}), ti64({2}, {2, 2})}, Attrs{}, 2, {false, true}),
               StatusCode::kUnsupported, {"'split' input", "computed at run time"});
}

// ---- Flatten ---------------------------------------------------------------

TEST(ShapeOpTest, FlattenAxes) {
  const Tensor x = iota_f({2, 3, 4});
  EXPECT_EQ(run("Flatten", {x})[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(run("Flatten", {x}, axis_attr(0))[0].shape(), (Shape{1, 24}));
  EXPECT_EQ(run("Flatten", {x}, axis_attr(3))[0].shape(), (Shape{24, 1}));
  EXPECT_EQ(run("Flatten", {x}, axis_attr(-1))[0].shape(), (Shape{6, 4}));
  EXPECT_EQ(run("Flatten", {x}, axis_attr(-3))[0].shape(), (Shape{1, 24}));
  expect_values<int64_t>(run("Flatten", {ti64({2, 1, 2}, {1, 2, 3, 4})}, axis_attr(2))[0], Shape{2, 2},
                         {1, 2, 3, 4});
}

TEST(ShapeOpTest, FlattenBadAxis) {
  expect_error(run_single_op("Flatten", {iota_f({2, 3})}, axis_attr(3)), StatusCode::kInvalidArgument,
               {"Flatten", "axis 3", "f32[2x3]"});
  expect_error(run_single_op("Flatten", {iota_f({2, 3})}, axis_attr(-3)), StatusCode::kInvalidArgument, {"axis -3"});
}

// ---- Reshape ---------------------------------------------------------------

TEST(ShapeOpTest, Reshape) {
  const Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_tensor_near(run("Reshape", {x, ti64({2}, {3, 2})})[0], {1, 2, 3, 4, 5, 6}, Shape{3, 2});
  EXPECT_EQ(run("Reshape", {x, ti64({1}, {-1})})[0].shape(), (Shape{6}));
  EXPECT_EQ(run("Reshape", {iota_f({2, 3, 4}), ti64({2}, {0, -1})})[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(run("Reshape", {iota_f({2, 3, 4}), ti64({3}, {-1, 0, 2})})[0].shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(run("Reshape", {x, ti64({2}, {0, 3})})[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(run("Reshape", {x, Tensor::from_vector<int32_t>(Shape{3}, {1, -1, 1})})[0].shape(), (Shape{1, 6, 1}));
  EXPECT_EQ(run("Reshape", {tf({1}, {5}), ti64({0}, {})})[0].shape(), Shape{});
}

TEST(ShapeOpTest, ReshapeAllowZero) {
  auto o = run("Reshape", {tf({0, 3}, {}), ti64({2}, {3, 0})}, make_attrs({{"allowzero", int64_t{1}}}));
  EXPECT_EQ(o[0].shape(), (Shape{3, 0}));
  expect_error(run_single_op("Reshape", {tf({0, 3}, {}), ti64({2}, {0, -1})}, make_attrs({{"allowzero", int64_t{1}}})),
               StatusCode::kInvalidModel, {"allowzero"});
  // Without allowzero the 0 copies the input's 0, leaving -1 ambiguous.
  expect_error(run_single_op("Reshape", {tf({0, 3}, {}), ti64({2}, {0, -1})}, Attrs{}), StatusCode::kInvalidArgument,
               {"cannot be inferred"});
}

TEST(ShapeOpTest, ReshapeKeepsHalfBits) {
  const Tensor h = run("Reshape", {thalf(DType::kBF16, {2, 2}, {1, 2, 3, -1}), ti64({1}, {4})})[0];
  EXPECT_EQ(h.dtype(), DType::kBF16);
  EXPECT_EQ(h.shape(), (Shape{4}));
  EXPECT_EQ(bits16(h), (std::vector<uint16_t>{0x3F80, 0x4000, 0x4040, 0xBF80}));
}

TEST(ShapeOpTest, ReshapeErrors) {
  const Tensor x = tf({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_error(run_single_op("Reshape", {x, ti64({2}, {4, 2})}, Attrs{}), StatusCode::kInvalidArgument,
               {"Reshape", "f32[2x3]", "[4, 2]"});
  expect_error(run_single_op("Reshape", {x, ti64({2}, {4, -1})}, Attrs{}), StatusCode::kInvalidArgument,
               {"cannot be inferred"});
  expect_error(run_single_op("Reshape", {x, ti64({2}, {-1, -1})}, Attrs{}), StatusCode::kInvalidModel,
               {"more than one -1"});
  expect_error(run_single_op("Reshape", {x, ti64({2}, {-2, 3})}, Attrs{}), StatusCode::kInvalidModel,
               {"negative dimension -2"});
  expect_error(run_single_op("Reshape", {x, ti64({3}, {6, 1, 0})}, Attrs{}), StatusCode::kInvalidModel,
               {"index 2"});
  expect_error(run_single_op_ex("Reshape", {x, ti64({1}, {6})}, Attrs{}, 1, {false, true}), StatusCode::kUnsupported,
               {"Reshape: the 'shape' input", "computed at run time"});
}

// ---- Transpose -------------------------------------------------------------

TEST(ShapeOpTest, TransposeDefaultReverses) {
  expect_tensor_near(run("Transpose", {tf({2, 3}, {1, 2, 3, 4, 5, 6})})[0], {1, 4, 2, 5, 3, 6}, Shape{3, 2});
  EXPECT_EQ(run("Transpose", {iota_f({2, 3, 4})})[0].shape(), (Shape{4, 3, 2}));
  expect_tensor_near(run("Transpose", {Tensor::scalar<float>(3.f)})[0], {3}, Shape{});
}

TEST(ShapeOpTest, TransposePerm) {
  expect_tensor_near(run("Transpose", {iota_f({2, 2, 3})}, make_attrs({{"perm", std::vector<int64_t>{0, 2, 1}}}))[0],
                     {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}, Shape{2, 3, 2});
  expect_values<int64_t>(
      run("Transpose", {ti64({2, 1, 2}, {1, 2, 3, 4})}, make_attrs({{"perm", std::vector<int64_t>{2, 0, 1}}}))[0],
      Shape{2, 2, 1}, {1, 3, 2, 4});
  expect_values<bool>(run("Transpose", {tbool({2, 2}, {true, true, false, false})})[0], Shape{2, 2},
                      {true, false, true, false});
  const Tensor h = run("Transpose", {thalf(DType::kF16, {1, 2}, {1, 2})})[0];
  EXPECT_EQ(h.shape(), (Shape{2, 1}));
  EXPECT_EQ(bits16(h), (std::vector<uint16_t>{0x3C00, 0x4000}));
}

TEST(ShapeOpTest, TransposeErrors) {
  const Tensor x = iota_f({2, 3});
  expect_error(run_single_op("Transpose", {x}, make_attrs({{"perm", std::vector<int64_t>{0, 0}}})),
               StatusCode::kInvalidModel, {"Transpose", "not a permutation", "f32[2x3]"});
  expect_error(run_single_op("Transpose", {x}, make_attrs({{"perm", std::vector<int64_t>{0, 1, 2}}})),
               StatusCode::kInvalidModel, {"3 entries", "rank-2"});
  expect_error(run_single_op("Transpose", {x}, make_attrs({{"perm", std::vector<int64_t>{0, 2}}})),
               StatusCode::kInvalidArgument, {"perm entry 2"});
}

// ---- Squeeze / Unsqueeze ---------------------------------------------------

TEST(ShapeOpTest, Squeeze) {
  const Tensor x = iota_f({1, 3, 1, 2});
  expect_tensor_near(run("Squeeze", {x})[0], {0, 1, 2, 3, 4, 5}, Shape{3, 2});
  EXPECT_EQ(run("Squeeze", {x, ti64({1}, {0})})[0].shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(run("Squeeze", {x, ti64({2}, {-2, 0})})[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(run("Squeeze", {tf({1, 1}, {4})})[0].shape(), Shape{});
  EXPECT_EQ(run("Squeeze", {iota_f({2, 3})})[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(run("Squeeze", {x, ti64({0}, {})})[0].shape(), (Shape{3, 2}));
}

TEST(ShapeOpTest, SqueezeErrors) {
  const Tensor x = iota_f({1, 3, 1, 2});
  expect_error(run_single_op("Squeeze", {x, ti64({1}, {1})}, Attrs{}), StatusCode::kInvalidArgument,
               {"Squeeze", "axis 1", "f32[1x3x1x2]", "size 3, not 1"});
  expect_error(run_single_op("Squeeze", {x, ti64({1}, {4})}, Attrs{}), StatusCode::kInvalidArgument,
               {"'axes' entry 4"});
  expect_error(run_single_op("Squeeze", {x, ti64({2}, {0, -4})}, Attrs{}), StatusCode::kInvalidModel, {"twice"});
  expect_error(run_single_op_ex("Squeeze", {x, ti64({1}, {0})}, Attrs{}, 1, {false, true}), StatusCode::kUnsupported,
               {"'axes' input"});
}

TEST(ShapeOpTest, Unsqueeze) {
  const Tensor x = tf({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_tensor_near(run("Unsqueeze", {x, ti64({1}, {0})})[0], {1, 2, 3, 4, 5, 6}, Shape{1, 3, 2});
  EXPECT_EQ(run("Unsqueeze", {x, ti64({1}, {-1})})[0].shape(), (Shape{3, 2, 1}));
  EXPECT_EQ(run("Unsqueeze", {x, ti64({2}, {0, 3})})[0].shape(), (Shape{1, 3, 2, 1}));
  EXPECT_EQ(run("Unsqueeze", {x, ti64({2}, {3, 1})})[0].shape(), (Shape{3, 1, 2, 1}));
  EXPECT_EQ(run("Unsqueeze", {x, ti64({2}, {1, -1})})[0].shape(), (Shape{3, 1, 2, 1}));
  expect_values<int64_t>(run("Unsqueeze", {Tensor::scalar<int64_t>(9), ti64({1}, {0})})[0], Shape{1}, {9});
}

TEST(ShapeOpTest, UnsqueezeErrors) {
  const Tensor x = iota_f({3, 2});
  expect_error(run_single_op("Unsqueeze", {x, ti64({2}, {0, 0})}, Attrs{}), StatusCode::kInvalidModel, {"twice"});
  expect_error(run_single_op("Unsqueeze", {x, ti64({1}, {3})}, Attrs{}), StatusCode::kInvalidArgument,
               {"Unsqueeze", "'axes' entry 3", "f32[3x2]"});
  expect_error(run_single_op("Unsqueeze", {x}, Attrs{}), StatusCode::kInvalidModel, {"'axes'"});
}

// ---- Shape -----------------------------------------------------------------

TEST(ShapeOpTest, ShapeStartEnd) {
  const Tensor x = iota_f({2, 3, 4});
  expect_values<int64_t>(run("Shape", {x})[0], Shape{3}, {2, 3, 4});
  expect_values<int64_t>(run("Shape", {x}, make_attrs({{"start", int64_t{1}}}))[0], Shape{2}, {3, 4});
  expect_values<int64_t>(run("Shape", {x}, make_attrs({{"end", int64_t{-1}}}))[0], Shape{2}, {2, 3});
  expect_values<int64_t>(run("Shape", {x}, make_attrs({{"start", int64_t{-2}}, {"end", int64_t{10}}}))[0], Shape{2},
                         {3, 4});
  expect_values<int64_t>(run("Shape", {x}, make_attrs({{"start", int64_t{-10}}, {"end", int64_t{1}}}))[0], Shape{1},
                         {2});
  EXPECT_EQ(run("Shape", {x}, make_attrs({{"start", int64_t{2}}, {"end", int64_t{1}}}))[0].shape(), (Shape{0}));
  EXPECT_EQ(run("Shape", {Tensor::scalar<float>(1.f)})[0].shape(), (Shape{0}));
  expect_values<int64_t>(run("Shape", {tbool({5, 0}, {})})[0], Shape{2}, {5, 0});
}

// ---- Constant / ConstantOfShape --------------------------------------------

TEST(ShapeOpTest, Constant) {
  expect_tensor_near(run("Constant", {}, make_attrs({{"value", tf({2}, {1.5, -2})}}))[0], {1.5, -2}, Shape{2});
  expect_values<int64_t>(run("Constant", {}, make_attrs({{"value_ints", std::vector<int64_t>{3, 4}}}))[0], Shape{2},
                         {3, 4});
  expect_values<int64_t>(run("Constant", {}, make_attrs({{"value_int", int64_t{7}}}))[0], Shape{}, {7});
  expect_values<float>(run("Constant", {}, make_attrs({{"value_float", 0.25f}}))[0], Shape{}, {0.25f});
  expect_values<float>(run("Constant", {}, make_attrs({{"value_floats", std::vector<float>{1, 2}}}))[0], Shape{2},
                       {1, 2});
  const Tensor h = run("Constant", {}, make_attrs({{"value", thalf(DType::kF16, {1}, {2})}}))[0];
  EXPECT_EQ(bits16(h), std::vector<uint16_t>{0x4000});
}

TEST(ShapeOpTest, ConstantErrors) {
  expect_error(run_single_op("Constant", {}, Attrs{}), StatusCode::kInvalidModel, {"Constant", "none"});
  expect_error(
      run_single_op("Constant", {}, make_attrs({{"value_int", int64_t{1}}, {"value_float", 1.f}})),
      StatusCode::kInvalidModel, {"value_float, value_int"});
  expect_error(run_single_op("Constant", {}, make_attrs({{"value_string", std::string("x")}})),
               StatusCode::kUnsupported, {"value_string"});
}

TEST(ShapeOpTest, ConstantOfShape) {
  expect_values<float>(run("ConstantOfShape", {ti64({2}, {2, 3})})[0], Shape{2, 3}, {0, 0, 0, 0, 0, 0});
  expect_values<int64_t>(
      run("ConstantOfShape", {ti64({1}, {3})}, make_attrs({{"value", ti64({1}, {7})}}))[0], Shape{3}, {7, 7, 7});
  expect_values<bool>(run("ConstantOfShape", {ti64({2}, {1, 2})}, make_attrs({{"value", tbool({1}, {true})}}))[0],
                      Shape{1, 2}, {true, true});
  expect_values<int32_t>(
      run("ConstantOfShape", {ti64({0}, {})}, make_attrs({{"value", tt<int32_t>({1}, {-4})}}))[0], Shape{}, {-4});
  const Tensor h =
      run("ConstantOfShape", {ti64({1}, {2})}, make_attrs({{"value", thalf(DType::kF16, {1}, {-2})}}))[0];
  EXPECT_EQ(h.dtype(), DType::kF16);
  EXPECT_EQ(bits16(h), (std::vector<uint16_t>{0xC000, 0xC000}));
  EXPECT_EQ(run("ConstantOfShape", {ti64({2}, {0, 4})})[0].shape(), (Shape{0, 4}));
}

TEST(ShapeOpTest, ConstantOfShapeErrors) {
  expect_error(run_single_op("ConstantOfShape", {ti64({2}, {2, -1})}, Attrs{}), StatusCode::kInvalidArgument,
               {"ConstantOfShape", "[2, -1]"});
  expect_error(run_single_op("ConstantOfShape", {ti64({1}, {2})}, make_attrs({{"value", tf({2}, {1, 2})}})),
               StatusCode::kInvalidModel, {"exactly one element", "f32[2]"});
  expect_error(run_single_op("ConstantOfShape", {tf({1}, {2})}, Attrs{}), StatusCode::kUnsupported, {"f32[1]"});
  expect_error(run_single_op_ex("ConstantOfShape", {ti64({1}, {2})}, Attrs{}, 1, {true}), StatusCode::kUnsupported,
               {"computed at run time"});
}

// ---- Identity / Dropout ----------------------------------------------------

TEST(ShapeOpTest, Identity) {
  expect_values<bool>(run("Identity", {tbool({3}, {true, false, true})})[0], Shape{3}, {true, false, true});
  expect_values<int8_t>(run("Identity", {tt<int8_t>({2}, {-1, 5})})[0], Shape{2}, {-1, 5});
  EXPECT_EQ(bits16(run("Identity", {thalf(DType::kBF16, {1}, {-2})})[0]), std::vector<uint16_t>{0xC000});
}

TEST(ShapeOpTest, DropoutIsIdentityWithTrueMask) {
  const Tensor x = tf({2, 2}, {1, -2, 3, -4});
  expect_tensor_near(run("Dropout", {x})[0], {1, -2, 3, -4}, Shape{2, 2});
  auto o = run("Dropout", {x, tf({}, {0.5f}), tbool({}, {false})}, make_attrs({{"seed", int64_t{3}}}), 2);
  expect_tensor_near(o[0], {1, -2, 3, -4}, Shape{2, 2});
  expect_values<bool>(o[1], Shape{2, 2}, {true, true, true, true});
}

TEST(ShapeOpTest, DropoutTrainingModeUnsupported) {
  const Tensor x = tf({2}, {1, 2});
  expect_error(run_single_op("Dropout", {x, tf({}, {0.5f}), tbool({}, {true})}, Attrs{}), StatusCode::kUnsupported,
               {"Dropout", "training_mode"});
  expect_error(run_single_op_ex("Dropout", {x, Tensor(), tbool({}, {false})}, Attrs{}, 1, {false, false, true}),
               StatusCode::kUnsupported, {"constant false"});
}

}  // namespace
}  // namespace anvil::testing

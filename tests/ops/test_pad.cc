// Pad: constant / reflect / edge / wrap, negative pads, the axes input.
#include "op_test_util.h"

namespace anvil::testing {
namespace {

using I = std::vector<int64_t>;

Tensor pads(const I& v) { return ti64({static_cast<int64_t>(v.size())}, v); }

TEST(PadTest, ConstantDefaultAndValue) {
  Tensor x = tf({2, 2}, {1, 2, 3, 4});
  // pads = [begin0, begin1, end0, end1] = [1, 0, 0, 1]
  auto r = run_single_op("Pad", {x, pads({1, 0, 0, 1})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0, 0, 0, 1, 2, 0, 3, 4, 0}, {3, 3});
  auto v = run_single_op("Pad", {x, pads({1, 0, 0, 1}), Tensor::scalar<float>(9)},
                         make_attrs({{"mode", std::string("constant")}}));
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  expect_tensor_near((*v)[0], {9, 9, 9, 1, 2, 9, 3, 4, 9}, {3, 3});
}

TEST(PadTest, ReflectEdgeWrap) {
  Tensor x = tf({1, 3}, {1, 2, 3});
  auto r = run_single_op("Pad", {x, pads({0, 2, 0, 2})}, make_attrs({{"mode", std::string("reflect")}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {3, 2, 1, 2, 3, 2, 1}, {1, 7});
  auto e = run_single_op("Pad", {x, pads({0, 2, 0, 2})}, make_attrs({{"mode", std::string("edge")}}));
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  expect_tensor_near((*e)[0], {1, 1, 1, 2, 3, 3, 3}, {1, 7});
  auto w = run_single_op("Pad", {x, pads({0, 2, 0, 2})}, make_attrs({{"mode", std::string("wrap")}}));
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  expect_tensor_near((*w)[0], {2, 3, 1, 2, 3, 1, 2}, {1, 7});
  // Reflect wider than the axis folds again, like numpy: [1,2,3,2 | 1,2,3].
  auto f = run_single_op("Pad", {x, pads({0, 4, 0, 0})}, make_attrs({{"mode", std::string("reflect")}}));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  expect_tensor_near((*f)[0], {1, 2, 3, 2, 1, 2, 3}, {1, 7});
}

TEST(PadTest, ReflectAndEdge2D) {
  // 2x2 reflect by 1 on both axes of [[1,2],[3,4]].
  auto r = run_single_op("Pad", {tf({2, 2}, {1, 2, 3, 4}), pads({1, 1, 1, 1})},
                         make_attrs({{"mode", std::string("reflect")}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1}, {4, 4});
  // Edge on the leading axis of a rank-3 tensor and the end of the last.
  auto e = run_single_op("Pad", {tf({1, 1, 2}, {1, 2}), pads({1, 0, 0, 0, 0, 1})},
                         make_attrs({{"mode", std::string("edge")}}));
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  expect_tensor_near((*e)[0], {1, 2, 2, 1, 2, 2}, {2, 1, 3});
}

TEST(PadTest, NegativePadsCrop) {
  auto r = run_single_op("Pad", {tf({1, 4}, {1, 2, 3, 4}), pads({0, -1, 0, 1})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {2, 3, 4, 0}, {1, 4});
  auto c = run_single_op("Pad", {tf({2, 3}, {1, 2, 3, 4, 5, 6}), pads({-1, 0, 0, -2})}, {});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  expect_tensor_near((*c)[0], {4}, {1, 1});
}

TEST(PadTest, AxesInput) {
  Tensor x = tf({2, 2}, {1, 2, 3, 4});
  auto r = run_single_op("Pad", {x, pads({1, 1}), Tensor(), ti64({1}, {1})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0, 1, 2, 0, 0, 3, 4, 0}, {2, 4});
  auto n = run_single_op("Pad", {x, pads({0, 1}), Tensor::scalar<float>(-1), ti64({1}, {-2})}, {});
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  expect_tensor_near((*n)[0], {1, 2, 3, 4, -1, -1}, {3, 2});
}

TEST(PadTest, IntegerAndBool) {
  auto r = run_single_op("Pad", {ti64({2}, {5, 6}), pads({1, 1}), Tensor::scalar<int64_t>(7)}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].to_i64_vector(), (I{7, 5, 6, 7}));
  auto b = run_single_op("Pad", {Tensor::from_vector<bool>({1}, {true}), pads({0, 2})},
                         make_attrs({{"mode", std::string("edge")}}));
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ((*b)[0].dtype(), DType::kBool);
  expect_tensor_near((*b)[0], {1, 1, 1}, {3});
}

TEST(PadTest, Errors) {
  Tensor x = tf({2, 2}, {1, 2, 3, 4});
  expect_error(run_single_op("Pad", {x, pads({1, 1})}, {}), StatusCode::kInvalidModel, {"pads", "[1, 1]", "expected 4"});
  expect_error(run_single_op("Pad", {x, pads({1, 1, 1, 1})}, make_attrs({{"mode", std::string("mirror")}})),
               StatusCode::kInvalidModel, {"mirror"});
  expect_error(run_single_op("Pad", {x, pads({-3, 0, 0, 0})}, {}), StatusCode::kInvalidModel, {"negative size"});
  expect_error(run_single_op("Pad", {x, pads({1, 1, 1, 1}), Tensor::scalar<double>(1)}, {}),
               StatusCode::kInvalidModel, {"constant_value"});
  expect_error(run_single_op("Pad", {x, pads({1, 1, 1, 1}), Tensor(), ti64({2}, {1, -1})}, {}),
               StatusCode::kInvalidModel, {"repeats axis 1"});
  expect_error(run_single_op("Pad", {x, pads({1, 1}), Tensor(), ti64({1}, {2})}, {}), StatusCode::kInvalidArgument,
               {"axes"});
  expect_error(run_single_op("Pad", {tf({0, 2}, {}), pads({1, 0, 0, 0})}, make_attrs({{"mode", std::string("reflect")}})),
               StatusCode::kInvalidArgument, {"empty axis 0"});
  // pads computed at run time: valid ONNX, but anvil needs them constant.
  expect_error(run_single_op_ex("Pad", {x, pads({1, 1, 1, 1})}, {}, 1, {false, true}), StatusCode::kUnsupported,
               {"pads"});
}

}  // namespace
}  // namespace anvil::testing

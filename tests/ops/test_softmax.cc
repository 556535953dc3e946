// Softmax / LogSoftmax. Inputs built from logs so exp() values are exact
// small integers: softmax([0, ln 3]) = [1, 3] / 4.
#include <cmath>

#include "op_test_util.h"

namespace anvil::testing {
namespace {

const float kLn2 = std::log(2.0f);
const float kLn3 = std::log(3.0f);
const float kLn5 = std::log(5.0f);

TEST(SoftmaxTest, LastAxisDefault) {
  auto r = run_single_op("Softmax", {tf({3}, {0, kLn2, kLn5})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0.125f, 0.25f, 0.625f}, {3});
  auto m = run_single_op("Softmax", {tf({2, 2}, {0, 0, kLn3, 0})}, {});
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  expect_tensor_near((*m)[0], {0.5f, 0.5f, 0.75f, 0.25f}, {2, 2});
}

TEST(SoftmaxTest, Axis0) {
  // Columns: [0, ln 3] -> [1/4, 3/4]; [0, 0] -> [1/2, 1/2].
  auto r = run_single_op("Softmax", {tf({2, 2}, {0, 0, kLn3, 0})}, make_attrs({{"axis", int64_t{0}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0.25f, 0.5f, 0.75f, 0.5f}, {2, 2});
}

TEST(SoftmaxTest, MiddleAxisVersusLegacy2D) {
  Tensor x = tf({1, 2, 2}, {0, kLn3, kLn2, kLn2});
  // Opset 13: along axis 1 only; column 0 = [0, ln2] -> [1,2]/3, column 1 = [ln3, ln2] -> [3,2]/5.
  auto r = run_single_op("Softmax", {x}, make_attrs({{"axis", int64_t{1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {1 / 3.f, 0.6f, 2 / 3.f, 0.4f}, {1, 2, 2});
  // legacy_2d: flattened to [1, 4]: exp = [1, 3, 2, 2] / 8.
  auto l = run_single_op("Softmax", {x}, make_attrs({{"axis", int64_t{1}}, {"legacy_2d", int64_t{1}}}));
  ASSERT_TRUE(l.is_ok()) << l.status().to_string();
  expect_tensor_near((*l)[0], {0.125f, 0.375f, 0.25f, 0.25f}, {1, 2, 2});
  // legacy default axis is 1.
  auto d = run_single_op("Softmax", {x}, make_attrs({{"legacy_2d", int64_t{1}}}));
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  expect_tensor_near((*d)[0], {0.125f, 0.375f, 0.25f, 0.25f}, {1, 2, 2});
}

TEST(SoftmaxTest, LargeValuesDoNotOverflow) {
  auto r = run_single_op("Softmax", {tf({2}, {1000, 1000 + kLn3})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {0.25f, 0.75f}, {2}, 1e-4f);
  auto d = run_single_op("Softmax", {Tensor::from_vector<double>({2}, {-1000, -1000 + std::log(3.0)})}, {});
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  expect_tensor_near((*d)[0], {0.25f, 0.75f}, {2});
}

TEST(LogSoftmaxTest, Values) {
  const float ln4 = 2 * kLn2;
  auto r = run_single_op("LogSoftmax", {tf({2}, {0, kLn3})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-ln4, kLn3 - ln4}, {2});
  auto a = run_single_op("LogSoftmax", {tf({2, 2}, {0, 0, kLn3, 0})}, make_attrs({{"axis", int64_t{-2}}}));
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  expect_tensor_near((*a)[0], {-ln4, -kLn2, kLn3 - ln4, -kLn2}, {2, 2});
  auto big = run_single_op("LogSoftmax", {tf({2}, {5000, 5000})}, {});
  ASSERT_TRUE(big.is_ok()) << big.status().to_string();
  expect_tensor_near((*big)[0], {-kLn2, -kLn2}, {2});
}

TEST(SoftmaxTest, Errors) {
  expect_error(run_single_op("Softmax", {tf({2, 2}, {1, 2, 3, 4})}, make_attrs({{"axis", int64_t{2}}})),
               StatusCode::kInvalidArgument, {"axis 2", "rank 2"});
  expect_error(run_single_op("LogSoftmax", {tf({2}, {1, 2})}, make_attrs({{"legacy_2d", int64_t{2}}})),
               StatusCode::kInvalidModel, {"legacy_2d"});
  expect_error(run_single_op("Softmax", {Tensor::from_vector<int32_t>({2}, {1, 2})}, {}), StatusCode::kInvalidModel,
               {"i32"});
  expect_error(run_single_op("Softmax", {Tensor::scalar<float>(1)}, {}), StatusCode::kInvalidModel, {"scalar"});
}

}  // namespace
}  // namespace anvil::testing

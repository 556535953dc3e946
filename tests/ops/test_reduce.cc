// ReduceMean: axes as attribute or input, keepdims, noop_with_empty_axes.
#include "op_test_util.h"

namespace anvil::testing {
namespace {

using I = std::vector<int64_t>;

Tensor x23() { return tf({2, 3}, {1, 2, 3, 4, 5, 6}); }

TEST(ReduceMeanTest, AxesAttribute) {
  auto r = run_single_op("ReduceMean", {x23()}, make_attrs({{"axes", I{1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {2, 5}, {2, 1});
  auto k = run_single_op("ReduceMean", {x23()}, make_attrs({{"axes", I{1}}, {"keepdims", int64_t{0}}}));
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  expect_tensor_near((*k)[0], {2, 5}, {2});
  auto a0 = run_single_op("ReduceMean", {x23()}, make_attrs({{"axes", I{0}}}));
  ASSERT_TRUE(a0.is_ok()) << a0.status().to_string();
  expect_tensor_near((*a0)[0], {2.5f, 3.5f, 4.5f}, {1, 3});
}

TEST(ReduceMeanTest, AllAxes) {
  auto r = run_single_op("ReduceMean", {x23()}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {3.5f}, {1, 1});
  auto s = run_single_op("ReduceMean", {x23()}, make_attrs({{"keepdims", int64_t{0}}}));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {3.5f}, Shape{});
}

TEST(ReduceMeanTest, AxesInputAndNoop) {
  auto r = run_single_op("ReduceMean", {x23(), ti64({1}, {-1})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {2, 5}, {2, 1});
  auto n = run_single_op("ReduceMean", {x23()}, make_attrs({{"noop_with_empty_axes", int64_t{1}}}));
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  expect_tensor_near((*n)[0], {1, 2, 3, 4, 5, 6}, {2, 3});
  auto e = run_single_op("ReduceMean", {x23(), ti64({0}, {})}, make_attrs({{"noop_with_empty_axes", int64_t{1}}}));
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  expect_tensor_near((*e)[0], {1, 2, 3, 4, 5, 6}, {2, 3});
}

TEST(ReduceMeanTest, SpatialAndMiddleAxes) {
  auto g = run_single_op("ReduceMean", {tf({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 9})}, make_attrs({{"axes", I{2, 3}}}));
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  expect_tensor_near((*g)[0], {2.5f, 6.75f}, {1, 2, 1, 1});
  // [2,2,2] = 1..8 over axis 1: (1+3)/2, (2+4)/2, (5+7)/2, (6+8)/2.
  auto m = run_single_op("ReduceMean", {tf({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})}, make_attrs({{"axes", I{1}}}));
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  expect_tensor_near((*m)[0], {2, 3, 6, 7}, {2, 1, 2});
  auto o = run_single_op("ReduceMean", {tf({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})},
                         make_attrs({{"axes", I{0, 2}}, {"keepdims", int64_t{0}}}));
  ASSERT_TRUE(o.is_ok()) << o.status().to_string();
  expect_tensor_near((*o)[0], {3.5f, 5.5f}, {2});
}

TEST(ReduceMeanTest, Errors) {
  expect_error(run_single_op("ReduceMean", {x23()}, make_attrs({{"axes", I{2}}})), StatusCode::kInvalidArgument,
               {"axes", "rank 2"});
  expect_error(run_single_op("ReduceMean", {x23()}, make_attrs({{"axes", I{1, -1}}})), StatusCode::kInvalidModel,
               {"repeats axis 1"});
  expect_error(run_single_op("ReduceMean", {x23(), ti64({1}, {0})}, make_attrs({{"axes", I{1}}})),
               StatusCode::kInvalidModel, {"both"});
  expect_error(run_single_op("ReduceMean", {x23()}, make_attrs({{"keepdims", int64_t{2}}})), StatusCode::kInvalidModel,
               {"keepdims"});
  expect_error(run_single_op_ex("ReduceMean", {x23(), ti64({1}, {0})}, {}, 1, {false, true}), StatusCode::kUnsupported,
               {"axes"});
  expect_error(run_single_op("ReduceMean", {Tensor::from_vector<int32_t>({2}, {1, 2})}, {}), StatusCode::kUnsupported,
               {"i32"});
}

}  // namespace
}  // namespace anvil::testing

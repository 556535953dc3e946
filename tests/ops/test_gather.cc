#include <gtest/gtest.h>

#include "ops/op_test_util.h"
#include "ops/typed_tensor_util.h"

namespace anvil::testing {
namespace {

Tensor gather(Tensor data, Tensor idx, int64_t axis = 0) {
  auto r = run_single_op("Gather", {std::move(data), std::move(idx)}, make_attrs({{"axis", axis}}));
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r.value()[0] : Tensor();
}

const Tensor kData = tf({3, 2}, {1, 2, 3, 4, 5, 6});

TEST(GatherOpTest, Axis0) { expect_tensor_near(gather(kData, ti64({2}, {2, 0})), {5, 6, 1, 2}, Shape{2, 2}); }

TEST(GatherOpTest, Axis1AndNegativeAxis) {
  expect_tensor_near(gather(kData, ti64({1}, {1}), 1), {2, 4, 6}, Shape{3, 1});
  expect_tensor_near(gather(kData, ti64({2}, {1, 0}), -1), {2, 1, 4, 3, 6, 5}, Shape{3, 2});
}

TEST(GatherOpTest, NegativeIndices) {
  expect_tensor_near(gather(kData, ti64({1}, {-1})), {5, 6}, Shape{1, 2});
  expect_tensor_near(gather(kData, ti64({2}, {-3, -2}), 0), {1, 2, 3, 4}, Shape{2, 2});
}

TEST(GatherOpTest, TwoDimIndicesI32) {
  expect_values<int64_t>(gather(ti64({3}, {10, 20, 30}), tt<int32_t>({2, 2}, {0, 2, 1, -3})), Shape{2, 2},
                         {10, 30, 20, 10});
  // data [2,3], indices [2,1] on axis 1 -> [2,2,1].
  expect_tensor_near(gather(tf({2, 3}, {1, 2, 3, 4, 5, 6}), ti64({2, 1}, {2, 0}), 1), {3, 1, 6, 4}, Shape{2, 2, 1});
}

TEST(GatherOpTest, ScalarIndexDropsAxis) {
  expect_tensor_near(gather(kData, Tensor::scalar<int64_t>(1)), {3, 4}, Shape{2});
  expect_tensor_near(gather(kData, Tensor::scalar<int64_t>(0), 1), {1, 3, 5}, Shape{3});
  // Shape arithmetic: the batch dimension of a shape vector.
  expect_values<int64_t>(gather(ti64({4}, {8, 3, 224, 224}), Tensor::scalar<int64_t>(0)), Shape{}, {8});
}

TEST(GatherOpTest, OtherDtypes) {
  expect_values<bool>(gather(tbool({3}, {true, false, true}), ti64({2}, {1, 2})), Shape{2}, {false, true});
  const Tensor h = gather(thalf(DType::kF16, {2, 1}, {1, 2}), ti64({3}, {1, 1, 0}));
  EXPECT_EQ(h.shape(), (Shape{3, 1}));
  EXPECT_EQ(bits16(h), (std::vector<uint16_t>{0x4000, 0x4000, 0x3C00}));
  expect_values<uint8_t>(gather(tt<uint8_t>({2, 2}, {1, 2, 3, 250}), ti64({1}, {1}), 1), Shape{2, 1}, {2, 250});
}

TEST(GatherOpTest, EmptyIndices) { EXPECT_EQ(gather(kData, ti64({0}, {})).shape(), (Shape{0, 2})); }

TEST(GatherOpTest, OutOfRangeIndexAtCompileTime) {
  expect_error(run_single_op("Gather", {kData, ti64({2}, {0, 3})}, Attrs{}), StatusCode::kInvalidArgument,
               {"Gather", "index 3", "f32[3x2]", "-3..2"});
  expect_error(run_single_op("Gather", {kData, ti64({1}, {-4})}, Attrs{}), StatusCode::kInvalidArgument,
               {"index -4"});
}

TEST(GatherOpTest, OutOfRangeIndexAtRunTime) {
  // Indices are not constant here, so only the kernel can catch it.
  expect_error(run_single_op_ex("Gather", {kData, ti64({1}, {2})}, make_attrs({{"axis", int64_t{1}}}), 1,
                                {false, true}),
               StatusCode::kInvalidArgument, {"index 2", "axis 1"});
}

TEST(GatherOpTest, BadAxisAndIndexType) {
  expect_error(run_single_op("Gather", {kData, ti64({1}, {0})}, make_attrs({{"axis", int64_t{2}}})),
               StatusCode::kInvalidArgument, {"Gather", "axis 2", "f32[3x2]"});
  expect_error(run_single_op("Gather", {kData, tf({1}, {0})}, Attrs{}), StatusCode::kUnsupported,
               {"Gather", "input 1", "f32[1]"});
  expect_error(run_single_op("Gather", {Tensor::scalar<float>(1.f), ti64({1}, {0})}, Attrs{}),
               StatusCode::kInvalidArgument, {"scalar"});
}

}  // namespace
}  // namespace anvil::testing

#include <gtest/gtest.h>

#include <limits>

#include "ops/op_test_util.h"
#include "ops/typed_tensor_util.h"

namespace anvil::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Tensor iota(Shape s) {
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return tf(std::move(s), v);
}

Tensor v64(std::vector<int64_t> v) { return ti64({static_cast<int64_t>(v.size())}, v); }

Result<std::vector<Tensor>> slice(Tensor data, std::vector<int64_t> starts, std::vector<int64_t> ends,
                                  std::vector<int64_t> axes = {}, std::vector<int64_t> steps = {}) {
  std::vector<Tensor> in = {std::move(data), v64(starts), v64(ends)};
  in.push_back(axes.empty() ? Tensor() : v64(axes));
  in.push_back(steps.empty() ? Tensor() : v64(steps));
  return run_single_op("Slice", std::move(in), Attrs{});
}

Tensor ok(Result<std::vector<Tensor>> r) {
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r.value()[0] : Tensor();
}

const Tensor kX = iota({3, 4});  // rows {0..3}, {4..7}, {8..11}

TEST(SliceOpTest, SingleAxis) {
  expect_tensor_near(ok(slice(kX, {1}, {3}, {0})), {4, 5, 6, 7, 8, 9, 10, 11}, Shape{2, 4});
}

TEST(SliceOpTest, DefaultAxes) {
  expect_tensor_near(ok(slice(kX, {0, 1}, {2, 3})), {1, 2, 5, 6}, Shape{2, 2});
}

TEST(SliceOpTest, PositiveStep) {
  expect_tensor_near(ok(slice(kX, {0}, {4}, {1}, {2})), {0, 2, 4, 6, 8, 10}, Shape{3, 2});
  expect_tensor_near(ok(slice(kX, {1}, {4}, {1}, {2})), {1, 3, 5, 7, 9, 11}, Shape{3, 2});
}

TEST(SliceOpTest, NegativeStepReverses) {
  expect_tensor_near(ok(slice(kX, {-1}, {kMin}, {1}, {-1})), {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8}, Shape{3, 4});
  expect_tensor_near(ok(slice(kX, {2}, {-4}, {0}, {-2})), {8, 9, 10, 11, 0, 1, 2, 3}, Shape{2, 4});
  // Start past the end is clamped to the last element for negative steps.
  expect_tensor_near(ok(slice(kX, {100, 2}, {0, 0}, {0, 1}, {-1, -1})), {10, 9, 6, 5}, Shape{2, 2});
}

TEST(SliceOpTest, ClampsAndNegativeIndices) {
  expect_tensor_near(ok(slice(kX, {1}, {kMax}, {-1})), {1, 2, 3, 5, 6, 7, 9, 10, 11}, Shape{3, 3});
  expect_tensor_near(ok(slice(kX, {-2}, {-1}, {1})), {2, 6, 10}, Shape{3, 1});
  expect_tensor_near(ok(slice(kX, {kMin}, {1}, {0})), {0, 1, 2, 3}, Shape{1, 4});
  EXPECT_EQ(ok(slice(kX, {5}, {10}, {0})).shape(), (Shape{0, 4}));
  EXPECT_EQ(ok(slice(kX, {3}, {1}, {1})).shape(), (Shape{3, 0}));
  EXPECT_EQ(ok(slice(kX, {1}, {3}, {1}, {-1})).shape(), (Shape{3, 0}));
}

TEST(SliceOpTest, HugeSteps) {
  expect_tensor_near(ok(slice(iota({3}), {0}, {kMax}, {0}, {kMax})), {0}, Shape{1});
  expect_tensor_near(ok(slice(iota({3}), {-1}, {kMin}, {0}, {kMin})), {2}, Shape{1});
}

TEST(SliceOpTest, MiddleAxisOf3D) {
  expect_tensor_near(ok(slice(iota({2, 3, 2}), {1}, {3}, {1})), {2, 3, 4, 5, 8, 9, 10, 11}, Shape{2, 2, 2});
}

TEST(SliceOpTest, I32IndicesAndOtherDtypes) {
  auto r = run_single_op("Slice",
                         {ti64({4}, {10, 20, 30, 40}), tt<int32_t>({1}, {1}), tt<int32_t>({1}, {-1})}, Attrs{});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_values<int64_t>(r.value()[0], Shape{2}, {20, 30});
  expect_values<bool>(ok(slice(tbool({4}, {true, false, false, true}), {3}, {kMin}, {0}, {-2})), Shape{2},
                      {true, false});
  const Tensor h = ok(slice(thalf(DType::kF16, {2, 2}, {1, 2, -2, 0.5}), {1}, {2}, {1}));
  EXPECT_EQ(h.shape(), (Shape{2, 1}));
  EXPECT_EQ(bits16(h), (std::vector<uint16_t>{0x4000, 0x3800}));
}

TEST(SliceOpTest, Errors) {
  expect_error(slice(kX, {0}, {2}, {0}, {0}), StatusCode::kInvalidModel, {"Slice", "zero step", "f32[3x4]"});
  expect_error(slice(kX, {0, 0}, {1, 1}, {1, -1}), StatusCode::kInvalidModel, {"twice"});
  expect_error(slice(kX, {0}, {1}, {2}), StatusCode::kInvalidArgument, {"'axes' entry 2", "f32[3x4]"});
  expect_error(slice(kX, {0, 1}, {1}), StatusCode::kInvalidModel, {"'starts' [0, 1]", "'ends' [1]"});
  expect_error(slice(kX, {0}, {1}, {0}, {1, 1}), StatusCode::kInvalidModel, {"'steps'"});
  expect_error(run_single_op_ex("Slice", {kX, v64({0}), v64({1})}, Attrs{}, 1, {false, true, false}),
               StatusCode::kUnsupported, {"Slice: the 'starts' input", "computed at run time"});
}

}  // namespace
}  // namespace anvil::testing

#include <gtest/gtest.h>

#include "ops/op_test_util.h"
#include "ops/typed_tensor_util.h"

namespace anvil::testing {
namespace {

Tensor cast(Tensor x, AttrValue to) {
  auto r = run_single_op("Cast", {std::move(x)}, make_attrs({{"to", std::move(to)}}));
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r.value()[0] : Tensor();
}

TEST(CastOpTest, FloatToIntTruncates) {
  expect_values<int32_t>(cast(tf({4}, {1.7f, -1.7f, 2.5f, -0.f}), std::string("i32")), Shape{4}, {1, -1, 2, 0});
  expect_values<int64_t>(cast(tf({2}, {3.99f, -100.5f}), std::string("i64")), Shape{2}, {3, -100});
}

TEST(CastOpTest, FloatToSmallIntSaturates) {
  expect_values<uint8_t>(cast(tf({3}, {300.f, -5.f, 7.f}), std::string("u8")), Shape{3}, {255, 0, 7});
  expect_values<int8_t>(cast(tf({2}, {200.f, -200.f}), std::string("i8")), Shape{2}, {127, -128});
}

TEST(CastOpTest, IntToFloatAndInt) {
  expect_values<float>(cast(ti64({2, 1}, {3, -2}), std::string("f32")), Shape{2, 1}, {3.f, -2.f});
  expect_values<int32_t>(cast(ti64({2}, {7, -8}), std::string("i32")), Shape{2}, {7, -8});
  expect_values<double>(cast(tt<int32_t>({1}, {5}), std::string("f64")), Shape{1}, {5.0});
}

TEST(CastOpTest, HalfTypes) {
  EXPECT_EQ(bits16(cast(tf({3}, {1.f, 0.5f, -2.f}), std::string("f16"))), (std::vector<uint16_t>{0x3C00, 0x3800, 0xC000}));
  EXPECT_EQ(bits16(cast(tf({2}, {1.f, -3.f}), std::string("bf16"))), (std::vector<uint16_t>{0x3F80, 0xC040}));
  expect_values<float>(cast(thalf(DType::kF16, {2}, {0.25f, -4.f}), std::string("f32")), Shape{2}, {0.25f, -4.f});
  expect_values<int64_t>(cast(thalf(DType::kBF16, {1}, {6.f}), std::string("i64")), Shape{1}, {6});
}

TEST(CastOpTest, Bool) {
  expect_values<bool>(cast(tf({3}, {0.f, 2.f, -0.5f}), std::string("bool")), Shape{3}, {false, true, true});
  expect_values<float>(cast(tbool({2}, {true, false}), std::string("f32")), Shape{2}, {1.f, 0.f});
  expect_values<bool>(cast(ti64({2}, {0, -3}), std::string("bool")), Shape{2}, {false, true});
}

TEST(CastOpTest, SameDtypeCopies) {
  expect_values<float>(cast(tf({2}, {1.5f, -2.f}), std::string("f32")), Shape{2}, {1.5f, -2.f});
}

TEST(CastOpTest, OnnxEnumAccepted) {
  expect_values<int64_t>(cast(tf({1}, {2.f}), int64_t{7}), Shape{1}, {2});
  EXPECT_EQ(cast(tf({1}, {2.f}), int64_t{10}).dtype(), DType::kF16);
}

TEST(CastOpTest, Errors) {
  expect_error(run_single_op("Cast", {tf({1}, {1})}, Attrs{}), StatusCode::kInvalidModel, {"Cast", "'to'"});
  expect_error(run_single_op("Cast", {tf({1}, {1})}, make_attrs({{"to", std::string("f128")}})),
               StatusCode::kUnsupported, {"Cast", "f128"});
  expect_error(run_single_op("Cast", {tf({1}, {1})}, make_attrs({{"to", int64_t{8}}})), StatusCode::kUnsupported,
               {"data type 8"});
  expect_error(run_single_op("Cast", {tf({1}, {1})}, make_attrs({{"to", 1.5f}})), StatusCode::kInvalidModel,
               {"'to'"});
}

}  // namespace
}  // namespace anvil::testing

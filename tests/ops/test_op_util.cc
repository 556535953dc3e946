#include <gtest/gtest.h>

#include "ops/op_test_util.h"
#include "ops/op_util.h"

namespace anvil::ops {
namespace {

bool contains(const Status& s, const std::string& frag) { return s.message().find(frag) != std::string::npos; }

TEST(OpUtilTest, NormalizeAxis) {
  int64_t a = -1;
  ASSERT_TRUE(normalize_axis(a, 4).is_ok());
  EXPECT_EQ(a, 3);
  a = -4;
  ASSERT_TRUE(normalize_axis(a, 4).is_ok());
  EXPECT_EQ(a, 0);
  a = 3;
  ASSERT_TRUE(normalize_axis(a, 4).is_ok());
  EXPECT_EQ(a, 3);
}

TEST(OpUtilTest, NormalizeAxisOutOfRange) {
  int64_t a = 4;
  Status s = normalize_axis(a, 4, "perm entry");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(s, "perm entry 4")) << s.message();
  EXPECT_TRUE(contains(s, "-4..3")) << s.message();
  a = -5;
  EXPECT_FALSE(normalize_axis(a, 4).is_ok());
  EXPECT_EQ(a, -5);  // untouched on failure
  a = 0;
  EXPECT_FALSE(normalize_axis(a, 0).is_ok());  // a scalar has no axes
}

TEST(OpUtilTest, BroadcastShapes) {
  Shape out;
  ASSERT_TRUE(broadcast_shapes({Shape{2, 1, 3}, Shape{4, 1}}, out).is_ok());
  EXPECT_EQ(out, (Shape{2, 4, 3}));
  ASSERT_TRUE(broadcast_shapes({Shape{}, Shape{5}}, out).is_ok());
  EXPECT_EQ(out, (Shape{5}));
  ASSERT_TRUE(broadcast_shapes({Shape{1, 3, 1, 1}, Shape{2, 3, 4, 5}, Shape{5}}, out).is_ok());
  EXPECT_EQ(out, (Shape{2, 3, 4, 5}));
  ASSERT_TRUE(broadcast_shapes({Shape{0, 3}, Shape{1, 3}}, out).is_ok());
  EXPECT_EQ(out, (Shape{0, 3}));
  ASSERT_TRUE(broadcast_shapes({}, out).is_ok());
  EXPECT_EQ(out, Shape{});
}

TEST(OpUtilTest, BroadcastShapesIncompatible) {
  Shape out;
  Status s = broadcast_shapes({Shape{2, 3}, Shape{4, 3}}, out);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(s, "2x3")) << s.message();
  EXPECT_TRUE(contains(s, "4x3")) << s.message();
  EXPECT_TRUE(contains(s, "dimension 0")) << s.message();
  EXPECT_FALSE(broadcast_shapes({Shape{0}, Shape{2}}, out).is_ok());
}

TEST(OpUtilTest, BroadcastStrides) {
  EXPECT_EQ(broadcast_strides(Shape{3, 1}, Shape{2, 3, 4}), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(broadcast_strides(Shape{2, 3, 4}, Shape{2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(broadcast_strides(Shape{}, Shape{2, 2}), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(broadcast_strides(Shape{1, 3, 1, 1}, Shape{2, 3, 4, 5}), (std::vector<int64_t>{0, 1, 0, 0}));
}

TEST(OpUtilTest, ContiguousStrides) {
  EXPECT_EQ(contiguous_strides(Shape{2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(contiguous_strides(Shape{}), std::vector<int64_t>{});
  EXPECT_EQ(contiguous_strides(Shape{5}), std::vector<int64_t>{1});
}

struct Ctx {
  Node node;
  std::vector<InputInfo> inputs;
  InferContext make() {
    node.op = "FakeOp";
    return InferContext{node, inputs, {}};
  }
};

TEST(OpUtilTest, ExpectDtype) {
  Ctx cx;
  cx.inputs.push_back({true, DType::kF16, Shape{2, 3}, nullptr});
  cx.inputs.push_back({});  // omitted
  InferContext c = cx.make();
  EXPECT_TRUE(expect_dtype(c, 0, {DType::kF32, DType::kF16}).is_ok());
  Status s = expect_dtype(c, 0, {DType::kF32, DType::kI64});
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_TRUE(contains(s, "FakeOp")) << s.message();
  EXPECT_TRUE(contains(s, "input 0")) << s.message();
  EXPECT_TRUE(contains(s, "f16[2x3]")) << s.message();
  EXPECT_TRUE(contains(s, "f32, i64")) << s.message();
  Status m = expect_dtype(c, 1, {DType::kF32});
  EXPECT_EQ(m.code(), StatusCode::kInvalidModel);
  EXPECT_TRUE(contains(m, "input 1")) << m.message();
  EXPECT_EQ(expect_dtype(c, 7, {DType::kF32}).code(), StatusCode::kInvalidModel);
}

TEST(OpUtilTest, ExpectRank) {
  Ctx cx;
  cx.inputs.push_back({true, DType::kF32, Shape{1, 3, 8, 8}, nullptr});
  InferContext c = cx.make();
  EXPECT_TRUE(expect_rank(c, 0, 4).is_ok());
  EXPECT_TRUE(expect_min_rank(c, 0, 3).is_ok());
  EXPECT_TRUE(expect_min_rank(c, 0, 4).is_ok());
  Status s = expect_rank(c, 0, 2);
  ASSERT_FALSE(s.is_ok());
  EXPECT_TRUE(contains(s, "FakeOp")) << s.message();
  EXPECT_TRUE(contains(s, "1x3x8x8")) << s.message();
  EXPECT_TRUE(contains(s, "expected rank 2")) << s.message();
  Status m = expect_min_rank(c, 0, 5);
  ASSERT_FALSE(m.is_ok());
  EXPECT_TRUE(contains(m, "expected rank >= 5")) << m.message();
}

TEST(OpUtilTest, ConstantInts) {
  Tensor shape32 = Tensor::from_vector<int32_t>(Shape{3}, {2, -1, 0});
  Tensor f = testing::tf(Shape{2}, {1.f, 2.f});
  Ctx cx;
  cx.inputs.push_back({true, DType::kI32, Shape{3}, &shape32});
  cx.inputs.push_back({true, DType::kI64, Shape{3}, nullptr});
  cx.inputs.push_back({true, DType::kF32, Shape{2}, &f});
  InferContext c = cx.make();
  std::vector<int64_t> v;
  ASSERT_TRUE(constant_ints(c, 0, "shape", v).is_ok());
  EXPECT_EQ(v, (std::vector<int64_t>{2, -1, 0}));
  Status s = constant_ints(c, 1, "shape", v);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_TRUE(contains(s, "FakeOp: the 'shape' input")) << s.message();
  EXPECT_TRUE(contains(s, "computed at run time")) << s.message();
  EXPECT_EQ(constant_ints(c, 2, "axes", v).code(), StatusCode::kInvalidModel);
  Status missing = constant_ints(c, 5, "axes", v);
  EXPECT_EQ(missing.code(), StatusCode::kInvalidModel);
  EXPECT_TRUE(contains(missing, "'axes'")) << missing.message();
}

TEST(OpUtilTest, DispatchDtypeRejectsHalf) {
  int size = 0;
  EXPECT_TRUE(dispatch_dtype(DType::kI32, [&]<class T>() { size = sizeof(T); }).is_ok());
  EXPECT_EQ(size, 4);
  EXPECT_EQ(dispatch_dtype(DType::kF16, [&]<class T>() {}).code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace anvil::ops

// Gemm and MatMul. A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]] give
// A*B = [[58,64],[139,154]] (e.g. 58 = 7 + 18 + 33).
#include "op_test_util.h"

namespace anvil::testing {
namespace {

using I = std::vector<int64_t>;

Tensor A() { return tf({2, 3}, {1, 2, 3, 4, 5, 6}); }
Tensor B() { return tf({3, 2}, {7, 8, 9, 10, 11, 12}); }
Tensor At() { return tf({3, 2}, {1, 4, 2, 5, 3, 6}); }
Tensor Bt() { return tf({2, 3}, {7, 9, 11, 8, 10, 12}); }

TEST(GemmTest, Plain) {
  auto r = run_single_op("Gemm", {A(), B()}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {58, 64, 139, 154}, {2, 2});
}

TEST(GemmTest, AlphaBetaScalarC) {
  auto r = run_single_op("Gemm", {A(), B(), tf({1}, {1})}, make_attrs({{"alpha", 2.0f}, {"beta", 3.0f}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {119, 131, 281, 311}, {2, 2});
  auto s = run_single_op("Gemm", {A(), B(), Tensor::scalar<float>(1)}, make_attrs({{"beta", 0.0f}}));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {58, 64, 139, 154}, {2, 2});
}

TEST(GemmTest, BroadcastRowAndColumnC) {
  auto row = run_single_op("Gemm", {A(), B(), tf({2}, {10, 20})}, {});
  ASSERT_TRUE(row.is_ok()) << row.status().to_string();
  expect_tensor_near((*row)[0], {68, 84, 149, 174}, {2, 2});
  auto col = run_single_op("Gemm", {A(), B(), tf({2, 1}, {100, 200})}, {});
  ASSERT_TRUE(col.is_ok()) << col.status().to_string();
  expect_tensor_near((*col)[0], {158, 164, 339, 354}, {2, 2});
  auto full = run_single_op("Gemm", {A(), B(), tf({2, 2}, {1, 2, 3, 4})}, make_attrs({{"beta", 0.5f}}));
  ASSERT_TRUE(full.is_ok()) << full.status().to_string();
  expect_tensor_near((*full)[0], {58.5f, 65, 140.5f, 156}, {2, 2});
}

TEST(GemmTest, Transposes) {
  const std::vector<float> want = {58, 64, 139, 154};
  auto ta = run_single_op("Gemm", {At(), B()}, make_attrs({{"transA", int64_t{1}}}));
  ASSERT_TRUE(ta.is_ok()) << ta.status().to_string();
  expect_tensor_near((*ta)[0], want, {2, 2});
  auto tb = run_single_op("Gemm", {A(), Bt()}, make_attrs({{"transB", int64_t{1}}}));
  ASSERT_TRUE(tb.is_ok()) << tb.status().to_string();
  expect_tensor_near((*tb)[0], want, {2, 2});
  auto both = run_single_op("Gemm", {At(), Bt(), tf({1}, {-1})},
                            make_attrs({{"transA", int64_t{1}}, {"transB", int64_t{1}}, {"alpha", 0.5f}}));
  ASSERT_TRUE(both.is_ok()) << both.status().to_string();
  expect_tensor_near((*both)[0], {28, 31, 68.5f, 76}, {2, 2});
}

TEST(GemmTest, F64AndFlops) {
  auto r = run_single_op("Gemm", {Tensor::from_vector<double>({1, 2}, {1, 2}), Tensor::from_vector<double>({2, 1}, {3, 4})},
                         {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].dtype(), DType::kF64);
  expect_tensor_near((*r)[0], {11}, {1, 1});
  auto f = single_op_flops("Gemm", {A(), Bt()}, make_attrs({{"transB", int64_t{1}}}));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(*f, 2 * 2 * 2 * 3);
}

TEST(GemmTest, Errors) {
  expect_error(run_single_op("Gemm", {A(), A()}, {}), StatusCode::kInvalidModel, {"K=3", "K=2", "f32[2x3]"});
  expect_error(run_single_op("Gemm", {A(), B(), tf({3}, {1, 2, 3})}, {}), StatusCode::kInvalidModel,
               {"C f32[3]", "2x2"});
  expect_error(run_single_op("Gemm", {A(), B(), tf({1, 2, 2}, {1, 2, 3, 4})}, {}), StatusCode::kInvalidModel, {"C"});
  expect_error(run_single_op("Gemm", {A(), B()}, make_attrs({{"transA", int64_t{2}}})), StatusCode::kInvalidModel,
               {"transA"});
  expect_error(run_single_op("Gemm", {tf({1, 2, 3}, {1, 2, 3, 4, 5, 6}), B()}, {}), StatusCode::kInvalidModel,
               {"2-D"});
  expect_error(run_single_op("Gemm", {A(), Tensor::from_vector<double>({3, 1}, {1, 2, 3})}, {}),
               StatusCode::kInvalidModel, {"'B'"});
  expect_error(run_single_op("Gemm", {Tensor::from_vector<int32_t>({1, 1}, {1}), Tensor::from_vector<int32_t>({1, 1}, {1})},
                             {}),
               StatusCode::kUnsupported, {"i32"});
}

TEST(MatMulTest, TwoD) {
  auto r = run_single_op("MatMul", {A(), B()}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {58, 64, 139, 154}, {2, 2});
}

TEST(MatMulTest, OneDimensionalOperands) {
  auto vm = run_single_op("MatMul", {tf({3}, {1, 2, 3}), B()}, {});
  ASSERT_TRUE(vm.is_ok()) << vm.status().to_string();
  expect_tensor_near((*vm)[0], {58, 64}, {2});
  auto mv = run_single_op("MatMul", {A(), tf({3}, {1, 1, 1})}, {});
  ASSERT_TRUE(mv.is_ok()) << mv.status().to_string();
  expect_tensor_near((*mv)[0], {6, 15}, {2});
  auto vv = run_single_op("MatMul", {tf({3}, {1, 2, 3}), tf({3}, {4, 5, 6})}, {});
  ASSERT_TRUE(vv.is_ok()) << vv.status().to_string();
  expect_tensor_near((*vv)[0], {32}, Shape{});
  // 1-D against a batched matrix: [3] @ [2,3,1] -> [2,1].
  auto vb = run_single_op("MatMul", {tf({3}, {1, 2, 3}), tf({2, 3, 1}, {1, 0, 0, 0, 0, 1})}, {});
  ASSERT_TRUE(vb.is_ok()) << vb.status().to_string();
  expect_tensor_near((*vb)[0], {1, 3}, {2, 1});
}

TEST(MatMulTest, BatchBroadcast) {
  // [2,1,2] @ [2,1]: each batch row times [1,10].
  auto r = run_single_op("MatMul", {tf({2, 1, 2}, {1, 2, 3, 4}), tf({2, 1}, {1, 10})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {21, 43}, {2, 1, 1});
  // [2,1,1,2] @ [1,3,2,1] -> [2,3,1,1]: a0=[1,2], a1=[3,4]; b = [1,0], [0,1], [1,1].
  auto b = run_single_op("MatMul", {tf({2, 1, 1, 2}, {1, 2, 3, 4}), tf({1, 3, 2, 1}, {1, 0, 0, 1, 1, 1})}, {});
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  expect_tensor_near((*b)[0], {1, 2, 3, 3, 4, 7}, {2, 3, 1, 1});
}

TEST(MatMulTest, Integer) {
  auto r = run_single_op("MatMul", {Tensor::from_vector<int32_t>({1, 2}, {2, 3}), Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4})},
                         {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].dtype(), DType::kI32);
  expect_tensor_near((*r)[0], {11, 16}, {1, 2});
}

TEST(MatMulTest, Flops) {
  auto f = single_op_flops("MatMul", {Tensor(DType::kF32, Shape{4, 2, 3}), Tensor(DType::kF32, Shape{3, 5})}, {});
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(*f, 2 * 4 * 2 * 5 * 3);
}

TEST(MatMulTest, Errors) {
  expect_error(run_single_op("MatMul", {A(), A()}, {}), StatusCode::kInvalidModel, {"inner", "f32[2x3]"});
  expect_error(run_single_op("MatMul", {tf({2, 2, 3}, std::vector<float>(12, 1)), tf({3, 3, 1}, std::vector<float>(9, 1))},
                             {}),
               StatusCode::kInvalidModel, {"batch"});
  expect_error(run_single_op("MatMul", {Tensor::scalar<float>(1), B()}, {}), StatusCode::kInvalidModel, {"rank"});
  expect_error(run_single_op("MatMul", {A(), Tensor::from_vector<int32_t>({3, 1}, {1, 2, 3})}, {}),
               StatusCode::kInvalidModel, {"'B'"});
}

}  // namespace
}  // namespace anvil::testing

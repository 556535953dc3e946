// BatchNormalization (inference form).
#include "op_test_util.h"

namespace anvil::testing {
namespace {

// ch0: scale 3, B 1, mean 1, var 4 -> 3 * (x - 1) / 2 + 1
// ch1: scale 0.5, B -1, mean 3, var 0.25 -> (x - 3) - 1
std::vector<Tensor> params() {
  return {tf({2}, {3, 0.5f}), tf({2}, {1, -1}), tf({2}, {1, 3}), tf({2}, {4, 0.25f})};
}

TEST(BatchNormTest, PerChannel) {
  std::vector<Tensor> in = {tf({1, 2, 1, 2}, {1, 2, 3, 5})};
  for (Tensor& t : params()) in.push_back(t);
  auto r = run_single_op("BatchNormalization", in, make_attrs({{"epsilon", 0.0f}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {1, 2.5f, -1, 1}, {1, 2, 1, 2});
}

TEST(BatchNormTest, DefaultEpsilonAndRank2) {
  // var 0: y = x / sqrt(1e-5) = x * 316.22777
  std::vector<Tensor> in = {tf({2, 1}, {1, -2}), tf({1}, {1}), tf({1}, {0}), tf({1}, {0}), tf({1}, {0})};
  auto r = run_single_op("BatchNormalization", in, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {316.22777f, -632.45553f}, {2, 1});
}

TEST(BatchNormTest, F64AndSpatial1) {
  std::vector<Tensor> in = {Tensor::from_vector<double>({1, 1, 3}, {0, 1, 2})};
  for (double v : {2.0, 1.0, 1.0, 1.0}) in.push_back(Tensor::from_vector<double>({1}, {v}));
  auto r = run_single_op("BatchNormalization", in, make_attrs({{"epsilon", 0.0f}, {"spatial", int64_t{1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-1, 1, 3}, {1, 1, 3});
}

TEST(BatchNormTest, UnsupportedTrainingForms) {
  std::vector<Tensor> in = {tf({1, 2, 1, 2}, {1, 2, 3, 5})};
  for (Tensor& t : params()) in.push_back(t);
  expect_error(run_single_op("BatchNormalization", in, {}, 3), StatusCode::kUnsupported, {"outputs"});
  expect_error(run_single_op("BatchNormalization", in, make_attrs({{"spatial", int64_t{0}}})), StatusCode::kUnsupported,
               {"spatial"});
  expect_error(run_single_op("BatchNormalization", in, make_attrs({{"training_mode", int64_t{1}}})),
               StatusCode::kUnsupported, {"training_mode"});
}

TEST(BatchNormTest, Errors) {
  std::vector<Tensor> in = {tf({1, 3, 1, 1}, {1, 2, 3})};
  for (Tensor& t : params()) in.push_back(t);
  expect_error(run_single_op("BatchNormalization", in, {}), StatusCode::kInvalidModel,
               {"'scale'", "f32[2]", "[3]", "f32[1x3x1x1]"});
  std::vector<Tensor> r1 = {tf({2}, {1, 2})};
  for (Tensor& t : params()) r1.push_back(t);
  expect_error(run_single_op("BatchNormalization", r1, {}), StatusCode::kInvalidModel, {"rank"});
  std::vector<Tensor> mixed = {tf({1, 2}, {1, 2}), tf({2}, {1, 1}), tf({2}, {0, 0}), tf({2}, {0, 0}),
                               Tensor::from_vector<double>({2}, {1, 1})};
  expect_error(run_single_op("BatchNormalization", mixed, {}), StatusCode::kUnsupported, {"input_var"});
  std::vector<Tensor> ok = {tf({1, 2}, {1, 2})};
  for (Tensor& t : params()) ok.push_back(t);
  expect_error(run_single_op("BatchNormalization", ok, make_attrs({{"epsilon", -1.0f}})), StatusCode::kInvalidModel,
               {"epsilon"});
}

}  // namespace
}  // namespace anvil::testing

// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool with hand-computed
// windows, plus resolve_window's output-size rules.
#include "op_test_util.h"
#include "ops/op_util.h"

namespace anvil::testing {
namespace {

using I = std::vector<int64_t>;

std::vector<float> iota_f(int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  return v;
}

// ---- resolve_window ---------------------------------------------------------

TEST(PoolWindowTest, ExplicitPadsAndCeilMode) {
  ops::WindowGeometry g;
  // floor((5 + 0 - 2) / 2) + 1 = 2; ceil gives 3, last window starts at 4 < 5.
  ASSERT_TRUE(ops::resolve_window({5}, {2}, make_attrs({{"strides", I{2}}}), true, g).is_ok());
  EXPECT_EQ(g.out, I{2});
  ASSERT_TRUE(ops::resolve_window({5}, {2}, make_attrs({{"strides", I{2}}, {"ceil_mode", int64_t{1}}}), true, g).is_ok());
  EXPECT_EQ(g.out, I{3});
  // in 4, end pad 1, k 2, s 2: ceil((4+1-2)/2)+1 = 3, but window 3 would start
  // at 4 = in + pad_begin, inside the end padding only, so it is dropped.
  ASSERT_TRUE(ops::resolve_window({4}, {2}, make_attrs({{"strides", I{2}}, {"pads", I{0, 1}}, {"ceil_mode", int64_t{1}}}),
                                  true, g)
                  .is_ok());
  EXPECT_EQ(g.out, I{2});
  // ceil_mode is ignored where not allowed (Conv has no such attribute).
  ASSERT_TRUE(ops::resolve_window({5}, {2}, make_attrs({{"strides", I{2}}, {"ceil_mode", int64_t{1}}}), false, g).is_ok());
  EXPECT_EQ(g.out, I{2});
}

TEST(PoolWindowTest, AutoPad) {
  ops::WindowGeometry g;
  // SAME: out = ceil(in / s); total pad = (out-1)*s + dk - in, odd extra at the end (UPPER) or start (LOWER).
  ASSERT_TRUE(ops::resolve_window({7, 6}, {3, 4}, make_attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", I{2, 2}}}),
                                  true, g)
                  .is_ok());
  EXPECT_EQ(g.out, (I{4, 3}));
  EXPECT_EQ(g.pad_begin, (I{1, 1}));  // total 2 -> 1/1; total (3-1)*2+4-6 = 2 -> 1/1
  EXPECT_EQ(g.pad_end, (I{1, 1}));
  ASSERT_TRUE(ops::resolve_window({4}, {2}, make_attrs({{"auto_pad", std::string("SAME_UPPER")}}), true, g).is_ok());
  EXPECT_EQ(g.pad_begin, I{0});
  EXPECT_EQ(g.pad_end, I{1});
  ASSERT_TRUE(ops::resolve_window({4}, {2}, make_attrs({{"auto_pad", std::string("SAME_LOWER")}}), true, g).is_ok());
  EXPECT_EQ(g.pad_begin, I{1});
  EXPECT_EQ(g.pad_end, I{0});
  // Dilation enlarges the window: dk = (3-1)*2+1 = 5, total = 4 + 5 - 5 = 4.
  ASSERT_TRUE(ops::resolve_window({5}, {3}, make_attrs({{"auto_pad", std::string("SAME_LOWER")}, {"dilations", I{2}}}),
                                  true, g)
                  .is_ok());
  EXPECT_EQ(g.out, I{5});
  EXPECT_EQ(g.pad_begin, I{2});
  EXPECT_EQ(g.pad_end, I{2});
  // VALID: floor((in - dk) / s) + 1 = floor((7 - 3) / 3) + 1 = 2.
  ASSERT_TRUE(ops::resolve_window({7}, {3}, make_attrs({{"auto_pad", std::string("VALID")}, {"strides", I{3}}}), true, g)
                  .is_ok());
  EXPECT_EQ(g.out, I{2});
  EXPECT_EQ(g.pad_begin, I{0});
}

TEST(PoolWindowTest, Errors) {
  ops::WindowGeometry g;
  EXPECT_EQ(ops::resolve_window({5, 5}, {2}, {}, true, g).code(), StatusCode::kInvalidModel);
  EXPECT_EQ(ops::resolve_window({5}, {0}, {}, true, g).code(), StatusCode::kInvalidModel);
  EXPECT_EQ(ops::resolve_window({5}, {2}, make_attrs({{"ceil_mode", int64_t{2}}}), true, g).code(),
            StatusCode::kInvalidModel);
  EXPECT_EQ(ops::resolve_window({5}, {2}, make_attrs({{"dilations", I{0}}}), true, g).code(), StatusCode::kInvalidModel);
  EXPECT_EQ(ops::resolve_window({5}, {2}, make_attrs({{"strides", std::string("2")}}), true, g).code(),
            StatusCode::kInvalidModel);
  EXPECT_EQ(ops::resolve_window({5}, {7}, make_attrs({{"auto_pad", std::string("VALID")}}), true, g).code(),
            StatusCode::kInvalidArgument);
}

// ---- MaxPool ----------------------------------------------------------------

TEST(MaxPoolTest, Stride2WithIndices) {
  Tensor x = tf({1, 1, 4, 4}, iota_f(16));
  auto r = run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{2, 2}}, {"strides", I{2, 2}}}), 2);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {6, 8, 14, 16}, {1, 1, 2, 2});
  ASSERT_EQ((*r)[1].dtype(), DType::kI64);
  EXPECT_EQ((*r)[1].to_i64_vector(), (I{5, 7, 13, 15}));
  // Column-major indices: h + w * H for maxima at (1,1), (1,3), (3,1), (3,3).
  auto c = run_single_op("MaxPool", {x},
                         make_attrs({{"kernel_shape", I{2, 2}}, {"strides", I{2, 2}}, {"storage_order", int64_t{1}}}), 2);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ((*c)[1].to_i64_vector(), (I{5, 13, 7, 15}));
}

TEST(MaxPoolTest, IndicesIncludeBatchAndChannelOffset) {
  // ch0 max 4 at flat 3; ch1 = [8,7,6,5] max at its first element, flat 4.
  auto r = run_single_op("MaxPool", {tf({1, 2, 2, 2}, {1, 2, 3, 4, 8, 7, 6, 5})},
                         make_attrs({{"kernel_shape", I{2, 2}}}), 2);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {4, 8}, {1, 2, 1, 1});
  EXPECT_EQ((*r)[1].to_i64_vector(), (I{3, 4}));
}

TEST(MaxPoolTest, PaddingNeverWins) {
  // All-negative input with zero padding: padding must not produce 0.
  auto r = run_single_op("MaxPool", {tf({1, 1, 2, 2}, {-4, -3, -2, -1})},
                         make_attrs({{"kernel_shape", I{2, 2}}, {"pads", I{1, 1, 1, 1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {-4, -3, -3, -2, -1, -1, -2, -1, -1}, {1, 1, 3, 3});
}

TEST(MaxPoolTest, Pad1Kernel3) {
  auto r = run_single_op("MaxPool", {tf({1, 1, 3, 3}, iota_f(9))},
                         make_attrs({{"kernel_shape", I{3, 3}}, {"pads", I{1, 1, 1, 1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {5, 6, 6, 8, 9, 9, 8, 9, 9}, {1, 1, 3, 3});
}

TEST(MaxPoolTest, CeilMode) {
  Tensor x = tf({1, 1, 1, 5}, iota_f(5));
  auto f = run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{1, 2}}, {"strides", I{1, 2}}}));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  expect_tensor_near((*f)[0], {2, 4}, {1, 1, 1, 2});
  auto c = run_single_op("MaxPool", {x},
                         make_attrs({{"kernel_shape", I{1, 2}}, {"strides", I{1, 2}}, {"ceil_mode", int64_t{1}}}));
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  expect_tensor_near((*c)[0], {2, 4, 5}, {1, 1, 1, 3});
  // Window that would start in the end padding is dropped.
  auto d = run_single_op("MaxPool", {tf({1, 1, 1, 4}, iota_f(4))},
                         make_attrs({{"kernel_shape", I{1, 2}},
                                     {"strides", I{1, 2}},
                                     {"pads", I{0, 0, 0, 1}},
                                     {"ceil_mode", int64_t{1}}}));
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  expect_tensor_near((*d)[0], {2, 4}, {1, 1, 1, 2});
}

TEST(MaxPoolTest, DilationAndAutoPad) {
  auto r = run_single_op("MaxPool", {tf({1, 1, 5}, {1, 5, 2, 4, 3})},
                         make_attrs({{"kernel_shape", I{2}}, {"dilations", I{2}}}), 2);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {2, 5, 3}, {1, 1, 3});
  EXPECT_EQ((*r)[1].to_i64_vector(), (I{2, 1, 4}));
  Tensor x = tf({1, 1, 1, 4}, {4, 1, 3, 2});
  auto up = run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{1, 2}}, {"auto_pad", std::string("SAME_UPPER")}}));
  ASSERT_TRUE(up.is_ok()) << up.status().to_string();
  expect_tensor_near((*up)[0], {4, 3, 3, 2}, {1, 1, 1, 4});
  auto lo = run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{1, 2}}, {"auto_pad", std::string("SAME_LOWER")}}));
  ASSERT_TRUE(lo.is_ok()) << lo.status().to_string();
  expect_tensor_near((*lo)[0], {4, 4, 3, 3}, {1, 1, 1, 4});
}

TEST(MaxPoolTest, OneAndThreeDimensionalAndTies) {
  auto one = run_single_op("MaxPool", {tf({1, 1, 4}, {1, 3, 2, 4})}, make_attrs({{"kernel_shape", I{2}}}));
  ASSERT_TRUE(one.is_ok()) << one.status().to_string();
  expect_tensor_near((*one)[0], {3, 3, 4}, {1, 1, 3});
  auto three = run_single_op("MaxPool", {tf({1, 1, 2, 2, 2}, iota_f(8))}, make_attrs({{"kernel_shape", I{2, 2, 2}}}), 2);
  ASSERT_TRUE(three.is_ok()) << three.status().to_string();
  expect_tensor_near((*three)[0], {8}, {1, 1, 1, 1, 1});
  EXPECT_EQ((*three)[1].to_i64_vector(), I{7});
  // Ties: the first maximum in scan order is reported.
  auto tie = run_single_op("MaxPool", {tf({1, 1, 1, 3}, {7, 7, 7})}, make_attrs({{"kernel_shape", I{1, 3}}}), 2);
  ASSERT_TRUE(tie.is_ok()) << tie.status().to_string();
  EXPECT_EQ((*tie)[1].to_i64_vector(), I{0});
}

TEST(MaxPoolTest, Integer8) {
  auto r = run_single_op("MaxPool", {Tensor::from_vector<int8_t>({1, 1, 4}, {-5, -3, -8, -1})},
                         make_attrs({{"kernel_shape", I{2}}, {"strides", I{2}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].dtype(), DType::kI8);
  expect_tensor_near((*r)[0], {-3, -1}, {1, 1, 2});
  auto u = run_single_op("MaxPool", {Tensor::from_vector<uint8_t>({1, 1, 3}, {200, 10, 255})},
                         make_attrs({{"kernel_shape", I{2}}}));
  ASSERT_TRUE(u.is_ok()) << u.status().to_string();
  expect_tensor_near((*u)[0], {200, 255}, {1, 1, 2});
}

TEST(MaxPoolTest, Errors) {
  Tensor x = tf({1, 1, 4, 4}, iota_f(16));
  expect_error(run_single_op("MaxPool", {x}, {}), StatusCode::kInvalidModel, {"kernel_shape"});
  expect_error(run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{2}}})), StatusCode::kInvalidModel,
               {"kernel shape [2]", "[4, 4]"});
  expect_error(run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{2, 0}}})), StatusCode::kInvalidModel,
               {"kernel_shape"});
  expect_error(run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{2, 2}}, {"strides", I{0, 1}}})),
               StatusCode::kInvalidModel, {"strides"});
  expect_error(run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{5, 5}}})), StatusCode::kInvalidArgument,
               {"window 5", "f32[1x1x4x4]"});
  expect_error(run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{2, 2}}, {"storage_order", int64_t{2}}})),
               StatusCode::kInvalidModel, {"storage_order"});
  expect_error(run_single_op("MaxPool", {x}, make_attrs({{"kernel_shape", I{2, 2}}, {"ceil_mode", int64_t{3}}})),
               StatusCode::kInvalidModel, {"ceil_mode"});
  expect_error(run_single_op("MaxPool", {x},
                             make_attrs({{"kernel_shape", I{2, 2}},
                                         {"auto_pad", std::string("SAME_UPPER")},
                                         {"pads", I{1, 1, 1, 1}}})),
               StatusCode::kInvalidModel, {"pads", "SAME_UPPER"});
  expect_error(run_single_op("MaxPool", {tf({4, 4}, iota_f(16))}, make_attrs({{"kernel_shape", I{2}}})),
               StatusCode::kInvalidModel, {"rank"});
  expect_error(run_single_op("MaxPool", {Tensor::from_vector<int32_t>({1, 1, 2}, {1, 2})},
                             make_attrs({{"kernel_shape", I{2}}})),
               StatusCode::kInvalidModel, {"i32"});
}

// ---- AveragePool ------------------------------------------------------------

TEST(AveragePoolTest, Basic) {
  auto r = run_single_op("AveragePool", {tf({1, 1, 3, 3}, iota_f(9))}, make_attrs({{"kernel_shape", I{2, 2}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {3, 4, 6, 7}, {1, 1, 2, 2});
}

TEST(AveragePoolTest, PadsCountIncludePad) {
  Tensor x = tf({1, 1, 3, 3}, iota_f(9));
  Attrs a = make_attrs({{"kernel_shape", I{3, 3}}, {"pads", I{1, 1, 1, 1}}});
  // Box sums 12 21 16 / 27 45 33 / 24 39 28 over 4/6/9 valid elements.
  auto ex = run_single_op("AveragePool", {x}, a);
  ASSERT_TRUE(ex.is_ok()) << ex.status().to_string();
  expect_tensor_near((*ex)[0], {3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7}, {1, 1, 3, 3});
  a.set("count_include_pad", int64_t{1});
  auto in = run_single_op("AveragePool", {x}, a);
  ASSERT_TRUE(in.is_ok()) << in.status().to_string();
  expect_tensor_near((*in)[0], {12 / 9.f, 21 / 9.f, 16 / 9.f, 3, 5, 33 / 9.f, 24 / 9.f, 39 / 9.f, 28 / 9.f}, {1, 1, 3, 3});
}

TEST(AveragePoolTest, CeilModeDivisors) {
  Tensor x = tf({1, 1, 5}, iota_f(5));
  // No padding: the partial last window averages its one element either way.
  for (int64_t cip : {0, 1}) {
    auto r = run_single_op("AveragePool", {x},
                           make_attrs({{"kernel_shape", I{2}}, {"strides", I{2}}, {"ceil_mode", int64_t{1}},
                                       {"count_include_pad", cip}}));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    expect_tensor_near((*r)[0], {1.5f, 3.5f, 5}, {1, 1, 3});
  }
  // k 3, s 2, end pad 1: ceil((5+1-3)/2)+1 = 3 windows starting at 0, 2, 4.
  // The last covers x[4], one pad element and one position past the pad:
  // count_include_pad counts the pad (5/2), never the position beyond it.
  Attrs a = make_attrs({{"kernel_shape", I{3}}, {"strides", I{2}}, {"pads", I{0, 1}}, {"ceil_mode", int64_t{1}}});
  auto ex = run_single_op("AveragePool", {x}, a);
  ASSERT_TRUE(ex.is_ok()) << ex.status().to_string();
  expect_tensor_near((*ex)[0], {2, 4, 5}, {1, 1, 3});
  a.set("count_include_pad", int64_t{1});
  auto in = run_single_op("AveragePool", {x}, a);
  ASSERT_TRUE(in.is_ok()) << in.status().to_string();
  expect_tensor_near((*in)[0], {2, 4, 2.5f}, {1, 1, 3});
}

TEST(AveragePoolTest, DilationSameAnd3D) {
  auto d = run_single_op("AveragePool", {tf({1, 1, 5}, iota_f(5))},
                         make_attrs({{"kernel_shape", I{2}}, {"dilations", I{2}}}));
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  expect_tensor_near((*d)[0], {2, 3, 4}, {1, 1, 3});
  Tensor x = tf({1, 1, 4}, {1, 2, 3, 4});
  auto s0 = run_single_op("AveragePool", {x}, make_attrs({{"kernel_shape", I{2}}, {"auto_pad", std::string("SAME_UPPER")}}));
  ASSERT_TRUE(s0.is_ok()) << s0.status().to_string();
  expect_tensor_near((*s0)[0], {1.5f, 2.5f, 3.5f, 4}, {1, 1, 4});
  auto s1 = run_single_op("AveragePool", {x},
                          make_attrs({{"kernel_shape", I{2}}, {"auto_pad", std::string("SAME_UPPER")},
                                      {"count_include_pad", int64_t{1}}}));
  ASSERT_TRUE(s1.is_ok()) << s1.status().to_string();
  expect_tensor_near((*s1)[0], {1.5f, 2.5f, 3.5f, 2}, {1, 1, 4});
  auto three = run_single_op("AveragePool", {tf({1, 1, 2, 2, 2}, iota_f(8))}, make_attrs({{"kernel_shape", I{2, 2, 2}}}));
  ASSERT_TRUE(three.is_ok()) << three.status().to_string();
  expect_tensor_near((*three)[0], {4.5f}, {1, 1, 1, 1, 1});
}

TEST(AveragePoolTest, Errors) {
  Tensor x = tf({1, 1, 4, 4}, iota_f(16));
  expect_error(run_single_op("AveragePool", {x}, make_attrs({{"kernel_shape", I{2, 2}}, {"count_include_pad", int64_t{2}}})),
               StatusCode::kInvalidModel, {"count_include_pad"});
  expect_error(run_single_op("AveragePool", {x}, {}), StatusCode::kInvalidModel, {"kernel_shape"});
  expect_error(run_single_op("AveragePool", {Tensor::from_vector<int8_t>({1, 1, 2}, {1, 2})},
                             make_attrs({{"kernel_shape", I{2}}})),
               StatusCode::kInvalidModel, {"i8"});
}

// ---- Global pools -----------------------------------------------------------

TEST(GlobalPoolTest, AverageAndMax) {
  Tensor x = tf({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 9});
  auto a = run_single_op("GlobalAveragePool", {x}, {});
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  expect_tensor_near((*a)[0], {2.5f, 6.75f}, {1, 2, 1, 1});
  auto m = run_single_op("GlobalMaxPool", {x}, {});
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  expect_tensor_near((*m)[0], {4, 9}, {1, 2, 1, 1});
}

TEST(GlobalPoolTest, OtherRanks) {
  auto a = run_single_op("GlobalAveragePool", {tf({2, 1, 3}, {1, 2, 6, -1, -2, -6})}, {});
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  expect_tensor_near((*a)[0], {3, -3}, {2, 1, 1});
  auto m = run_single_op("GlobalMaxPool", {tf({1, 1, 2, 1, 2}, {-4, -3, -2, -5})}, {});
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  expect_tensor_near((*m)[0], {-2}, {1, 1, 1, 1, 1});
}

TEST(GlobalPoolTest, Errors) {
  expect_error(run_single_op("GlobalAveragePool", {tf({3}, {1, 2, 3})}, {}), StatusCode::kInvalidModel, {"rank"});
  expect_error(run_single_op("GlobalMaxPool", {Tensor::from_vector<int64_t>({1, 1, 1}, {1})}, {}),
               StatusCode::kInvalidModel, {"i64"});
}

}  // namespace
}  // namespace anvil::testing

// Conv: hand-computed small cases for every attribute, error checks, and a
// cross-check of the optimised loop nest against a naive direct convolution.
#include <chrono>
#include <cstdio>
#include <random>

#include "op_test_util.h"

namespace anvil::testing {
namespace {

std::vector<float> iota_f(int n, float start = 1) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<float>(i);
  return v;
}

using I = std::vector<int64_t>;

// X = [[1,2,3],[4,5,6],[7,8,9]]
Tensor x3x3() { return tf({1, 1, 3, 3}, iota_f(9)); }

TEST(ConvTest, Basic2x2NoPad) {
  // Diagonal kernel: y = x[i][j] + x[i+1][j+1].
  auto r = run_single_op("Conv", {x3x3(), tf({1, 1, 2, 2}, {1, 0, 0, 1})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {6, 8, 12, 14}, {1, 1, 2, 2});
}

TEST(ConvTest, BiasAndExplicitKernelShape) {
  auto r = run_single_op("Conv", {x3x3(), tf({1, 1, 2, 2}, {1, 0, 0, 1}), tf({1}, {1})},
                         make_attrs({{"kernel_shape", I{2, 2}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {7, 9, 13, 15}, {1, 1, 2, 2});
}

TEST(ConvTest, Pad1Kernel3) {
  // 3x3 box sums of the zero-padded input.
  auto r = run_single_op("Conv", {x3x3(), tf({1, 1, 3, 3}, std::vector<float>(9, 1))},
                         make_attrs({{"pads", I{1, 1, 1, 1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {12, 21, 16, 27, 45, 33, 24, 39, 28}, {1, 1, 3, 3});
}

TEST(ConvTest, Stride2Pad1) {
  // floor((3 + 2 - 3) / 2) + 1 = 2: the corner box sums of the case above.
  auto r = run_single_op("Conv", {x3x3(), tf({1, 1, 3, 3}, std::vector<float>(9, 1))},
                         make_attrs({{"pads", I{1, 1, 1, 1}}, {"strides", I{2, 2}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {12, 16, 24, 28}, {1, 1, 2, 2});
}

TEST(ConvTest, Dilation2) {
  // 2x2 kernel dilated by 2 covers the four corners.
  auto r = run_single_op("Conv", {x3x3(), tf({1, 1, 2, 2}, {1, 1, 1, 1})}, make_attrs({{"dilations", I{2, 2}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {20}, {1, 1, 1, 1});
}

TEST(ConvTest, AsymmetricPads) {
  // pads = [h_begin, w_begin, h_end, w_end] = [0, 1, 0, 0]; kernel 1x2 of ones.
  auto r = run_single_op("Conv", {tf({1, 1, 2, 2}, {1, 2, 3, 4}), tf({1, 1, 1, 2}, {1, 1})},
                         make_attrs({{"pads", I{0, 1, 0, 0}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {1, 3, 3, 7}, {1, 1, 2, 2});
}

TEST(ConvTest, MultiChannelAndBatch) {
  // y = ch0 - ch1 + 10 for each of two batch items.
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, /*n=1*/ 0, 0, 0, 1, 1, 1, 1, 1};
  auto r = run_single_op("Conv", {tf({2, 2, 2, 2}, x), tf({1, 2, 1, 1}, {1, -1}), tf({1}, {10})}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {6, 6, 6, 6, 9, 9, 9, 10}, {2, 1, 2, 2});
}

TEST(ConvTest, GroupsPointwiseAndSpatial) {
  Tensor x = tf({1, 2, 2, 2}, iota_f(8));  // ch0 = 1..4, ch1 = 5..8
  auto r = run_single_op("Conv", {x, tf({2, 1, 1, 1}, {2, 3})}, make_attrs({{"group", int64_t{2}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {2, 4, 6, 8, 15, 18, 21, 24}, {1, 2, 2, 2});
  auto s = run_single_op("Conv", {x, tf({2, 1, 2, 2}, std::vector<float>(8, 1))}, make_attrs({{"group", int64_t{2}}}));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {10, 26}, {1, 2, 1, 1});
}

TEST(ConvTest, DepthwiseWithMultiplier) {
  // group = C = 2, two output channels per group: weights [1], [-1] for ch0 and [0.5], [2] for ch1.
  Tensor x = tf({1, 2, 1, 2}, {1, 2, 3, 4});
  auto r = run_single_op("Conv", {x, tf({4, 1, 1, 1}, {1, -1, 0.5f, 2})}, make_attrs({{"group", int64_t{2}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {1, 2, -1, -2, 1.5f, 2, 6, 8}, {1, 4, 1, 2});
}

TEST(ConvTest, AutoPadSameUpperLowerValid) {
  Tensor x = tf({1, 1, 1, 4}, {1, 2, 3, 4});
  Tensor w = tf({1, 1, 1, 2}, {1, 1});
  // total pad = (4-1)*1 + 2 - 4 = 1: UPPER puts it at the end, LOWER at the start.
  auto up = run_single_op("Conv", {x, w}, make_attrs({{"auto_pad", std::string("SAME_UPPER")}}));
  ASSERT_TRUE(up.is_ok()) << up.status().to_string();
  expect_tensor_near((*up)[0], {3, 5, 7, 4}, {1, 1, 1, 4});
  auto lo = run_single_op("Conv", {x, w}, make_attrs({{"auto_pad", std::string("SAME_LOWER")}}));
  ASSERT_TRUE(lo.is_ok()) << lo.status().to_string();
  expect_tensor_near((*lo)[0], {1, 3, 5, 7}, {1, 1, 1, 4});

  Tensor x5 = tf({1, 1, 1, 5}, {1, 2, 3, 4, 5});
  Tensor w3 = tf({1, 1, 1, 3}, {1, 1, 1});
  // ceil(5/2) = 3 outputs, total pad (3-1)*2 + 3 - 5 = 2 -> 1 each side.
  auto s2 = run_single_op("Conv", {x5, w3},
                          make_attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", I{1, 2}}}));
  ASSERT_TRUE(s2.is_ok()) << s2.status().to_string();
  expect_tensor_near((*s2)[0], {3, 9, 9}, {1, 1, 1, 3});
  auto valid = run_single_op("Conv", {x5, w3}, make_attrs({{"auto_pad", std::string("VALID")}, {"strides", I{1, 2}}}));
  ASSERT_TRUE(valid.is_ok()) << valid.status().to_string();
  expect_tensor_near((*valid)[0], {6, 12}, {1, 1, 1, 2});
  // All-zero pads next to auto_pad are tolerated.
  auto zp = run_single_op("Conv", {x, w},
                          make_attrs({{"auto_pad", std::string("SAME_UPPER")}, {"pads", I{0, 0, 0, 0}}}));
  ASSERT_TRUE(zp.is_ok()) << zp.status().to_string();
}

TEST(ConvTest, OneDimensional) {
  Tensor x = tf({1, 1, 5}, {1, 2, 3, 4, 5});
  // y[o] = 1*x[o-1] + 2*x[o] + 3*x[o+1]
  auto r = run_single_op("Conv", {x, tf({1, 1, 3}, {1, 2, 3})}, make_attrs({{"pads", I{1, 1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_tensor_near((*r)[0], {8, 14, 20, 26, 14}, {1, 1, 5});
  // Dilation 2 spans 5: one output 1*1 + 2*3 + 3*5.
  auto d = run_single_op("Conv", {x, tf({1, 1, 3}, {1, 2, 3})}, make_attrs({{"dilations", I{2}}, {"strides", I{2}}}));
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  expect_tensor_near((*d)[0], {22}, {1, 1, 1});
}

TEST(ConvTest, ThreeDimensional) {
  // X[d][h][w] = 1 + 4d + 2h + w over 2x2x2; ones kernel 2x2x2 with pad 1
  // everywhere gives 3x3x3 outputs. Window index 0 covers {0}, 1 covers
  // {0,1}, 2 covers {1} along each axis; the sum over a box D x H x W is
  // |D||H||W| + 4*sum(D)|H||W| + 2*sum(H)|D||W| + sum(W)|D||H|.
  auto r = run_single_op("Conv", {tf({1, 1, 2, 2, 2}, iota_f(8)), tf({1, 1, 2, 2, 2}, std::vector<float>(8, 1))},
                         make_attrs({{"pads", I{1, 1, 1, 1, 1, 1}}}));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const float size[3] = {1, 2, 1}, sum[3] = {0, 1, 1};
  std::vector<float> want;
  for (int d = 0; d < 3; ++d)
    for (int h = 0; h < 3; ++h)
      for (int w = 0; w < 3; ++w)
        want.push_back(size[d] * size[h] * size[w] + 4 * sum[d] * size[h] * size[w] +
                       2 * sum[h] * size[d] * size[w] + sum[w] * size[d] * size[h]);
  EXPECT_EQ(want[13], 36);  // centre: the whole input
  EXPECT_EQ(want[0], 1);
  expect_tensor_near((*r)[0], want, {1, 1, 3, 3, 3});
  // No padding, stride 1: single output = 1 + ... + 8.
  auto s = run_single_op("Conv", {tf({1, 1, 2, 2, 2}, iota_f(8)), tf({1, 1, 2, 2, 2}, std::vector<float>(8, 1)),
                                  tf({1}, {0.5f})},
                         {});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_tensor_near((*s)[0], {36.5f}, {1, 1, 1, 1, 1});
}

TEST(ConvTest, F64) {
  auto r = run_single_op("Conv", {Tensor::from_vector<double>({1, 1, 2, 2}, {1, 2, 3, 4}),
                                  Tensor::from_vector<double>({1, 1, 2, 2}, {1, 1, 1, 1})},
                         {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].dtype(), DType::kF64);
  expect_tensor_near((*r)[0], {10}, {1, 1, 1, 1});
}

TEST(ConvTest, Flops) {
  // 2 * N * OC * OH * OW * (IC/group) * KH * KW
  auto f = single_op_flops("Conv", {Tensor(DType::kF32, Shape{2, 4, 8, 8}), Tensor(DType::kF32, Shape{6, 2, 3, 3})},
                           make_attrs({{"group", int64_t{2}}, {"pads", I{1, 1, 1, 1}}}));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(*f, 2LL * 2 * 6 * 8 * 8 * 2 * 3 * 3);
}

TEST(ConvTest, Errors) {
  Tensor x = tf({1, 4, 3, 3}, std::vector<float>(36, 1));
  expect_error(run_single_op("Conv", {x, tf({2, 3, 1, 1}, std::vector<float>(6, 1))}, {}), StatusCode::kInvalidModel,
               {"input channels 4", "f32[1x4x3x3]", "3*1", "f32[2x3x1x1]"});
  expect_error(run_single_op("Conv", {x, tf({3, 2, 1, 1}, std::vector<float>(6, 1))}, make_attrs({{"group", int64_t{2}}})),
               StatusCode::kInvalidModel, {"output channels 3", "group 2"});
  expect_error(run_single_op("Conv", {x, tf({1, 4, 1, 1}, std::vector<float>(4, 1))}, make_attrs({{"group", int64_t{0}}})),
               StatusCode::kInvalidModel, {"group"});
  Tensor w = tf({1, 4, 2, 2}, std::vector<float>(16, 1));
  expect_error(run_single_op("Conv", {x, w}, make_attrs({{"kernel_shape", I{3, 3}}})), StatusCode::kInvalidModel,
               {"kernel_shape", "[3, 3]"});
  expect_error(run_single_op("Conv", {x, w}, make_attrs({{"strides", I{1}}})), StatusCode::kInvalidModel,
               {"strides", "[1]"});
  expect_error(run_single_op("Conv", {x, w}, make_attrs({{"strides", I{0, 1}}})), StatusCode::kInvalidModel,
               {"strides"});
  expect_error(run_single_op("Conv", {x, w}, make_attrs({{"dilations", I{1, 1, 1}}})), StatusCode::kInvalidModel,
               {"dilations"});
  expect_error(run_single_op("Conv", {x, w}, make_attrs({{"pads", I{1, 1}}})), StatusCode::kInvalidModel, {"pads"});
  expect_error(run_single_op("Conv", {x, w}, make_attrs({{"auto_pad", std::string("SAME")}})),
               StatusCode::kInvalidModel, {"auto_pad", "SAME"});
  expect_error(run_single_op("Conv", {x, w},
                             make_attrs({{"auto_pad", std::string("VALID")}, {"pads", I{1, 1, 1, 1}}})),
               StatusCode::kInvalidModel, {"pads", "VALID"});
  expect_error(run_single_op("Conv", {x, w, tf({2}, {1, 2})}, {}), StatusCode::kInvalidModel, {"bias", "f32[2]"});
  expect_error(run_single_op("Conv", {x, tf({1, 4, 5, 5}, std::vector<float>(100, 1))}, {}),
               StatusCode::kInvalidArgument, {"window 5", "larger"});
  expect_error(run_single_op("Conv", {tf({4, 3}, std::vector<float>(12, 1)), tf({1, 3}, {1, 1, 1})}, {}),
               StatusCode::kInvalidModel, {"rank"});
  expect_error(run_single_op("Conv", {x, tf({1, 4, 2}, std::vector<float>(8, 1))}, {}), StatusCode::kInvalidModel,
               {"rank"});
  expect_error(run_single_op("Conv", {x, Tensor::from_vector<double>({1, 4, 1, 1}, {1, 1, 1, 1})}, {}),
               StatusCode::kInvalidModel, {"'W'"});
  expect_error(run_single_op("Conv", {Tensor::from_vector<int32_t>({1, 1, 1, 1}, {1}),
                                      Tensor::from_vector<int32_t>({1, 1, 1, 1}, {1})},
                             {}),
               StatusCode::kInvalidModel, {"i32"});
  expect_error(run_single_op("Conv", {x, w}, make_attrs({{"pads", I{-1, 0, 0, 0}}})), StatusCode::kUnsupported,
               {"pads"});
}

// Direct convolution with a bounds check per tap: slow and obviously correct.
std::vector<float> naive_conv2d(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                int N, int C, int H, int W, int M, int G, int KH, int KW, int sh, int sw, int dh,
                                int dw, int pt, int pl, int OH, int OW) {
  std::vector<float> y(static_cast<size_t>(N * M * OH * OW));
  const int Cg = C / G, Mg = M / G;
  for (int n = 0; n < N; ++n)
    for (int m = 0; m < M; ++m)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow) {
          double acc = b.empty() ? 0 : b[m];
          const int g = m / Mg;
          for (int c = 0; c < Cg; ++c)
            for (int kh = 0; kh < KH; ++kh)
              for (int kw = 0; kw < KW; ++kw) {
                const int ih = oh * sh - pt + kh * dh, iw = ow * sw - pl + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += static_cast<double>(x[((n * C + g * Cg + c) * H + ih) * W + iw]) *
                       w[((m * Cg + c) * KH + kh) * KW + kw];
              }
          y[((n * M + m) * OH + oh) * OW + ow] = static_cast<float>(acc);
        }
  return y;
}

TEST(ConvTest, MatchesNaiveConvolution) {
  struct Case {
    int N, C, H, W, M, G, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
  };
  const Case cases[] = {
      {1, 3, 9, 11, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // same-size 3x3
      {2, 4, 10, 7, 6, 2, 3, 2, 2, 1, 1, 2, 0, 1, 2, 0},  // grouped, mixed strides/dilations, asymmetric pads
      {1, 6, 8, 8, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},   // depthwise stride 2
      {1, 5, 7, 7, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},   // pointwise
      {1, 2, 6, 9, 2, 1, 7, 7, 3, 2, 1, 1, 3, 3, 3, 3},   // big kernel, pads > input edge windows
      {1, 3, 1, 13, 2, 1, 1, 4, 1, 3, 1, 2, 0, 2, 0, 1},  // H = 1 (the 1-D shape)
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "case C=" << c.C << " H=" << c.H << " W=" << c.W << " K=" << c.KH << "x"
                                      << c.KW << " G=" << c.G);
    std::vector<float> x(static_cast<size_t>(c.N * c.C * c.H * c.W)), w(static_cast<size_t>(c.M * (c.C / c.G) * c.KH * c.KW)),
        b(static_cast<size_t>(c.M));
    for (float& v : x) v = dist(rng);
    for (float& v : w) v = dist(rng);
    for (float& v : b) v = dist(rng);
    const int OH = (c.H + c.pt + c.pb - ((c.KH - 1) * c.dh + 1)) / c.sh + 1;
    const int OW = (c.W + c.pl + c.pr - ((c.KW - 1) * c.dw + 1)) / c.sw + 1;
    auto r = run_single_op("Conv",
                           {tf({c.N, c.C, c.H, c.W}, x), tf({c.M, c.C / c.G, c.KH, c.KW}, w), tf({c.M}, b)},
                           make_attrs({{"group", int64_t{c.G}},
                                       {"strides", I{c.sh, c.sw}},
                                       {"dilations", I{c.dh, c.dw}},
                                       {"pads", I{c.pt, c.pl, c.pb, c.pr}}}));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    expect_tensor_near((*r)[0],
                       naive_conv2d(x, w, b, c.N, c.C, c.H, c.W, c.M, c.G, c.KH, c.KW, c.sh, c.sw, c.dh, c.dw, c.pt,
                                    c.pl, OH, OW),
                       {c.N, c.M, OH, OW}, 1e-4f);
  }
}

}  // namespace
}  // namespace anvil::testing

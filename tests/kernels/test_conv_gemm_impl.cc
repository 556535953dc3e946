// The optimized Conv/Gemm implementations (runtime/impl_*.cc) against the
// plain-loop reference, on randomized shapes with edges, at every ISA level
// the host has. Tolerance: f32 accumulation of up to ~600 products of
// magnitude <= 1 in a different order: 1e-4 relative to the output scale.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>

#include "core/cpu.h"
#include "ops/op_test_util.h"
#include "runtime/executor.h"
#include "runtime/kernel_registry.h"

namespace anvil {
namespace {

std::vector<Isa> host_isas() {
  std::vector<Isa> v{Isa::kScalar};
  if (host_isa() >= Isa::kAvx2) v.push_back(Isa::kAvx2);
  if (host_isa() >= Isa::kAvx512) v.push_back(Isa::kAvx512);
  return v;
}

Tensor random_tensor(Shape s, std::mt19937& rng) {
  Tensor t(DType::kF32, std::move(s));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Runs `op` through the Executor (optimized dispatch) at `isa` and through
// the reference, and compares. Input 0 is a run-time input; others constant.
void check_against_reference(const std::string& op, const std::vector<Tensor>& inputs, Attrs attrs,
                             const std::string& desc, bool expect_optimized = true) {
  auto ref = testing::run_single_op(op, inputs, attrs);
  ASSERT_TRUE(ref.is_ok()) << desc << ": " << ref.status().message();
  const Tensor& want = (*ref)[0];
  double scale = 1e-3;
  for (int64_t i = 0; i < want.numel(); ++i) scale = std::max(scale, std::fabs(double(want.data<float>()[i])));
  for (Isa isa : host_isas())
  for (int threads : {1, 2}) {
    set_isa_cap(isa);
    Graph g;
    std::vector<bool> as_input(inputs.size(), false);
    as_input[0] = true;
    ASSERT_TRUE(testing::build_single_op_graph(g, op, inputs, attrs, 1, as_input).is_ok());
    auto ex = Executor::create(std::move(g), threads);
    ASSERT_TRUE(ex.is_ok()) << desc << ": " << ex.status().message();
    if (expect_optimized) {
      EXPECT_EQ((*ex)->step_kernel_name(0).rfind("ref:", 0), std::string::npos)
          << desc << ": expected an optimized kernel, got " << (*ex)->step_kernel_name(0);
    }
    std::vector<Tensor> out;
    ASSERT_TRUE((*ex)->run({inputs[0]}, out).is_ok());
    ASSERT_EQ(out[0].shape(), want.shape()) << desc;
    for (int64_t i = 0; i < want.numel(); ++i) {
      ASSERT_NEAR(out[0].data<float>()[i], want.data<float>()[i], 1e-4 * scale)
          << desc << " isa=" << isa_name(isa) << " threads=" << threads << " kernel=" << (*ex)->step_kernel_name(0) << " at " << i;
    }
  }
  set_isa_cap(std::nullopt);
}

// The fused variant of a conv test case: input pre-op (BatchNorm as
// scale-shift, padding stays zero), then residual add and ReLU. Appends
// the extra inputs and returns the op name.
std::string add_pre_op_residual_relu(Attrs& a, std::vector<Tensor>& in, int64_t C, int64_t OC, int64_t OH, int64_t OW,
                                     std::mt19937& rng) {
  a.set("post_ops", std::vector<std::string>{"sum", "relu"});
  a.set("post_alpha", std::vector<float>{0, 0});
  a.set("post_beta", std::vector<float>{0, 0});
  a.set("pre_scale_shift", int64_t{1});
  in.push_back(random_tensor({C}, rng));
  in.push_back(random_tensor({C}, rng));
  in.push_back(random_tensor({1, OC, OH, OW}, rng));
  return "FusedConv";
}

// The same without the pre-op (a 1x1 conv with one reads the image
// through packing, not in place).
std::string add_residual_relu(Attrs& a, std::vector<Tensor>& in, int64_t OC, int64_t OH, int64_t OW,
                              std::mt19937& rng) {
  a.set("post_ops", std::vector<std::string>{"sum", "relu"});
  a.set("post_alpha", std::vector<float>{0, 0});
  a.set("post_beta", std::vector<float>{0, 0});
  in.push_back(random_tensor({1, OC, OH, OW}, rng));
  return "FusedConv";
}

// The kernel the optimized executor picks for `op` (1 thread, host ISA)
// starts with (prefix) or contains `want`.
void expect_kernel(const std::string& op, const std::vector<Tensor>& in, const Attrs& a, const std::string& want,
                   bool prefix, const std::string& desc) {
  Graph g;
  std::vector<bool> as_input(in.size(), false);
  as_input[0] = true;
  ASSERT_TRUE(testing::build_single_op_graph(g, op, in, a, 1, as_input).is_ok());
  auto ex = Executor::create(std::move(g), 1);
  ASSERT_TRUE(ex.is_ok());
  const std::string name = (*ex)->step_kernel_name(0);
  if (prefix) EXPECT_EQ(name.rfind(want, 0), 0u) << desc << ": " << name;
  else EXPECT_NE(name.find(want), std::string::npos) << desc << ": " << name;
}

TEST(ConvGemmImpl, RandomizedConvShapesMatchReference) {
  std::mt19937 rng(1234);
  const int64_t channels[] = {1, 3, 15, 16, 17, 33, 64};
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t group = trial % 7 == 0 ? 2 : (trial % 11 == 0 ? 0 : 1);  // 0 marks depthwise
    int64_t C = channels[rng() % 7], OC = channels[rng() % 7];
    int64_t g = group;
    if (g == 0) {
      g = C;
      OC = C;
    } else if (g == 2) {
      C = 2 * ((C + 1) / 2);
      OC = 2 * ((OC + 1) / 2);
    }
    const int64_t k = 1 + rng() % 3 * 1 + (trial % 5 == 0 ? 4 : 0);  // 1..3, sometimes 5..7
    const int64_t stride = 1 + rng() % 3, dil = trial % 9 == 0 ? 2 : 1;
    const int64_t H = rng() % 13 + dil * (k - 1) + 1, W = rng() % 17 + dil * (k - 1) + 1;
    const int64_t pad = rng() % 4;
    const int64_t N = trial % 13 == 0 ? 2 : 1;
    Attrs a;
    a.set("group", g);
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("dilations", std::vector<int64_t>{dil, dil});
    a.set("pads", std::vector<int64_t>{pad, pad / 2, pad / 2, pad});
    std::vector<Tensor> in{random_tensor({N, C, H, W}, rng), random_tensor({OC, C / g, k, k}, rng)};
    if (trial % 2) in.push_back(random_tensor({OC}, rng));
    const std::string desc = "mb" + std::to_string(N) + "ic" + std::to_string(C) + "ih" + std::to_string(H) + "iw" +
                             std::to_string(W) + "oc" + std::to_string(OC) + "k" + std::to_string(k) + "s" +
                             std::to_string(stride) + "d" + std::to_string(dil) + "p" + std::to_string(pad) + "g" +
                             std::to_string(g);
    check_against_reference("Conv", in, a, desc);
  }
}

TEST(ConvGemmImpl, LargeConvsTakeTheThreadedPaths) {
  std::mt19937 rng(5);
  Attrs a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  // Big enough that im2col, the GEMM and the epilogue are all split.
  check_against_reference("Conv", {random_tensor({1, 32, 40, 40}, rng), random_tensor({64, 32, 3, 3}, rng),
                                   random_tensor({64}, rng)},
                          a, "mb1ic32ih40oc64k3p1");
  Attrs dw = a;
  dw.set("group", int64_t{48});
  check_against_reference("Conv", {random_tensor({1, 48, 30, 30}, rng), random_tensor({48, 1, 3, 3}, rng)}, dw,
                          "depthwise mb1ic48ih30k3p1");
}

TEST(ConvGemmImpl, FusedConvPreAndPostOpsMatchReference) {
  std::mt19937 rng(31);
  for (int64_t group : {1, 2})
    for (int64_t k : {1, 3})
      for (int64_t H : {5, 12}) {
        const int64_t C = 6, OC = 8;
        Attrs a;
        a.set("pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
        a.set("group", group);
        a.set("pre_scale_shift", int64_t{1});
        a.set("post_ops", std::vector<std::string>{"sum", "prelu", "scale_shift", "relu"});
        a.set("post_alpha", std::vector<float>{0, 0, 0, 0});
        a.set("post_beta", std::vector<float>{0, 0, 0, 0});
        std::vector<Tensor> in{random_tensor({1, C, H, H}, rng), random_tensor({OC, C / group, k, k}, rng),
                               random_tensor({OC}, rng),       random_tensor({C}, rng),
                               random_tensor({C}, rng),        random_tensor({1, OC, H, H}, rng),
                               random_tensor({OC}, rng),       random_tensor({OC}, rng),
                               random_tensor({OC}, rng)};
        check_against_reference("FusedConv", in, a,
                                "fusedconv pre+post g" + std::to_string(group) + " k" + std::to_string(k) + " H" +
                                    std::to_string(H));
      }
}

// Depthwise: the direct kernel (dwconv2d_direct) on widths below, at and
// above its 8- and 16-output vector steps, strides 1, 2 and 3 (3 takes the
// plain loop), dilation, asymmetric pads, and a fused epilogue.
TEST(ConvGemmImpl, DepthwiseDirectMatchesReference) {
  std::mt19937 rng(4321);
  const int64_t channels[] = {1, 3, 15, 16, 17, 33, 64};
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t C = channels[trial % 7], k = trial % 4 == 3 ? 5 : 3;
    const int64_t stride = 1 + trial % 3, dil = trial % 5 == 4 ? 2 : 1;
    const int64_t H = dil * (k - 1) + 1 + rng() % 12, W = dil * (k - 1) + 1 + rng() % 40;
    const int64_t pt = rng() % 3, pl = rng() % 3, pb = rng() % 3, pr = rng() % 3;
    Attrs a;
    a.set("group", C);
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("dilations", std::vector<int64_t>{dil, dil});
    a.set("pads", std::vector<int64_t>{pt, pl, pb, pr});
    std::vector<Tensor> in{random_tensor({1 + trial % 2, C, H, W}, rng), random_tensor({C, 1, k, k}, rng)};
    std::string op = "Conv";
    if (trial % 3 == 0) {
      op = "FusedConv";
      in.push_back(random_tensor({C}, rng));
      a.set("post_ops", std::vector<std::string>{"scale_shift", "relu"});
      a.set("post_alpha", std::vector<float>{0, 0});
      a.set("post_beta", std::vector<float>{0, 0});
      in.push_back(random_tensor({C}, rng));
      in.push_back(random_tensor({C}, rng));
    } else if (trial % 2) {
      in.push_back(random_tensor({C}, rng));
    }
    const std::string desc = "dw c" + std::to_string(C) + " " + std::to_string(H) + "x" + std::to_string(W) + " k" +
                             std::to_string(k) + "s" + std::to_string(stride) + "d" + std::to_string(dil) + " pads " +
                             std::to_string(pt) + std::to_string(pl) + std::to_string(pb) + std::to_string(pr) + " " + op;
    check_against_reference(op, in, a, desc);
  }
  // 3x3 at strides 1 and 2 (the AVX-512 whole-plane kernel) with a fused
  // Clip or ReLU, widths across two 16-lane vectors, pads 0-2 per side.
  for (int trial = 0; trial < 16; ++trial) {
    const int64_t C = channels[trial % 7], stride = 1 + trial % 2;
    const int64_t H = 3 + rng() % 15, W = 3 + rng() % 70;
    const int64_t pt = rng() % 3, pl = rng() % 3, pb = rng() % 3, pr = rng() % 3;
    Attrs a;
    a.set("group", C);
    a.set("strides", std::vector<int64_t>{stride, stride});
    a.set("pads", std::vector<int64_t>{pt, pl, pb, pr});
    const bool clip = trial % 2 == 0;
    a.set("post_ops", std::vector<std::string>{clip ? "clip" : "relu"});
    a.set("post_alpha", std::vector<float>{clip ? -0.3f : 0.f});
    a.set("post_beta", std::vector<float>{clip ? 0.4f : 0.f});
    std::vector<Tensor> in{random_tensor({1, C, H, W}, rng), random_tensor({C, 1, 3, 3}, rng), random_tensor({C}, rng)};
    check_against_reference("FusedConv", in, a,
                            "dw3x3 c" + std::to_string(C) + " " + std::to_string(H) + "x" + std::to_string(W) + " s" +
                                std::to_string(stride) + " pads " + std::to_string(pt) + std::to_string(pl) +
                                std::to_string(pb) + std::to_string(pr) + (clip ? " clip" : " relu"));
  }
  // Planes past the whole-plane kernel's chunk-order limits (1024 inputs
  // at stride 1, 4096 at stride 2) run row block by row block with the
  // next rows prefetched: 33x40 and 56x56 at stride 1, 70x64 at both
  // strides, odd widths past a multiple of 16, asymmetric pads.
  struct Big { int64_t H, W, stride, pt, pl, pb, pr; };
  for (const Big& c : std::vector<Big>{{33, 40, 1, 1, 1, 1, 1}, {56, 56, 1, 1, 1, 1, 1}, {56, 56, 2, 0, 1, 1, 0},
                                       {70, 64, 1, 0, 2, 1, 0}, {70, 67, 2, 1, 1, 1, 1}}) {
    const int64_t C = 5;
    Attrs a;
    a.set("group", C);
    a.set("strides", std::vector<int64_t>{c.stride, c.stride});
    a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
    a.set("post_ops", std::vector<std::string>{"relu"});
    a.set("post_alpha", std::vector<float>{0});
    a.set("post_beta", std::vector<float>{0});
    std::vector<Tensor> in{random_tensor({1, C, c.H, c.W}, rng), random_tensor({C, 1, 3, 3}, rng),
                           random_tensor({C}, rng)};
    check_against_reference("FusedConv", in, a,
                            "dw3x3 big " + std::to_string(c.H) + "x" + std::to_string(c.W) + " s" +
                                std::to_string(c.stride));
  }
  // Small planes at stride 1 with OW == W (the AVX-512 kernel's flat path,
  // 16 outputs spanning several rows): MobileNet's 7x7, 8x8 (4 full
  // vectors), 1x1, 9x7 (63), tall and wide ones, asymmetric pads with
  // pl + pr = 2, no vertical padding, and 8x9 (72 outputs: the row path).
  // The kernel keeps each thread's masks from its last call with the same
  // geometry: 7x7 with pads (2, 0, 0, 2) then (0, 2, 2, 0) share H, W and
  // OH and differ only in the pads, which the masks must follow.
  struct Small { int64_t H, W, pt, pl, pb, pr; };
  for (const Small& c : std::vector<Small>{{7, 7, 1, 1, 1, 1}, {8, 8, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}, {9, 7, 1, 1, 1, 1},
                                           {13, 3, 1, 1, 1, 1}, {2, 15, 1, 1, 1, 1}, {7, 7, 2, 0, 0, 2},
                                           {7, 7, 0, 2, 2, 0}, {6, 5, 0, 2, 2, 0}, {9, 7, 0, 1, 0, 1},
                                           {8, 9, 1, 1, 1, 1}})
    for (bool relu : {false, true}) {
      const int64_t C = 17;
      Attrs a;
      a.set("group", C);
      a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
      std::vector<Tensor> in{random_tensor({1, C, c.H, c.W}, rng), random_tensor({C, 1, 3, 3}, rng),
                             random_tensor({C}, rng)};
      std::string op = "Conv";
      if (relu) {
        op = "FusedConv";
        a.set("post_ops", std::vector<std::string>{"relu"});
        a.set("post_alpha", std::vector<float>{0});
        a.set("post_beta", std::vector<float>{0});
      }
      check_against_reference(op, in, a,
                              "dw3x3 small " + std::to_string(c.H) + "x" + std::to_string(c.W) + " pads " +
                                  std::to_string(c.pt) + std::to_string(c.pl) + std::to_string(c.pb) +
                                  std::to_string(c.pr) + " " + op);
    }
  // Small planes at stride 2 with pads (1, 1) before (the AVX-512 kernel's
  // phase-split flat path: outputs at most 8 wide and 64 in all):
  // MobileNet's 14x14 -> 7x7, odd sizes, 1x1 and 2x2 inputs, 16x15 (8x8:
  // four full vectors), pads after of 0, 1 and 3 (windows wholly in the
  // padding); and past the limits (the row path): 18x16 (72 outputs),
  // 28x28 (14 wide), 29x29, 30x33.
  struct SmallS2 { int64_t H, W, pb, pr; };
  for (const SmallS2& c : std::vector<SmallS2>{{14, 14, 1, 1}, {13, 13, 1, 1}, {15, 9, 1, 1}, {1, 1, 1, 1},
                                               {2, 2, 1, 1},   {16, 15, 1, 1}, {14, 14, 0, 0}, {7, 11, 3, 0},
                                               {9, 6, 0, 3},   {18, 16, 1, 1}, {28, 28, 1, 1}, {29, 29, 1, 1},
                                               {30, 33, 1, 1}})
    for (bool clip : {false, true}) {
      const int64_t C = 17;
      Attrs a;
      a.set("group", C);
      a.set("strides", std::vector<int64_t>{2, 2});
      a.set("pads", std::vector<int64_t>{1, 1, c.pb, c.pr});
      std::vector<Tensor> in{random_tensor({2, C, c.H, c.W}, rng), random_tensor({C, 1, 3, 3}, rng),
                             random_tensor({C}, rng)};
      std::string op = "Conv";
      if (clip) {
        op = "FusedConv";
        a.set("post_ops", std::vector<std::string>{"clip"});
        a.set("post_alpha", std::vector<float>{-0.2f});
        a.set("post_beta", std::vector<float>{0.5f});
      }
      check_against_reference(op, in, a,
                              "dw3x3/2 small " + std::to_string(c.H) + "x" + std::to_string(c.W) + " pads after " +
                                  std::to_string(c.pb) + std::to_string(c.pr) + " " + op);
    }
  // The kernel the dispatcher picks for a depthwise conv.
  Graph g;
  Attrs a;
  a.set("group", int64_t{8});
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  std::vector<Tensor> in{random_tensor({1, 8, 9, 9}, rng), random_tensor({8, 1, 3, 3}, rng)};
  ASSERT_TRUE(testing::build_single_op_graph(g, "Conv", in, a, 1, {true, false}).is_ok());
  auto ex = Executor::create(std::move(g), 1);
  ASSERT_TRUE(ex.is_ok());
  EXPECT_EQ((*ex)->step_kernel_name(0).rfind("dwconv2d_direct:", 0), 0u) << (*ex)->step_kernel_name(0);
}

// 1x1 convs read the image's channel rows in place (no B packing): pixel
// counts with a partial last 16-column panel, output channels with a
// partial row panel, reductions crossing the KC = 256 block, with and
// without the fused residual + ReLU, threads splitting columns or rows.
// The direct stem kernel (runtime/impl_conv_stem.cc): 1 to 4 input
// channels, kernels 1x1 to 7x7 (square and not), strides 1 and 2, pads 0
// to 3 (asymmetric), output widths around its 16-column vectors and past
// its 64-column tile (split into groups), output channels not a multiple
// of its 4, batch 2, and each epilogue: none, bias, ReLU and Clip fused in
// registers, a residual sum + ReLU applied after. From AVX2 up the
// dispatcher must pick it; at the scalar level the GEMM kernels run them.
TEST(ConvGemmImpl, DirectStemMatchesReference) {
  struct Case {
    int64_t N, C, OC, H, W, KH, KW, S, pt, pl, pb, pr;
    const char* post;  // "", "relu", "clip", "sum_relu"
  };
  const Case cases[] = {
      {1, 3, 32, 37, 41, 3, 3, 2, 1, 1, 1, 1, "clip"},      // MobileNet's stem, odd size
      {1, 3, 64, 45, 45, 7, 7, 2, 3, 3, 3, 3, "relu"},      // ResNet's stem
      {2, 3, 17, 20, 150, 3, 3, 2, 0, 1, 2, 0, ""},         // batch 2, 75 columns: two groups of 48 and 27
      {1, 1, 5, 9, 16, 5, 3, 1, 2, 1, 2, 1, "sum_relu"},    // 16 columns: one full vector
      {1, 2, 6, 12, 17, 1, 1, 2, 0, 0, 0, 0, "relu"},       // 1x1 stride 2
      {1, 4, 33, 23, 130, 7, 5, 1, 3, 0, 1, 2, "clip"},     // 128 columns: two full tiles
      {1, 3, 4, 8, 8, 7, 7, 2, 3, 3, 3, 3, ""},             // the window wider than the image
      {1, 3, 1, 5, 70, 4, 6, 2, 1, 3, 0, 2, "sum_relu"},    // even kernels, one output channel
  };
  std::mt19937 rng(9090);
  for (const Case& c : cases) {
    Attrs a;
    a.set("strides", std::vector<int64_t>{c.S, c.S});
    a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
    const int64_t OH = (c.H + c.pt + c.pb - c.KH) / c.S + 1, OW = (c.W + c.pl + c.pr - c.KW) / c.S + 1;
    std::vector<Tensor> in{random_tensor({c.N, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, c.KH, c.KW}, rng)};
    std::string op = "Conv";
    const std::string post = c.post;
    if (!post.empty() || c.OC % 2) in.push_back(random_tensor({c.OC}, rng));
    if (!post.empty()) {
      op = "FusedConv";
      if (post == "sum_relu") {
        a.set("post_ops", std::vector<std::string>{"sum", "relu"});
        a.set("post_alpha", std::vector<float>{0, 0});
        a.set("post_beta", std::vector<float>{0, 0});
        in.push_back(random_tensor({c.N, c.OC, OH, OW}, rng));
      } else {
        a.set("post_ops", std::vector<std::string>{post});
        a.set("post_alpha", std::vector<float>{post == "clip" ? -0.5f : 0.f});
        a.set("post_beta", std::vector<float>{post == "clip" ? 0.5f : 0.f});
      }
    }
    const std::string desc = "stem c" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                             std::to_string(c.H) + "x" + std::to_string(c.W) + " k" + std::to_string(c.KH) + "x" +
                             std::to_string(c.KW) + "/" + std::to_string(c.S) + " " + post;
    check_against_reference(op, in, a, desc);
    if (host_isa() >= Isa::kAvx2) expect_kernel(op, in, a, "conv2d_direct_stem:", true, desc);
  }
  // The phase-row buffer is the kernel's own and outlives a run: a second
  // run on another image (after one of NaNs, so any cell the second run
  // does not rewrite would show) must still match.
  if (host_isa() < Isa::kAvx2) return;
  Attrs a;
  a.set("strides", std::vector<int64_t>{2, 2});
  a.set("pads", std::vector<int64_t>{3, 3, 3, 3});
  std::vector<Tensor> in{random_tensor({1, 3, 30, 33}, rng), random_tensor({8, 3, 7, 7}, rng), random_tensor({8}, rng)};
  for (int threads : {1, 2}) {
    Graph g;
    ASSERT_TRUE(testing::build_single_op_graph(g, "Conv", in, a, 1, {true, false, false}).is_ok());
    auto ex = Executor::create(std::move(g), threads);
    ASSERT_TRUE(ex.is_ok());
    ASSERT_EQ((*ex)->step_kernel_name(0).rfind("conv2d_direct_stem:", 0), 0u) << (*ex)->step_kernel_name(0);
    Tensor first(DType::kF32, in[0].shape());
    for (int64_t i = 0; i < first.numel(); ++i) first.data<float>()[i] = NAN;
    std::vector<Tensor> out;
    ASSERT_TRUE((*ex)->run({first}, out).is_ok());
    ASSERT_TRUE((*ex)->run({in[0]}, out).is_ok());
    auto ref = testing::run_single_op("Conv", in, a);
    ASSERT_TRUE(ref.is_ok());
    const Tensor& want = (*ref)[0];
    ASSERT_EQ(out[0].shape(), want.shape());
    for (int64_t i = 0; i < want.numel(); ++i)
      ASSERT_NEAR(out[0].data<float>()[i], want.data<float>()[i], 1e-4f * (1.f + std::fabs(want.data<float>()[i])))
          << "second run, threads " << threads << ", output " << i;
  }
}

// FusedConvDw's strip kernel (runtime/impl_conv_pw_dw.cc) against the op's
// reference (the 1x1 Conv, its activation, the depthwise Conv, in turn):
// strides 1 and 2, pads 0-2 (asymmetric), odd sizes, channel counts around
// the 16-channel blocks, reductions in the K <= 64 path and past one KC
// block, batch 2, each activation on either side, omitted biases; strips
// shrunk to a few rows (and to a single output row) so their halo rows
// and edges are crossed, and the default strips.
TEST(ConvGemmImpl, PointwiseDepthwiseStripsMatchReference) {
  struct Case {
    int64_t N, C, M, H, W, S, pt, pl, pb, pr, pw_act, dw_act;
    bool b1, b2;
  };
  const Case cases[] = {
      {1, 16, 96, 23, 30, 2, 1, 1, 1, 1, 2, 2, true, true},   // MobileNetV2's shape, smaller
      {2, 24, 33, 17, 19, 1, 1, 1, 1, 1, 1, 1, true, true},   // batch 2, a 1-channel last block
      {1, 300, 17, 9, 40, 1, 0, 2, 2, 0, 0, 2, false, true},  // K past KC, no pointwise bias
      {1, 5, 1, 12, 7, 2, 2, 1, 0, 2, 2, 0, true, false},     // one channel, no depthwise bias
      {1, 70, 40, 31, 16, 2, 0, 0, 1, 1, 1, 0, true, true},   // K > 64: the general GEMM path
  };
  std::mt19937 rng(8080);
  for (int64_t strip_bytes : {int64_t{1}, int64_t{3000}, int64_t{0}}) {
    set_pw_dw_strip_bytes(strip_bytes);
    for (const Case& c : cases) {
      Attrs a;
      a.set("group", c.M);
      a.set("strides", std::vector<int64_t>{c.S, c.S});
      a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
      a.set("pw_act", c.pw_act);
      if (c.pw_act == 2) a.set("pw_clip", std::vector<float>{-0.25f, 0.5f});
      if (c.dw_act) {
        a.set("post_ops", std::vector<std::string>{c.dw_act == 1 ? "relu" : "clip"});
        a.set("post_alpha", std::vector<float>{c.dw_act == 1 ? 0.f : -0.3f});
        a.set("post_beta", std::vector<float>{c.dw_act == 1 ? 0.f : 0.6f});
      }
      std::vector<Tensor> in{random_tensor({c.N, c.C, c.H, c.W}, rng), random_tensor({c.M, c.C, 1, 1}, rng),
                             c.b1 ? random_tensor({c.M}, rng) : Tensor(), random_tensor({c.M, 1, 3, 3}, rng),
                             c.b2 ? random_tensor({c.M}, rng) : Tensor()};
      const std::string desc = "pw+dw c" + std::to_string(c.C) + " m" + std::to_string(c.M) + " " +
                               std::to_string(c.H) + "x" + std::to_string(c.W) + "/" + std::to_string(c.S) +
                               " strip bytes " + std::to_string(strip_bytes);
      check_against_reference("FusedConvDw", in, a, desc);
      expect_kernel("FusedConvDw", in, a, "conv2d_pw_dw_strips:", true, desc);
    }
  }
  set_pw_dw_strip_bytes(0);
}

TEST(ConvGemmImpl, PointwiseReadsImageRowsInPlace) {
  std::mt19937 rng(99);
  struct Case { int64_t C, OC, H, W; };
  for (const Case& c : std::vector<Case>{{300, 48, 7, 9}, {64, 256, 12, 12}, {257, 33, 5, 13}, {16, 64, 17, 3}})
    for (bool fused : {false, true}) {
      Attrs a;
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, 1, 1}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = fused ? add_residual_relu(a, in, c.OC, c.H, c.W, rng) : "Conv";
      check_against_reference(op, in, a,
                              op + " 1x1 ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                                  std::to_string(c.H) + "x" + std::to_string(c.W));
    }
}

// 24 and 72 output channels (MobileNetV2's projections to 24) take the 24-row
// tile at AVX-512, reading the image in place, K past one KC block, pixel
// counts with partial 16-column panels, with and without residual + ReLU.
TEST(ConvGemmImpl, PointwiseTwentyFourRowTileMatchesReference) {
  std::mt19937 rng(2424);
  struct Case { int64_t C, OC, H, W; };
  for (const Case& c : std::vector<Case>{{144, 24, 13, 11}, {300, 72, 9, 9}, {96, 24, 20, 20}})
    for (bool fused : {false, true}) {
      Attrs a;
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, 1, 1}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = fused ? add_residual_relu(a, in, c.OC, c.H, c.W, rng) : "Conv";
      const std::string desc = op + " 1x1 ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                               std::to_string(c.H) + "x" + std::to_string(c.W);
      check_against_reference(op, in, a, desc);
      if (host_isa() >= Isa::kAvx512) expect_kernel(op, in, a, "24x16", false, desc);
    }
}

// Stride-1 convs with rows of 14+ output pixels read the zero-padded image
// in place (conv2d_indirect_gemm): tiles that span two output rows with
// the junk columns masked, a partial last tile, more reduction rows than
// one KC block, output channels not a multiple of 16 (200) and above one MC
// block (192), dilation, asymmetric pads, the pre-op and a residual + ReLU
// (60 input channels: from 64 the AVX-512 Winograd kernel takes the layer).
// 14x15, not 14x14: 7x7 and 14x14 maps take the 8x49 tile, packed.
TEST(ConvGemmImpl, IndirectStrideOneMatchesReference) {
  std::mt19937 rng(321);
  struct Case { int64_t C, OC, H, W, k, dil, pt, pl, pb, pr; };
  for (const Case& c : std::vector<Case>{{40, 64, 14, 15, 3, 1, 1, 1, 1, 1}, {16, 48, 9, 17, 3, 1, 1, 1, 1, 1},
                                         {30, 200, 8, 30, 3, 1, 0, 1, 2, 1}, {7, 32, 12, 20, 5, 1, 2, 2, 2, 2},
                                         {12, 16, 11, 19, 3, 2, 2, 2, 2, 2}, {60, 64, 6, 56, 3, 1, 1, 1, 1, 1}})
    for (bool fused : {false, true}) {
      Attrs a;
      a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
      a.set("dilations", std::vector<int64_t>{c.dil, c.dil});
      const int64_t OH = c.H + c.pt + c.pb - c.dil * (c.k - 1), OW = c.W + c.pl + c.pr - c.dil * (c.k - 1);
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, c.k, c.k}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = fused ? add_pre_op_residual_relu(a, in, c.C, c.OC, OH, OW, rng) : "Conv";
      const std::string desc = op + " ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                               std::to_string(c.H) + "x" + std::to_string(c.W) + " k" + std::to_string(c.k) + " d" +
                               std::to_string(c.dil);
      check_against_reference(op, in, a, desc);
      if (host_isa() >= Isa::kAvx512) expect_kernel(op, in, a, "conv2d_indirect_gemm:", true, desc);
    }
}

// Stride-2 convs (non-transposed) read their taps from the input's 2 x 2
// phase planes: the stem (7x7/2, 3 channels), 3x3/2, 1x1/2 (pointwise on
// the even-even phase, read in place), odd and even sizes, asymmetric pads,
// one- and two-pixel-wide outputs (a 16-pixel panel spanning 16 and 8
// output rows: pack_phase_panels's run list overflows, and just fits),
// an input pre-op (the padding stays zero) and a residual + ReLU epilogue.
TEST(ConvGemmImpl, StrideTwoPhasePlanesMatchReference) {
  std::mt19937 rng(123);
  struct Case { int64_t C, OC, H, W, k, pt, pl, pb, pr; };
  for (const Case& c : std::vector<Case>{{3, 64, 45, 38, 7, 3, 3, 3, 3}, {24, 48, 29, 30, 3, 1, 1, 1, 1},
                                         {40, 64, 28, 28, 1, 0, 0, 0, 0}, {17, 32, 33, 27, 1, 0, 0, 0, 0},
                                         {16, 48, 20, 23, 3, 0, 1, 1, 0}, {8, 32, 26, 19, 5, 2, 1, 2, 2},
                                         {16, 32, 63, 1, 3, 1, 1, 1, 1}, {12, 32, 31, 3, 3, 1, 1, 1, 1}})
    for (bool fused : {false, true}) {
      Attrs a;
      a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
      a.set("strides", std::vector<int64_t>{2, 2});
      const int64_t OH = (c.H + c.pt + c.pb - c.k) / 2 + 1, OW = (c.W + c.pl + c.pr - c.k) / 2 + 1;
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, c.k, c.k}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = fused ? add_pre_op_residual_relu(a, in, c.C, c.OC, OH, OW, rng) : "Conv";
      check_against_reference(op, in, a,
                              op + " stride 2 ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                                  std::to_string(c.H) + "x" + std::to_string(c.W) + " k" + std::to_string(c.k));
    }
}

// Stride-2 convs with output rows of 14 or more pixels that the tiles fill
// to 60% or more take the pixels-broadcast tiles (conv2d_bcast_s2): rows
// split into 14-pixel tiles evenly (14, 17 -> 9 + 8, 29 -> 10 + 10 + 9,
// 43 -> 11 + 11 + 11 + 10; 1x1/2 convs on rows not a multiple of 14 go
// along the flattened even-even phase instead), output channels not a
// multiple of 32 (a partial last panel, one channel), 1x1/2 read in place
// (56 -> 28: two full tiles a row) or through the padded copy (odd widths,
// a pre-op), 3x3 and 5x5 windows with asymmetric pads, the residual + ReLU
// epilogue, enough weights for several L2 blocks of panels, and more
// weights than input (2 threads then split the panels, not the tiles).
// Windows with padding 1 before, on even sizes with rows of whole tiles,
// read the image in place: the first output row through its zero-padded
// window rows, each other row's first tile in two passes (28 -> 14 and
// 56 -> 28, 3x3 and 5x5, pads 1 after or 0); an odd height (29) reads past
// the last row, and a 2x2 window on 27 columns past the last column, so
// they keep the padded copy.
TEST(ConvGemmImpl, StrideTwoBroadcastTilesMatchReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this host";
  std::mt19937 rng(321);
  struct Case { int64_t C, OC, H, W, k, pt, pl, pb, pr; };
  for (const Case& c : std::vector<Case>{{16, 64, 56, 56, 1, 0, 0, 0, 0}, {17, 33, 55, 57, 1, 0, 0, 0, 0},
                                         {8, 1, 6, 28, 1, 0, 0, 0, 0},     {24, 48, 29, 34, 3, 1, 1, 1, 1},
                                         {6, 17, 9, 58, 3, 0, 1, 1, 0},    {5, 70, 11, 87, 5, 2, 1, 2, 2},
                                         {5, 32, 4, 27, 3, 1, 1, 1, 1},    {320, 40, 6, 28, 3, 1, 1, 1, 1},
                                         {64, 200, 8, 28, 3, 1, 1, 1, 1},  {16, 40, 56, 56, 3, 1, 1, 1, 1},
                                         {33, 64, 28, 28, 3, 1, 1, 1, 1},  {8, 32, 28, 56, 3, 1, 1, 0, 0},
                                         {6, 32, 30, 30, 5, 1, 1, 1, 1},   {7, 20, 29, 28, 3, 1, 1, 1, 1},
                                         {16, 32, 28, 27, 2, 1, 1, 0, 0}})
    for (bool fused : {false, true}) {
      Attrs a;
      a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
      a.set("strides", std::vector<int64_t>{2, 2});
      const int64_t OH = (c.H + c.pt + c.pb - c.k) / 2 + 1, OW = (c.W + c.pl + c.pr - c.k) / 2 + 1;
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, c.k, c.k}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = !fused ? "Conv"
                             : c.k == 1 && c.C % 2 ? add_pre_op_residual_relu(a, in, c.C, c.OC, OH, OW, rng)
                                                   : add_residual_relu(a, in, c.OC, OH, OW, rng);
      const std::string desc = op + " stride 2 ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                               std::to_string(c.H) + "x" + std::to_string(c.W) + " k" + std::to_string(c.k);
      ASSERT_GE(OW, 14) << desc;
      // A 1x1/2 without pads whose rows are not a multiple of 14 runs on its
      // even-even phase, tiles along the flattened map (below), unless its
      // last channel panel would be a fifth or more empty (33 channels).
      const bool phase = c.k == 1 && OW % 14 && (c.OC + 31) / 32 * 32 * 4 <= c.OC * 5;
      expect_kernel(op, in, a, phase ? "conv2d_1x1_bcast" : "conv2d_bcast_s2", true, desc);
      check_against_reference(op, in, a, desc);
    }
  // 15- and 16-wide rows (two tiles of 8 or 7): a 3x3/2 keeps the GEMM; a
  // 1x1/2 runs on its even-even phase (240 and 256 pixels: a last tile of
  // 2 and of 4 pixels), with and without the pre-op and residual + ReLU.
  for (int64_t W : {30, 32})
    for (int64_t k : {1, 3})
      for (bool fused : {false, true}) {
        const int64_t C = fused ? 65 : 64, OC = 128, OW = (W + (k - 1) - k) / 2 + 1;
        std::vector<Tensor> in{random_tensor({1, C, 32, W}, rng), random_tensor({OC, C, k, k}, rng),
                               random_tensor({OC}, rng)};
        Attrs a;
        a.set("strides", std::vector<int64_t>{2, 2});
        a.set("pads", std::vector<int64_t>(4, k / 2));
        const std::string op = fused ? add_pre_op_residual_relu(a, in, C, OC, 16, OW, rng) : "Conv";
        const std::string desc = op + " " + std::to_string(k) + "x" + std::to_string(k) + "/2 " + std::to_string(C) +
                                 "->128 32x" + std::to_string(W);
        expect_kernel(op, in, a, k == 1 ? "conv2d_1x1_bcast" : "conv2d_implicit_gemm", true, desc);
        check_against_reference(op, in, a, desc);
      }
}

// 1x1 stride-1 convs on maps of 196 pixels or more with 128+ input
// channels take the same tiles along the flattened map (conv2d_1x1_bcast):
// read in place, or through a copy with the pre-op; output channels not a
// multiple of 32 (filling the last panel to 80% or more); epilogues; more
// weights than input (the panel split); maps not a multiple of 14 pixels
// (16x16: a last tile of 4, 15x15: of 1, 32x32: of 2, batch 2), whose last
// tile read in place comes from a copy of its pixels. Below 128 input
// channels, on 7x7 maps, or with a last panel a fifth or more empty: the GEMM.
TEST(ConvGemmImpl, PointwiseBroadcastTilesMatchReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this host";
  std::mt19937 rng(654);
  struct Case { int64_t C, OC, H, W, N = 1; };
  for (const Case& c : std::vector<Case>{{128, 59, 14, 14}, {130, 64, 7, 28}, {257, 30, 2, 98}, {128, 26, 28, 14},
                                         {128, 230, 14, 14}, {128, 64, 16, 16}, {136, 60, 15, 15},
                                         {129, 32, 32, 32}, {128, 32, 16, 16, 2},
                                         // Reductions at least twice the output channels with weights
                                         // outweighing the input: at 2 threads the reduction is split
                                         // (run_bcast_ksplit); odd K and an odd panel count give unequal
                                         // halves, 230 channels a partial panel.
                                         {512, 230, 14, 14}, {513, 200, 14, 14}, {512, 256, 14, 14, 2}})
    for (int fused : {0, 1, 2}) {
      Attrs a;
      std::vector<Tensor> in{random_tensor({c.N, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, 1, 1}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = fused == 0   ? "Conv"
                             : fused == 1 ? add_residual_relu(a, in, c.OC, c.H, c.W, rng)
                                          : add_pre_op_residual_relu(a, in, c.C, c.OC, c.H, c.W, rng);
      if (fused) in.back() = random_tensor({c.N, c.OC, c.H, c.W}, rng);
      const std::string desc = op + " n" + std::to_string(c.N) + " 1x1 ic" + std::to_string(c.C) + " oc" +
                               std::to_string(c.OC) + " " + std::to_string(c.H) + "x" + std::to_string(c.W) +
                               (fused == 2 ? " pre-op" : "");
      expect_kernel(op, in, a, "conv2d_1x1_bcast", true, desc);
      check_against_reference(op, in, a, desc);
    }
  Attrs a;
  expect_kernel("Conv", {random_tensor({1, 64, 14, 14}, rng), random_tensor({32, 64, 1, 1}, rng)}, a, "conv2d_1x1_gemm",
                true, "64 input channels");
  expect_kernel("Conv", {random_tensor({1, 128, 7, 7}, rng), random_tensor({32, 128, 1, 1}, rng)}, a,
                "conv2d_1x1_gemm", true, "7x7 map");
  expect_kernel("Conv", {random_tensor({1, 144, 14, 14}, rng), random_tensor({24, 144, 1, 1}, rng)}, a,
                "conv2d_1x1_gemm", true, "24 output channels: a quarter of the panel empty");
}

// The transposed product (few pixels: 6x7, 5x5 and 3x3 maps; 7x7 ones
// take the 8x49 tile, below) packs its pixel panels as runs along output
// rows: a panel that is exactly one output row of 7 pixels (fixed-size
// copies), panels spanning two or three output rows (5- and 3-wide maps),
// a partial last panel, dilation, an input pre-op and a residual epilogue,
// 120 channels (a partial strip of the transposing output pass). The
// orientation is checked.
TEST(ConvGemmImpl, TransposedPanelsAlongOutputRowsMatchReference) {
  std::mt19937 rng(77);
  struct Case { int64_t C, OC, H, W, k, pad, dil; };
  for (const Case& c : std::vector<Case>{{40, 64, 6, 7, 3, 1, 1}, {24, 64, 5, 5, 3, 1, 1}, {33, 96, 3, 3, 3, 1, 1},
                                         {17, 64, 9, 7, 3, 1, 2}, {64, 64, 8, 7, 1, 0, 1}, {19, 64, 5, 5, 1, 0, 1},
                                         {16, 64, 4, 14, 3, 1, 1}, {20, 64, 6, 9, 3, 1, 1}, {24, 120, 5, 7, 3, 1, 1}})
    for (bool fused : {false, true}) {
      Attrs a;
      a.set("pads", std::vector<int64_t>(4, c.pad));
      a.set("dilations", std::vector<int64_t>{c.dil, c.dil});
      const int64_t OH = c.H + 2 * c.pad - c.dil * (c.k - 1), OW = c.W + 2 * c.pad - c.dil * (c.k - 1);
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, c.k, c.k}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = fused ? add_pre_op_residual_relu(a, in, c.C, c.OC, OH, OW, rng) : "Conv";
      const std::string desc = op + " ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                               std::to_string(c.H) + "x" + std::to_string(c.W) + " k" + std::to_string(c.k) + " d" +
                               std::to_string(c.dil);
      check_against_reference(op, in, a, desc);
      if (host_isa() >= Isa::kAvx512) expect_kernel(op, in, a, "_t:", false, desc);
    }
}

// 7x7 output maps (49 pixels) take the 8x49 tile in the direct
// orientation: 1x1 convs reading the image in place, 3x3 convs packing
// their 49-column panels, 1x1/2 on the even-even phase of a 14x14 input
// and 3x3/2 from its phases; K past one KC block (300, 9 * 40), output
// channels not a multiple of 8 (20, 61), batch 2, the pre-op and a
// residual + ReLU epilogue, 1 and 2 threads (check_against_reference).
TEST(ConvGemmImpl, SevenBySevenMapsTakeTheFortyNineColumnTile) {
  std::mt19937 rng(4949);
  struct Case { int64_t N, C, OC, H, k, stride, pad; };
  for (const Case& c : std::vector<Case>{{1, 300, 64, 7, 1, 1, 0}, {1, 64, 20, 7, 1, 1, 0}, {2, 40, 61, 7, 3, 1, 1},
                                         {1, 48, 32, 14, 1, 2, 0}, {1, 40, 24, 14, 3, 2, 1}, {1, 256, 64, 7, 1, 1, 0}})
    for (bool fused : {false, true}) {
      Attrs a;
      a.set("pads", std::vector<int64_t>(4, c.pad));
      a.set("strides", std::vector<int64_t>{c.stride, c.stride});
      const int64_t O = (c.H + 2 * c.pad - c.k) / c.stride + 1;
      ASSERT_EQ(O, 7);
      std::vector<Tensor> in{random_tensor({c.N, c.C, c.H, c.H}, rng), random_tensor({c.OC, c.C, c.k, c.k}, rng),
                             random_tensor({c.OC}, rng)};
      std::string op = "Conv";
      if (fused) {
        op = add_pre_op_residual_relu(a, in, c.C, c.OC, O, O, rng);
        in.back() = random_tensor({c.N, c.OC, O, O}, rng);
      }
      const std::string desc = op + " n" + std::to_string(c.N) + " ic" + std::to_string(c.C) + " oc" +
                               std::to_string(c.OC) + " " + std::to_string(c.H) + "x" + std::to_string(c.H) + " k" +
                               std::to_string(c.k) + " s" + std::to_string(c.stride);
      check_against_reference(op, in, a, desc);
      if (host_isa() >= Isa::kAvx512) expect_kernel(op, in, a, "8x49__avx512", false, desc);
    }
}

// Windowed convs on small maps (input rows up to 32 wide, output rows up
// to 16, the pixels a whole number of the tile's panels) build their packed
// panels from the image directly (kernels/copy.h's im2row): 3x3/2 to 7x7
// and to 4x4 with reductions over several KC blocks that start mid-channel
// (100 and 60 channels), 3x3 stride 1 on 4x4 (ResNet-101's 512@4 at 112
// input), 8x8 outputs over four 16-wide panels (two output rows each), a
// 5x5/2 window, dilation 2, stride 3, asymmetric pads, batch 2, rows
// exactly 32 wide and 33 (the plane path), with and without the pre-op
// (padding stays zero) and residual + ReLU, at 1 and 2 threads.
TEST(ConvGemmImpl, SmallMapPanelsFromTheImageMatchReference) {
  std::mt19937 rng(777);
  struct Case { int64_t N, C, OC, H, W, k, stride, dil, pt, pl, pb, pr; };
  for (const Case& c : std::vector<Case>{{1, 100, 40, 14, 14, 3, 2, 1, 1, 1, 1, 1}, {1, 60, 24, 7, 7, 3, 2, 1, 1, 1, 1, 1},
                                         {1, 60, 20, 4, 4, 3, 1, 1, 1, 1, 1, 1}, {2, 33, 17, 16, 16, 3, 2, 1, 1, 1, 1, 1},
                                         {1, 20, 24, 15, 15, 5, 2, 1, 2, 2, 2, 2}, {1, 24, 16, 8, 8, 3, 1, 2, 0, 0, 0, 0},
                                         {1, 16, 16, 12, 12, 3, 3, 1, 1, 1, 1, 1}, {1, 30, 32, 14, 14, 3, 2, 1, 0, 1, 2, 1},
                                         {1, 16, 16, 32, 32, 3, 2, 1, 1, 1, 1, 1}, {1, 16, 16, 33, 33, 3, 2, 1, 1, 1, 0, 0}})
    for (bool fused : {false, true}) {
      Attrs a;
      a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
      a.set("strides", std::vector<int64_t>{c.stride, c.stride});
      a.set("dilations", std::vector<int64_t>{c.dil, c.dil});
      const int64_t span = c.dil * (c.k - 1) + 1;
      const int64_t OH = (c.H + c.pt + c.pb - span) / c.stride + 1, OW = (c.W + c.pl + c.pr - span) / c.stride + 1;
      std::vector<Tensor> in{random_tensor({c.N, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, c.k, c.k}, rng),
                             random_tensor({c.OC}, rng)};
      std::string op = "Conv";
      if (fused) {
        op = add_pre_op_residual_relu(a, in, c.C, c.OC, OH, OW, rng);
        in.back() = random_tensor({c.N, c.OC, OH, OW}, rng);
      }
      const std::string desc = op + " n" + std::to_string(c.N) + " ic" + std::to_string(c.C) + " oc" +
                               std::to_string(c.OC) + " " + std::to_string(c.H) + "x" + std::to_string(c.W) + " k" +
                               std::to_string(c.k) + " s" + std::to_string(c.stride) + " d" + std::to_string(c.dil);
      check_against_reference(op, in, a, desc);
      // 8x8 outputs (64 pixels) take the 6x64 tile, one panel per reduction block.
      if (host_isa() >= Isa::kAvx512 && OH * OW == 64) expect_kernel(op, in, a, "6x64__avx512", false, desc);
    }
}

// 1x1 convs on 8x8 and 16x16 maps with few input channels (the GEMM, not
// the broadcast tiles) take the 6x64 tile: the 8x8 image is its packed
// panel as is, 16x16 is packed; the epilogue (bias, residual, ReLU) in its
// registers; several KC blocks; output channels not a multiple of 6.
TEST(ConvGemmImpl, SixtyFourPixelMapsTakeTheSixBySixtyFourTile) {
  std::mt19937 rng(6464);
  struct Case { int64_t C, OC, H; };
  for (const Case& c : std::vector<Case>{{64, 40, 8}, {300, 17, 8}, {96, 50, 16}})
    for (bool fused : {false, true}) {
      Attrs a;
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.H}, rng), random_tensor({c.OC, c.C, 1, 1}, rng),
                             random_tensor({c.OC}, rng)};
      std::string op = "Conv";
      if (fused) {
        op = add_residual_relu(a, in, c.OC, c.H, c.H, rng);
        in.back() = random_tensor({1, c.OC, c.H, c.H}, rng);
      }
      const std::string desc = op + " 1x1 ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                               std::to_string(c.H) + "x" + std::to_string(c.H);
      check_against_reference(op, in, a, desc);
      if (host_isa() >= Isa::kAvx512) expect_kernel(op, in, a, "conv2d_1x1_gemm:f32_gemm_ukernel_6x64__avx512", true, desc);
    }
}

// 1x1 convs whose map is exactly one column panel (7x7 on the 8x49 tile,
// 4x4 on the 16x16 tile) read the image as the packed panel, unpacked:
// reductions over several KC blocks (1024, 520 and 300 channels), output
// channels past one row panel and not a multiple of it, with and without
// residual + ReLU, at 1 and 2 threads (the threads split the rows).
TEST(ConvGemmImpl, SinglePanelPointwiseReadsTheImageAsPacked) {
  std::mt19937 rng(4916);
  struct Case { int64_t C, OC, H; };
  for (const Case& c : std::vector<Case>{{1024, 72, 7}, {300, 37, 7}, {520, 48, 4}, {256, 21, 4}})
    for (bool fused : {false, true}) {
      Attrs a;
      std::vector<Tensor> in{random_tensor({1, c.C, c.H, c.H}, rng), random_tensor({c.OC, c.C, 1, 1}, rng),
                             random_tensor({c.OC}, rng)};
      const std::string op = fused ? add_residual_relu(a, in, c.OC, c.H, c.H, rng) : "Conv";
      const std::string desc = op + " 1x1 ic" + std::to_string(c.C) + " oc" + std::to_string(c.OC) + " " +
                               std::to_string(c.H) + "x" + std::to_string(c.H);
      check_against_reference(op, in, a, desc);
    }
}

// 1x1 convs with 64 or fewer input channels on maps of a multiple of 49
// pixels past 14x14 (ResNet's 64-channel 1x1s at 56x56) take the 8x49 tile
// too, reading the image in place: more pixels than one column block
// (35x35 = 1225 = 25 x 49), output channels not a multiple of 8 (44),
// five input channels, batch 2, residual + ReLU; 65 channels keep the
// 16x16 tile.
TEST(ConvGemmImpl, ShallowPointwiseOnLargeMapsTakesTheFortyNineColumnTile) {
  std::mt19937 rng(3136);
  struct Case { int64_t N, C, OC, H; bool tile49; };
  for (const Case& c : std::vector<Case>{{1, 64, 256, 56, true}, {1, 24, 44, 28, true}, {2, 32, 16, 35, true},
                                         {1, 5, 16, 21, true}, {1, 64, 40, 33, true}, {2, 48, 24, 30, true},
                                         {1, 65, 32, 28, false}})
    for (bool fused : {false, true}) {
      Attrs a;
      std::vector<Tensor> in{random_tensor({c.N, c.C, c.H, c.H}, rng), random_tensor({c.OC, c.C, 1, 1}, rng),
                             random_tensor({c.OC}, rng)};
      std::string op = "Conv";
      if (fused) {
        op = add_residual_relu(a, in, c.OC, c.H, c.H, rng);
        in.back() = random_tensor({c.N, c.OC, c.H, c.H}, rng);
      }
      const std::string desc = op + " n" + std::to_string(c.N) + " 1x1 ic" + std::to_string(c.C) + " oc" +
                               std::to_string(c.OC) + " " + std::to_string(c.H) + "x" + std::to_string(c.H);
      check_against_reference(op, in, a, desc);
      if (host_isa() >= Isa::kAvx512) {
        if (c.tile49) expect_kernel(op, in, a, "conv2d_1x1_gemm:f32_gemm_ukernel_8x49__avx512", true, desc);
        else expect_kernel(op, in, a, "conv2d_1x1_gemm:f32_gemm_ukernel_16x16__avx512", true, desc);
      }
    }
}

// Winograd F(2x2, 3x3): odd and even output sizes (partial last tiles),
// asymmetric pads, batch 2, both GEMM orientations (few tiles: transposed),
// bias and a residual + ReLU epilogue. Same 1e-4 relative bound as direct.
TEST(ConvGemmImpl, WinogradF2x3MatchesReference) {
  set_winograd_limits(32, 1, /*lanes_min_tiles=*/1 << 30);  // F(4x4, 3x3) off: its own test is below
  std::mt19937 rng(2024);
  // More input channels than one GEMM reduction block (KC = 256): the
  // transposed product's V^T is written straight into the packed layout,
  // block by block, with the last tile panel's padding rows zero.
  for (const auto& [C, OC, HW] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{300, 40, 9}, {270, 64, 20}, {257, 33, 7}}) {
    Attrs a;
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    std::vector<Tensor> in{random_tensor({1, C, HW, HW}, rng), random_tensor({OC, C, 3, 3}, rng), random_tensor({OC}, rng)};
    check_against_reference("Conv", in, a, "winograd c" + std::to_string(C) + " oc" + std::to_string(OC) + " " + std::to_string(HW));
  }
  const int64_t channels[] = {32, 33, 48, 64};
  for (int trial = 0; trial < 16; ++trial) {
    const int64_t C = channels[trial % 4], OC = channels[(trial / 4) % 4];
    const int64_t H = 4 + rng() % 17, W = 4 + rng() % 17;
    const int64_t pt = rng() % 2, pl = rng() % 2, pb = rng() % 3, pr = rng() % 2;
    const int64_t N = 1 + trial % 2;
    const int64_t OH = H + pt + pb - 2, OW = W + pl + pr - 2;
    if (OH < 4 || OW < 4) continue;
    Attrs a;
    a.set("pads", std::vector<int64_t>{pt, pl, pb, pr});
    std::vector<Tensor> in{random_tensor({N, C, H, W}, rng), random_tensor({OC, C, 3, 3}, rng),
                           random_tensor({OC}, rng)};
    std::string op = "Conv";
    if (trial % 2) {
      op = "FusedConv";
      a.set("post_ops", std::vector<std::string>{"sum", "relu"});
      a.set("post_alpha", std::vector<float>{0, 0});
      a.set("post_beta", std::vector<float>{0, 0});
      if (trial % 4 == 1) {  // an IR unit's BatchNorm as the input pre-op
        a.set("pre_scale_shift", int64_t{1});
        in.push_back(random_tensor({C}, rng));
        in.push_back(random_tensor({C}, rng));
      }
      in.push_back(random_tensor({N, OC, OH, OW}, rng));
    }
    const std::string desc = "winograd mb" + std::to_string(N) + " c" + std::to_string(C) + " oc" +
                             std::to_string(OC) + " " + std::to_string(H) + "x" + std::to_string(W) + " pads " +
                             std::to_string(pt) + std::to_string(pl) + std::to_string(pb) + std::to_string(pr) + " " + op;
    check_against_reference(op, in, a, desc);
    // The dispatcher's choice, and exact mode's.
    for (bool exact : {false, true}) {
      Graph g;
      std::vector<bool> as_input(in.size(), false);
      as_input[0] = true;
      ASSERT_TRUE(testing::build_single_op_graph(g, op, in, a, 1, as_input).is_ok());
      auto ex = Executor::create(std::move(g), 1, std::nullopt, exact);
      ASSERT_TRUE(ex.is_ok()) << desc;
      const bool wino = (*ex)->step_kernel_name(0).rfind("conv2d_winograd_f2x3", 0) == 0;
      EXPECT_EQ(wino, !exact) << desc << ": " << (*ex)->step_kernel_name(0);
    }
  }
  reset_winograd_limits();
}

// fused: residual + ReLU (with the pre-op when pre); else `act`, when
// set, a lone "relu" or "clip" (to [-0.5, 0.7]), which the output transform
// applies in registers.
struct WinoCase { int64_t N, C, OC, H, W, pt, pl, pb, pr; bool fused, pre; const char* act = nullptr; };

void check_winograd_lanes(const std::vector<WinoCase>& cases, const std::string& kernel, std::mt19937& rng) {
  for (const WinoCase& c : cases) {
    Attrs a;
    a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
    const int64_t OH = c.H + c.pt + c.pb - 2, OW = c.W + c.pl + c.pr - 2;
    std::vector<Tensor> in{random_tensor({c.N, c.C, c.H, c.W}, rng), random_tensor({c.OC, c.C, 3, 3}, rng),
                           random_tensor({c.OC}, rng)};
    std::string op = "Conv";
    if (c.fused) {
      op = "FusedConv";
      a.set("post_ops", std::vector<std::string>{"sum", "relu"});
      a.set("post_alpha", std::vector<float>{0, 0});
      a.set("post_beta", std::vector<float>{0, 0});
      if (c.pre) {
        a.set("pre_scale_shift", int64_t{1});
        in.push_back(random_tensor({c.C}, rng));
        in.push_back(random_tensor({c.C}, rng));
      }
      in.push_back(random_tensor({c.N, c.OC, OH, OW}, rng));
    } else if (c.act) {
      op = "FusedConv";
      const bool clip = std::string(c.act) == "clip";
      a.set("post_ops", std::vector<std::string>{c.act});
      a.set("post_alpha", std::vector<float>{clip ? -0.5f : 0.f});
      a.set("post_beta", std::vector<float>{clip ? 0.7f : 0.f});
    }
    const std::string desc = kernel + " mb" + std::to_string(c.N) + " c" + std::to_string(c.C) + " oc" +
                             std::to_string(c.OC) + " " + std::to_string(c.H) + "x" + std::to_string(c.W) + " " + op +
                             (c.act ? std::string(" ") + c.act : "");
    auto ref = testing::run_single_op(op, in, a);
    ASSERT_TRUE(ref.is_ok()) << desc;
    const Tensor& want = (*ref)[0];
    double scale = 1e-3;
    for (int64_t i = 0; i < want.numel(); ++i) scale = std::max(scale, std::fabs(double(want.data<float>()[i])));
    // 1 and 2 threads take every layout (one group: a shared V at 1, a V
    // per thread at 2; more groups: by group, bands at 2); 3 threads the
    // shared V with the channels split for the transform.
    for (int threads : {1, 2, 3}) {
      Graph g;
      std::vector<bool> as_input(in.size(), false);
      as_input[0] = true;
      ASSERT_TRUE(testing::build_single_op_graph(g, op, in, a, 1, as_input).is_ok());
      auto ex = Executor::create(std::move(g), threads);
      ASSERT_TRUE(ex.is_ok()) << desc;
      EXPECT_EQ((*ex)->step_kernel_name(0).rfind(kernel + ":", 0), 0u) << desc << ": " << (*ex)->step_kernel_name(0);
      std::vector<Tensor> out;
      ASSERT_TRUE((*ex)->run({in[0]}, out).is_ok());
      ASSERT_EQ(out[0].shape(), want.shape()) << desc;
      double worst = 0;
      for (int64_t i = 0; i < want.numel(); ++i)
        worst = std::max(worst, std::fabs(double(out[0].data<float>()[i]) - want.data<float>()[i]) / scale);
      EXPECT_LT(worst, 1e-4) << desc << " threads=" << threads;
    }
  }
}

// Winograd F(4x4, 3x3) (AVX-512): output sizes that leave partial 4x4
// tiles at the right and bottom, tile counts around one 16-lane group (T =
// 1, 15, 16, 17, 49...), channels past one reduction block (KC = 256) and
// output channels past one block of 32 and not a multiple of 16, batch 2,
// pre-op, bias and residual + ReLU. Its transforms scale by up to 8 and
// 1/24, so it is held to 1e-3 of the output scale (F(2x2, 3x3) and direct:
// 1e-4), and measured against that bound's tenth here.
TEST(ConvGemmImpl, WinogradF4x3MatchesReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "needs AVX-512";
  set_winograd_limits(1, 1, 1, 1);
  std::mt19937 rng(4343);
  check_winograd_lanes({{1, 64, 48, 14, 14, 1, 1, 1, 1, false, false},  // 16 tiles: one full group
      {1, 300, 40, 9, 9, 1, 1, 1, 1, true, false},    // K past KC, 3x3 tiles with partial edges
      {2, 33, 70, 15, 18, 1, 1, 1, 1, true, true},    // batch 2, 4x5 tiles, oc tail of 6
      {1, 20, 17, 4, 4, 1, 1, 1, 1, false, false},    // one tile
      {1, 24, 33, 30, 7, 0, 1, 2, 1, true, false},    // asymmetric pads, 8x2 tiles
      {1, 16, 32, 28, 28, 1, 1, 1, 1, true, true},    // 49 tiles: four groups, the last with one
      {1, 8, 16, 3, 3, 0, 0, 0, 0, false, false},     // 1x1 output
      {1, 64, 40, 14, 14, 1, 1, 1, 1, false, false, "relu"},  // ReLU in the output transform
      {2, 33, 20, 15, 18, 1, 1, 1, 1, false, false, "clip"},  // Clip there, partial tiles, batch 2
      {1, 16, 32, 28, 28, 1, 1, 1, 1, false, false, "relu"},  // many groups (tiles split by group)
      // 100 tiles: 7 groups, split 3 and 4 at 2 threads, 2 output-channel
      // blocks; read from the image, and with the pre-op through bands.
      {1, 24, 64, 40, 40, 1, 1, 1, 1, false, false, "relu"},
      {1, 24, 64, 40, 40, 1, 1, 1, 1, true, true},
  }, "conv2d_winograd_f4x3", rng);
  reset_winograd_limits();
}

// F(2x2, 3x3) with 16 tiles as lanes, where F(4x4, 3x3) has fewer than 16
// tiles: ResNet's 7x7 (16 tiles), 9x9 and 12x12 (one full and a partial
// group), 8x11 and 5x13 maps, the same epilogues and 1e-4 bound.
TEST(ConvGemmImpl, WinogradF2x3LanesMatchesReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "needs AVX-512";
  set_winograd_limits(1, 1, 16, 1);
  std::mt19937 rng(4344);
  check_winograd_lanes({{1, 64, 48, 7, 7, 1, 1, 1, 1, false, false},
                        {1, 300, 40, 9, 9, 1, 1, 1, 1, true, false},
                        {2, 33, 70, 12, 12, 1, 1, 1, 1, true, true},
                        {1, 24, 33, 10, 11, 0, 1, 0, 1, true, false},
                        {1, 16, 17, 5, 13, 1, 1, 1, 1, false, false},
                        {1, 64, 48, 7, 7, 1, 1, 1, 1, false, false, "relu"},
                        {1, 24, 33, 10, 11, 0, 1, 0, 1, false, false, "clip"}},
                       "conv2d_winograd_f2x3_lanes", rng);
  reset_winograd_limits();
}

// The default heuristic: ResNet's 14x14 layer with 256 channels takes
// Winograd (F(4x4, 3x3) at AVX-512), a 64-channel one at 56x56 F(4x4, 3x3)
// at AVX-512 (direct below), a 7x7 one F(2x2, 3x3) with lanes at AVX-512
// (direct below), a 4x4 one (4 tiles) and a 32-channel one the direct kernel.
TEST(ConvGemmImpl, WinogradHeuristicPicksWideLayersWithManyTiles) {
  std::mt19937 rng(8);
  auto kernel_for = [&](int64_t C, int64_t HW) {
    Graph g;
    Attrs a;
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    std::vector<Tensor> in{random_tensor({1, C, HW, HW}, rng), random_tensor({C, C, 3, 3}, rng)};
    EXPECT_TRUE(testing::build_single_op_graph(g, "Conv", in, a, 1, {true, false}).is_ok());
    auto ex = Executor::create(std::move(g), 1);
    EXPECT_TRUE(ex.is_ok());
    return (*ex)->step_kernel_name(0);
  };
  const char* wide = host_isa() >= Isa::kAvx512 ? "conv2d_winograd_f4x3" : "conv2d_winograd_f2x3";
  EXPECT_EQ(kernel_for(256, 14).rfind(wide, 0), 0u) << kernel_for(256, 14);
  EXPECT_EQ(kernel_for(64, 56).rfind(host_isa() >= Isa::kAvx512 ? "conv2d_winograd_f4x3" : "conv2d_indirect_gemm", 0), 0u)
      << kernel_for(64, 56);
  EXPECT_EQ(kernel_for(32, 56).rfind("conv2d_indirect_gemm", 0), 0u) << kernel_for(32, 56);
  const char* narrow = host_isa() >= Isa::kAvx512 ? "conv2d_winograd_f2x3_lanes" : "conv2d_implicit_gemm";
  EXPECT_EQ(kernel_for(256, 7).rfind(narrow, 0), 0u) << kernel_for(256, 7);
  EXPECT_EQ(kernel_for(256, 4).rfind("conv2d_implicit_gemm", 0), 0u) << kernel_for(256, 4);
}

// GlobalAveragePool's plane kernel against the op's reference: plane sizes
// around its 16- and 64-float steps (1, 15, 16, 17, 49 = ResNet's head, 63,
// 64, 65, 3136), channel counts {1, 3, 15, 16, 17, 33, 64, 2048}, batch 2,
// 3-D and 5-D inputs, and enough planes for the threaded split.
TEST(ConvGemmImpl, GlobalAveragePoolMatchesReference) {
  std::mt19937 rng(91);
  struct Case { std::vector<int64_t> shape; };
  for (const Case& c : std::vector<Case>{{{1, 2048, 7, 7}},  {{2, 17, 1, 1}},  {{1, 3, 3, 5}},   {{1, 16, 4, 4}},
                                         {{2, 15, 1, 17}},  {{1, 33, 7, 9}},  {{1, 64, 8, 8}},  {{1, 1, 5, 13}},
                                         {{1, 64, 56, 56}}, {{2, 16, 64}},    {{1, 3, 2, 3, 5}}, {{1, 1280, 7, 7}}}) {
    std::string desc = "global average pool";
    for (int64_t d : c.shape) desc += " " + std::to_string(d);
    check_against_reference("GlobalAveragePool", {random_tensor(Shape(c.shape), rng)}, Attrs{}, desc);
    expect_kernel("GlobalAveragePool", {random_tensor(Shape(c.shape), rng)}, Attrs{}, "gavgpool_nchw", true, desc);
  }
}

TEST(ConvGemmImpl, MaxPoolMatchesReference) {
  std::mt19937 rng(77);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t k = 1 + rng() % 3, s = 1 + rng() % 2, d = trial % 7 == 0 ? 2 : 1;
    const int64_t pad = rng() % std::min<int64_t>(k, 2), ceil = rng() % 2;
    const int64_t H = d * (k - 1) + 1 + rng() % 9, W = d * (k - 1) + 1 + rng() % 11;
    Attrs a;
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("strides", std::vector<int64_t>{s, s});
    a.set("dilations", std::vector<int64_t>{d, d});
    a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    a.set("ceil_mode", ceil);
    const std::string desc = "maxpool k" + std::to_string(k) + "s" + std::to_string(s) + "d" + std::to_string(d) +
                             "p" + std::to_string(pad) + "ceil" + std::to_string(ceil) + " " + std::to_string(H) +
                             "x" + std::to_string(W);
    check_against_reference("MaxPool", {random_tensor({2, 3 + trial % 5, H, W}, rng)}, a, desc);
  }
  Attrs big;
  big.set("kernel_shape", std::vector<int64_t>{3, 3});
  big.set("strides", std::vector<int64_t>{2, 2});
  big.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  check_against_reference("MaxPool", {random_tensor({1, 64, 56, 56}, rng)}, big, "maxpool resnet stem");
  // 3x3/2 has its own AVX-512 plane kernel: widths around its 16-output
  // chunks (32 input columns and the next chunk's first), ceil mode,
  // asymmetric, wide (2) and no padding, a window all in padding, a
  // one-column image.
  for (const auto& [H, W, ceil, pads] : std::vector<std::tuple<int64_t, int64_t, int64_t, std::vector<int64_t>>>{
           {9, 17, 0, {1, 1, 1, 1}}, {12, 33, 1, {1, 1, 1, 1}}, {112, 112, 0, {1, 1, 1, 1}},
           {7, 113, 1, {0, 0, 0, 0}}, {10, 31, 0, {1, 0, 0, 1}}, {5, 64, 1, {1, 1, 1, 1}}, {3, 3, 1, {1, 1, 1, 1}},
           {8, 20, 0, {2, 2, 2, 2}}, {6, 16, 1, {0, 2, 1, 0}}, {11, 48, 0, {1, 1, 1, 1}}, {4, 1, 0, {1, 1, 1, 1}}}) {
    Attrs a;
    a.set("kernel_shape", std::vector<int64_t>{3, 3});
    a.set("strides", std::vector<int64_t>{2, 2});
    a.set("pads", pads);
    a.set("ceil_mode", ceil);
    const std::string desc = "maxpool 3x3/2 " + std::to_string(H) + "x" + std::to_string(W) + " ceil" +
                             std::to_string(ceil) + " pad" + std::to_string(pads[0]) + std::to_string(pads[1]);
    check_against_reference("MaxPool", {random_tensor({1, 5, H, W}, rng)}, a, desc);
    if (host_isa() >= Isa::kAvx512) {
      Graph g;
      ASSERT_TRUE(testing::build_single_op_graph(g, "MaxPool", {random_tensor({1, 5, H, W}, rng)}, a, 1, {true}).is_ok());
      auto ex = Executor::create(std::move(g), 1);
      ASSERT_TRUE(ex.is_ok());
      EXPECT_NE((*ex)->step_kernel_name(0).find("3x3s2"), std::string::npos) << desc;
    }
  }
}

TEST(ConvGemmImpl, GemmAndMatMulMatchReference) {
  std::mt19937 rng(99);
  for (int64_t M : {1, 5, 7, 300}) {
    for (int64_t K : {1, 17, 300}) {
      for (int64_t N : {1, 63, 65, 1000}) {
        Attrs a;
        a.set("transB", int64_t{1});
        a.set("alpha", 0.5f);
        a.set("beta", 2.f);
        check_against_reference("Gemm", {random_tensor({M, K}, rng), random_tensor({N, K}, rng), random_tensor({N}, rng)},
                                a, "gemm M" + std::to_string(M) + "K" + std::to_string(K) + "N" + std::to_string(N));
        check_against_reference("MatMul", {random_tensor({2, M, K}, rng), random_tensor({K, N}, rng)}, Attrs(),
                                "matmul M" + std::to_string(M) + "K" + std::to_string(K) + "N" + std::to_string(N));
      }
    }
  }
  // Batch 1 takes the GEMV at AVX-512 (Gemm with bias and beta; MatMul):
  // weight rows under 32 outputs, 64-column panels from 32; more rows keep
  // the GEMM.
  for (int64_t N : {1, 3, 5, 31, 32, 64, 65, 1000}) {
    Attrs a;
    a.set("transB", int64_t{1});
    a.set("beta", 0.5f);
    const std::vector<Tensor> gin{random_tensor({1, 300}, rng), random_tensor({N, 300}, rng), random_tensor({N}, rng)};
    check_against_reference("Gemm", gin, a, "gemm batch 1 N" + std::to_string(N));
    check_against_reference("MatMul", {random_tensor({1, 129}, rng), random_tensor({129, N}, rng)}, Attrs(),
                            "matmul batch 1 N" + std::to_string(N));
    if (host_isa() >= Isa::kAvx512) {
      for (int64_t M : {1, 2}) {
        Graph g;
        ASSERT_TRUE(testing::build_single_op_graph(g, "Gemm", {random_tensor({M, 300}, rng), gin[1], gin[2]}, a, 1,
                                                   {true}).is_ok());
        auto ex = Executor::create(std::move(g), 2);
        ASSERT_TRUE(ex.is_ok());
        const std::string name = (*ex)->step_kernel_name(0);
        EXPECT_EQ(name.find("gemv") != std::string::npos, M == 1) << "M " << M << " N " << N << ": " << name;
        EXPECT_EQ(name.find("gemv_dot") != std::string::npos, M == 1 && N < 32) << "M " << M << " N " << N << ": " << name;
      }
    }
  }
}

}  // namespace
}  // namespace anvil

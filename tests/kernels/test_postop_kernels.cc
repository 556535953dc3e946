// The element-wise epilogue rows (kernels/postop.h) at every ISA the host
// has against their plain-loop twin, and the kernels' block driver
// (runtime/post_ops_rows.h) against the reference's apply_post_ops_block:
// bit for bit (the vector loops round as the reference's expressions do),
// on every length 0-70 and special values (NaN, +-0, +-inf, subnormals),
// with nothing written past the row.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "kernels/postop.h"
#include "ops/post_ops.h"
#include "runtime/post_ops_rows.h"

namespace anvil {
namespace {

using kernels::RowOp;

// Equal bits, or both NaN.
bool same(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

std::vector<float> values(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<float> u(-4.f, 4.f);
  const float special[] = {std::numeric_limits<float>::quiet_NaN(), 0.f, -0.f,
                           std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                           1e-40f, -1e-40f, 3.f, -3.f, 1.f};
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = rng() % 5 == 0 ? special[rng() % 10] : u(rng);
  return v;
}

// Distance in units of the last place between finite floats of one sign
// (0 and -0 apart by one); both NaN: 0; otherwise (inf against finite,
// NaN against a number, opposite signs) a large number.
int64_t ulps(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  if (a == b) return 0;
  if (std::isinf(a) || std::isinf(b) || std::signbit(a) != std::signbit(b)) return INT64_MAX;
  int32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return std::abs(static_cast<int64_t>(x) - static_cast<int64_t>(y));
}

struct IsaKernel {
  const char* name;
  kernels::PostOpRowUkernel fn;
};

std::vector<IsaKernel> vector_kernels() {
  std::vector<IsaKernel> ks;
  if (host_isa() >= Isa::kAvx2) ks.push_back({"avx2", kernels::f32_postop_ukernel_1x8__avx2});
  if (host_isa() >= Isa::kAvx512) ks.push_back({"avx512", kernels::f32_postop_ukernel_1x16__avx512});
  return ks;
}

TEST(PostopKernels, RowsMatchScalarBitForBit) {
  const std::vector<IsaKernel> ks = vector_kernels();
  if (ks.empty()) GTEST_SKIP() << "no AVX2 on this host";
  std::mt19937 rng(17);
  const RowOp ops[] = {RowOp::kAdd, RowOp::kScaleShift, RowOp::kPrelu, RowOp::kClamp, RowOp::kHardSigmoid,
                       RowOp::kHardSwish};
  const char* names[] = {"add", "scale_shift", "prelu", "clamp", "hard_sigmoid", "hard_swish"};
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  for (const IsaKernel& k : ks)
    for (int o = 0; o < 6; ++o)
      for (int64_t n : {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 70, 1000}) {
        const std::vector<float> x = values(rng, n + 16), r = values(rng, n + 16);
        float a = u(rng), b = u(rng);
        if (ops[o] == RowOp::kClamp) {
          if (a > b) std::swap(a, b);
          if (n % 2) a = 0.f, b = std::numeric_limits<float>::infinity();  // ReLU's
        }
        std::vector<float> ref = x, opt = x;
        kernels::f32_postop_ukernel_1x1__scalar(ops[o], a, b, r.data(), ref.data(), n);
        k.fn(ops[o], a, b, r.data(), opt.data(), n);
        for (int64_t i = 0; i < n + 16; ++i)
          ASSERT_TRUE(same(opt[static_cast<size_t>(i)], ref[static_cast<size_t>(i)]))
              << k.name << " " << names[o] << " n " << n << " at " << i << ": x " << x[static_cast<size_t>(i)]
              << " a " << a << " b " << b << " got " << opt[static_cast<size_t>(i)] << ", reference "
              << ref[static_cast<size_t>(i)] << (i >= n ? " (past the row)" : "");
      }
}

// Sigmoid and SiLU at AVX-512 use a polynomial exp: within a few ulp of the
// reference's std::exp form over the whole float range, NaN and the
// infinities as the reference gives them (SiLU(-inf) is NaN there too).
TEST(PostopKernels, SigmoidAndSiluWithinUlpsOfReference) {
  const std::vector<IsaKernel> ks = vector_kernels();
  if (ks.empty()) GTEST_SKIP() << "no AVX2 on this host";
  std::mt19937 rng(29);
  std::vector<float> x;
  for (float v = -120.f; v <= 120.f; v += 0.0137f) x.push_back(v);  // dense over the range
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int i = 0; i < 20000; ++i) x.push_back(u(rng) * std::pow(10.f, static_cast<float>(rng() % 9) - 6.f));
  for (float v : {0.f, -0.f, 1e-40f, -1e-40f, 88.f, 88.8f, -88.8f, 89.5f, -89.5f, 103.f, -103.f, 1e30f, -1e30f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN()})
    x.push_back(v);
  const int64_t n = static_cast<int64_t>(x.size());
  for (const IsaKernel& k : ks)
  for (RowOp op : {RowOp::kSigmoid, RowOp::kSilu}) {
    std::vector<float> ref = x, opt = x;
    kernels::f32_postop_ukernel_1x1__scalar(op, 0.f, 0.f, nullptr, ref.data(), n);
    k.fn(op, 0.f, 0.f, nullptr, opt.data(), n);
    int64_t worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      const size_t at = static_cast<size_t>(i);
      // Below the normal range the reference keeps subnormals the kernels
      // flush (FTZ/DAZ while running): equal to within that.
      if (std::abs(ref[at]) < 1e-37f && std::abs(opt[at]) < 1e-37f && !std::isnan(ref[at])) continue;
      const int64_t d = ulps(opt[at], ref[at]);
      // 4 measured (x near -16.7: the reference's correctly rounded expf
      // against the polynomial, then 1 + e and the division); 6 leaves a
      // libm's ulp either way.
      ASSERT_LE(d, 6) << k.name << " " << (op == RowOp::kSigmoid ? "sigmoid" : "silu") << "(" << x[at] << "): " << opt[at]
                      << ", reference " << ref[at];
      worst = std::max(worst, d);
    }
    std::printf("%s %s: at most %lld ulp from the reference over %lld values\n", k.name,
                op == RowOp::kSigmoid ? "sigmoid" : "silu",
                static_cast<long long>(worst), static_cast<long long>(n));
  }
}

// Tanh: Cephes' polynomial below |x| = 0.625 and 1 - 2 / (exp(2|x|) + 1)
// above, against std::tanh; -0, NaN and the infinities as it gives them.
// Elu: the reference's a * (exp(x) - 1) near 0 loses its relative precision
// to the subtraction (both do), so the bound there is absolute: a few ulp of
// 1 times a.
TEST(PostopKernels, TanhAndEluWithinUlpsOfReference) {
  const std::vector<IsaKernel> ks = vector_kernels();
  if (ks.empty()) GTEST_SKIP() << "no AVX2 on this host";
  std::mt19937 rng(31);
  std::vector<float> x;
  for (float v = -120.f; v <= 120.f; v += 0.0137f) x.push_back(v);
  for (float v = -1.f; v <= 1.f; v += 0.000731f) x.push_back(v);  // dense around the 0.625 switch
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int i = 0; i < 20000; ++i) x.push_back(u(rng) * std::pow(10.f, static_cast<float>(rng() % 9) - 6.f));
  for (float v : {0.f, -0.f, 1e-40f, -1e-40f, 0.625f, -0.625f, 0.62500006f, 9.f, -9.f, 44.f, 45.f, -88.8f, 1e30f,
                  -1e30f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN()})
    x.push_back(v);
  const int64_t n = static_cast<int64_t>(x.size());
  for (const IsaKernel& k : ks) {
    std::vector<float> ref = x, opt = x;
    kernels::f32_postop_ukernel_1x1__scalar(RowOp::kTanh, 0.f, 0.f, nullptr, ref.data(), n);
    k.fn(RowOp::kTanh, 0.f, 0.f, nullptr, opt.data(), n);
    int64_t worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      const size_t at = static_cast<size_t>(i);
      if (std::abs(ref[at]) < 1e-37f && std::abs(opt[at]) < 1e-37f && !std::isnan(ref[at]) &&
          std::signbit(ref[at]) == std::signbit(opt[at]))
        continue;  // subnormal inputs: the kernels run under FTZ/DAZ
      const int64_t d = ulps(opt[at], ref[at]);
      ASSERT_LE(d, 4) << k.name << " tanh(" << x[at] << "): " << opt[at] << ", reference " << ref[at];
      worst = std::max(worst, d);
    }
    std::printf("%s tanh: at most %lld ulp from std::tanh over %lld values\n", k.name, static_cast<long long>(worst),
                static_cast<long long>(n));
    for (float a : {1.f, 0.7f, -2.5f}) {
      std::vector<float> eref = x, eopt = x;
      kernels::f32_postop_ukernel_1x1__scalar(RowOp::kElu, a, 0.f, nullptr, eref.data(), n);
      k.fn(RowOp::kElu, a, 0.f, nullptr, eopt.data(), n);
      int64_t eworst = 0;
      for (int64_t i = 0; i < n; ++i) {
        const size_t at = static_cast<size_t>(i);
        if (std::isnan(eref[at]) || std::isnan(eopt[at])) {
          ASSERT_EQ(std::isnan(eref[at]), std::isnan(eopt[at])) << k.name << " elu(" << x[at] << ")";
          continue;
        }
        if (x[at] >= 0 || std::isnan(x[at])) {  // the input itself, bit for bit
          ASSERT_TRUE(same(eopt[at], eref[at])) << k.name << " elu(" << x[at] << ")";
          continue;
        }
        const double err = std::fabs(double(eopt[at]) - double(eref[at]));
        const double bound = 4 * std::max(std::fabs(double(eref[at])) * 0x1p-23, std::fabs(double(a)) * 0x1p-24);
        ASSERT_LE(err, bound) << k.name << " elu a=" << a << " (" << x[at] << "): " << eopt[at] << ", reference "
                              << eref[at];
        if (std::fabs(double(eref[at])) > std::fabs(double(a)) * 0.5)
          eworst = std::max(eworst, ulps(eopt[at], eref[at]));
      }
      std::printf("%s elu a=%g: within 4 ulp (of the value, or of 1 times a near 0); %lld ulp where |y| > |a|/2\n",
                  k.name, a, static_cast<long long>(eworst));
    }
  }
}

// Every post-op kind in one list, on a block inside a larger image, through
// the kernels' driver at each ISA and through the reference.
TEST(PostopKernels, BlockDriverMatchesReference) {
  using ops::PostOp;
  using ops::PostOpKind;
  std::mt19937 rng(23);
  const int64_t C = 19, P = 53;
  std::vector<float> res = values(rng, C * P), slope = values(rng, C), scale = values(rng, C), shift = values(rng, C);
  Tensor tres = Tensor::wrap(DType::kF32, Shape{1, C, P}, res.data());
  Tensor tslope = Tensor::wrap(DType::kF32, Shape{C}, slope.data());
  Tensor tscale = Tensor::wrap(DType::kF32, Shape{C}, scale.data());
  Tensor tshift = Tensor::wrap(DType::kF32, Shape{C}, shift.data());
  Node node;
  KernelContext k{node, {&tres, &tslope, &tscale, &tshift}, {}};
  const std::vector<PostOp> all = {
      {PostOpKind::kSum, 0, 0, 0},          {PostOpKind::kPrelu, 0, 0, 1},   {PostOpKind::kScaleShift, 0, 0, 2},
      {PostOpKind::kLeakyRelu, 0.1f, 0, -1}, {PostOpKind::kHardSwish, 0, 0, -1}, {PostOpKind::kClip, -1.5f, 2.5f, -1},
      {PostOpKind::kHardSigmoid, 0.2f, 0.5f, -1}, {PostOpKind::kSilu, 0, 0, -1}, {PostOpKind::kElu, 0.7f, 0, -1},
      {PostOpKind::kTanh, 0, 0, -1},        {PostOpKind::kSigmoid, 0, 0, -1}, {PostOpKind::kRelu, 0, 0, -1}};
  const std::vector<float> x = values(rng, C * P);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (isa > host_isa()) continue;
    // Each op alone (so one op's NaN does not hide another's), then all.
    for (size_t first = 0; first <= all.size(); ++first) {
      const std::vector<PostOp> list =
          first < all.size() ? std::vector<PostOp>{all[first]} : all;
      std::vector<float> ref = x, opt = x;
      ops::apply_post_ops_block(list, k, ref.data(), 0, C, P, 3, 17, 5, 50);
      apply_post_ops_rows(list, k, opt.data(), 0, C, P, 3, 17, 5, 50, isa);
      // Sigmoid, SiLU, Tanh and Elu at AVX2 and up: within ulps (the tests
      // above; Elu's a * (exp(y) - 1) near 0 within a few ulp of 1, hence
      // the absolute 1e-6); the rest bit for bit.
      const bool approx = isa >= Isa::kAvx2 && (first == all.size() || all[first].kind == PostOpKind::kSilu ||
                                                   all[first].kind == PostOpKind::kSigmoid ||
                                                   all[first].kind == PostOpKind::kTanh ||
                                                   all[first].kind == PostOpKind::kElu);
      for (int64_t i = 0; i < C * P; ++i)
        ASSERT_TRUE(approx ? std::abs(opt[static_cast<size_t>(i)] - ref[static_cast<size_t>(i)]) <=
                                     1e-5f * std::abs(ref[static_cast<size_t>(i)]) + 1e-6f ||
                                 same(opt[static_cast<size_t>(i)], ref[static_cast<size_t>(i)])
                           : same(opt[static_cast<size_t>(i)], ref[static_cast<size_t>(i)]))
            << isa_name(isa) << (first < all.size() ? " op " + std::string(ops::post_op_name(all[first].kind))
                                                     : std::string(" all ops"))
            << ": channel " << i / P << " position " << i % P << " got " << opt[static_cast<size_t>(i)]
            << ", reference " << ref[static_cast<size_t>(i)];
    }
  }
}

}  // namespace
}  // namespace anvil

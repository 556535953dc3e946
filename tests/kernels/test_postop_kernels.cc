// The element-wise epilogue rows (kernels/postop.h) at every ISA the host
// has against their plain-loop twin, and the kernels' block driver
// (runtime/post_ops_rows.h) against the reference's apply_post_ops_block:
// bit for bit (the vector loops round as the reference's expressions do),
// on every length 0-70 and special values (NaN, +-0, +-inf, subnormals),
// with nothing written past the row.
#include <gtest/gtest.h>

#include <cmath>
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
      for (int64_t i = 0; i < C * P; ++i)
        ASSERT_TRUE(same(opt[static_cast<size_t>(i)], ref[static_cast<size_t>(i)]))
            << isa_name(isa) << (first < all.size() ? " op " + std::string(ops::post_op_name(all[first].kind))
                                                     : std::string(" all ops"))
            << ": channel " << i / P << " position " << i % P << " got " << opt[static_cast<size_t>(i)]
            << ", reference " << ref[static_cast<size_t>(i)];
    }
  }
}

}  // namespace
}  // namespace anvil

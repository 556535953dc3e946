// The stem microkernels (kernels/conv_stem.h, AVX2 and AVX-512) against
// their plain-loop reference: every output width up to each kernel's column
// tile (16 and 64), 1 to 4 output rows, kernel sizes 1 to 7 (odd and even),
// strides 1 and 2, 1 to 4 input channels, with and without bias and clamp,
// a NaN that must survive the clamp, and nothing written past the tile.
// Tolerance: the same products summed in another order (FMA vs separate
// rounding), up to 196 terms of magnitude <= 1: 1e-5 absolute.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "kernels/conv_stem.h"

namespace anvil::kernels {
namespace {

TEST(ConvStemKernels, MatchesScalarReference) {
  int cases = 0;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa > host_isa()) continue;
    const ConvStemUkernelInfo& uk = conv_stem_ukernel_for(isa);
    ASSERT_NE(uk.fn, nullptr) << isa_name(isa);
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::uniform_int_distribution<int> pick(0, 1 << 20);
    for (int64_t nc = 1; nc <= uk.nr; nc += (nc < 20 || nc > 44) ? 1 : 7)
      for (int64_t mr = 1; mr <= kStemMR; ++mr) {
        const int64_t S = 1 + pick(rng) % 2, C = 1 + pick(rng) % 4, KH = 1 + pick(rng) % 7, KW = 1 + pick(rng) % 7;
        const bool bias = pick(rng) % 2, clamp = pick(rng) % 2;
        const int64_t ld = (nc + 15) / 16 * 16 + (KW - 1) / S + 1 + 5, rs = S * ld + 3, cs = KH * rs + 7;
        std::vector<float> x(static_cast<size_t>(C * cs)), w(static_cast<size_t>(C * KH * KW * kStemMR));
        for (float& f : x) f = u(rng);
        for (float& f : w) f = u(rng);
        if (clamp) x[0] = std::numeric_limits<float>::quiet_NaN();  // reaches output column 0 of every row
        const float b[4] = {u(rng), u(rng), u(rng), u(rng)}, cl[2] = {-0.5f, 0.75f};
        const int64_t ldy = nc + 9;
        std::vector<float> want(static_cast<size_t>(kStemMR * ldy), 7.f), got = want;
        f32_conv_minmax_ukernel_4x64__scalar(C, KH, KW, S, x.data(), cs, rs, ld, w.data(), bias ? b : nullptr, mr,
                                             nc, clamp ? cl : nullptr, want.data(), ldy);
        uk.fn(C, KH, KW, S, x.data(), cs, rs, ld, w.data(), bias ? b : nullptr, mr, nc, clamp ? cl : nullptr,
              got.data(), ldy);
        for (size_t i = 0; i < want.size(); ++i) {
          const std::string at = std::string(uk.name) + " nc=" + std::to_string(nc) + " mr=" + std::to_string(mr) +
                                 " S=" + std::to_string(S) + " C=" + std::to_string(C) + " " + std::to_string(KH) +
                                 "x" + std::to_string(KW) + " at " + std::to_string(i);
          if (std::isnan(want[i])) {
            EXPECT_TRUE(std::isnan(got[i])) << at;
            continue;
          }
          ASSERT_NEAR(got[i], want[i], 1e-5) << at;
        }
        ++cases;
      }
  }
  if (host_isa() < Isa::kAvx2) GTEST_SKIP() << "needs AVX2";
  EXPECT_GT(cases, 60);
}

}  // namespace
}  // namespace anvil::kernels

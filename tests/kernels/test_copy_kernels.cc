// The stride-2 copy (kernels/copy.h) against its plain-loop reference:
// every length around the 16-output step, with and without the affine
// pre-op, and nothing written past n.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "kernels/copy.h"

namespace anvil::kernels {
namespace {

TEST(CopyKernels, Stride2MatchesScalarReference) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (Isa isa : {Isa::kScalar, Isa::kAvx512}) {
    if (isa > host_isa()) continue;
    const CopyS2Ukernel fn = copy_s2_ukernel_for(isa);
    for (int64_t n = 0; n <= 70; ++n)
      for (bool affine : {false, true}) {
        std::vector<float> src(static_cast<size_t>(2 * n + 1));
        for (float& f : src) f = u(rng);
        const float st[2] = {u(rng), u(rng)};
        std::vector<float> want(static_cast<size_t>(n) + 8, 9.f), got = want;
        f32_copy_s2_ukernel_1x1__scalar(src.data(), n, want.data(), affine ? st : nullptr);
        fn(src.data(), n, got.data(), affine ? st : nullptr);
        // A plain copy is exact; x * s + t may be fused into one rounding
        // on one side and not the other: within an ulp of its terms.
        for (size_t i = 0; i < want.size(); ++i) {
          const double tol =
              affine && i < static_cast<size_t>(n) ? 2e-7 * (std::fabs(src[2 * i] * st[0]) + std::fabs(st[1])) : 0.0;
          ASSERT_NEAR(got[i], want[i], tol) << isa_name(isa) << " n=" << n << " affine=" << affine << " at " << i;
        }
      }
  }
}

}  // namespace
}  // namespace anvil::kernels

// The Winograd F(4x4, 3x3) and F(2x2, 3x3) transform microkernels (kernels/winograd.h)
// against their plain-loop references: random windows at random offsets
// (tiles overlapping and not), random masks, strides wider than 16.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "kernels/winograd.h"

namespace anvil::kernels {
namespace {

struct Pair {
  const char* name;
  int a, m;  // window and output tile sizes
  WinogradInputUkernel in_ref, in_opt;
  WinogradOutputUkernel out_ref, out_opt;
};

void check_pair(const Pair& p) {
  std::mt19937 rng(99 + p.a);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t pw = 6 + rng() % 40, ph = 6 + rng() % 20, vstride = 16 + 16 * (rng() % 3);
    std::vector<float> plane(static_cast<size_t>(ph * pw));
    for (float& f : plane) f = u(rng);
    int32_t in_off[16];
    for (int t = 0; t < 16; ++t)
      in_off[t] = static_cast<int32_t>((rng() % (ph - 5)) * pw + rng() % (pw - 5));
    std::vector<float> v_ref(static_cast<size_t>(p.a * p.a * vstride), -7.f), v_opt = v_ref;
    p.in_ref(plane.data(), pw, in_off, v_ref.data(), vstride);
    p.in_opt(plane.data(), pw, in_off, v_opt.data(), vstride);
    for (size_t i = 0; i < v_ref.size(); ++i)
      ASSERT_NEAR(v_opt[i], v_ref[i], 1e-5f * 64) << p.name << " input transform, trial " << trial << " at " << i;

    // Output: 16 tiles of m x m laid out 4 per row in an ow-wide image, some
    // outputs masked off; the masked ones must stay untouched.
    const int64_t ow = 16 + rng() % 5, oh = 16;
    std::vector<float> m(static_cast<size_t>(p.a * p.a * vstride));
    for (float& f : m) f = u(rng);
    int32_t out_off[16];
    uint16_t masks[16];
    for (int t = 0; t < 16; ++t) out_off[t] = static_cast<int32_t>(t / 4 * p.m * ow + t % 4 * p.m);
    // Every third trial: all outputs of all tiles (the full-tile stores).
    for (uint16_t& mk : masks) mk = trial % 3 == 0 ? uint16_t{0xffff} : static_cast<uint16_t>(rng());
    std::vector<float> y_ref(static_cast<size_t>(oh * ow), 5.f), y_opt = y_ref;
    // Trials alternate no clamp, ReLU and a Clip to [-0.3, 0.4]; on some
    // the bias is NaN, so every stored output is NaN and the clamp must
    // keep it.
    const float bias = trial % 4 == 3 ? NAN : u(rng);
    const float relu[2] = {0.f, INFINITY}, clip[2] = {-0.3f, 0.4f};
    const float* clamp = trial % 3 == 1 ? relu : trial % 3 == 2 ? clip : nullptr;
    p.out_ref(m.data(), vstride, bias, y_ref.data(), ow, out_off, masks, clamp);
    p.out_opt(m.data(), vstride, bias, y_opt.data(), ow, out_off, masks, clamp);
    int stored = 0;
    for (size_t i = 0; i < y_ref.size(); ++i) {
      if (std::isnan(y_ref[i])) {
        ASSERT_TRUE(std::isnan(y_opt[i])) << p.name << " output transform lost a NaN, trial " << trial << " at " << i;
        ++stored;
        continue;
      }
      ASSERT_NEAR(y_opt[i], y_ref[i], 1e-5f * 256) << p.name << " output transform, trial " << trial << " at " << i;
      if (clamp) ASSERT_TRUE(y_opt[i] == 5.f || (y_opt[i] >= clamp[0] && y_opt[i] <= clamp[1])) << p.name << " at " << i;
      stored += y_ref[i] != 5.f;
    }
    EXPECT_GT(stored, 0);
  }
}

TEST(WinogradKernels, TransformsMatchScalarReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this host";
  check_pair({"F(4x4,3x3)", 6, 4, f32_winograd_f4x3_input_ukernel_36x16__scalar,
              f32_winograd_f4x3_input_ukernel_36x16__avx512, f32_winograd_f4x3_output_ukernel_36x16__scalar,
              f32_winograd_f4x3_output_ukernel_36x16__avx512});
  check_pair({"F(2x2,3x3)", 4, 2, f32_winograd_f2x3_input_ukernel_16x16__scalar,
              f32_winograd_f2x3_input_ukernel_16x16__avx512, f32_winograd_f2x3_output_ukernel_16x16__scalar,
              f32_winograd_f2x3_output_ukernel_16x16__avx512});
}

}  // namespace
}  // namespace anvil::kernels

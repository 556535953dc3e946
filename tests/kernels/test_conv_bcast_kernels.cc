// The pixels-broadcast conv tiles, stride 2 and 1 (kernels/conv_bcast.h), against their
// plain-loop reference: every pixel count 1-14, channel counts 1-32,
// random reduction offsets, each epilogue part on and off; nothing written
// past a tile's pixels or channels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "kernels/conv_bcast.h"

namespace anvil::kernels {
namespace {

TEST(ConvBcastKernels, TilesMatchScalarReference) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this host";
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> x(4096);
  for (float& f : x) f = u(rng);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t K = 1 + rng() % 70, np = 1 + trial % 14, nc = 1 + rng() % 32, ldy = 16 + rng() % 9;
    const bool s1 = trial % 4 >= 2;
    std::vector<float> w(static_cast<size_t>(K * 32));
    for (int64_t kk = 0; kk < K; ++kk)
      for (int64_t o = 0; o < 32; ++o) w[static_cast<size_t>(kk * 32 + o)] = o < nc ? u(rng) : 0.f;
    std::vector<int32_t> off(static_cast<size_t>(K));
    for (int32_t& o : off) o = static_cast<int32_t>(rng() % (x.size() - 28));
    std::vector<float> bias(32), res(static_cast<size_t>(32 * ldy));
    for (float& f : bias) f = u(rng);
    for (float& f : res) f = u(rng);
    const float clamp[2] = {-0.5f, 2.f};
    const bool b = trial % 2, r = trial % 3 == 0, cl = trial % 5 < 2;
    std::vector<float> y_ref(static_cast<size_t>(33 * ldy), 9.f), y_opt = y_ref;
    // Odd trials: the stride-1 form.
    const ConvBcastUkernel ref = s1 ? f32_conv_s1_minmax_ukernel_14x32__scalar : f32_conv_s2_minmax_ukernel_14x32__scalar;
    const ConvBcastUkernel opt = s1 ? f32_conv_s1_minmax_ukernel_14x32__avx512 : f32_conv_s2_minmax_ukernel_14x32__avx512;
    ref(K, w.data(), x.data(), off.data(), np, nc, y_ref.data(), ldy, b ? bias.data() : nullptr,
        r ? res.data() : nullptr, cl ? clamp : nullptr);
    opt(K, w.data(), x.data(), off.data(), np, nc, y_opt.data(), ldy, b ? bias.data() : nullptr,
        r ? res.data() : nullptr, cl ? clamp : nullptr);
    for (int64_t o = 0; o < 33; ++o)
      for (int64_t i = 0; i < ldy; ++i) {
        const size_t at = static_cast<size_t>(o * ldy + i);
        if (o < nc && i < np)
          ASSERT_NEAR(y_opt[at], y_ref[at], 1e-5f * static_cast<float>(K))
              << (s1 ? "s1" : "s2") << " K " << K << " np " << np << " nc " << nc << " channel " << o << " pixel " << i;
        else
          ASSERT_EQ(y_opt[at], 9.f) << "wrote outside the tile: channel " << o << " pixel " << i << " (np " << np
                                    << ", nc " << nc << ")";
      }
  }
}

}  // namespace
}  // namespace anvil::kernels

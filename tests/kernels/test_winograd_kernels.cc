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

// The direct form (the unpadded image, a mask per tile row) against its
// reference, and that reference against the padded-plane one on the same
// image zero-padded by hand: windows hanging over every edge, rows wholly
// outside, lanes with no window at all (mask 0, offset anywhere).
void check_direct(const char* name, int a, WinogradInputDirectUkernel ref, WinogradInputDirectUkernel opt,
                  WinogradInputUkernel plane_ref) {
  std::mt19937 rng(7 + a);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t h = 1 + rng() % 20, w = 1 + rng() % 40, vstride = 16 + 16 * (rng() % 3);
    // Exactly h x w floats: a read outside the image is a heap overflow
    // under the sanitizer build (the scalar reference reads only set bits).
    std::vector<float> image(static_cast<size_t>(h * w));
    for (float& f : image) f = u(rng);
    // The image inside a zero border of `a` on every side, for the plane form.
    const int64_t pw = w + 2 * a, ph = h + 2 * a;
    std::vector<float> padded(static_cast<size_t>(ph * pw), 0.f);
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) padded[static_cast<size_t>((r + a) * pw + c + a)] = image[static_cast<size_t>(r * w + c)];
    int32_t off[16], plane_off[16];
    uint8_t rmask[6 * 16] = {};
    for (int t = 0; t < 16; ++t) {
      const bool empty = rng() % 8 == 0;  // a lane past the last tile
      const int64_t r0 = empty ? 0 : -static_cast<int64_t>(a - 1) + static_cast<int64_t>(rng() % (h + a - 1));
      const int64_t c0 = empty ? 0 : -static_cast<int64_t>(a - 1) + static_cast<int64_t>(rng() % (w + a - 1));
      off[t] = static_cast<int32_t>(r0 * w + c0);
      plane_off[t] = static_cast<int32_t>((r0 + a) * pw + c0 + a);
      if (empty) continue;
      uint8_t cols = 0;
      for (int j = 0; j < a; ++j)
        if (c0 + j >= 0 && c0 + j < w) cols = static_cast<uint8_t>(cols | (1u << j));
      for (int k = 0; k < a; ++k)
        if (r0 + k >= 0 && r0 + k < h) rmask[k * 16 + t] = cols;
    }
    std::vector<float> v_ref(static_cast<size_t>(a * a * vstride), -7.f), v_opt = v_ref, v_plane = v_ref;
    ref(image.data(), w, off, rmask, v_ref.data(), vstride);
    opt(image.data(), w, off, rmask, v_opt.data(), vstride);
    plane_ref(padded.data(), pw, plane_off, v_plane.data(), vstride);
    for (int xi = 0; xi < a * a; ++xi)
      for (int t = 0; t < 16; ++t) {
        const size_t i = static_cast<size_t>(xi * vstride + t);
        ASSERT_NEAR(v_opt[i], v_ref[i], 1e-5f * 64) << name << " direct input, trial " << trial << " point " << xi << " tile " << t;
        uint8_t any = 0;
        for (int k = 0; k < a; ++k) any = static_cast<uint8_t>(any | rmask[k * 16 + t]);
        if (any)  // a window reading the image somewhere: the padded form's value
          ASSERT_NEAR(v_ref[i], v_plane[i], 1e-5f * 64) << name << " direct vs padded, trial " << trial << " point " << xi;
        else
          ASSERT_EQ(v_opt[i], 0.f) << name << " empty lane " << t << " not zero, trial " << trial;
      }
    for (size_t i = 0; i < v_ref.size(); ++i)
      if (static_cast<int64_t>(i % vstride) >= 16) ASSERT_EQ(v_opt[i], -7.f) << name << " wrote past 16 lanes at " << i;
  }
}

TEST(WinogradKernels, DirectInputMatchesReferenceAndPaddedForm) {
  if (host_isa() < Isa::kAvx512) GTEST_SKIP() << "no AVX-512 on this host";
  check_direct("F(4x4,3x3)", 6, f32_winograd_f4x3_input_direct_ukernel_36x16__scalar,
               f32_winograd_f4x3_input_direct_ukernel_36x16__avx512, f32_winograd_f4x3_input_ukernel_36x16__scalar);
  check_direct("F(2x2,3x3)", 4, f32_winograd_f2x3_input_direct_ukernel_16x16__scalar,
               f32_winograd_f2x3_input_direct_ukernel_16x16__avx512, f32_winograd_f2x3_input_ukernel_16x16__scalar);
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

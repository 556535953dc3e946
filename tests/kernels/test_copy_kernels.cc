// The stride-2 copy and the panel-row packer (kernels/copy.h) against
// their plain-loop references: every length around the 16-output step, with
// and without the affine pre-op, and nothing written past n; panel widths
// around the 16-column chunks (the 16x16 and 8x49 tiles' among them) with
// random runs, nothing written past the panel; the zero-padded plane copy
// cell by cell against its definition on pads of 0-3 a side, crops
// (negative pads), planes cut short of the image and planes with no image
// rows, guards around the plane untouched; the im2row block builder on
// random geometries (strides 1-3, dilations 1-2, pads 0-3, windows up to
// 5x5, rows up to 32 wide, sub-ranges of rows and of output rows), every
// written cell against the definition and nothing else touched.
#include <gtest/gtest.h>

#include <algorithm>
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

TEST(CopyKernels, PackRunsMatchesScalarReference) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (Isa isa : {Isa::kScalar, Isa::kAvx512}) {
    if (isa > host_isa()) continue;
    const PackRunsUkernel fn = pack_runs_ukernel_for(isa);
    for (int64_t nr : {1, 5, 15, 16, 17, 31, 32, 33, 48, 49, 63, 64})
      for (int trial = 0; trial < 40; ++trial) {
        // Columns [0, w) cut into 1..kPackRunsMax runs; past w the panel is zero.
        const int64_t w = std::uniform_int_distribution<int64_t>(1, nr)(rng);
        const int64_t want_runs = std::uniform_int_distribution<int64_t>(1, std::min<int64_t>(kPackRunsMax, w))(rng);
        std::vector<int64_t> cuts{0, w};
        while (static_cast<int64_t>(cuts.size()) < want_runs + 1) {
          const int64_t c = std::uniform_int_distribution<int64_t>(1, w - 1)(rng);
          if (std::find(cuts.begin(), cuts.end(), c) == cuts.end()) cuts.push_back(c);
        }
        std::sort(cuts.begin(), cuts.end());
        const int64_t runs = static_cast<int64_t>(cuts.size()) - 1;
        int64_t at[kPackRunsMax], off[kPackRunsMax], len[kPackRunsMax];
        for (int64_t i = 0; i < runs; ++i) {
          at[i] = cuts[static_cast<size_t>(i)];
          len[i] = cuts[static_cast<size_t>(i) + 1] - at[i];
          off[i] = std::uniform_int_distribution<int64_t>(0, 40)(rng);
        }
        const int64_t rows = std::uniform_int_distribution<int64_t>(1, 16)(rng);
        std::vector<std::vector<float>> rowdata(static_cast<size_t>(rows), std::vector<float>(120));
        std::vector<const float*> src;
        for (auto& r : rowdata) {
          for (float& f : r) f = u(rng);
          src.push_back(r.data());
        }
        std::vector<float> want(static_cast<size_t>(rows * nr + 8), 9.f), got = want;
        f32_pack_runs_ukernel_1x1__scalar(rows, src.data(), runs, at, off, len, nr, want.data());
        fn(rows, src.data(), runs, at, off, len, nr, got.data());
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " nr=" << nr << " runs=" << runs << " w=" << w << " at " << i;
        for (int64_t r = 0; r < rows; ++r)  // the reference itself: runs copied, the rest zero
          for (int64_t q = 0; q < nr; ++q) {
            float v = 0.f;
            for (int64_t i = 0; i < runs; ++i)
              if (q >= at[i] && q < at[i] + len[i]) v = src[static_cast<size_t>(r)][off[i] + q - at[i]];
            ASSERT_EQ(want[static_cast<size_t>(r * nr + q)], v);
          }
      }
  }
}

TEST(CopyKernels, Im2rowMatchesDefinition) {
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  const float kGuard = -777.f;
  Isa isas[] = {Isa::kScalar, Isa::kAvx512};
  for (Isa isa : isas) {
    if (isa > host_isa()) continue;
    const Im2rowUkernel fn = isa == Isa::kScalar ? f32_im2row_ukernel_1x1__scalar : im2row_ukernel_for(isa);
    ASSERT_NE(fn, nullptr);
    int cases = 0;
    while (cases < 600) {
      Im2rowGeo g{};
      g.H = pick(1, 20);
      g.W = pick(1, kIm2rowMaxW);
      g.KH = pick(1, 5);
      g.KW = pick(1, 5);
      g.sh = pick(1, 3);
      g.sw = pick(1, 3);
      g.dh = pick(1, 2);
      g.dw = pick(1, 2);
      g.ph = pick(0, 3);
      g.pw = pick(0, 3);
      const int64_t OH = (g.H + 2 * g.ph - g.dh * (g.KH - 1) - 1) / g.sh + 1;
      g.OW = (g.W + 2 * g.pw - g.dw * (g.KW - 1) - 1) / g.sw + 1;
      if (OH < 1 || g.OW < 1 || g.OW > kIm2rowMaxOW || g.H + 2 * g.ph < g.dh * (g.KH - 1) + 1 ||
          g.W + 2 * g.pw < g.dw * (g.KW - 1) + 1)
        continue;
      ++cases;
      const int64_t C = pick(1, 4), K = C * g.KH * g.KW;
      g.oh0 = pick(0, OH - 1);
      g.oh1 = pick(g.oh0 + 1, OH);
      const int64_t k0 = pick(0, K - 1), kc = pick(1, K - k0);
      // Output rows at scattered places in a block, rows of it ldd apart.
      const int64_t rows = g.oh1 - g.oh0, gap = pick(0, 3);
      std::vector<int64_t> seg(static_cast<size_t>(rows));
      for (int64_t i = 0; i < rows; ++i) seg[static_cast<size_t>(i)] = (rows - 1 - i) * (g.OW + gap) + gap;
      const int64_t ldd = rows * (g.OW + gap) + gap + pick(0, 5);
      std::vector<float> x(static_cast<size_t>(C * g.H * g.W)), sc(static_cast<size_t>(C)), sh(static_cast<size_t>(C));
      for (float& f : x) f = u(rng);
      for (float& f : sc) f = u(rng);
      for (float& f : sh) f = u(rng);
      const bool scaled = pick(0, 1) == 1;
      std::vector<float> got(static_cast<size_t>(kc * ldd + 16), kGuard);
      fn(x.data(), g, k0, kc, seg.data(), ldd, got.data(), scaled ? sc.data() : nullptr, scaled ? sh.data() : nullptr);
      std::vector<float> want(got.size(), kGuard);
      for (int64_t k = k0; k < k0 + kc; ++k) {
        const int64_t c = k / (g.KH * g.KW), kh = k % (g.KH * g.KW) / g.KW, kw = k % g.KW;
        for (int64_t oh = g.oh0; oh < g.oh1; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t ih = oh * g.sh + kh * g.dh - g.ph, iw = ow * g.sw + kw * g.dw - g.pw;
            float v = 0.f;
            if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) {
              v = x[static_cast<size_t>((c * g.H + ih) * g.W + iw)];
              if (scaled) v = v * sc[static_cast<size_t>(c)] + sh[static_cast<size_t>(c)];
            }
            want[static_cast<size_t>((k - k0) * ldd + seg[static_cast<size_t>(oh - g.oh0)] + ow)] = v;
          }
      }
      for (size_t i = 0; i < want.size(); ++i) {
        // x * s + t may be one rounding (FMA) or two: within an ulp of its terms.
        const double tol = scaled && want[i] != kGuard ? 4e-7 * (2.0 * 2.0 + 2.0) : 0.0;
        ASSERT_NEAR(got[i], want[i], tol) << isa_name(isa) << " H=" << g.H << " W=" << g.W << " K=" << g.KH << "x"
                                          << g.KW << " s=" << g.sh << "," << g.sw << " d=" << g.dh << "," << g.dw
                                          << " p=" << g.ph << "," << g.pw << " k0=" << k0 << " kc=" << kc << " at " << i;
      }
    }
  }
}

TEST(CopyKernels, PadPlaneIsEachPixelOrZero) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  const float kGuard = -12345.f;
  for (Isa isa : {Isa::kScalar, Isa::kAvx512}) {
    if (isa > host_isa()) continue;
    const PadPlaneUkernel fn = pad_plane_ukernel_for(isa);
    int cases = 0;
    for (int64_t H : {1, 2, 5, 7, 14})
      for (int64_t W : {1, 3, 7, 15, 16, 17, 56})
        for (int64_t ph : {-1, 0, 1, 3})
          for (int64_t pw : {-2, 0, 1, 2, 3})
            for (int64_t extra_h : {-2, 0, 1, 3})
              for (int64_t extra_w : {-1, 0, 2})
                for (bool scaled : {false, true}) {
                  const int64_t PH = std::max<int64_t>(1, H + ph + extra_h);
                  const int64_t PW = std::max<int64_t>(1, W + pw + extra_w);
                  std::vector<float> x(static_cast<size_t>(H * W));
                  for (float& v : x) v = u(rng);
                  const float s = u(rng), t = u(rng);
                  std::vector<float> buf(static_cast<size_t>(PH * PW + 64), kGuard);
                  float* dst = buf.data() + 32;
                  fn(x.data(), H, W, ph, pw, PH, PW, dst, scaled ? &s : nullptr, scaled ? &t : nullptr);
                  for (int64_t i = 0; i < 32; ++i) {
                    ASSERT_EQ(buf[static_cast<size_t>(i)], kGuard) << isa_name(isa) << ": wrote before the plane";
                    ASSERT_EQ(dst[PH * PW + i], kGuard) << isa_name(isa) << ": wrote past the plane";
                  }
                  for (int64_t r = 0; r < PH; ++r)
                    for (int64_t c = 0; c < PW; ++c) {
                      const int64_t ih = r - ph, iw = c - pw;
                      double want = 0.0, tol = 0.0;
                      if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                        const float v = x[static_cast<size_t>(ih * W + iw)];
                        want = scaled ? double(v) * s + t : v;
                        // x * s + t fused or not: within an ulp of its terms.
                        tol = scaled ? 2e-7 * (std::fabs(v * s) + std::fabs(t)) : 0.0;
                      }
                      ASSERT_NEAR(dst[r * PW + c], want, tol)
                          << isa_name(isa) << " H=" << H << " W=" << W << " ph=" << ph << " pw=" << pw << " PH=" << PH
                          << " PW=" << PW << " scaled=" << scaled << " at row " << r << " col " << c;
                    }
                  ++cases;
                }
    EXPECT_GT(cases, 5000);
  }
}

}  // namespace
}  // namespace anvil::kernels

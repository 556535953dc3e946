// Conv 3x3, stride 1, as Winograd F(2x2, 3x3): each 4x4 input tile becomes
// 16 transformed points, each point is one GEMM over the channels, and each
// 4x4 result tile gives 2x2 outputs: 16 multiplies per 2x2 outputs and
// channel pair where direct convolution needs 36. The transforms use only
// additions and halvings, so outputs stay within the direct kernel's error
// (checked against the reference at 1e-4 relative in the tests).
//   V[xi][c][t] = (B^T d B)    input tiles, t = tile index
//   M[xi] = U[xi] V[xi]        U[xi][oc][c] = (G g G^T), packed at compile time
//   y = A^T M A + bias, then the fused epilogue
// With few tiles (7x7 outputs: 16 tiles) the per-point products run
// transposed (tiles as GEMM rows) so the register tile stays full.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/tensor_alloc.h"
#include "core/thread_pool.h"
#include "kernels/copy.h"
#include "kernels/gemm.h"
#include "kernels/winograd.h"
#include "ops/op_util.h"
#include "ops/post_ops.h"
#include "runtime/kernel_registry.h"
#include "runtime/per_thread.h"
#include "runtime/post_ops_rows.h"

namespace anvil {

namespace {

constexpr int kPoints = 16;

class ConvWinogradF2x3 final : public OpKernel {
 public:
  ConvWinogradF2x3(const KernelConfig& cfg, ops::WindowGeometry geo, const Tensor& w, Tensor b,
                   std::vector<ops::PostOp> post, int64_t tiles)
      : isa_(cfg.isa), pool_(cfg.pool), geo_(std::move(geo)), b_(std::move(b)), post_(std::move(post)) {
    OC_ = w.dim(0);
    C_ = w.dim(1);
    const kernels::GemmPlan plan = kernels::gemm_plan(tiles, OC_, isa_);
    transposed_ = plan.transposed;
    uk_ = plan.uk;
    const int64_t numel = transposed_ ? kernels::prepacked_b_numel(C_, OC_, *uk_) : kernels::prepacked_a_numel(OC_, C_, *uk_);
    if (adopt_prepacked(cfg, std::vector<int64_t>(kPoints, numel), up_)) return;
    // U = G g G^T per (oc, c), in double then rounded once.
    std::vector<float> u(static_cast<size_t>(kPoints * OC_ * C_));
    const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    for (int64_t o = 0; o < OC_; ++o)
      for (int64_t c = 0; c < C_; ++c) {
        const float* g = w.data<float>() + (o * C_ + c) * 9;
        double t[4][3];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 3; ++j) t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j)
            u[static_cast<size_t>(((i * 4 + j) * OC_ + o) * C_ + c)] =
                static_cast<float>(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
      }
    for (int xi = 0; xi < kPoints; ++xi) {
      const float* ux = u.data() + xi * OC_ * C_;
      up_.push_back(transposed_ ? kernels::prepack_b(ux, C_, C_, OC_, /*trans_b=*/true, *uk_)
                                : kernels::prepack_a(ux, C_, OC_, C_, *uk_));
    }
  }

  // Per-input-channel x*s + t (a BatchNorm before a padded conv, as in
  // InsightFace's IR units), applied while the channel is copied into its
  // padded plane, so the padding stays zero as the model requires.
  void set_pre_scale_shift(Tensor s, Tensor t) {
    pre_s_ = std::move(s);
    pre_t_ = std::move(t);
  }

  std::vector<Tensor> packed() const override { return up_; }

  std::string name() const override {
    return std::string("conv2d_winograd_f2x3") + (transposed_ ? "_t:" : ":") + uk_->name;
  }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t N = x.dim(0), H = x.dim(2), W = x.dim(3), OH = y.dim(2), OW = y.dim(3);
    const int64_t TH = (OH + 1) / 2, TW = (OW + 1) / 2, T = TH * TW;
    const int64_t PH = 2 * TH + 2, PW = 2 * TW + 2;  // padded input the tiles read
    const int64_t ph = geo_.pad_begin[0], pw = geo_.pad_begin[1];
    const int threads = pool_ ? pool_->threads() : 1;
    const bool pre = pre_s_.defined() && pre_s_.numel() > 0;
    // Scratch shared by every Winograd layer the calling thread runs (runs
    // of one executor are sequential; concurrent runs come from different
    // threads), so one warm buffer serves all 20-odd layers instead of each
    // layer touching its own cold megabytes.
    // (The lambdas below run on workers too, where a thread_local name would
    // mean the worker's own buffer: they use these pointers.)
    thread_local std::vector<float> v_scratch, m_scratch;
    // Transposed product: V^T is written straight in the GEMM's packed-A
    // layout (per KC block of channels, panels of MR tiles), so the GEMM
    // packs nothing; the tiles past T in the last panel stay zero.
    const int64_t mr = transposed_ ? uk_->mr : 1, panels = (T + mr - 1) / mr, KC = kernels::gemm_kc();
    const int64_t vps = transposed_ ? panels * mr * C_ : C_ * T;  // floats per point
    v_scratch.resize(static_cast<size_t>(kPoints * vps));
    m_scratch.resize(static_cast<size_t>(kPoints * OC_ * T));
    float* const vbuf = v_scratch.data();
    float* const mbuf = m_scratch.data();
    planes_.resize(static_cast<size_t>(threads));
    auto par = [&](int64_t n, FunctionRef<void(int64_t, int64_t, int)> fn) {
      if (pool_ && threads > 1 && n > 1) {
        pool_->parallel_for_balanced(n, pool_->grain_for(n), fn);
        equalize_capacity(planes_);
      } else {
        fn(0, n, 0);
      }
    };
    if (transposed_ && panels * mr > T)  // the last panel's rows past T
      for (int64_t xi = 0; xi < kPoints; ++xi)
        for (int64_t c = 0; c < C_; ++c) {
          const int64_t kcb = std::min(KC, C_ - c / KC * KC);
          float* last = vbuf + xi * vps + c / KC * KC * panels * mr + ((panels - 1) * kcb + c % KC) * mr;
          for (int64_t t = T; t < panels * mr; ++t) last[t % mr] = 0.f;
        }
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = x.data<float>() + n * C_ * H * W;
      float* yn = y.data<float>() + n * OC_ * OH * OW;
      // 1. Input transform, a channel at a time through a zero-padded plane.
      par(C_, [&](int64_t c0, int64_t c1, int tid) {
        std::vector<float>& plane = planes_[static_cast<size_t>(tid)];
        plane.resize(static_cast<size_t>(PH * PW));
        for (int64_t c = c0; c < c1; ++c) {
          const float* xc = xn + c * H * W;
          pad_uk_(xc, H, W, ph, pw, PH, PW, plane.data(), pre ? pre_s_.data<float>() + c : nullptr,
                            pre ? pre_t_.data<float>() + c : nullptr);
          for (int64_t th = 0; th < TH; ++th) {
            const float* r0 = plane.data() + 2 * th * PW;
            const float* r1 = r0 + PW;
            const float* r2 = r1 + PW;
            const float* r3 = r2 + PW;
            // Where tile t of channel c lands in a point's plane.
            const int64_t kcb = std::min(KC, C_ - c / KC * KC);
            const int64_t cbase = transposed_ ? c / KC * KC * panels * mr + c % KC * mr : c * T;
            const int64_t pstride = vps;
            for (int64_t tw = 0; tw < TW; ++tw) {
              const int64_t q = 2 * tw;
              float t[4][4];
              for (int j = 0; j < 4; ++j) {  // B^T d: rows
                t[0][j] = r0[q + j] - r2[q + j];
                t[1][j] = r1[q + j] + r2[q + j];
                t[2][j] = r2[q + j] - r1[q + j];
                t[3][j] = r1[q + j] - r3[q + j];
              }
              const int64_t tt = th * TW + tw;
              float* vrow = vbuf + cbase + (transposed_ ? tt / mr * kcb * mr + tt % mr : tt);
              for (int i = 0; i < 4; ++i) {  // (B^T d) B: columns
                vrow[(i * 4 + 0) * pstride] = t[i][0] - t[i][2];
                vrow[(i * 4 + 1) * pstride] = t[i][1] + t[i][2];
                vrow[(i * 4 + 2) * pstride] = t[i][2] - t[i][1];
                vrow[(i * 4 + 3) * pstride] = t[i][1] - t[i][3];
              }
            }
          }
        }
      });
      // 2. One GEMM per point; points are independent, so threads take
      // whole points and nothing is packed twice.
      par(kPoints, [&](int64_t p0, int64_t p1, int) {
        for (int64_t xi = p0; xi < p1; ++xi) {
          kernels::GemmArgs a;
          a.ukernel = uk_;
          a.K = C_;
          const float* vx = vbuf + xi * vps;
          float* mx = mbuf + xi * OC_ * T;
          if (!transposed_) {  // M[oc][t] = U[oc][c] V[c][t]
            a.M = OC_;
            a.N = T;
            a.a_prepacked = up_[static_cast<size_t>(xi)].data<float>();
            a.B = vx;
            a.ldb = T;
            a.C = mx;
            a.ldc = T;
          } else {  // M^T[t][oc] = V^T[t][c] U^T[c][oc]
            a.M = T;
            a.N = OC_;
            a.a_prepacked = vx;
            a.b_prepacked = up_[static_cast<size_t>(xi)].data<float>();
            a.C = mx;
            a.ldc = OC_;
          }
          kernels::sgemm_isa(a, isa_);
        }
      });
      // 3. Output transform, bias and epilogue, by output channel.
      const int64_t s_oc = transposed_ ? 1 : T, s_t = transposed_ ? OC_ : 1, pstride = OC_ * T;
      const float* bias = b_.defined() && b_.numel() ? b_.data<float>() : nullptr;
      if (transposed_) {
        // M^T is [point][tile][oc]: 16 output channels of one tile are one
        // contiguous line per point, so a strip of 16 channels is
        // transformed together (vectorized across channels) and each point
        // plane is read in order. Channel by channel, each output read 16
        // lines 200 KB apart and the 784 lines of a channel's tiles did not
        // fit L1 (15% of the layer's time at 14x14).
        constexpr int64_t kStrip = 16;
        const int64_t strips = (OC_ + kStrip - 1) / kStrip;
        par(strips, [&](int64_t s0, int64_t s1, int) {
          for (int64_t st = s0; st < s1; ++st) {
            const int64_t o0 = st * kStrip, cnt = std::min(kStrip, OC_ - o0);
            float bs[kStrip] = {};
            for (int64_t c = 0; c < cnt; ++c) bs[c] = bias ? bias[o0 + c] : 0.f;
            for (int64_t th = 0; th < TH; ++th)
              for (int64_t tw = 0; tw < TW; ++tw) {
                const float* mp = mbuf + (th * TW + tw) * OC_ + o0;
                float m[16][kStrip];
                for (int xi = 0; xi < kPoints; ++xi)
                  for (int64_t c = 0; c < kStrip; ++c) m[xi][c] = c < cnt ? mp[xi * pstride + c] : 0.f;
                float yv[4][kStrip];
                for (int64_t c = 0; c < kStrip; ++c) {
                  float s0v[4], s1v[4];  // A^T m
                  for (int j = 0; j < 4; ++j) {
                    s0v[j] = m[0 * 4 + j][c] + m[1 * 4 + j][c] + m[2 * 4 + j][c];
                    s1v[j] = m[1 * 4 + j][c] - m[2 * 4 + j][c] - m[3 * 4 + j][c];
                  }
                  yv[0][c] = s0v[0] + s0v[1] + s0v[2] + bs[c];
                  yv[1][c] = s0v[1] - s0v[2] - s0v[3] + bs[c];
                  yv[2][c] = s1v[0] + s1v[1] + s1v[2] + bs[c];
                  yv[3][c] = s1v[1] - s1v[2] - s1v[3] + bs[c];
                }
                const int64_t oh = 2 * th, ow = 2 * tw;
                const bool right = ow + 1 < OW, down = oh + 1 < OH;
                for (int64_t c = 0; c < cnt; ++c) {
                  float* row0 = yn + (o0 + c) * OH * OW + oh * OW + ow;
                  row0[0] = yv[0][c];
                  if (right) row0[1] = yv[1][c];
                  if (down) {
                    row0[OW] = yv[2][c];
                    if (right) row0[OW + 1] = yv[3][c];
                  }
                }
              }
            if (!post_.empty()) apply_post_ops_rows(post_, k, yn, n, OC_, OH * OW, o0, o0 + cnt, 0, OH * OW, isa_);
          }
        });
        continue;
      }
      par(OC_, [&](int64_t o0, int64_t o1, int) {
        for (int64_t o = o0; o < o1; ++o) {
          const float bv = bias ? bias[o] : 0.f;
          float* yo = yn + o * OH * OW;
          for (int64_t th = 0; th < TH; ++th)
            for (int64_t tw = 0; tw < TW; ++tw) {
              const float* mp = mbuf + o * s_oc + (th * TW + tw) * s_t;
              float m[16];
              for (int xi = 0; xi < kPoints; ++xi) m[xi] = mp[xi * pstride];
              float s0[4], s1[4];  // A^T m
              for (int j = 0; j < 4; ++j) {
                s0[j] = m[0 * 4 + j] + m[1 * 4 + j] + m[2 * 4 + j];
                s1[j] = m[1 * 4 + j] - m[2 * 4 + j] - m[3 * 4 + j];
              }
              const float y00 = s0[0] + s0[1] + s0[2], y01 = s0[1] - s0[2] - s0[3];
              const float y10 = s1[0] + s1[1] + s1[2], y11 = s1[1] - s1[2] - s1[3];
              const int64_t oh = 2 * th, ow = 2 * tw;
              float* row0 = yo + oh * OW + ow;
              row0[0] = y00 + bv;
              if (ow + 1 < OW) row0[1] = y01 + bv;
              if (oh + 1 < OH) {
                row0[OW] = y10 + bv;
                if (ow + 1 < OW) row0[OW + 1] = y11 + bv;
              }
            }
        }
        if (!post_.empty()) apply_post_ops_rows(post_, k, yn, n, OC_, OH * OW, o0, o1, 0, OH * OW, isa_);
      });
    }
    return Status::ok();
  }

 private:
  Isa isa_;
  ThreadPool* pool_;
  kernels::PadPlaneUkernel pad_uk_ = kernels::pad_plane_ukernel_for(isa_);
  ops::WindowGeometry geo_;
  Tensor b_, pre_s_, pre_t_;
  std::vector<ops::PostOp> post_;
  int64_t OC_ = 0, C_ = 0;
  bool transposed_ = false;
  const kernels::GemmUkernelInfo* uk_ = nullptr;  // set with transposed_ in the constructor
  std::vector<Tensor> up_;  // per point: U packed for the chosen orientation
  std::vector<std::vector<float>> planes_;
};

// Conv 3x3, stride 1, as Winograd F(kM x kM, 3x3) with 16 tiles as the
// vector lanes (AVX-512), kM = 4 or 2:
// - F(4x4, 3x3): each 6x6 input tile becomes 36 points and gives 4x4
//   outputs, 36 multiplies per 16 outputs and channel pair where F(2x2, 3x3)
//   needs 64 and direct 144. Its transforms scale by up to 8 (A^T) and 1/24
//   (G), so the result is further from the direct sum than F(2x2, 3x3)'s:
//   within 1e-3 of the output scale (tests hold it to 1e-4).
// - F(2x2, 3x3) here for maps with too few 4x4 tiles: at 7x7, 16 2x2 tiles
//   fill the 16-wide GEMM tile exactly (the F(2x2, 3x3) kernel above runs
//   tiles as rows of the 7x32 tile there and filled 16 of 21).
// The product runs tiles as GEMM columns, 16 at a time, one 16x16 tile per
// (16 output channels, 16 tiles). The transforms work on the same
// 16 tiles as vector lanes (kernels/winograd.h), so V is written straight
// into the packed B panels and M is read a contiguous row per point.
// Output channels go in blocks of kOcBlock: a block's 36 point products
// land in a per-thread M of 36 x 32 x 16 floats (74 KB at 14x14, in L2),
// and its output transform follows at once, while V (36 x C x 16 floats,
// 590 KB at 256 channels) stays in L2 for every block.
template <int kM>
class ConvWinogradLanes final : public OpKernel {
 public:
  static constexpr int kA = kM + 2, kPts = kA * kA;
  static constexpr int64_t kOcBlock = 32;

  ConvWinogradLanes(const KernelConfig& cfg, const kernels::GemmUkernelInfo& uk, ops::WindowGeometry geo,
                   const Tensor& w, Tensor b, std::vector<ops::PostOp> post)
      : pool_(cfg.pool), uk_(&uk), geo_(std::move(geo)), b_(std::move(b)), post_(std::move(post)) {
    // A lone ReLU/Clip (conv + BN + ReLU: most of ResNet's 3x3s) is applied
    // by the output transform before its stores; as a pass of its own
    // (apply_post_ops_block) it read and wrote every output once more, a
    // fork-join of its own on large maps.
    clamp_fused_ = ops::lone_clamp(post_, clamp_);
    if (clamp_fused_) post_.clear();
    OC_ = w.dim(0);
    C_ = w.dim(1);
    const int64_t oc_panels = (OC_ + 15) / 16;
    if (adopt_prepacked(cfg, {kPts * oc_panels * 16 * C_}, up_)) return;
    // U = G g G^T per (oc, c), in double then rounded once, for the 16
    // output channels of a panel at a time (its lanes), written straight
    // into the stream products_and_output reads (panel_offset): each
    // (panel, input channel) is one 16-float row of every point's panel,
    // zero past OC. Computed into a [point][oc][c] array and repacked, each
    // pair's 36 stores landed 256 KB apart (3x3 256) and the array was
    // another 9.4 MB to fault in: about a quarter of compiling a model of
    // 256-channel 3x3s (LResNet100E-IR, perf).
    auto G = [](int i, int j) { return kM == 4 ? kernels::kWinoF4G[i][j] : kernels::kWinoF2G[i][j]; };
    Tensor us = tensor_for_overwrite(DType::kF32, Shape{kPts * oc_panels * 16 * C_});
    float* dst = us.data<float>();
    const float* wd = w.data<float>();
    const int64_t KC = kernels::gemm_kc();
    for (int64_t p = 0; p < oc_panels; ++p) {
      const int64_t blk = p * 16 / kOcBlock;
      const int64_t p0 = blk * kOcBlock / 16, p1 = std::min(oc_panels, (blk + 1) * kOcBlock / 16);
      const int64_t lanes = std::min<int64_t>(16, OC_ - p * 16);
      for (int64_t c = 0; c < C_; ++c) {
        double g[9][16], t[kA][3][16];
        for (int e = 0; e < 9; ++e)
          for (int64_t i = 0; i < 16; ++i) g[e][i] = i < lanes ? wd[((p * 16 + i) * C_ + c) * 9 + e] : 0.0;
        for (int a = 0; a < kA; ++a)
          for (int j = 0; j < 3; ++j)
            for (int64_t i = 0; i < 16; ++i)
              t[a][j][i] = G(a, 0) * g[0 * 3 + j][i] + G(a, 1) * g[1 * 3 + j][i] + G(a, 2) * g[2 * 3 + j][i];
        for (int a = 0; a < kA; ++a)
          for (int b = 0; b < kA; ++b) {
            float* d = dst + panel_offset(a * kA + b, p0, p1, p, c / KC) + (c % KC) * 16;
            for (int64_t i = 0; i < 16; ++i)
              d[i] = static_cast<float>(t[a][0][i] * G(b, 0) + t[a][1][i] * G(b, 1) + t[a][2][i] * G(b, 2));
          }
      }
    }
    up_.push_back(std::move(us));
  }

  void set_pre_scale_shift(Tensor s, Tensor t) {
    pre_s_ = std::move(s);
    pre_t_ = std::move(t);
  }

  std::vector<Tensor> packed() const override { return up_; }

  std::string name() const override {
    return std::string(kM == 4 ? "conv2d_winograd_f4x3:" : "conv2d_winograd_f2x3_lanes:") + uk_->name;
  }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t N = x.dim(0), H = x.dim(2), W = x.dim(3), OH = y.dim(2), OW = y.dim(3);
    const int64_t TH = (OH + kM - 1) / kM, TW = (OW + kM - 1) / kM, T = TH * TW, G = (T + 15) / 16;
    const int64_t PH = kM * TH + 2, PW = kM * TW + 2, plane_size = PH * PW;
    tiles_ = T;
    const int64_t ph = geo_.pad_begin[0], pw = geo_.pad_begin[1];
    const int threads = pool_ ? pool_->threads() : 1;
    const bool pre = pre_s_.defined() && pre_s_.numel() > 0;
    // Where each group's 16 tiles start in the padded plane (only a pre-op
    // pads: see `direct` below) and in the output, and which of their
    // outputs exist. Lanes past T read the plane's corner and store nothing.
    in_off_.assign(pre ? static_cast<size_t>(G * 16) : 0, 0);
    out_off_.assign(static_cast<size_t>(G * 16), 0);
    masks_.assign(static_cast<size_t>(G * 16), 0);  // kM * kM <= 16 per group
    for (int64_t t = 0; t < T; ++t) {
      const int64_t th = t / TW, tw = t % TW;
      if (pre) in_off_[static_cast<size_t>(t)] = static_cast<int32_t>(kM * th * PW + kM * tw);
      out_off_[static_cast<size_t>(t)] = static_cast<int32_t>(kM * th * OW + kM * tw);
      for (int i = 0; i < kM; ++i)
        for (int j = 0; j < kM; ++j)
          if (kM * th + i < OH && kM * tw + j < OW)
            masks_[static_cast<size_t>(t / 16 * 16 + i * kM + j)] |= uint16_t(1u << (t % 16));
    }
    // Without an input pre-op the transforms read the unpadded image
    // itself: tile t's window starts at image row kM th - ph, column
    // kM tw - pw, and row k's mask keeps the window's columns inside the
    // image (none for a row outside it; none at all for lanes past T).
    // The padded copy was a pass of its own over the input: at 2 threads
    // (each thread padding the band its groups read) it took 2-2.7x the
    // core time it did at 1 (3x3 64@56, perf), as did the stores around it.
    const bool direct = !pre;
    if (direct) {
      dir_off_.assign(static_cast<size_t>(G * 16), 0);
      dir_mask_.assign(static_cast<size_t>(G * kA * 16), 0);
      for (int64_t t = 0; t < T; ++t) {
        const int64_t r0 = kM * (t / TW) - ph, c0 = kM * (t % TW) - pw;
        dir_off_[static_cast<size_t>(t)] = static_cast<int32_t>(r0 * W + c0);
        uint8_t cols = 0;
        for (int j = 0; j < kA; ++j)
          if (c0 + j >= 0 && c0 + j < W) cols = static_cast<uint8_t>(cols | (1u << j));
        for (int k = 0; k < kA; ++k)
          if (r0 + k >= 0 && r0 + k < H) dir_mask_[static_cast<size_t>((t / 16 * kA + k) * 16 + t % 16)] = cols;
      }
    }
    // Large maps (many groups: 56x56 has 13 at F(4x4)) go a group of tiles
    // at a time, each thread its own groups: the group's V (36 x C x 16) and
    // a block's M stay in L2, where all of V (1.9 MB at 64 channels) and M
    // (0.9 MB a block) would not. Few groups (14x14 has one): one V shared
    // by all threads, which split the output-channel blocks.
    const bool by_group = G >= 2 * threads;
    const int64_t blocks = (OC_ + kOcBlock - 1) / kOcBlock;
    // The 2-thread layouts below (bands: by group; own_v: one group) pad
    // into per-thread buffers and need neither shared buffer.
    const bool bands = by_group && threads > 1, own_v = !by_group && threads == 2 && blocks >= threads;
    // Scratch shared by every such layer the calling thread runs (see
    // ConvWinogradF2x3::run); per-thread V and M for the pool's threads.
    thread_local std::vector<float> padded, v_shared;
    if (!bands && !own_v && !direct) padded.resize(static_cast<size_t>(C_ * plane_size));
    float* const pbuf = padded.data();
    const int64_t vps_shared = point_stride(C_ * G * 16);
    if (!by_group && !own_v) v_shared.resize(static_cast<size_t>(kPts * vps_shared));
    float* const vsh = v_shared.data();
    vbufs_.resize(static_cast<size_t>(threads));
    planes_.resize(static_cast<size_t>(threads));
    mbufs_.resize(static_cast<size_t>(threads));
    auto par = [&](int64_t n, FunctionRef<void(int64_t, int64_t, int)> fn) {
      if (pool_ && threads > 1 && n > 1) {
        pool_->parallel_for_balanced(n, pool_->grain_for(n), fn);
        equalize_capacity(vbufs_);
        equalize_capacity(planes_);
        equalize_capacity(mbufs_);
      } else {
        fn(0, n, 0);
      }
    };
    const float* bias = b_.defined() && b_.numel() ? b_.data<float>() : nullptr;
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = x.data<float>() + n * C_ * H * W;
      float* yn = y.data<float>() + n * OC_ * OH * OW;
      // 1. Every channel into its zero-padded plane (with the pre-op); with
      // one shared V, each channel's input transform right after its copy,
      // in the same parallel region: one fork-join less per layer, and the
      // plane is transformed while in L1 (level within this host's noise in
      // bench_conv_layers at 2 threads).
      // Rows [r0, r1) of channel c's zero-padded plane into `plane` (its
      // row 0 at plane[0]); pad(c): all of it into the shared buffer.
      auto pad_rows = [&](int64_t c, float* plane, int64_t r0, int64_t r1) {
        pad_uk_(xn + c * H * W, H, W, ph - r0, pw, r1 - r0, PW, plane + r0 * PW,
                pre ? pre_s_.data<float>() + c : nullptr, pre ? pre_t_.data<float>() + c : nullptr);
      };
      auto pad = [&](int64_t c) { pad_rows(c, pbuf + c * plane_size, 0, PH); };
      // By group on 2+ threads: each thread pads, for every channel, only
      // the band of rows its own groups' windows read, into a buffer of its
      // own, then runs those groups, in one parallel region. The channels
      // split between the threads for the copy made each group's transform
      // read half its planes from the other core; the band is mostly the
      // rows the thread itself wrote as the previous layer's pixel tiles
      // (ResNet-101 224, 2 threads, 8 alternated rounds: layer1's 3x3s after
      // a broadcast-tile 1x1 0.86-0.90x, layer2's 0.93-0.96x, 6-8 of 8).
      if (bands) {
        par(threads, [&](int64_t t0, int64_t t1, int tid) {
          const int64_t g0 = G * t0 / threads, g1 = G * t1 / threads;
          std::vector<float>& vb = vbufs_[static_cast<size_t>(tid)];
          vb.resize(static_cast<size_t>(kPts * point_stride(C_ * 16)));
          const float* src = xn;
          int64_t src_plane = H * W, src_w = W;
          if (!direct) {
            std::vector<float>& pl = planes_[static_cast<size_t>(tid)];
            pl.resize(static_cast<size_t>(C_ * plane_size));
            // The padded rows these groups' windows read: from the first
            // tile row's top to the last one's bottom.
            const int64_t a = kM * (g0 * 16 / TW), b = std::min(PH, kM * ((std::min(T, g1 * 16) - 1) / TW) + kA);
            for (int64_t c = 0; c < C_; ++c) pad_rows(c, pl.data() + c * plane_size, a, b);
            src = pl.data();
            src_plane = plane_size;
            src_w = PW;
          }
          for (int64_t g = g0; g < g1; ++g) {
            transform_input(src, src_plane, src_w, 0, C_, g, 1, vb.data(), direct);
            for (int64_t blk = 0; blk < blocks; ++blk) products_and_output(blk, g, 1, vb.data(), tid, bias, yn, OW, OH);
          }
        });
        if (!post_.empty())
          par(OC_, [&](int64_t o0, int64_t o1, int) {
            apply_post_ops_rows(post_, k, yn, n, OC_, OH * OW, o0, o1, 0, OH * OW, isa_);
          });
        continue;
      }
      if (by_group) {
        if (!direct)
          par(C_, [&](int64_t c0, int64_t c1, int) {
            for (int64_t c = c0; c < c1; ++c) pad(c);
          });
        par(G, [&](int64_t g0, int64_t g1, int tid) {
          std::vector<float>& vb = vbufs_[static_cast<size_t>(tid)];
          vb.resize(static_cast<size_t>(kPts * point_stride(C_ * 16)));
          for (int64_t g = g0; g < g1; ++g) {
            if (direct) transform_input(xn, H * W, W, 0, C_, g, 1, vb.data(), true);
            else transform_input(pbuf, plane_size, PW, 0, C_, g, 1, vb.data(), false);
            for (int64_t blk = 0; blk < blocks; ++blk) products_and_output(blk, g, 1, vb.data(), tid, bias, yn, OW, OH);
          }
        });
        if (!post_.empty())
          par(OC_, [&](int64_t o0, int64_t o1, int) {
            apply_post_ops_rows(post_, k, yn, n, OC_, OH * OW, o0, o1, 0, OH * OW, isa_);
          });
        continue;
      }
      // Two threads: each pads and transforms every channel into a V of its
      // own, then runs its share of the output-channel blocks, in one
      // parallel region. With V shared, each thread's transform stores hit
      // lines the other core held from the last layer's products (every
      // thread reads all of V), and the transform phase took 70 us at 2
      // threads against 38 us for the whole of it at 1 (3x3 256@14); done
      // twice it costs one thread's time and nothing crosses cores. In-model
      // (bench/ab_model.py, 2 threads): ResNet-101 224's layer3 3x3s 0.964x
      // (5/8 rounds; untouched layer1 3x3s 1.013x), 112's Winograd nodes
      // 0.897-0.912x. At 1 thread the same single-plane path ran 1.06x
      // slower than the shared padded buffer, and with more threads the
      // repeated transforms would outgrow the products' shares: untested
      // here, so they keep the shared V.
      if (own_v) {
        par(threads, [&](int64_t t0, int64_t t1, int tid) {
          std::vector<float>& vb = vbufs_[static_cast<size_t>(tid)];
          vb.resize(static_cast<size_t>(kPts * vps_shared));
          if (direct) {
            transform_input(xn, H * W, W, 0, C_, 0, G, vb.data(), true);
          } else {
            std::vector<float>& pl = planes_[static_cast<size_t>(tid)];
            pl.resize(static_cast<size_t>(plane_size));
            for (int64_t c = 0; c < C_; ++c) {
              pad_rows(c, pl.data(), 0, PH);
              transform_input(pl.data(), 0, PW, c, c + 1, 0, G, vb.data(), false);
            }
          }
          for (int64_t blk = blocks * t0 / threads; blk < blocks * t1 / threads; ++blk) {
            products_and_output(blk, 0, G, vb.data(), tid, bias, yn, OW, OH);
            const int64_t o0 = blk * kOcBlock, o1 = std::min(OC_, o0 + kOcBlock);
            if (!post_.empty()) apply_post_ops_rows(post_, k, yn, n, OC_, OH * OW, o0, o1, 0, OH * OW, isa_);
          }
        });
        continue;
      }
      par(C_, [&](int64_t c0, int64_t c1, int) {
        if (direct) {
          transform_input(xn, H * W, W, c0, c1, 0, G, vsh, true);
          return;
        }
        for (int64_t c = c0; c < c1; ++c) {
          pad(c);
          transform_input(pbuf, plane_size, PW, c, c + 1, 0, G, vsh, false);
        }
      });
      par(blocks, [&](int64_t b0, int64_t b1, int tid) {
        for (int64_t blk = b0; blk < b1; ++blk) {
          products_and_output(blk, 0, G, vsh, tid, bias, yn, OW, OH);
          const int64_t o0 = blk * kOcBlock, o1 = std::min(OC_, o0 + kOcBlock);
          if (!post_.empty()) apply_post_ops_rows(post_, k, yn, n, OC_, OH * OW, o0, o1, 0, OH * OW, isa_);
        }
      });
    }
    return Status::ok();
  }

 private:
  static constexpr kernels::WinogradInputUkernel kInUk =
      kM == 4 ? kernels::f32_winograd_f4x3_input_ukernel_36x16__avx512 : kernels::f32_winograd_f2x3_input_ukernel_16x16__avx512;
  static constexpr kernels::WinogradInputDirectUkernel kInDirectUk =
      kM == 4 ? kernels::f32_winograd_f4x3_input_direct_ukernel_36x16__avx512
              : kernels::f32_winograd_f2x3_input_direct_ukernel_16x16__avx512;
  static constexpr kernels::WinogradOutputUkernel kOutUk =
      kM == 4 ? kernels::f32_winograd_f4x3_output_ukernel_36x16__avx512 : kernels::f32_winograd_f2x3_output_ukernel_16x16__avx512;

  // Floats from one point's V (or M) to the next's: n, plus one cache
  // line. Unpadded, n is a power of two of 4-32 KB (channels x 16 tiles x
  // 4 bytes), so the 36 lines a channel's input transform stores (one per
  // point), and the 36 an output transform reads, all fell in the same L1
  // set (12 ways) and kept evicting each other: the transform of ResNet's
  // 3x3 256@14 took 64 us of its 0.52 ms at 1 thread (pad and transform
  // 86 -> 41 us with the line), and more at 2 threads (113 -> 70 us).
  static constexpr int64_t point_stride(int64_t n) { return n + 16; }
  // At 2 threads with one group of tiles (14x14 at F(4x4), 7x7 at F(2x2))
  // each thread transforms every input channel, half of them written by
  // the other core, and writes output planes the other core last read: in
  // perf the input transform took 3.1x its 1-thread time per channel and
  // the output transform 2.6x (3x3 256@14, weights from memory). Planes of
  // at most kPrefetchPlaneBytes are fetched kPlaneAhead channels ahead
  // (outputs with write intent): ResNet-101's Winograd nodes at 2 threads
  // 0.973x and 0.993x at 224 (6 of 8, 7 of 10 alternated rounds), 0.991x and
  // 0.977x at 112 (5 of 8, 8 of 10); at 1 thread, where the lines are the
  // core's own, 1.014x and 0.988x, so only at 2+.
  static constexpr int64_t kPlaneAhead = 2, kPrefetchPlaneBytes = 4096;

  // Channels [c0, c1) of tile groups [g0, g0 + ng) into v, the packed B of
  // those groups' ng * 16 columns: per KC block of channels, per group, kc
  // rows of 16. pbuf: the zero-padded planes (plane_size floats apart, rows
  // PW), or with `direct` the image's own (H W apart, rows W).
  void transform_input(const float* pbuf, int64_t plane_size, int64_t PW, int64_t c0, int64_t c1, int64_t g0,
                       int64_t ng, float* v, bool direct) const {
    const int64_t KC = kernels::gemm_kc(), Tv = ng * 16, vps = point_stride(C_ * Tv);
    // At 2+ threads, small images read whole (every group at once: 14x14,
    // 7x7): the plane kPlaneAhead channels on is fetched meanwhile (see
    // kPlaneAhead).
    const int64_t plane_bytes = plane_size * static_cast<int64_t>(sizeof(float));
    const bool ahead = direct && pool_ && pool_->threads() > 1 && g0 == 0 && ng * 16 >= tiles_ &&
                       plane_bytes <= kPrefetchPlaneBytes;
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t kb0 = c / KC * KC, kcb = std::min(KC, C_ - kb0);
      if (ahead && c + kPlaneAhead < c1)
        for (int64_t off = 0; off < plane_bytes; off += 64)
          _mm_prefetch(reinterpret_cast<const char*>(pbuf + (c + kPlaneAhead) * plane_size) + off, _MM_HINT_T0);
      for (int64_t g = 0; g < ng; ++g)
        if (direct)
          kInDirectUk(pbuf + c * plane_size, PW, dir_off_.data() + (g0 + g) * 16,
                      dir_mask_.data() + (g0 + g) * kA * 16, v + kb0 * Tv + g * kcb * 16 + (c - kb0) * 16, vps);
        else
          kInUk(pbuf + c * plane_size, PW, in_off_.data() + (g0 + g) * 16, v + kb0 * Tv + g * kcb * 16 + (c - kb0) * 16,
                vps);
    }
  }

  // Output-channel block blk over tile groups [g0, g0 + ng) (V from
  // transform_input): its kPts point products into the thread's M, then
  // the output transform with bias.
  void products_and_output(int64_t blk, int64_t g0, int64_t ng, const float* v, int tid, const float* bias, float* yn,
                           int64_t OW, int64_t OH) {
    const int64_t KC = kernels::gemm_kc(), Tv = ng * 16, vps = point_stride(C_ * Tv);
    const int64_t kblocks = (C_ + KC - 1) / KC;
    std::vector<float>& mb = mbufs_[static_cast<size_t>(tid)];
    const int64_t mstride = point_stride(kOcBlock * Tv);
    mb.resize(std::max(mb.size(), static_cast<size_t>(kPts * mstride)));
    float* const mbuf = mb.data();
    const int64_t o0 = blk * kOcBlock, o1 = std::min(OC_, o0 + kOcBlock);
    const int64_t p0 = o0 / 16, p1 = (o1 + 15) / 16, per_pt = (p1 - p0) * kblocks, steps = kPts * per_pt;
    // Step s = (point, panel, K block) of this block. Each weight panel is
    // used by ng calls: they prefetch the panel two steps ahead, a share
    // each (the panels come from memory or L3).
    auto panel = [&](int64_t s, int64_t& xi, int64_t& p, int64_t& kb, int64_t& kcb) {
      xi = s / per_pt;
      const int64_t r = s % per_pt;
      p = p0 + r / kblocks;
      kb = r % kblocks;
      kcb = std::min(KC, C_ - kb * KC);
      return up_[0].data<float>() + panel_offset(xi, p0, p1, p, kb);
    };
    for (int64_t s = 0; s < steps; ++s) {
      int64_t xi, p, kb, kcb, axi, ap, akb, akcb = 0;
      const float* a = panel(s, xi, p, kb, kcb);
      const float* ahead = s + 2 < steps ? panel(s + 2, axi, ap, akb, akcb) : nullptr;
      const int64_t total = akcb, lines = ahead ? (total + ng - 1) / ng : 0;  // 16 floats = one line per k row
      const float* vb = v + xi * vps + kb * KC * Tv;
      float* mrow = mbuf + xi * mstride + (p * 16 - o0) * Tv;
      for (int64_t g = 0; g < ng; ++g) {
        const char* pf = ahead ? reinterpret_cast<const char*>(ahead) + g * lines * 64 : nullptr;
        const int64_t pfl = std::max<int64_t>(0, std::min(lines, total - g * lines));
        const int64_t mr = std::min<int64_t>(16, OC_ - p * 16);
        // The image's last group with at most 8 tiles (28x28 at F(4x4): 49
        // tiles, 1 in the last group) takes the GEMM tile's half-cost twin;
        // M's other lanes are never stored by the output transform.
        const int64_t used = std::min<int64_t>(16, tiles_ - (g0 + g) * 16);
        if (uk_->fn_narrow && used <= uk_->narrow_nr)
          uk_->fn_narrow(kcb, a, vb + g * kcb * 16, 16, mrow + g * 16, Tv, mr, used, kb > 0, nullptr, nullptr, 0,
                         nullptr, pf, pfl);
        else
          uk_->fn(kcb, a, vb + g * kcb * 16, mrow + g * 16, Tv, mr, 16, kb > 0, pf, pfl);
      }
    }
    // At 2+ threads, small maps' output planes kPlaneAhead channels on, for
    // writing (see kPlaneAhead).
    const int64_t out_bytes = OH * OW * static_cast<int64_t>(sizeof(float));
    const bool ahead = pool_ && pool_->threads() > 1 && g0 == 0 && ng * 16 >= tiles_ && out_bytes <= kPrefetchPlaneBytes;
    for (int64_t o = o0; o < o1; ++o) {
      if (ahead && o + kPlaneAhead < o1)
        for (int64_t off = 0; off < out_bytes; off += 64)
          _mm_prefetch(reinterpret_cast<const char*>(yn + (o + kPlaneAhead) * OH * OW) + off, _MM_HINT_ET0);
      for (int64_t g = 0; g < ng; ++g)
        kOutUk(mbuf + (o - o0) * Tv + g * 16, mstride, bias ? bias[o] : 0.f, yn + o * OH * OW, OW,
               out_off_.data() + (g0 + g) * 16, masks_.data() + (g0 + g) * 16, clamp_fused_ ? clamp_ : nullptr);
    }
  }

  // Where weight panel (point xi, 16 output channels p, K block kb) of the
  // block of panels [p0, p1) starts in up_[0]: blocks in order, within a
  // block point by point, panel by panel, K block by K block; the order
  // products_and_output runs its steps in. Each thread reads its blocks as
  // one sequential stream (9.4 MB a layer at 256 channels, F(4x4), batch 1:
  // every weight is used for one 16-tile product and comes from memory),
  // where one array per point made 36 streams jumping between arrays.
  int64_t panel_offset(int64_t xi, int64_t p0, int64_t p1, int64_t p, int64_t kb) const {
    return (p0 * kPts + xi * (p1 - p0) + (p - p0)) * 16 * C_ + kb * kernels::gemm_kc() * 16;
  }

  ThreadPool* pool_;
  const Isa isa_ = Isa::kAvx512;  // the class needs AVX-512
  kernels::PadPlaneUkernel pad_uk_ = kernels::pad_plane_ukernel_for(isa_);
  const kernels::GemmUkernelInfo* uk_;
  ops::WindowGeometry geo_;
  Tensor b_, pre_s_, pre_t_;
  std::vector<ops::PostOp> post_;  // empty when clamp_ applies the only one
  float clamp_[2] = {0.f, 0.f};
  bool clamp_fused_ = false;
  int64_t OC_ = 0, C_ = 0;
  std::vector<Tensor> up_;  // one tensor: U packed as the GEMM's A panels, in stream order (panel_offset)
  std::vector<int32_t> in_off_, out_off_;
  std::vector<uint16_t> masks_;
  std::vector<int32_t> dir_off_;  // the direct form's windows (run)
  std::vector<uint8_t> dir_mask_;
  int64_t tiles_ = 0;  // of the image being run
  std::vector<std::vector<float>> vbufs_, mbufs_, planes_;
};

template <int kM>  // 4 or 2: ConvWinogradLanes; 0: ConvWinogradF2x3
Result<std::unique_ptr<OpKernel>> create_winograd(const Graph& g, const Node& n, const KernelConfig& cfg) {
  if (!cfg.winograd) return unsupported("Winograd is off (exact mode)");
  const Value& x = g.value(n.inputs[0]);
  const Value& w = g.value(n.inputs[1]);
  if (x.dtype != DType::kF32) return unsupported("input dtype is " + std::string(dtype_name(x.dtype)) + ", not f32");
  if (x.shape.rank() != 4 || w.shape.rank() != 4) return unsupported("not a 2-D convolution");
  if (!w.constant) return unsupported("weights are computed at run time");
  if (w.shape[2] != 3 || w.shape[3] != 3) return unsupported("kernel is not 3x3");
  int64_t group = 1;
  ANVIL_TRY(n.attrs.get("group", group));
  if (group != 1) return unsupported("grouped");
  Tensor pre_s, pre_t;
  if (n.op == "FusedConv" && ops::has_pre_scale_shift(n.attrs)) {
    const auto& s = g.value(n.inputs[3]).constant;
    const auto& t = g.value(n.inputs[4]).constant;
    if (!s || !t) return unsupported("pre-op scale/shift computed at run time");
    pre_s = *s;
    pre_t = *t;
  }
  const bool has_bias = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
  if (has_bias && !g.value(n.inputs[2]).constant) return unsupported("bias is computed at run time");
  ops::WindowGeometry geo;
  ANVIL_TRY(ops::resolve_window({x.shape[2], x.shape[3]}, {3, 3}, n.attrs, false, geo));
  if (geo.strides[0] != 1 || geo.strides[1] != 1) return unsupported("stride is not 1");
  if (geo.dilations[0] != 1 || geo.dilations[1] != 1) return unsupported("dilated");
  // Where it wins, measured with bench/bench_conv_layers on Zen 4 (AVX2):
  // 128 and 256 channels at 28x28 and 14x14 outputs, 1.3-1.6x the direct
  // kernel. Narrow layers (64 channels at 56x56): the transforms, O(C + OC)
  // per tile, outweigh the saved O(C * OC) multiplies; few tiles (7x7 and
  // 4x4 outputs): overhang and 16/9 more weight bytes to stream. The
  // tests lower both limits (set_winograd_limits) to reach odd shapes.
  const int64_t C = x.shape[1], OC = w.shape[0];
  const Shape& ys = g.value(n.outputs[0]).shape;
  const int64_t tiles = ((ys[2] + 1) / 2) * ((ys[3] + 1) / 2);
  const int64_t min_channels = kM ? cfg.winograd_lanes_min_channels : cfg.winograd_min_channels;
  if (C < min_channels || OC < min_channels)
    return unsupported("fewer than " + std::to_string(min_channels) + " input or output channels");
  const kernels::GemmUkernelInfo* uk16 = nullptr;
  if (kM) {
    // Tiles as vector lanes: where the layer has at least a group of 16
    // tiles of this size (F(4x4): 14x14 and up; F(2x2): 7x7 to 13x13, as
    // F(4x4) takes the larger maps first). Fewer would leave the 16-wide
    // GEMM tile part empty while the weights (kM + 2)^2 / 9 times direct's
    // bytes still stream.
    if (cfg.isa < Isa::kAvx512) return unsupported("needs AVX-512 (ISA is " + std::string(isa_name(cfg.isa)) + ")");
    const int64_t tiles_m = ((ys[2] + kM - 1) / kM) * ((ys[3] + kM - 1) / kM);
    if (tiles_m < cfg.winograd_lanes_min_tiles)
      return unsupported(std::to_string(tiles_m) + " output tiles of " + std::to_string(kM) + "x" + std::to_string(kM) +
                         ", fewer than " + std::to_string(cfg.winograd_lanes_min_tiles));
    for (const kernels::GemmUkernelInfo* u : kernels::gemm_ukernels(Isa::kAvx512))
      if (u->mr == 16 && u->nr == 16) uk16 = u;
    if (!uk16) return unsupported("no 16x16 GEMM microkernel");
  } else if (tiles < cfg.winograd_min_tiles) {
    return unsupported(std::to_string(tiles) + " output tiles, fewer than " + std::to_string(cfg.winograd_min_tiles));
  }
  std::vector<ops::PostOp> post;
  if (n.op == "FusedConv") ANVIL_TRY(ops::parse_post_ops(n.attrs, ops::fused_conv_own_inputs(n.attrs), post));
  Tensor b = has_bias ? *g.value(n.inputs[2]).constant : Tensor();
  if (kM) {
    auto k = std::make_unique<ConvWinogradLanes<kM == 4 ? 4 : 2>>(cfg, *uk16, std::move(geo), *w.constant, std::move(b), std::move(post));
    k->set_pre_scale_shift(std::move(pre_s), std::move(pre_t));
    return std::unique_ptr<OpKernel>(std::move(k));
  }
  auto k = std::make_unique<ConvWinogradF2x3>(cfg, std::move(geo), *w.constant, std::move(b), std::move(post), tiles);
  k->set_pre_scale_shift(std::move(pre_s), std::move(pre_t));
  return std::unique_ptr<OpKernel>(std::move(k));
}

}  // namespace

std::vector<KernelFactory> winograd_kernel_factories() {
  return {{"conv2d_winograd_f4x3", "Conv", create_winograd<4>},
          {"conv2d_winograd_f4x3", "FusedConv", create_winograd<4>},
          {"conv2d_winograd_f2x3_lanes", "Conv", create_winograd<2>},
          {"conv2d_winograd_f2x3_lanes", "FusedConv", create_winograd<2>},
          {"conv2d_winograd_f2x3", "Conv", create_winograd<0>},
          {"conv2d_winograd_f2x3", "FusedConv", create_winograd<0>}};
}

}  // namespace anvil

// Conv 2-D as an implicit GEMM (NCHW): the packed GEMM driver asks for its
// operand panels and this kernel writes them straight from the input image
// (im2col without the matrix), then applies bias and the fused epilogue to
// each block of output the moment it is final, while it is in cache.
//   C[OC x P] = W[OC x C*KH*KW] * X[C*KH*KW x P]   (P = output pixels)
// With few pixels per image (late ResNet stages: 7x7, 4x4) the transposed
// product C^T = X^T W^T fills the register tile better; its blocks are
// transposed into the output by the same block callback.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/tensor_alloc.h"
#include "core/thread_pool.h"
#include "kernels/copy.h"
#include "kernels/conv_bcast.h"
#include "kernels/gemm.h"
#include "kernels/transpose.h"
#include "ops/op_util.h"
#include "ops/post_ops.h"
#include "runtime/kernel_registry.h"
#include "runtime/per_thread.h"
#include "runtime/post_ops_rows.h"

namespace anvil {

namespace {

struct ConvGeo {
  int64_t Cg, H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, P, K;
  int64_t PH, PW;  // the zero-padded planes the transposed product gathers from
};

class ConvImplicitGemm final : public OpKernel {
 public:
  ConvImplicitGemm(const KernelConfig& cfg, int64_t group, ops::WindowGeometry geo, Tensor weights, Tensor bias,
                   std::vector<ops::PostOp> post)
      : isa_(cfg.isa), tr_uk_(kernels::transpose_epilogue_ukernel_for(cfg.isa)), pool_(cfg.pool), group_(group),
        geo_(std::move(geo)), w_(std::move(weights)),
        b_(std::move(bias)), post_(std::move(post)), register_epilogue_(fits_register_epilogue(post_)) {
    if (register_epilogue_)
      for (const ops::PostOp& op : post_) {
        if (op.kind == ops::PostOpKind::kSum) {
          sum_input_ = op.input;
        } else {
          epi_.clamp = true;
          epi_.lo = op.kind == ops::PostOpKind::kClip ? op.alpha : 0.f;
          epi_.hi = op.kind == ops::PostOpKind::kClip ? op.beta : std::numeric_limits<float>::infinity();
        }
      }
  }

  std::vector<Tensor> packed() const override { return wp_; }

  // The residual is read in the microkernel's epilogue, element by element
  // before the store of the same element, when the whole reduction is one
  // pass: the broadcast tiles always; the direct GEMM when K fits one KC
  // block and the tile applies the epilogue itself (else the raw product
  // is stored first and the residual added after: it would be gone).
  int in_place_input() const override {
    if (!register_epilogue_ || sum_input_ < 0 || group_ != 1 || indirect_) return -1;
    if (bcast_) return sum_input_;
    const int64_t K = w_.numel() / w_.dim(0);
    if (transposed_ || !uk_ || K > kernels::gemm_kc()) return -1;
    // Packed B goes through fn_epi, or through fn with the epilogue after
    // the store (the residual would be gone): only tiles with fn_epi. B read
    // in place goes through fn_ldb, which always applies the epilogue.
    return uk_->fn_epi ? sum_input_ : -1;
  }

  std::string name() const override {
    if (indirect_) return "conv2d_indirect_gemm:f32_igemm_minmax_ukernel_16x16__avx512";
    if (bcast_)
      return bcast_s1_ ? "conv2d_1x1_bcast:f32_conv_s1_minmax_ukernel_14x32__avx512"
                       : "conv2d_bcast_s2:f32_conv_s2_minmax_ukernel_14x32__avx512";
    return std::string(is_pointwise() ? "conv2d_1x1_gemm" : "conv2d_implicit_gemm") + (transposed_ ? "_t:" : ":") +
           uk_->name;
  }

  // Stride-1 convs whose output rows are at least one tile wide and whose
  // epilogue fits the registers read the padded image in place
  // (run_indirect) instead of packing im2col panels.
  // Stride 2 stays with packing from the phase planes: read in place the
  // same way, MobileNetV2's 3x3/2 stem (3 channels) ran 1.5x slower (0.99
  // vs 0.66 ms, alternated runs) and ResNet's stems were level at best.
  void plan_indirect(int64_t out_w) {
    indirect_ = !transposed_ && !is_pointwise() && geo_.strides[0] == 1 && geo_.strides[1] == 1 &&
                register_epilogue_ && uk_->fn_ind && uk_->nr == 16 && out_w >= 14;
  }

  // Stride-2 convs (ResNet's 3x3/2 and 1x1/2) whose output rows hold at
  // least one 14-pixel tile, and 1x1 stride-1 convs on maps of a multiple
  // of 14 pixels (56x56, 28x28, 14x14) with 128 or more input channels:
  // run_bcast, with W packed [32-channel panel][K][32]. Through phase
  // planes and im2col panels the strided ones ran at 55-70% of Zen 5's
  // peak in-model (3x3/2 128@56: 1.64 ms, ORT's NCHWc kernel 1.08); the
  // 1x1s through the 16x16 and 8x49 tiles at 77-85% (ResNet-50's 1x1s:
  // 22.1 -> 20.4 ms, alternated). With 64 input channels the tile's
  // transposing store outweighs the gain (64->256@56: 8% slower); so does
  // a last channel panel a fifth or more empty (MobileNetV2's 144->24@56:
  // 0.209 against 0.142 ms on the 24x16 tile, 6 of 6 alternated rounds).
  void plan_bcast(int64_t out_w, int64_t out_pixels, const KernelConfig& cfg) {
    const bool pw1 = is_1x1_unpadded_s1();  // a pre-op is fine: run_bcast applies it in the padded copy
    // Strided rows that the 14-pixel tiles fill less than 60% (15 and 16
    // wide: two tiles of 8) keep the GEMM: at 256x256 input ResNet-101's
    // 3x3/2 256 and 1x1/2 512->1024 (32 -> 16) ran 0.82x and 0.71x the
    // broadcast tiles' time there (6 of 6 alternated rounds each). Its 32-wide
    // rows (three tiles of 11: 76%) stay: 3x3/2 128 measured level there.
    constexpr int64_t kT = kernels::kConvBcastPixels;
    const bool rows_fill = out_w * 10 >= (out_w + kT - 1) / kT * kT * 6;
    const bool s2 = geo_.strides[0] == 2 && geo_.strides[1] == 2 && geo_.dilations[0] == 1 &&
                    geo_.dilations[1] == 1 && out_w >= kT && rows_fill;
    const bool usable = cfg.isa >= Isa::kAvx512 && cfg.conv_bcast && group_ == 1 && register_epilogue_;
    const bool panels_fill = (w_.dim(0) + 31) / 32 * 32 * 4 <= w_.dim(0) * 5;
    // A 1x1/2 conv without pads whose output rows are not a multiple of 14
    // wide is a 1x1 stride-1 conv on the input's even-even phase: once that
    // quarter is copied out, its tiles run along the flattened map, full
    // but the last (at 256x256 input, 32-wide rows split 11 + 11 + 10).
    const bool pw2 = w_.dim(2) == 1 && w_.dim(3) == 1 && geo_.strides[0] == 2 && geo_.strides[1] == 2 &&
                     geo_.pad_begin[0] == 0 && geo_.pad_begin[1] == 0 && geo_.pad_end[0] == 0 && geo_.pad_end[1] == 0;
    bcast_phase_ = usable && pw2 && out_w % kT != 0 && out_pixels >= cfg.conv_bcast_min_pixels && panels_fill;
    bcast_ = usable && (s2 || bcast_phase_ ||
                        (pw1 && out_pixels >= cfg.conv_bcast_min_pixels && w_.dim(1) >= cfg.conv_bcast_min_channels &&
                         panels_fill));
    bcast_s1_ = bcast_ && (bcast_phase_ || !s2);
    if (!bcast_) return;
    const int64_t OC = w_.dim(0), K = w_.numel() / OC, panels = (OC + 31) / 32;
    // Reduction rows (c, kh, kw) with kw >= 1 first, then those with kw = 0
    // (the identity for 1x1s): run_bcast's in-place strided tiles at the
    // left edge run the two parts as two passes (see run_bcast).
    const int64_t KH = w_.dim(2), KW = w_.dim(3), C = w_.dim(1);
    kperm_.clear();
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw)
            if ((kw == 0) == (pass == 1))
              kperm_.push_back(static_cast<int32_t>((c * KH + kh) * KW + kw));
    wp_.clear();
    if (adopt_prepacked(cfg, {panels * 32 * K}, wp_)) return;
    Tensor t = tensor_for_overwrite(DType::kF32, Shape{panels * 32 * K});
    float* d = t.data<float>();
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t i = 0; i < 32; ++i) {
          const int64_t o = p * 32 + i;
          d[(p * K + kk) * 32 + i] = o < OC ? w_.data<float>()[o * K + kperm_[static_cast<size_t>(kk)]] : 0.f;
        }
    wp_.push_back(std::move(t));
  }

  // Per-input-channel x*s + t applied while packing, so padded positions
  // stay zero.
  void set_pre_scale_shift(Tensor s, Tensor t) {
    pre_s_ = std::move(s);
    pre_t_ = std::move(t);
  }

  // Picks the GEMM orientation from the output size: with few output
  // pixels per image the pixel dimension fills only part of the NR-wide
  // register tile, while output channels (multiples of 16/64 in real nets)
  // fill it completely. Weights are packed once, for that orientation.
  // Packed weights offered by cfg (an artifact's) are adopted when they
  // have this orientation's sizes.
  void choose_orientation(int64_t pixels, const KernelConfig& cfg) {
    if (bcast_) return;
    const int64_t OC = w_.dim(0), OCg = OC / group_, K = w_.numel() / OC;
    const kernels::GemmPlan plan = kernels::gemm_plan(pixels, OCg, isa_, is_pointwise() ? K : 0);
    transposed_ = plan.transposed;
    uk_ = plan.uk;
    wp_.clear();
    const int64_t numel = transposed_ ? kernels::prepacked_b_numel(K, OCg, *uk_) : kernels::prepacked_a_numel(OCg, K, *uk_);
    if (adopt_prepacked(cfg, std::vector<int64_t>(static_cast<size_t>(group_), numel), wp_)) return;
    for (int64_t g = 0; g < group_; ++g) {
      const float* wg = w_.data<float>() + g * OCg * K;
      wp_.push_back(transposed_ ? kernels::prepack_b(wg, K, K, OCg, /*trans_b=*/true, *uk_)
                                : kernels::prepack_a(wg, K, OCg, K, *uk_));
    }
  }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    const int64_t N = x.dim(0);
    if (transposed_ && !is_pointwise()) build_gather_table(x.dim(2), x.dim(3), k.out(0).dim(2), k.out(0).dim(3));
    const int T = pool_ ? pool_->threads() : 1;
    tmp_.resize(static_cast<size_t>(T));
    xpad_.resize(static_cast<size_t>(T));
    phases_.resize(static_cast<size_t>(T));
    ind_off_.resize(static_cast<size_t>(T));
    // Many groups (depthwise, grouped): one group per task. Few groups: the
    // GEMM itself is split between the threads.
    if (group_ >= T && T > 1) {
      for (int64_t n = 0; n < N; ++n)
        pool_->parallel_for_balanced(group_, pool_->grain_for(group_), [&](int64_t b, int64_t e, int tid) {
          for (int64_t g = b; g < e; ++g) run_group(k, n, g, tid, nullptr);
        });
      equalize_capacity(tmp_);
      equalize_capacity(xpad_);
      equalize_capacity(phases_);
      equalize_capacity(ind_off_);
      return Status::ok();
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < group_; ++g) run_group(k, n, g, 0, pool_);
    return Status::ok();
  }

 private:
  // What the packing and block callbacks need for one (image, group).
  struct Job {
    const ConvImplicitGemm* self;
    ConvGeo geo;
    const float* x;      // image n, the group's first input channel
    int64_t c0;          // that channel's index (for the pre-op)
    float* y;            // image n of the output, all channels
    int64_t oc0, OC;     // the group's first output channel; all of them
    const float* ct;     // transposed product [P x OCg], or null
    const float* xp;     // the group's channels zero-padded (geo.PH x geo.PW), or null
    // Stride 2 (non-transposed): each channel's zero-padded input split into
    // its 2 x 2 phases (even/odd rows x even/odd columns), QH x QW each, so
    // a window tap reads consecutive floats of one phase; or null.
    const float* phases;
    int64_t QH, QW, nph;  // nph: phases per channel kept (1, 2 or 4)
    kernels::PackRunsUkernel pack_runs;  // builds the panels' rows from their runs
    kernels::Im2rowUkernel im2row;       // non-null: panels straight from the image (pack_b_im2row)
    int64_t OCg;
    const KernelContext* k;
    int64_t n;
    bool pointwise, pre;
  };

  // `tid` selects this thread's scratch; `pool` splits the GEMM (null when
  // groups themselves run in parallel).
  void run_group(KernelContext& k, int64_t n, int64_t g, int tid, ThreadPool* pool) {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    Job j;
    j.self = this;
    ConvGeo& G = j.geo;
    const int64_t C = x.dim(1);
    G.H = x.dim(2);
    G.W = x.dim(3);
    j.OC = y.dim(1);
    G.OH = y.dim(2);
    G.OW = y.dim(3);
    G.KH = geo_.kernel[0];
    G.KW = geo_.kernel[1];
    G.sh = geo_.strides[0];
    G.sw = geo_.strides[1];
    G.dh = geo_.dilations[0];
    G.dw = geo_.dilations[1];
    G.ph = geo_.pad_begin[0];
    G.pw = geo_.pad_begin[1];
    G.Cg = C / group_;
    j.OCg = j.OC / group_;
    G.K = G.Cg * G.KH * G.KW;
    G.P = G.OH * G.OW;
    j.x = x.data<float>() + (n * C + g * G.Cg) * G.H * G.W;
    j.c0 = g * G.Cg;
    j.y = y.data<float>() + n * j.OC * G.P;
    j.oc0 = g * j.OCg;
    j.k = &k;
    j.n = n;
    j.pointwise = is_pointwise();
    j.pre = pre_s_.defined() && pre_s_.numel() > 0;
    j.ct = nullptr;
    j.xp = nullptr;
    j.phases = nullptr;
    j.pack_runs = kernels::pack_runs_ukernel_for(isa_);
    G.PH = (G.OH - 1) * G.sh + (G.KH - 1) * G.dh + 1;
    G.PW = (G.OW - 1) * G.sw + (G.KW - 1) * G.dw + 1;
    if (bcast_) {
      run_bcast(k, j, tid, pool);
      return;
    }
    // Zero-padded planes, so packing the pixel rows is a branch-free
    // gather through the table.
    if (transposed_ && !j.pointwise) build_padded(j, tid, pool);

    // Small maps with a window (7x7 and 4x4 outputs): the packed panels are
    // built from the image itself (pack_b_im2row), no planes in between.
    // In-model, alternated (6 rounds, all 6 faster): 3x3/2 512@14 0.90x at
    // 1 thread, 0.87x at 2; 3x3/2 256@14 and 512@7 (112 input) 0.87x and
    // 0.86-0.90x. A 1x1/2 conv keeps reading its even-even phase in place
    // (built this way too it measured level, 8 rounds).
    j.im2row = nullptr;
    if (!transposed_ && !j.pointwise && !indirect_ && (G.KH > 1 || G.KW > 1) && G.W <= kernels::kIm2rowMaxW &&
        G.OW <= kernels::kIm2rowMaxOW && G.KW <= kernels::kIm2rowMaxKW &&
        (G.P == uk_->nr || (uk_->nr % G.OW == 0 && G.P % uk_->nr == 0)))
      j.im2row = kernels::im2row_ukernel_for(isa_);
    if (!j.im2row && !transposed_ && !j.pointwise && G.sh == 2 && G.sw == 2 && G.dh == 1 && G.dw == 1)
      build_phases(j, tid, pool);
    if (indirect_ && G.OW >= 14) {
      run_indirect(k, j, tid, pool);
      return;
    }
    if (!j.im2row && !transposed_ && !j.pointwise && G.sh == 1 && G.sw == 1) build_padded(j, tid, pool);

    kernels::GemmArgs a;
    a.ukernel = uk_;
    a.K = G.K;
    a.pack_ctx = &j;
    a.block_ctx = &j;
    kernels::GemmEpilogue epi;
    if (!transposed_) {
      a.M = j.OCg;
      a.N = G.P;
      a.a_prepacked = wp_[static_cast<size_t>(g)].data<float>();
      if (j.pointwise && uk_->fn_ldb) {
        a.B = j.x;  // the image's channel rows, read in place
        a.ldb = G.P;
        a.b_in_place = true;
      } else if (j.phases && G.KH == 1 && G.KW == 1 && j.QH == G.OH && j.QW == G.OW && uk_->fn_ldb) {
        a.B = j.phases;  // a 1x1/2 conv is pointwise on the even-even phase
        a.ldb = G.P;
        a.b_in_place = true;
      } else {
        a.pack_b_fn = j.im2row ? &pack_b_im2row : &pack_b_panels;
      }
      a.C = j.y + j.oc0 * G.P;
      a.ldc = G.P;
      if (register_epilogue_) {
        epi = fused_epilogue(k, n, j.OC, j.oc0, G.P);
        a.epilogue = &epi;
      } else {
        a.block_done = &finish_block;
      }
    } else {
      std::vector<float>& t = tmp_[static_cast<size_t>(tid)];
      t.resize(static_cast<size_t>(G.P * j.OCg));
      j.ct = t.data();
      a.M = G.P;
      a.N = j.OCg;
      a.b_prepacked = wp_[static_cast<size_t>(g)].data<float>();
      if (pool && pool->threads() > 1) {
        // Threads split the output channels and would each pack the same
        // A (all pixels): pack it once, together, in the prepacked layout.
        const int mr = uk_->mr;
        const int64_t kc = kernels::gemm_kc(), panels = (G.P + mr - 1) / mr, blocks = (G.K + kc - 1) / kc;
        apack_.resize(static_cast<size_t>(panels * mr * G.K));
        pool->parallel_for(blocks, [&](int64_t b, int64_t e, int) {
          for (int64_t blk = b; blk < e; ++blk) {
            const int64_t k0 = blk * kc;
            pack_a_panels(&j, 0, G.P, k0, std::min(kc, G.K - k0), mr, apack_.data() + k0 * panels * mr);
          }
        });
        a.a_prepacked = apack_.data();
      } else {
        a.pack_a_fn = &pack_a_panels;
      }
      a.C = t.data();
      a.ldc = j.OCg;
      a.block_done = &finish_block_transposed;
    }
    kernels::sgemm_parallel(a, isa_, pool);
  }

  // Stride-1 convs without packing: each channel once into a zero-padded
  // plane (with the pre-op), then the microkernel reads reduction row
  // k = (c, kh, kw) for 16 consecutive pixels at xpad + q + off[k]. The 16
  // pixels run along a virtual image as wide as the padded one (PW), so a
  // tile spans at most two output rows and the junk columns between them
  // are masked at the store; 2 of every PW lanes are wasted (3% at 56x56)
  // where tiles cut at row ends would waste 1/8 at 56 and 28. Packing the
  // im2col panels cost ~1/4 of a 3x3 conv with 64 output channels.
  // Blocked as the GEMM driver: 24-tile column groups, KC reduction rows,
  // MC output channels, then tiles, each tile's rows reused from L1 by
  // every 16-channel row panel.
  void run_indirect(KernelContext& k, Job& j, int tid, ThreadPool* pool) {
    const ConvGeo& G = j.geo;
    const int64_t plane = G.PH * G.PW;
    constexpr int64_t kSlack = 64;  // lanes of the last tiles read past the last plane
    build_padded(j, tid, pool, kSlack);
    std::vector<int32_t>& off = ind_off_[static_cast<size_t>(tid)];
    off.resize(static_cast<size_t>(G.K));
    for (int64_t c = 0, kk = 0; c < G.Cg; ++c)
      for (int64_t kh = 0; kh < G.KH; ++kh)
        for (int64_t kw = 0; kw < G.KW; ++kw, ++kk)
          off[static_cast<size_t>(kk)] = static_cast<int32_t>(c * plane + kh * G.dh * G.PW + kw * G.dw);

    const kernels::GemmEpilogue e = fused_epilogue(k, j.n, j.OC, j.oc0, G.P);
    const float clampv[2] = {e.lo, e.hi};
    const int64_t Q = (G.OH - 1) * G.PW + G.OW, tiles = (Q + 15) / 16, shift = G.PW - G.OW;
    const int64_t KC = kernels::gemm_kc(), a_panels = (j.OCg + 15) / 16;
    constexpr int64_t kGroup = 24, kMC = 192;
    const float* wpg = wp_[static_cast<size_t>(j.oc0 / j.OCg)].data<float>();
    float* yg = j.y + j.oc0 * G.P;
    const float* xpd = j.xp;
    const int32_t* offp = off.data();
    const kernels::GemmUkernelInd fn = uk_->fn_ind;
    auto body = [&](int64_t t0, int64_t t1, int) {
      for (int64_t g0 = t0; g0 < t1; g0 += kGroup) {
        const int64_t g1 = std::min(t1, g0 + kGroup);
        for (int64_t pc = 0; pc < G.K; pc += KC) {
          const int64_t kc = std::min(KC, G.K - pc);
          const bool last = pc + kc >= G.K;
          const float* a_block = wpg + pc * a_panels * 16;
          for (int64_t ic = 0; ic < j.OCg; ic += kMC) {
            const int64_t ic1 = std::min(j.OCg, ic + kMC);
            for (int64_t t = g0; t < g1; ++t) {
              const int64_t q0 = t * 16, oh = q0 / G.PW, ow = q0 % G.PW;
              const int64_t n0 = std::clamp<int64_t>(std::min(G.OW - ow, Q - q0), 0, 16);
              const int64_t l1 = G.PW - ow;
              const int64_t n1 = l1 < 16 ? std::clamp<int64_t>(std::min({16 - l1, G.OW, Q - q0 - l1}), 0, 16) : 0;
              const uint32_t m0 = (1u << n0) - 1u, m1 = n1 > 0 ? ((1u << n1) - 1u) << l1 : 0u;
              const int64_t cofs = oh * G.OW + ow;
              for (int64_t ir = ic; ir < ic1; ir += 16) {
                const int64_t mr = std::min<int64_t>(16, j.OCg - ir);
                fn(kc, a_block + (ir / 16) * kc * 16, xpd + q0, offp + pc, yg + ir * G.P + cofs, G.P, mr, m0, m1,
                   shift, pc > 0, last && e.bias ? e.bias + ir : nullptr,
                   last && e.residual ? e.residual + ir * G.P + cofs : nullptr, G.P,
                   last && e.clamp ? clampv : nullptr);
              }
            }
          }
        }
      }
    };
    if (pool && pool->threads() > 1 && tiles > 1) pool->parallel_for_balanced(tiles, kGroup, body);
    else body(0, tiles, 0);
  }

  // Pixels broadcast (kernels/conv_bcast.h): tiles of up to 14 pixels
  // (stride 2: along an output row; 1x1 stride 1: along the flattened
  // map), each times every 32-channel weight panel, the whole reduction in
  // registers. 1x1 convs without pre-op whose tiles are all full read the
  // image in place; others read its zero-padded copy. Weight panels go in blocks of ~384 KB (L2), every
  // tile running through a block before the next block.
  void run_bcast(KernelContext& k, Job& j, int tid, ThreadPool* pool) {
    const ConvGeo& G = j.geo;
    constexpr int64_t kT = kernels::kConvBcastPixels;
    // Stride 2: tiles along output rows, split evenly. 1x1 stride 1 (and
    // 1x1/2 on its phase): tiles of 14 along the flattened map, one row of
    // ntw = ceil(P / 14) tiles.
    const bool s1 = bcast_s1_;
    const int64_t ntw = ((s1 ? G.P : G.OW) + kT - 1) / kT, wbase = s1 ? kT : G.OW / ntw,
                  wextra = s1 ? 0 : G.OW % ntw;
    const float* src;
    int64_t rs, plane;
    bool in_place = false;
    // 1x1 stride 1 on maps not a multiple of 14 pixels (64x64, 32x32,
    // 16x16: 256x256 input): the last tile has fewer pixels, and read in
    // place its 14 broadcasts would run past the image's last channel, so
    // its pixels are copied into `tail` first (16 floats per channel).
    const int64_t tail_np = s1 ? G.P % kT : 0;
    const float* tail = nullptr;
    if (bcast_phase_) build_phases(j, tid, pool);  // the even-even quarter, OH x OW per channel
    if (bcast_phase_ || (G.KH == 1 && G.KW == 1 && G.ph == 0 && G.pw == 0 && !j.pre && wextra == 0 && wbase == kT)) {
      src = bcast_phase_ ? j.phases : j.x;
      rs = bcast_phase_ ? G.OW : G.W;
      plane = bcast_phase_ ? G.P : G.H * G.W;
      if (tail_np) {
        tail_.assign(static_cast<size_t>(G.Cg * 16), 0.f);
        for (int64_t c = 0; c < G.Cg; ++c) std::copy_n(src + c * plane + (G.P - tail_np), tail_np, tail_.data() + c * 16);
        tail = tail_.data();
        if (static_cast<int64_t>(tail_off_.size()) != G.K) {
          tail_off_.resize(static_cast<size_t>(G.K));
          for (int64_t c = 0; c < G.K; ++c) tail_off_[static_cast<size_t>(c)] = static_cast<int32_t>(c * 16);
        }
      }
    } else if (!s1 && strided_in_place(j)) {
      // Read in place: the padded copy of the whole input was ~12% of the
      // conv's time (3x3/2 128@56, perf). Windows reach outside the image
      // only above the first output row and left of the first column (even
      // H and W: the last row and column of windows end inside). Tiles of
      // the first output row read a zero-padded copy of its window rows
      // (top_); the first tile of each other row runs the kw >= 1 taps on
      // all its pixels, then the kw = 0 taps on pixels 1-13 only (pixel 0's
      // are padding), the first pass's sums their residual.
      in_place = true;
      src = j.x - G.W - 1;  // (oh, ow) window origin: src + 2 oh W + 2 ow (row -1, column -1)
      rs = G.W;
      plane = G.H * G.W;
      const int64_t trs = G.W + 2, tplane = G.KH * trs;
      top_.assign(static_cast<size_t>(G.Cg * tplane + 2 * kT + 8), 0.f);
      for (int64_t c = 0; c < G.Cg; ++c)
        for (int64_t r = 1; r < G.KH; ++r) std::copy_n(j.x + c * plane + (r - 1) * G.W, G.W, top_.data() + c * tplane + r * trs + 1);
      tap_offsets(G, tplane, trs, top_off_);
    } else {
      build_padded(j, tid, pool, 2 * kT + 8);
      src = j.xp;
      rs = G.PW;
      plane = G.PH * G.PW;
    }
    std::vector<int32_t>& off = ind_off_[static_cast<size_t>(tid)];
    tap_offsets(G, plane, rs, off);
    const kernels::GemmEpilogue e = fused_epilogue(k, j.n, j.OC, j.oc0, G.P);
    const float clampv[2] = {e.lo, e.hi};
    const int64_t panels = (j.OCg + 31) / 32, tiles = s1 ? ntw : G.OH * ntw;
    const int64_t per_block = std::max<int64_t>(1, (384 << 10) / (G.K * 32 * 4));
    const float* wp = wp_[0].data<float>();
    const int32_t* offp = off.data();
    const kernels::ConvBcastUkernel uk =
        s1 ? kernels::f32_conv_s1_minmax_ukernel_14x32__avx512 : kernels::f32_conv_s2_minmax_ukernel_14x32__avx512;
    // Tiles [t0, t1) times panels [pb, pe).
    auto run_tiles = [&](int64_t t0, int64_t t1, int64_t pb, int64_t pe) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t oh = t / ntw, tw = t % ntw;
        const int64_t ow0 = tw * wbase + std::min(tw, wextra);
        const int64_t np = s1 ? std::min(kT, G.P - ow0) : wbase + (tw < wextra ? 1 : 0);
        const bool from_tail = tail && np < kT;
        const bool top = in_place && oh == 0, left = in_place && oh > 0 && ow0 == 0;
        const float* xt = from_tail ? tail : s1 ? src + ow0 : top ? top_.data() + 2 * ow0 : src + 2 * oh * rs + 2 * ow0;
        const int32_t* ot = from_tail ? tail_off_.data() : top ? top_off_.data() : offp;
        const int64_t cofs = oh * G.OW + ow0;
        for (int64_t p = pb; p < pe; ++p) {
          const int64_t o = p * 32, nc = std::min<int64_t>(32, j.OCg - o);
          float* yt = j.y + o * G.P + cofs;
          const float* bias = e.bias ? e.bias + o : nullptr;
          const float* res = e.residual ? e.residual + o * G.P + cofs : nullptr;
          if (!left) {
            uk(G.K, wp + p * G.K * 32, xt, ot, np, nc, yt, G.P, bias, res, e.clamp ? clampv : nullptr);
            continue;
          }
          const int64_t k0 = G.Cg * G.KH, k1 = G.K - k0;  // packed last: the kw = 0 rows (plan_bcast)
          uk(k1, wp + p * G.K * 32, xt, ot, np, nc, yt, G.P, nullptr, res, nullptr);
          uk(k0, wp + (p * G.K + k1) * 32, xt + 2, ot + k1, np - 1, nc, yt + 1, G.P, bias, yt + 1,
             e.clamp ? clampv : nullptr);
          for (int64_t oc = 0; oc < nc; ++oc) {
            float& v = yt[oc * G.P];
            if (bias) v += bias[oc];
            if (e.clamp && !std::isnan(v)) v = std::min(std::max(v, clampv[0]), clampv[1]);
          }
        }
      }
    };
    const int T = pool ? pool->threads() : 1;
    // Threads split what costs less to read twice: the weight panels when
    // they outweigh the input (1x1s at 14x14: 1 MB of weights, 0.2-0.8 MB
    // of input; one fork-join), else the tiles, block by block.
    const int64_t in_bytes = G.Cg * (s1 ? G.P : G.OH * G.KH * G.W) * 4, w_bytes = panels * G.K * 32 * 4;
    // Two threads on a reducing 1x1 whose weights outweigh its input
    // (ResNet's 1024->256 at 14x14): the threads split the reduction, not
    // the panels. The producer (the block's expanding 1x1, panels split)
    // left input channels [0, K/2) in one core's cache and [K/2, K) in the
    // other's; splitting the panels, each thread read all of them, half
    // (400 KB at 1024x14x14) from the other core. Here thread h reduces only
    // its own half: first for the other thread's output panels, into a
    // scratch (with the residual), then, after the join, for its own, the
    // other's scratch added as the tile's residual, with bias and clamp, in
    // the same microkernel. Only the scratch (100 KB) crosses cores.
    if (T == 2 && s1 && !tail && !bcast_phase_ && src == j.x && w_bytes > in_bytes && G.K >= 2 * j.OCg &&
        panels >= 2 * T) {
      run_bcast_ksplit(j, uk, wp, offp, src, e, e.clamp ? clampv : nullptr, panels, tiles, per_block, pool);
      return;
    }
    if (T > 1 && w_bytes > in_bytes && panels >= 2 * T) {
      pool->parallel_for_balanced(panels, 1, [&](int64_t p0, int64_t p1, int) {
        for (int64_t pb = p0; pb < p1; pb += per_block) run_tiles(0, tiles, pb, std::min(p1, pb + per_block));
      });
      return;
    }
    for (int64_t pb = 0; pb < panels; pb += per_block) {
      const int64_t pe = std::min(panels, pb + per_block);
      if (T > 1 && tiles > 1)
        pool->parallel_for_balanced(tiles, 1, [&](int64_t t0, int64_t t1, int) { run_tiles(t0, t1, pb, pe); });
      else run_tiles(0, tiles, pb, pe);
    }
  }

  // Each packed reduction row's (kperm_) offset from a tile's window
  // origin, for channel planes `plane` floats apart with rows `rs` apart.
  void tap_offsets(const ConvGeo& G, int64_t plane, int64_t rs, std::vector<int32_t>& off) const {
    off.resize(static_cast<size_t>(G.K));
    for (int64_t kk = 0; kk < G.K; ++kk) {
      const int64_t nat = kperm_[static_cast<size_t>(kk)], c = nat / (G.KH * G.KW), kh = nat / G.KW % G.KH,
                    kw = nat % G.KW;
      off[static_cast<size_t>(kk)] = static_cast<int32_t>(c * plane + kh * rs + kw);
    }
  }

  // Whether run_bcast's strided tiles can read the image in place: stride
  // 2, a window of 2 or more columns, padding 1 before (0 or 1 after), rows
  // of whole tiles, and no window reaching past the last row or column. The
  // second pass of a row's first tile reads its kw = 0 tap for one pixel
  // past the tile (input column 2 x 14 - 1): inside the row with 2 OW <= W.
  bool strided_in_place(const Job& j) const {
    const ConvGeo& G = j.geo;
    constexpr int64_t kT = kernels::kConvBcastPixels;
    return !j.pre && G.sh == 2 && G.sw == 2 && G.dh == 1 && G.dw == 1 && G.ph == 1 && G.pw == 1 && G.KW > 1 &&
           G.KH > 1 && G.OW % kT == 0 && G.OH >= 2 && 2 * (G.OH - 1) - 1 + G.KH <= G.H &&
           2 * (G.OW - 1) - 1 + G.KW <= G.W && 2 * G.OW <= G.W;
  }

  // run_bcast's reduction split at 2 threads (1x1 stride 1, read in place,
  // full tiles): phase 1, thread h's reduction half for the other half's
  // output panels into the scratch; phase 2, for its own, into the output.
  void run_bcast_ksplit(const Job& j, kernels::ConvBcastUkernel uk, const float* wp, const int32_t* off,
                        const float* src, const kernels::GemmEpilogue& e, const float* clamp, int64_t panels,
                        int64_t tiles, int64_t per_block, ThreadPool* pool) {
    constexpr int64_t kT = kernels::kConvBcastPixels;
    const ConvGeo& G = j.geo;
    const int64_t pmid = panels / 2, half_rows = (panels - pmid) * 32;
    const int64_t pr[2][2] = {{0, pmid}, {pmid, panels}}, kr[2][2] = {{0, G.K / 2}, {G.K / 2, G.K - G.K / 2}};
    // Shared by every such conv the calling thread runs: the same lines,
    // warm, from conv to conv (one buffer per node measured 3-4% slower on
    // the 3x3 conv after it, 2 runs of 8 rounds).
    thread_local std::vector<float> scratch_buf;
    scratch_buf.resize(static_cast<size_t>(2 * half_rows * G.P));
    float* const scratch = scratch_buf.data();
    // Reduction half h over panels [pb, pe) into dst (output channel o's
    // row at dst + (o - o0) * P), + res (indexed the same), then bias and
    // clamp if given. Weight panels in L2-sized blocks, every tile through
    // a block (as run_tiles).
    auto part = [&](int64_t h, int64_t pb, int64_t pe, float* dst, const float* res, const float* bias,
                    const float* cl) {
      const int64_t k0 = kr[h][0], kc = kr[h][1], o0 = pb * 32;
      for (int64_t b0 = pb; b0 < pe; b0 += per_block)
        for (int64_t t = 0; t < tiles; ++t) {
          const int64_t ow0 = t * kT, np = std::min(kT, G.P - ow0);
          for (int64_t p = b0; p < std::min(pe, b0 + per_block); ++p) {
            const int64_t o = p * 32, at = (o - o0) * G.P + ow0;
            uk(kc, wp + (p * G.K + k0) * 32, src + ow0, off + k0, np, std::min<int64_t>(32, j.OCg - o), dst + at,
               G.P, bias ? bias + o : nullptr, res ? res + at : nullptr, cl);
          }
        }
    };
    // (Balanced, so a thread left waiting on a slowed core takes the other
    // half over rather than idle; with the pool's workers spinning between
    // back-to-back layers, each thread runs its own half.)
    pool->parallel_for_balanced(2, 1, [&](int64_t h0, int64_t h1, int) {
      for (int64_t h = h0; h < h1; ++h) {
        const int64_t q = 1 - h;
        part(h, pr[q][0], pr[q][1], scratch + h * half_rows * G.P,
             e.residual ? e.residual + pr[q][0] * 32 * G.P : nullptr, nullptr, nullptr);
      }
    });
    pool->parallel_for_balanced(2, 1, [&](int64_t h0, int64_t h1, int) {
      for (int64_t h = h0; h < h1; ++h)
        part(h, pr[h][0], pr[h][1], j.y + (j.oc0 + pr[h][0] * 32) * G.P, scratch + (1 - h) * half_rows * G.P, e.bias,
             clamp);
    });
  }

  // Each channel once into a zero-padded plane (with the pre-op), the
  // channels split between the threads; `slack` zeros after the last plane.
  // For the indirect path, the transposed product's gather table and
  // stride 1's packed panels (pack_plane_panels).
  void build_padded(Job& j, int tid, ThreadPool* pool, int64_t slack = 0) {
    const ConvGeo& G = j.geo;
    std::vector<float>& xp = xpad_[static_cast<size_t>(tid)];
    xp.resize(static_cast<size_t>(G.Cg * G.PH * G.PW + slack));
    std::fill(xp.end() - slack, xp.end(), 0.f);
    const kernels::PadPlaneUkernel pad_uk = kernels::pad_plane_ukernel_for(isa_);
    auto pad = [&](int64_t c0, int64_t c1, int) {
      for (int64_t c = c0; c < c1; ++c)
        pad_uk(j.x + c * G.H * G.W, G.H, G.W, G.ph, G.pw, G.PH, G.PW, xp.data() + c * G.PH * G.PW,
                          j.pre ? pre_s_.data<float>() + j.c0 + c : nullptr,
                          j.pre ? pre_t_.data<float>() + j.c0 + c : nullptr);
    };
    if (pool && pool->threads() > 1 && G.Cg > 1) pool->parallel_for(G.Cg, pad);
    else pad(0, G.Cg, 0);
    j.xp = xp.data();
  }

  // Which of a channel's kept phases (build_phases) tap (kh, kw) reads.
  static int64_t phase_index(const Job& j, int64_t kh, int64_t kw) {
    return (kh % 2) * (j.nph > 2 ? 2 : 1) + (j.nph > 1 ? kw % 2 : 0);
  }

  // One reduction row k = (c, kh, kw) of the implicit im2col matrix, for
  // `cols` consecutive output pixels from `p`: input pixels along output
  // rows, zero where the window reads padding. (Stride 1 and stride 2
  // without dilation pack their panels directly: pack_plane_panels.)
  static void fill_row(const Job& j, int64_t c, int64_t kh, int64_t kw, int64_t p, int64_t cols, float* d) {
    const ConvGeo& G = j.geo;
    const float* xc = j.x + c * G.H * G.W;
    const float s = j.pre ? j.self->pre_s_.data<float>()[j.c0 + c] : 1.f;
    const float t = j.pre ? j.self->pre_t_.data<float>()[j.c0 + c] : 0.f;
    int64_t oh = p / G.OW, ow = p % G.OW;
    for (int64_t i = 0; i < cols;) {
      const int64_t run = std::min(cols - i, G.OW - ow);
      const int64_t ih = oh * G.sh - G.ph + kh * G.dh;
      float* o = d + i;
      if (ih < 0 || ih >= G.H) {
        std::fill(o, o + run, 0.f);
      } else {
        const float* xr = xc + ih * G.W;
        const int64_t iw0 = ow * G.sw - G.pw + kw * G.dw;
        if (G.sw == 1) {
          const int64_t lo = std::clamp<int64_t>(-iw0, 0, run), hi = std::clamp<int64_t>(G.W - iw0, lo, run);
          std::fill(o, o + lo, 0.f);
          if (j.pre)
            for (int64_t q = lo; q < hi; ++q) o[q] = xr[iw0 + q] * s + t;
          else
            std::memcpy(o + lo, xr + iw0 + lo, static_cast<size_t>(hi - lo) * sizeof(float));
          std::fill(o + hi, o + run, 0.f);
        } else {
          // Strided (the stem, downsampling convs): the padding is cut off
          // first, so the interior is a branch-free strided copy the
          // compiler vectorizes; a per-element bounds test held these
          // layers to ~2/3 of the stride-1 ones' GFLOP/s.
          const int64_t sw = G.sw;
          const int64_t lo = std::clamp<int64_t>((-iw0 + sw - 1) / sw, 0, run);
          const int64_t hi = std::clamp<int64_t>((G.W - iw0 + sw - 1) / sw, lo, run);
          std::fill(o, o + lo, 0.f);
          if (j.pre)
            for (int64_t q = lo; q < hi; ++q) o[q] = xr[iw0 + q * sw] * s + t;
          else if (sw == 2)  // a constant stride: the compiler vectorizes it with shuffles
            for (int64_t q = lo; q < hi; ++q) o[q] = xr[iw0 + 2 * q];
          else
            for (int64_t q = lo; q < hi; ++q) o[q] = xr[iw0 + q * sw];
          std::fill(o + hi, o + run, 0.f);
        }
      }
      i += run;
      ow = 0;
      ++oh;
    }
  }

  // Spreads `rows` reduction rows (row r at src[r], `count` values) over
  // the NR-wide panels of a packed B block, from row kk on, zero-padding the
  // last panel. Panel by panel, so each panel's rows are written in one
  // sequential run: row by row, the writes stride by a whole panel (16 KB at
  // KC=256), all land in one L1 set and each misses (packing was ~1/4 of a
  // 1x1 conv at 56x56, perf).
  template <int NR>
  static void scatter_rows(const float* const* src, int64_t rows, int64_t count, int64_t kc, int64_t kk, float* dst) {
    for (int64_t j0 = 0; j0 < count; j0 += NR) {
      float* d = dst + (j0 / NR) * kc * NR + kk * NR;
      const int64_t cols = std::min<int64_t>(NR, count - j0);
      if (cols == NR) {
        for (int64_t r = 0; r < rows; ++r, d += NR) std::memcpy(d, src[r] + j0, NR * sizeof(float));
      } else {
        for (int64_t r = 0; r < rows; ++r, d += NR) {
          int64_t q = 0;
          for (; q < cols; ++q) d[q] = src[r][j0 + q];
          for (; q < NR; ++q) d[q] = 0.f;
        }
      }
    }
  }

  static void scatter_rows_any(int nr, const float* const* src, int64_t rows, int64_t count, int64_t kc, int64_t kk,
                               float* dst) {
    switch (nr) {
      case 8: return scatter_rows<8>(src, rows, count, kc, kk, dst);
      case 16: return scatter_rows<16>(src, rows, count, kc, kk, dst);
      case 32: return scatter_rows<32>(src, rows, count, kc, kk, dst);
      case 64: return scatter_rows<64>(src, rows, count, kc, kk, dst);
      default:
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j0 = 0; j0 < count; j0 += nr) {
            float* d = dst + (j0 / nr) * kc * nr + (kk + r) * nr;
            for (int64_t q = 0; q < nr; ++q) d[q] = j0 + q < count ? src[r][j0 + q] : 0.f;
          }
    }
  }

  // B panels (non-transposed): reduction rows are built for the whole
  // column block, in long runs along output rows, 16 at a time (24 KB for
  // 384 columns, in L1), then spread over the NR-wide panels.
  static void pack_b_panels(const void* ctx, int64_t first, int64_t count, int64_t k0, int64_t kc, int nr, float* dst) {
    const Job& j = *static_cast<const Job*>(ctx);
    const ConvGeo& G = j.geo;
    constexpr int64_t kRows = kernels::kPackRows;
    const float* src[kRows];
    if (j.pointwise) {
      for (int64_t kk = 0; kk < kc; kk += kRows) {
        const int64_t rows = std::min(kRows, kc - kk);
        for (int64_t r = 0; r < rows; ++r) src[r] = j.x + (k0 + kk + r) * G.P + first;
        scatter_rows_any(nr, src, rows, count, kc, kk, dst);
      }
      return;
    }
    int64_t c = k0 / (G.KH * G.KW), r0 = k0 % (G.KH * G.KW), kh = r0 / G.KW, kw = r0 % G.KW;
    if (j.phases || j.xp) {
      pack_plane_panels(j, c, kh, kw, first, count, kc, nr, dst);
      return;
    }
    std::vector<float>& buf = kernels::pack_rows_scratch();
    if (static_cast<int64_t>(buf.size()) < kRows * count) buf.resize(static_cast<size_t>(kRows * count));
    for (int64_t kk = 0; kk < kc; kk += kRows) {
      const int64_t rows = std::min(kRows, kc - kk);
      for (int64_t r = 0; r < rows; ++r) {
        float* row = buf.data() + r * count;
        fill_row(j, c, kh, kw, first, count, row);
        src[r] = row;
        if (++kw == G.KW) {
          kw = 0;
          if (++kh == G.KH) {
            kh = 0;
            ++c;
          }
        }
      }
      scatter_rows_any(nr, src, rows, count, kc, kk, dst);
    }
  }

  // B panels of small maps from the image itself: each output row of a
  // reduction row is one permute of an input row held in registers, stored
  // at its place in its panel (kernels/copy.h). The block's columns start
  // at an output row's start (first is a multiple of NR, a multiple of OW).
  static void pack_b_im2row(const void* ctx, int64_t first, int64_t count, int64_t k0, int64_t kc, int nr, float* dst) {
    const Job& j = *static_cast<const Job*>(ctx);
    const ConvGeo& G = j.geo;
    constexpr int64_t kRows = 64;
    int64_t seg[kRows];
    kernels::Im2rowGeo ig{G.H, G.W, G.OW, G.KH, G.KW, G.sh, G.sw, G.dh, G.dw, G.ph, G.pw, 0, 0};
    const float* s = j.pre ? j.self->pre_s_.data<float>() + j.c0 : nullptr;
    const float* t = j.pre ? j.self->pre_t_.data<float>() + j.c0 : nullptr;
    const int64_t oh_end = (first + count) / G.OW;
    for (ig.oh0 = first / G.OW; ig.oh0 < oh_end; ig.oh0 = ig.oh1) {
      ig.oh1 = std::min(oh_end, ig.oh0 + kRows);
      for (int64_t oh = ig.oh0; oh < ig.oh1; ++oh) {
        const int64_t q = oh * G.OW - first;
        seg[oh - ig.oh0] = q / nr * kc * nr + q % nr;
      }
      j.im2row(j.x, ig, k0, kc, seg, nr, dst, s, t);
    }
  }

  // Panels straight from planes the taps read with stride 1, no row
  // buffer: reduction rows from (c, kh, kw) on, 16 rows at a time, panel by
  // panel (each panel's rows written in one sequential run, as
  // scatter_rows does); a panel's pixels are one to a few runs along output
  // rows (worked out once per panel), each a copy from the tap's plane.
  // - Stride 2: the phase planes (output pixel (oh, ow), tap (kh, kw) reads
  //   padded row 2*oh + kh, column 2*ow + kw: row oh + kh/2, column
  //   ow + kw/2 of phase (kh%2, kw%2)). Through a row buffer (fill_row, then
  //   scatter_rows) every value was copied twice, and the packing was ~14%
  //   of ResNet's 3x3/2 convs (perf).
  // - Stride 1 (maps too narrow for run_indirect: 4x4 at ResNet-101's 112
  //   input): the zero-padded planes (tap (kh, kw) reads row oh + kh*dh,
  //   column ow + kw*dw). fill_row bounds-checked every 4-pixel run there,
  //   ~16% of the 3x3 512@4 conv (perf).
  static void pack_plane_panels(const Job& j, int64_t c, int64_t kh, int64_t kw, int64_t first, int64_t count,
                                int64_t kc, int nr, float* dst) {
    const ConvGeo& G = j.geo;
    constexpr int64_t kRows = 16, kMaxRuns = kernels::kPackRunsMax;
    const float* src[kRows];
    const int64_t QW = j.phases ? j.QW : G.PW;  // the planes' row stride
    for (int64_t kk = 0; kk < kc; kk += kRows) {
      const int64_t rows = std::min(kRows, kc - kk);
      for (int64_t r = 0; r < rows; ++r) {
        src[r] = j.phases ? j.phases + (c * j.nph + phase_index(j, kh, kw)) * j.QH * j.QW + (kh / 2) * j.QW + kw / 2
                          : j.xp + c * G.PH * G.PW + kh * G.dh * G.PW + kw * G.dw;
        if (++kw == G.KW) {
          kw = 0;
          if (++kh == G.KH) {
            kh = 0;
            ++c;
          }
        }
      }
      for (int64_t j0 = 0; j0 < count; j0 += nr) {
        const int64_t w = std::min<int64_t>(nr, count - j0);
        // The panel's pixels as runs: (offset in the panel, offset in the
        // tap's plane, length).
        int64_t run_at[kMaxRuns], run_src[kMaxRuns], run_len[kMaxRuns], runs = 0;
        for (int64_t q = 0, p = first + j0; q < w && runs < kMaxRuns; ++runs) {
          const int64_t oh = p / G.OW, ow = p % G.OW, len = std::min(w - q, G.OW - ow);
          run_at[runs] = q;
          run_src[runs] = oh * QW + ow;
          run_len[runs] = len;
          q += len;
          p += len;
        }
        float* d = dst + (j0 / nr) * kc * nr + kk * nr;
        if (run_at[runs - 1] + run_len[runs - 1] == w && nr <= 64) {
          j.pack_runs(rows, src, runs, run_at, run_src, run_len, nr, d);
          continue;
        }
        // More runs than kMaxRuns (maps narrower than nr / 8): pixel by pixel.
        for (int64_t r = 0; r < rows; ++r, d += nr) {
          for (int64_t q = 0; q < w; ++q) {
            const int64_t p = first + j0 + q;
            d[q] = src[r][p / G.OW * QW + p % G.OW];
          }
          for (int64_t q = w; q < nr; ++q) d[q] = 0.f;
        }
      }
    }
  }

  // Splits the group's input (zero-padded, with the pre-op) into the 2 x 2
  // phases of a stride-2 window: phase (a, b) holds padded pixels
  // (2i + a, 2j + b). Kernels with one tap row or column keep only the
  // phases they read (a 1x1/2 conv: the even-even quarter of the image).
  // Element by element through a stride-2 gather, the packing was ~1/4 of
  // the stem's and the strided 1x1/3x3 convs' time.
  void build_phases(Job& j, int tid, ThreadPool* pool) {
    const ConvGeo& G = j.geo;
    const int64_t rows = G.KH > 1 ? 2 : 1, cols = G.KW > 1 ? 2 : 1;
    j.nph = rows * cols;
    j.QH = (G.PH + 1) / 2;
    j.QW = (G.PW + 1) / 2;
    const int64_t plane = j.QH * j.QW;
    std::vector<float>& buf = phases_[static_cast<size_t>(tid)];
    buf.resize(static_cast<size_t>(G.Cg * j.nph * plane));
    float* out = buf.data();
    const float* pre_s = j.pre ? pre_s_.data<float>() + j.c0 : nullptr;
    const float* pre_t = j.pre ? pre_t_.data<float>() + j.c0 : nullptr;
    const kernels::CopyS2Ukernel copy_s2 = kernels::copy_s2_ukernel_for(isa_);
    auto body = [&](int64_t c0, int64_t c1, int) {
      for (int64_t c = c0; c < c1; ++c) {
        const float* xc = j.x + c * G.H * G.W;
        for (int64_t a = 0; a < rows; ++a)
          for (int64_t b = 0; b < cols; ++b) {
            float* q = out + (c * j.nph + a * cols + b) * plane;
            // Columns jj with 0 <= 2*jj + b - pw < W, the same on every row.
            const int64_t off = b - G.pw;
            const int64_t lo = std::clamp<int64_t>((-off + 1) / 2, 0, j.QW);
            const int64_t hi = std::clamp<int64_t>((G.W - off + 1) / 2, lo, j.QW);
            // A plane with any padding is zeroed whole, once: row by row,
            // two fills of 1-8 floats per row were ~32K memset calls for
            // ResNet's 3x3/2 512@14 (6% of the conv, perf), and one call
            // over a plane (L1-sized) costs less than the row calls even
            // on the largest maps.
            const bool pad_rows = a - G.ph < 0 || 2 * (j.QH - 1) + a - G.ph >= G.H;
            if (pad_rows || lo > 0 || hi < j.QW) std::fill(q, q + plane, 0.f);
            const float st[2] = {pre_s ? pre_s[c] : 1.f, pre_s ? pre_t[c] : 0.f};
            for (int64_t i = 0; i < j.QH; ++i, q += j.QW) {
              const int64_t ih = 2 * i + a - G.ph;
              if (ih < 0 || ih >= G.H || hi <= lo) continue;
              copy_s2(xc + ih * G.W + 2 * lo + off, hi - lo, q + lo, pre_s ? st : nullptr);
            }
          }
      }
    };
    if (pool && pool->threads() > 1 && G.Cg > 1) pool->parallel_for(G.Cg, body);
    else body(0, G.Cg, 0);
    j.phases = out;
  }

  // For the transposed product's A panels: where each window tap (kh, kw)
  // of each output pixel reads in its channel's zero-padded plane (see
  // ConvGeo::PH, PW). Same for every channel, so packing is a table lookup.
  void build_gather_table(int64_t H, int64_t W, int64_t OH, int64_t OW) {
    if (tbl_h_ == H && tbl_w_ == W) return;
    const int64_t KH = geo_.kernel[0], KW = geo_.kernel[1], P = OH * OW;
    const int64_t PW = (OW - 1) * geo_.strides[1] + (KW - 1) * geo_.dilations[1] + 1;
    gather_.assign(static_cast<size_t>(KH * KW * P), 0);
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw)
        for (int64_t p = 0; p < P; ++p) {
          const int64_t r = p / OW * geo_.strides[0] + kh * geo_.dilations[0];
          const int64_t q = p % OW * geo_.strides[1] + kw * geo_.dilations[1];
          gather_[static_cast<size_t>((kh * KW + kw) * P + p)] = static_cast<int32_t>(r * PW + q);
        }
    tbl_h_ = H;
    tbl_w_ = W;
  }

  // A panels (transposed): MR pixels per step of the reduction. Pixels of
  // one output row read consecutive floats of the padded plane when the
  // stride is 1, so a panel is one or two runs of plain copies per tap
  // (element-wise through the gather table, packing was ~20% of a 3x3
  // conv at 7x7, perf); a full 7- or 16-pixel run is a fixed-size copy.
  static void pack_a_panels(const void* ctx, int64_t first, int64_t count, int64_t k0, int64_t kc, int mr, float* dst) {
    const Job& j = *static_cast<const Job*>(ctx);
    const ConvGeo& G = j.geo;
    for (int64_t i0 = 0; i0 < count; i0 += mr) {
      const int64_t rows = std::min<int64_t>(mr, count - i0), p = first + i0;
      float* d = dst + (i0 / mr) * kc * mr;
      if (j.pointwise) {
        if (rows == mr && pack_runs(mr, kc, j.x + k0 * G.P + p, G.P, d)) continue;
        for (int64_t kk = 0; kk < kc; ++kk, d += mr) {
          const float* src = j.x + (k0 + kk) * G.P + p;
          for (int64_t i = 0; i < rows; ++i) d[i] = src[i];
          for (int64_t i = rows; i < mr; ++i) d[i] = 0.f;
        }
        continue;
      }
      const int32_t* tbl = j.self->gather_.data();
      const int64_t taps = G.KH * G.KW;
      int64_t c = k0 / taps, tap = k0 % taps;
      // Runs of pixels along one output row: [i, i + len) of the panel.
      int64_t run_i[3], run_len[3], runs = 0;
      if (G.sw == 1)
        for (int64_t i = 0; i < rows && runs < 3;) {
          const int64_t len = std::min(rows - i, G.OW - (p + i) % G.OW);
          run_i[runs] = i;
          run_len[runs++] = len;
          i += len;
        }
      const bool by_runs = G.sw == 1 && runs < 3;
      if (by_runs && runs == 1 && rows == mr) {
        if (pack_tap_runs(mr, kc, j.xp, G.PH * G.PW, tbl + p, G.P, c, tap, taps, d)) continue;
      }
      for (int64_t kk = 0; kk < kc; ++kk, d += mr) {
        const float* xc = j.xp + c * G.PH * G.PW;
        const int32_t* idx = tbl + tap * G.P + p;
        if (by_runs) {
          for (int64_t r = 0; r < runs; ++r) {
            const float* src = xc + idx[run_i[r]];
            float* o = d + run_i[r];
            for (int64_t i = 0; i < run_len[r]; ++i) o[i] = src[i];
          }
        } else {
          for (int64_t i = 0; i < rows; ++i) d[i] = xc[idx[i]];
        }
        for (int64_t i = rows; i < mr; ++i) d[i] = 0.f;
        if (++tap == taps) {
          tap = 0;
          ++c;
        }
      }
    }
  }

  // A full panel of MR consecutive floats per reduction step, row kk at
  // src + kk * ld. False when MR has no fixed-size copy.
  static bool pack_runs(int mr, int64_t kc, const float* src, int64_t ld, float* d) {
    switch (mr) {
      case 7: return copy_rows<7>(kc, src, ld, d), true;
      case 16: return copy_rows<16>(kc, src, ld, d), true;
      case 6: return copy_rows<6>(kc, src, ld, d), true;
      default: return false;
    }
  }
  template <int MR>
  static void copy_rows(int64_t kc, const float* src, int64_t ld, float* d) {
    for (int64_t kk = 0; kk < kc; ++kk, d += MR, src += ld) std::memcpy(d, src, MR * sizeof(float));
  }

  // A full panel that is one run along an output row: for each reduction
  // step (channel c, tap), MR floats from the tap's offset in c's plane.
  static bool pack_tap_runs(int mr, int64_t kc, const float* xp, int64_t plane, const int32_t* tbl, int64_t P,
                            int64_t c, int64_t tap, int64_t taps, float* d) {
    switch (mr) {
      case 7: return copy_taps<7>(kc, xp, plane, tbl, P, c, tap, taps, d), true;
      case 16: return copy_taps<16>(kc, xp, plane, tbl, P, c, tap, taps, d), true;
      case 6: return copy_taps<6>(kc, xp, plane, tbl, P, c, tap, taps, d), true;
      default: return false;
    }
  }
  template <int MR>
  static void copy_taps(int64_t kc, const float* xp, int64_t plane, const int32_t* tbl, int64_t P, int64_t c,
                        int64_t tap, int64_t taps, float* d) {
    const float* xc = xp + c * plane;
    for (int64_t kk = 0; kk < kc; ++kk, d += MR) {
      std::memcpy(d, xc + tbl[tap * P], MR * sizeof(float));
      if (++tap == taps) {
        tap = 0;
        xc += plane;
      }
    }
  }


  // Output channels [m0, m1) of the group, pixels [n0, n1): bias, then the
  // fused epilogue, in place.
  static void finish_block(void* ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const Job& j = *static_cast<const Job*>(ctx);
    const ConvImplicitGemm& self = *j.self;
    const int64_t P = j.geo.P;
    if (self.b_.defined() && self.b_.numel()) {
      const float* bias = self.b_.data<float>() + j.oc0;
      for (int64_t c = m0; c < m1; ++c) {
        float* row = j.y + (j.oc0 + c) * P;
        for (int64_t i = n0; i < n1; ++i) row[i] += bias[c];
      }
    }
    if (!self.post_.empty())
      apply_post_ops_rows(self.post_, *j.k, j.y, j.n, j.OC, P, j.oc0 + m0, j.oc0 + m1, n0, n1, self.isa_);
  }

  // Pixels [m0, m1), output channels [n0, n1) of the transposed product:
  // written into the NCHW output with the bias, then the epilogue.
  static void finish_block_transposed(void* ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const Job& j = *static_cast<const Job*>(ctx);
    const ConvImplicitGemm& self = *j.self;
    const int64_t P = j.geo.P;
    // Bias always; ResNet's and MobileNet's epilogues (residual add,
    // ReLU/Clip) ride along in the same pass.
    const bool fused = self.register_epilogue_;
    const kernels::GemmEpilogue e = self.fused_epilogue(*j.k, j.n, j.OC, j.oc0, P);
    const float* bias = e.bias;
    const float* res = fused ? e.residual : nullptr;
    const bool clamp = fused && e.clamp;
    const float lo = e.lo, hi = e.hi;
    // In strips of 16 channels: each pixel's 16 values are one contiguous
    // read, and the 16 output rows are written sequentially. (Channel by
    // channel, the reads stride by OCg floats, 4 KB for 1024 channels, and
    // thrash L1's sets.)
    constexpr int64_t kStrip = 16;
    if (self.tr_uk_) {
      // 16 pixels x 16 channels at a time, transposed in registers.
      const float lh[2] = {lo, hi};
      for (int64_t c0 = n0; c0 < n1; c0 += kStrip) {
        const int64_t cols = std::min(n1, c0 + kStrip) - c0;
        float* out = j.y + (j.oc0 + c0) * P;
        const float* r = res ? res + c0 * P : nullptr;
        for (int64_t m = m0; m < m1; m += 16)
          self.tr_uk_(j.ct + m * j.OCg + c0, j.OCg, std::min<int64_t>(16, m1 - m), cols, out + m, P,
                      bias ? bias + c0 : nullptr, r ? r + m : nullptr, P, clamp ? lh : nullptr);
      }
      if (!fused && !self.post_.empty())
        apply_post_ops_rows(self.post_, *j.k, j.y, j.n, j.OC, P, j.oc0 + n0, j.oc0 + n1, m0, m1, self.isa_);
      return;
    }
    for (int64_t c0 = n0; c0 < n1; c0 += kStrip) {
      const int64_t c1 = std::min(n1, c0 + kStrip);
      float bs[kStrip];
      for (int64_t c = c0; c < c1; ++c) bs[c - c0] = bias ? bias[c] : 0.f;
      float* out = j.y + (j.oc0 + c0) * P;
      if (!res && !clamp) {
        for (int64_t m = m0; m < m1; ++m) {
          const float* src = j.ct + m * j.OCg + c0;
          for (int64_t c = 0; c < c1 - c0; ++c) out[c * P + m] = src[c] + bs[c];
        }
        continue;
      }
      const float* r = res ? res + c0 * P : nullptr;
      for (int64_t m = m0; m < m1; ++m) {
        const float* src = j.ct + m * j.OCg + c0;
        for (int64_t c = 0; c < c1 - c0; ++c) {
          float v = src[c] + bs[c];
          if (r) v += r[c * P + m];
          out[c * P + m] = clamp ? std::min(std::max(v, lo), hi) : v;
        }
      }
    }
    if (!fused && !self.post_.empty())
      apply_post_ops_rows(self.post_, *j.k, j.y, j.n, j.OC, P, j.oc0 + n0, j.oc0 + n1, m0, m1, self.isa_);
  }

  // Post-ops the GEMM applies to each tile in registers (bias, then a
  // residual add, then ReLU or Clip: ResNet's and MobileNet's whole
  // epilogues); others run on each finished block from finish_block.
  static bool is_clamp(const ops::PostOp& op) {
    return op.kind == ops::PostOpKind::kRelu || op.kind == ops::PostOpKind::kClip;
  }
  static bool fits_register_epilogue(const std::vector<ops::PostOp>& post) {
    if (post.empty()) return true;
    if (post.size() == 1) return is_clamp(post[0]) || post[0].kind == ops::PostOpKind::kSum;
    return post.size() == 2 && post[0].kind == ops::PostOpKind::kSum && is_clamp(post[1]);
  }
  // The register epilogue of image n's group starting at channel oc0:
  // bias, the residual (a post-op input), the clamp parsed at construction.
  kernels::GemmEpilogue fused_epilogue(const KernelContext& k, int64_t n, int64_t OC, int64_t oc0, int64_t P) const {
    kernels::GemmEpilogue e = epi_;
    if (b_.defined() && b_.numel()) e.bias = b_.data<float>() + oc0;
    if (sum_input_ >= 0) e.residual = k.in(static_cast<size_t>(sum_input_)).data<float>() + (n * OC + oc0) * P;
    e.ldr = P;
    return e;
  }

  bool is_1x1_unpadded_s1() const {
    return geo_.kernel[0] == 1 && geo_.kernel[1] == 1 && geo_.strides[0] == 1 && geo_.strides[1] == 1 &&
           geo_.pad_begin[0] == 0 && geo_.pad_begin[1] == 0 && geo_.pad_end[0] == 0 && geo_.pad_end[1] == 0;
  }
  bool is_pointwise() const {
    if (pre_s_.defined() && pre_s_.numel()) return false;  // the input must be transformed first
    return is_1x1_unpadded_s1();
  }

  Isa isa_;
  kernels::TransposeEpilogueUkernel tr_uk_;  // the transposed product's output pass at this ISA, or null
  ThreadPool* pool_;
  int64_t group_;
  ops::WindowGeometry geo_;
  Tensor w_, b_;
  std::vector<ops::PostOp> post_;
  bool register_epilogue_;
  kernels::GemmEpilogue epi_;  // clamp part of the register epilogue
  int sum_input_ = -1;         // node input of its residual, or -1
  std::vector<std::vector<float>> tmp_;  // transposed product per thread
  bool transposed_ = false;
  bool indirect_ = false;  // see plan_indirect
  bool bcast_ = false;     // see plan_bcast
  bool bcast_s1_ = false;  // its 1x1 stride-1 form
  bool bcast_phase_ = false;  // that form on a 1x1/2 conv's even-even phase (plan_bcast)
  const kernels::GemmUkernelInfo* uk_ = &kernels::gemm_ukernel_for(Isa::kScalar);  // set by choose_orientation
  std::vector<Tensor> wp_;   // per group: W packed for the chosen orientation
  Tensor pre_s_, pre_t_;
  std::vector<int32_t> gather_;  // see build_gather_table
  std::vector<float> apack_;     // A of the transposed product, packed once for all threads
  std::vector<std::vector<float>> xpad_;  // per thread: zero-padded input planes (transposed product)
  std::vector<std::vector<float>> phases_;  // per thread: stride-2 phase planes (see build_phases)
  std::vector<float> tail_;         // run_bcast: the last partial tile's pixels, 16 floats per channel
  std::vector<int32_t> tail_off_;   // and their reduction-row offsets
  std::vector<int32_t> kperm_;      // run_bcast: packed reduction row -> (c, kh, kw) row (plan_bcast)
  std::vector<float> top_;          // run_bcast in place: the first output row's window rows, zero-padded
  std::vector<int32_t> top_off_;    // and their reduction-row offsets
  std::vector<std::vector<int32_t>> ind_off_;  // per thread: run_indirect's reduction-row offsets
  int64_t tbl_h_ = -1, tbl_w_ = -1;
};

Result<std::unique_ptr<OpKernel>> create_conv(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const Value& x = g.value(n.inputs[0]);
  const Value& w = g.value(n.inputs[1]);
  if (x.dtype != DType::kF32) return unsupported("input dtype is " + std::string(dtype_name(x.dtype)) + ", not f32");
  if (x.shape.rank() != 4) return unsupported("not a 2-D convolution (input rank " + std::to_string(x.shape.rank()) + ")");
  if (!w.constant) return unsupported("weights are computed at run time");
  const bool has_bias = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
  if (has_bias && !g.value(n.inputs[2]).constant) return unsupported("bias is computed at run time");
  int64_t group = 1;
  ANVIL_TRY(n.attrs.get("group", group));
  ops::WindowGeometry geo;
  const std::vector<int64_t> in_sp{x.shape[2], x.shape[3]};
  const std::vector<int64_t> ker{w.shape[2], w.shape[3]};
  ANVIL_TRY(ops::resolve_window(in_sp, ker, n.attrs, false, geo));
  Tensor b = has_bias ? *g.value(n.inputs[2]).constant : Tensor();
  std::vector<ops::PostOp> post;
  if (n.op == "FusedConv") ANVIL_TRY(ops::parse_post_ops(n.attrs, ops::fused_conv_own_inputs(n.attrs), post));
  Tensor pre_s, pre_t;
  if (n.op == "FusedConv" && ops::has_pre_scale_shift(n.attrs)) {
    const Tensor* s = g.value(n.inputs[3]).constant ? &*g.value(n.inputs[3]).constant : nullptr;
    const Tensor* t = g.value(n.inputs[4]).constant ? &*g.value(n.inputs[4]).constant : nullptr;
    if (!s || !t) return unsupported("pre-op scale/shift computed at run time");
    pre_s = *s;
    pre_t = *t;
  }
  auto k = std::make_unique<ConvImplicitGemm>(cfg, group, std::move(geo), *w.constant, std::move(b), std::move(post));
  k->set_pre_scale_shift(std::move(pre_s), std::move(pre_t));
  const Shape& ys = g.value(n.outputs[0]).shape;
  k->plan_bcast(ys[3], ys[2] * ys[3], cfg);
  k->choose_orientation(ys[2] * ys[3], cfg);
  k->plan_indirect(ys[3]);
  return std::unique_ptr<OpKernel>(std::move(k));
}

}  // namespace

std::vector<KernelFactory> conv_kernel_factories() {
  return {{"conv2d_gemm", "Conv", create_conv}, {"conv2d_gemm", "FusedConv", create_conv}};
}

}  // namespace anvil

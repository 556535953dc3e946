// Convs with at most 4 input channels (network stems: ResNet's 7x7/2 and
// MobileNet's 3x3/2 on RGB), direct: vectors along the output row, the
// C*KH*KW taps as the reduction (kernels/conv_stem.h). As an implicit GEMM
// the reduction is only 27 (3x3x3) or 147 (7x7x3) long, so each 16x16 tile
// spends as much time on its epilogue and on packing its gathered B panel
// as on its products: MobileNetV2's stem ran at 35 GFLOP/s, 1.6x ONNX
// Runtime's time (bench/compare_layers.py).
//
// Per image, the input is copied once into zero-padded phase rows (stride
// 2: even and odd columns apart, so every tap is one contiguous load); then
// each thread takes whole output rows, in chunks of 16 rows, all output
// channels 4 at a time.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/conv_stem.h"
#include "kernels/copy.h"
#include "ops/op_util.h"
#include "ops/post_ops.h"
#include "runtime/kernel_registry.h"
#include "runtime/post_ops_rows.h"

namespace anvil {

namespace {

using kernels::kStemMR;

// Output rows a thread takes per pass over the output channels: within a
// chunk, each block of 4 channels runs all its rows, so its weights stay in
// L1 and it writes 4 planes in long runs instead of all 64 planes a row at
// a time. In the model (anvil profile, 4 alternated runs) MobileNetV2's
// stem took 0.46-0.50 ms against 0.53-0.68 row by row, ResNet-50's 7x7/2
// 2.4-3.0 against 2.8-3.1.
constexpr int64_t kRowChunk = 16;

class ConvDirectStem final : public OpKernel {
 public:
  ConvDirectStem(const KernelConfig& cfg, const kernels::ConvStemUkernelInfo& uk, ops::WindowGeometry geo,
                 const Tensor& w, const Tensor& b, std::vector<ops::PostOp> post)
      : uk_(uk), isa_(cfg.isa), pool_(cfg.pool), geo_(std::move(geo)), post_(std::move(post)) {
    OC_ = w.dim(0);
    C_ = w.dim(1);
    KH_ = w.dim(2);
    KW_ = w.dim(3);
    clamp_fused_ = ops::lone_clamp(post_, clamp_);
    const int64_t blocks = (OC_ + kStemMR - 1) / kStemMR, taps = C_ * KH_ * KW_;
    if (adopt_prepacked(cfg, {blocks * taps * kStemMR, blocks * kStemMR}, packed_)) return;
    // Weights as [oc block][c][kh][kw][4 output channels], the tail block
    // zero-padded; the bias padded the same way.
    Tensor wp(DType::kF32, Shape{blocks * taps * kStemMR});
    Tensor bp(DType::kF32, Shape{blocks * kStemMR});
    float* d = wp.data<float>();
    float* bd = bp.data<float>();
    std::fill(d, d + wp.numel(), 0.f);
    std::fill(bd, bd + bp.numel(), 0.f);
    const float* src = w.data<float>();
    for (int64_t o = 0; o < OC_; ++o) {
      for (int64_t t = 0; t < taps; ++t) d[((o / kStemMR) * taps + t) * kStemMR + o % kStemMR] = src[o * taps + t];
      if (b.defined() && b.numel()) bd[o] = b.data<float>()[o];
    }
    packed_ = {std::move(wp), std::move(bp)};
  }

  std::string name() const override { return std::string("conv2d_direct_stem:") + uk_.name; }
  std::vector<Tensor> packed() const override { return packed_; }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t N = x.dim(0), H = x.dim(2), W = x.dim(3), OH = y.dim(2), OW = y.dim(3), P = OH * OW;
    const int64_t S = geo_.strides[0], ph = geo_.pad_begin[0], pw = geo_.pad_begin[1];
    // Phase rows: the padded input rows the windows read, each as S rows of
    // every S-th column; LD covers the last vector's overreach.
    const int64_t PH = (OH - 1) * S + KH_;
    const int64_t vec_cols = (OW + 15) / 16 * 16;
    const int64_t LD = (vec_cols + (KW_ - 1) / S + 1 + 15) / 16 * 16;
    const int64_t rs = S * LD, cs = PH * rs;
    buf_.resize(static_cast<size_t>(C_ * cs));
    float* xp = buf_.data();
    const kernels::CopyS2Ukernel copy_s2 = kernels::copy_s2_ukernel_for(isa_);
    const float* wp = packed_[0].data<float>();
    const float* bp = packed_[1].data<float>();
    const int64_t blocks = (OC_ + kStemMR - 1) / kStemMR, taps = C_ * KH_ * KW_;
    // Output rows in column groups of at most the kernel's nr, split evenly (112:
    // 64 + 48 would leave the second group's fourth vector empty; 4 + 3
    // vectors it is).
    const int64_t nv = vec_cols / 16, groups = (nv + uk_.nr / 16 - 1) / (uk_.nr / 16);
    const int64_t group_v = (nv + groups - 1) / groups;
    const int T = pool_ ? pool_->threads() : 1;
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = x.data<float>() + n * C_ * H * W;
      float* yn = y.data<float>() + n * OC_ * P;
      auto prep = [&](int64_t r0, int64_t r1, int) {
        for (int64_t cr = r0; cr < r1; ++cr) {
          const int64_t c = cr / PH, r = cr % PH, ih = r - ph;
          for (int64_t q = 0; q < S; ++q) {
            float* d = xp + c * cs + r * rs + q * LD;
            if (ih < 0 || ih >= H) {
              std::fill(d, d + LD, 0.f);
              continue;
            }
            // Columns j with 0 <= j * S + q - pw < W.
            const int64_t lo = std::min(LD, std::max<int64_t>(0, (pw - q + S - 1) / S));
            const int64_t last = W - 1 - q + pw;  // j * S <= last
            const int64_t hi = last < 0 ? lo : std::max(lo, std::min(LD, last / S + 1));
            std::fill(d, d + lo, 0.f);
            const float* s = xn + (c * H + ih) * W + lo * S + q - pw;
            if (S == 1) std::memcpy(d + lo, s, static_cast<size_t>(hi - lo) * sizeof(float));
            else copy_s2(s, hi - lo, d + lo, nullptr);
            std::fill(d + hi, d + LD, 0.f);
          }
        }
      };
      auto rows = [&](int64_t o0, int64_t o1, int) {
        for (int64_t r0 = o0; r0 < o1; r0 += kRowChunk) {
          const int64_t r1 = std::min(o1, r0 + kRowChunk);
          for (int64_t blk = 0; blk < blocks; ++blk) {
            const int64_t oc0 = blk * kStemMR, mr = std::min<int64_t>(kStemMR, OC_ - oc0);
            for (int64_t oh = r0; oh < r1; ++oh) {
              const float* xr = xp + oh * S * rs;
              for (int64_t v0 = 0; v0 < nv; v0 += group_v) {
                const int64_t ow0 = v0 * 16, nc = std::min(group_v * 16, OW - ow0);
                uk_.fn(C_, KH_, KW_, S, xr + ow0, cs, rs, LD, wp + blk * taps * kStemMR, bp + oc0, mr, nc,
                       clamp_fused_ ? clamp_ : nullptr, yn + oc0 * P + oh * OW + ow0, P);
              }
            }
          }
          if (!clamp_fused_ && !post_.empty())
            apply_post_ops_rows(post_, k, yn, n, OC_, P, 0, OC_, r0 * OW, r1 * OW, isa_);
        }
      };
      if (pool_ && T > 1) {
        pool_->parallel_for(C_ * PH, prep);
        pool_->parallel_for_balanced(OH, kRowChunk, rows);
      } else {
        prep(0, C_ * PH, 0);
        rows(0, OH, 0);
      }
    }
    return Status::ok();
  }

 private:
  kernels::ConvStemUkernelInfo uk_;
  Isa isa_;
  ThreadPool* pool_;
  ops::WindowGeometry geo_;
  std::vector<ops::PostOp> post_;
  int64_t OC_ = 0, C_ = 0, KH_ = 0, KW_ = 0;
  float clamp_[2] = {0.f, 0.f};
  bool clamp_fused_ = false;
  std::vector<Tensor> packed_;  // weights, bias
  std::vector<float> buf_;      // the image's phase rows
};

Result<std::unique_ptr<OpKernel>> create_stem(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const kernels::ConvStemUkernelInfo& uk = kernels::conv_stem_ukernel_for(cfg.isa);
  if (!uk.fn) return unsupported("needs AVX2 (ISA is " + std::string(isa_name(cfg.isa)) + ")");
  const Value& x = g.value(n.inputs[0]);
  const Value& w = g.value(n.inputs[1]);
  if (x.dtype != DType::kF32) return unsupported("input dtype is " + std::string(dtype_name(x.dtype)) + ", not f32");
  if (x.shape.rank() != 4 || w.shape.rank() != 4) return unsupported("not a 2-D convolution");
  if (!w.constant) return unsupported("weights are computed at run time");
  int64_t group = 1;
  ANVIL_TRY(n.attrs.get("group", group));
  if (group != 1) return unsupported("grouped");
  const int64_t C = x.shape[1];
  // Past 4 channels the reduction is long enough for the GEMM kernels'
  // register tile, which reuses each loaded input for 16 output channels.
  if (C > 4) return unsupported(std::to_string(C) + " input channels, more than 4");
  if (w.shape[2] > kernels::kStemMaxKernel || w.shape[3] > kernels::kStemMaxKernel)
    return unsupported("kernel larger than " + std::to_string(kernels::kStemMaxKernel));
  if (n.op == "FusedConv" && ops::has_pre_scale_shift(n.attrs)) return unsupported("has an input pre-op");
  const bool has_bias = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
  if (has_bias && !g.value(n.inputs[2]).constant) return unsupported("bias is computed at run time");
  ops::WindowGeometry geo;
  ANVIL_TRY(ops::resolve_window({x.shape[2], x.shape[3]}, {w.shape[2], w.shape[3]}, n.attrs, false, geo));
  if (geo.strides[0] != geo.strides[1] || geo.strides[0] < 1 || geo.strides[0] > 2)
    return unsupported("strides are not 1x1 or 2x2");
  if (geo.dilations[0] != 1 || geo.dilations[1] != 1) return unsupported("dilated");
  std::vector<ops::PostOp> post;
  if (n.op == "FusedConv") ANVIL_TRY(ops::parse_post_ops(n.attrs, ops::fused_conv_own_inputs(n.attrs), post));
  const Tensor b = has_bias ? *g.value(n.inputs[2]).constant : Tensor();
  return std::unique_ptr<OpKernel>(std::make_unique<ConvDirectStem>(cfg, uk, std::move(geo), *w.constant, b, std::move(post)));
}

}  // namespace

std::vector<KernelFactory> conv_stem_kernel_factories() {
  return {{"conv2d_direct_stem", "Conv", create_stem}, {"conv2d_direct_stem", "FusedConv", create_stem}};
}

}  // namespace anvil

// FusedConvDw (ops/fused_conv_dw.cc): the pointwise Conv's output is made a
// strip of rows and a block of channels at a time into a per-thread buffer
// that stays in L2, and the depthwise Conv reads it there. Apart, MobileNet's
// 1x1 expansion at 112x112 wrote 4.8 MB that the depthwise conv read back
// at ~11 GB/s, 1.9x ONNX Runtime's time for that layer
// (bench/compare_layers.py).
//
// A work unit is (strip of output rows, block of 16 channels): the GEMM
// makes the block's channels for the input rows the strip's windows read
// (1 halo row per strip side is made twice), with the pointwise bias and
// ReLU/Clip in registers, reading the image's rows in place; then each
// channel's depthwise rows follow from the buffer. Strip sizes keep the
// buffer near 160 KB; units go to threads strip by strip, so a thread's
// blocks share the strip's input rows in L2.
#include <algorithm>
#include <atomic>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/copy.h"
#include "kernels/dwconv.h"
#include "kernels/gemm.h"
#include "ops/fused_conv_dw.h"
#include "ops/op_util.h"
#include "ops/post_ops.h"
#include "runtime/kernel_registry.h"
#include "runtime/per_thread.h"

namespace anvil {

namespace {

constexpr int64_t kDefaultStripBytes = 160 * 1024;
std::atomic<int64_t> g_strip_bytes{kDefaultStripBytes};

class ConvPwDwStrips final : public OpKernel {
 public:
  ConvPwDwStrips(const KernelConfig& cfg, const kernels::GemmUkernelInfo& uk, ops::WindowGeometry geo,
                 const Tensor& w1, const Tensor* b1, const Tensor& w2, const Tensor* b2, bool pw_on, float pw_lo,
                 float pw_hi, bool dw_on, float dw_lo, float dw_hi)
      : isa_(cfg.isa), pool_(cfg.pool), uk_(&uk), geo_(std::move(geo)), w2_(w2) {
    M_ = w1.dim(0);
    C_ = w1.dim(1);
    if (b1) b1_ = *b1;
    if (b2) b2_ = *b2;
    pw_clamp_ = pw_on;
    pw_lo_ = pw_lo;
    pw_hi_ = pw_hi;
    dw_clamp_[0] = dw_lo;
    dw_clamp_[1] = dw_hi;
    dw_on_ = dw_on;
    plane_uk_ = kernels::dwconv3x3_ukernel_for(isa_).fn ? &kernels::dwconv3x3_ukernel_for(isa_) : nullptr;
    row_uk_ = kernels::dwconv_ukernel_for(isa_);
    planes_.resize(static_cast<size_t>(pool_ ? pool_->threads() : 1));
    // Blocks of whole MR panels, 16 channels or the nearest multiple below.
    MB_ = std::max<int64_t>(1, 16 / uk_->mr) * uk_->mr;
    const int64_t blocks = (M_ + MB_ - 1) / MB_;
    std::vector<int64_t> numels;
    for (int64_t b = 0; b < blocks; ++b)
      numels.push_back(kernels::prepacked_a_numel(std::min(MB_, M_ - b * MB_), C_, *uk_));
    if (adopt_prepacked(cfg, numels, packed_)) return;
    for (int64_t b = 0; b < blocks; ++b)
      packed_.push_back(
          kernels::prepack_a(w1.data<float>() + b * MB_ * C_, C_, std::min(MB_, M_ - b * MB_), C_, *uk_));
  }

  std::string name() const override {
    return std::string("conv2d_pw_dw_strips:") + uk_->name + "+" + (plane_uk_ ? plane_uk_->name : row_uk_.name);
  }
  std::vector<Tensor> packed() const override { return packed_; }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t N = x.dim(0), H = x.dim(2), W = x.dim(3), OH = y.dim(2), OW = y.dim(3);
    const int64_t S = geo_.strides[0], ph = geo_.pad_begin[0], pw = geo_.pad_begin[1];
    const int64_t KH = geo_.kernel[0], KW = geo_.kernel[1];
    // Strips: input rows per strip within the buffer budget, at least one
    // output row's window.
    const int64_t row_bytes = MB_ * W * static_cast<int64_t>(sizeof(float));
    const int64_t rows_in = std::max<int64_t>(KH, g_strip_bytes.load() / row_bytes);
    // Output rows per strip in multiples of 4 where they fit: the AVX-512
    // plane kernel computes rows in blocks of 4, and a strip of 10 rows
    // paid for 12.
    int64_t max_out = std::max<int64_t>(1, (rows_in - KH) / S + 1);
    if (max_out >= 4) max_out = max_out / 4 * 4;
    const int64_t strips = (OH + max_out - 1) / max_out;
    int64_t rows_out = (OH + strips - 1) / strips;
    if (max_out >= 4) rows_out = std::min(max_out, (rows_out + 3) / 4 * 4);
    const int64_t blocks = (M_ + MB_ - 1) / MB_, units = strips * blocks;
    const int T = pool_ ? pool_->threads() : 1;
    bufs_.resize(static_cast<size_t>(T));
    const float* b1 = b1_.defined() && b1_.numel() ? b1_.data<float>() : nullptr;
    const float* b2 = b2_.defined() && b2_.numel() ? b2_.data<float>() : nullptr;
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = x.data<float>() + n * C_ * H * W;
      float* yn = y.data<float>() + n * M_ * OH * OW;
      auto body = [&](int64_t u0, int64_t u1, int tid) {
        std::vector<float>& buf = bufs_[static_cast<size_t>(tid)];
        for (int64_t u = u0; u < u1; ++u) {
          const int64_t s = u / blocks, blk = u % blocks;
          const int64_t o0 = s * rows_out, o1 = std::min(OH, o0 + rows_out);
          if (o0 >= o1) continue;
          // The input rows the strip's windows read, within the image.
          const int64_t r_lo = std::clamp<int64_t>(o0 * S - ph, 0, H);
          const int64_t r_hi = std::clamp<int64_t>((o1 - 1) * S - ph + KH, r_lo, H);
          const int64_t c0 = blk * MB_, mb = std::min(MB_, M_ - c0), npix = (r_hi - r_lo) * W;
          buf.resize(static_cast<size_t>(std::max<int64_t>(MB_ * rows_in * W, mb * npix)));
          if (npix > 0) {
            kernels::GemmEpilogue epi;
            epi.bias = b1 ? b1 + c0 : nullptr;
            epi.clamp = pw_clamp_;
            epi.lo = pw_lo_;
            epi.hi = pw_hi_;
            kernels::GemmArgs a;
            a.ukernel = uk_;
            a.M = mb;
            a.N = npix;
            a.K = C_;
            a.a_prepacked = packed_[static_cast<size_t>(blk)].data<float>();
            a.B = xn + r_lo * W;
            a.ldb = H * W;
            a.b_in_place = true;
            a.C = buf.data();
            a.ldc = npix;
            a.epilogue = &epi;
            kernels::sgemm_isa(a, isa_);
          }
          // Local geometry: the buffer's row 0 is input row r_lo.
          const int64_t lph = r_lo - (o0 * S - ph), loh = o1 - o0;
          for (int64_t j = 0; j < mb; ++j) {
            const int64_t c = c0 + j;
            float* yc = yn + c * OH * OW + o0 * OW;
            depthwise_rows(buf.data() + j * npix, r_hi - r_lo, W, lph, pw, loh, OW, S, KH, KW, c, b2, yc, tid);
          }
        }
      };
      if (pool_ && T > 1 && units > 1) {
        pool_->parallel_for_balanced(units, pool_->grain_for(units), body);
        equalize_capacity(bufs_);
        equalize_capacity(planes_);
      } else {
        body(0, units, 0);
      }
    }
    return Status::ok();
  }

 private:
  // One channel's output rows [0, loh) of a strip from its Hs x W rows
  // (row 0 = input row -lph of the strip's first window).
  void depthwise_rows(const float* xs, int64_t Hs, int64_t W, int64_t lph, int64_t pw, int64_t loh, int64_t OW,
                      int64_t S, int64_t KH, int64_t KW, int64_t c, const float* b2, float* y, int tid) {
    if (plane_uk_) {
      plane_uk_->fn(1, xs, Hs, W, w2_.data<float>() + c * 9, b2 ? b2 + c : nullptr, S, lph, pw, loh, OW,
                    dw_on_ ? dw_clamp_ : nullptr, y);
      return;
    }
    // Other ISAs: a zero-padded copy of the strip and the row microkernel,
    // as runtime/impl_dwconv.cc does for whole planes.
    const int64_t PH = (loh - 1) * S + KH, PW = (OW - 1) * S + KW;
    std::vector<float>& plane = planes_[static_cast<size_t>(tid)];
    plane.resize(static_cast<size_t>(PH * PW + 16));  // +16: the stride-2 kernel loads past the last tap
    kernels::pad_plane_ukernel_for(isa_)(xs, Hs, W, lph, pw, PH, PW, plane.data(), nullptr, nullptr);
    std::fill(plane.end() - 16, plane.end(), 0.f);
    const float* rows[16];
    for (int64_t oh = 0; oh < loh; ++oh) {
      for (int64_t kh = 0; kh < KH; ++kh) rows[kh] = plane.data() + (oh * S + kh) * PW;
      float* yr = y + oh * OW;
      row_uk_.fn(rows, w2_.data<float>() + c * KH * KW, KH, KW, S, 1, OW, b2 ? b2[c] : 0.f, yr);
      if (dw_on_)
        for (int64_t q = 0; q < OW; ++q) yr[q] = yr[q] < dw_clamp_[0] ? dw_clamp_[0] : yr[q] > dw_clamp_[1] ? dw_clamp_[1] : yr[q];
    }
  }

  Isa isa_;
  ThreadPool* pool_;
  const kernels::GemmUkernelInfo* uk_;
  const kernels::Dwconv3x3UkernelInfo* plane_uk_ = nullptr;
  kernels::DwconvUkernelInfo row_uk_;
  ops::WindowGeometry geo_;
  Tensor w2_, b1_, b2_;
  int64_t M_ = 0, C_ = 0, MB_ = 16;
  bool pw_clamp_ = false, dw_on_ = false;
  float pw_lo_ = 0.f, pw_hi_ = 0.f, dw_clamp_[2] = {0.f, 0.f};
  std::vector<Tensor> packed_;                // per block of MB_ channels: W1 packed for uk_
  std::vector<std::vector<float>> bufs_;      // per thread: the block's pointwise output for a strip
  std::vector<std::vector<float>> planes_;    // per thread: padded strip (ISAs without the plane kernel)
};

Result<std::unique_ptr<OpKernel>> create_pw_dw(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const Value& x = g.value(n.inputs[0]);
  if (x.dtype != DType::kF32) return unsupported("input dtype is " + std::string(dtype_name(x.dtype)) + ", not f32");
  if (x.shape.rank() != 4) return unsupported("not a 2-D convolution");
  const Value& w1 = g.value(n.inputs[1]);
  const Value& w2 = g.value(n.inputs[3]);
  if (!w1.constant || !w2.constant) return unsupported("weights are computed at run time");
  const Tensor* b1 = nullptr;
  const Tensor* b2 = nullptr;
  if (n.inputs[2] != kNoValue) {
    if (!g.value(n.inputs[2]).constant) return unsupported("pointwise bias is computed at run time");
    b1 = &*g.value(n.inputs[2]).constant;
  }
  if (n.inputs.size() > 4 && n.inputs[4] != kNoValue) {
    if (!g.value(n.inputs[4]).constant) return unsupported("depthwise bias is computed at run time");
    b2 = &*g.value(n.inputs[4]).constant;
  }
  ops::WindowGeometry geo;
  ANVIL_TRY(ops::resolve_window({x.shape[2], x.shape[3]}, {w2.shape[2], w2.shape[3]}, n.attrs, false, geo));
  if (geo.strides[0] != geo.strides[1] || geo.strides[0] > 2) return unsupported("strides are not 1x1 or 2x2");
  if (geo.dilations[0] != 1 || geo.dilations[1] != 1) return unsupported("dilated");
  if (geo.kernel[0] != 3 || geo.kernel[1] != 3) return unsupported("depthwise window is not 3x3");
  bool pw_on = false;
  float pw_lo = 0, pw_hi = 0;
  ANVIL_TRY(ops::pointwise_activation(n.attrs, pw_on, pw_lo, pw_hi));
  std::vector<ops::PostOp> post;
  ANVIL_TRY(ops::parse_post_ops(n.attrs, 5, post));
  float dw_clamp[2] = {0.f, 0.f};
  const bool dw_on = ops::lone_clamp(post, dw_clamp);
  const float dw_lo = dw_clamp[0], dw_hi = dw_clamp[1];
  if (!dw_on && !post.empty()) {
    return unsupported("depthwise post-ops other than one ReLU/Clip");
  }
  // The 16x16 tile where there is one (it reads the image's rows in place),
  // else the ISA's default microkernel, which packs them.
  const kernels::GemmUkernelInfo* uk = &kernels::gemm_ukernel_for(cfg.isa);
  for (const kernels::GemmUkernelInfo* u : kernels::gemm_ukernels(uk->isa))
    if (u->mr == 16 && u->nr == 16 && u->fn_ldb) uk = u;
  auto kern = std::make_unique<ConvPwDwStrips>(cfg, *uk, std::move(geo), *w1.constant, b1, *w2.constant, b2, pw_on,
                                               pw_lo, pw_hi, dw_on, dw_lo, dw_hi);
  return std::unique_ptr<OpKernel>(std::move(kern));
}

}  // namespace

void set_pw_dw_strip_bytes(int64_t bytes) { g_strip_bytes = bytes > 0 ? bytes : kDefaultStripBytes; }

std::vector<KernelFactory> conv_pw_dw_kernel_factories() {
  return {{"conv2d_pw_dw_strips", "FusedConvDw", create_pw_dw}};
}

}  // namespace anvil

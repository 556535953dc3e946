// Depthwise Conv 2-D (group == input channels == output channels), direct:
// each channel is copied once into a zero-padded plane the window reads,
// then every output row is one microkernel call (kernels/dwconv.h), and the
// bias and fused epilogue run on the channel's plane while it is in L1.
// The implicit GEMM does depthwise as one 1-row GEMM per channel, which
// leaves the register tile almost empty.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/copy.h"
#include "kernels/dwconv.h"
#include "ops/op_util.h"
#include "ops/post_ops.h"
#include "runtime/kernel_registry.h"
#include "runtime/per_thread.h"
#include "runtime/post_ops_rows.h"

namespace anvil {

namespace {

class DepthwiseConv2d final : public OpKernel {
 public:
  DepthwiseConv2d(const KernelConfig& cfg, ops::WindowGeometry geo, Tensor w, Tensor b, std::vector<ops::PostOp> post)
      : uk_(kernels::dwconv_ukernel_for(cfg.isa)), pad_uk_(kernels::pad_plane_ukernel_for(cfg.isa)), isa_(cfg.isa),
        pool_(cfg.pool), geo_(std::move(geo)), w_(std::move(w)),
        b_(std::move(b)), post_(std::move(post)) {
    // 3x3, stride 1 or 2, no dilation: the whole-plane kernel, with a lone
    // ReLU/Clip epilogue (MobileNet's ReLU6) fused in.
    const auto& k3 = kernels::dwconv3x3_ukernel_for(cfg.isa);
    if (k3.fn && geo_.kernel[0] == 3 && geo_.kernel[1] == 3 && geo_.dilations[0] == 1 && geo_.dilations[1] == 1 &&
        geo_.strides[0] == geo_.strides[1] && (geo_.strides[0] == 1 || geo_.strides[0] == 2)) {
      plane_uk_ = &k3;
      clamp_fused_ = ops::lone_clamp(post_, clamp_);
    }
  }

  std::string name() const override {
    return std::string("dwconv2d_direct:") + (plane_uk_ ? plane_uk_->name : uk_.name);
  }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const int64_t OH = y.dim(2), OW = y.dim(3);
    const int64_t KH = geo_.kernel[0], KW = geo_.kernel[1];
    const int64_t sh = geo_.strides[0], sw = geo_.strides[1], dh = geo_.dilations[0], dw = geo_.dilations[1];
    const int64_t ph = geo_.pad_begin[0], pw = geo_.pad_begin[1];
    // The part of the (padded) input the windows read.
    const int64_t PH = (OH - 1) * sh + (KH - 1) * dh + 1, PW = (OW - 1) * sw + (KW - 1) * dw + 1;
    const int T = pool_ ? pool_->threads() : 1;
    planes_.resize(static_cast<size_t>(T));
    rows_.resize(static_cast<size_t>(T));
    const float* xin = x.data<float>();
    float* out = y.data<float>();
    const float* wts = w_.data<float>();
    const float* bias = b_.defined() && b_.numel() ? b_.data<float>() : nullptr;
    if (plane_uk_) {
      // Runs of channels within one image per kernel call; post-ops other
      // than a lone clamp then follow on the run while it is in cache.
      auto body3 = [&](int64_t b, int64_t e, int) {
        for (int64_t nc = b; nc < e;) {
          const int64_t n = nc / C, c = nc % C, cnt = std::min(e - nc, C - c);
          plane_uk_->fn(cnt, xin + nc * H * W, H, W, wts + c * 9, bias ? bias + c : nullptr, sh, ph, pw, OH, OW,
                        clamp_fused_ ? clamp_ : nullptr, out + nc * OH * OW);
          if (!clamp_fused_ && !post_.empty())
            apply_post_ops_rows(post_, k, out + n * C * OH * OW, n, C, OH * OW, c, c + cnt, 0, OH * OW, isa_);
          nc += cnt;
        }
      };
      if (pool_ && T > 1 && N * C > 1) pool_->parallel_for_balanced(N * C, pool_->grain_for(N * C), body3);
      else body3(0, N * C, 0);
      return Status::ok();
    }
    auto body = [&](int64_t b, int64_t e, int tid) {
      std::vector<float>& plane = planes_[static_cast<size_t>(tid)];
      // +16: the stride-2 microkernel loads one vector past the last tap.
      plane.resize(static_cast<size_t>(PH * PW + 16));
      std::vector<const float*>& rows = rows_[static_cast<size_t>(tid)];
      rows.resize(static_cast<size_t>(KH));
      for (int64_t nc = b; nc < e; ++nc) {
        const int64_t n = nc / C, c = nc % C;
        const float* xc = xin + nc * H * W;
        pad_uk_(xc, H, W, ph, pw, PH, PW, plane.data(), nullptr, nullptr);
        std::fill(plane.end() - 16, plane.end(), 0.f);
        float* yc = out + nc * OH * OW;
        const float bv = bias ? bias[c] : 0.f;
        for (int64_t oh = 0; oh < OH; ++oh) {
          for (int64_t kh = 0; kh < KH; ++kh) rows[static_cast<size_t>(kh)] = plane.data() + (oh * sh + kh * dh) * PW;
          uk_.fn(rows.data(), wts + c * KH * KW, KH, KW, sw, dw, OW, bv, yc + oh * OW);
        }
        if (!post_.empty()) apply_post_ops_rows(post_, k, out + n * C * OH * OW, n, C, OH * OW, c, c + 1, 0, OH * OW, isa_);
      }
    };
    if (pool_ && T > 1 && N * C > 1) {
      pool_->parallel_for_balanced(N * C, pool_->grain_for(N * C), body);
      equalize_capacity(planes_);
      equalize_capacity(rows_);
    } else {
      body(0, N * C, 0);
    }
    return Status::ok();
  }

 private:
  kernels::DwconvUkernelInfo uk_;
  kernels::PadPlaneUkernel pad_uk_;
  Isa isa_;
  const kernels::Dwconv3x3UkernelInfo* plane_uk_ = nullptr;
  float clamp_[2] = {0.f, 0.f};
  bool clamp_fused_ = false;
  ThreadPool* pool_;
  ops::WindowGeometry geo_;
  Tensor w_, b_;
  std::vector<ops::PostOp> post_;
  std::vector<std::vector<float>> planes_;  // padded input channel, per thread
  // Per thread, the window's input rows for the row microkernel: kept, as
  // planes_, so that a run after the first allocates nothing.
  std::vector<std::vector<const float*>> rows_;
};

Result<std::unique_ptr<OpKernel>> create_dwconv(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const Value& x = g.value(n.inputs[0]);
  const Value& w = g.value(n.inputs[1]);
  if (x.dtype != DType::kF32) return unsupported("input dtype is " + std::string(dtype_name(x.dtype)) + ", not f32");
  if (x.shape.rank() != 4) return unsupported("not a 2-D convolution (input rank " + std::to_string(x.shape.rank()) + ")");
  if (!w.constant) return unsupported("weights are computed at run time");
  int64_t group = 1;
  ANVIL_TRY(n.attrs.get("group", group));
  const int64_t C = x.shape[1], OC = w.shape[0];
  if (group == 1 || group != C || OC != C)
    return unsupported("not depthwise (group " + std::to_string(group) + ", " + std::to_string(C) + " -> " +
                       std::to_string(OC) + " channels)");
  if (n.op == "FusedConv" && ops::has_pre_scale_shift(n.attrs)) return unsupported("has an input pre-op");
  const bool has_bias = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
  if (has_bias && !g.value(n.inputs[2]).constant) return unsupported("bias is computed at run time");
  ops::WindowGeometry geo;
  ANVIL_TRY(ops::resolve_window({x.shape[2], x.shape[3]}, {w.shape[2], w.shape[3]}, n.attrs, false, geo));
  std::vector<ops::PostOp> post;
  if (n.op == "FusedConv") ANVIL_TRY(ops::parse_post_ops(n.attrs, ops::fused_conv_own_inputs(n.attrs), post));
  Tensor b = has_bias ? *g.value(n.inputs[2]).constant : Tensor();
  return std::unique_ptr<OpKernel>(
      std::make_unique<DepthwiseConv2d>(cfg, std::move(geo), *w.constant, std::move(b), std::move(post)));
}

}  // namespace

std::vector<KernelFactory> dwconv_kernel_factories() {
  return {{"dwconv2d_direct", "Conv", create_dwconv}, {"dwconv2d_direct", "FusedConv", create_dwconv}};
}

}  // namespace anvil

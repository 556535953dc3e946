// 2-D MaxPool on NCHW f32 without the Indices output: per output row, the
// valid kernel taps are computed once so the inner loop over output columns
// has no bounds checks; planes are split between threads. GlobalAveragePool
// on NCHW f32 (ResNet's and MobileNetV2's head): a plane kernel, planes
// split between threads.
#include <algorithm>
#include <limits>

#include "core/thread_pool.h"
#include "kernels/pool.h"
#include "ops/op_util.h"
#include "runtime/kernel_registry.h"

namespace anvil {

namespace {

class MaxPool2d final : public OpKernel {
 public:
  MaxPool2d(const KernelConfig& cfg, ops::WindowGeometry geo) : pool_(cfg.pool), geo_(std::move(geo)) {
    if (geo_.kernel[0] == 3 && geo_.kernel[1] == 3 && geo_.strides[0] == 2 && geo_.strides[1] == 2 &&
        geo_.dilations[0] == 1 && geo_.dilations[1] == 1 && geo_.pad_begin[1] <= 2)
      k3s2_ = kernels::maxpool3x3s2_ukernel_for(cfg.isa);
  }
  std::string name() const override {
    return k3s2_ ? "maxpool2d_nchw:f32_pool_max_3x3s2_ukernel_1x16__avx512" : "maxpool2d_nchw:direct";
  }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t planes = x.dim(0) * x.dim(1);
    auto body = [&](int64_t b, int64_t e, int) {
      for (int64_t p = b; p < e; ++p) plane(x.data<float>() + p * x.dim(2) * x.dim(3), x.dim(2), x.dim(3),
                                            y.data<float>() + p * y.dim(2) * y.dim(3), y.dim(2), y.dim(3));
    };
    if (pool_ && planes * y.dim(2) * y.dim(3) >= (1 << 14)) pool_->parallel_for(planes, body);
    else body(0, planes, 0);
    return Status::ok();
  }

 private:
  void plane(const float* in, int64_t H, int64_t W, float* out, int64_t OH, int64_t OW) const {
    if (k3s2_) return k3s2_(in, H, W, geo_.pad_begin[0], geo_.pad_begin[1], OH, OW, out);
    const int64_t KH = geo_.kernel[0], KW = geo_.kernel[1], sh = geo_.strides[0], sw = geo_.strides[1];
    const int64_t dh = geo_.dilations[0], dw = geo_.dilations[1], ph = geo_.pad_begin[0], pw = geo_.pad_begin[1];
    for (int64_t oh = 0; oh < OH; ++oh) {
      float* o = out + oh * OW;
      // lowest(), not -inf: a window entirely in padding yields what the reference
      // and MXNet give (-FLT_MAX).
      std::fill(o, o + OW, std::numeric_limits<float>::lowest());
      for (int64_t kh = 0; kh < KH; ++kh) {
        const int64_t ih = oh * sh - ph + kh * dh;
        if (ih < 0 || ih >= H) continue;
        const float* row = in + ih * W;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const int64_t off = kw * dw - pw;
          // ow range with 0 <= ow*sw + off < W
          int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
          int64_t hi = W - off <= 0 ? 0 : (W - off - 1) / sw + 1;
          hi = std::min(hi, OW);
          if (sw == 1) {
            for (int64_t ow = lo; ow < hi; ++ow) o[ow] = std::max(o[ow], row[ow + off]);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) o[ow] = std::max(o[ow], row[ow * sw + off]);
          }
        }
      }
    }
  }

  ThreadPool* pool_;
  ops::WindowGeometry geo_;
  kernels::MaxPool3x3s2PlaneUkernel k3s2_ = nullptr;  // 3x3/2 at this ISA, or the loop below
};

Result<std::unique_ptr<OpKernel>> create_maxpool(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const Value& x = g.value(n.inputs[0]);
  if (x.dtype != DType::kF32) return unsupported("not f32");
  if (x.shape.rank() != 4) return unsupported("not 2-D pooling");
  if (n.outputs.size() > 1) return unsupported("the Indices output is requested");
  ops::WindowGeometry geo;
  ANVIL_TRY(ops::resolve_window({x.shape[2], x.shape[3]}, n.attrs.ints("kernel_shape"), n.attrs, true, geo));
  // The inferred output size (ceil_mode etc.) is authoritative; windows that
  // start inside the end padding were already dropped by shape inference.
  const Shape& ys = g.value(n.outputs[0]).shape;
  if (ys[2] != geo.out[0] || ys[3] != geo.out[1]) return unsupported("output geometry differs from the window plan");
  return std::unique_ptr<OpKernel>(new MaxPool2d(cfg, std::move(geo)));
}

class GlobalAvgPool final : public OpKernel {
 public:
  explicit GlobalAvgPool(const KernelConfig& cfg) : pool_(cfg.pool), uk_(kernels::gavgpool_ukernel_for(cfg.isa)) {}
  std::string name() const override {
    return uk_ == kernels::f32_pool_gavg_ukernel_1x16__avx512 ? "gavgpool_nchw:f32_pool_gavg_ukernel_1x16__avx512"
                                                               : "gavgpool_nchw:f32_pool_gavg_ukernel_1x1__scalar";
  }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    const int64_t planes = x.dim(0) * x.dim(1), n = planes ? x.numel() / planes : 0;
    const float* src = x.data<float>();
    float* dst = k.out(0).data<float>();
    auto body = [&](int64_t b, int64_t e, int) { uk_(src + b * n, e - b, n, dst + b); };
    // A fork-join costs a few microseconds: only for planes worth more.
    if (pool_ && planes * n >= (1 << 16)) pool_->parallel_for(planes, body);
    else body(0, planes, 0);
    return Status::ok();
  }

 private:
  ThreadPool* pool_;
  kernels::GlobalAvgPoolUkernel uk_;
};

Result<std::unique_ptr<OpKernel>> create_gavgpool(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const Value& x = g.value(n.inputs[0]);
  if (x.dtype != DType::kF32) return unsupported("not f32");
  if (x.shape.rank() < 3) return unsupported("no spatial dimension");
  if (x.shape.numel() <= 0) return unsupported("empty input");
  return std::unique_ptr<OpKernel>(new GlobalAvgPool(cfg));
}

}  // namespace

std::vector<KernelFactory> pool_kernel_factories() {
  return {{"maxpool2d", "MaxPool", create_maxpool}, {"gavgpool", "GlobalAveragePool", create_gavgpool}};
}

}  // namespace anvil

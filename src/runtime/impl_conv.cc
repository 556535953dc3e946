// Conv 2-D as im2col + packed GEMM: the general fast path for any group,
// stride, dilation and padding (NCHW). 1x1/stride-1/unpadded convs skip
// im2col: the input already is the GEMM's B matrix.
#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "ops/op_util.h"
#include "ops/post_ops.h"
#include "runtime/kernel_registry.h"

namespace anvil {

namespace {

class ConvIm2colGemm final : public OpKernel {
 public:
  ConvIm2colGemm(const KernelConfig& cfg, int64_t group, ops::WindowGeometry geo, Tensor weights, Tensor bias,
                 std::vector<ops::PostOp> post)
      : isa_(cfg.isa), pool_(cfg.pool), group_(group), geo_(std::move(geo)), w_(std::move(weights)),
        b_(std::move(bias)), post_(std::move(post)) {}

  std::string name() const override {
    return std::string(is_pointwise() ? "conv2d_1x1_gemm" : "conv2d_im2col_gemm") + (transposed_ ? "_t:" : ":") +
           kernels::gemm_ukernel_for(isa_).name;
  }

  // Per-input-channel x*s + t applied while building the im2col matrix, so
  // padded positions stay zero.
  void set_pre_scale_shift(Tensor s, Tensor t) {
    pre_s_ = std::move(s);
    pre_t_ = std::move(t);
  }

  // Picks the GEMM orientation from the output size: with few output
  // pixels per image (late ResNet stages: 7x7, 4x4) the pixel dimension
  // fills only part of the NR-wide register tile, while output channels
  // (multiples of 16/64 in real nets) fill it completely.
  void choose_orientation(int64_t pixels) {
    const int64_t OC = w_.dim(0), OCg = OC / group_, K = w_.numel() / OC;
    const int nr = kernels::gemm_ukernel_for(isa_).nr;
    auto util = [nr](int64_t n) { return double(n) / double((n + nr - 1) / nr * nr); };
    transposed_ = util(pixels) < 0.85 && util(OCg) > util(pixels);
    if (!transposed_) {
      wp_.clear();
      for (int64_t g = 0; g < group_; ++g)
        wp_.push_back(kernels::prepack_a(w_.data<float>() + g * OCg * K, K, OCg, K, isa_));
      return;
    }
    wt_.clear();
    for (int64_t g = 0; g < group_; ++g)
      wt_.push_back(kernels::prepack_b(w_.data<float>() + g * OCg * K, K, K, OCg, /*trans_b=*/true, isa_));
  }

  Status run(KernelContext& k) override {
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t N = x.dim(0), C = x.dim(1);
    const int64_t OC = y.dim(1);
    const int T = pool_ ? pool_->threads() : 1;
    cols_.resize(static_cast<size_t>(T));
    tmp_.resize(static_cast<size_t>(T));
    // Many groups (depthwise, grouped): one group per task, each thread with
    // its own im2col buffer. Few groups: im2col and the GEMM are split.
    if (group_ >= T && T > 1) {
      for (int64_t n = 0; n < N; ++n)
        pool_->parallel_for(group_, [&](int64_t b, int64_t e, int tid) {
          for (int64_t g = b; g < e; ++g) run_group(k, n, g, tid, nullptr);
        });
      return Status::ok();
    }
    (void)C;
    (void)OC;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < group_; ++g) run_group(k, n, g, 0, pool_);
    return Status::ok();
  }

 private:
  // `tid` selects this thread's scratch buffers; `pool` splits the work
  // inside the group (null when groups themselves run in parallel).
  void run_group(KernelContext& k, int64_t n, int64_t g, int tid, ThreadPool* pool) {
    std::vector<float>& col = cols_[static_cast<size_t>(tid)];
    const Tensor& x = k.in(0);
    Tensor& y = k.out(0);
    const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const int64_t OC = y.dim(1), OH = y.dim(2), OW = y.dim(3);
    const int64_t KH = geo_.kernel[0], KW = geo_.kernel[1];
    const int64_t Cg = C / group_, OCg = OC / group_;
    const int64_t Kdim = Cg * KH * KW, P = OH * OW;
    const float* xin = x.data<float>() + (n * C + g * Cg) * H * W;
    const float* B = xin;
    if (!is_pointwise()) {
      col.resize(static_cast<size_t>(Kdim * P));
      auto fill = [&](int64_t c0, int64_t c1, int) {
        im2col(xin, g * Cg, c0, c1, H, W, OH, OW, KH, KW, col.data() + c0 * KH * KW * P);
      };
      if (pool && Kdim * P >= (1 << 15)) pool->parallel_for(Cg, fill);
      else fill(0, Cg, 0);
      B = col.data();
    }
    float* out = y.data<float>() + (n * OC + g * OCg) * P;
    const float* bias = b_.defined() && b_.numel() ? b_.data<float>() + g * OCg : nullptr;
    kernels::GemmArgs a;
    if (!transposed_) {
      a.M = OCg;
      a.N = P;
      a.K = Kdim;
      a.A = w_.data<float>() + g * OCg * Kdim;
      a.lda = Kdim;
      a.a_prepacked = wp_[static_cast<size_t>(g)].data();
      a.B = B;
      a.ldb = P;
      a.C = out;
      a.ldc = P;
      a.bias = bias;
      kernels::sgemm_parallel(a, isa_, pool);
    } else {
      // out^T[P x OCg] = cols^T[P x K] * W^T[K x OCg]: output channels become
      // the vectorised dimension, which stays full when P is small.
      std::vector<float>& t = tmp_[static_cast<size_t>(tid)];
      t.resize(static_cast<size_t>(P * OCg));
      a.M = P;
      a.N = OCg;
      a.K = Kdim;
      a.A = B;
      a.lda = P;
      a.trans_a = true;
      a.b_prepacked = wt_[static_cast<size_t>(g)].data();
      a.C = t.data();
      a.ldc = OCg;
      a.bias = bias;
      a.bias_per_column = true;
      kernels::sgemm_parallel(a, isa_, pool);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t o = 0; o < OCg; ++o) out[o * P + p] = t[static_cast<size_t>(p * OCg + o)];
    }
    a.C = out;
    if (post_.empty()) return;
    // The epilogue runs on the block just written, while it is in cache.
    auto epilogue = [&](int64_t c0, int64_t c1, int) {
      ops::apply_post_ops(post_, k, a.C + c0 * P, n, OC, g * OCg + c0, c1 - c0, P);
    };
    if (pool && OCg * P >= (1 << 14)) pool->parallel_for(OCg, epilogue);
    else epilogue(0, OCg, 0);
  }

  bool is_pointwise() const {
    if (pre_s_.defined() && pre_s_.numel()) return false;  // the input must be transformed first
    return geo_.kernel[0] == 1 && geo_.kernel[1] == 1 && geo_.strides[0] == 1 && geo_.strides[1] == 1 &&
           geo_.pad_begin[0] == 0 && geo_.pad_begin[1] == 0 && geo_.pad_end[0] == 0 && geo_.pad_end[1] == 0;
  }

  // x points at the group's first channel, which is channel `c_global0`.
  void im2col(const float* x, int64_t c_global0, int64_t c_begin, int64_t c_end, int64_t H, int64_t W, int64_t OH,
              int64_t OW, int64_t KH, int64_t KW, float* dst) const {
    const bool pre = pre_s_.defined() && pre_s_.numel() > 0;
    const int64_t sh = geo_.strides[0], sw = geo_.strides[1];
    const int64_t dh = geo_.dilations[0], dw = geo_.dilations[1];
    const int64_t ph = geo_.pad_begin[0], pw = geo_.pad_begin[1];
    for (int64_t c = c_begin; c < c_end; ++c) {
      const float* xc = x + c * H * W;
      const float ps = pre ? pre_s_.data<float>()[c_global0 + c] : 1.f;
      const float pt = pre ? pre_t_.data<float>()[c_global0 + c] : 0.f;
      for (int64_t kh = 0; kh < KH; ++kh) {
        for (int64_t kw = 0; kw < KW; ++kw) {
          for (int64_t oh = 0; oh < OH; ++oh) {
            const int64_t ih = oh * sh - ph + kh * dh;
            float* row = dst + oh * OW;
            if (ih < 0 || ih >= H) {
              std::fill(row, row + OW, 0.f);
              continue;
            }
            const float* xr = xc + ih * W;
            const int64_t off = kw * dw - pw;
            if (sw == 1) {
              // Valid ow range where 0 <= ow + off < W; zeros outside.
              const int64_t lo = std::clamp<int64_t>(-off, 0, OW), hi = std::clamp<int64_t>(W - off, lo, OW);
              std::fill(row, row + lo, 0.f);
              std::memcpy(row + lo, xr + lo + off, static_cast<size_t>(hi - lo) * sizeof(float));
              if (pre)
                for (int64_t i = lo; i < hi; ++i) row[i] = row[i] * ps + pt;
              std::fill(row + hi, row + OW, 0.f);
            } else {
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw = ow * sw + off;
                row[ow] = (iw >= 0 && iw < W) ? xr[iw] * ps + pt : 0.f;
              }
            }
          }
          dst += OH * OW;
        }
      }
    }
  }

  Isa isa_;
  ThreadPool* pool_;
  int64_t group_;
  ops::WindowGeometry geo_;
  Tensor w_, b_;
  std::vector<ops::PostOp> post_;
  std::vector<std::vector<float>> cols_;  // im2col buffer per thread
  std::vector<std::vector<float>> tmp_;   // transposed output per thread
  bool transposed_ = false;
  std::vector<std::vector<float>> wt_;
  std::vector<std::vector<float>> wp_;
  Tensor pre_s_, pre_t_;    // per group: W prepacked for the direct GEMM    // per group: W^T prepacked for the transposed GEMM
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
  auto k = std::make_unique<ConvIm2colGemm>(cfg, group, std::move(geo), *w.constant, std::move(b), std::move(post));
  k->set_pre_scale_shift(std::move(pre_s), std::move(pre_t));
  const Shape& ys = g.value(n.outputs[0]).shape;
  k->choose_orientation(ys[2] * ys[3]);
  return std::unique_ptr<OpKernel>(std::move(k));
}

}  // namespace

std::vector<KernelFactory> conv_kernel_factories() {
  return {{"conv2d_gemm", "Conv", create_conv}, {"conv2d_gemm", "FusedConv", create_conv}};
}

}  // namespace anvil

// Conv: N-d grouped, dilated, strided convolution (NCHW / NCDHW, OIHW weights).
#include <algorithm>

#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Output positions o in [0, out) whose input index o*stride + offset lies in
// [0, in). Computing this once per kernel tap lets the innermost loop run
// without a bounds check, which is what makes it vectorisable.
void valid_range(int64_t out, int64_t in, int64_t stride, int64_t offset, int64_t& lo, int64_t& hi) {
  lo = std::max<int64_t>(0, -floor_div(offset, stride));
  hi = std::min<int64_t>(out, floor_div(in - 1 - offset, stride) + 1);
  if (hi < lo) hi = lo;
}

struct ConvParams {
  int64_t N, C, M, G;
  std::vector<int64_t> in, out;  // spatial
  WindowGeometry geo;
};

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "Conv", "X", {DType::kF32, DType::kF64}));
  ANVIL_TRY(check_dtype(c, 1, "Conv", "W", {DType::kF32, DType::kF64}));
  ANVIL_TRY(check_same_dtype(c, 1, "Conv", "X", "W"));
  ANVIL_TRY(check_same_dtype(c, 2, "Conv", "X", "B"));
  const InputInfo& x = c.in(0);
  const InputInfo& w = c.in(1);
  const size_t rank = x.shape.rank();
  if (rank < 3) {
    return invalid_model("Conv: X " + type_desc(x) + " must have rank >= 3 (N, C and at least one spatial dim)");
  }
  if (w.shape.rank() != rank) {
    return invalid_model("Conv: W " + type_desc(w) + " must have the rank of X " + type_desc(x));
  }
  int64_t group = 1;
  ANVIL_TRY(c.node.attrs.get("group", group));
  if (group < 1) return invalid_model("Conv: attribute 'group' is " + std::to_string(group) + ", must be >= 1");
  const int64_t C = x.shape[1], M = w.shape[0], Cg = w.shape[1];
  if (dim_known(C) && dim_known(Cg) && C != Cg * group) {
    return invalid_model("Conv: input channels " + std::to_string(C) + " (X " + type_desc(x) +
                         ") != W channels*group " + std::to_string(Cg) + "*" + std::to_string(group) + " (W " +
                         type_desc(w) + ")");
  }
  if (dim_known(M) && M % group != 0) {
    return invalid_model("Conv: output channels " + std::to_string(M) + " (W " + type_desc(w) +
                         ") are not divisible by group " + std::to_string(group));
  }
  std::vector<int64_t> kernel(w.shape.dims().begin() + 2, w.shape.dims().end());
  if (c.node.attrs.has("kernel_shape")) {
    std::vector<int64_t> ks;
    ANVIL_TRY(c.node.attrs.get("kernel_shape", ks));
    if (ks.size() != kernel.size()) {
      return invalid_model("Conv: attribute 'kernel_shape' " + int_list_str(ks) + " has " + std::to_string(ks.size()) +
                           " values but W " + type_desc(w) + " has " + std::to_string(kernel.size()) +
                           " spatial dims");
    }
    for (size_t i = 0; i < ks.size(); ++i) {
      if (dim_known(kernel[i]) && ks[i] != kernel[i]) {
        return invalid_model("Conv: attribute 'kernel_shape' " + int_list_str(ks) + " does not match W " +
                             type_desc(w));
      }
    }
    kernel = ks;
  }
  if (c.has_input(2)) {
    const InputInfo& b = c.in(2);
    if (b.shape.rank() != 1 || (dim_known(M) && dim_known(b.shape[0]) && b.shape[0] != M)) {
      return invalid_model("Conv: bias B " + type_desc(b) + " must have shape [" + std::to_string(M) +
                           "] (output channels of W " + type_desc(w) + ")");
    }
  }
  std::vector<int64_t> in_spatial(x.shape.dims().begin() + 2, x.shape.dims().end());
  WindowGeometry geo;
  Status s = resolve_window(in_spatial, kernel, c.node.attrs, /*ceil_mode_allowed=*/false, geo);
  if (!s.is_ok()) return std::move(s).with_context("Conv (X " + type_desc(x) + ", W " + type_desc(w) + ")");
  std::vector<int64_t> out = {x.shape[0], M};
  out.insert(out.end(), geo.out.begin(), geo.out.end());
  c.out(0) = {x.dtype, Shape(std::move(out))};
  return Status::ok();
}

int64_t flops(const InferContext& c) {
  const Shape& w = c.in(1).shape;
  int64_t per_out = 2;
  for (size_t i = 1; i < w.rank(); ++i) per_out *= w[i];  // (C/group) * prod(kernel)
  return out_numel(c) * per_out;
}

// 2-D path (1-D runs through it with H = 1). Loop order n, g, oc, ic, kh, kw,
// oh, ow: one output plane stays hot in cache while every input plane of the
// group is accumulated into it, and the ow loop is a unit-stride axpy for
// stride-1 convolutions.
template <class T>
void conv2d(const T* __restrict x, const T* __restrict w, const T* __restrict bias, T* __restrict y, int64_t N,
            int64_t C, int64_t H, int64_t W, int64_t M, int64_t G, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
            int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t ph, int64_t pw) {
  const int64_t Cg = C / G, Mg = M / G;
  const int64_t in_plane = H * W, out_plane = OH * OW;
  // A 1x1 stride-1 unpadded conv is a GEMM over the flattened plane: one
  // long axpy per (oc, ic) instead of OH short ones.
  const bool pointwise = KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && OH == H && OW == W;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < G; ++g) {
      for (int64_t oc = 0; oc < Mg; ++oc) {
        const int64_t m = g * Mg + oc;
        T* __restrict yp = y + (n * M + m) * out_plane;
        const T b0 = bias ? bias[m] : T(0);
        for (int64_t i = 0; i < out_plane; ++i) yp[i] = b0;
        for (int64_t ic = 0; ic < Cg; ++ic) {
          const T* __restrict xp = x + (n * C + g * Cg + ic) * in_plane;
          const T* __restrict wp = w + (m * Cg + ic) * KH * KW;
          if (pointwise) {
            const T wv = wp[0];
            for (int64_t i = 0; i < out_plane; ++i) yp[i] += wv * xp[i];
            continue;
          }
          for (int64_t kh = 0; kh < KH; ++kh) {
            const int64_t h_off = kh * dh - ph;
            int64_t oh0, oh1;
            valid_range(OH, H, sh, h_off, oh0, oh1);
            for (int64_t kw = 0; kw < KW; ++kw) {
              const T wv = wp[kh * KW + kw];
              const int64_t w_off = kw * dw - pw;
              int64_t ow0, ow1;
              valid_range(OW, W, sw, w_off, ow0, ow1);
              for (int64_t oh = oh0; oh < oh1; ++oh) {
                T* __restrict yr = yp + oh * OW;
                const T* __restrict xr = xp + (oh * sh + h_off) * W;
                if (sw == 1) {
                  for (int64_t ow = ow0; ow < ow1; ++ow) yr[ow] += wv * xr[ow + w_off];
                } else {
                  for (int64_t ow = ow0; ow < ow1; ++ow) yr[ow] += wv * xr[ow * sw + w_off];
                }
              }
            }
          }
        }
      }
    }
  }
}

// Any number of spatial dims (used for 3-D and up). Same structure as the
// 2-D path: for each kernel tap, rows of the output (all spatial dims but
// the last) are visited with an odometer, and the last dim is a bounds-free
// inner loop.
template <class T>
void conv_nd(const T* __restrict x, const T* __restrict w, const T* __restrict bias, T* __restrict y,
             const ConvParams& p) {
  const size_t nd = p.in.size();
  const int64_t Cg = p.C / p.G, Mg = p.M / p.G;
  const std::vector<int64_t>& K = p.geo.kernel;
  int64_t in_plane = 1, out_plane = 1, k_size = 1;
  for (size_t d = 0; d < nd; ++d) {
    in_plane *= p.in[d];
    out_plane *= p.out[d];
    k_size *= K[d];
  }
  std::vector<int64_t> in_strides(nd, 1);
  for (size_t d = nd - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * p.in[d + 1];
  const int64_t L_in = p.in[nd - 1], L_out = p.out[nd - 1], s_last = p.geo.strides[nd - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < nd; ++d) rows *= p.out[d];

  std::vector<int64_t> kidx(nd), offs(nd);
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t g = 0; g < p.G; ++g) {
      for (int64_t oc = 0; oc < Mg; ++oc) {
        const int64_t m = g * Mg + oc;
        T* __restrict yp = y + (n * p.M + m) * out_plane;
        const T b0 = bias ? bias[m] : T(0);
        for (int64_t i = 0; i < out_plane; ++i) yp[i] = b0;
        for (int64_t ic = 0; ic < Cg; ++ic) {
          const T* __restrict xp = x + (n * p.C + g * Cg + ic) * in_plane;
          const T* __restrict wp = w + (m * Cg + ic) * k_size;
          for (int64_t kt = 0; kt < k_size; ++kt) {
            for (int64_t rem = kt, d = static_cast<int64_t>(nd) - 1; d >= 0; --d) {
              kidx[d] = rem % K[d];
              rem /= K[d];
              offs[d] = kidx[d] * p.geo.dilations[d] - p.geo.pad_begin[d];
            }
            const T wv = wp[kt];
            int64_t o0, o1;
            valid_range(L_out, L_in, s_last, offs[nd - 1], o0, o1);
            if (o0 >= o1) continue;
            for (int64_t r = 0; r < rows; ++r) {
              int64_t in_off = 0;
              bool inside = true;
              for (int64_t rem = r, d = static_cast<int64_t>(nd) - 2; d >= 0; --d) {
                const int64_t o = rem % p.out[d];
                rem /= p.out[d];
                const int64_t i = o * p.geo.strides[d] + offs[d];
                if (i < 0 || i >= p.in[d]) {
                  inside = false;
                  break;
                }
                in_off += i * in_strides[d];
              }
              if (!inside) continue;
              T* __restrict yr = yp + r * L_out;
              const T* __restrict xr = xp + in_off;
              const int64_t off_last = offs[nd - 1];
              for (int64_t o = o0; o < o1; ++o) yr[o] += wv * xr[o * s_last + off_last];
            }
          }
        }
      }
    }
  }
}

Status run(KernelContext& k) {
  const Tensor& x = k.in(0);
  const Tensor& w = k.in(1);
  const Tensor* b = k.has_input(2) ? &k.in(2) : nullptr;
  Tensor& y = k.out(0);
  ConvParams p;
  p.N = x.dim(0);
  p.C = x.dim(1);
  p.M = w.dim(0);
  p.G = k.node.attrs.i("group", 1);
  p.in.assign(x.shape().dims().begin() + 2, x.shape().dims().end());
  p.out.assign(y.shape().dims().begin() + 2, y.shape().dims().end());
  const std::vector<int64_t> kernel(w.shape().dims().begin() + 2, w.shape().dims().end());
  ANVIL_TRY(resolve_window(p.in, kernel, k.node.attrs, false, p.geo));
  if (y.numel() == 0) return Status::ok();
  return dispatch_float(x.dtype(), [&]<class T>() {
    const T* bias = b ? b->data<T>() : nullptr;
    const WindowGeometry& g = p.geo;
    if (p.in.size() == 2) {
      conv2d<T>(x.data<T>(), w.data<T>(), bias, y.data<T>(), p.N, p.C, p.in[0], p.in[1], p.M, p.G, g.kernel[0],
                g.kernel[1], p.out[0], p.out[1], g.strides[0], g.strides[1], g.dilations[0], g.dilations[1],
                g.pad_begin[0], g.pad_begin[1]);
    } else if (p.in.size() == 1) {
      conv2d<T>(x.data<T>(), w.data<T>(), bias, y.data<T>(), p.N, p.C, 1, p.in[0], p.M, p.G, 1, g.kernel[0], 1,
                p.out[0], 1, g.strides[0], 1, g.dilations[0], 0, g.pad_begin[0]);
    } else {
      conv_nd<T>(x.data<T>(), w.data<T>(), bias, y.data<T>(), p);
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Conv, {.name = "Conv",
                         .min_inputs = 2, .max_inputs = 3,
                         .infer = anvil::ops::infer,
                         .flops = anvil::ops::flops,
                         .reference = anvil::ops::run,
                         .foldable = false})

// Shared by Softmax and LogSoftmax (opset 13 semantics, or opset < 13 with
// legacy_2d=1: the input is coerced to 2-D at `axis`).
#pragma once
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/nn_util.h"

namespace anvil::ops {

// outer x n x inner view of the input for the (normalised) axis.
struct SoftmaxView {
  int64_t outer = 1, n = 1, inner = 1;
};

inline Status softmax_view(const Shape& s, const Attrs& attrs, const char* op, SoftmaxView& v) {
  int64_t legacy = 0;
  ANVIL_TRY(attrs.get("legacy_2d", legacy));
  if (legacy != 0 && legacy != 1) {
    return invalid_model(std::string(op) + ": attribute 'legacy_2d' is " + std::to_string(legacy) + ", expected 0 or 1");
  }
  int64_t axis = legacy ? 1 : -1;
  ANVIL_TRY(attrs.get("axis", axis));
  const int64_t rank = static_cast<int64_t>(s.rank());
  if (rank == 0) return invalid_model(std::string(op) + ": input must have rank >= 1, got a scalar");
  // opset < 13 also accepts axis == rank (everything in the outer part).
  if (!(legacy && axis == rank)) {
    Status st = normalize_axis(axis, rank, "axis");
    if (!st.is_ok()) return std::move(st).with_context(std::string(op) + " (input [" + s.str() + "])");
  }
  v = {};
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) v.outer *= s[d];
    else if (d == axis || legacy) v.n *= s[d];
    else v.inner *= s[d];
  }
  return Status::ok();
}

inline Status softmax_infer(InferContext& c, const char* op) {
  ANVIL_TRY(check_dtype(c, 0, op, "input", {DType::kF32, DType::kF64}));
  SoftmaxView v;
  ANVIL_TRY(softmax_view(c.in(0).shape, c.node.attrs, op, v));
  c.out(0) = {c.in(0).dtype, c.in(0).shape};
  return Status::ok();
}

template <bool kLog>
Status softmax_run(KernelContext& k, const char* op) {
  const Tensor& x = k.in(0);
  Tensor& y = k.out(0);
  SoftmaxView v;
  ANVIL_TRY(softmax_view(x.shape(), k.node.attrs, op, v));
  return dispatch_float(x.dtype(), [&]<class T>() {
    const int64_t n = v.n, inner = v.inner;
    // Per-column running max and sum over the `inner` positions, so every
    // pass reads rows contiguously (vectorisable for inner > 1).
    // On the stack for the usual last-axis softmax (inner 1): a classifier's
    // head then runs without touching the heap.
    constexpr int64_t kStack = 16;
    std::array<T, kStack> mx_s, sum_s;
    std::vector<T> mx_v, sum_v;
    if (inner > kStack) {
      mx_v.resize(static_cast<size_t>(inner));
      sum_v.resize(static_cast<size_t>(inner));
    }
    T* const mx = inner > kStack ? mx_v.data() : mx_s.data();
    T* const sum = inner > kStack ? sum_v.data() : sum_s.data();
    for (int64_t o = 0; o < v.outer; ++o) {
      const T* __restrict xs = x.data<T>() + o * n * inner;
      T* __restrict ys = y.data<T>() + o * n * inner;
      for (int64_t i = 0; i < inner; ++i) {
        mx[i] = -std::numeric_limits<T>::infinity();
        sum[i] = T(0);
      }
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < inner; ++i) mx[i] = xs[j * inner + i] > mx[i] ? xs[j * inner + i] : mx[i];
      // Subtracting the max keeps exp() from overflowing.
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t i = 0; i < inner; ++i) {
          const T e = std::exp(xs[j * inner + i] - mx[i]);
          if constexpr (!kLog) ys[j * inner + i] = e;
          sum[i] += e;
        }
      }
      for (int64_t i = 0; i < inner; ++i) sum[i] = kLog ? std::log(sum[i]) : T(1) / sum[i];
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t i = 0; i < inner; ++i) {
          if constexpr (kLog) {
            ys[j * inner + i] = xs[j * inner + i] - mx[i] - sum[i];
          } else {
            ys[j * inner + i] *= sum[i];
          }
        }
      }
    }
  });
}

}  // namespace anvil::ops

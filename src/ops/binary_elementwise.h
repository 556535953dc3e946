// Broadcasting binary arithmetic shared by Add, Sub, Mul, Div and Sum.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/movement_util.h"
#include "ops/op_util.h"

namespace anvil::ops {

// Signed overflow is undefined in C++, but ONNX runtimes wrap; doing the
// arithmetic in the unsigned type gives the same two's-complement result.
template <class T, bool = std::is_integral_v<T> && std::is_signed_v<T>>
struct WrapType { using type = T; };
template <class T>
struct WrapType<T, true> { using type = std::make_unsigned_t<T>; };
template <class T>
using wrap_t = typename WrapType<T>::type;

struct AddOp {
  template <class T> static T apply(T a, T b) { return static_cast<T>(wrap_t<T>(a) + wrap_t<T>(b)); }
};
struct SubOp {
  template <class T> static T apply(T a, T b) { return static_cast<T>(wrap_t<T>(a) - wrap_t<T>(b)); }
};
struct MulOp {
  template <class T> static T apply(T a, T b) { return static_cast<T>(wrap_t<T>(a) * wrap_t<T>(b)); }
};
struct DivOp {
  // Integer division truncates toward zero (C semantics). Callers reject
  // zero divisors first; MIN / -1 overflows, so it is negated with wrapping.
  template <class T> static T apply(T a, T b) {
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      if (b == T(-1)) return static_cast<T>(wrap_t<T>(0) - wrap_t<T>(a));
    }
    return static_cast<T>(a / b);
  }
};

// Output-shape-sized loop nest for y = op(a, b) with a and b broadcast to
// y's shape. Dimensions that are 1 in the output are dropped and adjacent
// dimensions that are contiguous (or broadcast) in both inputs are merged,
// so per-channel and scalar operands end up as a stride-0 inner loop.
struct BroadcastLoop {
  std::vector<int64_t> dims, sa, sb;

  BroadcastLoop(const Shape& a, const Shape& b, const Shape& y) {
    const std::vector<int64_t> fa = broadcast_strides(a, y), fb = broadcast_strides(b, y);
    for (size_t i = 0; i < y.rank(); ++i) {
      if (y[i] == 1) continue;
      if (!dims.empty() && sa.back() == fa[i] * y[i] && sb.back() == fb[i] * y[i]) {
        dims.back() *= y[i];
        sa.back() = fa[i];
        sb.back() = fb[i];
        continue;
      }
      dims.push_back(y[i]);
      sa.push_back(fa[i]);
      sb.push_back(fb[i]);
    }
  }
};

template <class Op, class T>
void broadcast_binary(const T* a, const Shape& as, const T* b, const Shape& bs, T* y, const Shape& ys) {
  const int64_t n = ys.numel();
  if (n == 0) return;
  if (as == ys && bs == ys) {
    for (int64_t i = 0; i < n; ++i) y[i] = Op::apply(a[i], b[i]);
    return;
  }
  if (as == ys && bs.numel() == 1) {
    const T bv = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = Op::apply(a[i], bv);
    return;
  }
  if (bs == ys && as.numel() == 1) {
    const T av = a[0];
    for (int64_t i = 0; i < n; ++i) y[i] = Op::apply(av, b[i]);
    return;
  }
  const BroadcastLoop loop(as, bs, ys);
  if (loop.dims.empty()) {  // every dimension is 1
    y[0] = Op::apply(a[0], b[0]);
    return;
  }
  const size_t r = loop.dims.size();
  const int64_t inner = loop.dims[r - 1];
  const int64_t isa = loop.sa[r - 1], isb = loop.sb[r - 1];
  std::vector<int64_t> idx(r, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t done = 0; done < n; done += inner) {
    const T* pa = a + oa;
    const T* pb = b + ob;
    T* py = y + done;
    if (isa == 1 && isb == 1) {
      for (int64_t j = 0; j < inner; ++j) py[j] = Op::apply(pa[j], pb[j]);
    } else if (isa == 1 && isb == 0) {
      const T bv = pb[0];
      for (int64_t j = 0; j < inner; ++j) py[j] = Op::apply(pa[j], bv);
    } else if (isa == 0 && isb == 1) {
      const T av = pa[0];
      for (int64_t j = 0; j < inner; ++j) py[j] = Op::apply(av, pb[j]);
    } else {
      for (int64_t j = 0; j < inner; ++j) py[j] = Op::apply(pa[j * isa], pb[j * isb]);
    }
    // Odometer over the outer dimensions.
    for (size_t d = r - 1; d-- > 0;) {
      oa += loop.sa[d];
      ob += loop.sb[d];
      if (++idx[d] < loop.dims[d]) break;
      oa -= loop.sa[d] * loop.dims[d];
      ob -= loop.sb[d] * loop.dims[d];
      idx[d] = 0;
    }
  }
}

inline Status expect_arithmetic_dtype(const InferContext& c, size_t i) {
  return expect_dtype(c, i, {DType::kF32, DType::kF64, DType::kI32, DType::kI64, DType::kI8, DType::kU8});
}

// Shape inference for ops whose inputs all share one arithmetic dtype and
// broadcast together (Add, Sub, Mul, Div, Sum).
inline Status infer_broadcasting_arithmetic(InferContext& c) {
  if (c.num_inputs() == 0) return invalid_model(c.node.op + ": needs at least one input");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    ANVIL_TRY(expect_arithmetic_dtype(c, i));
    if (c.in(i).dtype != c.in(0).dtype) {
      return invalid_model(c.node.op + ": inputs must share one dtype, but " + input_str(c, 0) + " and " +
                           input_str(c, i) + " differ");
    }
    shapes.push_back(c.in(i).shape);
  }
  Shape out;
  Status s = broadcast_shapes(shapes, out);
  if (!s.is_ok()) return std::move(s).with_context(c.node.op);
  c.out(0) = {c.in(0).dtype, out};
  return Status::ok();
}

// Integer division by zero is undefined behaviour in C++ and has no ONNX
// meaning, so it is reported rather than computed.
inline Status check_no_integer_zero(const KernelContext& k, const Tensor& divisor) {
  Status bad = Status::ok();
  Status s = dispatch_dtype(divisor.dtype(), [&]<class T>() {
    if constexpr (std::is_integral_v<T>) {
      const T* d = divisor.data<T>();
      for (int64_t i = 0, n = divisor.numel(); i < n; ++i) {
        if (d[i] == T(0)) {
          bad = invalid_argument(k.node.op + ": integer division by zero (divisor " + divisor.desc() +
                                 " has a zero at flat index " + std::to_string(i) + ")");
          return;
        }
      }
    }
  });
  ANVIL_TRY(s);
  return bad;
}

template <class Op>
Status run_binary(KernelContext& k) {
  const Tensor& a = k.in(0);
  const Tensor& b = k.in(1);
  Tensor& y = k.out(0);
  if constexpr (std::is_same_v<Op, DivOp>) ANVIL_TRY(check_no_integer_zero(k, b));
  Status bad = Status::ok();
  Status s = dispatch_dtype(a.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      bad = unsupported(k.node.op + ": bool operands are not supported");
    } else {
      broadcast_binary<Op, T>(a.data<T>(), a.shape(), b.data<T>(), b.shape(), y.data<T>(), y.shape());
    }
  });
  ANVIL_TRY(s);
  return bad;
}

inline int64_t elementwise_flops(const InferContext& c) { return out_numel(c); }

}  // namespace anvil::ops

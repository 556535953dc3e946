// Gemm: Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A (likewise B),
// C broadcast unidirectionally to [M, N].
#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

constexpr std::initializer_list<DType> kValidElsewhere = {DType::kF16, DType::kBF16, DType::kI32, DType::kI64};

Status read_flag(const Attrs& attrs, const char* name, int64_t& v) {
  v = 0;
  ANVIL_TRY(attrs.get(name, v));
  if (v != 0 && v != 1) {
    return invalid_model(std::string("Gemm: attribute '") + name + "' is " + std::to_string(v) + ", expected 0 or 1");
  }
  return Status::ok();
}

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "Gemm", "A", {DType::kF32, DType::kF64}, kValidElsewhere));
  ANVIL_TRY(check_dtype(c, 1, "Gemm", "B", {DType::kF32, DType::kF64}, kValidElsewhere));
  ANVIL_TRY(check_same_dtype(c, 1, "Gemm", "A", "B"));
  ANVIL_TRY(check_same_dtype(c, 2, "Gemm", "A", "C"));
  int64_t ta = 0, tb = 0;
  ANVIL_TRY(read_flag(c.node.attrs, "transA", ta));
  ANVIL_TRY(read_flag(c.node.attrs, "transB", tb));
  float alpha = 1.0f, beta = 1.0f;
  ANVIL_TRY(c.node.attrs.get("alpha", alpha));
  ANVIL_TRY(c.node.attrs.get("beta", beta));
  const InputInfo& a = c.in(0);
  const InputInfo& b = c.in(1);
  if (a.shape.rank() != 2) return invalid_model("Gemm: A " + type_desc(a) + " must be 2-D");
  if (b.shape.rank() != 2) return invalid_model("Gemm: B " + type_desc(b) + " must be 2-D");
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t Kb = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
  if (dim_known(K) && dim_known(Kb) && K != Kb) {
    return invalid_model("Gemm: inner dimensions differ: A " + type_desc(a) + " (transA=" + std::to_string(ta) +
                         ") gives K=" + std::to_string(K) + ", B " + type_desc(b) + " (transB=" +
                         std::to_string(tb) + ") gives K=" + std::to_string(Kb));
  }
  const Shape mn{M, N};
  if (c.has_input(2)) {
    const InputInfo& ci = c.in(2);
    Shape bc;
    Status s = broadcast_shapes({mn, ci.shape}, bc);
    if (ci.shape.rank() > 2 || !s.is_ok() || bc != mn) {
      return invalid_model("Gemm: C " + type_desc(ci) + " is not unidirectionally broadcastable to [M, N] = [" +
                           mn.str() + "]");
    }
  }
  c.out(0) = {a.dtype, mn};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& a = k.in(0);
  const Tensor& b = k.in(1);
  Tensor& y = k.out(0);
  const bool ta = k.node.attrs.i("transA", 0) != 0, tb = k.node.attrs.i("transB", 0) != 0;
  const double alpha = k.node.attrs.f("alpha", 1.0f), beta = k.node.attrs.f("beta", 1.0f);
  const int64_t M = y.dim(0), N = y.dim(1);
  const int64_t K = ta ? a.dim(0) : a.dim(1);
  return dispatch_float(a.dtype(), [&]<class T>() {
    T* yd = y.data<T>();
    if (k.has_input(2) && beta != 0.0) {
      const Tensor& ct = k.in(2);
      const std::vector<int64_t> cs = broadcast_strides(ct.shape(), y.shape());
      const T* cd = ct.data<T>();
      const T bt = static_cast<T>(beta);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) yd[i * N + j] = bt * cd[i * cs[0] + j * cs[1]];
    } else {
      for (int64_t i = 0; i < M * N; ++i) yd[i] = T(0);
    }
    // Materialise alpha*A' and B' row-major (cheap next to the M*N*K
    // product) so the product is always the vectorisable i-k-j loop.
    const T* ap = a.data<T>();
    std::vector<T> abuf;
    if (ta || alpha != 1.0) {
      abuf.resize(static_cast<size_t>(M * K));
      const T al = static_cast<T>(alpha);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t kk = 0; kk < K; ++kk) abuf[i * K + kk] = al * (ta ? ap[kk * M + i] : ap[i * K + kk]);
      ap = abuf.data();
    }
    const T* bp = b.data<T>();
    std::vector<T> bbuf;
    if (tb) {
      bbuf.resize(static_cast<size_t>(K * N));
      for (int64_t j = 0; j < N; ++j)
        for (int64_t kk = 0; kk < K; ++kk) bbuf[kk * N + j] = bp[j * K + kk];
      bp = bbuf.data();
    }
    gemm_ikj<T>(M, N, K, ap, K, bp, N, yd, N);
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(Gemm, {.name = "Gemm",
                         .min_inputs = 2, .max_inputs = 3,
                         .infer = anvil::ops::infer,
                         .flops = [](const anvil::InferContext& c) {
                           const anvil::Shape& a = c.in(0).shape;
                           return 2 * anvil::ops::out_numel(c) * (c.node.attrs.i("transA", 0) ? a[0] : a[1]);
                         },
                         .reference = anvil::ops::run,
                         .foldable = false})

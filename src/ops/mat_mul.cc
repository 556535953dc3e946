// MatMul: numpy matmul semantics (1-D operands promoted and the added axis
// removed again; leading batch dims broadcast).
#include "ops/nn_util.h"

namespace anvil::ops {
namespace {

constexpr std::initializer_list<DType> kTypes = {DType::kF32, DType::kF64, DType::kI32, DType::kI64};

// Batch dims of the broadcast result plus M, K, N, following numpy.
struct MatMulDims {
  Shape batch;  // broadcast batch dims
  Shape a_batch, b_batch;
  int64_t M = 0, K = 0, Kb = 0, N = 0;
  Shape out;
};

Status matmul_dims(const Shape& as, const Shape& bs, MatMulDims& d, const std::string& what) {
  if (as.rank() == 0 || bs.rank() == 0) return invalid_model("MatMul: operands must have rank >= 1, got " + what);
  std::vector<int64_t> a = as.dims(), b = bs.dims();
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  d.M = a[a.size() - 2];
  d.K = a[a.size() - 1];
  d.Kb = b[b.size() - 2];
  d.N = b[b.size() - 1];
  if (dim_known(d.K) && dim_known(d.Kb) && d.K != d.Kb) {
    return invalid_model("MatMul: inner dimensions differ (" + std::to_string(d.K) + " vs " + std::to_string(d.Kb) +
                         ") for " + what);
  }
  d.a_batch = Shape(std::vector<int64_t>(a.begin(), a.end() - 2));
  d.b_batch = Shape(std::vector<int64_t>(b.begin(), b.end() - 2));
  Status s = broadcast_shapes({d.a_batch, d.b_batch}, d.batch);
  if (!s.is_ok()) return invalid_model("MatMul: batch dimensions do not broadcast for " + what + ": " + s.message());
  std::vector<int64_t> out = d.batch.dims();
  if (!a1) out.push_back(d.M);
  if (!b1) out.push_back(d.N);
  d.out = Shape(std::move(out));
  return Status::ok();
}

Status infer(InferContext& c) {
  ANVIL_TRY(check_dtype(c, 0, "MatMul", "A", kTypes));
  ANVIL_TRY(check_dtype(c, 1, "MatMul", "B", kTypes));
  ANVIL_TRY(check_same_dtype(c, 1, "MatMul", "A", "B"));
  MatMulDims d;
  ANVIL_TRY(matmul_dims(c.in(0).shape, c.in(1).shape, d, "A " + type_desc(c.in(0)) + " and B " + type_desc(c.in(1))));
  c.out(0) = {c.in(0).dtype, d.out};
  return Status::ok();
}

Status run(KernelContext& k) {
  const Tensor& a = k.in(0);
  const Tensor& b = k.in(1);
  Tensor& y = k.out(0);
  MatMulDims d;
  ANVIL_TRY(matmul_dims(a.shape(), b.shape(), d, a.desc() + " and " + b.desc()));
  const std::vector<int64_t> as = broadcast_strides(d.a_batch, d.batch);
  const std::vector<int64_t> bs = broadcast_strides(d.b_batch, d.batch);
  const int64_t nb = d.batch.numel();
  const int64_t M = d.M, K = d.K, N = d.N;
  const size_t br = d.batch.rank();
  return dispatch_numeric(a.dtype(), [&]<class T>() {
    const T* ad = a.data<T>();
    const T* bd = b.data<T>();
    T* yd = y.data<T>();
    for (int64_t i = 0; i < y.numel(); ++i) yd[i] = T(0);
    for (int64_t bi = 0; bi < nb; ++bi) {
      // broadcast_strides are in units of whole matrices.
      int64_t ao = 0, bo = 0;
      for (int64_t rem = bi, dd = static_cast<int64_t>(br) - 1; dd >= 0; --dd) {
        const int64_t idx = rem % d.batch[dd];
        rem /= d.batch[dd];
        ao += idx * as[dd];
        bo += idx * bs[dd];
      }
      gemm_ikj<T>(M, N, K, ad + ao * M * K, K, bd + bo * K * N, N, yd + bi * M * N, N);
    }
  });
}

}  // namespace
}  // namespace anvil::ops

ANVIL_REGISTER_OP(MatMul, {.name = "MatMul",
                           .min_inputs = 2, .max_inputs = 2,
                           .infer = anvil::ops::infer,
                           .flops = [](const anvil::InferContext& c) {
                             const anvil::Shape& a = c.in(0).shape;
                             return 2 * anvil::ops::out_numel(c) * a[a.rank() - 1];
                           },
                           .reference = anvil::ops::run,
                           .foldable = false})

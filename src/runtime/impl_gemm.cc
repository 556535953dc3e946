// Gemm / MatMul with a constant right-hand matrix (fully-connected layers):
// the weights are transposed once here so the GEMM reads them row-major.
#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "ops/post_ops.h"
#include "runtime/kernel_registry.h"

namespace anvil {

namespace {

class DenseGemm final : public OpKernel {
 public:
  // `rows`: the M the graph's shapes give (batch x leading dims), which
  // picks the microkernel: at batch 1 a 16-row tile would run 16x the
  // FMAs of the one real row.
  DenseGemm(const KernelConfig& cfg, int64_t rows, Tensor b_kn, Tensor c, float alpha, float beta, bool trans_a,
            const char* op, std::vector<ops::PostOp> post = {})
      : isa_(cfg.isa), pool_(cfg.pool), b_(std::move(b_kn)), c_(std::move(c)), alpha_(alpha), beta_(beta), trans_a_(trans_a), op_(op),
        post_(std::move(post)) {
    // Batch 1 (a classifier's FC): a matrix-vector product over 64-column
    // panels, each weight read once by one FMA; through the GEMM's smallest
    // tile (6 rows) five of every six FMAs were padding, and the stream ran
    // at ~23 GB/s.
    const int64_t K = b_.dim(0), N = b_.dim(1);
    if (rows == 1 && !trans_a && isa_ >= Isa::kAvx512 && host_isa() >= Isa::kAvx512) {
      gemv_ = true;
      // Few outputs: one weight row per output, not a 64-column panel
      // mostly of zeros.
      if (N < kernels::kGemvDotMaxN) {
        dot_ = true;
        std::vector<Tensor> adopted;
        if (adopt_prepacked(cfg, {N * K}, adopted)) bp_ = adopted[0];
        else bp_ = kernels::prepack_gemv_rows(b_.data<float>(), N, K, N);
        return;
      }
      const int64_t panels = (N + kernels::kGemvPanel - 1) / kernels::kGemvPanel;
      std::vector<Tensor> adopted;
      if (adopt_prepacked(cfg, {panels * K * kernels::kGemvPanel}, adopted)) bp_ = adopted[0];
      else bp_ = kernels::prepack_gemv_b(b_.data<float>(), N, K, N);
      return;
    }
    uk_ = &kernels::gemm_ukernel_best(rows, b_.dim(1), isa_);
    // Weights are packed once; at batch 1 the FC streams them exactly once.
    std::vector<Tensor> adopted;
    if (adopt_prepacked(cfg, {kernels::prepacked_b_numel(b_.dim(0), b_.dim(1), *uk_)}, adopted)) bp_ = adopted[0];
    else bp_ = kernels::prepack_b(b_.data<float>(), b_.dim(1), b_.dim(0), b_.dim(1), false, *uk_);
  }

  std::vector<Tensor> packed() const override { return {bp_}; }

  std::string name() const override {
    if (dot_) return std::string(op_) + "_gemv:f32_gemv_dot_ukernel_1x4__avx512";
    return gemv_ ? std::string(op_) + "_gemv:f32_gemv_ukernel_1x64__avx512" : std::string(op_) + "_gemm:" + uk_->name;
  }

  Status run(KernelContext& k) override {
    const Tensor& a = k.in(0);
    Tensor& y = k.out(0);
    const int64_t K = b_.dim(0), N = b_.dim(1);
    const int64_t M = y.numel() / N;
    const float* A = a.data<float>();
    if (trans_a_) {  // rare in CNNs; transpose into scratch
      at_.resize(static_cast<size_t>(M * K));
      for (int64_t m = 0; m < M; ++m)
        for (int64_t kk = 0; kk < K; ++kk) at_[m * K + kk] = A[kk * M + m];
      A = at_.data();
    }
    if (gemv_) {
      for (int64_t m = 0; m < M; ++m) run_gemv(A + m * K, K, N, y.data<float>() + m * N);  // M is 1 (bound shapes)
    } else {
      kernels::GemmArgs g{M, N, K, A, K, b_.data<float>(), N, y.data<float>(), N, nullptr, false};
      g.b_prepacked = bp_.data<float>();
      g.ukernel = uk_;
      kernels::sgemm_parallel(g, isa_, pool_);
    }
    if (alpha_ != 1.f || c_.defined()) {
      float* out = y.data<float>();
      const int64_t cn = c_.defined() ? c_.numel() : 0;
      const float* cp = cn ? c_.data<float>() : nullptr;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t j = 0; j < N; ++j) {
          float v = alpha_ * out[m * N + j];
          if (cp) v += beta_ * (cn == 1 ? cp[0] : cn == N ? cp[j] : cn == M ? cp[m] : cp[m * N + j]);
          out[m * N + j] = v;
        }
    }
    for (int64_t m = 0; m < M && !post_.empty(); ++m)
      ops::apply_post_ops(post_, k, y.data<float>() + m * N, m, N, 0, N, 1);
    return Status::ok();
  }

 private:
  // Threads take whole panels (16 for a 1000-class FC), each its own part
  // of the weight stream.
  void run_gemv(const float* a, int64_t K, int64_t N, float* y) const {
    if (dot_) {
      // Threads take groups of 4 outputs; under 2 groups one thread reads
      // it all (at most 3 x K weights).
      constexpr int64_t R = kernels::kGemvDotRows;
      const int64_t groups = (N + R - 1) / R;
      const float* bt = bp_.data<float>();
      auto body = [&](int64_t g0, int64_t g1, int) {
        for (int64_t g = g0; g < g1; ++g)
          kernels::f32_gemv_dot_ukernel_1x4__avx512(K, a, bt + g * R * K, y + g * R, std::min(R, N - g * R));
      };
      if (pool_ && pool_->threads() > 1 && groups > 1) pool_->parallel_for(groups, body);
      else body(0, groups, 0);
      return;
    }
    constexpr int64_t P = kernels::kGemvPanel;
    const int64_t panels = (N + P - 1) / P;
    const float* b = bp_.data<float>();
    auto body = [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p)
        kernels::f32_gemv_ukernel_1x64__avx512(K, a, b + p * K * P, y + p * P, std::min(P, N - p * P));
    };
    if (pool_ && pool_->threads() > 1 && panels > 1) pool_->parallel_for(panels, body);
    else body(0, panels, 0);
  }

  Isa isa_;
  ThreadPool* pool_;
  Tensor b_, c_;
  float alpha_, beta_;
  bool trans_a_;
  const char* op_;
  std::vector<ops::PostOp> post_;
  const kernels::GemmUkernelInfo* uk_ = nullptr;
  bool gemv_ = false, dot_ = false;
  Tensor bp_;
  std::vector<float> at_;
};

Tensor transpose2d(const Tensor& t) {
  Tensor r(DType::kF32, {t.dim(1), t.dim(0)});
  for (int64_t i = 0; i < t.dim(0); ++i)
    for (int64_t j = 0; j < t.dim(1); ++j) r.data<float>()[j * t.dim(0) + i] = t.data<float>()[i * t.dim(1) + j];
  return r;
}

Result<std::unique_ptr<OpKernel>> create_gemm(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const Value& a = g.value(n.inputs[0]);
  const Value& b = g.value(n.inputs[1]);
  if (a.dtype != DType::kF32 || b.dtype != DType::kF32) return unsupported("not f32");
  if (!b.constant) return unsupported("B is computed at run time");
  Tensor c;
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Value& cv = g.value(n.inputs[2]);
    if (!cv.constant) return unsupported("C is computed at run time");
    if (cv.dtype != DType::kF32) return unsupported("C is not f32");
    c = *cv.constant;
  }
  const int64_t trans_b = n.attrs.i("transB", 0);
  Tensor bkn = trans_b ? transpose2d(*b.constant) : b.constant->clone();
  const int64_t M = a.shape[n.attrs.i("transA", 0) ? 1 : 0], N = bkn.dim(1);
  if (c.defined()) {
    const int64_t cn = c.numel();
    const bool ok = cn == 1 || (c.rank() <= 1 && cn == N) || (c.rank() == 2 && c.dim(0) == M && c.dim(1) == N) ||
                    (c.rank() == 2 && c.dim(1) == 1 && cn == M && M != N) || (c.rank() == 2 && c.dim(0) == 1 && cn == N);
    if (!ok) return unsupported("C broadcast " + c.shape().str() + " not handled");
    if (c.rank() == 2 && c.dim(1) == 1 && cn == M && M == N) return unsupported("ambiguous C broadcast");
  }
  std::vector<ops::PostOp> post;
  if (n.op == "FusedGemm") ANVIL_TRY(ops::parse_post_ops(n.attrs, 3, post));
  return std::unique_ptr<OpKernel>(new DenseGemm(cfg, M, std::move(bkn), std::move(c), n.attrs.f("alpha", 1.f),
                                                 n.attrs.f("beta", 1.f), n.attrs.i("transA", 0) != 0, "gemm",
                                                 std::move(post)));
}

Result<std::unique_ptr<OpKernel>> create_matmul(const Graph& g, const Node& n, const KernelConfig& cfg) {
  const Value& a = g.value(n.inputs[0]);
  const Value& b = g.value(n.inputs[1]);
  if (a.dtype != DType::kF32 || b.dtype != DType::kF32) return unsupported("not f32");
  if (!b.constant) return unsupported("B is computed at run time");
  if (b.shape.rank() != 2) return unsupported("B has rank " + std::to_string(b.shape.rank()) + ", not 2");
  if (a.shape.rank() < 2) return unsupported("A has rank < 2");
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < a.shape.rank(); ++d) rows *= a.shape[d];
  return std::unique_ptr<OpKernel>(new DenseGemm(cfg, rows, b.constant->clone(), Tensor(), 1.f, 0.f, false, "matmul"));
}

}  // namespace

std::vector<KernelFactory> gemm_kernel_factories() {
  return {{"gemm_dense", "Gemm", create_gemm},
          {"gemm_dense", "FusedGemm", create_gemm},
          {"matmul_dense", "MatMul", create_matmul}};
}

}  // namespace anvil

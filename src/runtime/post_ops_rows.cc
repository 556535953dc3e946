#include "runtime/post_ops_rows.h"

#include <limits>

#include "kernels/postop.h"

namespace anvil {

void apply_post_ops_rows(const std::vector<ops::PostOp>& ops, const KernelContext& k, float* image, int64_t n,
                         int64_t C, int64_t p, int64_t c0, int64_t c1, int64_t p0, int64_t p1, Isa isa) {
  using ops::PostOpKind;
  using kernels::RowOp;
  const kernels::PostOpRowUkernel uk = kernels::postop_row_ukernel_for(isa);
  const int64_t len = p1 - p0;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (int64_t c = c0; c < c1; ++c) {
    float* y = image + c * p + p0;
    for (const ops::PostOp& op : ops) {
      const auto in = [&](int i) { return k.in(static_cast<size_t>(op.input + i)).data<float>(); };
      switch (op.kind) {
        case PostOpKind::kSum:
          uk(RowOp::kAdd, 0.f, 0.f, in(0) + (n * C + c) * p + p0, y, len);
          break;
        case PostOpKind::kScaleShift:
          uk(RowOp::kScaleShift, in(0)[c], in(1)[c], nullptr, y, len);
          break;
        case PostOpKind::kPrelu:
          uk(RowOp::kPrelu, in(0)[c], 0.f, nullptr, y, len);
          break;
        case PostOpKind::kLeakyRelu:
          uk(RowOp::kPrelu, op.alpha, 0.f, nullptr, y, len);
          break;
        case PostOpKind::kRelu:  // max(y, 0) = min(max(y, 0), +inf), NaN included
          uk(RowOp::kClamp, 0.f, kInf, nullptr, y, len);
          break;
        case PostOpKind::kClip:
          uk(RowOp::kClamp, op.alpha, op.beta, nullptr, y, len);
          break;
        case PostOpKind::kHardSigmoid:
          uk(RowOp::kHardSigmoid, op.alpha, op.beta, nullptr, y, len);
          break;
        case PostOpKind::kHardSwish:
          uk(RowOp::kHardSwish, 0.f, 0.f, nullptr, y, len);
          break;
        case PostOpKind::kSigmoid:
        case PostOpKind::kSilu:
        case PostOpKind::kTanh:
        case PostOpKind::kElu: {
          // A vector exp at AVX2 and AVX-512 (kernels/postop.h); scalar
          // ISA: the reference's loop.
          const RowOp ro = op.kind == PostOpKind::kSigmoid ? RowOp::kSigmoid
                           : op.kind == PostOpKind::kSilu  ? RowOp::kSilu
                           : op.kind == PostOpKind::kTanh  ? RowOp::kTanh
                                                           : RowOp::kElu;
          if (isa >= Isa::kAvx2 && host_isa() >= Isa::kAvx2)
            uk(ro, op.alpha, 0.f, nullptr, y, len);
          else
            ops::apply_post_op_row(op, k, y, n, C, c, p, p0, len);
          break;
        }
      }
    }
  }
}

}  // namespace anvil

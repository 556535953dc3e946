// The optimized kernels' epilogue on a finished output block: what
// ops::apply_post_ops_block (the reference) does, channel by channel while
// the channel's row is in L1, each post-op over the row by the vector loops
// of kernels/postop.h at the kernel's ISA, which give the reference's values
// bit for bit, except Sigmoid and SiLU (a polynomial exp, at most 4 ulp
// from the reference's). Tanh and Elu, and everything at the scalar ISA,
// run the reference's loop.
#pragma once
#include <cstdint>
#include <vector>

#include "core/cpu.h"
#include "ir/op_registry.h"
#include "ops/post_ops.h"

namespace anvil {

void apply_post_ops_rows(const std::vector<ops::PostOp>& ops, const KernelContext& k, float* image, int64_t n,
                         int64_t C, int64_t p, int64_t c0, int64_t c1, int64_t p0, int64_t p1, Isa isa);

}  // namespace anvil

// Epilogues that fused nodes (FusedConv, FusedGemm) apply to their output
// before it is stored, in order, like oneDNN post-ops. A fused node carries
//   attr post_ops   = ["sum", "relu", "scale_shift", ...]
//   attr post_alpha = [alpha per post-op], post_beta = [beta per post-op]
// and, after its own inputs, one extra input per "sum" (the residual, same
// shape as the output) and "prelu" (per-channel slope), two per
// "scale_shift" (per-channel scale, then shift). Channels are axis 1.
#pragma once
#include <string>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "ir/attr.h"
#include "ir/op_registry.h"

namespace anvil::ops {

enum class PostOpKind { kSum, kScaleShift, kPrelu, kRelu, kClip, kLeakyRelu, kSigmoid, kHardSigmoid, kHardSwish,
                        kSilu, kTanh, kElu };

struct PostOp {
  PostOpKind kind;
  float alpha = 0, beta = 0;
  int input = -1;  // index of the first extra node input it reads, -1 if none
};

const char* post_op_name(PostOpKind k);
// Number of extra node inputs a post-op kind consumes.
int post_op_inputs(PostOpKind k);

// Parses the post_ops attributes; `first_extra_input` is where the node's
// own inputs end. Errors name the attribute and value.
Status parse_post_ops(const Attrs& attrs, int first_extra_input, std::vector<PostOp>& out);
// Validates the extra inputs against the output shape (infer time).
Status check_post_op_inputs(const InferContext& c, const std::vector<PostOp>& ops, const Shape& out_shape);
// Total extra inputs consumed.
int post_op_input_count(const std::vector<PostOp>& ops);

// Applies post-ops to out[n, c0:c0+nc, :] (p spatial positions per
// channel) of a tensor with C channels; extra inputs from `k`.
void apply_post_ops(const std::vector<PostOp>& ops, const KernelContext& k, float* out, int64_t n, int64_t C,
                    int64_t c0, int64_t nc, int64_t p);

// A fused node's reference epilogue: parses its post-ops (extra inputs from
// first_extra_input on) and applies them to every image of y (N x C x ...).
Status apply_node_post_ops(const KernelContext& k, int first_extra_input, Tensor& y);

// The same on a block of one image: channels [c0, c1) and spatial positions
// [p0, p1) of `image` (element (c, i) at image[c * p + i]), image n of a
// tensor with C channels and p positions per channel.
void apply_post_ops_block(const std::vector<PostOp>& ops, const KernelContext& k, float* image, int64_t n, int64_t C,
                          int64_t p, int64_t c0, int64_t c1, int64_t p0, int64_t p1);

// One post-op on channel c's positions [p0, p0 + len) of image n, y
// pointing at the first: the plain loop (the reference; optimized kernels
// use runtime/post_ops_rows.h, which falls back to this for the ops it has
// no vector loop for).
void apply_post_op_row(const PostOp& op, const KernelContext& k, float* y, int64_t n, int64_t C, int64_t c,
                       int64_t p, int64_t p0, int64_t len);

// True when `ops` is one ReLU or Clip, which a kernel can apply in
// registers as min(max(v, lo), hi): clamp = {0, +inf} for ReLU, {alpha,
// beta} for Clip. False (clamp untouched) for anything else.
bool lone_clamp(const std::vector<PostOp>& ops, float clamp[2]);

// Appends a post-op to a node's attributes (passes use this).
void append_post_op(Attrs& attrs, PostOpKind kind, float alpha = 0, float beta = 0);
// Maps an activation node (op + attrs) to a post-op; false if not fusable.
bool activation_post_op(const std::string& op, const Attrs& attrs, PostOpKind& kind, float& alpha, float& beta);

// FusedConv may also carry a pre-op: attr pre_scale_shift=1 applies a
// per-input-channel x*scale + shift to X before the convolution, with the
// padding still zero (exact where folding into the weights is not: the conv
// would see the shift where it pads). Its two inputs sit at 3 and 4, before
// the post-ops' inputs.
inline bool has_pre_scale_shift(const Attrs& attrs) { return attrs.i("pre_scale_shift", 0) != 0; }
inline int fused_conv_own_inputs(const Attrs& attrs) { return has_pre_scale_shift(attrs) ? 5 : 3; }

// FLOPs of the epilogue per output element.
int64_t post_op_flops(const std::vector<PostOp>& ops);

}  // namespace anvil::ops

#include "ops/post_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace anvil::ops {

namespace {
struct KindName {
  PostOpKind kind;
  const char* name;
  int inputs;
};
constexpr KindName kKinds[] = {
    {PostOpKind::kSum, "sum", 1},           {PostOpKind::kScaleShift, "scale_shift", 2},
    {PostOpKind::kPrelu, "prelu", 1},       {PostOpKind::kRelu, "relu", 0},
    {PostOpKind::kClip, "clip", 0},         {PostOpKind::kLeakyRelu, "leaky_relu", 0},
    {PostOpKind::kSigmoid, "sigmoid", 0},   {PostOpKind::kHardSigmoid, "hard_sigmoid", 0},
    {PostOpKind::kHardSwish, "hard_swish", 0}, {PostOpKind::kSilu, "silu", 0},
    {PostOpKind::kTanh, "tanh", 0},         {PostOpKind::kElu, "elu", 0},
};
}  // namespace

const char* post_op_name(PostOpKind k) {
  for (const auto& kn : kKinds)
    if (kn.kind == k) return kn.name;
  return "?";
}

int post_op_inputs(PostOpKind k) {
  for (const auto& kn : kKinds)
    if (kn.kind == k) return kn.inputs;
  return 0;
}

Status parse_post_ops(const Attrs& attrs, int first_extra_input, std::vector<PostOp>& out) {
  out.clear();
  std::vector<std::string> names;
  std::vector<float> alpha, beta;
  ANVIL_TRY(attrs.get("post_ops", names));
  ANVIL_TRY(attrs.get("post_alpha", alpha));
  ANVIL_TRY(attrs.get("post_beta", beta));
  int next = first_extra_input;
  for (size_t i = 0; i < names.size(); ++i) {
    const KindName* found = nullptr;
    for (const auto& kn : kKinds)
      if (names[i] == kn.name) found = &kn;
    if (!found) return invalid_model("unknown post-op '" + names[i] + "' in attribute 'post_ops'");
    PostOp p{found->kind, i < alpha.size() ? alpha[i] : 0.f, i < beta.size() ? beta[i] : 0.f, -1};
    if (found->inputs > 0) {
      p.input = next;
      next += found->inputs;
    }
    out.push_back(p);
  }
  return Status::ok();
}

int post_op_input_count(const std::vector<PostOp>& ops) {
  int n = 0;
  for (const PostOp& p : ops) n += post_op_inputs(p.kind);
  return n;
}

Status check_post_op_inputs(const InferContext& c, const std::vector<PostOp>& ops, const Shape& out_shape) {
  const int64_t C = out_shape.rank() > 1 ? out_shape[1] : 1;
  for (const PostOp& p : ops) {
    for (int j = 0; j < post_op_inputs(p.kind); ++j) {
      const size_t idx = static_cast<size_t>(p.input + j);
      if (!c.has_input(idx))
        return invalid_model(std::string("post-op '") + post_op_name(p.kind) + "' needs input " + std::to_string(idx));
      const InputInfo& in = c.in(idx);
      if (in.dtype != DType::kF32)
        return unsupported(std::string("post-op '") + post_op_name(p.kind) + "' input is " + dtype_name(in.dtype));
      if (p.kind == PostOpKind::kSum) {
        if (in.shape != out_shape)
          return invalid_model("post-op 'sum' residual f32[" + in.shape.str() + "] must have the output shape " +
                               out_shape.str());
      } else if (in.shape.numel() != C) {
        return invalid_model(std::string("post-op '") + post_op_name(p.kind) + "' input f32[" + in.shape.str() +
                             "] must have one value per channel (" + std::to_string(C) + ")");
      }
    }
  }
  return Status::ok();
}

Status apply_node_post_ops(const KernelContext& k, int first_extra_input, Tensor& y) {
  std::vector<PostOp> ops;
  ANVIL_TRY(parse_post_ops(k.node.attrs, first_extra_input, ops));
  const int64_t N = y.dim(0), C = y.dim(1), P = y.numel() / (N * C);
  for (int64_t n = 0; n < N; ++n) apply_post_ops(ops, k, y.data<float>() + n * C * P, n, C, 0, C, P);
  return Status::ok();
}

void apply_post_ops(const std::vector<PostOp>& ops, const KernelContext& k, float* out, int64_t n, int64_t C,
                    int64_t c0, int64_t nc, int64_t p) {
  apply_post_ops_block(ops, k, out - c0 * p, n, C, p, c0, c0 + nc, 0, p);
}

void apply_post_op_row(const PostOp& op, const KernelContext& k, float* y, int64_t n, int64_t C, int64_t c,
                       int64_t p, int64_t p0, int64_t len) {
  const float a = op.alpha, b = op.beta;
  switch (op.kind) {
    case PostOpKind::kSum: {
      const float* r = k.in(static_cast<size_t>(op.input)).data<float>() + (n * C + c) * p + p0;
      for (int64_t i = 0; i < len; ++i) y[i] += r[i];
      break;
    }
    case PostOpKind::kScaleShift: {
      const float s = k.in(static_cast<size_t>(op.input)).data<float>()[c];
      const float t = k.in(static_cast<size_t>(op.input) + 1).data<float>()[c];
      for (int64_t i = 0; i < len; ++i) y[i] = y[i] * s + t;
      break;
    }
    case PostOpKind::kPrelu: {
      const float s = k.in(static_cast<size_t>(op.input)).data<float>()[c];
      for (int64_t i = 0; i < len; ++i) y[i] = y[i] < 0 ? y[i] * s : y[i];
      break;
    }
    case PostOpKind::kRelu:
      for (int64_t i = 0; i < len; ++i) y[i] = std::max(y[i], 0.f);
      break;
    case PostOpKind::kClip:
      for (int64_t i = 0; i < len; ++i) y[i] = std::min(std::max(y[i], a), b);
      break;
    case PostOpKind::kLeakyRelu:
      for (int64_t i = 0; i < len; ++i) y[i] = y[i] < 0 ? y[i] * a : y[i];
      break;
    case PostOpKind::kSigmoid:
      for (int64_t i = 0; i < len; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
      break;
    case PostOpKind::kHardSigmoid:
      for (int64_t i = 0; i < len; ++i) y[i] = std::max(0.f, std::min(1.f, a * y[i] + b));
      break;
    case PostOpKind::kHardSwish:
      for (int64_t i = 0; i < len; ++i) y[i] = y[i] * std::max(0.f, std::min(1.f, y[i] / 6.f + 0.5f));
      break;
    case PostOpKind::kSilu:
      for (int64_t i = 0; i < len; ++i) y[i] = y[i] / (1.f + std::exp(-y[i]));
      break;
    case PostOpKind::kTanh:
      for (int64_t i = 0; i < len; ++i) y[i] = std::tanh(y[i]);
      break;
    case PostOpKind::kElu:
      for (int64_t i = 0; i < len; ++i) y[i] = y[i] < 0 ? a * (std::exp(y[i]) - 1.f) : y[i];
      break;
  }
}

void apply_post_ops_block(const std::vector<PostOp>& ops, const KernelContext& k, float* image, int64_t n, int64_t C,
                          int64_t p, int64_t c0, int64_t c1, int64_t p0, int64_t p1) {
  // Channel-major: all post-ops run on one channel's row while it is in L1.
  for (int64_t c = c0; c < c1; ++c)
    for (const PostOp& op : ops) apply_post_op_row(op, k, image + c * p + p0, n, C, c, p, p0, p1 - p0);
}

bool lone_clamp(const std::vector<PostOp>& ops, float clamp[2]) {
  if (ops.size() != 1 || (ops[0].kind != PostOpKind::kRelu && ops[0].kind != PostOpKind::kClip)) return false;
  const bool clip = ops[0].kind == PostOpKind::kClip;
  clamp[0] = clip ? ops[0].alpha : 0.f;
  clamp[1] = clip ? ops[0].beta : std::numeric_limits<float>::infinity();
  return true;
}

void append_post_op(Attrs& attrs, PostOpKind kind, float alpha, float beta) {
  std::vector<std::string> names;
  std::vector<float> al, be;
  (void)attrs.get("post_ops", names);
  (void)attrs.get("post_alpha", al);
  (void)attrs.get("post_beta", be);
  al.resize(names.size(), 0.f);
  be.resize(names.size(), 0.f);
  names.push_back(post_op_name(kind));
  al.push_back(alpha);
  be.push_back(beta);
  attrs.set("post_ops", names);
  attrs.set("post_alpha", al);
  attrs.set("post_beta", be);
}

bool activation_post_op(const std::string& op, const Attrs& attrs, PostOpKind& kind, float& alpha, float& beta) {
  alpha = beta = 0;
  if (op == "Relu") kind = PostOpKind::kRelu;
  else if (op == "Sigmoid") kind = PostOpKind::kSigmoid;
  else if (op == "Tanh") kind = PostOpKind::kTanh;
  else if (op == "HardSwish") kind = PostOpKind::kHardSwish;
  else if (op == "LeakyRelu") {
    kind = PostOpKind::kLeakyRelu;
    alpha = attrs.f("alpha", 0.01f);
  } else if (op == "Elu") {
    kind = PostOpKind::kElu;
    alpha = attrs.f("alpha", 1.f);
  } else if (op == "HardSigmoid") {
    kind = PostOpKind::kHardSigmoid;
    alpha = attrs.f("alpha", 0.2f);
    beta = attrs.f("beta", 0.5f);
  } else {
    return false;
  }
  return true;
}

int64_t post_op_flops(const std::vector<PostOp>& ops) {
  int64_t f = 0;
  for (const PostOp& p : ops) f += p.kind == PostOpKind::kScaleShift ? 2 : 1;
  return f;
}

}  // namespace anvil::ops

// Pointwise Conv (+ ReLU/Clip) feeding a 3x3 depthwise Conv: one
// FusedConvDw node (ops/fused_conv_dw.cc), whose kernel makes the
// intermediate a strip of rows at a time, so it never goes to memory.
// Only where that tensor is large: MobileNetV2's expansion at 112x112 (96
// channels, 4.8 MB) is written by the 1x1 and read back by the depthwise
// conv from L3 or DRAM; fused, that pair took 0.43 against 0.50-0.65 ms at
// 2 threads (anvil profile, 3 alternated runs). At 56x56 (144 channels,
// 1.8 MB) the L3 round trip cost about what the strips' halo rows and
// smaller GEMMs do (stride 1: level; stride 2: 0.20-0.21 against
// 0.18-0.19 ms), and smaller intermediates stay in L2, so those stay apart.
#include "ops/post_ops.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace anvil::passes {

namespace {

// The intermediate (one image) at least this large.
constexpr int64_t kMinIntermediateBytes = int64_t{2} << 20;

bool is_conv(const Node& n) { return n.op == "Conv" || n.op == "FusedConv"; }

// The node's post-ops, if they are none or a lone ReLU/Clip: act 0, 1 or 2.
bool lone_clamp(const Node& n, int64_t& act, float& lo, float& hi) {
  act = 0;
  if (n.op == "Conv") return true;
  if (ops::has_pre_scale_shift(n.attrs)) return false;
  std::vector<ops::PostOp> post;
  if (!ops::parse_post_ops(n.attrs, ops::fused_conv_own_inputs(n.attrs), post).is_ok()) return false;
  if (post.empty()) return true;
  if (post.size() != 1) return false;
  if (post[0].kind == ops::PostOpKind::kRelu) act = 1;
  else if (post[0].kind == ops::PostOpKind::kClip) act = 2;
  else return false;
  lo = post[0].alpha;
  hi = post[0].beta;
  return true;
}

bool ints_are(const Attrs& a, const std::string& name, int64_t v) {
  for (int64_t x : a.ints(name)) if (x != v) return false;
  return true;
}

}  // namespace

Status fuse_pointwise_depthwise(Graph& g, PassStats& st) {
  auto users = compute_users(g);
  std::vector<bool> dead(g.nodes().size(), false);
  int fused = 0;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    const Node& dw = g.nodes()[i];
    if (!is_conv(dw) || dw.inputs.size() < 2 || dw.outputs.size() != 1) continue;
    const ValueId mid = dw.inputs[0];
    if (mid == kNoValue || g.value(mid).dtype != DType::kF32 || g.value(mid).shape.rank() != 4) continue;
    const Shape ms = g.value(mid).shape;
    const int64_t M = ms[1];
    // Depthwise 3x3, stride 1 or 2, no dilation; a lone clamp at most.
    int64_t dw_act = 0;
    float dlo = 0, dhi = 0;
    const Value& w2 = g.value(dw.inputs[1]);
    if (!w2.constant || w2.shape.rank() != 4 || w2.shape[0] != M || w2.shape[1] != 1 || w2.shape[2] != 3 ||
        w2.shape[3] != 3 || dw.attrs.i("group", 1) != M || !ints_are(dw.attrs, "dilations", 1) ||
        !lone_clamp(dw, dw_act, dlo, dhi))
      continue;
    const std::vector<int64_t> strides = dw.attrs.ints("strides", {1, 1});
    if (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1 || strides[0] > 2) continue;
    if (dw.attrs.s("auto_pad", "NOTSET") != "NOTSET") continue;
    if (dw.inputs.size() > 2 && dw.inputs[2] != kNoValue && !g.value(dw.inputs[2]).constant) continue;
    if (M * ms[2] * ms[3] * 4 < kMinIntermediateBytes) continue;
    // Its input from a 1x1 stride-1 unpadded Conv used by nothing else.
    const int32_t p = g.value(mid).producer;
    if (p < 0 || dead[static_cast<size_t>(p)] || !single_use(g, users, mid) || is_graph_output(g, mid)) continue;
    Node& pw = g.nodes()[static_cast<size_t>(p)];
    int64_t pw_act = 0;
    float plo = 0, phi = 0;
    if (!is_conv(pw) || pw.inputs.size() < 2 || pw.outputs.size() != 1 || !lone_clamp(pw, pw_act, plo, phi)) continue;
    const Value& w1 = g.value(pw.inputs[1]);
    if (!w1.constant || w1.shape.rank() != 4 || w1.shape[0] != M || w1.shape[2] != 1 || w1.shape[3] != 1) continue;
    if (pw.attrs.i("group", 1) != 1 || !ints_are(pw.attrs, "strides", 1) || !ints_are(pw.attrs, "pads", 0) ||
        !ints_are(pw.attrs, "dilations", 1) || pw.attrs.s("auto_pad", "NOTSET") != "NOTSET")
      continue;
    const ValueId b1 = pw.inputs.size() > 2 ? pw.inputs[2] : kNoValue;
    if (b1 != kNoValue && !g.value(b1).constant) continue;

    Node f;
    f.name = pw.name + "+" + dw.name;
    f.op = "FusedConvDw";
    f.inputs = {pw.inputs[0], pw.inputs[1], b1, dw.inputs[1], dw.inputs.size() > 2 ? dw.inputs[2] : kNoValue};
    f.outputs = dw.outputs;
    for (const auto& [k, v] : dw.attrs.all())
      if (k != "post_ops" && k != "post_alpha" && k != "post_beta") f.attrs.set(k, v);
    if (dw_act) {
      ops::append_post_op(f.attrs, dw_act == 1 ? ops::PostOpKind::kRelu : ops::PostOpKind::kClip, dlo, dhi);
    }
    f.attrs.set("pw_act", pw_act);
    if (pw_act == 2) f.attrs.set("pw_clip", std::vector<float>{plo, phi});
    f.origin = pw.origin;
    f.origin.insert(f.origin.end(), dw.origin.begin(), dw.origin.end());
    g.value(dw.outputs[0]).producer = p;
    pw = std::move(f);
    dead[i] = true;
    ++fused;
  }
  if (fused) {
    st.nodes_fused += fused;
    remove_nodes(g, dead);
    st.details.push_back("fused " + std::to_string(fused) + " pointwise Conv + depthwise Conv pairs (intermediates of " +
                         "2 MB and more stay in cache)");
  }
  return Status::ok();
}

}  // namespace anvil::passes

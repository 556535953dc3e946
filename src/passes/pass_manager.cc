#include <chrono>
#include <cfloat>
#include <cmath>
#include <cstring>

#include <fmt/core.h>

#include "passes/pass.h"

#include "core/tensor_alloc.h"

namespace anvil {

namespace passes {
Status eliminate_identity(Graph& g, PassStats& st);
Status dead_code(Graph& g, PassStats& st);
Status constant_fold(Graph& g, PassStats& st);
Status fold_batchnorm(Graph& g, PassStats& st);
Status fold_channel_affine(Graph& g, PassStats& st);
Status fuse_scale_shift(Graph& g, PassStats& st);
Status fuse_residual(Graph& g, PassStats& st);
Status fuse_activation(Graph& g, PassStats& st);
Status fuse_pointwise_depthwise(Graph& g, PassStats& st);
}  // namespace passes

const std::vector<Pass>& all_passes() {
  static const std::vector<Pass> p = {
      {"eliminate_identity", 1, false, "remove Identity, Dropout and no-op Reshape/Flatten/Cast",
       passes::eliminate_identity},
      {"constant_fold", 1, true, "replace nodes computable from constants by initializers", passes::constant_fold},
      {"dead_code", 1, false, "remove nodes whose outputs are never used", passes::dead_code},
      {"fold_batchnorm", 2, true, "fold BatchNormalization into the preceding Conv/Gemm weights",
       passes::fold_batchnorm},
      {"fold_channel_affine", 2, true,
       "per-channel constant Mul/Add into the preceding Conv/Gemm weights or fused epilogue",
       passes::fold_channel_affine},
      {"fuse_residual", 3, false, "residual Add into the producing Conv's epilogue", passes::fuse_residual},
      {"fuse_activation", 3, true, "activations into the producing Conv/Gemm epilogue", passes::fuse_activation},
      // Last, so a BN after conv+activation finds the fused producer.
      {"fuse_scale_shift", 2, true,
       "remaining BatchNormalization or per-channel Mul/Add -> scale-shift epilogue, or into a following Conv "
       "where exact",
       passes::fuse_scale_shift},
      // After every epilogue is settled: it takes pairs whose post-ops are
      // at most a ReLU/Clip.
      {"fuse_pointwise_depthwise", 3, false,
       "1x1 Conv (+ ReLU/Clip) into the 3x3 depthwise Conv it feeds, where the intermediate is 2 MB or more",
       passes::fuse_pointwise_depthwise},
  };
  return p;
}

const Pass* find_pass(const std::string& name) {
  for (const Pass& p : all_passes())
    if (p.name == name) return &p;
  return nullptr;
}

Status check_pass_names(const std::set<std::string>& names) {
  for (const std::string& n : names) {
    if (find_pass(n)) continue;
    std::string known;
    for (const Pass& p : all_passes()) known += (known.empty() ? "" : ", ") + p.name;
    return invalid_argument("unknown pass '" + n + "' (passes: " + known + ")");
  }
  return Status::ok();
}

void flush_subnormal_constants(Graph& g, PassStats& st) {
  // Only initializers still in use matter (a folded conv's old weights
  // wait for dead_code); this runs after every constant-writing pass, over
  // every weight, so it must not scan the dead ones too.
  std::vector<bool> used(g.num_values(), false);
  for (const Node& n : g.nodes())
    for (ValueId in : n.inputs)
      if (in != kNoValue) used[static_cast<size_t>(in)] = true;
  for (ValueId o : g.outputs) used[static_cast<size_t>(o)] = true;
  for (size_t i = 0; i < g.num_values(); ++i) {
    Value& v = g.value(static_cast<ValueId>(i));
    if (!used[i] || !v.constant || v.constant->dtype() != DType::kF32) continue;
    // Counted by looking at bits, not arithmetic, so the host's FTZ/DAZ
    // state cannot hide any; branch-free so the compiler vectorizes it.
    const float* d = v.constant->data<float>();
    const int64_t n = v.constant->numel();
    int64_t count = 0;
    for (int64_t k = 0; k < n; ++k) {
      uint32_t bits;
      std::memcpy(&bits, &d[k], 4);
      count += ((bits & 0x7f800000u) == 0) & ((bits & 0x007fffffu) != 0);
    }
    if (!count) continue;
    // Constants may share storage with the caller's model: those are copied
    // before writing. One a pass just made (a conv's weights folded with its
    // BatchNorm) is the graph's alone and flushed in place: copied, the
    // denormal-prone ResNet-101 of `make demo` compiled in 0.98 s against
    // 0.34 s with --denormals keep, the copies' page faults most of it.
    Tensor t = storage_unshared(*v.constant) ? *v.constant : tensor_for_overwrite(DType::kF32, v.constant->shape());
    const float* r = v.constant->data<float>();
    float* w = t.data<float>();
    for (int64_t k = 0; k < n; ++k) {
      uint32_t bits;
      std::memcpy(&bits, &r[k], 4);
      w[k] = (bits & 0x7f800000u) == 0 && (bits & 0x007fffffu) != 0 ? (std::signbit(r[k]) ? -0.f : 0.f) : r[k];
    }
    v.constant = std::move(t);
    st.values_flushed += count;
    ++st.tensors_flushed;
    if (st.tensors_flushed <= 5)
      st.details.push_back(fmt::format("flushed {} subnormal values in '{}' ({} elements)", count, v.name, n));
  }
}

namespace {
int count_nodes_by_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const Node& n : g.nodes()) c += n.op == op;
  return c;
}
}  // namespace

Result<PassReport> run_passes(Graph& g, const PassOptions& o) {
  ANVIL_TRY(check_pass_names(o.disabled));
  ANVIL_TRY(check_pass_names(o.enabled));
  PassReport r;
  r.nodes_before = static_cast<int>(g.nodes().size());
  ANVIL_TRY(infer_shapes(g));
  // Subnormals already in the model's weights are flushed too whenever any
  // constant-writing pass is on: folding can only make them more common.
  bool writes = false;
  for (const Pass& p : all_passes()) {
    const bool on = !o.disabled.count(p.name) && (p.level <= o.opt_level || o.enabled.count(p.name));
    if (!on) continue;
    writes |= p.writes_constants;
    PassRecord rec;
    rec.name = p.name;
    const auto t0 = std::chrono::steady_clock::now();
    Status s = p.run(g, rec.stats);
    if (s.is_ok()) s = g.topo_sort();
    if (s.is_ok()) s = g.verify();
    if (s.is_ok()) s = infer_shapes(g);
    if (!s.is_ok()) return std::move(s).with_context("optimizer pass '" + p.name + "'");
    if (p.writes_constants && o.flush_subnormals) flush_subnormal_constants(g, rec.stats);
    rec.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    r.subnormals_flushed += rec.stats.values_flushed;
    r.tensors_flushed += rec.stats.tensors_flushed;
    if (o.after_pass) o.after_pass(p.name, g);
    r.passes.push_back(std::move(rec));
  }
  (void)writes;
  // Initializers no node reads any more (pre-fold weights) are dropped so
  // they are neither kept in memory nor exported.
  {
    std::vector<bool> used(g.num_values(), false);
    for (const Node& n : g.nodes())
      for (ValueId in : n.inputs)
        if (in != kNoValue) used[static_cast<size_t>(in)] = true;
    for (ValueId out : g.outputs) used[static_cast<size_t>(out)] = true;
    for (size_t i = 0; i < g.num_values(); ++i) {
      Value& v = g.value(static_cast<ValueId>(i));
      if (v.is_initializer && !used[i]) {
        v.constant.reset();
        v.is_initializer = false;
      }
    }
  }
  r.nodes_after = static_cast<int>(g.nodes().size());
  r.bn_left = count_nodes_by_op(g, "BatchNormalization");
  return r;
}

std::string PassReport::to_text() const {
  std::string s = fmt::format("optimizer: {} -> {} nodes\n", nodes_before, nodes_after);
  int folded_bn = 0;
  for (const PassRecord& p : passes) {
    if (p.name == "fold_batchnorm") folded_bn = p.stats.nodes_fused;
    s += fmt::format("  {:<20} {:>7.1f} ms  removed {:>4}  fused {:>4}  constants {:>4}  flushed {:>10} in {} tensors\n",
                     p.name, p.ms, p.stats.nodes_removed, p.stats.nodes_fused, p.stats.constants_rewritten,
                     p.stats.values_flushed, p.stats.tensors_flushed);
    for (const std::string& d : p.stats.details) s += "      " + d + "\n";
  }
  s += fmt::format("summary: folded {} BN; flushed {} subnormal weights in {} tensors", folded_bn, subnormals_flushed,
                   tensors_flushed);
  if (bn_left) s += fmt::format("; {} BatchNormalization left unfused", bn_left);
  s += "\n";
  return s;
}

}  // namespace anvil

#include "runtime/check.h"

#include <cmath>
#include <set>

#include <fmt/core.h>

#include "passes/pass.h"
#include "runtime/executor.h"
#include "runtime/session_impl.h"

namespace anvil {

TensorDiff compare_tensors(const std::string& name, const Tensor& ref, const Tensor& got, double tolerance) {
  TensorDiff d;
  d.name = name;
  if (ref.shape() != got.shape() || ref.dtype() != got.dtype()) {
    d.ok = false;
    d.rel = d.max_abs = INFINITY;
    d.note = "reference " + ref.desc() + " vs " + got.desc();
    return d;
  }
  const std::vector<float> a = ref.to_f32_vector(), b = got.to_f32_vector();
  bool finite_mismatch = false;
  for (size_t i = 0; i < a.size(); ++i) {
    const double u = a[i], v = b[i];
    // A NaN or inf in one level but not the other is a failure however
    // small the other differences are.
    if (std::isfinite(u) != std::isfinite(v) || (!std::isfinite(u) && !(u == v))) {
      finite_mismatch = true;
      continue;
    }
    if (!std::isfinite(u)) continue;
    d.max_abs = std::max(d.max_abs, std::fabs(u - v));
    d.max_ref = std::max(d.max_ref, std::fabs(u));
  }
  d.rel = d.max_ref > 0 ? d.max_abs / d.max_ref : d.max_abs;
  if (finite_mismatch) {
    d.rel = INFINITY;
    d.note = "non-finite values differ";
  }
  d.ok = d.rel <= tolerance;
  return d;
}

namespace {

struct Compared {
  std::vector<TensorDiff> outputs;
  std::vector<LayerDiff> layers;
  int first_divergent = -1;
  bool ok = true;
};

Compared compare_sessions(Session& a, Session& b, const std::map<std::string, Tensor>& ya,
                          const std::map<std::string, Tensor>& yb, double tol, bool per_layer) {
  Compared c;
  for (const auto& [name, ta] : ya) {
    auto it = yb.find(name);
    TensorDiff d;
    if (it == yb.end()) {
      d.name = name;
      d.ok = false;
      d.rel = INFINITY;
      d.note = "missing from the optimized outputs";
    } else {
      d = compare_tensors(name, ta, it->second, tol);
    }
    c.ok &= d.ok;
    c.outputs.push_back(std::move(d));
  }
  if (!per_layer) return c;
  const Executor& ea = *a.impl()->executor;
  const Executor& eb = *b.impl()->executor;
  const Graph& gb = eb.graph();
  for (size_t i = 0; i < eb.num_steps(); ++i) {
    const Node& n = eb.step_node(i);
    for (ValueId o : n.outputs) {
      if (o == kNoValue) continue;
      const std::string& vn = gb.value(o).name;
      const Tensor* ta = ea.value(vn);
      const Tensor* tb = eb.value(vn);
      if (!ta || !tb) continue;  // a value only one graph has
      LayerDiff l{n.name, n.op, vn, n.origin, compare_tensors(vn, *ta, *tb, tol)};
      if (!l.diff.ok && c.first_divergent < 0) c.first_divergent = static_cast<int>(c.layers.size());
      c.layers.push_back(std::move(l));
    }
  }
  return c;
}

Result<Session> compile_at(const Model& m, const CompileOptions& base, int level,
                           const std::vector<std::string>* only_passes = nullptr) {
  CompileOptions o = base;
  o.opt_level = level;
  if (only_passes) {
    o.opt_level = 0;
    o.enable_passes = *only_passes;
  }
  return m.compile(o);
}

std::string layer_label(const LayerDiff& l) {
  std::string origin;
  for (const std::string& s : l.origin) origin += (origin.empty() ? "" : "+") + s;
  return fmt::format("{} ({}){}", l.node, l.op, origin.empty() || origin == l.node ? "" : " <- " + origin);
}

}  // namespace

Result<LevelCheckReport> check_levels(const Model& m, const std::map<std::string, Tensor>& inputs,
                                      const LevelCheckOptions& o) {
  if (o.level_a < 0 || o.level_a > 3 || o.level_b < 0 || o.level_b > 3)
    return invalid_argument(fmt::format("levels must be 0..3, got O{} and O{}", o.level_a, o.level_b));
  LevelCheckReport r;
  r.level_a = o.level_a;
  r.level_b = o.level_b;
  r.tolerance = o.tolerance;
  // Per-layer comparison (also bisection's) reads intermediates, which
  // planned memory reuses.
  CompileOptions base = o.base;
  base.keep_intermediates = base.keep_intermediates || o.per_layer || o.bisect;
  ANVIL_ASSIGN_OR_RETURN(Session sa, compile_at(m, base, o.level_a));
  ANVIL_ASSIGN_OR_RETURN(Session sb, compile_at(m, base, o.level_b));
  r.optimization_report = sb.optimization_report();
  ANVIL_ASSIGN_OR_RETURN(auto ya, sa.run(inputs));
  ANVIL_ASSIGN_OR_RETURN(auto yb, sb.run(inputs));
  Compared c = compare_sessions(sa, sb, ya, yb, o.tolerance, o.per_layer);
  r.outputs = std::move(c.outputs);
  r.layers = std::move(c.layers);
  r.first_divergent = c.first_divergent;
  r.ok = c.ok;
  if (r.ok || !o.bisect) return r;

  // Passes in pipeline order as level_b runs them; each prefix is compiled
  // alone, so the first failing prefix names the pass that broke it.
  const std::set<std::string> disabled(o.base.disable_passes.begin(), o.base.disable_passes.end());
  const std::set<std::string> enabled(o.base.enable_passes.begin(), o.base.enable_passes.end());
  std::vector<std::string> prefix;
  for (const Pass& p : all_passes()) {
    if (disabled.count(p.name) || !(p.level <= o.level_b || enabled.count(p.name))) continue;
    prefix.push_back(p.name);
    ANVIL_ASSIGN_OR_RETURN(Session sp, compile_at(m, base, 0, &prefix));
    ANVIL_ASSIGN_OR_RETURN(auto yp, sp.run(inputs));
    Compared cp = compare_sessions(sa, sp, ya, yp, o.tolerance, true);
    double worst = 0;
    for (const TensorDiff& d : cp.outputs) worst = std::max(worst, d.rel);
    r.bisect_log.push_back(fmt::format("+{:<20} worst output rel {:.3g}{}", p.name, worst, cp.ok ? "" : "  FAIL"));
    if (!cp.ok) {
      r.failing_pass = p.name;
      r.failing_rel = worst;
      if (cp.first_divergent >= 0) r.failing_layer = layer_label(cp.layers[static_cast<size_t>(cp.first_divergent)]);
      break;
    }
  }
  return r;
}

std::string LevelCheckReport::to_text() const {
  std::string s;
  if (!layers.empty()) {
    s += fmt::format("per layer (-O{} graph order; value compared with the same-named -O{} value):\n", level_b, level_a);
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerDiff& l = layers[i];
      s += fmt::format("  {:>4} {:<48} max|diff| {:<10.3g} max|ref| {:<10.3g} rel {:<10.3g}{}\n", i, layer_label(l),
                       l.diff.max_abs, l.diff.max_ref, l.diff.rel, l.diff.ok ? "" : "  DIVERGES");
    }
    if (first_divergent >= 0)
      s += fmt::format("first layer beyond {:g} relative: {} (value '{}', rel {:.3g})\n", tolerance,
                       layer_label(layers[static_cast<size_t>(first_divergent)]),
                       layers[static_cast<size_t>(first_divergent)].value,
                       layers[static_cast<size_t>(first_divergent)].diff.rel);
    else
      s += fmt::format("all {} layers within {:g} relative\n", layers.size(), tolerance);
  }
  s += fmt::format("check -O{} vs -O{} (tolerance {:g} of each output's max |value|):\n", level_a, level_b, tolerance);
  for (const TensorDiff& d : outputs)
    s += fmt::format("  {:<24} max|diff| {:.3g}  max|ref| {:.3g}  rel {:.3g}  {}{}\n", d.name, d.max_abs, d.max_ref,
                     d.rel, d.ok ? "ok" : "MISMATCH", d.note.empty() ? "" : " (" + d.note + ")");
  if (!bisect_log.empty()) {
    s += "bisection (passes added one by one to -O0):\n";
    for (const std::string& l : bisect_log) s += "  " + l + "\n";
    if (!failing_pass.empty())
      s += fmt::format("first failing pass: {} (worst output rel {:.3g}{})\n", failing_pass, failing_rel,
                       failing_layer.empty() ? "" : "; first divergent layer " + failing_layer);
    else
      s += "no single prefix of the passes fails: the failure depends on the input or on nondeterminism\n";
  }
  s += ok ? "check passed\n" : "check FAILED\n";
  return s;
}

}  // namespace anvil

#include "runtime/doctor.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "core/cpu.h"
#include "core/microbench.h"
#include "core/thread_pool.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/executor.h"
#include "runtime/profile_compare.h"
#include "runtime/profiler.h"
#include "runtime/session_impl.h"

namespace anvil {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kOk: return "ok";
    case Severity::kInfo: return "info";
    case Severity::kProblem: return "PROBLEM";
  }
  return "?";
}

int64_t count_subnormals(const Tensor& t) {
  if (t.dtype() != DType::kF32 || !t.defined()) return 0;
  const float* d = t.data<float>();
  int64_t count = 0;
  for (int64_t k = 0, n = t.numel(); k < n; ++k) {
    uint32_t bits;
    std::memcpy(&bits, &d[k], 4);
    count += (bits & 0x7f800000u) == 0 && (bits & 0x007fffffu) != 0;
  }
  return count;
}

int DoctorReport::problems() const {
  int n = 0;
  for (const Finding& f : findings) n += f.severity == Severity::kProblem;
  return n;
}

std::string DoctorReport::to_text() const {
  std::string o = fmt::format("anvil doctor: {}\nconfiguration: {}\n\n", model.empty() ? "model" : model, config);
  for (const Finding& f : findings) {
    const std::string tag = fmt::format("[{}]", severity_name(f.severity));
    o += fmt::format("{:<10}{}: {}\n", tag, f.check, f.summary);
    for (const std::string& e : f.evidence) o += fmt::format("          - {}\n", e);
    if (!f.fix.empty() && f.severity != Severity::kOk) o += fmt::format("          fix: {}\n", f.fix);
  }
  const int n = problems();
  o += n ? fmt::format("\n{} problem{} found.\n", n, n == 1 ? "" : "s") : "\nno problems found.\n";
  return o;
}

std::string DoctorReport::to_json() const {
  using nlohmann::json;
  json fs = json::array();
  for (const Finding& f : findings)
    fs.push_back({{"check", f.check},
                  {"severity", f.severity == Severity::kProblem ? "problem" : severity_name(f.severity)},
                  {"summary", f.summary},
                  {"evidence", f.evidence},
                  {"fix", f.fix}});
  json j = {{"model", model}, {"config", config}, {"problems", problems()}, {"findings", fs}};
  return j.dump(1) + "\n";
}

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string ms(double s) { return s >= 1 ? fmt::format("{:.0f} ms", s * 1e3) : fmt::format("{:.3g} ms", s * 1e3); }

std::string config_label(const CompileOptions& c) {
  std::string s = fmt::format("-O{}", c.opt_level);
  for (const std::string& p : c.enable_passes) s += " --enable-pass " + p;
  for (const std::string& p : c.disable_passes) s += " --disable-pass " + p;
  if (!c.flush_denormals) s += " --denormals keep";
  return s;
}

// One configuration compiled and timed. The first run is timed on its own
// (first-run cost); the profiled runs after it are the steady state.
struct Run {
  std::string label;
  double compile_s = 0, first_s = 0;
  Profile profile;
  std::optional<Session> session;  // kept only when asked
  double best_s() const {
    return profile.run_seconds.empty() ? 0 : *std::min_element(profile.run_seconds.begin(), profile.run_seconds.end());
  }
};

Result<Run> measure(const Model& m, const CompileOptions& co, const std::map<std::string, Tensor>& inputs,
                    const DoctorOptions& o, bool keep_session = false) {
  Run r;
  r.label = config_label(co);
  double t0 = now_s();
  auto s = m.compile(co);
  if (!s) return std::move(s).status().with_context("doctor: compiling " + r.label);
  r.compile_s = now_s() - t0;
  t0 = now_s();
  auto out = s->run(inputs);
  if (!out) return std::move(out).status().with_context("doctor: running " + r.label);
  r.first_s = now_s() - t0;
  ProfileOptions po;
  po.iters = std::clamp(static_cast<int>(o.time_budget_s / std::max(r.first_s, 1e-6)), 1, std::max(1, o.iters));
  po.warmup = 0;
  po.measure_peak = false;
  auto p = profile_session(*s, inputs, po);
  if (!p) return std::move(p).status().with_context("doctor: profiling " + r.label);
  r.profile = std::move(p).value();
  r.profile.model = m.graph().source;
  if (keep_session) r.session = std::move(s).value();
  return r;
}

// Weights that nodes actually read (stale initializers left behind by a
// rewrite are not run and not counted).
struct WeightCount {
  int64_t values = 0;
  int tensors = 0, tensors_total = 0;
  std::vector<std::pair<std::string, int64_t>> worst;  // largest counts first
};

WeightCount count_weight_subnormals(const Graph& g) {
  WeightCount c;
  std::set<ValueId> used;
  for (const Node& n : g.nodes())
    for (ValueId v : n.inputs)
      if (v != kNoValue) used.insert(v);
  for (ValueId id : used) {
    const Value& v = g.value(id);
    if (!v.constant || v.constant->dtype() != DType::kF32) continue;
    ++c.tensors_total;
    const int64_t k = count_subnormals(*v.constant);
    if (!k) continue;
    c.values += k;
    ++c.tensors;
    c.worst.push_back({v.name, k});
  }
  std::stable_sort(c.worst.begin(), c.worst.end(), [](auto& a, auto& b) { return a.second > b.second; });
  return c;
}

std::string worst_list(const std::vector<std::pair<std::string, int64_t>>& w, size_t n) {
  std::string s;
  for (size_t i = 0; i < std::min(n, w.size()); ++i) s += fmt::format("{}{} ({})", i ? ", " : "", w[i].first, w[i].second);
  if (w.size() > n) s += ", ...";
  return s;
}

int usable_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return cpu_info().logical_cpus;
}

// "conv1: 0.52 -> 31.2 ms" for the groups that lost most from a to b.
std::vector<std::string> top_losers(const Run& a, const Run& b, size_t n) {
  const ProfileComparison c = compare_profiles(a.profile, b.profile, a.label, b.label);
  std::vector<std::string> r;
  for (size_t i : c.losers()) {
    if (r.size() >= n) break;
    const CompareGroup& g = c.groups[i];
    std::string an, bn;
    for (size_t k : g.a) an += (an.empty() ? "" : "+") + c.a.nodes[k].op;
    for (size_t k : g.b) bn += (bn.empty() ? "" : "+") + c.b.nodes[k].op;
    r.push_back(fmt::format("{} ({} -> {}): {} -> {}", g.b.empty() ? c.a.nodes[g.a[0]].name : c.b.nodes[g.b[0]].name,
                            an.empty() ? "-" : an, bn.empty() ? "removed" : bn, ms(g.a_s), ms(g.b_s)));
  }
  return r;
}

bool is_slower(const Run& base, const Run& x, const DoctorOptions& o) {
  const double a = base.best_s(), b = x.best_s();
  return b > a * (1 + o.slower_fraction) && b - a > o.min_delta_s;
}

// Shapes are printed as "f32[64x3x7x7]".
std::vector<int64_t> dims_of(const std::string& desc) {
  std::vector<int64_t> d;
  const size_t l = desc.find('['), r = desc.rfind(']');
  if (l == std::string::npos || r == std::string::npos || r <= l + 1) return d;
  std::string cur;
  for (size_t i = l + 1; i <= r; ++i) {
    if (i == r || desc[i] == 'x') {
      d.push_back(cur.empty() ? -1 : std::atoll(cur.c_str()));
      cur.clear();
    } else {
      cur += desc[i];
    }
  }
  return d;
}

const std::set<std::string>& elementwise_ops() {
  static const std::set<std::string> s = {"Relu",      "Add",     "Mul",         "Sub",      "Div",
                                          "Clip",      "Sigmoid", "LeakyRelu",   "HardSwish", "HardSigmoid",
                                          "PRelu",     "Sum",     "BatchNormalization", "Elu", "Tanh"};
  return s;
}

}  // namespace

Finding check_threads(int anvil_threads, const DoctorOptions& o, int usable) {
  Finding f;
  f.check = "threads";
  if (usable <= 0) usable = usable_cpu_count();
  f.evidence.push_back(fmt::format("anvil runs {} thread{} (--threads {}); this process may use {} CPU{} (affinity); "
                                   "{} logical CPUs in the machine",
                                   anvil_threads, anvil_threads == 1 ? "" : "s", o.base.threads, usable,
                                   usable == 1 ? "" : "s", cpu_info().logical_cpus));
  std::vector<std::string> over;
  if (anvil_threads > usable)
    over.push_back(fmt::format("anvil's {} threads alone exceed the {} usable CPUs", anvil_threads, usable));
  int other_max = 0;
  for (const char* var : {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
    std::optional<std::string> val;
    auto it = o.env.find(var);
    if (it != o.env.end()) val = it->second;
    else if (o.use_process_env && std::getenv(var)) val = std::getenv(var);
    f.evidence.push_back(fmt::format("{}={}", var, val ? *val : "(unset)"));
    if (!val) continue;
    // OMP_NUM_THREADS may list nested levels ("8,2"); the first is the team size.
    const int n = std::atoi(val->c_str());
    other_max = std::max(other_max, n);
    if (n > 1 && n + anvil_threads > usable)
      over.push_back(fmt::format("{}={} plus anvil's {} threads = {} busy threads on {} CPUs", var, n, anvil_threads,
                                 n + anvil_threads, usable));
  }
  if (over.empty()) {
    f.severity = Severity::kOk;
    f.summary = fmt::format("{} anvil thread{} on {} usable CPU{}, no competing thread settings", anvil_threads,
                            anvil_threads == 1 ? "" : "s", usable, usable == 1 ? "" : "s");
    return f;
  }
  f.severity = Severity::kProblem;
  f.summary = "thread oversubscription: " + over.front();
  for (size_t i = 1; i < over.size(); ++i) f.evidence.push_back(over[i]);
  f.fix = fmt::format(
      "threads that outnumber the CPUs take turns, and every parallel kernel waits for the slowest: give anvil and "
      "the libraries sharing the process disjoint shares of the {} CPUs, e.g. anvil --threads {} with "
      "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1",
      usable, usable);
  return f;
}

Result<DoctorReport> run_doctor(const Model& model, const std::map<std::string, Tensor>& inputs,
                                const DoctorOptions& o) {
  DoctorReport rep;
  rep.model = model.graph().source;
  const CompileOptions& base = o.base;
  const int threads = base.threads == 0 ? default_thread_count() : base.threads;
  const Isa isa = active_isa();
  rep.config = fmt::format("{}, {} thread{}, ISA {}", config_label(base), threads, threads == 1 ? "" : "s",
                           isa_name(isa));
  if (base.flush_denormals) rep.config += ", denormals flush";

  // ---- the configuration the user runs: first-run cost and the profile
  // that the roofline check reads.
  ANVIL_ASSIGN_OR_RETURN(Run full, measure(model, base, inputs, o, /*keep_session=*/true));

  // ---- subnormal weights
  const WeightCount before = count_weight_subnormals(model.graph());
  WeightCount after = before;
  {
    Graph g = model.graph();
    PassOptions po;
    po.opt_level = base.opt_level;
    po.disabled.insert(base.disable_passes.begin(), base.disable_passes.end());
    po.enabled.insert(base.enable_passes.begin(), base.enable_passes.end());
    po.flush_subnormals = false;  // to see what folding creates
    auto r = run_passes(g, po);
    if (!r) return r.status();
    after = count_weight_subnormals(g);
  }
  double penalty = 0;  // slowdown of vector FMA with subnormals, FTZ/DAZ off
  if (o.measure) {
    for (FpData d : {FpData::kSubnormalInput, FpData::kSubnormalOutput}) {
      const double off = measure_fp_gflops(isa, FpOp::kFma, d, false, 1, 0.02);
      const double on = measure_fp_gflops(isa, FpOp::kFma, d, true, 1, 0.02);
      if (off > 0) penalty = std::max(penalty, on / off);
    }
  }
  const bool penalised = !o.measure || penalty > 2;
  const std::string penalty_text =
      o.measure ? fmt::format("this CPU runs vector FMA with subnormal operands or results {:.0f}x slower with "
                              "FTZ/DAZ off (microbenchmark, {})",
                              penalty, isa_name(isa))
                : std::string("subnormal penalty not measured (--no-measure); Intel cores are typically ~100x slower");

  // Per-configuration timings that the subnormal and pass findings share.
  std::optional<Run> keep_full;  // the user's configuration with denormals kept
  std::vector<std::string> pass_lines;
  std::vector<std::string> pass_problems, keep_traps, pass_notes;
  std::vector<std::string> loser_lines;
  if (o.pass_timing) {
    CompileOptions c0 = base;
    c0.opt_level = 0;
    c0.enable_passes.clear();
    c0.disable_passes.clear();
    ANVIL_ASSIGN_OR_RETURN(Run o0, measure(model, c0, inputs, o));
    const bool expose_trap = base.flush_denormals && after.values > 0;
    std::optional<Run> o0k;
    if (expose_trap) {
      CompileOptions k = c0;
      k.flush_denormals = false;
      ANVIL_ASSIGN_OR_RETURN(Run r, measure(model, k, inputs, o));
      o0k = std::move(r);
      CompileOptions kf = base;
      kf.flush_denormals = false;
      ANVIL_ASSIGN_OR_RETURN(Run rf, measure(model, kf, inputs, o));
      keep_full = std::move(rf);
    } else if (!base.flush_denormals) {
      keep_full.emplace();  // the user's own configuration keeps them
      keep_full->label = full.label;
      keep_full->profile = full.profile;
    }
    // Other processes share the cores: a slowdown counts only if a second,
    // back-to-back measurement of both configurations shows it again.
    auto slower_again = [&](const CompileOptions& ref, const CompileOptions& x) -> Result<bool> {
      ANVIL_ASSIGN_OR_RETURN(Run rx, measure(model, x, inputs, o));
      ANVIL_ASSIGN_OR_RETURN(Run rr, measure(model, ref, inputs, o));
      return is_slower(rr, rx, o);
    };
    pass_lines.push_back(fmt::format("{:<34} best of {} run{}: {}", o0.label, o0.profile.iters,
                                     o0.profile.iters == 1 ? "" : "s", ms(o0.best_s())));
    if (o0k)
      pass_lines.push_back(fmt::format("{:<34} best of {} run{}: {}", o0k->label, o0k->profile.iters,
                                       o0k->profile.iters == 1 ? "" : "s", ms(o0k->best_s())));
    const std::set<std::string> disabled(base.disable_passes.begin(), base.disable_passes.end());
    const std::set<std::string> enabled(base.enable_passes.begin(), base.enable_passes.end());
    for (const Pass& pass : all_passes()) {
      if (disabled.count(pass.name) || (pass.level > base.opt_level && !enabled.count(pass.name))) continue;
      // A pass that changes nothing on its own gives the -O0 graph: skip it.
      Graph g = model.graph();
      PassOptions po;
      po.opt_level = 0;
      po.enabled = {pass.name};
      po.flush_subnormals = base.flush_denormals;
      auto pr = run_passes(g, po);
      if (!pr) return pr.status();
      bool changed = false;
      for (const PassRecord& rec : pr->passes) changed |= rec.name == pass.name && rec.stats.changed();
      if (!changed) {
        pass_lines.push_back(fmt::format("{:<34} no effect on this model alone", "+" + pass.name));
        continue;
      }
      CompileOptions cp = c0;
      cp.enable_passes = {pass.name};
      cp.flush_denormals = base.flush_denormals;
      ANVIL_ASSIGN_OR_RETURN(Run rp, measure(model, cp, inputs, o));
      std::string line = fmt::format("{:<34} {} vs {} at -O0 ({:.2f}x)", "+" + pass.name, ms(rp.best_s()),
                                     ms(o0.best_s()), o0.best_s() > 0 ? rp.best_s() / o0.best_s() : 0.0);
      if (is_slower(o0, rp, o)) {
        ANVIL_ASSIGN_OR_RETURN(const bool again, slower_again(c0, cp));
        if (again) {
          pass_problems.push_back(fmt::format("{} alone makes the model {:.2f}x slower ({} vs {} at -O0)", pass.name,
                                              rp.best_s() / o0.best_s(), ms(rp.best_s()), ms(o0.best_s())));
          for (const std::string& l : top_losers(o0, rp, 3)) loser_lines.push_back(pass.name + ": " + l);
          line += "  SLOWER";
        }
      }
      if (o0k && pass.writes_constants) {
        CompileOptions ck = cp;
        ck.flush_denormals = false;
        ANVIL_ASSIGN_OR_RETURN(Run rk, measure(model, ck, inputs, o));
        line += fmt::format(";  with --denormals keep: {} vs {} ({:.2f}x)", ms(rk.best_s()), ms(o0k->best_s()),
                            o0k->best_s() > 0 ? rk.best_s() / o0k->best_s() : 0.0);
        bool trap = is_slower(*o0k, rk, o);
        if (trap) {
          CompileOptions k0 = c0;
          k0.flush_denormals = false;
          ANVIL_ASSIGN_OR_RETURN(trap, slower_again(k0, ck));
        }
        if (trap) {
          keep_traps.push_back(fmt::format("with --denormals keep, {} alone makes the model {:.2f}x slower ({} vs {})",
                                           pass.name, rk.best_s() / o0k->best_s(), ms(rk.best_s()),
                                           ms(o0k->best_s())));
          for (const std::string& l : top_losers(*o0k, rk, 3)) loser_lines.push_back(pass.name + " (keep): " + l);
          line += "  SLOWER with keep";
        }
      }
      pass_lines.push_back(line);
    }
    pass_lines.push_back(fmt::format("{:<34} {} vs {} at -O0 ({:.2f}x)", full.label + " (all)", ms(full.best_s()),
                                     ms(o0.best_s()), o0.best_s() > 0 ? full.best_s() / o0.best_s() : 0.0));
    bool full_slower = base.opt_level > 0 && is_slower(o0, full, o);
    if (full_slower) {
      ANVIL_ASSIGN_OR_RETURN(full_slower, slower_again(c0, base));
    }
    if (full_slower) {
      pass_problems.push_back(fmt::format("{} is {:.2f}x slower than -O0 ({} vs {})", full.label,
                                          full.best_s() / o0.best_s(), ms(full.best_s()), ms(o0.best_s())));
      for (const std::string& l : top_losers(o0, full, 3)) loser_lines.push_back(full.label + ": " + l);
    }
    if (keep_full && o0k)
      pass_lines.push_back(fmt::format("{:<34} {} vs {} at -O0 --denormals keep ({:.2f}x)", keep_full->label + " (all)",
                                       ms(keep_full->best_s()), ms(o0k->best_s()),
                                       o0k->best_s() > 0 ? keep_full->best_s() / o0k->best_s() : 0.0));
  }

  // ---- finding: subnormal weights
  {
    Finding f;
    f.check = "subnormal-weights";
    f.evidence.push_back(fmt::format("in the model file: {} subnormal values in {} of {} weight tensors{}", before.values,
                                     before.tensors, before.tensors_total,
                                     before.values ? " (" + worst_list(before.worst, 3) + ")" : ""));
    if (base.opt_level > 0)
      f.evidence.push_back(fmt::format("after {}'s passes (before anvil flushes them): {} in {} tensors{}",
                                       config_label(base), after.values, after.tensors,
                                       after.values ? " (" + worst_list(after.worst, 3) + ")" : ""));
    f.evidence.push_back(penalty_text);
    if (keep_full && base.flush_denormals)
      f.evidence.push_back(fmt::format("measured: {} {} per run vs {} with flushing (the default)", keep_full->label,
                                       ms(keep_full->best_s()), ms(full.best_s())));
    const int64_t worst = std::max(before.values, after.values);
    if (worst == 0) {
      f.severity = Severity::kOk;
      f.summary = "no subnormal weights, before or after folding";
    } else if (!penalised) {
      f.severity = Severity::kInfo;
      f.summary = fmt::format("{} subnormal weights, but this CPU does not penalise them", worst);
    } else {
      // Subnormals in the file hit every runtime; ones that folding creates
      // cost only where nothing flushes them (--denormals keep, other engines).
      const bool pays = !base.flush_denormals;
      f.severity = pays || before.values > 0 ? Severity::kProblem : Severity::kInfo;
      f.summary = after.values > before.values
                      ? fmt::format("{} weights become subnormal when BatchNorm is folded into the convs ({} already in "
                                    "the file){}",
                                    after.values, before.values,
                                    pays ? "; --denormals keep pays for every one" : "; anvil flushes them")
                      : fmt::format("{} subnormal weights in the model{}", before.values,
                                    pays ? "; --denormals keep pays for every one" : "; anvil flushes them");
      f.fix = "keep --denormals flush (the default: anvil zeroes subnormal weights after folding and sets FTZ/DAZ); "
              "for other runtimes, zero the dead channels in the checkpoint (BatchNorm gammas and weights with "
              "|x| < 1e-30) or export with the BN already folded and flushed";
    }
    rep.findings.push_back(std::move(f));
  }

  // ---- finding: subnormal activations, every intermediate of one -O0 run
  // with denormals kept (nothing is fused away, nothing flushed)
  {
    Finding f;
    f.check = "subnormal-activations";
    CompileOptions ck = base;
    ck.opt_level = 0;
    ck.enable_passes.clear();
    ck.disable_passes.clear();
    ck.flush_denormals = false;
    auto s = model.compile(ck);
    if (!s) return s.status();
    auto out = s->run(inputs);
    if (!out) return out.status();
    const Executor& ex = *s->impl()->executor;
    int64_t sub = 0, total = 0;
    int tensors = 0, with = 0;
    std::vector<std::pair<std::string, int64_t>> worst;
    for (size_t i = 0; i < ex.num_steps(); ++i) {
      for (ValueId v : ex.step_node(i).outputs) {
        if (v == kNoValue) continue;
        const std::string& name = ex.graph().value(v).name;
        const Tensor* t = ex.value(name);
        if (!t || t->dtype() != DType::kF32) continue;
        ++tensors;
        total += t->numel();
        const int64_t k = count_subnormals(*t);
        if (!k) continue;
        sub += k;
        ++with;
        worst.push_back({name, k});
      }
    }
    std::stable_sort(worst.begin(), worst.end(), [](auto& a, auto& b) { return a.second > b.second; });
    const double frac = total ? static_cast<double>(sub) / static_cast<double>(total) : 0;
    f.evidence.push_back(fmt::format("one -O0 run with --denormals keep on the input: {} of {} values ({:.4f}%) are "
                                     "subnormal, in {} of {} intermediate tensors{}",
                                     sub, total, 100 * frac, with, tensors,
                                     sub ? "; most: " + worst_list(worst, 3) : ""));
    if (sub == 0) {
      f.severity = Severity::kOk;
      f.summary = "no subnormal activations";
    } else {
      f.severity = !base.flush_denormals && penalised && frac > 1e-4 ? Severity::kProblem : Severity::kInfo;
      f.summary = fmt::format("{:.4f}% of the activations are subnormal{}", 100 * frac,
                              base.flush_denormals ? " (FTZ/DAZ make them zeros while anvil runs)"
                                                   : "; with --denormals keep every one is a slow operation");
      f.fix = "keep --denormals flush (FTZ/DAZ on while kernels run); tiny activations usually come from near-zero "
              "BatchNorm scales or weights: zero them in the checkpoint";
    }
    rep.findings.push_back(std::move(f));
  }

  // ---- finding: passes that make the model slower
  if (o.pass_timing) {
    Finding f;
    f.check = "pass-timing";
    f.evidence = pass_lines;
    for (const std::string& l : loser_lines) f.evidence.push_back("layers that lost most, " + l);
    if (!pass_problems.empty()) {
      f.severity = Severity::kProblem;
      f.summary = pass_problems.front();
      for (size_t i = 1; i < pass_problems.size(); ++i) f.evidence.push_back(pass_problems[i]);
      f.fix = "disable the pass (--disable-pass NAME) and report the model; `anvil profile --compare \"-O0\" "
              "\"-O0 --enable-pass NAME\" MODEL` shows the layers it slows down";
    } else if (!keep_traps.empty()) {
      // The user's configuration avoids the trap: worth knowing, not a problem here.
      f.severity = Severity::kInfo;
      f.summary = keep_traps.front() + " (the subnormal trap; flushing, the default, avoids it)";
      for (size_t i = 1; i < keep_traps.size(); ++i) f.evidence.push_back(keep_traps[i]);
      f.fix = "keep --denormals flush; never time this model with FTZ/DAZ off";
    } else {
      f.severity = Severity::kOk;
      f.summary = "no optimizer pass makes the model slower";
    }
    rep.findings.push_back(std::move(f));
  }

  // ---- finding: layers far below their roofline
  if (o.measure) {
    Finding f;
    f.check = "roofline";
    const double peak = peak_gflops(isa, threads) * 1e9;
    const MemoryBandwidth bw = measure_memory_bandwidth(size_t{64} << 20, threads);
    const double bytes_per_s = std::max(bw.copy_gbs, bw.triad_gbs) * 1e9;
    f.evidence.push_back(fmt::format("roofline: {:.1f} GFLOP/s FMA peak ({}, {} thread{}), {:.1f} GB/s streaming "
                                     "bandwidth (measured)",
                                     peak * 1e-9, isa_name(isa), threads, threads == 1 ? "" : "s", bytes_per_s * 1e-9));
    const Profile& p = full.profile;
    const Graph& g = full.session->impl()->executor->graph();
    const Executor& ex = *full.session->impl()->executor;
    const double total = p.node_sum_mean_s();
    const int block = isa == Isa::kAvx512 ? 16 : isa == Isa::kAvx2 ? 8 : 4;
    double actionable_s = 0, flagged_s = 0;
    std::set<std::string> fixes;
    int flagged = 0;
    for (size_t i : p.by_time()) {
      const NodeProfile& n = p.nodes[i];
      if (total <= 0 || n.median_s <= 0 || n.mean_s < o.min_layer_share * total) continue;
      const double bound = std::max(n.flops > 0 ? static_cast<double>(n.flops) / peak : 0.0,
                                    static_cast<double>(n.bytes) / bytes_per_s);
      const double frac = bound / n.median_s;
      if (frac >= o.roofline_fraction) continue;
      std::string reason;
      bool actionable = false;
      const Node& node = ex.step_node(i);
      if (n.kernel.rfind("ref:", 0) == 0) {
        reason = "reference-kernel fallback (" + n.kernel +
                 ": plain loops; no optimized kernel accepted this node; ANVIL_VERBOSE=dispatch says why)";
        actionable = true;
      } else if (elementwise_ops().count(n.op) && !node.inputs.empty() && node.inputs[0] != kNoValue &&
                 g.value(node.inputs[0]).producer >= 0 &&
                 std::set<std::string>{"Conv", "FusedConv", "Gemm", "FusedGemm", "MatMul"}.count(
                     g.nodes()[static_cast<size_t>(g.value(node.inputs[0]).producer)].op)) {
        reason = fmt::format("unfused {} after {} '{}': one more pass over the tensor in memory", n.op,
                             g.nodes()[static_cast<size_t>(g.value(node.inputs[0]).producer)].op,
                             g.nodes()[static_cast<size_t>(g.value(node.inputs[0]).producer)].name);
        actionable = true;
      } else if ((n.op == "Conv" || n.op == "FusedConv") && n.input_shapes.size() > 1) {
        const std::vector<int64_t> w = dims_of(n.input_shapes[1]), x = dims_of(n.input_shapes[0]);
        if (w.size() >= 2 && x.size() >= 2 && (w[0] % block || x[1] % block))
          reason = fmt::format("channels {} -> {} are not multiples of the {}-float vector block ({})", x[1], w[0],
                               block, isa_name(isa));
      }
      if (reason.empty() && n.median_s < 100e-6)
        reason = fmt::format("a small layer ({:.0f} us): fixed per-call costs (thread fork/join, packing set-up) "
                             "dominate",
                             n.median_s * 1e6);
      if (reason.empty() && p.threads > 1 && n.busy_cores_median < 0.75 * p.threads)
        reason = fmt::format("threads idle: it kept {:.2f} of {} cores busy ({} with one thread alone, the rest "
                             "waiting at joins: uneven shares or a slower core)",
                             n.busy_cores_median, p.threads, ms(n.serial_median_s));
      if (reason.empty() && std::set<std::string>{"Transpose", "Reshape", "Concat", "Split", "Pad", "Slice",
                                                  "Gather", "Tile"}.count(n.op))
        reason = "layout reorder / data movement";
      if (reason.empty()) reason = "no known cause";
      if (reason.rfind("reference", 0) == 0) fixes.insert(
            "reference fallback: ANVIL_VERBOSE=dispatch anvil run MODEL prints why each optimized kernel declined; "
            "rewrite the node into a supported form (e.g. a 1-D conv as a 2-D conv with height 1)");
      else if (reason.rfind("unfused", 0) == 0)
        fixes.insert("unfused op: compile at -O3 (fuse_activation, fuse_residual, fold_batchnorm) and check that no "
                     "--disable-pass keeps it apart");
      else if (reason.rfind("channels", 0) == 0)
        fixes.insert(fmt::format("channel counts: multiples of {} use every vector lane", block));
      ++flagged;
      flagged_s += n.mean_s;
      if (actionable) actionable_s += n.mean_s;
      if (flagged <= 10)
        f.evidence.push_back(fmt::format("{} ({}, kernel {}): {} = {:.0f}% of the run at {:.1f}% of its roofline "
                                         "({:.2f} GFLOP/s, {:.2f} FLOP/B); likely: {}",
                                         n.name, n.op, n.kernel, ms(n.mean_s), 100 * n.mean_s / total, 100 * frac,
                                         n.gflops_per_s(), n.intensity(), reason));
    }
    if (flagged > 10) f.evidence.push_back(fmt::format("... {} more", flagged - 10));
    if (!flagged) {
      f.severity = Severity::kOk;
      f.summary = fmt::format("every layer above {:.0f}% of the run is within {:.0f}% of its roofline or better",
                              100 * o.min_layer_share, 100 * o.roofline_fraction);
    } else {
      f.severity = actionable_s >= 0.05 * total ? Severity::kProblem : Severity::kInfo;
      f.summary = fmt::format("{} layer{} taking {:.0f}% of the run reach less than {:.0f}% of their roofline",
                              flagged, flagged == 1 ? "" : "s", 100 * flagged_s / total, 100 * o.roofline_fraction);
      for (const std::string& x : fixes) f.fix += (f.fix.empty() ? "" : "; ") + x;
    }
    rep.findings.push_back(std::move(f));
  }

  // ---- finding: threads
  {
    Finding f = check_threads(threads, o);
    if (o.measure && threads > 1 && usable_cpu_count() <= 16) {
      // Each CPU alone, now: a vCPU slowed by another tenant makes every
      // parallel layer wait for it at its join. (~0.1 s a CPU: skipped on
      // wide machines.)
      const std::vector<CpuSpeed> per = measure_per_cpu(isa);
      std::string line;
      for (const CpuSpeed& c : per)
        line += fmt::format("{}cpu {}{}: {:.0f} GFLOP/s, {:.1f} GB/s", line.empty() ? "" : "; ", c.cpu,
                            c.pinned ? "" : " (not pinned)", c.fma_gflops, c.read_gbs);
      f.evidence.push_back("each CPU alone (FMA peak, read bandwidth): " + line);
      const double worst = slowest_cpu_fraction(per);
      if (worst < 0.85 && f.severity == Severity::kOk) {
        f.severity = Severity::kInfo;
        f.summary += fmt::format("; the slowest CPU runs at {:.0f}% of the fastest right now", 100 * worst);
        f.fix = "each parallel layer waits for the slowest CPU: on a shared VM re-measure later (`anvil sysinfo`), "
                "or compare --threads 1 against --threads " + std::to_string(threads) + " with `anvil bench`";
      }
    }
    const Profile& p = full.profile;
    if (p.threads > 1 && !p.nodes.empty()) {
      // Where the other threads sat idle in the timed runs (anvil profile's
      // cores column): a node's serial part, or one thread's larger share.
      double idle = 0, serial = 0;
      std::vector<std::pair<double, size_t>> by_idle;
      for (size_t i = 0; i < p.nodes.size(); ++i) {
        const NodeProfile& n = p.nodes[i];
        const double d = n.median_s * (p.threads - n.busy_cores_median);
        idle += d;
        serial += n.serial_median_s * (p.threads - 1);
        by_idle.push_back({d, i});
      }
      std::sort(by_idle.begin(), by_idle.end(), std::greater<>());
      std::string top;
      for (size_t k = 0; k < std::min<size_t>(3, by_idle.size()); ++k) {
        const NodeProfile& n = p.nodes[by_idle[k].second];
        top += fmt::format("{}{} ({:.2f} cores, {} idle)", k ? ", " : "", n.name, n.busy_cores_median,
                           ms(by_idle[k].first));
      }
      f.evidence.push_back(fmt::format("the timed runs kept {:.2f} of {} cores busy (time-weighted over the nodes, "
                                       "wall time inside parallel work); ~{} of core time idle per run, ~{} of it "
                                       "while one thread ran alone; most idle: {}",
                                       p.busy_cores(), p.threads, ms(idle), ms(std::min(idle, serial)), top));
    }
    rep.findings.push_back(std::move(f));
  }

  // ---- finding: first-run cost
  {
    Finding f;
    f.check = "first-run";
    const double steady = full.profile.run_median_s();
    f.evidence.push_back(fmt::format("compile (optimizer passes, kernel selection, weight packing): {}",
                                     ms(full.compile_s)));
    f.evidence.push_back(fmt::format("first run: {}; steady state: {} (median of {} runs)", ms(full.first_s),
                                     ms(steady), full.profile.iters));
    const double extra = full.first_s - steady;
    f.summary = fmt::format("compile {} + first run {} before the steady {} per run", ms(full.compile_s),
                            ms(full.first_s), ms(steady));
    f.severity = extra > steady && extra > 0.01 ? Severity::kInfo : Severity::kOk;
    f.fix = "compile once and reuse the Session; do one warm-up run before timing or serving";
    rep.findings.push_back(std::move(f));
  }
  return rep;
}

}  // namespace anvil

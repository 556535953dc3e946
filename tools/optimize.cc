// `anvil optimize` (what the optimizer does to a model) and `anvil check`
// (optimized vs unoptimized outputs on the same input).
#include <cmath>

#include <fmt/core.h>

#include "cli_common.h"
#include "ir/graph.h"
#include "ir/printer.h"
#include "passes/pass.h"

namespace anvil::cli {

namespace {
Result<Graph> bound_graph(const ModelArgs& a) {
  auto m = load_model(a);
  if (!m) return m.status();
  return m->graph();
}
}  // namespace

int cmd_optimize(const ModelArgs& a, bool report, const std::string& dump_after, const std::string& format,
                 const std::string& output) {
  auto g = bound_graph(a);
  if (!g) return cli::report(g.status());
  if (!dump_after.empty() && dump_after != "all" && !find_pass(dump_after)) {
    Status s = check_pass_names({dump_after});
    return cli::report(s);
  }
  PassOptions o;
  o.opt_level = a.opt_level;
  o.disabled.insert(a.disable_passes.begin(), a.disable_passes.end());
  o.enabled.insert(a.enable_passes.begin(), a.enable_passes.end());
  o.flush_subnormals = a.denormals != "keep";
  bool dumped = false;
  o.after_pass = [&](const std::string& pass, const Graph& gr) {
    if (dump_after != pass && dump_after != "all") return;
    dumped = true;
    fmt::print("# graph after pass '{}'\n{}", pass, format == "dot" ? graph_to_dot(gr) : graph_to_text(gr));
  };
  auto r = run_passes(*g, o);
  if (!r) return cli::report(r.status());
  if (!dump_after.empty() && !dumped)
    fmt::print(stderr, "note: pass '{}' did not run at -O{} (use --enable-pass {})\n", dump_after, a.opt_level,
               dump_after);
  if (report || dump_after.empty()) fmt::print("{}", r->to_text());
  if (!output.empty()) {
    FILE* f = std::fopen(output.c_str(), "w");
    if (!f) return cli::report(io_error(output + ": cannot open for writing"));
    const std::string text = format == "dot" ? graph_to_dot(*g) : graph_to_text(*g);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    fmt::print("wrote {} ({} graph)\n", output, format);
  }
  return 0;
}

int cmd_check(const ModelArgs& a, const std::string& levels, uint64_t seed) {
  const size_t comma = levels.find(',');
  auto parse_level = [](std::string s, int& out) {
    if (!s.empty() && (s[0] == 'O' || s[0] == 'o')) s = s.substr(1);
    if (s.size() != 1 || s[0] < '0' || s[0] > '3') return false;
    out = s[0] - '0';
    return true;
  };
  int la = 0, lb = 3;
  if (comma == std::string::npos || !parse_level(levels.substr(0, comma), la) ||
      !parse_level(levels.substr(comma + 1), lb))
    return report(invalid_argument("--levels must be two levels like O0,O3, got '" + levels + "'"));
  auto m = load_model(a);
  if (!m) return report(m.status());
  ModelArgs aa = a, ab = a;
  aa.opt_level = la;
  ab.opt_level = lb;
  auto sa = m->compile(compile_options(aa, 0));
  if (!sa) return report(sa.status());
  auto sb = m->compile(compile_options(ab, 0));
  if (!sb) return report(sb.status());
  std::map<std::string, Tensor> inputs;
  for (const TensorInfo& ti : sa->inputs()) inputs[ti.name] = random_input(ti, seed);
  auto ya = sa->run(inputs);
  if (!ya) return report(ya.status());
  auto yb = sb->run(inputs);
  if (!yb) return report(yb.status());
  fmt::print("{}", sb->optimization_report());
  fmt::print("check -O{} vs -O{} on random input (seed {}):\n", la, lb, seed);
  bool ok = true;
  for (const auto& [name, ta] : *ya) {
    const Tensor& tb = yb->at(name);
    const std::vector<float> va = ta.to_f32_vector(), vb = tb.to_f32_vector();
    double max_abs = 0, scale = 0;
    for (size_t i = 0; i < va.size(); ++i) {
      max_abs = std::max(max_abs, std::fabs(double(va[i]) - vb[i]));
      scale = std::max(scale, std::fabs(double(va[i])));
    }
    const double rel = scale > 0 ? max_abs / scale : max_abs;
    // Folding reorders f32 rounding; 1e-4 of the output's scale is far
    // above that and far below any real mistake.
    const bool pass = rel <= 1e-4 && std::isfinite(rel);
    ok &= pass;
    fmt::print("  {:<24} max|diff| {:.3g}  max|ref| {:.3g}  rel {:.3g}  {}\n", name, max_abs, scale, rel,
               pass ? "ok" : "MISMATCH");
  }
  return ok ? 0 : 1;
}

}  // namespace anvil::cli

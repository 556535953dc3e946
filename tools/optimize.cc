// `anvil optimize` (what the optimizer does to a model) and `anvil check`
// (optimized vs unoptimized outputs on the same input).
#include <fmt/core.h>

#include "cli_common.h"
#include "ir/graph.h"
#include "ir/printer.h"
#include "passes/pass.h"
#include "runtime/check.h"

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

int cmd_check(const ModelArgs& a, const std::string& levels, uint64_t seed, bool per_layer, double tolerance,
              int threads) {
  const size_t comma = levels.find(',');
  auto parse_level = [](std::string s, int& out) {
    if (!s.empty() && (s[0] == 'O' || s[0] == 'o')) s = s.substr(1);
    if (s.size() != 1 || s[0] < '0' || s[0] > '3') return false;
    out = s[0] - '0';
    return true;
  };
  LevelCheckOptions o;
  if (comma == std::string::npos || !parse_level(levels.substr(0, comma), o.level_a) ||
      !parse_level(levels.substr(comma + 1), o.level_b))
    return report(invalid_argument("--levels must be two levels like O0,O3, got '" + levels + "'"));
  auto m = load_model(a);
  if (!m) return report(m.status());
  o.base = compile_options(a, threads);
  o.per_layer = per_layer;
  o.tolerance = tolerance;
  std::map<std::string, Tensor> inputs;
  for (const TensorInfo& ti : m->inputs()) inputs[ti.name] = random_input(ti, seed);
  auto r = check_levels(*m, inputs, o);
  if (!r) return report(r.status());
  fmt::print("{}", r->optimization_report);
  fmt::print("input: random uniform [-1, 1], seed {}\n", seed);
  fmt::print("{}", r->to_text());
  return r->ok ? 0 : 1;
}

}  // namespace anvil::cli

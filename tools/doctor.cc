// `anvil doctor MODEL`: what is wrong with how this model runs here, each
// finding with its evidence and a fix (src/runtime/doctor.h). Exit status 1
// when a finding is a problem, so scripts can gate on it.
#include <fmt/core.h>

#include "profile.h"
#include "runtime/doctor.h"

namespace anvil::cli {

CLI::App* add_doctor_command(CLI::App& app, DoctorArgs& a) {
  auto* c = app.add_subcommand(
      "doctor", "Run a model and diagnose it: subnormal weights and activations, optimizer passes that slow it "
                "down, layers far below the roofline, thread oversubscription, first-run cost. Exit 1 on a problem");
  add_model_args(c, a.model);
  c->add_option("--threads", a.threads, "Worker threads (0: one per physical core)")->check(CLI::NonNegativeNumber);
  c->add_option("--iters", a.iters, "Timed runs per configuration (fewer when a run takes long)")
      ->check(CLI::PositiveNumber);
  c->add_option("--seed", a.seed, "Seed of the random input");
  c->add_flag("--quick", a.quick, "Skip the per-pass A/B timing (one compile and timing per optimizer pass)");
  c->add_flag("--no-measure", a.no_measure, "Skip the microbenchmarks (no roofline check; penalty assumed)");
  c->add_flag("--json", a.json, "Print the findings as one JSON object");
  return c;
}

int cmd_doctor(const DoctorArgs& a) {
  auto m = load_model(a.model);
  if (!m) return report(m.status());
  std::map<std::string, Tensor> inputs;
  for (const TensorInfo& ti : m->inputs()) inputs[ti.name] = random_input(ti, a.seed);
  DoctorOptions o;
  o.base = compile_options(a.model, a.threads);
  o.iters = a.iters;
  o.pass_timing = !a.quick;
  o.measure = !a.no_measure;
  auto r = run_doctor(*m, inputs, o);
  if (!r) return report(r.status());
  r->model = a.model.path;
  fmt::print("{}", a.json ? r->to_json() : r->to_text());
  return r->problems() ? 1 : 0;
}

}  // namespace anvil::cli

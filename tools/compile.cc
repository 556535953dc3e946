// `anvil compile`: optimize a model once and save it (.anvil) with its kernel
// choices and packed weights, then prove the file: load it back, time the
// load against the source's import + optimize, and compare outputs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include "cli_common.h"
#include "compile_cmd.h"

namespace anvil::cli {

namespace {
double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

CLI::App* add_compile_command(CLI::App& app, CompileArgs& a) {
  auto* c = app.add_subcommand("compile",
                               "Optimize a model for this CPU and save it as a compiled model (.anvil): optimized graph, "
                               "kernel choices and packed weights; loading it skips import, optimizer and packing");
  add_model_args(c, a.model);
  c->add_option("-o,--output", a.output, "The .anvil file to write")->required();
  c->add_option("--max-isa", a.max_isa, "Cap the kernels' ISA (the file then runs on CPUs with at least it)")
      ->check(CLI::IsMember({"scalar", "avx2", "avx512"}));
  c->add_option("--threads", a.threads, "Threads of the verification runs (0: one per physical core)");
  c->add_flag("--no-verify", a.no_verify, "Do not load the file back to time it and compare outputs");
  return c;
}

int cmd_compile(const CompileArgs& a) {
  const double t0 = now_s();
  auto m = load_model(a.model);
  if (!m) return report(m.status());
  if (m->precompiled()) return report(invalid_argument(a.model.path + " is already a compiled model"));
  const double t1 = now_s();
  CompileOptions co = compile_options(a.model, a.threads);
  co.max_isa = a.max_isa;
  fmt::print("compiling {}: optimizing, selecting kernels, packing weights...\n", a.model.path);
  std::fflush(stdout);
  auto s = std::move(*m).compile(co);  // consumed (see Model::compile)
  if (!s) return report(s.status());
  const double t2 = now_s();
  Status st = s->save(a.output);
  if (!st.is_ok()) return report(st);
  const double t3 = now_s();
  std::error_code ec;
  const double mb = static_cast<double>(std::filesystem::file_size(a.output, ec)) / (1 << 20);
  fmt::print("wrote {} ({:.1f} MiB, {} kernels, -O{})\n", a.output, mb, s->isa(), a.model.opt_level);
  fmt::print("  from the source: import {:.0f} ms + optimize, select kernels, pack {:.0f} ms = {:.0f} ms; save {:.0f} ms\n",
             (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t2 - t0) * 1e3, (t3 - t2) * 1e3);
  if (a.no_verify) return 0;

  // Load it back (from the page cache, as a service restart would) and
  // check that it computes what the session that wrote it computes.
  const double t4 = now_s();
  auto m2 = Model::load(a.output);
  if (!m2) return report(m2.status());
  const double t5 = now_s();
  CompileOptions co2;
  co2.threads = a.threads;
  co2.exact = a.model.exact;
  co2.flush_denormals = a.model.denormals != "keep";
  auto s2 = m2->compile(co2);
  if (!s2) return report(s2.status());
  const double t6 = now_s();
  fmt::print("  from {}: map + verify + graph {:.1f} ms + kernels {:.1f} ms = {:.1f} ms ({:.0f}x faster)\n", a.output,
             (t5 - t4) * 1e3, (t6 - t5) * 1e3, (t6 - t4) * 1e3, (t2 - t0) / std::max(1e-9, t6 - t4));
  std::map<std::string, Tensor> in;
  uint64_t seed = 1;
  for (const TensorInfo& ti : s->inputs()) in[ti.name] = random_input(ti, seed++);
  auto y1 = s->run(in);
  if (!y1) return report(y1.status());
  auto y2 = s2->run(in);
  if (!y2) return report(y2.status());
  double worst = 0;
  for (const auto& [name, t] : *y1) {
    auto it = y2->find(name);
    if (it == y2->end() || it->second.shape() != t.shape() || it->second.dtype() != t.dtype())
      return report(internal_error("the compiled model's output '" + name + "' differs in shape or type"));
    if (t.dtype() != DType::kF32) continue;
    const float* p = t.data<float>();
    const float* q = it->second.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(p[i] - q[i])));
  }
  fmt::print("  outputs on a random input: max |diff| {:g} against the session that wrote it\n", worst);
  if (worst != 0) return report(internal_error("the compiled model computes different outputs"));
  return 0;
}

}  // namespace anvil::cli

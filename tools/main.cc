// `anvil`: inspect, run, benchmark and generate CNN models.
#include <cstdio>

#include "cli_common.h"
#include "compile_cmd.h"
#include "profile.h"
#include "serve.h"
#include "core/cpu.h"

int main(int argc, char** argv) {
  using namespace anvil::cli;
  CLI::App app{"anvil: a CPU inference engine for CNNs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "anvil 0.1.0");

  ModelArgs info_m;
  bool print_graph = false;
  std::string format = "text";
  auto* info = app.add_subcommand("info", "Inputs/outputs, op histogram, parameters and FLOPs of a model");
  add_model_args(info, info_m);
  info->add_flag("--graph", print_graph, "Also print the whole graph");
  info->add_option("--format", format, "Graph format with --graph: text or dot")->check(CLI::IsMember({"text", "dot"}));

  ModelArgs run_m;
  std::vector<std::string> run_inputs;
  std::string out_dir;
  uint64_t run_seed = 0;
  int run_threads = 0;
  auto* run = app.add_subcommand("run", "Run a model once on .npy inputs (random when none given)");
  add_model_args(run, run_m);
  run->add_option("--input,-i", run_inputs, "NAME=FILE.npy (repeatable)");
  run->add_option("--output-dir,-o", out_dir, "Write each output as DIR/<name>.npy");
  run->add_option("--seed", run_seed, "Seed of the random inputs");
  run->add_option("--threads", run_threads, "Worker threads (0: one per physical core)");
  std::vector<std::string> run_outputs;
  run->add_option("--outputs", run_outputs, "Also return these internal tensors (value or node names, e.g. conv_1_relu)")
      ->delimiter(',');

  ModelArgs bench_m;
  BenchArgs b;
  auto* bench = app.add_subcommand("bench", "Time a model: warm-up runs, then timed runs");
  add_model_args(bench, bench_m);
  bench->add_option("--warmup", b.warmup, "Warm-up runs (not timed)")->check(CLI::NonNegativeNumber);
  bench->add_option("--iters", b.iters, "Timed runs")->check(CLI::PositiveNumber);
  bench->add_option("--threads", b.threads, "Worker threads (0: one per physical core)");
  bench->add_flag("--json", b.json, "Print one JSON object");
  bench->add_option("--seed", b.seed, "Seed of the random input");

  ZooArgs z;
  auto* zoo = app.add_subcommand("zoo", "Write a synthetic-weight model (ONNX) for tests and benchmarks");
  zoo->add_option("name", z.name, "Model name (see --list)");
  zoo->add_option("-o,--output", z.output, "Output .onnx file");
  zoo->add_option("--shape", z.shapes, "Input shape, e.g. input:1,3,112,112");
  zoo->add_option("--seed", z.seed, "Weight seed");
  zoo->add_flag("--denormal-prone", z.denormal_prone,
                "Set ~30% of each BatchNorm's gammas to 1e-36..1e-39 (dead channels of a trained net)");
  zoo->add_flag("--list", z.list, "List the model names");
  zoo->add_option("--format", z.format,
                  "onnx (-o FILE.onnx) or mxnet (-o PREFIX: writes PREFIX-symbol.json and PREFIX-0000.params)")
      ->check(CLI::IsMember({"onnx", "mxnet"}));

  ModelArgs opt_m;
  bool opt_report = false;
  std::string dump_after, opt_format = "text", opt_out;
  auto* optimize = app.add_subcommand("optimize", "Run the optimizer and show what each pass did");
  add_model_args(optimize, opt_m);
  optimize->add_flag("--report", opt_report, "Print the per-pass report");
  optimize->add_option("--dump-after", dump_after, "Print the graph after this pass ('all' for every pass)");
  optimize->add_option("--format", opt_format, "Graph format: text or dot")->check(CLI::IsMember({"text", "dot"}));
  optimize->add_option("-o,--output", opt_out, "Write the optimized graph (text or dot) to a file");

  ModelArgs check_m;
  std::string check_levels = "O0,O3";
  uint64_t check_seed = 0;
  auto* check = app.add_subcommand("check", "Compare outputs of two optimization levels on the same input");
  add_model_args(check, check_m);
  check->add_option("--levels", check_levels, "Two levels, e.g. O0,O3");
  check->add_option("--seed", check_seed, "Seed of the random input");
  bool check_per_layer = false;
  double check_tol = 1e-4;
  check->add_flag("--per-layer", check_per_layer,
                  "Compare every layer of the optimized graph with the value it replaces; name the first that diverges");
  check->add_option("--tolerance", check_tol, "Max |diff| relative to each tensor's max |value|")
      ->check(CLI::NonNegativeNumber);
  int check_threads = 0;
  check->add_option("--threads", check_threads,
                    "Worker threads of both sessions (0: one per physical core); kernels and the memory plan can "
                    "differ by thread count");

  ProfileArgs prof;
  auto* profile = add_profile_command(app, prof);
  SysinfoArgs si;
  auto* sysinfo = add_sysinfo_command(app, si);
  ServeArgs serve_args;
  auto* serve = add_serve_command(app, serve_args);
  DoctorArgs doc;
  auto* doctor = add_doctor_command(app, doc);
  CompileArgs comp;
  auto* compile = add_compile_command(app, comp);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A usage error exits 2, as an invalid argument found later does
    // (report()); CLI11's own codes (105, 109, ...) mean nothing to a shell.
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (*info) return cmd_info(info_m, print_graph, format);
  if (*run) return cmd_run(run_m, run_inputs, out_dir, run_seed, run_threads, run_outputs);
  if (*bench) return cmd_bench(bench_m, b);
  if (*zoo) return cmd_zoo(z);
  if (*optimize) return cmd_optimize(opt_m, opt_report, dump_after, opt_format, opt_out);
  if (*check) return cmd_check(check_m, check_levels, check_seed, check_per_layer, check_tol, check_threads);
  if (*profile) return cmd_profile(prof);
  if (*sysinfo) return cmd_sysinfo(si);
  if (*serve) return cmd_serve(serve_args);
  if (*doctor) return cmd_doctor(doc);
  if (*compile) return cmd_compile(comp);
  return 0;
}

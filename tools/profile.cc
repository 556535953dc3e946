// `anvil profile` and `anvil sysinfo`.
#include "profile.h"

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "core/cpu.h"
#include "core/denormals.h"
#include "core/microbench.h"
#include "core/thread_pool.h"
#include "runtime/profile_compare.h"
#include "runtime/profile_html.h"
#include "runtime/profiler.h"

namespace anvil::cli {

CLI::App* add_profile_command(CLI::App& app, ProfileArgs& a) {
  auto* c = app.add_subcommand("profile", "Time every node of a model: share of the run, FLOP/s against the measured "
                                          "peak, bytes moved; CSV, JSON or a Chrome trace");
  add_model_args(c, a.model);
  c->add_option("--iters", a.iters, "Timed runs")->check(CLI::PositiveNumber);
  c->add_option("--warmup", a.warmup, "Untimed runs first")->check(CLI::NonNegativeNumber);
  c->add_option("--threads", a.threads, "Worker threads (0: one per physical core)")->check(CLI::NonNegativeNumber);
  c->add_option("--top", a.top, "Show only the N slowest nodes in the table (0: all)")->check(CLI::NonNegativeNumber);
  c->add_option("--seed", a.seed, "Seed of the random input");
  c->add_flag("--csv", a.csv, "Print one CSV row per node instead of the tables");
  c->add_flag("--json", a.json, "Print the whole profile as JSON instead of the tables");
  c->add_flag("--no-peak", a.no_peak, "Skip measuring the FMA peak (no % of peak)");
  c->add_option("--trace", a.trace, "Write a Chrome trace (chrome://tracing, ui.perfetto.dev) to FILE.json");
  c->add_option("--html", a.html,
                "Write a self-contained HTML report (bar chart, roofline, optimization report, tables) to FILE.html");
  // The values usually start with '-' ("-O0"). CLI11 takes an option's
  // first type-size arguments whatever they look like but stops further
  // values at anything option-like, so the two configurations are one
  // pair-typed value rather than a vector.
  c->add_option_function<std::pair<std::string, std::string>>(
       "--compare", [&a](const std::pair<std::string, std::string>& v) { a.compare = {v.first, v.second}; },
       "Layer-by-layer A/B of two configurations, e.g. --compare \"-O0\" \"-O3 --denormals keep\" (each: -O N, "
       "--disable-pass P, --enable-pass P, --denormals flush|keep, --threads N, applied over the command's own "
       "options)")
      ->type_name("A B");
  return c;
}

namespace {

// One --compare configuration: the command's own options with the spec's
// flags applied on top.
Status apply_config(const std::string& spec, ModelArgs& m, int& threads) {
  CLI::App p{"--compare configuration"};
  std::vector<std::string> disable, enable;
  p.add_option("-O,--opt-level", m.opt_level)->check(CLI::Range(0, 3));
  p.add_option("--disable-pass", disable);
  p.add_option("--enable-pass", enable);
  p.add_option("--denormals", m.denormals)->check(CLI::IsMember({"flush", "keep"}));
  p.add_option("--threads", threads)->check(CLI::NonNegativeNumber);
  try {
    p.parse(spec, false);
  } catch (const CLI::ParseError& e) {
    return invalid_argument("--compare \"" + spec + "\": " + e.what() +
                            " (a configuration takes -O N, --disable-pass P, --enable-pass P, --denormals flush|keep, "
                            "--threads N)");
  }
  m.disable_passes.insert(m.disable_passes.end(), disable.begin(), disable.end());
  m.enable_passes.insert(m.enable_passes.end(), enable.begin(), enable.end());
  return Status::ok();
}

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  if (!f) return io_error(path + ": cannot open for writing");
  f << text;
  if (!f) return io_error(path + ": write failed");
  return Status::ok();
}

double bandwidth_for_roofline(int threads) {
  const MemoryBandwidth b = measure_memory_bandwidth(size_t{64} << 20, threads);
  return std::max(b.copy_gbs, b.triad_gbs);
}

int cmd_compare(const ProfileArgs& a) {
  if (a.compare.size() != 2) return report(invalid_argument("--compare takes two configurations"));
  if (a.csv || !a.trace.empty())
    return report(invalid_argument("--compare prints a table or --json (and --html); --csv and --trace take one "
                                   "configuration"));
  auto m = load_model(a.model);
  if (!m) return report(m.status());
  std::map<std::string, Tensor> inputs;
  for (const TensorInfo& ti : m->inputs()) inputs[ti.name] = random_input(ti, a.seed);
  // Both configurations are checked before anything is timed.
  ModelArgs cfg[2] = {a.model, a.model};
  int cfg_threads[2] = {a.threads, a.threads};
  for (int i = 0; i < 2; ++i) {
    Status s = apply_config(a.compare[i], cfg[i], cfg_threads[i]);
    if (!s.is_ok()) return report(s);
  }
  Profile prof[2];
  std::string opt_report;
  for (int i = 0; i < 2; ++i) {
    const ModelArgs& ma = cfg[i];
    const int threads = cfg_threads[i];
    ProfileOptions po;
    po.iters = a.iters;
    po.warmup = a.warmup;
    po.measure_peak = !a.no_peak;
    if (!a.json) fmt::print(stderr, "profiling {} = \"{}\"...\n", i == 0 ? "A" : "B", a.compare[i]);
    auto p = profile_model(*m, compile_options(ma, threads), inputs, po, i == 1 ? &opt_report : nullptr);
    if (!p) return report(std::move(p).status().with_context(a.compare[i]));
    p->model = a.model.path;
    prof[i] = std::move(p).value();
  }
  const ProfileComparison c = compare_profiles(prof[0], prof[1], a.compare[0], a.compare[1]);
  if (!a.html.empty()) {
    HtmlReportOptions ho;
    ho.optimization_report = opt_report;
    ho.bandwidth_gbs = a.no_peak ? 0 : bandwidth_for_roofline(c.b.threads);
    ho.comparison = &c;
    Status s = write_file(a.html, profile_to_html(c.b, ho));
    if (!s.is_ok()) return report(s);
  }
  fmt::print("{}", a.json ? comparison_to_json(c) : comparison_to_text(c, a.top > 0 ? a.top : 15));
  if (!a.html.empty()) fmt::print(stderr, "wrote {} (open it in a browser)\n", a.html);
  return 0;
}

}  // namespace

int cmd_profile(const ProfileArgs& a) {
  if (a.csv && a.json) return report(invalid_argument("profile: --csv and --json are exclusive"));
  if (!a.compare.empty()) return cmd_compare(a);
  auto m = load_model(a.model);
  if (!m) return report(m.status());
  auto sess = std::move(*m).compile(compile_options(a.model, a.threads));  // consumed (see Model::compile)
  if (!sess) return report(sess.status());
  std::map<std::string, Tensor> inputs;
  for (const TensorInfo& ti : sess->inputs()) inputs[ti.name] = random_input(ti, a.seed);
  ProfileOptions po;
  po.iters = a.iters;
  po.warmup = a.warmup;
  po.measure_peak = !a.no_peak;
  auto p = profile_session(*sess, inputs, po);
  if (!p) return report(p.status());
  p->model = a.model.path;
  if (!a.trace.empty()) {
    Status s = write_file(a.trace, profile_to_chrome_trace(*p));
    if (!s.is_ok()) return report(s);
  }
  if (!a.html.empty()) {
    HtmlReportOptions ho;
    ho.optimization_report = sess->optimization_report();
    ho.bandwidth_gbs = a.no_peak ? 0 : bandwidth_for_roofline(p->threads);
    Status s = write_file(a.html, profile_to_html(*p, ho));
    if (!s.is_ok()) return report(s);
  }
  if (a.csv)
    fmt::print("{}", profile_to_csv(*p));
  else if (a.json)
    fmt::print("{}", profile_to_json(*p));
  else
    fmt::print("{}", profile_to_text(*p, a.top));
  if (!a.trace.empty())
    fmt::print(stderr, "wrote {} ({} runs x {} nodes; open in ui.perfetto.dev or chrome://tracing)\n", a.trace,
               p->iters, p->nodes.size());
  if (!a.html.empty()) fmt::print(stderr, "wrote {} (open it in a browser)\n", a.html);
  return 0;
}

// ---------------------------------------------------------------- sysinfo

CLI::App* add_sysinfo_command(CLI::App& app, SysinfoArgs& a) {
  auto* c = app.add_subcommand("sysinfo", "CPU, caches, measured FMA peak, memory bandwidth, subnormal penalty, "
                                          "FTZ/DAZ and thread settings");
  c->add_flag("--no-measure", a.no_measure, "Skip the measurements (about 3 s)");
  c->add_flag("--json", a.json, "Print one JSON object");
  c->add_option("--bandwidth-mib", a.bandwidth_mib, "Size of each bandwidth test array in MiB")
      ->check(CLI::Range(1, 4096));
  return c;
}

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (f) std::getline(f, s);
  return s;
}

// The kernel's view of the CPU flags (cpu.h only decodes what dispatch
// needs; this also shows AMX, AVX-512 FP16 and the like).
std::set<std::string> proc_cpu_flags() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  std::set<std::string> r;
  while (std::getline(f, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream ss(line.substr(line.find(':') + 1));
    std::string w;
    while (ss >> w) r.insert(w);
    break;
  }
  return r;
}

int physical_cores() {
  std::set<std::pair<std::string, std::string>> cores;
  for (int i = 0; i < 4096; ++i) {
    const std::string d = "/sys/devices/system/cpu/cpu" + std::to_string(i) + "/topology/";
    const std::string core = read_first_line(d + "core_id");
    if (core.empty()) {
      if (i > 0) break;
      continue;
    }
    cores.insert({read_first_line(d + "physical_package_id"), core});
  }
  return static_cast<int>(cores.size());
}

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
  return CPU_COUNT(&set);
}

std::string human_bytes(size_t b) {
  if (b >= (1u << 30) && b % (1u << 30) == 0) return fmt::format("{} GiB", b >> 30);
  if (b >= (1u << 20) && b % (1u << 20) == 0) return fmt::format("{} MiB", b >> 20);
  if (b >= 1024 && b % 1024 == 0) return fmt::format("{} KiB", b >> 10);
  return fmt::format("{} B", b);
}

}  // namespace

int cmd_sysinfo(const SysinfoArgs& a) {
  using nlohmann::json;
  const CpuInfo& c = cpu_info();
  json j;
  // --json prints the object alone; the text goes nowhere.
  auto say = [&](const std::string& text) {
    if (!a.json) std::fputs(text.c_str(), stdout);
  };
  const std::set<std::string> flags = proc_cpu_flags();
  const char* shown[] = {"sse4_2",    "avx",        "avx2",        "fma",         "f16c",     "avx512f",
                         "avx512bw",  "avx512vl",   "avx512dq",    "avx512cd",    "avx512_vnni", "avx512_bf16",
                         "avx512_fp16", "avx_vnni", "amx_tile",    "amx_bf16",    "amx_int8"};
  std::string feats;
  for (const char* f : shown)
    if (flags.count(f)) feats += (feats.empty() ? "" : " ") + std::string(f);
  if (feats.empty()) {  // no /proc/cpuinfo: what cpuid told us
    feats = fmt::format("avx2={} fma={} f16c={} avx512f={} bw={} vl={} dq={} vnni={} bf16={}", c.avx2, c.fma, c.f16c,
                        c.avx512f, c.avx512bw, c.avx512vl, c.avx512dq, c.avx512_vnni, c.avx512_bf16);
  }
  const int phys = physical_cores(), aff = affinity_cpus();
  const int anvil_threads = default_thread_count();
  say(fmt::format("cpu:         {} ({})\n", c.brand, c.vendor));
  say(fmt::format("features:    {}\n", feats));
  say(fmt::format("host ISA:    {}\n", isa_name(host_isa())));
  say(fmt::format("active ISA:  {}{}\n", isa_name(active_isa()),
             std::getenv("ANVIL_MAX_ISA") ? " (capped by ANVIL_MAX_ISA)" : ""));
  say(fmt::format("cores:       {} logical, {} physical, {} usable by this process (affinity); anvil --threads 0 uses {}\n",
             c.logical_cpus, phys > 0 ? std::to_string(phys) : "?", aff > 0 ? std::to_string(aff) : "?", anvil_threads));
  j["cpu"] = c.brand;
  j["vendor"] = c.vendor;
  j["features"] = feats;
  j["host_isa"] = isa_name(host_isa());
  j["active_isa"] = isa_name(active_isa());
  j["logical_cpus"] = c.logical_cpus;
  j["physical_cores"] = phys;
  j["affinity_cpus"] = aff;
  j["anvil_default_threads"] = anvil_threads;
  const std::vector<CacheInfo> caches = cpu_caches();
  j["caches"] = json::array();
  size_t llc = 0;
  for (const CacheInfo& k : caches) {
    say(fmt::format("cache:       L{} {:<11} {:>9}  line {} B, shared by {} logical CPU{}\n", k.level, k.type,
               human_bytes(k.size_bytes), k.line_bytes, k.shared_by, k.shared_by == 1 ? "" : "s"));
    j["caches"].push_back({{"level", k.level}, {"type", k.type}, {"bytes", k.size_bytes}, {"shared_by", k.shared_by},
                           {"line", k.line_bytes}});
    llc = std::max(llc, k.size_bytes);
  }
  const uint32_t mx = read_mxcsr();
  const bool ftz = mx & kMxcsrFtz, daz = mx & kMxcsrDaz;
  say(fmt::format("FTZ/DAZ:     FTZ {}, DAZ {} on this thread (MXCSR 0x{:04x}); anvil sets both while kernels run "
             "(--denormals keep clears them) and restores the caller's\n",
             ftz ? "on" : "off", daz ? "on" : "off", mx));
  j["mxcsr"] = mx;
  j["ftz"] = ftz;
  j["daz"] = daz;
  // Libraries loaded next to anvil (MKL, OpenBLAS, OpenMP runtimes) each
  // start their own threads; together with anvil's they can exceed the cores.
  j["env"] = json::object();
  std::string oversub;
  for (const char* v : {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "ANVIL_MAX_ISA"}) {
    const char* val = std::getenv(v);
    say(fmt::format("env:         {}={}\n", v, val ? val : "(unset)"));
    j["env"][v] = val ? json(val) : json(nullptr);
    if (val && std::string(v) != "ANVIL_MAX_ISA") {
      const int n = std::atoi(val);
      if (n > 1 && n + anvil_threads > std::max(1, aff > 0 ? aff : c.logical_cpus))
        oversub += fmt::format("{}={} plus anvil's {} threads exceed the {} usable CPUs; ", v, n, anvil_threads,
                               aff > 0 ? aff : c.logical_cpus);
    }
  }
  if (oversub.size() > 2) oversub.resize(oversub.size() - 2);  // the last "; "
  if (!oversub.empty()) say(fmt::format("warning:     oversubscription: {}\n", oversub));
  j["oversubscription"] = oversub;

  if (a.no_measure) {
    if (a.json) fmt::print("{}\n", j.dump(1));
    return 0;
  }
  // ---- measurements
  std::vector<int> thread_counts = {1};
  if (anvil_threads > 1) thread_counts.push_back(anvil_threads);
  say(fmt::format("\nFP32 peak (FMA loop, 12 independent vector FMAs, FTZ/DAZ on; GFLOP/s):\n"));
  j["peak_gflops"] = json::array();
  for (int isa_i = static_cast<int>(host_isa()); isa_i >= 0; --isa_i) {
    const Isa isa = static_cast<Isa>(isa_i);
    std::string line = fmt::format("  {:<8}{}", isa_name(isa), isa == Isa::kScalar ? " (SSE mul+add)" : "");
    for (int t : thread_counts) {
      const double g = peak_gflops(isa, t);
      line += fmt::format("  {} thread{}: {:8.1f}", t, t == 1 ? " " : "s", g);
      j["peak_gflops"].push_back({{"isa", isa_name(isa)}, {"threads", t}, {"gflops", g}});
    }
    say(fmt::format("{}\n", line));
  }
  const size_t bw_bytes = static_cast<size_t>(a.bandwidth_mib) << 20;
  say(fmt::format("\nmemory bandwidth (arrays of {} each{}; GB/s, best of 3):\n", human_bytes(bw_bytes),
             llc > bw_bytes ? fmt::format(", smaller than the {} last-level cache: partly cache", human_bytes(llc))
                            : ""));
  j["bandwidth"] = json::array();
  for (int t : thread_counts) {
    const MemoryBandwidth b = measure_memory_bandwidth(bw_bytes, t);
    say(fmt::format("  {} thread{}: copy {:6.1f}   triad {:6.1f}\n", t, t == 1 ? " " : "s", b.copy_gbs, b.triad_gbs));
    j["bandwidth"].push_back(
        {{"threads", t}, {"array_bytes", b.array_bytes}, {"copy_gbs", b.copy_gbs}, {"triad_gbs", b.triad_gbs}});
  }
  {
    // Each CPU alone: on a VM one vCPU can run well below its sibling for a
    // while, and every multi-threaded layer then waits for it at its join.
    const std::vector<CpuSpeed> per = measure_per_cpu(host_isa());
    say(fmt::format("\neach CPU alone ({} FMA loop; read of 64 MiB; median of 3 rounds):\n", isa_name(host_isa())));
    j["per_cpu"] = json::array();
    for (const CpuSpeed& c : per) {
      say(fmt::format("  cpu {:<3} FMA {:8.1f} GFLOP/s   read {:6.1f} GB/s{}\n", c.cpu, c.fma_gflops, c.read_gbs,
                      c.pinned ? "" : "   (could not pin a thread to it)"));
      j["per_cpu"].push_back(
          {{"cpu", c.cpu}, {"pinned", c.pinned}, {"fma_gflops", c.fma_gflops}, {"read_gbs", c.read_gbs}});
    }
    if (per.size() > 1) {
      const double worst = slowest_cpu_fraction(per);
      say(fmt::format("  => {}\n", worst < 0.85 ? fmt::format("the slowest CPU runs at {:.0f}% of the fastest right now: "
                                                              "multi-threaded runs wait for it at every join",
                                                              100 * worst)
                                               : std::string("the CPUs run alike")));
    }
  }
  const Isa best = host_isa();
  say(fmt::format("\nsubnormal penalty ({} vector ops, 1 thread; GFLOP/s):\n", isa_name(best)));
  say(fmt::format("  {:<4} {:<26} {:>12} {:>12} {:>10}\n", "op", "operands", "FTZ/DAZ off", "FTZ/DAZ on", "slowdown"));
  j["subnormal"] = json::array();
  double worst = 1;
  for (FpOp op : {FpOp::kFma, FpOp::kMul}) {
    for (FpData d : {FpData::kNormal, FpData::kSubnormalInput, FpData::kSubnormalOutput, FpData::kSubnormalBoth}) {
      const double off = measure_fp_gflops(best, op, d, false, 1, 0.02);
      const double on = measure_fp_gflops(best, op, d, true, 1, 0.02);
      const double slow = off > 0 ? on / off : 0;
      worst = std::max(worst, slow);
      say(fmt::format("  {:<4} {:<26} {:>12.2f} {:>12.2f} {:>9.1f}x\n", op == FpOp::kFma ? "fma" : "mul", fp_data_name(d),
                 off, on, slow));
      j["subnormal"].push_back({{"op", op == FpOp::kFma ? "fma" : "mul"},
                                {"data", fp_data_name(d)},
                                {"gflops_ftz_daz_off", off},
                                {"gflops_ftz_daz_on", on}});
    }
  }
  j["subnormal_worst_slowdown"] = worst;
  say(fmt::format("  => {}\n", worst > 2 ? fmt::format("this CPU penalises subnormals (up to {:.0f}x): keep --denormals "
                                                  "flush (the default)",
                                                  worst)
                                    : std::string("no significant subnormal penalty on this CPU")));
  if (a.json) fmt::print("{}\n", j.dump(1));
  return 0;
}

}  // namespace anvil::cli

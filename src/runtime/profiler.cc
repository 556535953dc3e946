#include "runtime/profiler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "core/cpu.h"
#include "core/microbench.h"
#include "ir/graph_stats.h"
#include "runtime/executor.h"
#include "runtime/session_impl.h"

namespace anvil {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string value_desc(const Graph& g, ValueId id) {
  if (id == kNoValue) return "-";
  const Value& v = g.value(id);
  return std::string(dtype_name(v.dtype)) + "[" + v.shape.str() + "]";
}

int64_t value_bytes(const Graph& g, ValueId id) {
  if (id == kNoValue) return 0;
  const Value& v = g.value(id);
  if (!v.shape.is_static()) return 0;
  return v.shape.numel() * static_cast<int64_t>(dtype_size(v.dtype));
}

// Kernel names end in the micro-kernel's ISA ("...__avx512"); reference
// kernels are plain C++ built for the baseline.
std::string kernel_isa(const std::string& kernel) {
  if (kernel.find("avx512") != std::string::npos) return "avx512";
  if (kernel.find("avx2") != std::string::npos) return "avx2";
  return "scalar";
}

int caller_tid() { return static_cast<int>(::syscall(SYS_gettid)); }

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string r;
  for (const std::string& s : v) r += (r.empty() ? "" : sep) + s;
  return r;
}

std::string shorten(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string r = "\"";
  for (char c : s) r += c == '"' ? std::string("\"\"") : std::string(1, c);
  return r + "\"";
}

// Kernel names repeat the micro-kernel family; the table keeps the
// distinguishing part ("conv2d_im2col_gemm:6x64__avx512").
std::string short_kernel(std::string k) {
  const std::string family = "f32_gemm_ukernel_";
  const size_t at = k.find(family);
  if (at != std::string::npos) k.erase(at, family.size());
  return k;
}

std::string human(double v) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", v) : fmt::format("{:.2f}{}", v, units[u]);
}

}  // namespace

double Profile::run_mean_s() const { return mean_of(run_seconds); }
double Profile::run_median_s() const { return median_of(run_seconds); }
double Profile::node_sum_mean_s() const {
  double s = 0;
  for (const NodeProfile& n : nodes) s += n.mean_s;
  return s;
}

double Profile::busy_cores() const {
  double w = 0, c = 0;
  for (const NodeProfile& n : nodes) {
    w += n.median_s;
    c += n.median_s * n.busy_cores_median;
  }
  return w > 0 ? c / w : 1;
}

std::vector<size_t> Profile::by_time() const {
  std::vector<size_t> idx(nodes.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return nodes[a].mean_s > nodes[b].mean_s; });
  return idx;
}

std::vector<OpSummary> Profile::op_summary() const {
  std::map<std::string, OpSummary> m;
  for (const NodeProfile& n : nodes) {
    OpSummary& s = m[n.op];
    s.op = n.op;
    s.nodes++;
    s.mean_s += n.mean_s;
    if (n.flops > 0) s.flops += n.flops;
    s.bytes += n.bytes;
  }
  std::vector<OpSummary> r;
  for (auto& [op, s] : m) r.push_back(s);
  std::stable_sort(r.begin(), r.end(), [](const OpSummary& a, const OpSummary& b) { return a.mean_s > b.mean_s; });
  return r;
}

Result<Profile> profile_executor(Executor& ex, const std::vector<Tensor>& inputs, const ProfileOptions& options) {
  if (options.iters < 1) return invalid_argument("profile: --iters must be at least 1, got " + std::to_string(options.iters));
  if (options.warmup < 0) return invalid_argument("profile: --warmup must be >= 0, got " + std::to_string(options.warmup));
  const Graph& g = ex.graph();
  Profile p;
  p.model = g.source;
  p.threads = ex.threads();
  p.isa = isa_name(ex.isa());
  p.iters = options.iters;
  p.warmup = options.warmup;

  const size_t steps = ex.num_steps();
  p.nodes.resize(steps);
  for (size_t i = 0; i < steps; ++i) {
    const Node& n = ex.step_node(i);
    NodeProfile& np = p.nodes[i];
    np.step = i;
    np.name = n.name;
    np.op = n.op;
    // Graphs built in memory (zoo, MXNet import) leave origin empty: the
    // node then stands for itself.
    np.origin = n.origin.empty() ? std::vector<std::string>{n.name} : n.origin;
    np.kernel = ex.step_kernel_name(i);
    np.isa = kernel_isa(np.kernel);
    for (ValueId v : n.inputs) {
      np.input_shapes.push_back(value_desc(g, v));
      np.bytes += value_bytes(g, v);
    }
    for (ValueId v : n.outputs) {
      if (v == kNoValue) continue;
      np.output_shapes.push_back(value_desc(g, v));
      np.bytes += value_bytes(g, v);
    }
    np.flops = node_flops(g, n);
    np.seconds.reserve(static_cast<size_t>(options.iters));
    np.start.reserve(static_cast<size_t>(options.iters));
  }

  std::vector<Tensor> outputs;
  for (int i = 0; i < options.warmup; ++i) ANVIL_TRY(ex.run(inputs, outputs));
  std::vector<NodeTiming> t;
  for (int it = 0; it < options.iters; ++it) {
    const double t0 = now_s();
    ANVIL_TRY(ex.run(inputs, outputs, &t));
    const double t1 = now_s();
    p.run_start.push_back(t0);
    p.run_seconds.push_back(t1 - t0);
    double between = 0;
    for (size_t i = 0; i < steps; ++i) {
      p.nodes[i].seconds.push_back(t[i].seconds);
      p.nodes[i].start.push_back(t[i].start - t0);
      if (p.threads > 1) {
        // A node too short for the clock to see counts as one busy core.
        const double serial = t[i].seconds > 0 ? std::max(0.0, t[i].seconds - t[i].region_s) : 0.0;
        p.nodes[i].serial_seconds.push_back(serial);
        p.nodes[i].busy_cores.push_back(
            t[i].seconds > 0 ? std::clamp((serial + t[i].busy_s) / t[i].seconds, 0.0, static_cast<double>(p.threads))
                             : 1.0);
      }
      if (i > 0) between += t[i].start - (t[i - 1].start + t[i - 1].seconds);
    }
    p.head_seconds.push_back(steps ? t[0].start - t0 : t1 - t0);
    p.between_seconds.push_back(between);
    p.tail_seconds.push_back(steps ? t1 - (t[steps - 1].start + t[steps - 1].seconds) : 0);
  }
  for (NodeProfile& np : p.nodes) {
    np.mean_s = mean_of(np.seconds);
    np.median_s = median_of(np.seconds);
    if (!np.busy_cores.empty()) {
      np.busy_cores_median = median_of(np.busy_cores);
      np.serial_median_s = median_of(np.serial_seconds);
    }
  }
  if (options.measure_peak) p.peak_gflops = peak_gflops(ex.isa(), p.threads);
  return p;
}

Result<Profile> profile_session(Session& session, const std::map<std::string, Tensor>& inputs,
                                const ProfileOptions& options) {
  Session::Impl* impl = session.impl();
  if (!impl || !impl->executor) return invalid_argument("profile: the session is not compiled");
  std::vector<Tensor> in;
  for (const TensorInfo& ti : impl->inputs) {
    auto it = inputs.find(ti.name);
    if (it == inputs.end())
      return invalid_argument("profile: missing input '" + ti.name + "' (" + dtype_name(ti.dtype) + "[" +
                              ti.shape.str() + "])");
    in.push_back(it->second);
  }
  // The session's first executor when free (another one under concurrent runs).
  auto lease = impl->acquire();
  if (!lease) return lease.status();
  auto p = profile_executor(**lease, in, options);
  if (!p) return p.status();
  p->opt_level = impl->options.opt_level;
  p->flush_denormals = impl->options.flush_denormals;
  return p;
}

Result<Profile> profile_model(const Model& model, const CompileOptions& compile,
                              const std::map<std::string, Tensor>& inputs, const ProfileOptions& options,
                              std::string* report) {
  auto s = model.compile(compile);
  if (!s) return s.status();
  if (report) *report = s->optimization_report();
  return profile_session(*s, inputs, options);
}

std::string profile_to_text(const Profile& p, int top) {
  std::string o;
  const double total = p.node_sum_mean_s();
  const double run = p.run_mean_s();
  o += fmt::format("profile of {}: -O{}, {} thread{}, ISA {}, denormals {}, {} timed runs after {} warm-up\n",
                   p.model.empty() ? "model" : p.model, p.opt_level, p.threads, p.threads == 1 ? "" : "s", p.isa,
                   p.flush_denormals ? "flush" : "keep", p.iters, p.warmup);
  if (p.peak_gflops > 0)
    o += fmt::format("measured FMA peak: {:.1f} GFLOP/s ({} x {} thread{})\n", p.peak_gflops, p.isa, p.threads,
                     p.threads == 1 ? "" : "s");
  o += "op (N): a fused node standing for N original nodes (named in --csv/--json); % of the sum of node times\n\n";
  const bool mt = p.threads > 1;
  if (mt)
    o += fmt::format("cores: how many of the {} cores the node kept busy on average (1.00: the other threads idle)\n\n",
                     p.threads);
  o += fmt::format("{:>4} {:<30} {:<22} {:<34} {:<20} {:>9} {:>9} {:>6} {:>9} {:>8} {:>6} {:>9} {:>7}{}\n", "#", "node",
                   "op", "kernel", "output", "mean ms", "median ms", "%", "FLOP", "GFLOP/s", "%peak", "bytes",
                   "FLOP/B", mt ? fmt::format(" {:>5}", "cores") : "");
  const std::vector<size_t> order = p.by_time();
  const size_t rows = top > 0 ? std::min(order.size(), static_cast<size_t>(top)) : order.size();
  int64_t flops = 0, bytes = 0;
  bool flops_known = true;
  for (const NodeProfile& n : p.nodes) {
    if (n.flops >= 0) flops += n.flops;
    else flops_known = false;
    bytes += n.bytes;
  }
  for (size_t r = 0; r < rows; ++r) {
    const NodeProfile& n = p.nodes[order[r]];
    const double gf = n.gflops_per_s();
    std::string op = n.op;
    if (n.origin.size() > 1) op += fmt::format(" ({})", n.origin.size());
    o += fmt::format("{:>4} {:<30} {:<22} {:<34} {:<20} {:>9.3f} {:>9.3f} {:>5.1f}% {:>9} {:>8.2f} {:>6} {:>9} {:>7.2f}{}\n",
                     n.step, shorten(n.name, 30), shorten(op, 22), shorten(short_kernel(n.kernel), 34),
                     shorten(n.output_shapes.empty() ? "-" : n.output_shapes[0], 20), n.mean_s * 1e3,
                     n.median_s * 1e3, total > 0 ? 100 * n.mean_s / total : 0,
                     n.flops >= 0 ? human(static_cast<double>(n.flops)) : "?", gf,
                     p.peak_gflops > 0 && gf > 0 ? fmt::format("{:.1f}%", 100 * gf / p.peak_gflops) : "-",
                     human(static_cast<double>(n.bytes)), n.intensity(),
                     mt ? fmt::format(" {:>5.2f}", n.busy_cores_median) : "");
  }
  if (rows < order.size()) o += fmt::format("     ... {} more nodes (all: --top 0)\n", order.size() - rows);
  const double total_gf = total > 0 && flops_known ? static_cast<double>(flops) / total * 1e-9 : 0;
  o += fmt::format("{:>4} {:<30} {:<22} {:<34} {:<20} {:>9.3f} {:>9} {:>5.1f}% {:>9} {:>8.2f} {:>6} {:>9} {:>7.2f}{}\n",
                   "", "total (" + std::to_string(p.nodes.size()) + " nodes)", "", "", "", total * 1e3, "", 100.0,
                   flops_known ? human(static_cast<double>(flops)) : "?", total_gf,
                   p.peak_gflops > 0 && total_gf > 0 ? fmt::format("{:.1f}%", 100 * total_gf / p.peak_gflops) : "-",
                   human(static_cast<double>(bytes)), bytes > 0 ? static_cast<double>(flops) / static_cast<double>(bytes) : 0.0,
                   mt ? fmt::format(" {:>5.2f}", p.busy_cores()) : "");

  o += fmt::format("\nper op type:\n{:<22} {:>6} {:>10} {:>6} {:>10} {:>9} {:>7}\n", "op", "nodes", "ms", "%", "FLOP",
                   "GFLOP/s", "%peak");
  for (const OpSummary& s : p.op_summary()) {
    const double gf = s.mean_s > 0 && s.flops > 0 ? static_cast<double>(s.flops) / s.mean_s * 1e-9 : 0;
    o += fmt::format("{:<22} {:>6} {:>10.3f} {:>5.1f}% {:>10} {:>9.2f} {:>7}\n", shorten(s.op, 22), s.nodes,
                     s.mean_s * 1e3, total > 0 ? 100 * s.mean_s / total : 0, human(static_cast<double>(s.flops)), gf,
                     p.peak_gflops > 0 && gf > 0 ? fmt::format("{:.1f}%", 100 * gf / p.peak_gflops) : "-");
  }

  const double head = mean_of(p.head_seconds), between = mean_of(p.between_seconds), tail = mean_of(p.tail_seconds);
  o += fmt::format("\nend to end (Executor::run): mean {:.3f} ms, median {:.3f} ms\n", run * 1e3,
                   p.run_median_s() * 1e3);
  o += fmt::format("sum of node times:          mean {:.3f} ms = {:.1f}% of end to end\n", total * 1e3,
                   run > 0 ? 100 * total / run : 0);
  o += fmt::format("the rest, {:.3f} ms: {:.3f} ms before the first kernel (input checks, MXCSR), {:.3f} ms between "
                   "kernels (argument set-up, clock reads; {:.2f} us per node), {:.3f} ms after the last (copying "
                   "outputs)\n",
                   (run - total) * 1e3, head * 1e3, between * 1e3,
                   p.nodes.size() > 1 ? between * 1e6 / static_cast<double>(p.nodes.size() - 1) : 0.0, tail * 1e3);
  if (mt) {
    double serial = 0, node_time = 0, idle = 0;
    for (const NodeProfile& n : p.nodes) {
      serial += n.serial_median_s;
      node_time += n.median_s;
      idle += n.median_s * (p.threads - n.busy_cores_median);
    }
    const double alone = std::min(idle, serial * (p.threads - 1));
    o += fmt::format("threads: the nodes kept {:.2f} of {} cores busy (time-weighted, wall time inside parallel work); "
                     "~{:.3f} ms of core time idle in them per run: ~{:.3f} ms while the caller ran alone outside "
                     "parallel regions, ~{:.3f} ms waiting at joins (uneven shares, a slower core, fork and wake-up)\n",
                     p.busy_cores(), p.threads, idle * 1e3, alone * 1e3, (idle - alone) * 1e3);
  }
  return o;
}

std::string profile_to_csv(const Profile& p) {
  const double total = p.node_sum_mean_s();
  std::string o =
      "step,node,op,origin,kernel,isa,inputs,outputs,mean_ms,median_ms,percent,flops,gflops_per_s,percent_peak,"
      "bytes,flops_per_byte,busy_cores,serial_ms\n";
  for (const NodeProfile& n : p.nodes) {
    const double gf = n.gflops_per_s();
    o += fmt::format("{},{},{},{},{},{},{},{},{:.6f},{:.6f},{:.3f},{},{:.4f},{:.3f},{},{:.4f},{:.3f},{:.6f}\n", n.step,
                     csv_field(n.name), csv_field(n.op), csv_field(join(n.origin, ";")), csv_field(n.kernel), n.isa,
                     csv_field(join(n.input_shapes, ";")), csv_field(join(n.output_shapes, ";")), n.mean_s * 1e3,
                     n.median_s * 1e3, total > 0 ? 100 * n.mean_s / total : 0, n.flops, gf,
                     p.peak_gflops > 0 ? 100 * gf / p.peak_gflops : 0, n.bytes, n.intensity(), n.busy_cores_median,
                     n.serial_median_s * 1e3);
  }
  return o;
}

std::string profile_to_json(const Profile& p) {
  using nlohmann::json;
  const double total = p.node_sum_mean_s();
  json nodes = json::array();
  for (const NodeProfile& n : p.nodes) {
    const double gf = n.gflops_per_s();
    std::vector<double> ms;
    for (double s : n.seconds) ms.push_back(s * 1e3);
    nodes.push_back({{"step", n.step},
                     {"name", n.name},
                     {"op", n.op},
                     {"origin", n.origin},
                     {"kernel", n.kernel},
                     {"isa", n.isa},
                     {"inputs", n.input_shapes},
                     {"outputs", n.output_shapes},
                     {"mean_ms", n.mean_s * 1e3},
                     {"median_ms", n.median_s * 1e3},
                     {"percent", total > 0 ? 100 * n.mean_s / total : 0},
                     {"flops", n.flops},
                     {"gflops_per_s", gf},
                     {"percent_peak", p.peak_gflops > 0 ? 100 * gf / p.peak_gflops : 0},
                     {"bytes", n.bytes},
                     {"flops_per_byte", n.intensity()},
                     {"busy_cores", n.busy_cores_median},
                     {"serial_ms", n.serial_median_s * 1e3},
                     {"runs_ms", ms}});
  }
  json ops = json::array();
  for (const OpSummary& s : p.op_summary())
    ops.push_back({{"op", s.op}, {"nodes", s.nodes}, {"mean_ms", s.mean_s * 1e3}, {"flops", s.flops}, {"bytes", s.bytes}});
  std::vector<double> runs_ms;
  for (double s : p.run_seconds) runs_ms.push_back(s * 1e3);
  json j = {{"model", p.model},
            {"opt_level", p.opt_level},
            {"threads", p.threads},
            {"isa", p.isa},
            {"denormals", p.flush_denormals ? "flush" : "keep"},
            {"iters", p.iters},
            {"warmup", p.warmup},
            {"peak_gflops", p.peak_gflops},
            {"run_mean_ms", p.run_mean_s() * 1e3},
            {"run_median_ms", p.run_median_s() * 1e3},
            {"runs_ms", runs_ms},
            {"node_sum_mean_ms", total * 1e3},
            {"busy_cores", p.busy_cores()},
            {"outside_kernels_ms",
             {{"before_first", mean_of(p.head_seconds) * 1e3},
              {"between", mean_of(p.between_seconds) * 1e3},
              {"after_last", mean_of(p.tail_seconds) * 1e3}}},
            {"nodes", nodes},
            {"ops", ops}};
  return j.dump(1) + "\n";
}

std::string profile_to_chrome_trace(const Profile& p) {
  using nlohmann::json;
  const int pid = static_cast<int>(::getpid());
  const int tid = caller_tid();
  json ev = json::array();
  ev.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid}, {"args", {{"name", "anvil " + p.model}}}});
  ev.push_back({{"name", "thread_name"},
                {"ph", "M"},
                {"pid", pid},
                {"tid", tid},
                {"args", {{"name", p.threads > 1 ? "executor (caller; kernels fork to workers)" : "executor"}}}});
  const double origin = p.run_start.empty() ? 0 : p.run_start.front();
  auto us = [](double s) { return s * 1e6; };
  for (size_t it = 0; it < p.run_seconds.size(); ++it) {
    const double base = p.run_start[it] - origin;
    ev.push_back({{"name", "run " + std::to_string(it)},
                  {"cat", "run"},
                  {"ph", "X"},
                  {"pid", pid},
                  {"tid", tid},
                  {"ts", us(base)},
                  {"dur", us(p.run_seconds[it])},
                  {"args", {{"iteration", it}}}});
    for (const NodeProfile& n : p.nodes) {
      const double gf = n.flops > 0 && n.seconds[it] > 0 ? static_cast<double>(n.flops) / n.seconds[it] * 1e-9 : 0;
      ev.push_back({{"name", n.name},
                    {"cat", "node"},
                    {"ph", "X"},
                    {"pid", pid},
                    {"tid", tid},
                    {"ts", us(base + n.start[it])},
                    {"dur", us(n.seconds[it])},
                    {"args",
                     {{"op", n.op},
                      {"origin", join(n.origin, ", ")},
                      {"kernel", n.kernel},
                      {"inputs", join(n.input_shapes, ", ")},
                      {"outputs", join(n.output_shapes, ", ")},
                      {"flops", n.flops},
                      {"gflops_per_s", gf},
                      {"bytes", n.bytes},
                      {"iteration", it}}}});
    }
  }
  json j = {{"traceEvents", ev}, {"displayTimeUnit", "ms"}};
  return j.dump() + "\n";
}

}  // namespace anvil

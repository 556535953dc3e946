#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "core/npy.h"
#include "frontend/mxnet/mxnet_import.h"
#include "frontend/mxnet/mxnet_zoo.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/graph.h"
#include "ir/graph_stats.h"
#include "ir/printer.h"
#include "runtime/memory_limit.h"
#include "runtime/session_impl.h"
#include "zoo/zoo.h"

namespace anvil::cli {

void add_model_args(CLI::App* cmd, ModelArgs& a) {
  cmd->add_option("model", a.path, "Model: FILE.onnx, or an MXNet checkpoint PREFIX (with --epoch), PREFIX-symbol.json or PREFIX-NNNN.params")->required();
  cmd->add_option("--shape", a.shapes, "Bind an input shape: NAME:1,3,224,224 (repeatable)");
  cmd->add_option("--epoch", a.epoch, "MXNet checkpoint epoch");
  cmd->add_flag("--allow-missing", a.allow_missing, "MXNet: zero-initialise parameters missing from .params");
  cmd->add_option("-O,--opt-level", a.opt_level, "Optimization level 0..3 (default 3)")->check(CLI::Range(0, 3));
  cmd->add_option("--disable-pass", a.disable_passes, "Do not run this optimizer pass (repeatable)");
  cmd->add_option("--enable-pass", a.enable_passes, "Run this pass even above the -O level (repeatable)");
  cmd->add_option("--denormals", a.denormals, "flush (FTZ/DAZ + flush subnormal weights) or keep")
      ->check(CLI::IsMember({"flush", "keep"}));
  cmd->add_flag("--exact", a.exact, "Direct summation for every conv (no Winograd)");
  cmd->add_option("--tune", a.tune,
                  "Per-layer algorithm choice: off (fixed order, default), fast or full (time every candidate kernel of "
                  "each conv on this host; choices cached in $ANVIL_TUNE_CACHE or ~/.cache/anvil/tune.json)")
      ->check(CLI::IsMember({"off", "fast", "full"}));
  cmd->add_option("--max-memory", a.max_memory,
                  "Refuse models needing more memory than this: 8G, 512M, bytes, or none (default: ANVIL_MAX_MEMORY, "
                  "else physical memory)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v == "none" || parse_byte_size(v)) return "";
            return "'" + v + "' is not a size (8G, 512M, 1048576) or 'none'";
          },
          "SIZE"));
}

CompileOptions compile_options(const ModelArgs& a, int threads) {
  CompileOptions o;
  o.threads = threads;
  o.opt_level = a.opt_level;
  o.disable_passes = a.disable_passes;
  o.enable_passes = a.enable_passes;
  o.flush_denormals = a.denormals != "keep";
  o.exact = a.exact;
  o.tune = a.tune;
  if (a.max_memory == "none") o.memory_limit = -1;
  else if (auto b = parse_byte_size(a.max_memory)) o.memory_limit = *b;  // 0: the default limit
  return o;
}

Status parse_shape_arg(const std::string& s, std::string& name, Shape& shape) {
  const size_t sep = s.find_last_of(":=");
  if (sep == std::string::npos || sep == 0)
    return invalid_argument("bad --shape '" + s + "': expected NAME:D0,D1,... e.g. data:1,3,112,112");
  name = s.substr(0, sep);
  std::vector<int64_t> dims;
  std::string cur;
  const std::string spec = s.substr(sep + 1);
  for (size_t i = 0; i <= spec.size(); ++i) {
    const char c = i < spec.size() ? spec[i] : ',';
    if (c == ',' || c == 'x') {
      if (cur.empty()) return invalid_argument("bad --shape '" + s + "': empty dimension");
      try {
        size_t used = 0;
        const long long v = std::stoll(cur, &used);
        if (used != cur.size() || v <= 0) throw std::invalid_argument("x");
        dims.push_back(v);
      } catch (...) {
        return invalid_argument("bad --shape '" + s + "': dimension '" + cur + "' is not a positive integer");
      }
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  shape = Shape(dims);
  return Status::ok();
}

Result<Model> load_model(const ModelArgs& a) {
  LoadOptions o;
  o.epoch = a.epoch;
  o.allow_missing = a.allow_missing;
  for (const std::string& s : a.shapes) {
    std::string name;
    Shape shape;
    ANVIL_TRY(parse_shape_arg(s, name, shape));
    o.shapes[name] = shape;
  }
  return Model::load(a.path, o);
}

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

Tensor random_input(const TensorInfo& info, uint64_t seed) {
  Tensor t(info.dtype, info.shape);
  uint64_t state = seed * 0x2545F4914F6CDD1DULL + 1;
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
    switch (info.dtype) {
      case DType::kF32: t.data<float>()[i] = static_cast<float>(2 * u - 1); break;
      case DType::kF64: t.data<double>()[i] = 2 * u - 1; break;
      case DType::kI64: t.data<int64_t>()[i] = static_cast<int64_t>(u * 10); break;
      case DType::kI32: t.data<int32_t>()[i] = static_cast<int32_t>(u * 10); break;
      case DType::kU8: t.data<uint8_t>()[i] = static_cast<uint8_t>(u * 255); break;
      case DType::kI8: t.data<int8_t>()[i] = static_cast<int8_t>(u * 255 - 128); break;
      case DType::kBool: t.data<uint8_t>()[i] = u < 0.5; break;
      default: break;
    }
  }
  return t;
}

std::string human_count(double v) {
  const char* units[] = {"", " K", " M", " G", " T"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", v) : fmt::format("{:.2f}{}", v, units[u]);
}

int report(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return 2;
    case StatusCode::kUnsupported: return 3;
    case StatusCode::kNotFound:
    case StatusCode::kIoError: return 4;
    default: return 1;
  }
}

namespace {
std::string info_line(const Graph& g, ValueId id) {
  const Value& v = g.value(id);
  std::string dims;
  for (size_t i = 0; i < v.shape.rank(); ++i) {
    if (i) dims += "x";
    dims += v.shape[i] >= 0 ? std::to_string(v.shape[i])
                            : (i < v.dim_names.size() && !v.dim_names[i].empty() ? v.dim_names[i] : "?");
  }
  return fmt::format("  {:<24} {:<5} [{}]", v.name, dtype_name(v.dtype), dims);
}
}  // namespace

int cmd_info(const ModelArgs& a, bool print_graph, const std::string& format) {
  auto m = load_model(a);
  if (!m) return report(m.status());
  Graph g = m->graph();
  Status inferred = infer_shapes(g);
  const Graph& shown = inferred.is_ok() ? g : m->graph();
  fmt::print("model:      {}\n", a.path);
  if (!g.producer.empty()) fmt::print("producer:   {}\n", g.producer);
  fmt::print("opset:      {}\n", g.opset);
  if (m->precompiled())
    fmt::print("compiled:   yes (.anvil: optimized graph with kernel choices and packed weights; see "
               "`anvil bench` / `anvil profile` on it)\n");
  for (const std::string& n : g.notes) fmt::print("note:       {}\n", n);
  fmt::print("inputs:\n");
  for (ValueId id : shown.inputs) fmt::print("{}\n", info_line(shown, id));
  fmt::print("outputs:\n");
  for (ValueId id : shown.outputs) fmt::print("{}\n", info_line(shown, id));
  GraphStats st = graph_stats(shown);
  fmt::print("nodes:      {}\n", shown.nodes().size());
  std::vector<std::pair<std::string, int>> hist(st.op_histogram.begin(), st.op_histogram.end());
  std::sort(hist.begin(), hist.end(), [](auto& x, auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
  for (const auto& [op, n] : hist) fmt::print("  {:<24} {}\n", op, n);
  fmt::print("parameters: {} ({})\n", st.parameters, human_count(static_cast<double>(st.parameters)));
  if (inferred.is_ok() && st.flops >= 0)
    fmt::print("FLOPs:      {} ({}FLOP per run; multiply-add = 2)\n", st.flops, human_count(static_cast<double>(st.flops)));
  else
    fmt::print("FLOPs:      unknown: {}\n", inferred.is_ok() ? "shapes not static" : inferred.message());
  if (print_graph) fmt::print("\n{}", format == "dot" ? graph_to_dot(shown) : graph_to_text(shown));
  return 0;
}

namespace {
void print_output_summary(const std::string& name, const Tensor& t) {
  fmt::print("output {} {}", name, t.desc());
  if (!dtype_is_float(t.dtype()) || t.numel() == 0) {
    fmt::print("\n");
    return;
  }
  std::vector<float> v = t.to_f32_vector();
  double sum = 0, mn = v[0], mx = v[0];
  size_t nonfinite = 0;
  for (float x : v) {
    if (!std::isfinite(x)) {
      ++nonfinite;
      continue;
    }
    sum += x;
    mn = std::min<double>(mn, x);
    mx = std::max<double>(mx, x);
  }
  fmt::print(": min {:.6g} max {:.6g} mean {:.6g}", mn, mx, sum / static_cast<double>(v.size()));
  if (nonfinite) fmt::print(" ({} non-finite values!)", nonfinite);
  fmt::print("\n");
  // Classifier-like outputs: show the top 5 of the first row.
  const int64_t row = t.rank() >= 2 ? t.numel() / t.dim(0) : t.numel();
  if (row >= 5 && row <= 100000) {
    std::vector<int64_t> idx(static_cast<size_t>(row));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + 5, idx.end(), [&](int64_t x, int64_t y) { return v[x] > v[y]; });
    fmt::print("  top-5:");
    for (int i = 0; i < 5; ++i) fmt::print(" {}:{:.5g}", idx[i], v[idx[i]]);
    fmt::print("\n");
  }
}
}  // namespace

int cmd_run(const ModelArgs& a, const std::vector<std::string>& input_args, const std::string& output_dir,
            uint64_t seed, int threads, const std::vector<std::string>& extra_outputs) {
  // Bind shapes from the .npy files so models with a dynamic batch just work.
  ModelArgs ma = a;
  std::map<std::string, Tensor> given;
  for (const std::string& s : input_args) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return report(invalid_argument("bad --input '" + s + "': expected NAME=FILE.npy"));
    auto t = read_npy(s.substr(eq + 1));
    if (!t) return report(t.status());
    const std::string name = s.substr(0, eq);
    std::string dims;
    for (size_t i = 0; i < t->rank(); ++i) dims += (i ? "," : "") + std::to_string(t->dim(i));
    if (t->rank() > 0) ma.shapes.push_back(name + ":" + dims);
    given[name] = std::move(t).value();
  }
  auto m = load_model(ma);
  if (!m) return report(m.status());
  CompileOptions co = compile_options(ma, threads);
  co.extra_outputs = extra_outputs;
  auto sess = std::move(*m).compile(co);  // consumed (see Model::compile)
  if (!sess) return report(sess.status());
  std::map<std::string, Tensor> inputs;
  for (const TensorInfo& ti : sess->inputs()) {
    auto it = given.find(ti.name);
    if (it == given.end()) {
      inputs[ti.name] = random_input(ti, seed);
      fmt::print("input {} {}: random uniform [-1, 1], seed {}\n", ti.name, inputs[ti.name].desc(), seed);
      continue;
    }
    Tensor t = it->second;
    if (t.dtype() != ti.dtype) {
      if (!dtype_is_float(t.dtype()) || !dtype_is_float(ti.dtype))
        return report(invalid_argument("input '" + ti.name + "' expects " + dtype_name(ti.dtype) + ", the file holds " +
                                       dtype_name(t.dtype())));
      t = t.cast(ti.dtype);
    }
    inputs[ti.name] = t;
  }
  for (const auto& [name, t] : given)
    if (!inputs.count(name)) return report(invalid_argument("'" + name + "' is not an input of the model"));
  auto out = sess->run(inputs);
  if (!out) return report(out.status());
  std::error_code ec;
  if (!output_dir.empty()) std::filesystem::create_directories(output_dir, ec);
  for (const auto& [name, t] : *out) {
    print_output_summary(name, t);
    if (!output_dir.empty()) {
      std::string fname = name;
      std::replace_if(fname.begin(), fname.end(), [](char c) { return c == '/' || c == '\\' || c == ':'; }, '_');
      const std::string path = (std::filesystem::path(output_dir) / (fname + ".npy")).string();
      Status s = write_npy(path, t);
      if (!s.is_ok()) return report(s);
      fmt::print("  wrote {}\n", path);
    }
  }
  return 0;
}

int cmd_bench(const ModelArgs& a, const BenchArgs& b) {
  auto m = load_model(a);
  if (!m) return report(m.status());
  // The model's own FLOPs (the unoptimized graph's), counted before the
  // model is consumed by compile (which then frees the imported weights
  // its folds replace), and outside the compile time.
  int64_t flops = -1;
  {
    Graph g = m->graph();
    if (infer_shapes(g).is_ok()) flops = graph_stats(g).flops;
  }
  const auto t_compile0 = std::chrono::steady_clock::now();
  auto sess = std::move(*m).compile(compile_options(a, b.threads));
  if (!sess) return report(sess.status());
  const double compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_compile0).count();
  std::map<std::string, Tensor> inputs;
  int64_t batch = 1;
  for (const TensorInfo& ti : sess->inputs()) {
    inputs[ti.name] = random_input(ti, b.seed);
    if (ti.shape.rank() > 0 && &ti == &sess->inputs().front()) batch = std::max<int64_t>(1, ti.shape[0]);
  }
  // Progress only on a terminal: logs and pipes get the summary alone.
  const bool progress = !b.json && isatty(STDERR_FILENO);
  for (int i = 0; i < b.warmup; ++i) {
    auto out = sess->run(inputs);
    if (!out) return report(out.status());
    if (progress) fmt::print(stderr, "\rwarm-up {}/{}", i + 1, b.warmup);
  }
  std::vector<double> ms;
  for (int i = 0; i < b.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = sess->run(inputs);
    const auto t1 = std::chrono::steady_clock::now();
    if (!out) return report(out.status());
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count() / static_cast<double>(batch));
    if (progress) fmt::print(stderr, "\rtimed run {}/{}  ", i + 1, b.iters);
  }
  if (progress) fmt::print(stderr, "\r                         \r");
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                          : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  const double p90 = sorted[std::min(sorted.size() - 1, static_cast<size_t>(std::ceil(0.9 * static_cast<double>(sorted.size()))) - 1)];
  const double mn = sorted.front();
  // The process's peak resident memory so far (import, compile, runs): what
  // a user compares with another engine's footprint. Linux reports KiB.
  struct rusage ru {};
  const int64_t peak_rss = getrusage(RUSAGE_SELF, &ru) == 0 ? int64_t{ru.ru_maxrss} * 1024 : -1;
  if (b.json) {
    nlohmann::json j = {{"model", a.path},       {"batch", batch},   {"warmup", b.warmup}, {"iters", b.iters},
                        {"threads", b.threads},  {"mean_ms", mean},  {"median_ms", median}, {"p90_ms", p90},
                        {"min_ms", mn},          {"compile_ms", compile_ms}, {"flops", flops}, {"runs_ms", ms},
                        {"activation_bytes", sess->activation_bytes()}, {"peak_rss_bytes", peak_rss},
                        {"in_place_outputs", sess->impl()->executor->in_place_steps()}};
    // Which kernel family each conv got (the part of the kernel name before
    // ':'), so benchmark scripts can report the algorithms behind a time.
    nlohmann::json convs = nlohmann::json::object();
    const Executor& ex = *sess->impl()->executor;
    for (size_t i = 0; i < ex.num_steps(); ++i) {
      const std::string& op = ex.step_node(i).op;
      if (op != "Conv" && op != "FusedConv") continue;
      const std::string k = ex.step_kernel_name(i);
      convs[k.substr(0, k.find(':'))] = convs.value(k.substr(0, k.find(':')), 0) + 1;
    }
    j["conv_kernels"] = convs;
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("model {}  batch {}  warm-up {}  timed {}\n", a.path, batch, b.warmup, b.iters);
    fmt::print("compile {:.1f} ms; activation memory {:.1f} MiB (planned; {} outputs written over their residual)\n",
               compile_ms, static_cast<double>(sess->activation_bytes()) / (1 << 20),
               sess->impl()->executor->in_place_steps());
    if (peak_rss > 0) fmt::print("peak resident memory {:.0f} MiB (the whole process: import, compile, runs)\n",
                                 static_cast<double>(peak_rss) / (1 << 20));
    fmt::print("per image: mean {:.3f} ms  median {:.3f} ms  p90 {:.3f} ms  min {:.3f} ms\n", mean, median, p90, mn);
    if (flops > 0)
      fmt::print("throughput: {:.2f} GFLOP/s at the median ({}FLOP per image)\n",
                 static_cast<double>(flops) / static_cast<double>(batch) / (median * 1e6),
                 human_count(static_cast<double>(flops) / static_cast<double>(batch)));
  }
  return 0;
}

namespace {

bool is_onnx_zoo_name(const std::string& n) {
  for (const std::string& m : zoo_model_names())
    if (m == n) return true;
  return false;
}

// The MXNet-layout zoo: written as a checkpoint, or imported and written as
// ONNX (the same architecture and weights in both formats).
int cmd_zoo_mxnet(const ZooArgs& z) {
  auto c = mxnet::build_mxnet_zoo_model(z.name, z.seed);
  if (!c) return report(c.status());
  if (z.format == "mxnet") {
    std::string prefix = z.output;
    for (const std::string suf : {"-symbol.json", "-0000.params"})
      if (prefix.size() > suf.size() && prefix.compare(prefix.size() - suf.size(), suf.size(), suf) == 0)
        prefix.resize(prefix.size() - suf.size());
    Status s = mxnet::save_mxnet_checkpoint(prefix, 0, *c);
    if (!s.is_ok()) return report(s);
    int64_t n = 0;
    for (const Tensor& t : c->params.arrays) n += t.numel();
    fmt::print("wrote {}-symbol.json and {}-0000.params ({} parameters, {} nodes)\n", prefix, prefix,
               human_count(static_cast<double>(n)), c->symbol.nodes.size());
    return 0;
  }
  mxnet::ImportOptions io;
  io.shapes["data"] = z.name == "resnet101" ? Shape{1, 3, 224, 224} : Shape{1, 3, 112, 112};
  for (const std::string& s : z.shapes) {
    std::string name;
    Shape shape;
    Status st = parse_shape_arg(s, name, shape);
    if (!st.is_ok()) return report(st);
    io.shapes["data"] = shape;
  }
  auto g = mxnet::import_mxnet(c->symbol, c->params, z.name + "-symbol.json", z.name + "-0000.params", io);
  if (!g) return report(g.status());
  Status s = save_onnx(*g, z.output);
  if (!s.is_ok()) return report(s);
  fmt::print("wrote {} ({} parameters, {} nodes)\n", z.output, human_count(static_cast<double>(g->num_parameters())),
             g->nodes().size());
  return 0;
}

}  // namespace

int cmd_zoo(const ZooArgs& z) {
  if (z.list || z.name.empty()) {
    for (const std::string& n : zoo_model_names()) fmt::print("{}\n", n);
    for (const std::string& n : mxnet::mxnet_zoo_model_names())
      fmt::print("{} (MXNet layout; --format mxnet{})\n", n, is_onnx_zoo_name(n) ? "" : " or onnx");
    return z.list ? 0 : report(invalid_argument("give a model name (listed above) and -o FILE.onnx"));
  }
  if (z.output.empty()) return report(invalid_argument("zoo: -o FILE.onnx (or -o PREFIX with --format mxnet) is required"));
  if (z.format == "mxnet" || !is_onnx_zoo_name(z.name)) {
    bool mx = false;
    for (const std::string& n : mxnet::mxnet_zoo_model_names()) mx |= n == z.name;
    if (mx) return cmd_zoo_mxnet(z);
    if (z.format == "mxnet") return report(mxnet::build_mxnet_zoo_model(z.name).status());
  }
  ZooOptions o;
  o.seed = z.seed;
  o.denormal_prone = z.denormal_prone;
  for (const std::string& s : z.shapes) {
    std::string name;
    Shape shape;
    Status st = parse_shape_arg(s, name, shape);
    if (!st.is_ok()) return report(st);
    o.input_shape = shape.dims();
  }
  auto g = build_zoo_model(z.name, o);
  if (!g) return report(g.status());
  Status s = save_onnx(*g, z.output);
  if (!s.is_ok()) return report(s);
  fmt::print("wrote {} ({} parameters, {} nodes)\n", z.output, human_count(static_cast<double>(g->num_parameters())),
             g->nodes().size());
  return 0;
}

}  // namespace anvil::cli

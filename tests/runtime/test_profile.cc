// The profiler (runtime/profiler.h) and the machine measurements it divides
// by (core/microbench.h): one row per executed node, times that add up,
// FLOPs that agree with graph_stats, and well-formed CSV/JSON/trace output.
#include <gtest/gtest.h>
#include <sched.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "anvil/anvil.h"
#include "core/microbench.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/graph_stats.h"
#include "ir/op_registry.h"
#include "passes/pass.h"
#include "runtime/executor.h"
#include "runtime/profiler.h"
#include "runtime/session_impl.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

std::unique_ptr<Executor> tiny_cnn_executor(int opt_level) {
  register_all_ops();
  auto g = build_zoo_model("tiny_cnn", {});
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  PassOptions po;
  po.opt_level = opt_level;
  auto r = run_passes(*g, po);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  auto ex = Executor::create(std::move(g).value(), 1);
  EXPECT_TRUE(ex.is_ok()) << ex.status().to_string();
  return std::move(ex).value();
}

std::vector<Tensor> inputs_for(const Executor& ex) {
  std::vector<Tensor> in;
  for (ValueId id : ex.graph().inputs) {
    const Value& v = ex.graph().value(id);
    Tensor t(v.dtype, v.shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>((i * 37) % 200) / 100.f - 1.f;
    in.push_back(t);
  }
  return in;
}

Profile tiny_profile(int opt_level, int iters) {
  auto ex = tiny_cnn_executor(opt_level);
  ProfileOptions o;
  o.iters = iters;
  o.warmup = 1;
  o.measure_peak = false;
  auto p = profile_executor(*ex, inputs_for(*ex), o);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return std::move(p).value();
}

TEST(Profile, OneRowPerExecutedNode) {
  for (int level : {0, 3}) {
    auto ex = tiny_cnn_executor(level);
    ProfileOptions o;
    o.iters = 4;
    o.warmup = 1;
    o.measure_peak = false;
    auto p = profile_executor(*ex, inputs_for(*ex), o);
    ASSERT_TRUE(p.is_ok()) << p.status().to_string();
    ASSERT_EQ(p->nodes.size(), ex->num_steps()) << "-O" << level;
    ASSERT_GT(p->nodes.size(), 0u);
    for (size_t i = 0; i < p->nodes.size(); ++i) {
      const NodeProfile& n = p->nodes[i];
      EXPECT_EQ(n.step, i);
      EXPECT_EQ(n.name, ex->step_node(i).name);
      EXPECT_EQ(n.op, ex->step_node(i).op);
      EXPECT_EQ(n.kernel, ex->step_kernel_name(i));
      EXPECT_EQ(n.seconds.size(), 4u);
      EXPECT_EQ(n.start.size(), 4u);
      EXPECT_GT(n.mean_s, 0) << n.name;
      EXPECT_GT(n.median_s, 0) << n.name;
      EXPECT_FALSE(n.output_shapes.empty()) << n.name;
      EXPECT_GT(n.bytes, 0) << n.name;
    }
    // The by-time order is a permutation, slowest first.
    const std::vector<size_t> order = p->by_time();
    ASSERT_EQ(order.size(), p->nodes.size());
    EXPECT_EQ(std::set<size_t>(order.begin(), order.end()).size(), order.size());
    for (size_t i = 1; i < order.size(); ++i) EXPECT_GE(p->nodes[order[i - 1]].mean_s, p->nodes[order[i]].mean_s);
  }
}

TEST(Profile, NodeTimesSumWithinEndToEnd) {
  const Profile p = tiny_profile(3, 6);
  ASSERT_EQ(p.run_seconds.size(), 6u);
  for (size_t it = 0; it < p.run_seconds.size(); ++it) {
    double sum = 0;
    for (const NodeProfile& n : p.nodes) {
      sum += n.seconds[it];
      // Every kernel ran inside its run.
      EXPECT_GE(n.start[it], 0);
      EXPECT_LE(n.start[it] + n.seconds[it], p.run_seconds[it] + 1e-9);
    }
    EXPECT_LE(sum, p.run_seconds[it] + 1e-9);
    // The rest is accounted for exactly by the gaps before, between and after.
    const double parts = sum + p.head_seconds[it] + p.between_seconds[it] + p.tail_seconds[it];
    EXPECT_NEAR(parts, p.run_seconds[it], 1e-6 + 1e-6 * p.run_seconds[it]);
    EXPECT_GE(p.head_seconds[it], 0);
    EXPECT_GE(p.between_seconds[it], 0);
    EXPECT_GE(p.tail_seconds[it], 0);
  }
  EXPECT_LE(p.node_sum_mean_s(), p.run_mean_s() + 1e-9);
}

TEST(Profile, FlopsMatchGraphStats) {
  auto ex = tiny_cnn_executor(3);
  ProfileOptions o;
  o.iters = 1;
  o.warmup = 0;
  o.measure_peak = false;
  auto p = profile_executor(*ex, inputs_for(*ex), o);
  ASSERT_TRUE(p.is_ok());
  int64_t sum = 0;
  for (size_t i = 0; i < p->nodes.size(); ++i) {
    EXPECT_EQ(p->nodes[i].flops, node_flops(ex->graph(), ex->step_node(i))) << p->nodes[i].name;
    sum += p->nodes[i].flops;
  }
  // Every node of tiny_cnn runs (nothing is constant-folded), so the
  // profile's total is the graph's.
  ASSERT_EQ(ex->num_steps(), ex->graph().nodes().size());
  EXPECT_EQ(sum, graph_stats(ex->graph()).flops);
  EXPECT_GT(sum, 0);
  int64_t by_op = 0;
  for (const OpSummary& s : p->op_summary()) by_op += s.flops;
  EXPECT_EQ(by_op, sum);
}

TEST(Profile, ChromeTraceHasOneSlicePerNodePerRun) {
  const int iters = 3;
  const Profile p = tiny_profile(3, iters);
  const nlohmann::json j = nlohmann::json::parse(profile_to_chrome_trace(p));
  ASSERT_TRUE(j.contains("traceEvents"));
  std::map<std::string, int> per_node;
  std::set<int64_t> tids;
  int runs = 0, metadata = 0;
  for (const auto& e : j["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph"));
    if (e["ph"] == "M") {
      ++metadata;
      continue;
    }
    ASSERT_EQ(e["ph"], "X");
    EXPECT_GE(e["ts"].get<double>(), 0);
    EXPECT_GE(e["dur"].get<double>(), 0);
    tids.insert(e["tid"].get<int64_t>());
    if (e["cat"] == "run") {
      ++runs;
    } else {
      ASSERT_EQ(e["cat"], "node");
      per_node[e["name"].get<std::string>() + "#" + std::to_string(e["args"]["iteration"].get<int>())]++;
      EXPECT_TRUE(e["args"].contains("kernel"));
      EXPECT_TRUE(e["args"].contains("op"));
    }
  }
  EXPECT_EQ(runs, iters);
  EXPECT_GE(metadata, 2);  // process and thread names
  EXPECT_EQ(tids.size(), 1u);
  EXPECT_EQ(per_node.size(), p.nodes.size() * iters);
  for (const auto& [k, n] : per_node) EXPECT_EQ(n, 1) << k;
}

TEST(Profile, CsvAndJsonHaveEveryNode) {
  const Profile p = tiny_profile(3, 2);
  // One thread: every node keeps its one core busy, nothing runs alone.
  ASSERT_EQ(p.threads, 1);
  for (const NodeProfile& n : p.nodes) {
    EXPECT_TRUE(n.busy_cores.empty()) << n.name;
    EXPECT_EQ(n.busy_cores_median, 1.0) << n.name;
    EXPECT_EQ(n.serial_median_s, 0.0) << n.name;
  }
  EXPECT_EQ(p.busy_cores(), 1.0);
  EXPECT_EQ(profile_to_text(p).find("cores busy"), std::string::npos);
  const std::string csv = profile_to_csv(p);
  std::istringstream ss(csv);
  std::string line;
  int lines = 0;
  while (std::getline(ss, line)) ++lines;
  EXPECT_EQ(lines, static_cast<int>(p.nodes.size()) + 1);
  EXPECT_EQ(csv.rfind("step,node,op,origin,kernel", 0), 0u);

  const nlohmann::json j = nlohmann::json::parse(profile_to_json(p));
  ASSERT_EQ(j["nodes"].size(), p.nodes.size());
  double sum = 0;
  for (const auto& n : j["nodes"]) {
    EXPECT_GT(n["mean_ms"].get<double>(), 0);
    sum += n["mean_ms"].get<double>();
  }
  EXPECT_NEAR(sum, j["node_sum_mean_ms"].get<double>(), 1e-9);
  EXPECT_LE(j["node_sum_mean_ms"].get<double>(), j["run_mean_ms"].get<double>() + 1e-6);

  const std::string text = profile_to_text(p);
  for (const NodeProfile& n : p.nodes) EXPECT_NE(text.find(n.name.substr(0, 27)), std::string::npos) << n.name;
  EXPECT_NE(text.find("per op type"), std::string::npos);
}

TEST(Profile, SessionAtO3WithThreads) {
  register_all_ops();
  auto g = build_zoo_model("tiny_cnn", {});
  ASSERT_TRUE(g.is_ok());
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "anvil_test_profile";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tiny_cnn.onnx").string();
  ASSERT_TRUE(save_onnx(*g, path).is_ok());
  auto m = Model::load(path);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  auto s = m->compile({.threads = 2, .opt_level = 3});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  std::map<std::string, Tensor> in;
  for (const TensorInfo& ti : s->inputs()) {
    Tensor t(ti.dtype, ti.shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.25f;
    in[ti.name] = t;
  }
  ProfileOptions o;
  o.iters = 2;
  o.measure_peak = false;
  auto p = profile_session(*s, in, o);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->opt_level, 3);
  EXPECT_EQ(p->threads, 2);
  EXPECT_EQ(p->nodes.size(), s->impl()->executor->num_steps());
  // tiny_cnn has Conv+BN+Relu blocks, which -O3 fuses: each fused node
  // names the original nodes it stands for.
  size_t fused = 0;
  for (const NodeProfile& n : p->nodes) {
    EXPECT_FALSE(n.origin.empty()) << n.name;
    fused += n.origin.size() > 1;
  }
  EXPECT_GT(fused, 0u);
  // Each node kept between 0 and 2 cores busy (its parallel regions count
  // both threads, its serial parts the caller), and the outputs say so.
  for (const NodeProfile& n : p->nodes) {
    EXPECT_EQ(n.busy_cores.size(), 2u) << n.name;
    EXPECT_GE(n.busy_cores_median, 0.0) << n.name;
    EXPECT_LE(n.busy_cores_median, 2.0) << n.name;
    EXPECT_GE(n.serial_median_s, 0.0) << n.name;
    EXPECT_LE(n.serial_median_s, n.median_s + 1e-9) << n.name;
  }
  EXPECT_GT(p->busy_cores(), 0.0);
  EXPECT_LE(p->busy_cores(), 2.0);
  EXPECT_NE(profile_to_csv(*p).find(",busy_cores,serial_ms\n"), std::string::npos);
  EXPECT_NE(profile_to_text(*p).find("cores busy (time-weighted"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(profile_to_json(*p))["nodes"][0].contains("busy_cores"));
  // Missing inputs and bad options are errors, not crashes.
  EXPECT_FALSE(profile_session(*s, {}, o).is_ok());
  o.iters = 0;
  EXPECT_FALSE(profile_session(*s, in, o).is_ok());
}

// One entry per CPU the process may use, each measured on that CPU: the
// thread that measures it must not run elsewhere.
TEST(ProfileMicrobench, EachCpuMeasuredAlone) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  const std::vector<CpuSpeed> per = measure_per_cpu(Isa::kScalar, size_t{1} << 20, 1);
  ASSERT_EQ(static_cast<int>(per.size()), CPU_COUNT(&mask));
  std::set<int> seen;
  for (const CpuSpeed& c : per) {
    EXPECT_TRUE(CPU_ISSET(c.cpu, &mask)) << c.cpu;
    EXPECT_TRUE(c.pinned) << c.cpu;
    EXPECT_TRUE(seen.insert(c.cpu).second) << "cpu " << c.cpu << " twice";
    EXPECT_GT(c.fma_gflops, 0.1) << c.cpu;
    EXPECT_GT(c.read_gbs, 0.1) << c.cpu;
  }
  // The slowest CPU's share of the fastest: the lower of the two ratios.
  EXPECT_EQ(slowest_cpu_fraction({}), 1.0);
  EXPECT_EQ(slowest_cpu_fraction({{0, true, 100, 30}}), 1.0);
  EXPECT_DOUBLE_EQ(slowest_cpu_fraction({{0, true, 100, 30}, {1, true, 80, 27}}), 0.8);
  EXPECT_DOUBLE_EQ(slowest_cpu_fraction({{0, true, 100, 30}, {1, true, 95, 15}}), 0.5);
  // The caller's own affinity is left as it was.
  cpu_set_t after;
  CPU_ZERO(&after);
  ASSERT_EQ(sched_getaffinity(0, sizeof(after), &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&mask, &after));
}

TEST(ProfileMicrobench, LoopsCountAndMeasure) {
  EXPECT_EQ(fp_loop(Isa::kScalar, FpOp::kFma, FpData::kNormal, 10), 10 * 12 * 4 * 2);
  EXPECT_EQ(fp_loop(Isa::kScalar, FpOp::kMul, FpData::kNormal, 10), 10 * 12 * 4);
  for (int i = 0; i <= static_cast<int>(host_isa()); ++i) {
    const Isa isa = static_cast<Isa>(i);
    const double peak = peak_gflops(isa, 1);
    EXPECT_GT(peak, 0.1) << isa_name(isa);
    EXPECT_EQ(peak_gflops(isa, 1), peak) << "cached";
    // With FTZ/DAZ on, subnormals are zeros: no slower than normal numbers
    // (a wide margin, the machine may be busy).
    const double normal = measure_fp_gflops(isa, FpOp::kFma, FpData::kNormal, true, 1, 0.01);
    const double sub = measure_fp_gflops(isa, FpOp::kFma, FpData::kSubnormalBoth, true, 1, 0.01);
    EXPECT_GT(sub, 0.3 * normal) << isa_name(isa);
  }
  const MemoryBandwidth bw = measure_memory_bandwidth(8 << 20, 1);
  EXPECT_GT(bw.copy_gbs, 0.1);
  EXPECT_GT(bw.triad_gbs, 0.1);
  if (std::filesystem::exists("/sys/devices/system/cpu/cpu0/cache/index0")) {
    const std::vector<CacheInfo> caches = cpu_caches();
    ASSERT_FALSE(caches.empty());
    EXPECT_EQ(caches[0].level, 1);
    EXPECT_GT(caches[0].size_bytes, 0u);
  }
}

}  // namespace
}  // namespace anvil

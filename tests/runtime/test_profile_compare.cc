// `anvil profile --compare` (runtime/profile_compare.h) and `--html`
// (runtime/profile_html.h): A/B groups that account for every node and
// every microsecond of both profiles, the denormal trap showing up as the
// folded conv losing, and the HTML report drawn by headless Chromium.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "anvil/anvil.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "runtime/profile_compare.h"
#include "runtime/profile_html.h"
#include "runtime/profiler.h"
#include "runtime/subnormal_host.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

namespace fs = std::filesystem;

fs::path test_dir() {
  const fs::path d = fs::temp_directory_path() / "anvil_test_profile_compare";
  fs::create_directories(d);
  return d;
}

// Zoo graphs built in memory have no Node::origin; the ONNX importer fills
// it, which is how the CLI sees every model.
Model saved_and_loaded(const Graph& g, const std::string& file) {
  const std::string path = (test_dir() / file).string();
  Status s = save_onnx(g, path);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  auto m = Model::load(path);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return std::move(m).value();
}

Model tiny_cnn_model() {
  register_all_ops();
  auto g = build_zoo_model("tiny_cnn", {});
  EXPECT_TRUE(g.is_ok());
  return saved_and_loaded(*g, "tiny_cnn.onnx");
}

// Conv -> BatchNormalization -> Relu whose every third gamma is 2e-38: a
// normal float, but folded into the conv weights it makes them subnormal.
Model dead_channel_model() {
  register_all_ops();
  Graph g;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto rnd = [&](Shape s, float lo, float hi) {
    Tensor t(DType::kF32, std::move(s));
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
    return t;
  };
  const int64_t C = 32;
  ValueId x = g.add_value("x", DType::kF32, Shape({1, C, 24, 24}));
  g.inputs.push_back(x);
  Tensor gamma = rnd({C}, 0.5f, 1.5f);
  for (int64_t c = 0; c < C; c += 3) gamma.data<float>()[c] = 2e-38f;
  Attrs ca;
  ca.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ca.set("kernel_shape", std::vector<int64_t>{3, 3});
  ValueId w = g.add_initializer("conv.w", rnd({C, C, 3, 3}, -0.5f, 0.5f));
  ValueId y = g.add_value("conv.y");
  g.add_node(Node{.name = "conv", .op = "Conv", .inputs = {x, w}, .outputs = {y}, .attrs = ca});
  Attrs ba;
  ba.set("epsilon", 1e-5f);
  ValueId z = g.add_value("bn.y");
  g.add_node(Node{.name = "bn",
                  .op = "BatchNormalization",
                  .inputs = {y, g.add_initializer("bn.gamma", gamma), g.add_initializer("bn.beta", rnd({C}, -0.2f, 0.2f)),
                             g.add_initializer("bn.mean", rnd({C}, -0.2f, 0.2f)),
                             g.add_initializer("bn.var", rnd({C}, 0.5f, 1.5f))},
                  .outputs = {z},
                  .attrs = ba});
  ValueId r = g.add_value("out");
  g.add_node(Node{.name = "relu", .op = "Relu", .inputs = {z}, .outputs = {r}});
  g.outputs.push_back(r);
  return saved_and_loaded(g, "dead_channels.onnx");
}

std::map<std::string, Tensor> inputs_for(const Model& m) {
  std::map<std::string, Tensor> in;
  for (const TensorInfo& ti : m.inputs()) {
    Tensor t(ti.dtype, ti.shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>((i * 37) % 200) / 100.f - 1.f;
    in[ti.name] = t;
  }
  return in;
}

Profile profile_at(const Model& m, CompileOptions co, int iters = 3) {
  ProfileOptions po;
  po.iters = iters;
  po.warmup = 1;
  po.measure_peak = false;
  auto p = profile_model(m, co, inputs_for(m), po);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return std::move(p).value();
}

// Every node of both sides in exactly one group, and the group times add
// up to each side's total.
void expect_partition(const ProfileComparison& c) {
  std::vector<int> seen_a(c.a.nodes.size()), seen_b(c.b.nodes.size());
  double sa = 0, sb = 0;
  for (const CompareGroup& g : c.groups) {
    EXPECT_FALSE(g.a.empty() && g.b.empty());
    EXPECT_FALSE(g.origin.empty());
    for (size_t i : g.a) seen_a.at(i)++;
    for (size_t i : g.b) seen_b.at(i)++;
    sa += g.a_s;
    sb += g.b_s;
  }
  for (int n : seen_a) EXPECT_EQ(n, 1);
  for (int n : seen_b) EXPECT_EQ(n, 1);
  EXPECT_NEAR(sa, c.a_nodes_s(), 1e-12);
  EXPECT_NEAR(sb, c.b_nodes_s(), 1e-12);
}

TEST(ProfileCompare, FusedNodesGroupTheNodesTheyReplaced) {
  const Model m = tiny_cnn_model();
  const Profile a = profile_at(m, {.threads = 1, .opt_level = 0});
  const Profile b = profile_at(m, {.threads = 1, .opt_level = 3});
  ASSERT_GT(a.nodes.size(), b.nodes.size());
  const ProfileComparison c = compare_profiles(a, b, "-O0", "-O3");
  expect_partition(c);
  // One group per node of the fused graph (tiny_cnn: nothing is removed
  // outright), and a fused node's group is exactly the nodes it names.
  EXPECT_EQ(c.groups.size(), b.nodes.size());
  int fused = 0;
  for (const CompareGroup& g : c.groups) {
    ASSERT_EQ(g.b.size(), 1u);
    const NodeProfile& bn = c.b.nodes[g.b[0]];
    std::set<std::string> a_names;
    for (size_t i : g.a) a_names.insert(c.a.nodes[i].name);
    EXPECT_EQ(a_names, std::set<std::string>(bn.origin.begin(), bn.origin.end())) << bn.name;
    fused += g.a.size() > 1;
  }
  EXPECT_GE(fused, 3);
  bool conv_bn_relu = false;
  for (const auto& p : c.patterns()) conv_bn_relu |= p.name == "Conv+BatchNormalization+Relu -> FusedConv";
  EXPECT_TRUE(conv_bn_relu);
  // Losers and winners are disjoint and ordered by how much they moved.
  const auto losers = c.losers(), winners = c.winners();
  for (size_t i = 1; i < losers.size(); ++i) EXPECT_GE(c.groups[losers[i - 1]].delta_s(), c.groups[losers[i]].delta_s());
  for (size_t i = 1; i < winners.size(); ++i)
    EXPECT_LE(c.groups[winners[i - 1]].delta_s(), c.groups[winners[i]].delta_s());

  const nlohmann::json j = nlohmann::json::parse(comparison_to_json(c));
  EXPECT_EQ(j["groups"].size(), c.groups.size());
  EXPECT_EQ(j["a"]["label"], "-O0");
  const std::string text = comparison_to_text(c, 0);
  EXPECT_NE(text.find("A = -O0"), std::string::npos);
  EXPECT_NE(text.find("Conv+BatchNormalization+Relu -> FusedConv"), std::string::npos);
}

TEST(ProfileCompare, SameConfigurationIsOneToOne) {
  const Model m = tiny_cnn_model();
  const ProfileComparison c = compare_profiles(profile_at(m, {.threads = 1}), profile_at(m, {.threads = 1}), "A", "B");
  expect_partition(c);
  EXPECT_EQ(c.groups.size(), c.b.nodes.size());
  for (const CompareGroup& g : c.groups) {
    EXPECT_EQ(g.a.size(), 1u);
    EXPECT_EQ(g.b.size(), 1u);
  }
}

// The user's question, answered: with denormals kept, folding BN into the
// conv makes its weights subnormal, and that conv is the loser.
TEST(ProfileCompare, DenormalTrapFoldedConvIsTheLoser) {
  const Model m = dead_channel_model();
  const Profile a = profile_at(m, {.threads = 1, .opt_level = 0, .flush_denormals = false});
  const Profile b = profile_at(m, {.threads = 1, .opt_level = 3, .flush_denormals = false});
  const ProfileComparison c = compare_profiles(a, b, "-O0 --denormals keep", "-O3 --denormals keep");
  expect_partition(c);
  // The folded conv's group: one FusedConv standing for conv, bn and relu.
  const CompareGroup* folded = nullptr;
  for (const CompareGroup& g : c.groups)
    if (g.b.size() == 1 && c.b.nodes[g.b[0]].op == "FusedConv") folded = &g;
  ASSERT_NE(folded, nullptr) << comparison_to_text(c);
  EXPECT_EQ(folded->a.size(), 3u);  // conv, bn, relu
  if (!testing::host_penalises_subnormals())
    GTEST_SKIP() << "this CPU runs subnormal FMAs at full speed (penalty " << testing::host_subnormal_penalty()
                 << "x): the grouping is checked, the slowdown cannot be";
  const auto losers = c.losers();
  ASSERT_FALSE(losers.empty());
  EXPECT_EQ(&c.groups[losers[0]], folded) << comparison_to_text(c);
  EXPECT_GT(folded->b_s, 2 * folded->a_s) << comparison_to_text(c);
}

// ---------------------------------------------------------------- HTML

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string find_chromium() {
  for (const char* c : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string cmd = std::string("command -v ") + c + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return c;
  }
  return "";
}

// Headless Chromium as the issue prescribes; no network, a throwaway profile.
int run_chromium(const std::string& chromium, const std::string& args, const fs::path& log) {
  const fs::path user_dir = test_dir() / "chromium-profile";
  fs::remove_all(user_dir);
  fs::create_directories(user_dir);
  const std::string cmd = "timeout 120 " + chromium +
                          " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --user-data-dir=" +
                          user_dir.string() + " " + args + " 2>" + log.string();
  return std::system(cmd.c_str());
}

int attr_int(const std::string& dom, const std::string& name) {
  std::smatch mt;
  if (!std::regex_search(dom, mt, std::regex(name + "=\"(\\d+)\""))) return -1;
  return std::stoi(mt[1]);
}

TEST(ProfileHtml, SelfContainedAndDrawnByChromium) {
  const Model m = tiny_cnn_model();
  const Profile a = profile_at(m, {.threads = 1, .opt_level = 0});
  std::string report;
  ProfileOptions po;
  po.iters = 3;
  po.measure_peak = true;  // the roofline's compute roof
  auto pb = profile_model(m, {.threads = 1, .opt_level = 3}, inputs_for(m), po, &report);
  ASSERT_TRUE(pb.is_ok());
  Profile b = std::move(pb).value();
  b.model = "tiny_cnn.onnx";
  const ProfileComparison c = compare_profiles(a, b, "-O0", "-O3");
  HtmlReportOptions ho;
  ho.optimization_report = report;
  ho.bandwidth_gbs = 20;
  ho.comparison = &c;
  const std::string html = profile_to_html(b, ho);

  // Self-contained: no external scripts, styles, images or fonts.
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(std::regex_search(html, std::regex("(src|href)=\"?https?:")), false);
  EXPECT_NE(html.find("fold_batchnorm"), std::string::npos);  // the optimization report is embedded
  // A node name cannot close the data script early.
  Profile evil = b;
  evil.nodes[0].name = "</script><script>alert(1)</script>";
  const std::string evil_html = profile_to_html(evil, {});
  EXPECT_EQ(evil_html.find("</script><script>alert"), std::string::npos);
  // At 2+ threads the nodes carry their busy cores for the table's cores
  // column and the page's cores-busy figure.
  Profile two = b;
  two.threads = 2;
  for (NodeProfile& n : two.nodes) n.busy_cores_median = 1.5;
  const std::string two_html = profile_to_html(two, {});
  EXPECT_NE(two_html.find("\"busy_cores\":1.5"), std::string::npos);
  EXPECT_NE(two_html.find("cores busy (wall time in parallel work)"), std::string::npos);

  int points = 0;
  for (const NodeProfile& n : b.nodes) points += n.flops > 0 && n.gflops_per_s() > 0 && n.intensity() > 0;

  const fs::path out_dir = fs::path(ANVIL_BINARY_DIR) / "test-output";
  fs::create_directories(out_dir);
  const fs::path page = out_dir / "profile_report.html";
  {
    std::ofstream f(page);
    f << html;
  }
  const std::string chromium = find_chromium();
  if (chromium.empty())
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it): the HTML report was written to "
                 << page << " but not checked in a browser";

  const fs::path dom = out_dir / "profile_report.dom.html", log = out_dir / "chromium.log";
  ASSERT_EQ(run_chromium(chromium, "--dump-dom file://" + page.string() + " >" + dom.string(), log), 0)
      << read_file(log);
  const std::string d = read_file(dom);
  ASSERT_NE(d.find("data-rendered=\"1\""), std::string::npos) << "the page's script did not finish\n"
                                                               << d.substr(0, 400) << "\n" << read_file(log);
  // (the handler's own source mentions the name in single quotes)
  EXPECT_EQ(d.find("data-js-errors=\""), std::string::npos) << d.substr(0, 600);
  EXPECT_EQ(attr_int(d, "data-bars"), static_cast<int>(b.nodes.size()));
  EXPECT_EQ(attr_int(d, "data-points"), points);
  EXPECT_GT(points, 0);
  // The SVG elements exist in the DOM, not just the counters.
  size_t bars = 0;
  for (size_t at = d.find("class=\"bar\""); at != std::string::npos; at = d.find("class=\"bar\"", at + 1)) ++bars;
  EXPECT_EQ(bars, b.nodes.size());
  EXPECT_NE(d.find("class=\"roof\""), std::string::npos);
  EXPECT_NE(d.find("class=\"dbar\""), std::string::npos);  // the A/B chart

  const fs::path png = out_dir / "profile_report.png";
  fs::remove(png);
  ASSERT_EQ(run_chromium(chromium, "--screenshot=" + png.string() + " --window-size=1280,2000 file://" + page.string(),
                         log),
            0)
      << read_file(log);
  ASSERT_TRUE(fs::exists(png)) << read_file(log);
  EXPECT_GT(fs::file_size(png), 20000u);
  std::printf("report: %s\nscreenshot: %s\n", page.c_str(), png.c_str());
}

}  // namespace
}  // namespace anvil

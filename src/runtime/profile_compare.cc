#include "runtime/profile_compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace anvil {

namespace {

struct UnionFind {
  std::vector<size_t> parent;
  size_t add() {
    parent.push_back(parent.size());
    return parent.size() - 1;
  }
  size_t find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void unite(size_t x, size_t y) { parent[find(x)] = find(y); }
};

std::string shorten(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 3) + "..."; }

// "Conv+BatchNormalization+Relu": the ops of one side of a group, in order.
std::string ops_of(const Profile& p, const std::vector<size_t>& idx) {
  std::string r;
  for (size_t i : idx) r += (r.empty() ? "" : "+") + p.nodes[i].op;
  return r;
}

std::string ratio_str(double a, double b) {
  if (a <= 0 && b <= 0) return "-";
  if (a <= 0) return "new";
  if (b <= 0) return "gone";
  return fmt::format("{:.2f}x", b / a);
}

std::string group_label(const ProfileComparison& c, const CompareGroup& g) {
  if (!g.b.empty()) {
    const NodeProfile& n = c.b.nodes[g.b.front()];
    return g.b.size() == 1 ? n.name : fmt::format("{} (+{})", n.name, g.b.size() - 1);
  }
  const NodeProfile& n = c.a.nodes[g.a.front()];
  return g.a.size() == 1 ? n.name : fmt::format("{} (+{})", n.name, g.a.size() - 1);
}

}  // namespace

ProfileComparison compare_profiles(Profile a, Profile b, std::string label_a, std::string label_b) {
  ProfileComparison c;
  c.label_a = std::move(label_a);
  c.label_b = std::move(label_b);
  c.a = std::move(a);
  c.b = std::move(b);
  // One union-find element per original node name; every profiled node
  // joins the names it stands for, so a name shared by A and B links them.
  UnionFind uf;
  std::unordered_map<std::string, size_t> id;
  std::vector<std::string> names;
  auto name_id = [&](const std::string& s) {
    auto [it, fresh] = id.emplace(s, 0);
    if (fresh) {
      it->second = uf.add();
      names.push_back(s);
    }
    return it->second;
  };
  auto join_node = [&](const NodeProfile& n) {
    // The profiler fills an empty origin with the node's own name.
    const std::vector<std::string>& o = n.origin.empty() ? std::vector<std::string>{n.name} : n.origin;
    const size_t first = name_id(o.front());
    for (size_t k = 1; k < o.size(); ++k) uf.unite(name_id(o[k]), first);
    return first;
  };
  std::vector<size_t> a_root(c.a.nodes.size()), b_root(c.b.nodes.size());
  for (size_t i = 0; i < c.a.nodes.size(); ++i) a_root[i] = join_node(c.a.nodes[i]);
  for (size_t i = 0; i < c.b.nodes.size(); ++i) b_root[i] = join_node(c.b.nodes[i]);

  std::map<size_t, size_t> group_of;  // union-find root -> group index
  auto group_for = [&](size_t elem) -> CompareGroup& {
    const size_t root = uf.find(elem);
    auto [it, fresh] = group_of.emplace(root, c.groups.size());
    if (fresh) c.groups.emplace_back();
    return c.groups[it->second];
  };
  // B's order first: the optimized graph is what the user runs. A-only
  // groups (nodes B removed outright) follow in A's order.
  for (size_t i = 0; i < c.b.nodes.size(); ++i) {
    CompareGroup& g = group_for(b_root[i]);
    g.b.push_back(i);
    g.b_s += c.b.nodes[i].mean_s;
  }
  for (size_t i = 0; i < c.a.nodes.size(); ++i) {
    CompareGroup& g = group_for(a_root[i]);
    g.a.push_back(i);
    g.a_s += c.a.nodes[i].mean_s;
  }
  for (size_t k = 0; k < names.size(); ++k) {
    auto it = group_of.find(uf.find(k));
    if (it != group_of.end()) c.groups[it->second].origin.push_back(names[k]);
  }
  return c;
}

std::vector<size_t> ProfileComparison::losers() const {
  std::vector<size_t> r;
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].delta_s() > 0) r.push_back(i);
  std::stable_sort(r.begin(), r.end(), [&](size_t x, size_t y) { return groups[x].delta_s() > groups[y].delta_s(); });
  return r;
}

std::vector<size_t> ProfileComparison::winners() const {
  std::vector<size_t> r;
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].delta_s() < 0) r.push_back(i);
  std::stable_sort(r.begin(), r.end(), [&](size_t x, size_t y) { return groups[x].delta_s() < groups[y].delta_s(); });
  return r;
}

std::vector<ProfileComparison::Pattern> ProfileComparison::patterns() const {
  std::map<std::string, Pattern> m;
  for (const CompareGroup& g : groups) {
    const std::string name = (g.a.empty() ? "(none)" : ops_of(a, g.a)) + " -> " + (g.b.empty() ? "(removed)" : ops_of(b, g.b));
    Pattern& p = m[name];
    p.name = name;
    p.groups++;
    p.a_s += g.a_s;
    p.b_s += g.b_s;
  }
  std::vector<Pattern> r;
  for (auto& [k, p] : m) r.push_back(p);
  std::stable_sort(r.begin(), r.end(), [](const Pattern& x, const Pattern& y) { return x.b_s - x.a_s > y.b_s - y.a_s; });
  return r;
}

std::string comparison_to_text(const ProfileComparison& c, int top) {
  std::string o;
  auto config = [](const Profile& p) {
    return fmt::format("-O{}, {} thread{}, denormals {}, {} runs", p.opt_level, p.threads, p.threads == 1 ? "" : "s",
                       p.flush_denormals ? "flush" : "keep", p.iters);
  };
  o += fmt::format("A/B profile of {}\n  A = {:<28} ({})\n  B = {:<28} ({})\n", c.a.model.empty() ? "model" : c.a.model,
                   c.label_a, config(c.a), c.label_b, config(c.b));
  const double ra = c.a.run_mean_s(), rb = c.b.run_mean_s();
  const double na = c.a_nodes_s(), nb = c.b_nodes_s();
  o += fmt::format("end to end:   A {:10.3f} ms   B {:10.3f} ms   B/A {}{}\n", ra * 1e3, rb * 1e3, ratio_str(ra, rb),
                   rb > ra * 1.02 ? "  (B is slower)" : rb < ra * 0.98 ? "  (B is faster)" : "");
  o += fmt::format("sum of nodes: A {:10.3f} ms   B {:10.3f} ms   ({} nodes -> {} nodes, {} groups)\n", na * 1e3,
                   nb * 1e3, c.a.nodes.size(), c.b.nodes.size(), c.groups.size());
  const std::vector<size_t> losers = c.losers(), winners = c.winners();
  double lost = 0, won = 0;
  for (size_t i : losers) lost += c.groups[i].delta_s();
  for (size_t i : winners) won -= c.groups[i].delta_s();
  o += fmt::format("{} groups slower in B (+{:.3f} ms), {} faster (-{:.3f} ms)\n", losers.size(), lost * 1e3,
                   winners.size(), won * 1e3);

  o += fmt::format("\nby rewrite (A ops -> B ops), largest loss first:\n  {:<58} {:>6} {:>10} {:>10} {:>10} {:>7}\n",
                   "rewrite", "groups", "A ms", "B ms", "B-A ms", "B/A");
  for (const auto& p : c.patterns())
    o += fmt::format("  {:<58} {:>6} {:>10.3f} {:>10.3f} {:>+10.3f} {:>7}\n", shorten(p.name, 58), p.groups,
                     p.a_s * 1e3, p.b_s * 1e3, (p.b_s - p.a_s) * 1e3, ratio_str(p.a_s, p.b_s));

  auto rows = [&](const char* title, const std::vector<size_t>& idx) {
    if (idx.empty()) return;
    const size_t n = top > 0 ? std::min(idx.size(), static_cast<size_t>(top)) : idx.size();
    o += fmt::format("\n{} ({} of {}):\n  {:<30} {:<48} {:>10} {:>10} {:>10} {:>7}  {}\n", title, n, idx.size(),
                     "B node", "A ops -> B op", "A ms", "B ms", "B-A ms", "B/A", "A nodes");
    for (size_t r = 0; r < n; ++r) {
      const CompareGroup& g = c.groups[idx[r]];
      std::string a_names;
      for (size_t i : g.a) a_names += (a_names.empty() ? "" : ", ") + c.a.nodes[i].name;
      const std::string rewrite =
          (g.a.empty() ? "(none)" : ops_of(c.a, g.a)) + " -> " + (g.b.empty() ? "(removed)" : ops_of(c.b, g.b));
      o += fmt::format("  {:<30} {:<48} {:>10.3f} {:>10.3f} {:>+10.3f} {:>7}  {}\n", shorten(group_label(c, g), 30),
                       shorten(rewrite, 48), g.a_s * 1e3, g.b_s * 1e3, g.delta_s() * 1e3, ratio_str(g.a_s, g.b_s),
                       shorten(a_names, 50));
    }
  };
  rows("losers: slower in B, worst first", losers);
  rows("winners: faster in B, best first", winners);
  if (top > 0 && (losers.size() > static_cast<size_t>(top) || winners.size() > static_cast<size_t>(top)))
    o += fmt::format("  (--top 0 lists every group)\n");
  return o;
}

std::string comparison_to_json(const ProfileComparison& c) {
  using nlohmann::json;
  json groups = json::array();
  for (const CompareGroup& g : c.groups) {
    json an = json::array(), bn = json::array();
    for (size_t i : g.a) an.push_back(c.a.nodes[i].name);
    for (size_t i : g.b) bn.push_back(c.b.nodes[i].name);
    groups.push_back({{"a_nodes", an},
                      {"b_nodes", bn},
                      {"a_ops", g.a.empty() ? "" : ops_of(c.a, g.a)},
                      {"b_ops", g.b.empty() ? "" : ops_of(c.b, g.b)},
                      {"origin", g.origin},
                      {"a_ms", g.a_s * 1e3},
                      {"b_ms", g.b_s * 1e3},
                      {"delta_ms", g.delta_s() * 1e3}});
  }
  json patterns = json::array();
  for (const auto& p : c.patterns())
    patterns.push_back({{"rewrite", p.name}, {"groups", p.groups}, {"a_ms", p.a_s * 1e3}, {"b_ms", p.b_s * 1e3}});
  auto side = [](const std::string& label, const Profile& p) {
    return json{{"label", label},
                {"opt_level", p.opt_level},
                {"threads", p.threads},
                {"denormals", p.flush_denormals ? "flush" : "keep"},
                {"nodes", p.nodes.size()},
                {"run_mean_ms", p.run_mean_s() * 1e3},
                {"node_sum_mean_ms", p.node_sum_mean_s() * 1e3}};
  };
  json j = {{"model", c.a.model}, {"a", side(c.label_a, c.a)}, {"b", side(c.label_b, c.b)},
            {"groups", groups},   {"patterns", patterns}};
  return j.dump(1) + "\n";
}

}  // namespace anvil

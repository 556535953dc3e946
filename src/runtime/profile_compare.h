// Layer-by-layer A/B of two profiles of the same model under different
// configurations (opt levels, disabled passes, denormals, threads). Nodes
// do not correspond one to one: a fused node of B replaces several nodes of
// A. Every node names the original model nodes it stands for (Node::origin),
// so nodes of A and B that share an original node are grouped together and
// each group's time is compared: "these 3 nodes of A became this 1 node of
// B, which is 40x slower".
#pragma once
#include <string>
#include <vector>

#include "runtime/profiler.h"

namespace anvil {

struct CompareGroup {
  std::vector<size_t> a, b;         // node indices into each profile, execution order
  std::vector<std::string> origin;  // original nodes of the group, in first-seen order
  double a_s = 0, b_s = 0;          // sum of the members' mean times
  double delta_s() const { return b_s - a_s; }  // > 0: B is slower (a loser)
};

struct ProfileComparison {
  std::string label_a, label_b;  // e.g. "-O0", "-O3 --denormals keep"
  Profile a, b;
  std::vector<CompareGroup> groups;  // in B's execution order, A-only groups at their A position
  double a_nodes_s() const { return a.node_sum_mean_s(); }
  double b_nodes_s() const { return b.node_sum_mean_s(); }
  // Groups whose B time exceeds A's, worst first (and the reverse).
  std::vector<size_t> losers() const;
  std::vector<size_t> winners() const;
  // "Conv+BatchNormalization+Relu -> FusedConv": how each kind of rewrite
  // fared in total, worst (largest B - A) first.
  struct Pattern {
    std::string name;
    int groups = 0;
    double a_s = 0, b_s = 0;
  };
  std::vector<Pattern> patterns() const;
};

// Groups the nodes of `a` and `b` by shared original nodes (connected
// components of "shares an origin"). Profiles of different models give
// groups with one side empty; that is not an error.
ProfileComparison compare_profiles(Profile a, Profile b, std::string label_a, std::string label_b);

// The terminal view: totals, patterns, then the groups with the largest
// changes (`top` rows each for losers and winners; 0 = every group).
std::string comparison_to_text(const ProfileComparison& c, int top = 15);
std::string comparison_to_json(const ProfileComparison& c);

}  // namespace anvil

// Numerical check of the optimizer: one model compiled at two -O levels,
// run on the same input, outputs (and, per layer, every value the optimized
// graph computes) compared. Fused nodes keep the name of the last original
// value they replace, so a layer of the optimized graph is compared with
// the same-named value of the reference graph. When an output fails, the
// passes are re-enabled one by one to name the first that breaks it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "anvil/anvil.h"

namespace anvil {

struct LevelCheckOptions {
  int level_a = 0;  // the reference
  int level_b = 3;
  // threads, disable/enable passes and denormals for both sessions; its
  // opt_level is ignored.
  CompileOptions base;
  // Max |diff| / max |reference| per tensor. Folding reorders f32 rounding;
  // 1e-4 of a tensor's scale is far above that and below any real mistake.
  double tolerance = 1e-4;
  bool per_layer = false;
  bool bisect = true;  // when an output fails
};

struct TensorDiff {
  std::string name;
  double max_abs = 0, max_ref = 0, rel = 0;
  bool ok = true;
  std::string note;  // shape or dtype mismatch
};

struct LayerDiff {
  std::string node, op, value;
  std::vector<std::string> origin;  // original nodes the layer stands for
  TensorDiff diff;
};

struct LevelCheckReport {
  int level_a = 0, level_b = 3;
  double tolerance = 1e-4;
  std::vector<TensorDiff> outputs;
  std::vector<LayerDiff> layers;  // optimized graph's execution order
  int first_divergent = -1;       // index into layers, -1 if none
  // Bisection: the first pass (pipeline order) whose addition makes an
  // output fail, its worst output error and the first divergent layer then.
  std::string failing_pass;
  double failing_rel = 0;
  std::string failing_layer;
  std::vector<std::string> bisect_log;  // "+pass: rel ..." per step
  std::string optimization_report;      // level_b's
  bool ok = true;
  std::string to_text() const;
};

// `inputs` by name, for every model input.
Result<LevelCheckReport> check_levels(const Model& model, const std::map<std::string, Tensor>& inputs,
                                      const LevelCheckOptions& options);

// Max |a - b| against max |ref| of two tensors (ref = a).
TensorDiff compare_tensors(const std::string& name, const Tensor& ref, const Tensor& got, double tolerance);

}  // namespace anvil

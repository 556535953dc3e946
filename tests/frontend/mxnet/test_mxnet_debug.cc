#include <gtest/gtest.h>
#include <cmath>
#include "anvil/anvil.h"
#include "core/npy.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "test_paths.h"
namespace anvil {
TEST(MxDebug, RefVsExecutor) {
  const std::string dir = testing::shared_models_dir() + "/mxnet/mobilefacenet-gnap";
  auto input = read_npy(dir + "/ref/input_data_rgb_0_255.npy");
  auto m = Model::load(dir + "/model", {.shapes = {{"data", input->shape()}}});
  ASSERT_TRUE(m);
  Graph g = m->graph();
  ASSERT_TRUE(infer_shapes(g).is_ok());
  std::vector<Tensor> vals(g.num_values());
  for (size_t i = 0; i < g.num_values(); ++i) if (g.value(i).constant) vals[i] = *g.value(i).constant;
  vals[g.inputs[0]] = *input;
  std::vector<std::string> names;
  for (const Node& n : g.nodes()) {
    const OpDef* def = OpRegistry::instance().find(n.op);
    KernelContext k{n, {}, {}};
    std::vector<Tensor> outs;
    for (ValueId o : n.outputs) outs.emplace_back(g.value(o).dtype, g.value(o).shape);
    for (ValueId i : n.inputs) k.inputs.push_back(i == kNoValue ? nullptr : &vals[i]);
    for (auto& t : outs) k.outputs.push_back(&t);
    ASSERT_TRUE(def->reference(k).is_ok()) << n.name;
    for (size_t j = 0; j < n.outputs.size(); ++j) vals[n.outputs[j]] = outs[j];
    if (n.op == "Conv") names.push_back(g.value(n.outputs[0]).name);
  }
  auto s = m->compile({.extra_outputs = names});
  auto out = s->run({{"data", *input}});
  ASSERT_TRUE(out);
  for (const Node& n : g.nodes()) {
    if (n.op != "Conv") continue;
    const std::string nm = g.value(n.outputs[0]).name;
    const Tensor& a = out->at(nm); const Tensor& b = vals[n.outputs[0]];
    double md = 0, mx = 0;
    for (int64_t i = 0; i < a.numel(); ++i) { md = std::max(md, (double)std::fabs(a.data<float>()[i] - b.data<float>()[i])); mx = std::max(mx, (double)std::fabs(b.data<float>()[i])); }
    std::printf("%s %s %s maxdiff %g max %g\n", nm.c_str(), g.node_desc_with_shapes(n).c_str(), n.attrs.ints("strides").size() ? std::to_string(n.attrs.ints("strides")[0]).c_str() : "", md, mx);
  }
}
}

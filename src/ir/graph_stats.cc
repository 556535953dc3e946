#include "ir/graph_stats.h"

#include "ir/op_registry.h"

namespace anvil {

int64_t node_flops(const Graph& g, const Node& n) {
  const OpDef* def = OpRegistry::instance().find(n.op);
  if (!def || !def->flops) return 0;
  InferContext c = make_infer_context(g, n);
  for (size_t o = 0; o < n.outputs.size(); ++o) {
    if (n.outputs[o] == kNoValue) continue;
    const Value& v = g.value(n.outputs[o]);
    if (!v.has_type || !v.shape.is_static()) return -1;
    c.outputs[o] = {v.dtype, v.shape};
  }
  return def->flops(c);
}

GraphStats graph_stats(const Graph& g) {
  GraphStats s;
  s.parameters = g.num_parameters();
  int64_t flops = 0;
  for (const Node& n : g.nodes()) {
    s.op_histogram[n.op]++;
    const int64_t f = flops < 0 ? -1 : node_flops(g, n);
    flops = f < 0 ? -1 : flops + f;
  }
  s.flops = flops;
  return s;
}

}  // namespace anvil

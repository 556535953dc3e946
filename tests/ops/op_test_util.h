// Helpers for op unit tests: run one op through shape inference and its
// reference kernel, and compare results against hand-computed values.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "ir/attr.h"
#include "ir/graph.h"
#include "ir/op_registry.h"

namespace anvil::testing {

// Builds a one-node graph running `op` (see run_single_op_ex for the input
// conventions) without inferring shapes.
inline Status build_single_op_graph(Graph& g, const std::string& op, const std::vector<Tensor>& inputs, Attrs attrs,
                                    int num_outputs, const std::vector<bool>& as_graph_input = {}) {
  register_all_ops();
  if (OpRegistry::instance().find(op) == nullptr) return not_found("op '" + op + "' is not registered");
  g.name = "test_" + op;
  g.opset = 17;
  Node n;
  n.name = "test_node";
  n.op = op;
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined()) {
      n.inputs.push_back(kNoValue);
      continue;
    }
    const std::string name = "in" + std::to_string(i);
    if (i < as_graph_input.size() && as_graph_input[i]) {
      ValueId v = g.add_value(name, t.dtype(), t.shape());
      g.value(v).has_type = true;
      g.inputs.push_back(v);
      n.inputs.push_back(v);
    } else {
      n.inputs.push_back(g.add_initializer(name, t));
    }
  }
  // Trailing omitted inputs are simply absent, as in an ONNX node.
  while (!n.inputs.empty() && n.inputs.back() == kNoValue) n.inputs.pop_back();
  for (int i = 0; i < num_outputs; ++i) n.outputs.push_back(g.add_value("out" + std::to_string(i)));
  g.outputs = n.outputs;
  g.add_node(n);
  return Status::ok();
}

// FLOPs the op reports for these inputs (after shape inference).
inline Result<int64_t> single_op_flops(const std::string& op, std::vector<Tensor> inputs, Attrs attrs,
                                       int num_outputs = 1) {
  Graph g;
  ANVIL_TRY(build_single_op_graph(g, op, inputs, std::move(attrs), num_outputs));
  ANVIL_TRY(infer_shapes(g));
  InferContext ctx = make_infer_context(g, g.nodes()[0]);
  for (size_t o = 0; o < ctx.outputs.size(); ++o) {
    const Value& v = g.value(g.nodes()[0].outputs[o]);
    ctx.outputs[o] = {v.dtype, v.shape};
  }
  return OpRegistry::instance().find(op)->flops(ctx);
}

// Builds a one-node graph running `op`, infers shapes and runs the op's
// reference kernel. `inputs[i]` that are undefined (Tensor()) become omitted
// optional inputs. By default every input is an initializer (a compile-time
// constant); where `as_graph_input[i]` is true the input is a graph input
// instead, so the op sees only its dtype and shape during inference.
inline Result<std::vector<Tensor>> run_single_op_ex(const std::string& op, std::vector<Tensor> inputs,
                                                    Attrs attrs, int num_outputs,
                                                    const std::vector<bool>& as_graph_input) {
  Graph g;
  ANVIL_TRY(build_single_op_graph(g, op, inputs, std::move(attrs), num_outputs, as_graph_input));
  const OpDef* def = OpRegistry::instance().find(op);
  ANVIL_TRY(infer_shapes(g));

  const Node& node = g.nodes()[0];
  std::vector<Tensor> outs;
  outs.reserve(static_cast<size_t>(num_outputs));
  for (ValueId v : node.outputs) {
    const Value& val = g.value(v);
    if (!val.shape.is_static()) {
      return internal_error("output '" + val.name + "' has a non-static inferred shape " + val.shape.str());
    }
    outs.emplace_back(val.dtype, val.shape);
  }
  std::vector<const Tensor*> in_ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) in_ptrs.push_back(inputs[i].defined() ? &inputs[i] : nullptr);
  while (!in_ptrs.empty() && in_ptrs.back() == nullptr) in_ptrs.pop_back();
  std::vector<Tensor*> out_ptrs;
  for (Tensor& t : outs) out_ptrs.push_back(&t);
  KernelContext k{node, std::move(in_ptrs), std::move(out_ptrs)};
  ANVIL_TRY(def->reference(k));
  return outs;
}

// All inputs are constants (initializers).
inline Result<std::vector<Tensor>> run_single_op(const std::string& op, std::vector<Tensor> inputs,
                                                 Attrs attrs, int num_outputs = 1) {
  return run_single_op_ex(op, std::move(inputs), std::move(attrs), num_outputs, {});
}

// make_attrs({{"alpha", 0.1f}, {"axes", std::vector<int64_t>{1}}})
inline Attrs make_attrs(std::initializer_list<std::pair<std::string, AttrValue>> kv) {
  Attrs a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

// f32 tensor from values.
inline Tensor tf(Shape shape, const std::vector<float>& v) { return Tensor::from_vector<float>(std::move(shape), v); }
inline Tensor ti64(Shape shape, const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>(std::move(shape), v);
}

// Compares dtype-agnostically (values read as f32) with absolute+relative tolerance.
inline void expect_tensor_near(const Tensor& got, const std::vector<float>& want, const Shape& shape,
                               float tol = 1e-5f) {
  ASSERT_EQ(got.shape(), shape) << "got " << got.desc() << ", want shape " << shape.str();
  ASSERT_EQ(static_cast<size_t>(got.numel()), want.size()) << "expected-value count mismatch for " << got.desc();
  std::vector<float> g = got.to_f32_vector();
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float w = want[i];
    const bool ok = (std::isnan(w) && std::isnan(g[i])) || (std::isinf(w) && g[i] == w) ||
                    std::fabs(g[i] - w) <= tol * (1.0f + std::fabs(w));
    if (!ok && bad++ < 10) ADD_FAILURE() << "element " << i << ": got " << g[i] << ", want " << w;
  }
  EXPECT_EQ(bad, 0) << bad << " mismatching elements in " << got.desc();
}

// Asserts that `r` failed with `code` and that the message contains every
// string in `fragments`.
template <class T>
inline void expect_error(const Result<T>& r, StatusCode code, std::initializer_list<std::string> fragments = {}) {
  ASSERT_FALSE(r.is_ok()) << "expected failure with " << status_code_name(code);
  const Status s = r.status();
  EXPECT_EQ(s.code(), code) << s.to_string();
  for (const std::string& f : fragments) {
    EXPECT_NE(s.message().find(f), std::string::npos) << "message lacks '" << f << "': " << s.to_string();
  }
}

}  // namespace anvil::testing

// anvil's graph IR: values (SSA), nodes with typed attributes, initializers.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "ir/attr.h"

namespace anvil {

using ValueId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an omitted optional input

struct Value {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;              // may contain -1 before shapes are bound
  bool has_type = false;    // dtype/shape known (declared or inferred)
  // Symbolic names of dynamic dimensions as declared in the model ("batch").
  std::vector<std::string> dim_names;
  // Constant data: initializers, and values that shape inference could
  // compute from constants alone (shape arithmetic). Never aliased by runs.
  std::optional<Tensor> constant;
  bool is_initializer = false;  // a weight from the model file
  int32_t producer = -1;        // index of the producing node, -1 if none
  int32_t producer_output = 0;
};

struct Node {
  std::string name;
  std::string op;  // registered op name, e.g. "Conv"
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attrs attrs;
  // Names of the original model nodes this node stands for (after fusion).
  std::vector<std::string> origin;
};

class Graph {
 public:
  std::string name;
  std::string source;  // file the graph was loaded from, for error messages
  std::string producer;  // e.g. "pytorch 1.10" or "mxnet 10100"
  int64_t opset = 0;
  // Conversions the importer made that a user should know about
  // ("converted 52 f16 initializers to f32").
  std::vector<std::string> notes;

  // Values ------------------------------------------------------------------
  ValueId add_value(const std::string& name);
  ValueId add_value(const std::string& name, DType dtype, Shape shape);
  ValueId add_initializer(const std::string& name, Tensor t);
  Value& value(ValueId id) { return values_[static_cast<size_t>(id)]; }
  const Value& value(ValueId id) const { return values_[static_cast<size_t>(id)]; }
  size_t num_values() const { return values_.size(); }
  // Looks a value up by name; kNoValue when absent.
  ValueId find_value(const std::string& name) const;
  // A fresh value name derived from `base` that does not collide.
  std::string unique_value_name(const std::string& base) const;

  // Nodes -------------------------------------------------------------------
  // Appends a node; its outputs' producer links are set.
  int32_t add_node(Node n);
  std::vector<Node>& nodes() { return nodes_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  // Replaces all nodes (e.g. after a pass), relinking producers.
  void set_nodes(std::vector<Node> nodes);
  void relink();

  std::vector<ValueId> inputs;   // graph inputs (excluding initializers)
  std::vector<ValueId> outputs;

  // Orders nodes topologically (stable w.r.t. current order where possible).
  // Fails naming a node on a cycle or a value that is used but never defined.
  Status topo_sort();
  // Structural checks: SSA (one producer per value), every input defined
  // before use, ops registered, outputs produced. Does not infer shapes.
  Status verify() const;

  // "node 'conv1' (Conv)"
  std::string node_desc(const Node& n) const;
  // "node 'conv1' (Conv) with inputs x: f32[1x3x224x224], w: f32[64x3x7x7]"
  std::string node_desc_with_shapes(const Node& n) const;
  std::string value_desc(ValueId id) const;  // "x: f32[1x3x224x224]"

  int64_t num_parameters() const;  // elements in initializers

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, ValueId> by_name_;
};

// Binds input shapes (name -> dims), replacing dynamic dimensions. Binding a
// name that is not a graph input is an error listing the inputs.
Status bind_input_shapes(Graph& g, const std::unordered_map<std::string, Shape>& shapes);

// Infers dtype and shape of every value, in topological order, and computes
// constant values for nodes whose inputs are all constant and small (shape
// arithmetic such as Shape->Gather->Concat->Reshape). Errors name the node,
// op and input shapes.
Status infer_shapes(Graph& g);

}  // namespace anvil

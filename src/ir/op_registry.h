// Every op registers one OpDef: attribute validation + shape inference,
// FLOP count, and a plain-loop reference kernel.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"
#include "ir/graph.h"

namespace anvil {

// What shape inference sees of one input.
struct InputInfo {
  bool present = false;  // false for an omitted optional input
  DType dtype = DType::kF32;
  Shape shape;
  const Tensor* constant = nullptr;  // the value, when known at compile time
};

struct OutputInfo {
  DType dtype = DType::kF32;
  Shape shape;
};

struct InferContext {
  const Node& node;
  std::vector<InputInfo> inputs;
  std::vector<OutputInfo> outputs;  // sized to node.outputs; op fills them

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i].present; }
  const InputInfo& in(size_t i) const { return inputs[i]; }
  OutputInfo& out(size_t i) { return outputs[i]; }
};

// What a reference kernel gets. Outputs are allocated by the caller with the
// inferred dtype and shape; kernels write into them.
// Omitted optional outputs are nullptr in `outputs`: kernels must check
// before writing one (e.g. MaxPool's Indices).
struct KernelContext {
  const Node& node;
  std::vector<const Tensor*> inputs;  // nullptr for an omitted optional input
  std::vector<Tensor*> outputs;
  const Tensor& in(size_t i) const { return *inputs[i]; }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  Tensor& out(size_t i) { return *outputs[i]; }
};

struct OpDef {
  std::string name;
  int min_inputs = 1;
  int max_inputs = 1;   // -1: variadic
  int min_outputs = 1;
  int max_outputs = 1;  // -1: variadic
  // Validates attributes and input types, fills output dtypes/shapes.
  std::function<Status(InferContext&)> infer;
  // Floating-point operations (multiply and add count 2) for one run, given
  // inferred shapes. Zero for data movement.
  std::function<int64_t(const InferContext&)> flops;
  // The plain-loop reference implementation.
  std::function<Status(KernelContext&)> reference;
  // Cheap to evaluate at compile time on constant inputs (shape arithmetic).
  bool foldable = true;
  // The output depends only on input shapes, never on data (Shape): folded
  // whenever shapes are known. The reference then gets data-less inputs.
  bool reads_only_shapes = false;
};

class OpRegistry {
 public:
  static OpRegistry& instance();
  void add(OpDef def);
  const OpDef* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<OpDef> defs_;
};

struct OpRegistrar {
  explicit OpRegistrar(OpDef def) { OpRegistry::instance().add(std::move(def)); }
};

// Static registration in a static library is dropped by the linker unless
// something references the object file; each op file defines
// `void anvil_register_op_<Name>()` via ANVIL_REGISTER_OP and ops/all_ops.cc
// calls every one of them once.
#define ANVIL_REGISTER_OP(NAME, ...)                       \
  void anvil_register_op_##NAME() {                        \
    static ::anvil::OpRegistrar reg(__VA_ARGS__);          \
  }

// Ensures all built-in ops are registered (idempotent).
void register_all_ops();

// Builds an InferContext for node `n` of graph `g` from the current value info.
InferContext make_infer_context(const Graph& g, const Node& n);

}  // namespace anvil

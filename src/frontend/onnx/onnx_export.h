// Writes an anvil Graph as an ONNX model, so graphs anvil builds (the model
// zoo) or rewrites can be run by other engines such as ONNX Runtime.
#pragma once
#include <cstdint>
#include <string>

#include "anvil/status.h"
#include "ir/graph.h"

namespace anvil {

struct OnnxExportOptions {
  // Default-domain opset of the written model. The IR's canonical forms
  // (docs/ir-conventions.md) are expressible from 13 on.
  int64_t opset = 13;
  // Also write value_info for typed intermediate values.
  bool intermediate_value_info = false;
};

// ir_version 8; initializers carry raw_data. Graph inputs and outputs get
// value_info with dtype and shape (dynamic dimensions become dim_param from
// Value::dim_names, or unnamed); when an output has no type yet, shapes are
// inferred on a copy of the graph. IR forms ONNX cannot express at the opset
// are rewritten (Softmax legacy_2d becomes Flatten/Softmax/Reshape) or are an
// error naming the node.
Result<std::string> serialize_onnx(const Graph& g, const OnnxExportOptions& opts = {});
Status save_onnx(const Graph& g, const std::string& path, const OnnxExportOptions& opts = {});

}  // namespace anvil

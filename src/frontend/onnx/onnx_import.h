// ONNX -> anvil IR. Runs onnx's checker, converts initializers and
// attributes, and normalises opset-dependent forms (docs/ir-conventions.md).
#pragma once
#include <string>

#include "anvil/status.h"
#include "ir/graph.h"

namespace onnx {
class TensorProto;
}

namespace anvil {

inline constexpr int64_t kMinOnnxOpset = 7;
inline constexpr int64_t kMaxOnnxOpset = 17;
// Tensors of higher rank are refused on import (no CNN comes near it; a
// hostile file's thousand-dimension shape would cost every pass that walks it).
inline constexpr int kMaxOnnxRank = 32;

Result<Graph> load_onnx(const std::string& path);
// `name` is used in error messages in place of a path.
Result<Graph> parse_onnx(const std::string& bytes, const std::string& name);
// Converts a TensorProto (raw or typed data). f16/bf16 stay as they are;
// the importer converts them to f32 where it must.
Result<Tensor> tensor_from_proto(const onnx::TensorProto& t);
// ONNX TensorProto::DataType number -> anvil dtype; error names the type.
Result<DType> dtype_from_onnx(int onnx_type);
int dtype_to_onnx(DType t);

}  // namespace anvil

#include "frontend/onnx/onnx_import.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "core/file_bytes.h"
#include "core/tensor_alloc.h"
#include "ir/op_registry.h"

namespace anvil {

namespace {

const char* onnx_type_name(int t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return "FLOAT";
    case onnx::TensorProto::UINT8: return "UINT8";
    case onnx::TensorProto::INT8: return "INT8";
    case onnx::TensorProto::UINT16: return "UINT16";
    case onnx::TensorProto::INT16: return "INT16";
    case onnx::TensorProto::INT32: return "INT32";
    case onnx::TensorProto::INT64: return "INT64";
    case onnx::TensorProto::STRING: return "STRING";
    case onnx::TensorProto::BOOL: return "BOOL";
    case onnx::TensorProto::FLOAT16: return "FLOAT16";
    case onnx::TensorProto::DOUBLE: return "DOUBLE";
    case onnx::TensorProto::UINT32: return "UINT32";
    case onnx::TensorProto::UINT64: return "UINT64";
    case onnx::TensorProto::COMPLEX64: return "COMPLEX64";
    case onnx::TensorProto::COMPLEX128: return "COMPLEX128";
    case onnx::TensorProto::BFLOAT16: return "BFLOAT16";
    default: return "UNDEFINED";
  }
}

}  // namespace

Result<DType> dtype_from_onnx(int t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return DType::kF32;
    case onnx::TensorProto::FLOAT16: return DType::kF16;
    case onnx::TensorProto::BFLOAT16: return DType::kBF16;
    case onnx::TensorProto::DOUBLE: return DType::kF64;
    case onnx::TensorProto::INT8: return DType::kI8;
    case onnx::TensorProto::UINT8: return DType::kU8;
    case onnx::TensorProto::INT32: return DType::kI32;
    case onnx::TensorProto::INT64: return DType::kI64;
    case onnx::TensorProto::BOOL: return DType::kBool;
    default:
      return unsupported(std::string("ONNX data type ") + onnx_type_name(t) + " (" + std::to_string(t) +
                         ") is not supported (anvil supports FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT8, UINT8, "
                         "INT32, INT64, BOOL)");
  }
}

int dtype_to_onnx(DType t) {
  switch (t) {
    case DType::kF32: return onnx::TensorProto::FLOAT;
    case DType::kF16: return onnx::TensorProto::FLOAT16;
    case DType::kBF16: return onnx::TensorProto::BFLOAT16;
    case DType::kF64: return onnx::TensorProto::DOUBLE;
    case DType::kI8: return onnx::TensorProto::INT8;
    case DType::kU8: return onnx::TensorProto::UINT8;
    case DType::kI32: return onnx::TensorProto::INT32;
    case DType::kI64: return onnx::TensorProto::INT64;
    case DType::kBool: return onnx::TensorProto::BOOL;
  }
  return onnx::TensorProto::UNDEFINED;
}

Result<Tensor> tensor_from_proto(const onnx::TensorProto& tp) {
  const std::string what = "tensor '" + tp.name() + "'";
  if (tp.data_location() == onnx::TensorProto::EXTERNAL)
    return unsupported(what + " stores its data in an external file; anvil needs a self-contained model "
                              "(onnx.save_model(..., save_as_external_data=False))");
  if (tp.has_segment()) return unsupported(what + " is segmented");
  auto dtr = dtype_from_onnx(tp.data_type());
  if (!dtr) return dtr.status().with_context(what);
  const DType dt = *dtr;
  if (tp.dims_size() > kMaxOnnxRank)
    return invalid_model(what + " has rank " + std::to_string(tp.dims_size()) + ", over anvil's limit of " +
                         std::to_string(kMaxOnnxRank));
  std::vector<int64_t> dims;
  // Guard the element count: a hostile file can declare dims whose product
  // overflows or dwarfs the data actually present.
  int64_t numel = 1;
  for (int64_t d : tp.dims()) {
    if (d < 0) return invalid_model(what + " has a negative dimension " + std::to_string(d));
    if (d != 0 && numel > std::numeric_limits<int64_t>::max() / d)
      return invalid_model(what + " has dimensions whose product overflows");
    numel *= d;
    dims.push_back(d);
  }
  const size_t esz = dtype_size(dt);
  Shape shape(dims);
  auto count_error = [&](size_t have) {
    return invalid_model(what + " (" + dtype_name(dt) + "[" + shape.str() + "]) declares " + std::to_string(numel) +
                         " elements but holds " + std::to_string(have));
  };
  if (tp.has_raw_data()) {
    const std::string& raw = tp.raw_data();
    if (raw.size() != static_cast<size_t>(numel) * esz) {
      return invalid_model(what + " (" + dtype_name(dt) + "[" + shape.str() + "]) needs " +
                           std::to_string(static_cast<size_t>(numel) * esz) + " bytes of raw data but has " +
                           std::to_string(raw.size()));
    }
    Tensor t = tensor_for_overwrite(dt, shape);
    if (!raw.empty()) std::memcpy(t.raw(), raw.data(), raw.size());
    return t;
  }
  Tensor t(dt, shape);
  const size_t n = static_cast<size_t>(numel);
  switch (dt) {
    case DType::kF32:
      if (static_cast<size_t>(tp.float_data_size()) != n) return count_error(tp.float_data_size());
      for (size_t i = 0; i < n; ++i) t.data<float>()[i] = tp.float_data(static_cast<int>(i));
      break;
    case DType::kF64:
      if (static_cast<size_t>(tp.double_data_size()) != n) return count_error(tp.double_data_size());
      for (size_t i = 0; i < n; ++i) t.data<double>()[i] = tp.double_data(static_cast<int>(i));
      break;
    case DType::kI64:
      if (static_cast<size_t>(tp.int64_data_size()) != n) return count_error(tp.int64_data_size());
      for (size_t i = 0; i < n; ++i) t.data<int64_t>()[i] = tp.int64_data(static_cast<int>(i));
      break;
    case DType::kI32:
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
    case DType::kF16:
    case DType::kBF16:
      // ONNX stores these narrow types widened in int32_data (f16/bf16 as bit patterns).
      if (static_cast<size_t>(tp.int32_data_size()) != n) return count_error(tp.int32_data_size());
      for (size_t i = 0; i < n; ++i) {
        const int32_t v = tp.int32_data(static_cast<int>(i));
        switch (dt) {
          case DType::kI32: t.data<int32_t>()[i] = v; break;
          case DType::kI8: t.data<int8_t>()[i] = static_cast<int8_t>(v); break;
          case DType::kU8: t.data<uint8_t>()[i] = static_cast<uint8_t>(v); break;
          case DType::kBool: t.data<uint8_t>()[i] = v != 0; break;
          default: t.data<uint16_t>()[i] = static_cast<uint16_t>(v); break;
        }
      }
      break;
  }
  return t;
}

namespace {

struct Importer {
  // Mutable: each initializer's data is freed once it is a Tensor (the
  // model proto is the caller's scratch), so the weights are not held
  // twice while importing (ResNet-101: 170 MB).
  onnx::ModelProto& model;
  std::string source;
  Graph g;
  int64_t opset = 0;
  int f16_initializers = 0;
  int f16_io = 0;
  int constants = 0;
  std::map<std::string, std::vector<std::string>> unsupported_ops;  // op -> node names

  Status fail(Status s) { return std::move(s).with_context(source); }

  // Node inputs for canonical forms that ONNX older opsets gave as attributes.
  ValueId const_input(const std::string& base, Tensor t) {
    return g.add_initializer(g.unique_value_name(base), std::move(t));
  }

  Status convert_attr(const onnx::AttributeProto& a, Attrs& attrs, const std::string& where) {
    switch (a.type()) {
      case onnx::AttributeProto::FLOAT: attrs.set(a.name(), a.f()); break;
      case onnx::AttributeProto::INT: attrs.set(a.name(), static_cast<int64_t>(a.i())); break;
      case onnx::AttributeProto::STRING: attrs.set(a.name(), a.s()); break;
      case onnx::AttributeProto::FLOATS:
        attrs.set(a.name(), std::vector<float>(a.floats().begin(), a.floats().end()));
        break;
      case onnx::AttributeProto::INTS:
        attrs.set(a.name(), std::vector<int64_t>(a.ints().begin(), a.ints().end()));
        break;
      case onnx::AttributeProto::STRINGS:
        attrs.set(a.name(), std::vector<std::string>(a.strings().begin(), a.strings().end()));
        break;
      case onnx::AttributeProto::TENSOR: {
        auto t = tensor_from_proto(a.t());
        if (!t) return t.status().with_context(where + ": attribute '" + a.name() + "'");
        attrs.set(a.name(), std::move(t).value());
        break;
      }
      default:
        return unsupported(where + ": attribute '" + a.name() + "' has type " +
                           onnx::AttributeProto::AttributeType_Name(a.type()) + ", which anvil does not support");
    }
    return Status::ok();
  }

  Status convert_value_info(const onnx::ValueInfoProto& vi, bool is_io) {
    const std::string where = "graph " + std::string(is_io ? "input/output" : "value") + " '" + vi.name() + "'";
    if (!vi.type().has_tensor_type())
      return unsupported(where + " is not a tensor (sequence/map/optional types are not supported)");
    const auto& tt = vi.type().tensor_type();
    auto dt = dtype_from_onnx(tt.elem_type());
    if (!dt) return dt.status().with_context(where);
    DType d = *dt;
    if (d == DType::kF16 || d == DType::kBF16) {
      d = DType::kF32;  // anvil computes in f32; callers feed and get f32
      ++f16_io;
    }
    ValueId id = g.find_value(vi.name());
    if (id == kNoValue) id = g.add_value(vi.name());
    Value& v = g.value(id);
    v.dtype = d;
    v.has_type = tt.has_shape();
    std::vector<int64_t> dims;
    std::vector<std::string> names;
    if (tt.has_shape()) {
      if (tt.shape().dim_size() > kMaxOnnxRank)
        return invalid_model(where + " has rank " + std::to_string(tt.shape().dim_size()) + ", over anvil's limit of " +
                             std::to_string(kMaxOnnxRank));
      for (const auto& dim : tt.shape().dim()) {
        if (dim.has_dim_value() && dim.dim_value() >= 0) {
          dims.push_back(dim.dim_value());
          names.emplace_back();
        } else {
          dims.push_back(-1);
          names.push_back(dim.has_dim_param() ? dim.dim_param() : "");
        }
      }
    } else if (is_io) {
      return unsupported(where + " has no shape (unknown rank); anvil needs at least the rank");
    }
    v.shape = Shape(dims);
    v.dim_names = names;
    return Status::ok();
  }

  Status import_initializer(const onnx::TensorProto& tp) {
    auto t = tensor_from_proto(tp);
    if (!t) return t.status().with_context("initializer '" + tp.name() + "'");
    Tensor tensor = std::move(t).value();
    if (tensor.dtype() == DType::kF16 || tensor.dtype() == DType::kBF16) {
      tensor = tensor.cast(DType::kF32);
      ++f16_initializers;
    }
    if (g.find_value(tp.name()) != kNoValue)
      return invalid_model("initializer '" + tp.name() + "' is defined twice");
    g.add_initializer(tp.name(), std::move(tensor));
    return Status::ok();
  }

  // Rewrites opset-dependent forms into the canonical IR (docs/ir-conventions.md).
  Status canonicalize(Node& n) {
    const std::string where = g.node_desc(n);
    auto ints_to_input = [&](const char* attr, size_t slot) {
      if (!n.attrs.has(attr)) return;
      std::vector<int64_t> v = n.attrs.ints(attr);
      n.attrs.erase(attr);
      if (n.inputs.size() <= slot) n.inputs.resize(slot + 1, kNoValue);
      n.inputs[slot] = const_input(n.name + "." + attr,
                                   Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(v.size())}, v));
    };
    const std::string& op = n.op;
    if (op == "Clip" && opset < 11) {
      n.inputs.resize(3, kNoValue);
      if (n.attrs.has("min")) n.inputs[1] = const_input(n.name + ".min", Tensor::scalar<float>(n.attrs.f("min", 0)));
      if (n.attrs.has("max")) n.inputs[2] = const_input(n.name + ".max", Tensor::scalar<float>(n.attrs.f("max", 0)));
      n.attrs.erase("min");
      n.attrs.erase("max");
      while (!n.inputs.empty() && n.inputs.back() == kNoValue) n.inputs.pop_back();
    } else if (op == "Split" && opset < 13) {
      ints_to_input("split", 1);
    } else if ((op == "Squeeze" || op == "Unsqueeze") && opset < 13) {
      ints_to_input("axes", 1);
    } else if (op == "Slice" && opset < 10) {
      std::vector<int64_t> starts = n.attrs.ints("starts"), ends = n.attrs.ints("ends");
      const bool has_axes = n.attrs.has("axes");
      ints_to_input("starts", 1);
      ints_to_input("ends", 2);
      if (has_axes) ints_to_input("axes", 3);
      (void)starts;
      (void)ends;
    } else if (op == "Pad" && opset < 11) {
      ints_to_input("pads", 1);
      if (n.attrs.has("value")) {
        n.inputs.resize(3, kNoValue);
        n.inputs[2] = const_input(n.name + ".value", Tensor::scalar<float>(n.attrs.f("value", 0)));
        n.attrs.erase("value");
      }
    } else if (op == "Softmax" || op == "LogSoftmax") {
      if (opset < 13) {
        n.attrs.set("axis", n.attrs.i("axis", 1));
        n.attrs.set("legacy_2d", int64_t{1});
      } else {
        n.attrs.set("axis", n.attrs.i("axis", -1));
      }
    } else if (op == "Cast") {
      int64_t to = 0;
      ANVIL_TRY(n.attrs.require("to", to));
      auto dt = dtype_from_onnx(static_cast<int>(to));
      if (!dt) return dt.status().with_context(where + ": attribute 'to'");
      n.attrs.set("to", std::string(dtype_name(*dt)));
    } else if (op == "BatchNormalization") {
      size_t real_outputs = 0;
      for (ValueId o : n.outputs) real_outputs += o != kNoValue;
      if (real_outputs > 1 || n.attrs.i("training_mode", 0) != 0)
        return unsupported(where + ": training mode (mean/var outputs) is not supported; anvil runs inference only");
      n.outputs.resize(1);
    } else if (op == "Dropout") {
      if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
        const Value& tm = g.value(n.inputs[2]);
        if (!tm.constant)
          return unsupported(where + ": a run-time 'training_mode' input is not supported; anvil runs inference only");
        if (tm.constant->to_i64_vector().at(0) != 0)
          return unsupported(where + ": training_mode=true is not supported; anvil runs inference only");
      }
    }
    return Status::ok();
  }

  Status import_node(const onnx::NodeProto& np, size_t index) {
    Node n;
    n.op = np.op_type();
    n.name = np.name().empty() ? n.op + "_" + std::to_string(index) : np.name();
    n.origin.push_back(n.name);
    const std::string where = "node '" + n.name + "' (" + n.op + ")";
    if (!np.domain().empty() && np.domain() != "ai.onnx")
      return unsupported(where + " is from operator domain '" + np.domain() +
                         "'; anvil supports only the default ONNX domain");
    for (const auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty()) return unsupported(where + ": attribute references are not supported");
      ANVIL_TRY(convert_attr(a, n.attrs, where));
    }
    for (const std::string& in : np.input()) {
      if (in.empty()) {
        n.inputs.push_back(kNoValue);
        continue;
      }
      const ValueId id = g.find_value(in);
      // Inputs defined by later nodes get their value now; topo_sort orders them.
      n.inputs.push_back(id == kNoValue ? g.add_value(in) : id);
    }
    for (const std::string& out : np.output()) {
      if (out.empty()) {
        n.outputs.push_back(kNoValue);
        continue;
      }
      ValueId id = g.find_value(out);
      if (id != kNoValue && (g.value(id).constant || g.value(id).producer >= 0))
        return invalid_model(where + ": output '" + out + "' is already defined by another node or initializer");
      if (id == kNoValue) id = g.add_value(out);
      n.outputs.push_back(id);
    }
    while (!n.outputs.empty() && n.outputs.back() == kNoValue) n.outputs.pop_back();

    if (n.op == "Constant") {
      if (n.outputs.size() != 1) return invalid_model(where + " must have exactly one output");
      Tensor t;
      const auto& am = n.attrs;
      if (am.has("value")) {
        ANVIL_TRY(am.get("value", t));
      } else if (am.has("value_float")) {
        t = Tensor::scalar<float>(am.f("value_float", 0));
      } else if (am.has("value_int")) {
        t = Tensor::scalar<int64_t>(am.i("value_int", 0));
      } else if (am.has("value_floats")) {
        std::vector<float> v;
        ANVIL_TRY(am.get("value_floats", v));
        t = Tensor::from_vector<float>(Shape{static_cast<int64_t>(v.size())}, v);
      } else if (am.has("value_ints")) {
        std::vector<int64_t> v = am.ints("value_ints");
        t = Tensor::from_vector<int64_t>(Shape{static_cast<int64_t>(v.size())}, v);
      } else {
        return unsupported(where + ": only value, value_float(s) and value_int(s) constants are supported");
      }
      if (t.dtype() == DType::kF16 || t.dtype() == DType::kBF16) t = t.cast(DType::kF32);
      Value& v = g.value(n.outputs[0]);
      v.constant = t;
      v.dtype = t.dtype();
      v.shape = t.shape();
      v.has_type = true;
      v.is_initializer = true;
      ++constants;
      return Status::ok();
    }
    if (!OpRegistry::instance().find(n.op)) {
      unsupported_ops[n.op].push_back(n.name);
      return Status::ok();
    }
    ANVIL_TRY(canonicalize(n));
    g.add_node(std::move(n));
    return Status::ok();
  }

  Status run() {
    register_all_ops();
    g.source = source;
    g.name = model.graph().name();
    g.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
    for (const auto& os : model.opset_import()) {
      if (os.domain().empty() || os.domain() == "ai.onnx") opset = os.version();
    }
    if (opset == 0) {
      std::string domains;
      for (const auto& os : model.opset_import()) domains += (domains.empty() ? "" : ", ") + os.domain();
      if (!domains.empty())
        return unsupported("the model uses only operator domains " + domains +
                           "; anvil supports the default ONNX domain");
      return invalid_model("the model imports no ONNX opset");
    }
    if (opset < kMinOnnxOpset || opset > kMaxOnnxOpset)
      return unsupported("ONNX opset " + std::to_string(opset) + " is not supported (anvil supports opsets " +
                         std::to_string(kMinOnnxOpset) + " to " + std::to_string(kMaxOnnxOpset) + ")");
    g.opset = opset;
    const auto& gp = model.graph();
    for (int i = 0; i < gp.initializer_size(); ++i) {
      ANVIL_TRY(import_initializer(gp.initializer(i)));
      onnx::TensorProto done;
      done.Swap(model.mutable_graph()->mutable_initializer(i));  // its bytes go with `done`
    }
    if (gp.sparse_initializer_size() > 0) return unsupported("sparse initializers are not supported");
    for (const auto& in : gp.input()) {
      const ValueId existing = g.find_value(in.name());
      if (existing != kNoValue && g.value(existing).is_initializer) continue;  // IR<4 lists weights as inputs
      ANVIL_TRY(convert_value_info(in, true));
      g.inputs.push_back(g.find_value(in.name()));
    }
    for (int i = 0; i < gp.node_size(); ++i) ANVIL_TRY(import_node(gp.node(i), static_cast<size_t>(i)));
    if (!unsupported_ops.empty()) {
      std::string msg = "unsupported op" + std::string(unsupported_ops.size() > 1 ? "s" : "") + ": ";
      bool first = true;
      for (const auto& [op, nodes] : unsupported_ops) {
        if (!first) msg += "; ";
        first = false;
        msg += op + " (" + std::to_string(nodes.size()) + " node" + (nodes.size() > 1 ? "s" : "") + ", first '" +
               nodes[0] + "')";
      }
      return unsupported(msg);
    }
    for (const auto& out : gp.output()) {
      const ValueId id = g.find_value(out.name());
      if (id == kNoValue) return invalid_model("graph output '" + out.name() + "' is never produced");
      g.outputs.push_back(id);
    }
    ANVIL_TRY(g.topo_sort());
    ANVIL_TRY(g.verify());
    if (f16_initializers > 0)
      g.notes.push_back("converted " + std::to_string(f16_initializers) + " f16/bf16 initializers to f32");
    if (f16_io > 0)
      g.notes.push_back("f16/bf16 graph inputs/outputs are computed and exchanged as f32 (" +
                        std::to_string(f16_io) + " tensors)");
    return Status::ok();
  }
};

}  // namespace

namespace {

// A parsed model into the IR; `model` is consumed (its initializers' data
// freed as they are converted).
Result<Graph> import_model(onnx::ModelProto& model, const std::string& name) {
  // Before the checker, which would look for the data file relative to the
  // process's working directory and report that instead.
  for (const auto& init : model.graph().initializer())
    if (init.data_location() == onnx::TensorProto::EXTERNAL) {
      auto t = tensor_from_proto(init);
      return t.status().with_context(name + ": initializer '" + init.name() + "'");
    }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string what = e.what();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    return invalid_model(name + ": the ONNX checker rejected the model: " + what);
  }
  Importer imp{model, name, {}};
  Status s = imp.run();
  if (!s.is_ok()) return std::move(s).with_context(name);
  return std::move(imp.g);
}

Status parse_error(const std::string& name, size_t bytes) {
  return invalid_model(name + ": not a valid ONNX model (protobuf parsing failed; " + std::to_string(bytes) + " bytes)");
}

}  // namespace

Result<Graph> parse_onnx(const std::string& bytes, const std::string& name) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) return parse_error(name, bytes.size());
  return import_model(model, name);
}

Result<Graph> load_onnx(const std::string& path) {
  ANVIL_ASSIGN_OR_RETURN(MappedFile bytes, map_file_bytes(path));
  onnx::ModelProto model;
  const size_t n = bytes.size();
  if (n > static_cast<size_t>(std::numeric_limits<int>::max())) return parse_error(path, n);
  const bool parsed = model.ParseFromArray(bytes.data(), static_cast<int>(n));
  bytes = MappedFile();  // unmapped before the import copies the weights out of the message
  if (!parsed) return parse_error(path, n);
  return import_model(model, path);
}

}  // namespace anvil

#include "frontend/onnx/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_set>

namespace anvil {
namespace {

// Opset 18 moves the axes of most Reduce* ops to inputs and changes Split
// and Pad; the IR's canonical forms are those of 13..17.
constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 17;

int onnx_elem_type(DType t) {
  switch (t) {
    case DType::kF32: return onnx::TensorProto_DataType_FLOAT;
    case DType::kF16: return onnx::TensorProto_DataType_FLOAT16;
    case DType::kBF16: return onnx::TensorProto_DataType_BFLOAT16;
    case DType::kF64: return onnx::TensorProto_DataType_DOUBLE;
    case DType::kI8: return onnx::TensorProto_DataType_INT8;
    case DType::kU8: return onnx::TensorProto_DataType_UINT8;
    case DType::kI32: return onnx::TensorProto_DataType_INT32;
    case DType::kI64: return onnx::TensorProto_DataType_INT64;
    case DType::kBool: return onnx::TensorProto_DataType_BOOL;
  }
  return onnx::TensorProto_DataType_UNDEFINED;
}

void fill_tensor(const Tensor& t, onnx::TensorProto* p) {
  for (int64_t d : t.shape().dims()) p->add_dims(d);
  p->set_data_type(onnx_elem_type(t.dtype()));
  if (t.nbytes() == 0) {
    p->set_raw_data(std::string());
  } else {
    p->set_raw_data(t.raw(), t.nbytes());
  }
}

bool is_reduce_with_axes_attr(const std::string& op) {
  // ReduceSum took its axes as an input already at opset 13.
  static const char* const kOps[] = {"ReduceMean", "ReduceMax",  "ReduceMin",       "ReduceProd",
                                     "ReduceL1",   "ReduceL2",   "ReduceLogSum",    "ReduceLogSumExp",
                                     "ReduceSumSquare"};
  for (const char* o : kOps)
    if (op == o) return true;
  return false;
}

class Exporter {
 public:
  Exporter(const Graph& g, const OnnxExportOptions& opts) : g_(g), opts_(opts) {
    names_.resize(g.num_values());
    for (size_t i = 0; i < g.num_values(); ++i) {
      const std::string& n = g.value(static_cast<ValueId>(i)).name;
      names_[i] = (n.empty() || used_names_.count(n)) ? fresh("value_" + std::to_string(i)) : n;
      used_names_.insert(names_[i]);
    }
  }

  Status run(onnx::ModelProto& m) {
    m.set_ir_version(8);
    m.set_producer_name("anvil");
    auto* opset = m.add_opset_import();
    opset->set_domain("");
    opset->set_version(opts_.opset);
    onnx::GraphProto* gp = m.mutable_graph();
    gp->set_name(g_.name.empty() ? "anvil" : g_.name);

    used_.assign(g_.num_values(), false);
    for (const Node& n : g_.nodes()) ANVIL_TRY(add_node(n, gp));

    std::vector<bool> is_input(g_.num_values(), false);
    for (ValueId in : g_.inputs) {
      is_input[static_cast<size_t>(in)] = true;
      ANVIL_TRY(value_info(in, gp->add_input()));
    }
    for (ValueId out : g_.outputs) {
      used_[static_cast<size_t>(out)] = true;
      ANVIL_TRY(value_info(out, gp->add_output()));
    }
    for (size_t i = 0; i < used_.size(); ++i) {
      const Value& v = g_.value(static_cast<ValueId>(i));
      if (!used_[i] || is_input[i] || v.producer >= 0) continue;
      if (!v.constant)
        return invalid_model("value '" + v.name + "' is used but is not a graph input, an initializer or a node output");
      onnx::TensorProto* t = gp->add_initializer();
      t->set_name(names_[i]);
      fill_tensor(*v.constant, t);
    }
    if (opts_.intermediate_value_info) {
      std::vector<bool> is_output(g_.num_values(), false);
      for (ValueId out : g_.outputs) is_output[static_cast<size_t>(out)] = true;
      for (size_t i = 0; i < used_.size(); ++i) {
        const Value& v = g_.value(static_cast<ValueId>(i));
        if (v.producer >= 0 && v.has_type && !is_output[i])
          ANVIL_TRY(value_info(static_cast<ValueId>(i), gp->add_value_info()));
      }
    }
    return Status::ok();
  }

 private:
  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int k = 1; used_names_.count(n) || g_.find_value(n) != kNoValue; ++k) n = base + "_" + std::to_string(k);
    used_names_.insert(n);
    return n;
  }

  const std::string& use(ValueId id) {
    used_[static_cast<size_t>(id)] = true;
    return names_[static_cast<size_t>(id)];
  }

  Status value_info(ValueId id, onnx::ValueInfoProto* vi) {
    const Value& v = g_.value(id);
    vi->set_name(names_[static_cast<size_t>(id)]);
    if (!v.has_type) return internal_error("value '" + v.name + "' has no type to export");
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_elem_type(v.dtype));
    auto* shape = tt->mutable_shape();
    for (size_t d = 0; d < v.shape.rank(); ++d) {
      auto* dim = shape->add_dim();
      if (v.shape[d] >= 0) {
        dim->set_dim_value(v.shape[d]);
      } else if (d < v.dim_names.size() && !v.dim_names[d].empty()) {
        dim->set_dim_param(v.dim_names[d]);
      }
    }
    return Status::ok();
  }

  void set_io(const Node& n, onnx::NodeProto* np, size_t num_inputs) {
    size_t last = 0;  // trailing omitted optional inputs are left out
    for (size_t i = 0; i < num_inputs; ++i)
      if (n.inputs[i] != kNoValue) last = i + 1;
    for (size_t i = 0; i < last; ++i) np->add_input(n.inputs[i] == kNoValue ? std::string() : use(n.inputs[i]));
    for (ValueId out : n.outputs) np->add_output(out == kNoValue ? std::string() : names_[static_cast<size_t>(out)]);
  }

  Status add_node(const Node& n, onnx::GraphProto* gp) {
    const std::string& op = n.op;
    if ((op == "Softmax" || op == "LogSoftmax") && n.attrs.i("legacy_2d", 0) != 0) return add_legacy_softmax(n, gp);

    onnx::NodeProto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(op);
    size_t num_inputs = n.inputs.size();
    if (is_reduce_with_axes_attr(op) && num_inputs >= 2 && opts_.opset < 18) {
      // The opset-18 form (axes as an input) back to the attribute.
      if (n.inputs[1] != kNoValue) {
        const Value& axes = g_.value(n.inputs[1]);
        if (!axes.constant)
          return unsupported(g_.node_desc(n) + ": axes input '" + axes.name +
                             "' is not constant, which ONNX opset " + std::to_string(opts_.opset) + " cannot express");
        auto* a = np->add_attribute();
        a->set_name("axes");
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t x : axes.constant->to_i64_vector()) a->add_ints(x);
      }
      num_inputs = 1;
    }
    set_io(n, np, num_inputs);

    for (const auto& [name, v] : n.attrs.all()) {
      const std::string ctx = g_.node_desc(n) + ": attribute '" + name + "'";
      if (op == "Cast" && name == "to") {
        if (const auto* s = std::get_if<std::string>(&v)) {
          auto t = dtype_from_name(*s);
          if (!t) return invalid_model(ctx + ": unknown dtype '" + *s + "'");
          add_int(np, name, onnx_elem_type(*t));
          continue;
        }
      }
      if (name == "legacy_2d" && (op == "Softmax" || op == "LogSoftmax")) continue;  // 0 here
      if (op == "BatchNormalization" && (name == "spatial" || name == "training_mode")) {
        // Inference-only defaults that opset 13 no longer (or not yet) knows.
        const int64_t want = name == "spatial" ? 1 : 0;
        if (n.attrs.i(name, want) != want)
          return unsupported(ctx + " = " + attr_to_string(v) + " cannot be exported");
        continue;
      }
      if (is_reduce_with_axes_attr(op) && name == "noop_with_empty_axes" && opts_.opset < 18) {
        if (n.attrs.i(name, 0) != 0) return unsupported(ctx + " = 1 needs ONNX opset 18");
        continue;
      }
      if (op == "Reshape" && name == "allowzero" && opts_.opset < 14) {
        if (n.attrs.i(name, 0) != 0) return unsupported(ctx + " = 1 needs ONNX opset 14");
        continue;
      }
      if (op == "Shape" && (name == "start" || name == "end") && opts_.opset < 15) {
        if (name == "start" && n.attrs.i(name, 0) == 0) continue;
        return unsupported(ctx + " needs ONNX opset 15");
      }
      ANVIL_TRY(add_attr(np, name, v));
    }
    return Status::ok();
  }

  // Opset<13 Softmax coerces the input to 2-D at `axis`; newer opsets
  // normalise along `axis` alone. Where the two differ, spell the old
  // semantics out so no shape knowledge is needed:
  // Reshape(Softmax(Flatten(x, axis), -1), Shape(x)).
  Status add_legacy_softmax(const Node& n, onnx::GraphProto* gp) {
    int64_t axis = n.attrs.i("axis", 1);
    const ValueId x = n.inputs.empty() ? kNoValue : n.inputs[0];
    if (x == kNoValue || n.outputs.size() != 1 || n.outputs[0] == kNoValue)
      return invalid_model(g_.node_desc(n) + " must have one input and one output");
    const Value& xv = g_.value(x);
    const std::string& out = names_[static_cast<size_t>(n.outputs[0])];
    if (xv.has_type) {
      const int64_t rank = static_cast<int64_t>(xv.shape.rank());
      if (axis < 0) axis += rank;
      if (axis == rank - 1) {  // the same computation in both semantics
        onnx::NodeProto* np = gp->add_node();
        np->set_name(n.name);
        np->set_op_type(n.op);
        set_io(n, np, 1);
        add_int(np, "axis", axis);
        return Status::ok();
      }
    }
    const std::string flat = fresh(out + "_2d_in"), flat_out = fresh(out + "_2d"), shape = fresh(out + "_shape");
    auto node = [&](const std::string& name, const char* op, std::vector<std::string> ins, const std::string& o) {
      onnx::NodeProto* np = gp->add_node();
      np->set_name(name);
      np->set_op_type(op);
      for (auto& i : ins) np->add_input(i);
      np->add_output(o);
      return np;
    };
    const std::string& xin = use(x);
    add_int(node(n.name + "/flatten", "Flatten", {xin}, flat), "axis", axis);
    add_int(node(n.name, n.op.c_str(), {flat}, flat_out), "axis", -1);
    node(n.name + "/shape", "Shape", {xin}, shape);
    node(n.name + "/reshape", "Reshape", {flat_out, shape}, out);
    return Status::ok();
  }

  static void add_int(onnx::NodeProto* np, const std::string& name, int64_t v) {
    auto* a = np->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }

  static Status add_attr(onnx::NodeProto* np, const std::string& name, const AttrValue& v) {
    auto* a = np->add_attribute();
    a->set_name(name);
    if (const auto* p = std::get_if<int64_t>(&v)) {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(*p);
    } else if (const auto* p = std::get_if<float>(&v)) {
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(*p);
    } else if (const auto* p = std::get_if<std::string>(&v)) {
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(*p);
    } else if (const auto* p = std::get_if<std::vector<int64_t>>(&v)) {
      a->set_type(onnx::AttributeProto::INTS);
      for (int64_t x : *p) a->add_ints(x);
    } else if (const auto* p = std::get_if<std::vector<float>>(&v)) {
      a->set_type(onnx::AttributeProto::FLOATS);
      for (float x : *p) a->add_floats(x);
    } else if (const auto* p = std::get_if<std::vector<std::string>>(&v)) {
      a->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& x : *p) a->add_strings(x);
    } else if (const auto* p = std::get_if<Tensor>(&v)) {
      a->set_type(onnx::AttributeProto::TENSOR);
      fill_tensor(*p, a->mutable_t());
    } else {
      return internal_error("attribute '" + name + "' has an unknown type");
    }
    return Status::ok();
  }

  const Graph& g_;
  const OnnxExportOptions& opts_;
  std::vector<std::string> names_;  // ONNX name of each value id
  std::unordered_set<std::string> used_names_;
  std::vector<bool> used_;  // value ids referenced by exported nodes or outputs
};

}  // namespace

Result<std::string> serialize_onnx(const Graph& g, const OnnxExportOptions& opts) {
  if (opts.opset < kMinOpset || opts.opset > kMaxOpset)
    return unsupported("cannot export ONNX opset " + std::to_string(opts.opset) + " (supported: " +
                       std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  const Graph* src = &g;
  std::optional<Graph> typed;
  bool untyped = false;
  for (ValueId id : g.inputs) untyped |= !g.value(id).has_type;
  for (ValueId id : g.outputs) untyped |= !g.value(id).has_type;
  if (untyped) {
    typed = g;
    Status s = infer_shapes(*typed);
    if (!s) return std::move(s).with_context("cannot export: the graph's outputs have no types");
    src = &*typed;
  }
  onnx::ModelProto m;
  ANVIL_TRY(Exporter(*src, opts).run(m));
  const size_t size = m.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX))
    return out_of_range("the ONNX model would be " + std::to_string(size) +
                        " bytes; protobuf cannot write more than 2 GiB in one message");
  std::string out;
  if (!m.SerializeToString(&out)) return internal_error("protobuf failed to serialize the ONNX model");
  return out;
}

Status save_onnx(const Graph& g, const std::string& path, const OnnxExportOptions& opts) {
  ANVIL_ASSIGN_OR_RETURN(std::string bytes, serialize_onnx(g, opts));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return io_error("cannot create '" + path + "': " + std::strerror(errno));
  const bool wrote = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !wrote)
    return io_error("cannot write '" + path + "': " + std::strerror(wrote ? errno : err));
  return Status::ok();
}

}  // namespace anvil

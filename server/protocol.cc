#include "server/protocol.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/json_depth.h"

namespace anvil::serve {

using json = nlohmann::json;

const char* v2_datatype(DType t) {
  switch (t) {
    case DType::kF32: return "FP32";
    case DType::kF16: return "FP16";
    case DType::kBF16: return "BF16";
    case DType::kF64: return "FP64";
    case DType::kI8: return "INT8";
    case DType::kU8: return "UINT8";
    case DType::kI32: return "INT32";
    case DType::kI64: return "INT64";
    case DType::kBool: return "BOOL";
  }
  return "UNKNOWN";
}

std::optional<DType> dtype_from_v2(std::string_view name) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8, DType::kU8, DType::kI32,
                  DType::kI64, DType::kBool})
    if (name == v2_datatype(t)) return t;
  return std::nullopt;
}

namespace {

// Messages quote request bytes; dump() would throw on invalid UTF-8.
std::string quote(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

std::string shape_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(d[i]);
  }
  return s + "]";
}

Result<size_t> parse_header_length(std::string_view v, size_t body_size) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size())
    return invalid_argument("Inference-Header-Content-Length " + quote(std::string(v)) +
                            " is not a non-negative integer");
  if (n > body_size)
    return invalid_argument("Inference-Header-Content-Length " + std::to_string(n) + " exceeds the body size " +
                            std::to_string(body_size));
  if (n == 0) return invalid_argument("Inference-Header-Content-Length is 0: the request needs a JSON header");
  return static_cast<size_t>(n);
}

// Leaves of a flat or nested "data" array, counted before anything is
// allocated for them. Depth is bounded by check_json_depth.
Status count_leaves(const json& j, int64_t& n) {
  if (!j.is_array()) {
    ++n;
    return Status::ok();
  }
  for (const json& e : j) ANVIL_TRY(count_leaves(e, n));
  return Status::ok();
}

template <class T>
Status convert_element(const json& e, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!e.is_boolean()) return invalid_argument("expected true or false, got " + e.dump());
    out = e.get<bool>();
    return Status::ok();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!e.is_number()) return invalid_argument("expected a number, got " + quote(e.dump()));
    const double d = e.get<double>();
    if (std::is_same_v<T, float> && std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
      return invalid_argument(e.dump() + " is out of range for FP32");
    out = static_cast<T>(d);
    return Status::ok();
  } else {
    if (e.is_number_unsigned()) {
      const uint64_t v = e.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return invalid_argument(std::to_string(v) + " is out of range");
      out = static_cast<T>(v);
      return Status::ok();
    }
    if (e.is_number_integer()) {
      const int64_t v = e.get<int64_t>();
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
        return invalid_argument(std::to_string(v) + " is out of range");
      out = static_cast<T>(v);
      return Status::ok();
    }
    if (e.is_number_float()) {
      const double d = e.get<double>();
      // 3.0 is an integer written by a float-minded client; 3.5 is a mistake.
      // max() + 1.0 is a power of two, exact in a double even for 64 bits.
      if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(std::numeric_limits<T>::min()) ||
          d >= static_cast<double>(std::numeric_limits<T>::max()) + 1.0)
        return invalid_argument(e.dump() + " is not an integer in range");
      out = static_cast<T>(d);
      return Status::ok();
    }
    return invalid_argument("expected an integer, got " + quote(e.dump()));
  }
}

template <class T, class Store>
Status fill_from_json(const json& j, Store* dst, int64_t& i) {
  if (j.is_array()) {
    for (const json& e : j) ANVIL_TRY(fill_from_json<T>(e, dst, i));
    return Status::ok();
  }
  T v{};
  Status s = convert_element<T>(j, v);
  if (!s.is_ok()) return std::move(s).with_context("data[" + std::to_string(i) + "]");
  if constexpr (std::is_same_v<T, bool>) dst[i] = v ? 1 : 0;
  else dst[i] = v;
  ++i;
  return Status::ok();
}

Status fill_tensor(const json& data, Tensor& t) {
  int64_t i = 0;
  switch (t.dtype()) {
    case DType::kF32: return fill_from_json<float>(data, t.data<float>(), i);
    case DType::kF64: return fill_from_json<double>(data, t.data<double>(), i);
    case DType::kI8: return fill_from_json<int8_t>(data, t.data<int8_t>(), i);
    case DType::kU8: return fill_from_json<uint8_t>(data, t.data<uint8_t>(), i);
    case DType::kI32: return fill_from_json<int32_t>(data, t.data<int32_t>(), i);
    case DType::kI64: return fill_from_json<int64_t>(data, t.data<int64_t>(), i);
    case DType::kBool: return fill_from_json<bool>(data, t.data<uint8_t>(), i);
    case DType::kF16:
    case DType::kBF16: {
      // Staged through f32 so the conversions stay in dtype.h.
      std::vector<float> tmp(static_cast<size_t>(t.numel()));
      ANVIL_TRY(fill_from_json<float>(data, tmp.data(), i));
      uint16_t* d = t.data<uint16_t>();
      for (size_t k = 0; k < tmp.size(); ++k) d[k] = t.dtype() == DType::kF16 ? f32_to_f16(tmp[k]) : f32_to_bf16(tmp[k]);
      return Status::ok();
    }
  }
  return internal_error("unhandled dtype");
}

Result<bool> get_bool_param(const json& params, const char* key, const std::string& where) {
  auto it = params.find(key);
  if (it == params.end()) return false;
  if (!it->is_boolean()) return invalid_argument(where + ": parameter \"" + key + "\" must be true or false");
  return it->get<bool>();
}

Status parse_input(const json& in, size_t index, const ParseLimits& limits, std::string_view binary, size_t& cursor,
                   InferRequest& req) {
  std::string where = "inputs[" + std::to_string(index) + "]";
  if (!in.is_object()) return invalid_argument(where + " is not an object");
  auto name_it = in.find("name");
  if (name_it == in.end() || !name_it->is_string() || name_it->get_ref<const std::string&>().empty())
    return invalid_argument(where + ": \"name\" must be a non-empty string");
  const std::string name = name_it->get<std::string>();
  where = "input " + quote(name);
  if (req.inputs.count(name)) return invalid_argument(where + " is given twice");

  auto dt_it = in.find("datatype");
  if (dt_it == in.end() || !dt_it->is_string()) return invalid_argument(where + ": \"datatype\" must be a string");
  const auto dtype = dtype_from_v2(dt_it->get_ref<const std::string&>());
  if (!dtype)
    return invalid_argument(where + ": unsupported datatype " + quote(dt_it->get<std::string>()) +
                            " (anvil takes FP32, FP16, BF16, FP64, INT8, UINT8, INT32, INT64, BOOL)");

  auto shape_it = in.find("shape");
  if (shape_it == in.end() || !shape_it->is_array())
    return invalid_argument(where + ": \"shape\" must be an array of dimensions");
  if (shape_it->size() > limits.max_rank)
    return invalid_argument(where + ": rank " + std::to_string(shape_it->size()) + " exceeds " +
                            std::to_string(limits.max_rank));
  std::vector<int64_t> dims;
  // Bounded far below overflow of numel * 8 bytes; the real bound is the
  // data actually present, checked below.
  constexpr int64_t kMaxNumel = int64_t{1} << 56;
  int64_t numel = 1;
  for (const json& d : *shape_it) {
    if (!d.is_number_integer() || (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0))
      return invalid_argument(where + ": shape " + quote(shape_it->dump()) +
                              " must hold non-negative integers");
    const uint64_t v = d.get<uint64_t>();
    if (v > static_cast<uint64_t>(kMaxNumel) || (v != 0 && numel > kMaxNumel / static_cast<int64_t>(v)))
      return invalid_argument(where + ": shape " + shape_str(dims) + "... is too large");
    dims.push_back(static_cast<int64_t>(v));
    numel *= static_cast<int64_t>(v);
  }
  const size_t esize = dtype_size(*dtype);

  json params = json::object();
  if (auto p = in.find("parameters"); p != in.end()) {
    if (!p->is_object()) return invalid_argument(where + ": \"parameters\" must be an object");
    params = *p;
  }
  auto data_it = in.find("data");
  auto bsize_it = params.find("binary_data_size");
  if (bsize_it != params.end()) {
    if (data_it != in.end())
      return invalid_argument(where + " has both \"data\" and a binary_data_size parameter");
    if (!bsize_it->is_number_unsigned() &&
        !(bsize_it->is_number_integer() && bsize_it->get<int64_t>() >= 0))
      return invalid_argument(where + ": binary_data_size must be a non-negative integer");
    const uint64_t n = bsize_it->get<uint64_t>();
    const size_t left = binary.size() - cursor;
    if (n > left)
      return invalid_argument(where + ": binary_data_size " + std::to_string(n) + " but only " +
                              std::to_string(left) + " bytes of binary data remain in the body");
    // numel <= 2^56, so numel * esize cannot overflow.
    const uint64_t need = static_cast<uint64_t>(numel) * esize;
    if (need != n)
      return invalid_argument(where + ": binary_data_size " + std::to_string(n) + " does not match " +
                              v2_datatype(*dtype) + " " + shape_str(dims) + " (" + std::to_string(need) + " bytes)");
    Tensor t(*dtype, Shape(dims));
    if (n) std::memcpy(t.raw(), binary.data() + cursor, n);
    if (*dtype == DType::kBool)
      for (int64_t i = 0; i < numel; ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] ? 1 : 0;
    cursor += n;
    req.inputs.emplace(name, std::move(t));
    return Status::ok();
  }
  if (data_it == in.end())
    return invalid_argument(where + " has neither \"data\" nor a binary_data_size parameter");
  int64_t count = 0;
  if (!data_it->is_array()) {
    // A bare number is accepted for a rank-0 tensor only.
    if (!dims.empty()) return invalid_argument(where + ": \"data\" must be an array");
    count = 1;
  } else {
    ANVIL_TRY(count_leaves(*data_it, count));
  }
  if (count != numel)
    return invalid_argument(where + ": shape " + shape_str(dims) + " holds " + std::to_string(numel) +
                            " elements but \"data\" has " + std::to_string(count));
  Tensor t(*dtype, Shape(dims));
  Status s = fill_tensor(*data_it, t);
  if (!s.is_ok()) return std::move(s).with_context(where);
  req.inputs.emplace(name, std::move(t));
  return Status::ok();
}

}  // namespace

Result<InferRequest> parse_infer_request(std::string_view body, std::optional<std::string_view> header_length,
                                         const ParseLimits& limits) {
  size_t json_len = body.size();
  if (header_length) {
    ANVIL_ASSIGN_OR_RETURN(json_len, parse_header_length(*header_length, body.size()));
  }
  const std::string_view text = body.substr(0, json_len);
  const std::string_view binary = body.substr(json_len);
  if (text.empty()) return invalid_argument("empty request body: expected a JSON object with \"inputs\"");
  // nlohmann stops at a NUL as if the input ended, which would silently drop
  // whatever follows; JSON never holds a raw NUL.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    return invalid_argument("malformed JSON: NUL byte at offset " + std::to_string(nul) +
                            (header_length ? std::string()
                                           : " (binary tensor data needs the Inference-Header-Content-Length header)"));
  ANVIL_TRY(check_json_depth(text, limits.max_json_depth));
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return invalid_argument(std::string("malformed JSON: ") + e.what());
  }
  if (!root.is_object()) return invalid_argument("the request body must be a JSON object");

  InferRequest req;
  if (auto it = root.find("id"); it != root.end()) {
    if (!it->is_string()) return invalid_argument("\"id\" must be a string");
    req.id = it->get<std::string>();
  }
  if (auto it = root.find("parameters"); it != root.end()) {
    if (!it->is_object()) return invalid_argument("\"parameters\" must be an object");
    ANVIL_ASSIGN_OR_RETURN(req.binary_output, get_bool_param(*it, "binary_data_output", "request"));
  }
  auto inputs = root.find("inputs");
  if (inputs == root.end() || !inputs->is_array() || inputs->empty())
    return invalid_argument("\"inputs\" must be a non-empty array");
  if (inputs->size() > limits.max_inputs)
    return invalid_argument(std::to_string(inputs->size()) + " inputs; at most " +
                            std::to_string(limits.max_inputs) + " are accepted");
  size_t cursor = 0;
  for (size_t i = 0; i < inputs->size(); ++i) ANVIL_TRY(parse_input((*inputs)[i], i, limits, binary, cursor, req));
  if (cursor != binary.size())
    return invalid_argument(std::to_string(binary.size() - cursor) +
                            " bytes of binary data after the JSON header are not claimed by any input's "
                            "binary_data_size");

  if (auto outs = root.find("outputs"); outs != root.end()) {
    if (!outs->is_array()) return invalid_argument("\"outputs\" must be an array");
    if (outs->size() > limits.max_outputs)
      return invalid_argument(std::to_string(outs->size()) + " outputs requested; at most " +
                              std::to_string(limits.max_outputs) + " are accepted");
    std::set<std::string> seen;
    for (size_t i = 0; i < outs->size(); ++i) {
      const json& o = (*outs)[i];
      const std::string where = "outputs[" + std::to_string(i) + "]";
      if (!o.is_object()) return invalid_argument(where + " is not an object");
      auto n = o.find("name");
      if (n == o.end() || !n->is_string()) return invalid_argument(where + ": \"name\" must be a string");
      RequestedOutput ro;
      ro.name = n->get<std::string>();
      if (!seen.insert(ro.name).second) return invalid_argument("output " + quote(ro.name) + " is requested twice");
      if (auto p = o.find("parameters"); p != o.end()) {
        if (!p->is_object()) return invalid_argument(where + ": \"parameters\" must be an object");
        if (p->contains("classification"))
          return invalid_argument("output " + quote(ro.name) + ": the classification extension is not supported");
        if (p->contains("binary_data")) {
          ANVIL_ASSIGN_OR_RETURN(bool b, get_bool_param(*p, "binary_data", "output " + quote(ro.name)));
          ro.binary = b;
        }
      }
      req.outputs.push_back(std::move(ro));
    }
  }
  return req;
}

namespace {
std::string dims_str(const Shape& s) { return shape_str(s.dims()); }

std::string names_of(const std::vector<TensorInfo>& v) {
  std::string r;
  for (const TensorInfo& t : v) r += (r.empty() ? "" : ", ") + t.name;
  return r;
}
}  // namespace

Result<int64_t> check_request(const InferRequest& req, const ModelSignature& sig) {
  for (const auto& [name, t] : req.inputs) {
    bool known = false;
    for (const TensorInfo& ti : sig.inputs) known |= ti.name == name;
    if (!known)
      return invalid_argument("unknown input " + quote(name) + " (the model's inputs: " + names_of(sig.inputs) + ")");
  }
  int64_t batch = -1;
  for (const TensorInfo& ti : sig.inputs) {
    auto it = req.inputs.find(ti.name);
    if (it == req.inputs.end())
      return invalid_argument("missing input " + quote(ti.name) + " (" + v2_datatype(ti.dtype) + " " +
                              dims_str(ti.shape) + ")");
    const Tensor& t = it->second;
    if (t.dtype() != ti.dtype)
      return invalid_argument("input " + quote(ti.name) + " has datatype " + v2_datatype(t.dtype()) +
                              "; the model expects " + v2_datatype(ti.dtype));
    bool ok = t.rank() == ti.shape.rank();
    for (size_t d = 0; ok && d < t.rank(); ++d) {
      if (ti.shape[d] == -1) {
        // Only dim 0 of a batched model is -1 (see ModelRunner).
        if (t.dim(d) < 1 || t.dim(d) > sig.max_batch) {
          return invalid_argument("input " + quote(ti.name) + " has batch size " + std::to_string(t.dim(d)) +
                                  "; this model takes 1 to " + std::to_string(sig.max_batch));
        }
        if (batch != -1 && batch != t.dim(d))
          return invalid_argument("inputs disagree on the batch size (" + std::to_string(batch) + " vs " +
                                  std::to_string(t.dim(d)) + ")");
        batch = t.dim(d);
      } else {
        ok = t.dim(d) == ti.shape[d];
      }
    }
    if (!ok)
      return invalid_argument("input " + quote(ti.name) + " has shape " + dims_str(t.shape()) +
                              "; the model expects " + dims_str(ti.shape));
  }
  for (const RequestedOutput& o : req.outputs) {
    bool known = false;
    for (const TensorInfo& ti : sig.outputs) known |= ti.name == o.name;
    if (!known)
      return invalid_argument("unknown output " + quote(o.name) + " (the model's outputs: " + names_of(sig.outputs) +
                              ")");
  }
  return batch == -1 ? int64_t{1} : batch;
}

Result<std::vector<OutputTensor>> select_outputs(const InferRequest& req, const ModelSignature& sig,
                                                 const std::map<std::string, Tensor>& results) {
  std::vector<OutputTensor> out;
  auto add = [&](const std::string& name, bool binary) -> Status {
    auto it = results.find(name);
    if (it == results.end()) return internal_error("the model produced no output '" + name + "'");
    out.push_back({name, it->second, binary});
    return Status::ok();
  };
  if (req.outputs.empty()) {
    for (const TensorInfo& ti : sig.outputs) ANVIL_TRY(add(ti.name, req.binary_output));
  } else {
    for (const RequestedOutput& o : req.outputs) ANVIL_TRY(add(o.name, o.binary.value_or(req.binary_output)));
  }
  return out;
}

namespace {

template <class T>
void append_number(std::string& s, T v) {
  char buf[64];
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) {
      // JSON has no NaN or infinity; binary outputs carry them exactly.
      s += "null";
      return;
    }
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, end);
}

void append_data(std::string& s, const Tensor& t) {
  s += '[';
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (i) s += ',';
    switch (t.dtype()) {
      case DType::kF32: append_number(s, t.data<float>()[i]); break;
      case DType::kF64: append_number(s, t.data<double>()[i]); break;
      case DType::kF16: append_number(s, f16_to_f32(t.data<uint16_t>()[i])); break;
      case DType::kBF16: append_number(s, bf16_to_f32(t.data<uint16_t>()[i])); break;
      case DType::kI8: append_number(s, static_cast<int>(t.data<int8_t>()[i])); break;
      case DType::kU8: append_number(s, static_cast<int>(t.data<uint8_t>()[i])); break;
      case DType::kI32: append_number(s, t.data<int32_t>()[i]); break;
      case DType::kI64: append_number(s, t.data<int64_t>()[i]); break;
      case DType::kBool: s += t.data<uint8_t>()[i] ? "true" : "false"; break;
    }
  }
  s += ']';
}

}  // namespace

HttpBody build_infer_response(const std::string& model_name, const std::string& id,
                              const std::vector<OutputTensor>& outputs) {
  HttpBody r;
  std::string& s = r.body;
  s = "{\"model_name\":" + quote(model_name) + ",\"model_version\":\"1\"";
  if (!id.empty()) s += ",\"id\":" + quote(id);
  s += ",\"outputs\":[";
  bool any_binary = false;
  size_t reserve = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OutputTensor& o = outputs[i];
    if (i) s += ',';
    s += "{\"name\":" + quote(o.name) + ",\"datatype\":\"" + v2_datatype(o.tensor.dtype()) +
         "\",\"shape\":" + shape_str(o.tensor.shape().dims());
    if (o.binary) {
      any_binary = true;
      reserve += o.tensor.nbytes();
      s += ",\"parameters\":{\"binary_data_size\":" + std::to_string(o.tensor.nbytes()) + "}}";
    } else {
      s += ",\"data\":";
      append_data(s, o.tensor);
      s += '}';
    }
  }
  s += "]}";
  if (!any_binary) {
    r.content_type = "application/json";
    return r;
  }
  r.json_length = s.size();
  r.content_type = "application/octet-stream";
  s.reserve(s.size() + reserve);
  for (const OutputTensor& o : outputs)
    if (o.binary) s.append(static_cast<const char*>(o.tensor.raw()), o.tensor.nbytes());
  return r;
}

std::string error_json(const std::string& message) { return "{\"error\":" + quote(message) + "}"; }

std::string server_metadata_json(const std::string& version) {
  json j = {{"name", "anvil"}, {"version", version}, {"extensions", json::array({"binary_tensor_data"})}};
  return j.dump();
}

std::string model_metadata_json(const std::string& name, const ModelSignature& sig) {
  auto tensors = [](const std::vector<TensorInfo>& v) {
    json a = json::array();
    for (const TensorInfo& t : v)
      a.push_back({{"name", t.name}, {"datatype", v2_datatype(t.dtype)}, {"shape", t.shape.dims()}});
    return a;
  };
  json j = {{"name", name},
            {"versions", json::array({"1"})},
            {"platform", "anvil"},
            {"inputs", tensors(sig.inputs)},
            {"outputs", tensors(sig.outputs)}};
  if (sig.max_batch > 1) j["parameters"] = {{"max_batch_size", sig.max_batch}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace anvil::serve

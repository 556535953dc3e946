// The Open Inference Protocol (KServe v2) REST messages, as pure functions
// over bytes: no sockets, no models, no globals, so they can be unit-tested
// and fuzzed on their own.
//
// Tensors travel as JSON ("data": [...], flat or nested, row-major) or, with
// Triton's binary tensor data extension, as raw little-endian bytes after a
// JSON header whose length is given by the Inference-Header-Content-Length
// HTTP header; such an input says "parameters": {"binary_data_size": N}.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anvil/anvil.h"

namespace anvil::serve {

// "FP32", "INT64", ... for the dtypes anvil has.
const char* v2_datatype(DType t);
// nullopt for protocol datatypes anvil cannot hold (UINT16, BYTES, ...).
std::optional<DType> dtype_from_v2(std::string_view name);

struct ParseLimits {
  // Objects/arrays nested deeper than this are refused before parsing:
  // a tensor needs at most its rank plus a few levels.
  int max_json_depth = 40;
  size_t max_rank = 16;
  size_t max_inputs = 256;
  size_t max_outputs = 256;
};

struct RequestedOutput {
  std::string name;
  // The output's "binary_data" parameter, when given; else the request's
  // "binary_data_output" decides.
  std::optional<bool> binary;
};

struct InferRequest {
  std::string id;
  std::map<std::string, Tensor> inputs;
  // Empty: every output of the model.
  std::vector<RequestedOutput> outputs;
  // Request parameter "binary_data_output": the default for outputs that do
  // not say, and for all outputs when none are listed.
  bool binary_output = false;
};

// Parses an infer request body. `header_length` is the raw value of the
// Inference-Header-Content-Length header, if the request had one. Every
// malformed input is an kInvalidArgument Status; allocations are bounded by
// a small multiple of body.size().
Result<InferRequest> parse_infer_request(std::string_view body,
                                         std::optional<std::string_view> header_length = std::nullopt,
                                         const ParseLimits& limits = {});

// What a model accepts. A dimension of -1 matches any size from 1 to
// max_batch (the batch dimension of a dynamically batched model).
struct ModelSignature {
  std::vector<TensorInfo> inputs, outputs;
  int max_batch = 1;
};

// Names, dtypes and shapes of the request against the model; returns the
// request's batch size (dim 0 of its inputs when the model is batched, else 1).
Result<int64_t> check_request(const InferRequest& req, const ModelSignature& sig);

struct OutputTensor {
  std::string name;
  Tensor tensor;
  bool binary = false;
};

struct HttpBody {
  std::string body;
  std::string content_type;
  // Set when the body is a JSON header followed by binary tensor data: the
  // value of the Inference-Header-Content-Length response header.
  std::optional<size_t> json_length;
};

// The outputs to return, in the order requested, with their binary flags.
Result<std::vector<OutputTensor>> select_outputs(const InferRequest& req, const ModelSignature& sig,
                                                 const std::map<std::string, Tensor>& results);

HttpBody build_infer_response(const std::string& model_name, const std::string& id,
                              const std::vector<OutputTensor>& outputs);

// {"error": "..."}
std::string error_json(const std::string& message);
// GET /v2
std::string server_metadata_json(const std::string& version);
// GET /v2/models/NAME
std::string model_metadata_json(const std::string& name, const ModelSignature& sig);

}  // namespace anvil::serve

#include "fuzz/entries.h"

#include <cstring>
#include <string>

#include "core/hash.h"
#include "frontend/mxnet/mxnet_import.h"
#include "frontend/mxnet/params.h"
#include "frontend/mxnet/symbol.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "runtime/artifact.h"
#include "server/protocol.h"

namespace anvil::fuzz {

namespace {

void init() {
  static const bool done = [] {
    register_all_ops();
    // A declared tensor over 1 GiB is refused (TensorTooLarge) long before
    // libFuzzer's 2 GB malloc limit would call it a finding.
    set_tensor_byte_limit(size_t{1} << 30);
    return true;
  }();
  (void)done;
}

std::string bytes(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

}  // namespace

int onnx_model(const uint8_t* data, size_t size) try {
  init();
  auto g = parse_onnx(bytes(data, size), "fuzz.onnx");
  if (!g) return 0;
  if (!g->verify().is_ok()) return 0;
  (void)infer_shapes(*g);
  return 0;
} catch (const TensorTooLarge&) {
  return 0;  // the API reports it as kOutOfRange
}

int mxnet_params(const uint8_t* data, size_t size) try {
  init();
  auto l = mxnet::parse_ndarray_list(bytes(data, size), "fuzz.params");
  if (!l) return 0;
  // Reading every array back is part of the contract: sizes must be real.
  volatile uint8_t sink = 0;
  for (const Tensor& t : l->arrays)
    if (t.defined() && t.nbytes() > 0) sink = sink ^ static_cast<const uint8_t*>(t.raw())[t.nbytes() - 1];
  return 0;
} catch (const TensorTooLarge&) {
  return 0;  // the API reports it as kOutOfRange
}

int mxnet_symbol(const uint8_t* data, size_t size) try {
  init();
  auto sym = mxnet::parse_mx_symbol(bytes(data, size), "fuzz-symbol.json");
  if (!sym) return 0;
  mxnet::ImportOptions o;
  o.shapes["data"] = Shape{1, 3, 8, 8};
  o.allow_missing = true;
  auto g = mxnet::import_mxnet(*sym, mxnet::NDArrayList{}, "fuzz-symbol.json", "fuzz.params", o);
  if (!g) return 0;
  (void)infer_shapes(*g);
  return 0;
} catch (const TensorTooLarge&) {
  return 0;  // the API reports it as kOutOfRange
}

int anvil_artifact(const uint8_t* data, size_t size) try {
  init();
  auto a = load_artifact_bytes(data, size, "fuzz.anvil");
  if (a) (void)infer_shapes(a->graph);
  // A mutation almost never keeps the checksums right, which would keep the
  // fuzzer at the door: load the bytes once more with the file size and both
  // checksums made consistent, so mutations reach the metadata and tensor
  // checks behind them.
  if (size >= kArtifactHeaderBytes) {
    std::string b = bytes(data, size);
    const uint64_t file_bytes = b.size();
    std::memcpy(b.data() + 16, &file_bytes, 8);
    const uint64_t payload = xxh64(b.data() + kArtifactHeaderBytes, b.size() - kArtifactHeaderBytes);
    std::memcpy(b.data() + 56, &payload, 8);
    const uint64_t header = xxh64(b.data(), 120);
    std::memcpy(b.data() + 120, &header, 8);
    auto r = load_artifact_bytes(b.data(), b.size(), "fuzz-resealed.anvil");
    if (r) (void)infer_shapes(r->graph);
  }
  return 0;
} catch (const TensorTooLarge&) {
  return 0;  // the API reports it as kOutOfRange
}

int server_request(const uint8_t* data, size_t size) try {
  init();
  const char* p = reinterpret_cast<const char*>(data);
  const void* nl = size ? std::memchr(p, '\n', size < 32 ? size : 32) : nullptr;  // memchr(nullptr, ..) is UB
  std::optional<std::string_view> header_length;
  std::string_view body(p, size);
  if (nl) {
    const size_t n = static_cast<size_t>(static_cast<const char*>(nl) - p);
    if (n > 0) header_length = std::string_view(p, n);
    body = std::string_view(p + n + 1, size - n - 1);
  }
  auto req = serve::parse_infer_request(body, header_length);
  if (!req) return 0;
  serve::ModelSignature sig;
  sig.inputs = {{"input", DType::kF32, Shape{-1, 3, 2, 2}}, {"ids", DType::kI64, Shape{-1, 4}}};
  sig.outputs = {{"output", DType::kF32, Shape{-1, 3, 2, 2}}};
  sig.max_batch = 4;
  auto batch = serve::check_request(*req, sig);
  if (!batch) return 0;
  std::map<std::string, Tensor> results;
  results["output"] = req->inputs.count("input") ? req->inputs.at("input") : Tensor(DType::kF32, Shape{*batch, 3, 2, 2});
  auto outs = serve::select_outputs(*req, sig, results);
  if (!outs) return 0;
  (void)serve::build_infer_response("m", req->id, *outs);
  return 0;
} catch (const TensorTooLarge&) {
  return 0;  // the API reports it as kOutOfRange
}

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {{"onnx_model", onnx_model},
                                        {"mxnet_params", mxnet_params},
                                        {"mxnet_symbol", mxnet_symbol},
                                        {"anvil_artifact", anvil_artifact},
                                        {"server_request", server_request}};
  return t;
}

}  // namespace anvil::fuzz

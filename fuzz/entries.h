// One entry per fuzz target: bytes in, every Status swallowed, anything else
// (a crash, a sanitizer report, an exception) is a finding. The libFuzzer
// mains in fuzz/ call these, and tests/fuzz/ replays the seed and
// regression corpora through them in every `make test`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace anvil::fuzz {

// protobuf bytes -> ONNX importer (checker, initializers, attributes) ->
// graph verifier -> shape inference (with constant folding of shape math).
int onnx_model(const uint8_t* data, size_t size);
// MXNet .params (NDArray list, every record version).
int mxnet_params(const uint8_t* data, size_t size);
// MXNet symbol JSON -> parser -> importer (zero parameters, a bound data
// shape) -> shape inference.
int mxnet_symbol(const uint8_t* data, size_t size);
// .anvil compiled model -> loader (all header, checksum, metadata checks).
int anvil_artifact(const uint8_t* data, size_t size);
// KServe v2 infer request: "HEADER_LENGTH\n" then the body (an empty first
// line: no Inference-Header-Content-Length), parsed, checked against a
// model signature, and answered with an echo response.
int server_request(const uint8_t* data, size_t size);

struct Target {
  const char* name;
  int (*fn)(const uint8_t*, size_t);
};
const std::vector<Target>& targets();

}  // namespace anvil::fuzz

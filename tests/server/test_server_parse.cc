// The KServe v2 request parser, request checks and response builder
// (server/protocol.h): pure functions over bytes. Every hostile body must
// come back as a clear kInvalidArgument, never a crash or a big allocation.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <string>

#include "server/metrics.h"
#include "server/protocol.h"

namespace anvil::serve {
namespace {

using json = nlohmann::json;

InferRequest parse_ok(const std::string& body, std::optional<std::string> hl = std::nullopt) {
  std::optional<std::string_view> h;
  if (hl) h = *hl;
  auto r = parse_infer_request(body, h);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string() << "\nbody: " << body.substr(0, 200);
  return r.is_ok() ? std::move(r).value() : InferRequest{};
}

std::string parse_err(const std::string& body, std::optional<std::string> hl = std::nullopt) {
  std::optional<std::string_view> h;
  if (hl) h = *hl;
  auto r = parse_infer_request(body, h);
  EXPECT_FALSE(r.is_ok()) << "accepted: " << body.substr(0, 200);
  if (r.is_ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  return r.status().message();
}

ModelSignature tiny_sig(int max_batch = 1) {
  ModelSignature s;
  s.inputs = {{"input", DType::kF32, Shape{max_batch > 1 ? -1 : 1, 3, 2, 2}}};
  s.outputs = {{"output", DType::kF32, Shape{max_batch > 1 ? -1 : 1, 4}}, {"aux", DType::kI64, Shape{2}}};
  s.max_batch = max_batch;
  return s;
}

std::string binary_request(const std::string& header, const std::string& payload) { return header + payload; }

TEST(ServerParse, FlatJsonTensor) {
  auto r = parse_ok(R"({"id":"r1","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6.5]}]})");
  EXPECT_EQ(r.id, "r1");
  ASSERT_EQ(r.inputs.count("x"), 1u);
  const Tensor& t = r.inputs.at("x");
  EXPECT_EQ(t.dtype(), DType::kF32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_FLOAT_EQ(t.data<float>()[5], 6.5f);
  EXPECT_TRUE(r.outputs.empty());
  EXPECT_FALSE(r.binary_output);
}

TEST(ServerParse, NestedDataAndIntegerTypes) {
  auto r = parse_ok(R"({"inputs":[
      {"name":"a","shape":[2,2],"datatype":"INT64","data":[[1,-2],[3,9007199254740993]]},
      {"name":"b","shape":[3],"datatype":"UINT8","data":[0,255,7.0]},
      {"name":"c","shape":[2],"datatype":"BOOL","data":[true,false]},
      {"name":"d","shape":[1],"datatype":"FP16","data":[0.5]},
      {"name":"e","shape":[],"datatype":"INT32","data":42}]})");
  EXPECT_EQ(r.inputs.at("a").data<int64_t>()[3], 9007199254740993LL);  // exact past 2^53
  EXPECT_EQ(r.inputs.at("a").data<int64_t>()[1], -2);
  EXPECT_EQ(r.inputs.at("b").data<uint8_t>()[1], 255);
  EXPECT_EQ(r.inputs.at("b").data<uint8_t>()[2], 7);
  EXPECT_EQ(r.inputs.at("c").data<uint8_t>()[0], 1);
  EXPECT_EQ(r.inputs.at("c").data<uint8_t>()[1], 0);
  EXPECT_FLOAT_EQ(f16_to_f32(r.inputs.at("d").data<uint16_t>()[0]), 0.5f);
  EXPECT_EQ(r.inputs.at("e").rank(), 0u);
  EXPECT_EQ(r.inputs.at("e").data<int32_t>()[0], 42);
}

TEST(ServerParse, OutputsAndBinaryFlags) {
  auto r = parse_ok(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],
      "parameters":{"binary_data_output":true},
      "outputs":[{"name":"o1"},{"name":"o2","parameters":{"binary_data":false}}]})");
  EXPECT_TRUE(r.binary_output);
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_FALSE(r.outputs[0].binary.has_value());
  EXPECT_EQ(r.outputs[1].binary, std::optional<bool>(false));
}

TEST(ServerParse, BinaryTensorData) {
  const std::string header =
      R"({"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":16}},)"
      R"({"name":"y","shape":[3],"datatype":"BOOL","parameters":{"binary_data_size":3}},)"
      R"({"name":"z","shape":[1],"datatype":"INT32","data":[5]}]})";
  float xs[4] = {1.5f, -2.f, 3.25f, 1e-3f};
  std::string payload(reinterpret_cast<const char*>(xs), sizeof xs);
  payload += std::string("\x00\x01\x07", 3);
  auto r = parse_ok(binary_request(header, payload), std::to_string(header.size()));
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(std::memcmp(r.inputs.at("x").raw(), xs, sizeof xs), 0);
  EXPECT_EQ(r.inputs.at("y").data<uint8_t>()[2], 1);  // BOOL bytes normalised
  EXPECT_EQ(r.inputs.at("z").data<int32_t>()[0], 5);
}

TEST(ServerParse, RejectsMalformedJson) {
  EXPECT_NE(parse_err("").find("empty"), std::string::npos);
  EXPECT_NE(parse_err("{\"inputs\":[").find("malformed JSON"), std::string::npos);
  EXPECT_NE(parse_err("[1,2]").find("JSON object"), std::string::npos);
  EXPECT_NE(parse_err("{}").find("inputs"), std::string::npos);
  EXPECT_NE(parse_err(R"({"inputs":[]})").find("non-empty"), std::string::npos);
  EXPECT_NE(parse_err(R"({"inputs":{}})").find("array"), std::string::npos);
  parse_err("\xff\xfe garbage");
  parse_err(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]} trailing)");
  // Deep nesting is refused before nlohmann ever sees it.
  EXPECT_NE(parse_err(std::string(100000, '[') + std::string(100000, ']')).find("nested"), std::string::npos);
}

TEST(ServerParse, RejectsBadTensors) {
  auto in = [](const std::string& tensor) { return R"({"inputs":[)" + tensor + "]}"; };
  EXPECT_NE(parse_err(in(R"({"shape":[1],"datatype":"FP32","data":[1]})")).find("name"), std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"STRING","data":[1]})")).find("unsupported datatype"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"BYTES","data":["a"]})")).find("unsupported"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3]})")).find("4 elements"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[-1,3],"datatype":"FP32","data":[1,2,3]})")).find("non-negative"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1.5],"datatype":"FP32","data":[1]})")).find("non-negative"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":"1","datatype":"FP32","data":[1]})")).find("shape"), std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"FP32"})")).find("neither"), std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"FP32","data":["a"]})")).find("number"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"FP32","data":[null]})")).find("number"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"FP32","data":[1e300]})")).find("range"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"INT8","data":[128]})")).find("range"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"UINT8","data":[-1]})")).find("range"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"INT64","data":[1.5]})")).find("integer"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"INT64","data":[1e19]})")).find("integer"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"BOOL","data":[1]})")).find("true or false"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[1],"datatype":"FP32","data":[1]},)"
                         R"({"name":"x","shape":[1],"datatype":"FP32","data":[1]})"))
                .find("twice"),
            std::string::npos);
  EXPECT_NE(parse_err(in(R"({"name":"x","shape":[2],"datatype":"FP32","data":5})")).find("array"), std::string::npos);
}

TEST(ServerParse, HugeDeclaredShapesAllocateNothing) {
  auto in = [](const std::string& shape) {
    return R"({"inputs":[{"name":"x","shape":)" + shape + R"(,"datatype":"FP32","data":[1,2]}]})";
  };
  EXPECT_NE(parse_err(in("[1000000,1000000,1000000]")).find("too large"), std::string::npos);
  EXPECT_NE(parse_err(in("[18446744073709551615]")).find("too large"), std::string::npos);
  EXPECT_NE(parse_err(in("[4294967296,4294967296]")).find("too large"), std::string::npos);
  EXPECT_NE(parse_err(in("[100000000000]")).find("elements"), std::string::npos);
  EXPECT_NE(parse_err(in("[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2]")).find("rank"), std::string::npos);
  // A zero dimension makes numel 0 whatever follows: still no overflow.
  EXPECT_NE(parse_err(in("[0,18446744073709551615]")).find("too large"), std::string::npos);
  // The binary path: a declared size far past the body.
  const std::string h =
      R"({"inputs":[{"name":"x","shape":[1000000000000],"datatype":"FP32","parameters":{"binary_data_size":4000000000000}}]})";
  EXPECT_NE(parse_err(h + "abcd", std::to_string(h.size())).find("remain"), std::string::npos);
}

TEST(ServerParse, RejectsBadBinaryFraming) {
  const std::string h =
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]})";
  const std::string eight(8, '\0');
  const std::string len = std::to_string(h.size());
  parse_ok(h + eight, len);
  EXPECT_NE(parse_err(h + eight, "-5").find("non-negative integer"), std::string::npos);
  EXPECT_NE(parse_err(h + eight, "abc").find("non-negative integer"), std::string::npos);
  EXPECT_NE(parse_err(h + eight, "99999999999999999999999").find("non-negative integer"), std::string::npos);
  EXPECT_NE(parse_err(h + eight, "0").find("JSON header"), std::string::npos);
  EXPECT_NE(parse_err(h + eight, std::to_string(h.size() + 100)).find("exceeds"), std::string::npos);
  EXPECT_NE(parse_err(h + eight, std::to_string(h.size() - 3)).find("malformed"), std::string::npos);
  EXPECT_NE(parse_err(h + std::string(4, '\0'), len).find("remain"), std::string::npos);
  EXPECT_NE(parse_err(h + std::string(12, '\0'), len).find("not claimed"), std::string::npos);
  // Without the header the whole body is JSON: binary bytes make it malformed.
  EXPECT_NE(parse_err(h + eight).find("malformed"), std::string::npos);
  const std::string wrong =
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":6}}]})";
  EXPECT_NE(parse_err(wrong + std::string(6, '\0'), std::to_string(wrong.size())).find("does not match"),
            std::string::npos);
  const std::string neg =
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":-8}}]})";
  EXPECT_NE(parse_err(neg + eight, std::to_string(neg.size())).find("non-negative"), std::string::npos);
  const std::string both =
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2],"parameters":{"binary_data_size":8}}]})";
  EXPECT_NE(parse_err(both + eight, std::to_string(both.size())).find("both"), std::string::npos);
}

TEST(ServerParse, TruncatedAndMutatedBodiesNeverCrash) {
  // A crude in-test fuzz: every prefix and single-byte mutations of valid
  // JSON and binary requests must parse or fail cleanly.
  const std::string json_req =
      R"({"id":"a","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  const std::string h =
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"INT64","parameters":{"binary_data_size":16}}]})";
  const std::string bin_req = h + std::string(16, '\x01');
  for (const auto& [body, hl] : {std::pair{json_req, std::optional<std::string>()},
                                 std::pair{bin_req, std::optional<std::string>(std::to_string(h.size()))}}) {
    for (size_t n = 0; n <= body.size(); ++n) {
      std::optional<std::string_view> v;
      if (hl) v = *hl;
      (void)parse_infer_request(std::string_view(body).substr(0, n), v);
    }
    const char repl[] = {'\0', '"', '[', ']', '{', '}', '-', '9', ',', ':', 'e', '\xff'};
    for (size_t i = 0; i < body.size(); ++i)
      for (char c : repl) {
        std::string m = body;
        m[i] = c;
        std::optional<std::string_view> v;
        if (hl) v = *hl;
        auto r = parse_infer_request(m, v);
        if (!r.is_ok()) {
          EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
        }
      }
  }
}

TEST(ServerParse, CheckRequestAgainstModel) {
  const ModelSignature sig = tiny_sig();
  auto good = parse_ok(R"({"inputs":[{"name":"input","shape":[1,3,2,2],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0,0,0]}]})");
  auto rows = check_request(good, sig);
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  EXPECT_EQ(*rows, 1);

  auto msg = [&](const std::string& body) {
    auto r = check_request(parse_ok(body), sig);
    EXPECT_FALSE(r.is_ok()) << body;
    return r.is_ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(msg(R"({"inputs":[{"name":"inp","shape":[1],"datatype":"FP32","data":[0]}]})").find("unknown input"),
            std::string::npos);
  EXPECT_NE(msg(R"({"inputs":[{"name":"input","shape":[12],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0,0,0]}]})")
                .find("shape [12]"),
            std::string::npos);
  EXPECT_NE(msg(R"({"inputs":[{"name":"input","shape":[1,3,2,2],"datatype":"INT64","data":[0,0,0,0,0,0,0,0,0,0,0,0]}]})")
                .find("datatype INT64"),
            std::string::npos);
  EXPECT_NE(msg(R"({"inputs":[{"name":"input","shape":[1,3,2,2],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0,0,0]}],
                   "outputs":[{"name":"nope"}]})")
                .find("unknown output"),
            std::string::npos);
}

TEST(ServerParse, CheckRequestBatched) {
  const ModelSignature sig = tiny_sig(4);
  std::string d24 = "[";
  for (int i = 0; i < 24; ++i) d24 += (i ? ",0" : "0");
  d24 += "]";
  auto r = check_request(parse_ok(R"({"inputs":[{"name":"input","shape":[2,3,2,2],"datatype":"FP32","data":)" + d24 +
                                  "}]}"),
                         sig);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, 2);
  std::string d60 = "[";
  for (int i = 0; i < 60; ++i) d60 += (i ? ",0" : "0");
  d60 += "]";
  auto big = check_request(
      parse_ok(R"({"inputs":[{"name":"input","shape":[5,3,2,2],"datatype":"FP32","data":)" + d60 + "}]}"), sig);
  ASSERT_FALSE(big.is_ok());
  EXPECT_NE(big.status().message().find("1 to 4"), std::string::npos);
}

TEST(ServerResponse, JsonOutputs) {
  ModelSignature sig = tiny_sig();
  InferRequest req;
  std::map<std::string, Tensor> results;
  results["output"] = Tensor::from_vector<float>(Shape{1, 4}, {0.1f, -2.f, 1e-20f, 3.f});
  results["aux"] = Tensor::from_vector<int64_t>(Shape{2}, {-7, 9007199254740993LL});
  auto sel = select_outputs(req, sig, results);
  ASSERT_TRUE(sel.is_ok());
  HttpBody b = build_infer_response("tiny", "req-7", *sel);
  EXPECT_EQ(b.content_type, "application/json");
  EXPECT_FALSE(b.json_length.has_value());
  json j = json::parse(b.body);
  EXPECT_EQ(j["model_name"], "tiny");
  EXPECT_EQ(j["id"], "req-7");
  ASSERT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["outputs"][0]["name"], "output");
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["outputs"][0]["shape"], json({1, 4}));
  // Shortest round-trip formatting: parses back to the same floats.
  EXPECT_EQ(j["outputs"][0]["data"][0].get<float>(), 0.1f);
  EXPECT_EQ(j["outputs"][0]["data"][2].get<float>(), 1e-20f);
  EXPECT_NE(b.body.find("0.1,"), std::string::npos);
  EXPECT_EQ(j["outputs"][1]["data"][1].get<int64_t>(), 9007199254740993LL);
}

TEST(ServerResponse, BinaryOutputsRoundTrip) {
  ModelSignature sig = tiny_sig();
  auto req = parse_ok(R"({"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[0]}],
      "outputs":[{"name":"aux"},{"name":"output","parameters":{"binary_data":true}}]})");
  std::map<std::string, Tensor> results;
  results["output"] = Tensor::from_vector<float>(Shape{1, 4}, {0.1f, -2.f, NAN, 3.f});
  results["aux"] = Tensor::from_vector<int64_t>(Shape{2}, {1, 2});
  auto sel = select_outputs(req, sig, results);
  ASSERT_TRUE(sel.is_ok());
  ASSERT_EQ(sel->size(), 2u);
  EXPECT_EQ((*sel)[0].name, "aux");  // request order
  HttpBody b = build_infer_response("tiny", "", *sel);
  EXPECT_EQ(b.content_type, "application/octet-stream");
  ASSERT_TRUE(b.json_length.has_value());
  json j = json::parse(b.body.substr(0, *b.json_length));
  EXPECT_FALSE(j.contains("id"));
  EXPECT_EQ(j["outputs"][0]["data"], json({1, 2}));
  EXPECT_EQ(j["outputs"][1]["parameters"]["binary_data_size"], 16);
  EXPECT_FALSE(j["outputs"][1].contains("data"));
  ASSERT_EQ(b.body.size(), *b.json_length + 16);
  EXPECT_EQ(std::memcmp(b.body.data() + *b.json_length, results["output"].raw(), 16), 0);  // NaN kept exactly
}

TEST(ServerResponse, NonFiniteJsonIsNull) {
  std::vector<OutputTensor> outs{{"o", Tensor::from_vector<float>(Shape{2}, {INFINITY, 1.f}), false}};
  json j = json::parse(build_infer_response("m", "", outs).body);
  EXPECT_TRUE(j["outputs"][0]["data"][0].is_null());
}

TEST(ServerResponse, MetadataAndErrors) {
  json m = json::parse(model_metadata_json("tiny", tiny_sig(8)));
  EXPECT_EQ(m["name"], "tiny");
  EXPECT_EQ(m["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(m["inputs"][0]["shape"], json({-1, 3, 2, 2}));
  EXPECT_EQ(m["outputs"][1]["datatype"], "INT64");
  EXPECT_EQ(m["parameters"]["max_batch_size"], 8);
  json s = json::parse(server_metadata_json("0.1.0"));
  EXPECT_EQ(s["name"], "anvil");
  EXPECT_EQ(s["extensions"][0], "binary_tensor_data");
  json e = json::parse(error_json("bad \"x\"\n\xff"));
  EXPECT_EQ(e["error"].get<std::string>().substr(0, 8), "bad \"x\"\n");
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8, DType::kU8, DType::kI32,
                  DType::kI64, DType::kBool})
    EXPECT_EQ(dtype_from_v2(v2_datatype(t)), std::optional<DType>(t));
  EXPECT_FALSE(dtype_from_v2("UINT16").has_value());
}

TEST(ServerMetrics, PrometheusText) {
  Metrics m;
  m.add_model("tiny");
  m.count_request("tiny", 200);
  m.count_request("tiny", 200);
  m.count_request("tiny", 400);
  m.count_request("", 404);
  m.observe_request("tiny", 0.003);
  m.observe_batch("tiny", 3);
  const std::string t = m.prometheus_text();
  EXPECT_NE(t.find("anvil_inference_requests_total{model=\"tiny\",code=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("anvil_inference_requests_total{model=\"tiny\",code=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("anvil_inference_requests_total{model=\"\",code=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE anvil_inference_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(t.find("anvil_inference_request_duration_seconds_bucket{model=\"tiny\",le=\"0.0025\"} 0\n"),
            std::string::npos);
  EXPECT_NE(t.find("anvil_inference_request_duration_seconds_bucket{model=\"tiny\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("anvil_inference_request_duration_seconds_bucket{model=\"tiny\",le=\"+Inf\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("anvil_inference_request_duration_seconds_count{model=\"tiny\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("anvil_inference_batch_size_bucket{model=\"tiny\",le=\"2\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("anvil_inference_batch_size_bucket{model=\"tiny\",le=\"4\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("anvil_inference_queue_duration_seconds_count{model=\"tiny\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace anvil::serve

// `anvil serve` end to end: the server runs in-process on an ephemeral
// loopback port with the zoo's tiny_cnn, and a real HTTP client (httplib)
// hits every endpoint: results equal a direct Session::run, binary tensor
// data round-trips, concurrent and dynamically batched requests get their
// own rows back, metrics move, bad requests get 4xx JSON errors, and stop()
// drains requests in flight.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "anvil/anvil.h"
#include "frontend/onnx/onnx_export.h"
#include "server/http_server.h"
#include "zoo/zoo.h"

namespace anvil::serve {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kInputNumel = 3 * 32 * 32;

std::string write_tiny(const fs::path& dir, const std::string& file, std::vector<int64_t> shape) {
  ZooOptions zo;
  zo.input_shape = std::move(shape);
  auto g = build_zoo_model("tiny_cnn", zo);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  const std::string path = (dir / file).string();
  Status s = save_onnx(*g, path);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return path;
}

std::vector<float> input_values(int seed, int64_t rows = 1) {
  std::vector<float> v(static_cast<size_t>(kInputNumel * rows));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(static_cast<int>((i * 37 + static_cast<size_t>(seed) * 101) % 200)) / 100.f - 1.f;
  return v;
}

std::string json_request(const std::vector<float>& x, int64_t rows, const std::string& extra = "") {
  json j = {{"id", "t"},
            {"inputs", json::array({{{"name", "input"},
                                     {"shape", {rows, 3, 32, 32}},
                                     {"datatype", "FP32"},
                                     {"data", x}}})}};
  std::string s = j.dump();
  if (!extra.empty()) s.insert(s.size() - 1, "," + extra);
  return s;
}

std::vector<float> output_of(const std::string& body) {
  json j = json::parse(body);
  return j.at("outputs").at(0).at("data").get<std::vector<float>>();
}

// Counter value from /metrics text, 0 when the series is absent.
double metric(const std::string& text, const std::string& series) {
  const size_t p = text.find(series + " ");
  if (p == std::string::npos) return 0;
  return std::stod(text.substr(p + series.size() + 1));
}

class ServerE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("anvil_serve_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    tiny_path_ = write_tiny(dir_, "tiny.onnx", {});
    tinyb_path_ = write_tiny(dir_, "tiny_dyn.onnx", {-1, 3, 32, 32});

    auto m = Model::load(tiny_path_);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    auto s = m->compile({.threads = 1});
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    reference_ = new Session(std::move(s).value());

    metrics_ = new Metrics();
    repo_ = new ModelRepository();
    ModelConfig c;
    c.name = "tiny";
    c.path = tiny_path_;
    c.compile.threads = 1;
    c.instances = 2;
    ASSERT_TRUE(repo_->add(c, metrics_).is_ok());
    ModelConfig b = c;
    b.name = "tinyb";
    b.path = tinyb_path_;
    b.instances = 1;
    b.max_batch = 4;
    b.max_queue_delay_us = 2000;
    Status sb = repo_->add(b, metrics_);
    ASSERT_TRUE(sb.is_ok()) << sb.to_string();

    ServerOptions so;
    so.host = "127.0.0.1";
    so.port = 0;
    so.max_body_bytes = 4 << 20;
    server_ = new InferenceServer(*repo_, *metrics_, so);
    auto port = server_->bind();
    ASSERT_TRUE(port.is_ok()) << port.status().to_string();
    port_ = *port;
    thread_ = new std::thread([] { EXPECT_TRUE(server_->serve().is_ok()); });
  }

  static void TearDownTestSuite() {
    if (server_) server_->stop();
    if (thread_) thread_->join();
    if (repo_) repo_->stop_all();
    delete thread_;
    delete server_;
    delete repo_;
    delete metrics_;
    delete reference_;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5);
    c.set_read_timeout(30);
    c.set_write_timeout(30);
    return c;
  }

  static std::vector<float> reference(const std::vector<float>& x) {
    Tensor t(DType::kF32, Shape{1, 3, 32, 32});
    std::memcpy(t.raw(), x.data(), x.size() * sizeof(float));
    auto out = reference_->run({{"input", t}});
    EXPECT_TRUE(out.is_ok()) << out.status().to_string();
    return out->at("output").to_f32_vector();
  }

  static inline fs::path dir_;
  static inline std::string tiny_path_, tinyb_path_;
  static inline Session* reference_ = nullptr;
  static inline Metrics* metrics_ = nullptr;
  static inline ModelRepository* repo_ = nullptr;
  static inline InferenceServer* server_ = nullptr;
  static inline std::thread* thread_ = nullptr;
  static inline int port_ = 0;
};

TEST_F(ServerE2E, HealthAndMetadata) {
  auto c = client();
  for (const char* path : {"/v2/health/live", "/v2/health/ready", "/v2/models/tiny/ready",
                           "/v2/models/tiny/versions/1/ready", "/v2/models/tinyb/ready"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
  }
  auto sm = c.Get("/v2");
  ASSERT_TRUE(sm);
  EXPECT_EQ(sm->status, 200);
  EXPECT_EQ(json::parse(sm->body)["name"], "anvil");

  auto mm = c.Get("/v2/models/tiny");
  ASSERT_TRUE(mm);
  ASSERT_EQ(mm->status, 200);
  json m = json::parse(mm->body);
  EXPECT_EQ(m["name"], "tiny");
  EXPECT_EQ(m["inputs"][0]["name"], "input");
  EXPECT_EQ(m["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(m["inputs"][0]["shape"], json({1, 3, 32, 32}));
  EXPECT_EQ(m["outputs"][0]["name"], "output");
  EXPECT_EQ(m["outputs"][0]["shape"], json({1, 10}));

  json mb = json::parse(c.Get("/v2/models/tinyb")->body);
  EXPECT_EQ(mb["inputs"][0]["shape"], json({-1, 3, 32, 32}));
  EXPECT_EQ(mb["parameters"]["max_batch_size"], 4);

  for (const char* path : {"/v2/models/nope", "/v2/models/nope/ready", "/v2/models/tiny/versions/2", "/nothing"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_TRUE(json::parse(r->body).contains("error")) << path << ": " << r->body;
  }
}

TEST_F(ServerE2E, JsonInferEqualsSessionRun) {
  auto c = client();
  const auto x = input_values(3);
  auto r = c.Post("/v2/models/tiny/infer", json_request(x, 1), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["model_name"], "tiny");
  EXPECT_EQ(j["id"], "t");
  EXPECT_EQ(j["outputs"][0]["shape"], json({1, 10}));
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(output_of(r->body), reference(x));  // shortest round-trip floats: exact

  auto v = c.Post("/v2/models/tiny/versions/1/infer", json_request(x, 1), "application/json");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, 200);
}

TEST_F(ServerE2E, BinaryTensorDataRoundTrip) {
  auto c = client();
  const auto x = input_values(5);
  const std::string header = json{{"inputs", json::array({{{"name", "input"},
                                                            {"shape", {1, 3, 32, 32}},
                                                            {"datatype", "FP32"},
                                                            {"parameters", {{"binary_data_size", x.size() * 4}}}}})},
                                  {"outputs", json::array({{{"name", "output"}, {"parameters", {{"binary_data", true}}}}})}}
                                 .dump();
  std::string body = header;
  body.append(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(float));
  httplib::Headers h{{"Inference-Header-Content-Length", std::to_string(header.size())}};
  auto r = c.Post("/v2/models/tiny/infer", h, body, "application/octet-stream");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(r->has_header("Inference-Header-Content-Length"));
  const size_t jl = std::stoul(r->get_header_value("Inference-Header-Content-Length"));
  ASSERT_LE(jl, r->body.size());
  json j = json::parse(r->body.substr(0, jl));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 40);
  ASSERT_EQ(r->body.size() - jl, 40u);
  std::vector<float> y(10);
  std::memcpy(y.data(), r->body.data() + jl, 40);
  EXPECT_EQ(y, reference(x));
}

TEST_F(ServerE2E, ConcurrentRequestsGetTheirOwnResults) {
  constexpr int kThreads = 4, kPerThread = 6;
  std::vector<std::vector<float>> want;
  for (int i = 0; i < kThreads * kPerThread; ++i) want.push_back(reference(input_values(100 + i)));
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      auto c = client();
      for (int k = 0; k < kPerThread; ++k) {
        const int i = t * kPerThread + k;
        // Alternate the plain and the dynamically batched model.
        const std::string model = i % 2 ? "tinyb" : "tiny";
        auto r = c.Post("/v2/models/" + model + "/infer", json_request(input_values(100 + i), 1), "application/json");
        if (!r || r->status != 200) continue;
        const auto y = output_of(r->body);
        bool close = y.size() == want[i].size();
        for (size_t e = 0; close && e < y.size(); ++e) close = std::fabs(y[e] - want[i][e]) <= 1e-5f;
        ok += close;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
}

TEST_F(ServerE2E, BatchedModelTakesSeveralRows) {
  auto c = client();
  const auto x = input_values(9, 3);
  auto r = c.Post("/v2/models/tinyb/infer", json_request(x, 3), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["outputs"][0]["shape"], json({3, 10}));
  const auto y = output_of(r->body);
  ASSERT_EQ(y.size(), 30u);
  for (int row = 0; row < 3; ++row) {
    std::vector<float> xr(x.begin() + row * kInputNumel, x.begin() + (row + 1) * kInputNumel);
    const auto want = reference(xr);
    for (int e = 0; e < 10; ++e) EXPECT_NEAR(y[row * 10 + e], want[e], 1e-5f) << "row " << row;
  }
  auto too_big = c.Post("/v2/models/tinyb/infer", json_request(input_values(1, 5), 5), "application/json");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 400);
  EXPECT_NE(too_big->body.find("1 to 4"), std::string::npos) << too_big->body;
}

TEST_F(ServerE2E, BadRequestsAreJsonErrors) {
  auto c = client();
  struct Case {
    std::string path, body;
    int status;
    std::string needle;
  };
  const auto x = input_values(1);
  std::string wrong_dtype = json_request(x, 1);
  wrong_dtype.replace(wrong_dtype.find("\"FP32\""), 6, "\"FP64\"");
  const std::vector<Case> cases = {
      {"/v2/models/nope/infer", json_request(x, 1), 404, "unknown model"},
      {"/v2/models/tiny/infer", "{not json", 400, "malformed JSON"},
      {"/v2/models/tiny/infer", "", 400, "empty"},
      {"/v2/models/tiny/infer", wrong_dtype, 400, "datatype FP64"},
      {"/v2/models/tiny/infer", json_request(input_values(1, 2), 2), 400, "shape [2,3,32,32]"},
      {"/v2/models/tiny/infer", R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})", 400,
       "unknown input"},
      {"/v2/models/tiny/infer", R"({"inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","data":[1]}]})",
       400, "3072 elements"},
      {"/v2/models/tiny/infer", json_request(x, 1, R"("outputs":[{"name":"zzz"}])"), 400, "unknown output"},
  };
  for (const Case& k : cases) {
    auto r = c.Post(k.path, k.body, "application/json");
    ASSERT_TRUE(r) << k.needle;
    EXPECT_EQ(r->status, k.status) << k.needle << ": " << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(k.needle), std::string::npos) << r->body;
  }
  // Binary sizes past the body.
  const std::string h =
      R"({"inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","parameters":{"binary_data_size":12288}}]})";
  auto r = c.Post("/v2/models/tiny/infer", httplib::Headers{{"Inference-Header-Content-Length", std::to_string(h.size())}},
                  h + "short", "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("remain"), std::string::npos) << r->body;
  // Oversized body: 413 (or the connection is cut while still sending);
  // either way the server keeps serving.
  auto big = c.Post("/v2/models/tiny/infer", std::string(5 << 20, ' '), "application/json");
  if (big) {
    EXPECT_EQ(big->status, 413);
  }
  auto live = client().Get("/v2/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
}

TEST_F(ServerE2E, MetricsCountersMove) {
  auto c = client();
  auto before = c.Get("/metrics");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  EXPECT_NE(before->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  const std::string ok_series = "anvil_inference_requests_total{model=\"tiny\",code=\"200\"}";
  const std::string bad_series = "anvil_inference_requests_total{model=\"tiny\",code=\"400\"}";
  const std::string lat_series = "anvil_inference_request_duration_seconds_count{model=\"tiny\"}";
  const std::string batch_series = "anvil_inference_batch_size_count{model=\"tinyb\"}";
  const double ok0 = metric(before->body, ok_series), bad0 = metric(before->body, bad_series);
  const double lat0 = metric(before->body, lat_series), batch0 = metric(before->body, batch_series);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.Post("/v2/models/tiny/infer", json_request(input_values(i), 1), "application/json")->status, 200);
  ASSERT_EQ(c.Post("/v2/models/tiny/infer", "[]", "application/json")->status, 400);
  ASSERT_EQ(c.Post("/v2/models/tinyb/infer", json_request(input_values(0), 1), "application/json")->status, 200);
  auto after = c.Get("/metrics");
  ASSERT_TRUE(after);
  EXPECT_EQ(metric(after->body, ok_series), ok0 + 3);
  EXPECT_EQ(metric(after->body, bad_series), bad0 + 1);
  EXPECT_EQ(metric(after->body, lat_series), lat0 + 3);
  EXPECT_GE(metric(after->body, batch_series), batch0 + 1);
  EXPECT_NE(after->body.find("anvil_inference_queue_duration_seconds_bucket{model=\"tiny\",le=\"+Inf\"}"),
            std::string::npos);
}

// Dynamic batching without HTTP: four one-row requests against max_batch 4
// and a long delay fill the batch, so exactly one run of 4 rows serves them
// all, each getting its own row back.
TEST(ServerBatching, FullBatchRunsOnceAndSplits) {
  const fs::path dir = fs::temp_directory_path() / ("anvil_serve_batch_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Metrics metrics;
  ModelConfig c;
  c.name = "b";
  c.path = write_tiny(dir, "tiny.onnx", {});  // static batch 1: dim 0 is rebound
  c.compile.threads = 1;
  c.max_batch = 4;
  c.max_queue_delay_us = 5'000'000;
  auto runner = ModelRunner::create(c, &metrics);
  ASSERT_TRUE(runner.is_ok()) << runner.status().to_string();
  // Batching stays on, and the sessions of sizes 2 and 4 share batch 1's
  // weights (every byte: the same file, the same optimizer).
  const std::vector<std::string>& notes = (*runner)->notes();
  ASSERT_EQ(notes.size(), 2u);
  for (size_t i = 0; i < notes.size(); ++i) {
    EXPECT_EQ(notes[i].find("dynamic batching off"), std::string::npos) << notes[i];
    EXPECT_EQ(notes[i].rfind("weights shared with batch 1, batch " + std::to_string(2 << i) + ": ", 0), 0u) << notes[i];
    const size_t of = notes[i].find(" of ");
    ASSERT_NE(of, std::string::npos) << notes[i];
    const size_t colon = notes[i].find(": ");
    EXPECT_EQ(notes[i].substr(colon + 2, of - colon - 2), notes[i].substr(of + 4, notes[i].find(" MB") - of - 4))
        << "every weight shared: " << notes[i];
  }
  EXPECT_EQ((*runner)->signature().inputs[0].shape, (Shape{-1, 3, 32, 32}));

  auto m = Model::load(c.path);
  ASSERT_TRUE(m.is_ok());
  auto ref = m->compile({.threads = 1});
  ASSERT_TRUE(ref.is_ok());
  std::vector<Tensor> xs;
  std::vector<std::vector<float>> want;
  for (int i = 0; i < 4; ++i) {
    const auto v = input_values(40 + i);
    Tensor t(DType::kF32, Shape{1, 3, 32, 32});
    std::memcpy(t.raw(), v.data(), v.size() * sizeof(float));
    xs.push_back(t);
    auto out = ref->run({{"input", t}});
    ASSERT_TRUE(out.is_ok());
    want.push_back(out->at("output").to_f32_vector());
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<float>> got(4);
  std::vector<InferTiming> timing(4);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      auto r = (*runner)->infer({{"input", xs[static_cast<size_t>(i)]}}, 1, &timing[static_cast<size_t>(i)]);
      if (r.is_ok()) got[static_cast<size_t>(i)] = r->at("output").to_f32_vector();
    });
  for (auto& t : ts) t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));  // did not wait out the delay
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(got[i].size(), 10u) << i;
    EXPECT_EQ(timing[i].batch_rows, 4) << i;
    for (int e = 0; e < 10; ++e) EXPECT_NEAR(got[i][e], want[i][e], 1e-5f) << "request " << i;
  }
  const std::string text = metrics.prometheus_text();
  EXPECT_NE(text.find("anvil_inference_batch_size_count{model=\"b\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("anvil_inference_batch_size_sum{model=\"b\"} 4\n"), std::string::npos);
  (*runner)->stop();
  auto late = (*runner)->infer({{"input", xs[0]}}, 1);
  ASSERT_FALSE(late.is_ok());
  EXPECT_EQ(late.status().code(), StatusCode::kOutOfRange);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// A server of its own: requests waiting in the batching queue when stop()
// comes are still answered, and the server then exits.
TEST(ServerShutdown, StopDrainsInFlightRequests) {
  const fs::path dir = fs::temp_directory_path() / ("anvil_serve_stop_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Metrics metrics;
  ModelRepository repo;
  ModelConfig c;
  c.name = "slow";
  c.path = write_tiny(dir, "tiny_dyn.onnx", {-1, 3, 32, 32});
  c.compile.threads = 1;
  c.max_batch = 8;
  c.max_queue_delay_us = 400'000;  // requests sit in the queue while stop() runs
  ASSERT_TRUE(repo.add(c, &metrics).is_ok());
  InferenceServer server(repo, metrics, {.host = "127.0.0.1", .port = 0});
  auto port = server.bind();
  ASSERT_TRUE(port.is_ok());
  std::thread serving([&] { EXPECT_TRUE(server.serve().is_ok()); });

  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i)
    clients.emplace_back([&, i] {
      httplib::Client cl("127.0.0.1", *port);
      cl.set_read_timeout(30);
      auto r = cl.Post("/v2/models/slow/infer", json_request(input_values(i), 1), "application/json");
      if (r && r->status == 200) ++answered;
    });
  // Loopback connections are up within milliseconds; the requests then wait
  // out the 400 ms batching delay, and stop() comes in the middle of it.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const auto t0 = std::chrono::steady_clock::now();
  server.stop();
  serving.join();
  for (auto& t : clients) t.join();
  repo.stop_all();
  EXPECT_EQ(answered.load(), 3);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  httplib::Client after("127.0.0.1", *port);
  after.set_connection_timeout(1);
  EXPECT_FALSE(after.Get("/v2/health/live"));  // no longer listening
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace anvil::serve

#include "server/http_server.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <httplib.h>

#include "server/protocol.h"

namespace anvil::serve {

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kJson = "application/json";

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(message), kJson);
}

int http_status_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnsupported: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kOutOfRange: return 503;
    default: return 500;
  }
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct InferenceServer::Impl {
  Impl(ModelRepository& r, Metrics& m, ServerOptions o) : repo(r), metrics(m), opts(std::move(o)) {}

  ModelRepository& repo;
  Metrics& metrics;
  ServerOptions opts;
  httplib::Server svr;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> serving{false};

  // The model named by the URL, or an error response (404) and nullptr.
  ModelRunner* model_for(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    ModelRunner* m = repo.find(name);
    if (!m) {
      send_error(res, 404, "unknown model '" + name + "'");
      return nullptr;
    }
    if (req.matches[2].matched && req.matches[2].str() != "1") {
      send_error(res, 404, "model '" + name + "' has no version '" + req.matches[2].str() + "' (it has version 1)");
      return nullptr;
    }
    return m;
  }

  void infer(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    const auto t0 = std::chrono::steady_clock::now();
    ModelRunner* m = model_for(req, res);
    if (!m) {
      metrics.count_request("", res.status);
      return;
    }
    // Read through a ContentReader: httplib caps bodies sent as
    // application/x-www-form-urlencoded (curl -d's default) at 8 KiB
    // otherwise. The payload limit still applies (413).
    std::string request_body;
    if (!read([&](const char* data, size_t n) {
          request_body.append(data, n);
          return true;
        })) {
      if (res.status < 400) send_error(res, 400, "could not read the request body");
      metrics.count_request(m->name(), res.status);
      return;
    }
    const std::string& name = m->name();
    auto fail = [&](const Status& s) {
      send_error(res, http_status_for(s), s.message());
      metrics.count_request(name, res.status);
    };
    std::optional<std::string> header_len;
    if (req.has_header("Inference-Header-Content-Length"))
      header_len = req.get_header_value("Inference-Header-Content-Length");
    std::optional<std::string_view> hl;
    if (header_len) hl = *header_len;
    auto parsed = parse_infer_request(request_body, hl);
    if (!parsed) return fail(parsed.status());
    const ModelSignature& sig = m->signature();
    auto rows = check_request(*parsed, sig);
    if (!rows) return fail(rows.status());
    InferTiming timing;
    auto out = m->infer(std::move(parsed->inputs), *rows, &timing);
    if (!out) return fail(out.status());
    auto selected = select_outputs(*parsed, sig, *out);
    if (!selected) return fail(selected.status());
    // A result that does not have the shape the model advertises is a bug;
    // it is never sent.
    for (const OutputTensor& o : *selected) {
      for (const TensorInfo& ti : sig.outputs) {
        if (ti.name != o.name) continue;
        Shape want = ti.shape;
        if (sig.max_batch > 1) want[0] = *rows;
        if (o.tensor.shape() != want || o.tensor.dtype() != ti.dtype)
          return fail(internal_error("output '" + o.name + "' came out as " + o.tensor.desc() + ", expected " +
                                     dtype_name(ti.dtype) + "[" + want.str() + "]"));
      }
    }
    request_body.clear();
    request_body.shrink_to_fit();
    HttpBody out_body = build_infer_response(name, parsed->id, *selected);
    res.status = 200;
    if (out_body.json_length)
      res.set_header("Inference-Header-Content-Length", std::to_string(*out_body.json_length));
    res.set_content(std::move(out_body.body), out_body.content_type.c_str());
    metrics.count_request(name, 200);
    metrics.observe_request(name, since(t0));
  }

  void routes() {
    const std::string model = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
    svr.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    svr.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
      // Models are compiled before the socket opens; not ready only while
      // shutting down, so load balancers stop sending.
      if (stop_requested) send_error(res, 503, "shutting down");
      else res.status = 200;
    });
    svr.Get(R"(/v2/?)", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(server_metadata_json(kVersion), kJson);
    });
    svr.Get(model, [this](const httplib::Request& req, httplib::Response& res) {
      if (ModelRunner* m = model_for(req, res)) res.set_content(model_metadata_json(m->name(), m->signature()), kJson);
    });
    svr.Get(model + "/ready", [this](const httplib::Request& req, httplib::Response& res) {
      if (model_for(req, res)) res.status = 200;
    });
    svr.Post(model + "/infer", [this](const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& read) { infer(req, res, read); });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.prometheus_text(), "text/plain; version=0.0.4");
    });

    // Every error response has a JSON body, including httplib's own
    // (unknown path 404, oversized body 413, malformed HTTP 400).
    svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                      httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      std::string msg;
      if (res.status == 404) msg = "no such endpoint: " + req.method + " " + req.path;
      else if (res.status == 413)
        msg = "request body larger than the limit of " + std::to_string(opts.max_body_bytes) + " bytes";
      else msg = "HTTP status " + std::to_string(res.status);
      res.set_content(error_json(msg), kJson);
      return httplib::Server::HandlerResponse::Handled;
    }));
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, 500, "internal error: " + what);
    });
  }
};

InferenceServer::InferenceServer(ModelRepository& repo, Metrics& metrics, ServerOptions options)
    : impl_(std::make_unique<Impl>(repo, metrics, std::move(options))) {
  Impl& s = *impl_;
  s.routes();
  s.svr.set_payload_max_length(s.opts.max_body_bytes);
  s.svr.set_read_timeout(s.opts.read_timeout_s, 0);
  // Idle keep-alive connections hold a worker; short so shutdown drains fast.
  s.svr.set_keep_alive_timeout(2);
  s.svr.set_tcp_nodelay(true);
  int threads = s.opts.http_threads;
  if (threads <= 0) {
    int rows = 0;
    for (const std::string& n : repo.names()) {
      ModelRunner* m = repo.find(n);
      rows += m->signature().max_batch * m->instances();
    }
    threads = std::clamp(2 * rows, 8, 256);
  }
  s.svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
}

InferenceServer::~InferenceServer() { stop(); }

Result<int> InferenceServer::bind() {
  Impl& s = *impl_;
  errno = 0;
  int port = s.opts.port;
  bool ok;
  if (port == 0) {
    port = s.svr.bind_to_any_port(s.opts.host);
    ok = port > 0;
  } else {
    ok = s.svr.bind_to_port(s.opts.host, port);
  }
  if (!ok)
    return io_error("cannot listen on " + s.opts.host + ":" + std::to_string(s.opts.port) +
                    (errno ? std::string(": ") + std::strerror(errno) : std::string()));
  return port;
}

Status InferenceServer::serve() {
  Impl& s = *impl_;
  // Set before the check so that stop() either sees serving or is seen.
  s.serving = true;
  if (s.stop_requested) {
    s.serving = false;
    return Status::ok();
  }
  const bool ok = s.svr.listen_after_bind();
  s.serving = false;
  if (!ok && !s.stop_requested) return io_error("the HTTP server stopped unexpectedly");
  return Status::ok();
}

void InferenceServer::stop() {
  Impl& s = *impl_;
  s.stop_requested = true;
  // serve() may be between its check and the accept loop; wait (bounded)
  // for the loop so that stopping it is not lost.
  for (int i = 0; i < 5000 && s.serving && !s.svr.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  s.svr.stop();
}

}  // namespace anvil::serve

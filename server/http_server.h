// The KServe v2 REST endpoints over HTTP/1.1 (cpp-httplib), plus /metrics.
//
//   GET  /v2/health/live, /v2/health/ready      200, empty body
//   GET  /v2                                    server metadata
//   GET  /v2/models/NAME[/versions/1]           model metadata
//   GET  /v2/models/NAME[/versions/1]/ready     200, or 404 for unknown models
//   POST /v2/models/NAME[/versions/1]/infer     JSON or binary tensor data
//   GET  /metrics                               Prometheus text format
//
// Errors are {"error": "..."} with 400 (bad request), 404 (unknown model or
// path), 413 (body too large), 503 (queue full or shutting down) or 500.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "anvil/status.h"
#include "server/metrics.h"
#include "server/repository.h"

namespace anvil::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (see bind())
  size_t max_body_bytes = size_t{256} << 20;
  // Connections served at once; each waiting inference holds one. 0: enough
  // for every model's instances to fill a batch twice, at least 8.
  int http_threads = 0;
  int read_timeout_s = 30;
};

class InferenceServer {
 public:
  InferenceServer(ModelRepository& repo, Metrics& metrics, ServerOptions options);
  ~InferenceServer();

  // Binds the listening socket; returns the port (the chosen one for port 0).
  Result<int> bind();
  // Serves until stop(); returns once in-flight requests are answered.
  Status serve();
  // Stops accepting; callable from any thread, also before serve() starts.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anvil::serve

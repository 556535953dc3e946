#include "serve.h"

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

#include "server/http_server.h"
#include "server/metrics.h"
#include "server/repository.h"

namespace anvil::cli {

CLI::App* add_serve_command(CLI::App& app, ServeArgs& a) {
  auto* c = app.add_subcommand("serve", "Serve models over HTTP with the KServe v2 (Open Inference) protocol");
  c->add_option("--model,-m", a.models, "NAME=PATH: serve the model at PATH as NAME (repeatable)")->required();
  c->add_option("--shape", a.shapes,
                "Bind an input shape: NAME:INPUT:1,3,224,224 (INPUT:1,3,224,224 with one model; repeatable)");
  c->add_option("--host", a.host, "Address to listen on (0.0.0.0: every interface)");
  c->add_option("--port,-p", a.port, "TCP port (0: any free port)")->check(CLI::Range(0, 65535));
  c->add_option("--threads", a.threads, "Worker threads per model instance (0: one per physical core)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--instances", a.instances, "Model instances (compiled copies) running requests in parallel")
      ->check(CLI::Range(1, 64));
  c->add_option("--max-batch", a.max_batch,
                "Dynamic batching: up to this many rows (dim 0) per run for models with a batch dimension")
      ->check(CLI::Range(1, 256));
  c->add_option("--max-queue-delay-us", a.max_queue_delay_us,
                "Dynamic batching: how long the oldest request may wait for more to fill a batch")
      ->check(CLI::Range(int64_t{0}, int64_t{10'000'000}));
  c->add_option("--max-queue", a.max_queue, "Requests waiting per model before 503s")->check(CLI::PositiveNumber);
  c->add_option("--http-threads", a.http_threads, "Connections served at once (0: automatic)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--max-body-mb", a.max_body_mb, "Largest request body, MiB")->check(CLI::PositiveNumber);
  c->add_option("--epoch", a.epoch, "MXNet checkpoint epoch");
  c->add_option("-O,--opt-level", a.opt_level, "Optimization level 0..3 (default 3)")->check(CLI::Range(0, 3));
  c->add_option("--denormals", a.denormals, "flush (FTZ/DAZ + flush subnormal weights) or keep")
      ->check(CLI::IsMember({"flush", "keep"}));
  return c;
}

namespace {

bool valid_model_name(const std::string& n) {
  if (n.empty() || n.size() > 128) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return n != "." && n != "..";
}

Result<std::vector<serve::ModelConfig>> model_configs(const ServeArgs& a) {
  std::vector<serve::ModelConfig> v;
  for (const std::string& m : a.models) {
    const size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      return invalid_argument("bad --model '" + m + "': expected NAME=PATH");
    serve::ModelConfig c;
    c.name = m.substr(0, eq);
    c.path = m.substr(eq + 1);
    if (!valid_model_name(c.name))
      return invalid_argument("bad model name '" + c.name + "': use letters, digits, '_', '-' and '.' (it goes in URLs)");
    for (const auto& o : v)
      if (o.name == c.name) return invalid_argument("model name '" + c.name + "' is given twice");
    c.load.epoch = a.epoch;
    c.compile.threads = a.threads;
    c.compile.opt_level = a.opt_level;
    c.compile.flush_denormals = a.denormals != "keep";
    c.instances = a.instances;
    c.max_batch = a.max_batch;
    c.max_queue_delay_us = a.max_queue_delay_us;
    c.max_queue = a.max_queue;
    v.push_back(std::move(c));
  }
  for (const std::string& s : a.shapes) {
    // NAME:INPUT:dims names the model; INPUT:dims is enough with one model.
    serve::ModelConfig* target = nullptr;
    std::string rest = s;
    const size_t colon = s.find(':');
    for (auto& c : v)
      if (colon != std::string::npos && s.compare(0, colon, c.name) == 0 &&
          s.find_first_of(":=", colon + 1) != std::string::npos) {
        target = &c;
        rest = s.substr(colon + 1);
      }
    if (!target) {
      if (v.size() != 1)
        return invalid_argument("bad --shape '" + s + "': with several models, write MODEL:INPUT:D0,D1,...");
      target = &v.front();
    }
    std::string input;
    Shape shape;
    ANVIL_TRY(parse_shape_arg(rest, input, shape));
    target->load.shapes[input] = shape;
  }
  return v;
}

std::string describe(const std::vector<TensorInfo>& v) {
  std::string r;
  for (const TensorInfo& t : v) {
    std::string dims;
    for (size_t i = 0; i < t.shape.rank(); ++i) dims += (i ? "x" : "") + (t.shape[i] < 0 ? std::string("N") : std::to_string(t.shape[i]));
    r += (r.empty() ? "" : ", ") + t.name + ": " + serve::v2_datatype(t.dtype) + "[" + dims + "]";
  }
  return r;
}

}  // namespace

int cmd_serve(const ServeArgs& a) {
  // Signals go to one thread that sigwait()s, never to a handler that would
  // interrupt a worker: blocked here, before any thread exists, so every
  // thread (compile pools, HTTP workers) inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto configs = model_configs(a);
  if (!configs) return report(configs.status());
  serve::Metrics metrics;
  serve::ModelRepository repo;
  for (const serve::ModelConfig& c : *configs) {
    std::fprintf(stderr, "anvil serve: loading '%s' from %s\n", c.name.c_str(), c.path.c_str());
    Status s = repo.add(c, &metrics);
    if (!s.is_ok()) return report(s);
    const serve::ModelRunner* m = repo.find(c.name);
    std::fprintf(stderr, "anvil serve: '%s' ready: inputs %s; outputs %s; %d instance(s), max batch %d\n",
                 c.name.c_str(), describe(m->signature().inputs).c_str(), describe(m->signature().outputs).c_str(),
                 m->instances(), m->signature().max_batch);
    for (const std::string& n : m->notes()) std::fprintf(stderr, "anvil serve: '%s': %s\n", c.name.c_str(), n.c_str());
  }

  serve::ServerOptions so;
  so.host = a.host;
  so.port = a.port;
  so.http_threads = a.http_threads;
  so.max_body_bytes = static_cast<size_t>(a.max_body_mb * 1024 * 1024);
  serve::InferenceServer server(repo, metrics, so);
  auto port = server.bind();
  if (!port) return report(port.status());
  std::printf("anvil serve: listening on http://%s:%d (Ctrl-C or SIGTERM stops)\n", a.host.c_str(), *port);
  std::fflush(stdout);

  std::atomic<bool> finished{false};
  std::thread sig_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (finished) return;
    std::fprintf(stderr, "anvil serve: %s: finishing in-flight requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
  });
  Status s = server.serve();
  repo.stop_all();
  finished = true;
  pthread_kill(sig_thread.native_handle(), SIGTERM);  // wakes sigwait if no signal came
  sig_thread.join();
  if (!s.is_ok()) return report(s);
  std::fprintf(stderr, "anvil serve: stopped\n");
  return 0;
}

}  // namespace anvil::cli

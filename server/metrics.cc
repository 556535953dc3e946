#include "server/metrics.h"

#include <charconv>

namespace anvil::serve {

namespace {

std::string num(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// Prometheus label values escape backslash, quote and newline.
std::string label_value(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '\\' || c == '"') r += '\\', r += c;
    else if (c == '\n') r += "\\n";
    else r += c;
  }
  return r;
}

// Seconds, from 100 us (a tiny model) to 10 s (a big one on a busy host).
std::vector<double> time_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cum = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{" + labels + ",le=\"" + (i < bounds_.size() ? num(bounds_[i]) : "+Inf") + "\"} " +
           std::to_string(cum) + "\n";
  }
  out += name + "_sum{" + labels + "} " + num(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

Metrics::PerModel::PerModel()
    : latency(time_buckets()), queue(time_buckets()), compute(time_buckets()),
      batch({1, 2, 4, 8, 16, 32, 64, 128, 256}) {}

Metrics::PerModel& Metrics::get(const std::string& model) { return models_[model]; }

void Metrics::add_model(const std::string& model) {
  std::lock_guard<std::mutex> lk(mu_);
  get(model);
}

void Metrics::count_request(const std::string& model, int http_status) {
  std::lock_guard<std::mutex> lk(mu_);
  ++get(model).requests[http_status];
}
void Metrics::observe_request(const std::string& model, double s) {
  std::lock_guard<std::mutex> lk(mu_);
  get(model).latency.observe(s);
}
void Metrics::observe_queue(const std::string& model, double s) {
  std::lock_guard<std::mutex> lk(mu_);
  get(model).queue.observe(s);
}
void Metrics::observe_compute(const std::string& model, double s) {
  std::lock_guard<std::mutex> lk(mu_);
  get(model).compute.observe(s);
}
void Metrics::observe_batch(const std::string& model, int64_t n) {
  std::lock_guard<std::mutex> lk(mu_);
  get(model).batch.observe(static_cast<double>(n));
}

std::string Metrics::prometheus_text() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::string out;
  out += "# HELP anvil_inference_requests_total Inference requests by model and HTTP status.\n";
  out += "# TYPE anvil_inference_requests_total counter\n";
  for (const auto& [model, m] : models_)
    for (const auto& [code, n] : m.requests)
      out += "anvil_inference_requests_total{model=\"" + label_value(model) + "\",code=\"" + std::to_string(code) +
             "\"} " + std::to_string(n) + "\n";
  struct H {
    const char* name;
    const char* help;
    const Histogram PerModel::*h;
  };
  const H hs[] = {
      {"anvil_inference_request_duration_seconds", "Time from a request's arrival to its response, successful requests.",
       &PerModel::latency},
      {"anvil_inference_queue_duration_seconds", "Time a request waited for a free model instance or a batch.",
       &PerModel::queue},
      {"anvil_inference_compute_duration_seconds", "Time of one model execution (one batch).", &PerModel::compute},
      {"anvil_inference_batch_size", "Requests' rows per model execution.", &PerModel::batch},
  };
  for (const H& h : hs) {
    out += std::string("# HELP ") + h.name + " " + h.help + "\n";
    out += std::string("# TYPE ") + h.name + " histogram\n";
    for (const auto& [model, m] : models_) {
      if (model.empty()) continue;  // unknown-model requests are only counted
      (m.*h.h).write(out, h.name, "model=\"" + label_value(model) + "\"");
    }
  }
  return out;
}

}  // namespace anvil::serve

// Counters and histograms for GET /metrics, in the Prometheus text format.
// Label values are model names from the server's own configuration, never
// from requests, so a client cannot grow the label set.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace anvil::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  // Appends the _bucket/_sum/_count lines for `name` with `labels`
  // ("model=\"m\"").
  void write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // one per bound, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  // Every model the server knows, so its series exist (at zero) before the
  // first request.
  void add_model(const std::string& model);
  // `model` is "" for requests naming no known model.
  void count_request(const std::string& model, int http_status);
  void observe_request(const std::string& model, double seconds);
  void observe_queue(const std::string& model, double seconds);
  void observe_compute(const std::string& model, double seconds);
  void observe_batch(const std::string& model, int64_t batch_size);
  std::string prometheus_text() const;

 private:
  struct PerModel {
    PerModel();
    std::map<int, uint64_t> requests;  // by HTTP status
    Histogram latency, queue, compute, batch;
  };
  PerModel& get(const std::string& model);

  mutable std::mutex mu_;
  std::map<std::string, PerModel> models_;
};

}  // namespace anvil::serve

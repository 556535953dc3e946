// The models a server serves. Each model has a request queue, a few worker
// threads ("instances") and one Session per compiled batch size, which all
// instances run at once (a Session serves concurrent runs, each on an
// executor of its own; the weights and packed weights are the session's,
// and the sizes after the first share the first one's). A worker takes one
// request, or with dynamic batching gathers requests until max_batch rows
// or max_queue_delay_us after the oldest arrived, concatenates them along
// dim 0, runs the Session compiled for that batch size (padded up to the
// next compiled size) and splits the results back.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "anvil/anvil.h"
#include "server/metrics.h"
#include "server/protocol.h"

namespace anvil::serve {

struct ModelConfig {
  std::string name;
  std::string path;
  LoadOptions load;  // input shapes to bind, MXNet epoch
  CompileOptions compile;
  int instances = 1;
  // > 1 enables dynamic batching along dim 0 of every input, for models whose
  // outputs have the batch as dim 0 too; others are served unbatched (with a
  // note in ModelRunner::notes()).
  int max_batch = 1;
  int64_t max_queue_delay_us = 0;
  // Requests waiting beyond this are refused (503) instead of queued.
  size_t max_queue = 1024;
};

struct InferTiming {
  double queue_s = 0;    // enqueue to picked up by a worker
  double compute_s = 0;  // the Session::run of its batch
  int64_t batch_rows = 0;
};

class ModelRunner {
 public:
  // Loads and compiles (one session per batch size, an executor per
  // instance in each) and starts the workers.
  static Result<std::unique_ptr<ModelRunner>> create(const ModelConfig& config, Metrics* metrics = nullptr);
  ~ModelRunner();

  const std::string& name() const { return config_.name; }
  const ModelSignature& signature() const { return sig_; }
  // Startup remarks, e.g. why batching was turned off.
  const std::vector<std::string>& notes() const { return notes_; }
  int instances() const { return static_cast<int>(instances_.size()); }

  // Runs one request (already checked with check_request) and blocks until
  // its outputs are ready. kOutOfRange when the queue is full or the runner
  // is stopping.
  Result<std::map<std::string, Tensor>> infer(std::map<std::string, Tensor> inputs, int64_t rows,
                                              InferTiming* timing = nullptr);

  // Refuses new requests, finishes the queued ones, joins the workers.
  void stop();

 private:
  struct Done {
    Result<std::map<std::string, Tensor>> result;
    InferTiming timing;
  };
  struct Pending {
    std::map<std::string, Tensor> inputs;
    int64_t rows = 1;
    std::chrono::steady_clock::time_point enqueued;
    std::promise<Done> done;
    InferTiming timing;
  };
  struct Instance {
    std::thread thread;
  };

  ModelRunner() = default;
  Status build(const ModelConfig& config);
  void worker(Instance& inst);
  // One result per request of the batch, in order.
  std::vector<Result<std::map<std::string, Tensor>>> run_batch(Instance& inst,
                                                               std::vector<std::unique_ptr<Pending>>& batch,
                                                               int64_t rows);

  ModelConfig config_;
  Metrics* metrics_ = nullptr;
  ModelSignature sig_;
  std::vector<std::string> notes_;
  std::vector<int64_t> batch_sizes_;  // compiled sizes, ascending
  std::map<int64_t, Session> sessions_;  // compiled batch size -> session, for every instance
  std::vector<std::unique_ptr<Instance>> instances_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;
  int64_t queued_rows_ = 0;
  bool stopping_ = false;
};

class ModelRepository {
 public:
  Status add(const ModelConfig& config, Metrics* metrics = nullptr);
  // nullptr when there is no such model.
  ModelRunner* find(const std::string& name) const;
  std::vector<std::string> names() const;
  void stop_all();

 private:
  std::map<std::string, std::unique_ptr<ModelRunner>> models_;
};

}  // namespace anvil::serve

#include "server/repository.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cstring>
#include <exception>

namespace anvil::serve {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Shape with_dim0(Shape s, int64_t d0) {
  s[0] = d0;
  return s;
}

// 1, 2, 4, ... below max_batch, then max_batch: a batch of n rows runs on
// the smallest size >= n, so padding wastes less than half a run.
std::vector<int64_t> compiled_batch_sizes(int64_t max_batch) {
  std::vector<int64_t> v;
  for (int64_t b = 1; b < max_batch; b *= 2) v.push_back(b);
  v.push_back(max_batch);
  return v;
}

// One session per batch size serves every instance: each concurrent run
// borrows an executor of its own (activations, thread pool), and the
// weights and packed weights are the session's, once. A session per
// instance and size held a copy each: ResNet-101 with 2 instances and
// batch sizes 1, 2 and 4 took 4.1 GB resident and 15 s to start.
CompileOptions shared_compile_options(const ModelConfig& config) {
  CompileOptions co = config.compile;
  co.max_concurrency = config.instances;
  return co;
}

}  // namespace

Result<std::unique_ptr<ModelRunner>> ModelRunner::create(const ModelConfig& config, Metrics* metrics) {
  if (config.instances < 1) return invalid_argument("model '" + config.name + "': instances must be at least 1");
  if (config.max_batch < 1) return invalid_argument("model '" + config.name + "': max batch must be at least 1");
  if (config.max_queue_delay_us < 0)
    return invalid_argument("model '" + config.name + "': the max queue delay cannot be negative");
  std::unique_ptr<ModelRunner> r(new ModelRunner());
  r->metrics_ = metrics;
  Status s = r->build(config);
  if (!s.is_ok()) return std::move(s).with_context("model '" + config.name + "' (" + config.path + ")");
  for (auto& inst : r->instances_) {
    Instance* p = inst.get();
    ModelRunner* self = r.get();
    p->thread = std::thread([self, p] { self->worker(*p); });
  }
  if (metrics) metrics->add_model(config.name);
  return r;
}

ModelRunner::~ModelRunner() { stop(); }

// Compiles every instance at every batch size and proves the model batches
// along dim 0 (each output's dim 0 equals the batch size); otherwise falls
// back to the shapes as loaded, unbatched.
Status ModelRunner::build(const ModelConfig& config) {
  config_ = config;
  ANVIL_ASSIGN_OR_RETURN(Model base, Model::load(config.path, config.load));
  for (const TensorInfo& t : base.inputs())
    if (!t.shape.is_static() && config.max_batch <= 1)
      return invalid_argument("input '" + t.name + "' has the dynamic shape " + t.shape.str() +
                              "; bind it with --shape " + config.name + ":" + t.name + ":D0,D1,...");

  auto try_batched = [&]() -> Status {
    for (const TensorInfo& t : base.inputs()) {
      if (t.shape.rank() == 0) return unsupported("input '" + t.name + "' is a scalar: no batch dimension");
      for (size_t d = 1; d < t.shape.rank(); ++d)
        if (t.shape[d] < 0)
          return invalid_argument("input '" + t.name + "' has the dynamic shape " + t.shape.str() +
                                  "; bind it with --shape " + config.name + ":" + t.name + ":1,D1,...");
    }
    std::map<int64_t, Session> sessions;
    std::vector<std::string> shared_notes;
    const std::vector<int64_t> sizes = compiled_batch_sizes(config.max_batch);
    for (int64_t b : sizes) {
      LoadOptions lo = config.load;
      for (const TensorInfo& t : base.inputs()) lo.shapes[t.name] = with_dim0(t.shape, b);
      ANVIL_ASSIGN_OR_RETURN(Model m, Model::load(config.path, lo));
      // The sizes after the first share its weights, and its packed weights
      // wherever they pick the same kernel.
      CompileOptions co = shared_compile_options(config);
      if (!sessions.empty()) co.share_weights_with = &sessions.begin()->second;
      ANVIL_ASSIGN_OR_RETURN(Session s, std::move(m).compile(co));
      for (const TensorInfo& o : s.outputs())
        if (o.shape.rank() == 0 || o.shape[0] != b)
          return unsupported("output '" + o.name + "' is " + o.shape.str() + " at batch size " + std::to_string(b) +
                             ": its dim 0 is not the batch");
      // The report's line (Model::compile), for the startup notes.
      const std::string report = s.optimization_report(), tag = "weights shared with another session: ";
      const size_t at = report.find(tag);
      if (at != std::string::npos)
        shared_notes.push_back("batch " + std::to_string(b) + ": " +
                               report.substr(at + tag.size(), report.find('\n', at) - at - tag.size()));
      sessions.emplace(b, std::move(s));
    }
    for (auto& [b, s] : sessions) ANVIL_TRY(s.reserve(config.instances));
    sessions_ = std::move(sessions);
    batch_sizes_ = sizes;
    for (std::string& n : shared_notes) notes_.push_back("weights shared with batch " + std::to_string(sizes[0]) + ", " + n);
    return Status::ok();
  };

  if (config.max_batch > 1) {
    Status s = try_batched();
    if (!s.is_ok()) {
      notes_.push_back("dynamic batching off: " + s.message());
      config_.max_batch = 1;
    }
  }
  if (config_.max_batch == 1) {
    for (const TensorInfo& t : base.inputs())
      if (!t.shape.is_static())
        return invalid_argument("input '" + t.name + "' has the dynamic shape " + t.shape.str() +
                                "; bind it with --shape " + config.name + ":" + t.name + ":D0,D1,...");
    sessions_.clear();
    ANVIL_ASSIGN_OR_RETURN(Session s, std::move(base).compile(shared_compile_options(config)));
    ANVIL_TRY(s.reserve(config.instances));
    sessions_.emplace(1, std::move(s));
    batch_sizes_ = {1};
  }
  for (int i = 0; i < config.instances; ++i) instances_.push_back(std::make_unique<Instance>());

#if defined(__GLIBC__)
  // Each batch size imported the file again and the optimizer replaced
  // most of what it read; glibc keeps such freed heap pages mapped (ResNet-
  // 101, 2 instances, sizes 1, 2 and 4: 1.50 GB resident after startup
  // without this, 0.87 GB with it).
  malloc_trim(0);
#endif
  const Session& first = sessions_.begin()->second;
  sig_.inputs = first.inputs();
  sig_.outputs = first.outputs();
  sig_.max_batch = config_.max_batch;
  if (sig_.max_batch > 1) {
    for (TensorInfo& t : sig_.inputs) t.shape[0] = -1;
    for (TensorInfo& t : sig_.outputs) t.shape[0] = -1;
  }
  return Status::ok();
}

Result<std::map<std::string, Tensor>> ModelRunner::infer(std::map<std::string, Tensor> inputs, int64_t rows,
                                                         InferTiming* timing) {
  if (rows < 1 || rows > config_.max_batch)
    return invalid_argument("batch size " + std::to_string(rows) + " outside 1.." + std::to_string(config_.max_batch));
  auto p = std::make_unique<Pending>();
  p->inputs = std::move(inputs);
  p->rows = rows;
  p->enqueued = Clock::now();
  std::future<Done> fut = p->done.get_future();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return out_of_range("model '" + config_.name + "' is shutting down");
    if (queue_.size() >= config_.max_queue)
      return out_of_range("model '" + config_.name + "' has " + std::to_string(queue_.size()) +
                          " requests waiting; try again later");
    queued_rows_ += rows;
    queue_.push_back(std::move(p));
  }
  cv_.notify_all();
  Done d = fut.get();
  if (timing) *timing = d.timing;
  return std::move(d.result);
}

void ModelRunner::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& inst : instances_)
    if (inst->thread.joinable()) inst->thread.join();
}

void ModelRunner::worker(Instance& inst) {
  const int64_t max_batch = config_.max_batch;
  const auto delay = std::chrono::microseconds(config_.max_queue_delay_us);
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is done
    if (max_batch > 1 && delay.count() > 0 && !stopping_ && queued_rows_ < max_batch) {
      const auto deadline = queue_.front()->enqueued + delay;
      cv_.wait_until(lk, deadline, [&] { return stopping_ || queue_.empty() || queued_rows_ >= max_batch; });
      if (queue_.empty()) continue;  // another instance took them
    }
    std::vector<std::unique_ptr<Pending>> batch;
    int64_t rows = 0;
    while (!queue_.empty() && rows + queue_.front()->rows <= max_batch) {
      rows += queue_.front()->rows;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_rows_ -= rows;
    lk.unlock();
    const auto picked = Clock::now();
    for (auto& p : batch) p->timing.queue_s = seconds_between(p->enqueued, picked);
    std::vector<Result<std::map<std::string, Tensor>>> results;
    try {
      results = run_batch(inst, batch, rows);
    } catch (const std::exception& e) {
      results.clear();
      for (size_t i = 0; i < batch.size(); ++i)
        results.emplace_back(internal_error(std::string("inference failed: ") + e.what()));
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->timing.batch_rows = rows;
      if (metrics_) metrics_->observe_queue(config_.name, batch[i]->timing.queue_s);
      batch[i]->done.set_value(Done{std::move(results[i]), batch[i]->timing});
    }
    lk.lock();
  }
}

std::vector<Result<std::map<std::string, Tensor>>> ModelRunner::run_batch(
    Instance& inst, std::vector<std::unique_ptr<Pending>>& batch, int64_t rows) {
  using Outputs = std::map<std::string, Tensor>;
  std::vector<Result<Outputs>> results;
  const bool batched = config_.max_batch > 1;
  const int64_t size = batched ? *std::lower_bound(batch_sizes_.begin(), batch_sizes_.end(), rows) : 1;
  const Session& session = sessions_.at(size);

  std::map<std::string, Tensor> inputs;
  if (!batched || (batch.size() == 1 && rows == size)) {
    inputs = batch.front()->inputs;
  } else {
    // Rows in request order, then zeros up to the compiled size.
    for (const TensorInfo& ti : session.inputs()) {
      Tensor big(ti.dtype, ti.shape);
      char* dst = static_cast<char*>(big.raw());
      for (auto& p : batch) {
        const Tensor& t = p->inputs.at(ti.name);
        std::memcpy(dst, t.raw(), t.nbytes());
        dst += t.nbytes();
      }
      inputs.emplace(ti.name, std::move(big));
    }
  }

  const auto t0 = Clock::now();
  Result<Outputs> out = session.run(inputs);
  const double compute_s = seconds_between(t0, Clock::now());
  if (metrics_) {
    metrics_->observe_compute(config_.name, compute_s);
    metrics_->observe_batch(config_.name, rows);
  }
  for (auto& p : batch) p->timing.compute_s = compute_s;
  if (!out) {
    for (size_t i = 0; i < batch.size(); ++i) results.emplace_back(out.status());
    return results;
  }

  // Outputs are copied out before the Session runs again: it may reuse
  // their memory.
  int64_t row0 = 0;
  for (auto& p : batch) {
    Outputs mine;
    for (const TensorInfo& oi : session.outputs()) {
      auto it = out->find(oi.name);
      if (it == out->end()) {
        results.assign(batch.size(), internal_error("the model produced no output '" + oi.name + "'"));
        return results;
      }
      const Tensor& t = it->second;
      if (t.shape() != oi.shape) {
        results.assign(batch.size(), internal_error("output '" + oi.name + "' came out as " + t.shape().str() +
                                                    ", not the compiled " + oi.shape.str()));
        return results;
      }
      if (!batched) {
        mine.emplace(oi.name, t.clone());
        continue;
      }
      const size_t row_bytes = t.nbytes() / static_cast<size_t>(size);
      Tensor part(t.dtype(), with_dim0(t.shape(), p->rows));
      std::memcpy(part.raw(), static_cast<const char*>(t.raw()) + row_bytes * static_cast<size_t>(row0),
                  row_bytes * static_cast<size_t>(p->rows));
      mine.emplace(oi.name, std::move(part));
    }
    row0 += p->rows;
    results.emplace_back(std::move(mine));
  }
  return results;
}

Status ModelRepository::add(const ModelConfig& config, Metrics* metrics) {
  if (models_.count(config.name)) return invalid_argument("model name '" + config.name + "' is given twice");
  ANVIL_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(config, metrics));
  models_.emplace(config.name, std::move(runner));
  return Status::ok();
}

ModelRunner* ModelRepository::find(const std::string& name) const {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ModelRepository::names() const {
  std::vector<std::string> v;
  for (const auto& [n, m] : models_) v.push_back(n);
  return v;
}

void ModelRepository::stop_all() {
  for (auto& [n, m] : models_) m->stop();
}

}  // namespace anvil::serve

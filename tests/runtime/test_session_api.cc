// The public Session API (include/anvil/anvil.h): concurrent run() calls on
// one Session, zero-copy inputs and outputs, the per-session ISA cap,
// max_concurrency, and errors instead of crashes on misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "anvil/anvil.h"
#include "core/cpu.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/op_registry.h"
#include "runtime/session_impl.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

Model tiny_cnn(std::vector<int64_t> shape = {1, 3, 32, 32}) {
  register_all_ops();
  ZooOptions zo;
  zo.input_shape = shape;
  auto g = build_zoo_model("tiny_cnn", zo);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "anvil_test_session_api";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tiny_cnn.onnx").string();
  EXPECT_TRUE(save_onnx(*g, path).is_ok());
  auto m = Model::load(path);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return std::move(m).value();
}

Tensor input_with_seed(const TensorInfo& ti, uint32_t seed) {
  Tensor t(ti.dtype, ti.shape);
  uint32_t s = seed * 2654435761u + 1;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(s >> 8) / static_cast<float>(1 << 24) * 2.f - 1.f;
  }
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

TEST(SessionApi, ConcurrentRunsMatchSerialRuns) {
  Model m = tiny_cnn();
  for (int threads : {1, 2}) {
    auto s = m.compile({.threads = threads});
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    const TensorInfo in = s->inputs()[0];
    constexpr int kCallers = 6, kRuns = 15;
    std::vector<Tensor> expected;
    for (int i = 0; i < kCallers * kRuns; ++i) {
      auto y = s->run({{in.name, input_with_seed(in, static_cast<uint32_t>(i))}});
      ASSERT_TRUE(y.is_ok()) << y.status().to_string();
      expected.push_back(y->at("output"));
    }
    std::atomic<int> mismatches{0}, errors{0};
    std::vector<std::thread> callers;
    const Session& shared = *s;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&, c] {
        for (int r = 0; r < kRuns; ++r) {
          const int i = c * kRuns + r;
          auto y = shared.run({{in.name, input_with_seed(in, static_cast<uint32_t>(i))}});
          if (!y.is_ok()) {
            ++errors;
            continue;
          }
          if (!same_bits(y->at("output"), expected[static_cast<size_t>(i)])) ++mismatches;
        }
      });
    }
    for (std::thread& t : callers) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(mismatches.load(), 0) << "threads " << threads;
    EXPECT_GE(s->impl()->num_executors(), 1u);
    EXPECT_LE(s->impl()->num_executors(), static_cast<size_t>(kCallers));
  }
}

TEST(SessionApi, MaxConcurrencyBoundsExecutors) {
  Model m = tiny_cnn();
  auto s = m.compile({.threads = 1, .max_concurrency = 2});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  const TensorInfo in = s->inputs()[0];
  const Tensor x = input_with_seed(in, 7);
  auto ref = s->run({{in.name, x}});
  ASSERT_TRUE(ref.is_ok());
  std::atomic<int> bad{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 5; ++c)
    callers.emplace_back([&] {
      for (int r = 0; r < 10; ++r) {
        auto y = s->run({{in.name, x}});
        if (!y.is_ok() || !same_bits(y->at("output"), ref->at("output"))) ++bad;
      }
    });
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LE(s->impl()->num_executors(), 2u);
  EXPECT_FALSE(m.compile({.max_concurrency = -1}).is_ok());
}

TEST(SessionApi, ZeroCopyInputsAndOutputs) {
  Model m = tiny_cnn({2, 3, 32, 32});
  auto s = m.compile({.threads = 1});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  const TensorInfo in = s->inputs()[0];
  const TensorInfo out = s->outputs()[0];
  const Tensor x = input_with_seed(in, 3);
  auto ref = s->run({{in.name, x}});
  ASSERT_TRUE(ref.is_ok());

  // The caller's buffers, not 64-byte aligned on purpose.
  std::vector<float> xbuf(static_cast<size_t>(x.numel()) + 1), ybuf(static_cast<size_t>(out.shape.numel()) + 1, -7.f);
  std::memcpy(xbuf.data() + 1, x.raw(), x.nbytes());
  Tensor xw = Tensor::wrap(in.dtype, in.shape, xbuf.data() + 1);
  Tensor yw = Tensor::wrap(out.dtype, out.shape, ybuf.data() + 1);
  ASSERT_TRUE(s->run({{in.name, xw}}, {{out.name, yw}}).is_ok());
  EXPECT_TRUE(same_bits(yw, ref->at(out.name)));
  EXPECT_EQ(ybuf[0], -7.f);  // nothing written outside the destination
  // Again, so the restored slots are exercised, and then a plain run.
  std::fill(ybuf.begin(), ybuf.end(), 0.f);
  ASSERT_TRUE(s->run({{in.name, xw}}, {{out.name, yw}}).is_ok());
  EXPECT_TRUE(same_bits(yw, ref->at(out.name)));
  auto again = s->run({{in.name, xw}});
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(same_bits(again->at(out.name), ref->at(out.name)));
  EXPECT_FALSE(again->at(out.name).raw() == yw.raw());
  // No outputs asked for: runs, writes nothing.
  EXPECT_TRUE(s->run({{in.name, xw}}, std::map<std::string, Tensor>{}).is_ok());

  // Bad destinations are errors that say what is wrong.
  Tensor small(DType::kF32, Shape{1, 10});
  Status st = s->run({{in.name, xw}}, {{out.name, small}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("destination"), std::string::npos) << st.message();
  st = s->run({{in.name, xw}}, {{"nope", yw}});
  EXPECT_NE(st.message().find("not an output"), std::string::npos) << st.message();
  Tensor alias = Tensor::wrap(out.dtype, out.shape, xbuf.data() + 1);
  st = s->run({{in.name, xw}}, {{out.name, alias}});
  EXPECT_NE(st.message().find("overlaps an input"), std::string::npos) << st.message();
}

TEST(SessionApi, ExtraOutputsIntoCallerMemory) {
  Model m = tiny_cnn();
  // An internal tensor as a second output: the first node's result.
  const std::string first = m.graph().nodes().front().name;
  auto s = m.compile({.threads = 1, .extra_outputs = {first}});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  ASSERT_EQ(s->outputs().size(), 2u);
  const TensorInfo in = s->inputs()[0];
  const Tensor x = input_with_seed(in, 11);
  auto ref = s->run({{in.name, x}});
  ASSERT_TRUE(ref.is_ok());
  std::map<std::string, Tensor> dest;
  for (const TensorInfo& ti : s->outputs()) dest[ti.name] = Tensor(ti.dtype, ti.shape);
  ASSERT_TRUE(s->run({{in.name, x}}, dest).is_ok());
  for (const auto& [name, t] : dest) EXPECT_TRUE(same_bits(t, ref->at(name))) << name;
  // Only the internal one.
  const TensorInfo& second = s->outputs()[1];
  Tensor only(second.dtype, second.shape);
  ASSERT_TRUE(s->run({{in.name, x}}, {{second.name, only}}).is_ok());
  EXPECT_TRUE(same_bits(only, ref->at(second.name)));
}

TEST(SessionApi, PerSessionIsaCap) {
  Model m = tiny_cnn();
  auto best = m.compile({.threads = 1});
  auto scalar = m.compile({.threads = 1, .max_isa = "scalar"});
  ASSERT_TRUE(best.is_ok() && scalar.is_ok());
  EXPECT_EQ(scalar->isa(), "scalar");
  EXPECT_EQ(best->isa(), isa_name(active_isa()));
  const TensorInfo in = best->inputs()[0];
  const Tensor x = input_with_seed(in, 5);
  auto a = best->run({{in.name, x}});
  auto b = scalar->run({{in.name, x}});
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  const Tensor& ya = a->at("output");
  const Tensor& yb = b->at("output");
  for (int64_t i = 0; i < ya.numel(); ++i) EXPECT_NEAR(ya.data<float>()[i], yb.data<float>()[i], 1e-4);
  // A cap above the host is no cap; an unknown name is an error.
  auto high = m.compile({.max_isa = "avx512"});
  ASSERT_TRUE(high.is_ok());
  EXPECT_EQ(high->isa(), isa_name(active_isa()));
  auto bad = m.compile({.max_isa = "sse9"});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("sse9"), std::string::npos);
}

TEST(SessionApi, MisuseIsAnErrorNotACrash) {
  Session empty;
  EXPECT_FALSE(empty.compiled());
  EXPECT_TRUE(empty.inputs().empty());
  auto r = empty.run({});
  EXPECT_FALSE(r.is_ok());
  Model none;
  EXPECT_FALSE(none.loaded());
  EXPECT_TRUE(none.inputs().empty());
  EXPECT_FALSE(none.compile().is_ok());

  Model m = tiny_cnn();
  auto s = m.compile({.threads = 1});
  ASSERT_TRUE(s.is_ok());
  const TensorInfo in = s->inputs()[0];
  auto missing = s->run({});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("missing input 'input'"), std::string::npos);
  auto unknown = s->run({{in.name, input_with_seed(in, 1)}, {"extra", input_with_seed(in, 1)}});
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("not an input"), std::string::npos);
  auto shape = s->run({{in.name, Tensor(DType::kF32, Shape{1, 3, 8, 8})}});
  ASSERT_FALSE(shape.is_ok());
  EXPECT_NE(shape.status().message().find("expects f32[1x3x32x32]"), std::string::npos) << shape.status().message();
}

// std::move(model).compile(): the session's graph becomes the only holder of
// the imported weights (the optimizer frees those it replaces). It computes
// exactly what compiling a kept model does, leaves the model unloaded (a
// second compile is an error, not a crash), and the session still saves a
// compiled model that loads and runs the same.
TEST(SessionApi, ConsumingCompileMatchesAndLeavesTheModelUnloaded) {
  Model kept = tiny_cnn();
  auto ref = kept.compile({.threads = 2});
  ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
  Model m = tiny_cnn();
  auto s = std::move(m).compile({.threads = 2});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_FALSE(m.loaded());  // NOLINT(bugprone-use-after-move): the documented state
  auto again = std::move(m).compile();
  ASSERT_FALSE(again.is_ok());
  EXPECT_NE(again.status().message().find("not loaded"), std::string::npos) << again.status().message();
  EXPECT_TRUE(kept.loaded());
  // Folding scales the weights in place only when the graph alone holds
  // them: compiling `kept` again folds its untouched weights once more.
  EXPECT_NE(ref->optimization_report().find("folded"), std::string::npos) << ref->optimization_report();
  auto ref2 = kept.compile({.threads = 2});
  ASSERT_TRUE(ref2.is_ok()) << ref2.status().to_string();
  const TensorInfo in = s->inputs()[0];
  {
    auto a = ref->run({{in.name, input_with_seed(in, 11)}});
    auto b = ref2->run({{in.name, input_with_seed(in, 11)}});
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_TRUE(same_bits(a->at("output"), b->at("output")));
  }
  for (uint32_t seed : {1u, 2u, 3u}) {
    auto want = ref->run({{in.name, input_with_seed(in, seed)}});
    auto got = s->run({{in.name, input_with_seed(in, seed)}});
    ASSERT_TRUE(want.is_ok() && got.is_ok());
    EXPECT_TRUE(same_bits(got->at("output"), want->at("output"))) << "seed " << seed;
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / "anvil_test_session_api" / "consumed.anvil").string();
  ASSERT_TRUE(s->save(path).is_ok());
  auto loaded = Model::load(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  auto s2 = std::move(*loaded).compile({.threads = 1});
  ASSERT_TRUE(s2.is_ok()) << s2.status().to_string();
  auto want = ref->run({{in.name, input_with_seed(in, 9)}});
  auto got = s2->run({{in.name, input_with_seed(in, 9)}});
  ASSERT_TRUE(want.is_ok() && got.is_ok());
  const Tensor& a = want->at("output");
  const Tensor& b = got->at("output");
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-5f) << i;
}

Model zoo_model(const std::string& name, std::vector<int64_t> shape, const std::string& file) {
  register_all_ops();
  ZooOptions zo;
  zo.input_shape = {-1, 3, shape[2], shape[3]};
  auto g = build_zoo_model(name, zo);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "anvil_test_session_api";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / file).string();
  EXPECT_TRUE(save_onnx(*g, path).is_ok());
  auto m = Model::load(path, {.shapes = {{"input", Shape(shape)}}});
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return std::move(m).value();
}

// Node name -> index in the executor's graph.
std::map<std::string, size_t> node_index(const Executor& e) {
  std::map<std::string, size_t> r;
  for (size_t i = 0; i < e.graph().nodes().size(); ++i) r[e.graph().nodes()[i].name] = i;
  return r;
}

// The server's case: one model compiled at batch 1 and at batch 3, the
// second sharing the first's weights. Every conv keeps the batch-1 kernel
// and its packed weights; the classifier, a matrix-vector product at batch
// 1 and a GEMM tile at 3 whose packing has the same size (6x64: 64-column
// panels) but another order (per 256-row K block), packs its own; each row
// of a batch-3 run equals the batch-1 run of that row, also after the
// batch-1 session is gone.
TEST(SessionApi, SessionsOfTwoBatchSizesShareWeights) {
  Model m1 = zoo_model("resnet18", {1, 3, 32, 32}, "resnet18_b1.onnx");
  Model m3 = zoo_model("resnet18", {3, 3, 32, 32}, "resnet18_b3.onnx");
  auto one = std::make_unique<Session>();
  {
    auto s = m1.compile({.threads = 1});
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    *one = std::move(s).value();
  }
  auto three = m3.compile({.threads = 2, .share_weights_with = one.get()});
  ASSERT_TRUE(three.is_ok()) << three.status().to_string();
  EXPECT_NE(three->optimization_report().find("weights shared with another session"), std::string::npos)
      << three->optimization_report();
  EXPECT_EQ(one->optimization_report().find("weights shared"), std::string::npos);

  const Executor& e1 = *one->impl()->executor;
  const Executor& e3 = *three->impl()->executor;
  const std::vector<KernelChoice> c1 = e1.kernel_choices(), c3 = e3.kernel_choices();
  const std::map<std::string, size_t> at1 = node_index(e1);
  int convs = 0, convs_shared = 0, gemms = 0;
  for (size_t i = 0; i < e3.graph().nodes().size(); ++i) {
    const Node& n = e3.graph().nodes()[i];
    ASSERT_TRUE(at1.count(n.name)) << n.name;
    const size_t j = at1.at(n.name);
    // Every weight is the batch-1 session's tensor.
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const Value& v = e3.graph().value(n.inputs[k]);
      if (v.constant && v.constant->nbytes() > 0)
        EXPECT_EQ(v.constant->raw(), e1.graph().value(e1.graph().nodes()[j].inputs[k]).constant->raw()) << n.name;
    }
    if (n.op == "Conv" || n.op == "FusedConv") {
      ++convs;
      ASSERT_FALSE(c3[i].packed.empty()) << n.name;
      EXPECT_EQ(c3[i].kernel, c1[j].kernel) << n.name;
      convs_shared += c3[i].packed[0].raw() == c1[j].packed[0].raw();
    }
    if (n.op == "Gemm" || n.op == "FusedGemm") {
      ++gemms;
      EXPECT_NE(c3[i].kernel, c1[j].kernel);
      ASSERT_FALSE(c3[i].packed.empty());
      ASSERT_FALSE(c1[j].packed.empty());
      EXPECT_EQ(c3[i].packed[0].numel(), c1[j].packed[0].numel()) << "the case the kernel name tells apart";
      EXPECT_NE(c3[i].packed[0].raw(), c1[j].packed[0].raw());
    }
  }
  EXPECT_GE(convs, 15);
  EXPECT_EQ(convs_shared, convs);
  EXPECT_EQ(gemms, 1);

  const TensorInfo in1 = one->inputs()[0], in3 = three->inputs()[0];
  Tensor x3(DType::kF32, in3.shape);
  std::vector<Tensor> want;
  for (uint32_t r = 0; r < 3; ++r) {
    const Tensor x = input_with_seed(in1, 20 + r);
    std::memcpy(x3.data<float>() + r * x.numel(), x.raw(), x.nbytes());
    auto y = one->run({{in1.name, x}});
    ASSERT_TRUE(y.is_ok()) << y.status().to_string();
    want.push_back(y->at("output"));
  }
  auto check = [&](const Tensor& y3) {
    const int64_t row = y3.numel() / 3;
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t i = 0; i < row; ++i) {
        const float w = want[static_cast<size_t>(r)].data<float>()[i];
        ASSERT_NEAR(y3.data<float>()[r * row + i], w, 1e-5f * std::max(1.f, std::fabs(w))) << "row " << r << " " << i;
      }
  };
  auto y3 = three->run({{in3.name, x3}});
  ASSERT_TRUE(y3.is_ok()) << y3.status().to_string();
  check(y3->at("output"));
  one.reset();  // the shared tensors stay alive with the other session
  auto again = three->run({{in3.name, x3}});
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_TRUE(same_bits(again->at("output"), y3->at("output")));
}

// Another model's session shares nothing: no weight has the same name and
// bytes, no node matches; the session runs as if compiled alone.
TEST(SessionApi, SharingWithAnotherModelSharesNothing) {
  Model other = tiny_cnn();
  auto donor = other.compile({.threads = 1});
  ASSERT_TRUE(donor.is_ok());
  Model m = zoo_model("resnet18", {1, 3, 32, 32}, "resnet18_b1.onnx");
  auto alone = m.compile({.threads = 1});
  auto s = m.compile({.threads = 1, .share_weights_with = &*donor});
  ASSERT_TRUE(alone.is_ok() && s.is_ok());
  EXPECT_NE(s->optimization_report().find("weights shared with another session: 0.0 of"), std::string::npos)
      << s->optimization_report();
  EXPECT_NE(s->optimization_report().find(" 0 of "), std::string::npos) << s->optimization_report();
  const TensorInfo in = s->inputs()[0];
  auto want = alone->run({{in.name, input_with_seed(in, 4)}});
  auto got = s->run({{in.name, input_with_seed(in, 4)}});
  ASSERT_TRUE(want.is_ok() && got.is_ok());
  EXPECT_TRUE(same_bits(got->at("output"), want->at("output")));
}

// reserve() makes the executors ahead of the runs, up to max_concurrency;
// they share the first one's packed weights.
TEST(SessionApi, ReserveMakesExecutorsUpToTheCap) {
  Model m = tiny_cnn();
  auto s = m.compile({.threads = 1, .max_concurrency = 3});
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->executors(), 1);
  EXPECT_TRUE(s->reserve(2).is_ok());
  EXPECT_EQ(s->executors(), 2);
  EXPECT_TRUE(s->reserve(5).is_ok());
  EXPECT_EQ(s->executors(), 3);
  EXPECT_TRUE(s->reserve(0).is_ok());
  EXPECT_EQ(s->reserve(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Session().reserve(1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Session().executors(), 0);
  const std::vector<KernelChoice> first = s->impl()->executor->kernel_choices();
  for (const auto& ex : s->impl()->extra) {
    const std::vector<KernelChoice> c = ex->kernel_choices();
    ASSERT_EQ(c.size(), first.size());
    for (size_t i = 0; i < c.size(); ++i)
      if (!first[i].packed.empty()) EXPECT_EQ(c[i].packed[0].raw(), first[i].packed[0].raw()) << i;
  }
  const TensorInfo in = s->inputs()[0];
  auto y = s->run({{in.name, input_with_seed(in, 3)}});
  ASSERT_TRUE(y.is_ok());
  // Unlimited: as many as asked.
  auto u = m.compile({.threads = 1});
  ASSERT_TRUE(u.is_ok());
  EXPECT_TRUE(u->reserve(4).is_ok());
  EXPECT_EQ(u->executors(), 4);
}

}  // namespace
}  // namespace anvil

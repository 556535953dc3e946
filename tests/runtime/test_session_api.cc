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
  const TensorInfo in = s->inputs()[0];
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

}  // namespace
}  // namespace anvil

// Per-layer algorithm choice by measurement (runtime/tuner.h): the modes,
// that the measured choice is one of the kernels that accept the layer and
// gives the same outputs, that the cache file records it with the timings,
// that a cached choice is obeyed, and that a cached choice that no longer
// applies is measured again.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "anvil/anvil.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/op_registry.h"
#include "ops/op_test_util.h"
#include "runtime/executor.h"
#include "runtime/tuner.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

namespace fs = std::filesystem;

Tensor random_tensor(Shape s, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Tensor t(DType::kF32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// ANVIL_TUNE_CACHE pointed at a fresh file for the test's duration.
struct ScopedCache {
  std::string path;
  ScopedCache() {
    const fs::path dir = fs::temp_directory_path() / ("anvil_tune_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    path = (dir / "sub" / "tune.json").string();  // the directory is created on save
    fs::remove(path);
    ::setenv("ANVIL_TUNE_CACHE", path.c_str(), 1);
  }
  ~ScopedCache() {
    ::unsetenv("ANVIL_TUNE_CACHE");
    std::error_code ec;
    fs::remove_all(fs::path(path).parent_path().parent_path(), ec);
  }
  nlohmann::json read() const {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
  }
};

struct Conv {
  std::vector<Tensor> in;
  Attrs attrs;
};

// 64 -> 64 channels, 3x3 at 14x14: at AVX-512 the Winograd F(4x4) and
// F(2x2)-lanes kernels and the direct conv2d_gemm family all accept it.
Conv conv_case() {
  std::mt19937 rng(17);
  Conv c;
  c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  c.in = {random_tensor({1, 64, 14, 14}, rng), random_tensor({64, 64, 3, 3}, rng), random_tensor({64}, rng)};
  return c;
}

std::unique_ptr<Executor> make(const Conv& c, TuneMode mode, int threads = 1) {
  Graph g;
  EXPECT_TRUE(testing::build_single_op_graph(g, "Conv", c.in, c.attrs, 1, {true, false, false}).is_ok());
  auto ex = Executor::create(std::move(g), threads, std::nullopt, false, nullptr, -1, "", mode);
  EXPECT_TRUE(ex.is_ok()) << ex.status().to_string();
  return ex.is_ok() ? std::move(ex).value() : nullptr;
}

std::vector<float> run(Executor& ex, const Tensor& x) {
  std::vector<Tensor> out;
  EXPECT_TRUE(ex.run({x}, out).is_ok());
  return std::vector<float>(out[0].data<float>(), out[0].data<float>() + out[0].numel());
}

TEST(Tuner, ModesParseAndBadOnesAreErrors) {
  EXPECT_EQ(*parse_tune_mode("off"), TuneMode::kOff);
  EXPECT_EQ(*parse_tune_mode("fast"), TuneMode::kFast);
  EXPECT_EQ(*parse_tune_mode("full"), TuneMode::kFull);
  auto bad = parse_tune_mode("quick");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("off, fast, full"), std::string::npos) << bad.status().message();
}

TEST(Tuner, MeasuresCachesAndObeysTheCache) {
  ScopedCache cache;
  const Conv c = conv_case();
  auto plain = make(c, TuneMode::kOff);
  ASSERT_TRUE(plain);
  const std::vector<float> want = run(*plain, c.in[0]);
  double scale = 0;
  for (float v : want) scale = std::max(scale, double(std::fabs(v)));

  for (int threads : {1, 2}) {
    auto tuned = make(c, TuneMode::kFast, threads);
    ASSERT_TRUE(tuned);
    const std::vector<float> got = run(*tuned, c.in[0]);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4 * scale) << tuned->step_kernel_name(0);
  }
  ASSERT_TRUE(fs::exists(cache.path));
  nlohmann::json j = cache.read();
  ASSERT_EQ(j["choices"].size(), 2u) << j.dump(1);  // one entry per thread count
  for (auto& [key, e] : j["choices"].items()) {
    EXPECT_NE(key.find("Conv("), std::string::npos) << key;
    EXPECT_NE(key.find("f32[1x64x14x14]"), std::string::npos) << key;
    ASSERT_TRUE(e["factory"].is_string());
    // The winner is among the measured candidates and the fastest of them.
    ASSERT_TRUE(e["ms"].is_object());
    EXPECT_TRUE(e["ms"].contains(e["factory"].get<std::string>())) << e.dump();
    // The winner is the fastest, or the fixed order's first within 3% of it.
    double fastest = 1e300;
    for (auto& [f, ms] : e["ms"].items()) fastest = std::min(fastest, ms.get<double>());
    EXPECT_LE(e["ms"][e["factory"].get<std::string>()].get<double>(), fastest / 0.97 + 1e-9) << e.dump();
    if (host_isa() >= Isa::kAvx512) EXPECT_GE(e["ms"].size(), 3u) << e.dump();
  }

  // A cached choice is obeyed without measuring: make every entry name the
  // direct kernels (which accept every conv), then compile again.
  for (auto& [key, e] : j["choices"].items()) e["factory"] = "conv2d_gemm";
  {
    std::ofstream f(cache.path, std::ios::trunc);
    f << j.dump();
  }
  auto cached = make(c, TuneMode::kFast);
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->step_kernel_name(0).find("winograd"), std::string::npos) << cached->step_kernel_name(0);
}

// A choice naming a kernel that does not exist (an older build's, say) is
// measured again and replaced; the edited file is read again because it
// changed on disk.
TEST(Tuner, StaleCachedChoiceIsMeasuredAgain) {
  ScopedCache cache;
  const Conv c = conv_case();
  ASSERT_TRUE(make(c, TuneMode::kFast));
  nlohmann::json j = cache.read();
  ASSERT_EQ(j["choices"].size(), 1u);
  for (auto& [key, e] : j["choices"].items()) e["factory"] = "conv2d_from_an_older_build";
  {
    std::ofstream f(cache.path, std::ios::trunc);
    f << j.dump();
  }
  auto ex = make(c, TuneMode::kFast);
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->step_kernel_name(0).find("older"), std::string::npos);
  nlohmann::json j2 = cache.read();
  for (auto& [key, e] : j2["choices"].items()) EXPECT_NE(e["factory"].get<std::string>(), "conv2d_from_an_older_build");
}

// Through the public API: an unknown mode names the accepted ones, and a
// tuned session runs.
TEST(Tuner, CompileOptionsTakeTheMode) {
  ScopedCache cache;
  register_all_ops();
  auto g = build_zoo_model("tiny_cnn", {});
  ASSERT_TRUE(g.is_ok());
  const std::string path = (fs::path(cache.path).parent_path().parent_path() / "tiny.onnx").string();
  ASSERT_TRUE(save_onnx(*g, path).is_ok());
  auto m = Model::load(path);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  CompileOptions o;
  o.tune = "full";
  auto ok = m->compile(o);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_TRUE(fs::exists(cache.path));
  o.tune = "fastest";
  auto s = m->compile(o);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("off, fast, full"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace anvil

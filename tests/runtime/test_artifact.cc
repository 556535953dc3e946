// Compiled models (.anvil): a saved and reloaded session computes the same
// bits with the same kernels and adopts the saved packed weights; every
// kind of damaged or foreign file is a clear error, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "anvil/anvil.h"
#include "core/cpu.h"
#include "core/hash.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/op_registry.h"
#include "runtime/artifact.h"
#include "runtime/kernel_registry.h"
#include "runtime/session_impl.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

namespace fs = std::filesystem;

fs::path test_dir() {
  const fs::path d = fs::temp_directory_path() / "anvil_test_artifact";
  fs::create_directories(d);
  return d;
}

Model zoo_model(const std::string& name, std::vector<int64_t> shape) {
  register_all_ops();
  ZooOptions zo;
  zo.input_shape = std::move(shape);
  auto g = build_zoo_model(name, zo);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  const std::string path = (test_dir() / (name + ".onnx")).string();
  EXPECT_TRUE(save_onnx(*g, path).is_ok());
  auto m = Model::load(path);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return std::move(m).value();
}

Tensor input_for(const TensorInfo& ti, uint32_t seed) {
  Tensor t(ti.dtype, ti.shape);
  uint32_t s = seed * 2654435761u + 1;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(s >> 8) / static_cast<float>(1 << 24) * 2.f - 1.f;
  }
  return t;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

// Header fields (see artifact.cc), for making foreign and damaged files.
constexpr size_t kVersionAt = 8, kFileBytesAt = 16, kMetaOffsetAt = 24, kDataOffsetAt = 40, kMetaBytesAt = 32, kPayloadHashAt = 56, kIsaAt = 64,
                 kHeaderHashAt = 120;

template <class T>
T get_at(const std::string& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}
template <class T>
void put_at(std::string& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}
// Recomputes both checksums, so that a test reaches the checks behind them.
void reseal(std::string& b) {
  put_at<uint64_t>(b, kPayloadHashAt, xxh64(b.data() + kArtifactHeaderBytes, b.size() - kArtifactHeaderBytes));
  put_at<uint64_t>(b, kHeaderHashAt, xxh64(b.data(), kHeaderHashAt));
}

// Replaces the metadata JSON, moving the data section after it, and
// reseals the file.
void replace_meta(std::string& b, const std::function<void(nlohmann::json&)>& edit) {
  const uint64_t off = get_at<uint64_t>(b, kMetaOffsetAt), len = get_at<uint64_t>(b, kMetaBytesAt);
  const uint64_t data_off = get_at<uint64_t>(b, kDataOffsetAt);
  nlohmann::json j = nlohmann::json::parse(b.substr(off, len));
  edit(j);
  const std::string text = j.dump();
  const uint64_t new_data_off = (off + text.size() + 63) / 64 * 64;
  std::string out = b.substr(0, off) + text + std::string(new_data_off - off - text.size(), '\0') + b.substr(data_off);
  put_at<uint64_t>(out, kMetaBytesAt, text.size());
  put_at<uint64_t>(out, kDataOffsetAt, new_data_off);
  put_at<uint64_t>(out, kFileBytesAt, out.size());
  reseal(out);
  b = std::move(out);
}

struct Compiled {
  Model model;
  Session session;
  std::string path;
};

Compiled compile_and_save(const std::string& zoo, std::vector<int64_t> shape, const std::string& file) {
  Compiled c;
  c.model = zoo_model(zoo, std::move(shape));
  auto s = c.model.compile({.threads = 1});
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  c.session = std::move(s).value();
  c.path = (test_dir() / file).string();
  Status st = c.session.save(c.path);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return c;
}

TEST(Artifact, Xxh64MatchesTheReferenceVectors) {
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxh64("abc", 3), 0x44BC2CF5AD770999ULL);
  // Every tail length (0..31 bytes after the 32-byte stripes) differs.
  std::string s(100, 'x');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 7);
  std::set<uint64_t> seen;
  for (size_t n = 0; n <= s.size(); ++n) seen.insert(xxh64(s.data(), n));
  EXPECT_EQ(seen.size(), s.size() + 1);
}

// Round trip on every kernel family: Winograd (limits lowered so tiny
// layers take it), implicit-GEMM and 1x1 convs, depthwise, dense GEMM.
TEST(Artifact, ReloadedSessionComputesTheSameBitsWithTheSavedKernels) {
  set_winograd_limits(1, 1);
  for (const std::string zoo : {"tiny_cnn", "mobilenet_v2", "resnet18"}) {
    SCOPED_TRACE(zoo);
    Compiled c = compile_and_save(zoo, {1, 3, 48, 48}, zoo + ".anvil");
    auto m2 = Model::load(c.path);
    ASSERT_TRUE(m2.is_ok()) << m2.status().to_string();
    EXPECT_TRUE(m2->precompiled());
    EXPECT_FALSE(c.model.precompiled());
    auto s2 = m2->compile({.threads = 2});
    ASSERT_TRUE(s2.is_ok()) << s2.status().to_string();
    EXPECT_NE(s2->optimization_report().find("import and optimizer skipped"), std::string::npos)
        << s2->optimization_report();
    EXPECT_EQ(s2->isa(), c.session.isa());
    ASSERT_EQ(s2->inputs().size(), c.session.inputs().size());
    EXPECT_EQ(s2->inputs()[0].shape, c.session.inputs()[0].shape);
    // Same kernel on every node.
    const Executor& e1 = *c.session.impl()->executor;
    const Executor& e2 = *s2->impl()->executor;
    ASSERT_EQ(e1.num_steps(), e2.num_steps());
    for (size_t i = 0; i < e1.num_steps(); ++i) EXPECT_EQ(e1.step_kernel_name(i), e2.step_kernel_name(i)) << i;
    // The kernels use the mapped packed weights: nothing was packed again.
    const auto& saved = s2->impl()->pre->choices;
    const auto& used = s2->impl()->choices;
    size_t packed = 0;
    for (size_t n = 0; n < saved.size(); ++n) {
      ASSERT_EQ(saved[n].packed.size(), used[n].packed.size()) << "node " << n;
      for (size_t p = 0; p < saved[n].packed.size(); ++p, ++packed)
        EXPECT_EQ(saved[n].packed[p].raw(), used[n].packed[p].raw()) << "node " << n;
    }
    EXPECT_GT(packed, 0u);
    // Same bits.
    std::map<std::string, Tensor> in{{c.session.inputs()[0].name, input_for(c.session.inputs()[0], 3)}};
    auto y1 = c.session.run(in);
    auto y2 = s2->run(in);
    ASSERT_TRUE(y1.is_ok() && y2.is_ok());
    for (const auto& [name, t] : *y1) {
      ASSERT_TRUE(y2->count(name)) << name;
      const Tensor& u = y2->at(name);
      ASSERT_EQ(t.shape(), u.shape());
      EXPECT_EQ(std::memcmp(t.raw(), u.raw(), t.nbytes()), 0) << name;
    }
  }
  reset_winograd_limits();
}

TEST(Artifact, ExactModeAndLowerIsaStillWorkFromACompiledModel) {
  set_winograd_limits(1, 1);
  Compiled c = compile_and_save("tiny_cnn", {1, 3, 32, 32}, "tiny_exact.anvil");
  reset_winograd_limits();
  auto m2 = Model::load(c.path);
  ASSERT_TRUE(m2.is_ok()) << m2.status().to_string();
  auto ref = c.model.compile({.threads = 1, .opt_level = 0, .max_isa = "scalar"});
  ASSERT_TRUE(ref.is_ok());
  std::map<std::string, Tensor> in{{ref->inputs()[0].name, input_for(ref->inputs()[0], 5)}};
  auto yr = ref->run(in);
  ASSERT_TRUE(yr.is_ok());
  for (bool exact : {false, true})
    for (const char* isa : {"", "scalar"}) {
      SCOPED_TRACE(std::string(exact ? "exact " : "") + isa);
      CompileOptions o;
      o.threads = 1;
      o.exact = exact;
      o.max_isa = isa;
      auto s = m2->compile(o);
      ASSERT_TRUE(s.is_ok()) << s.status().to_string();
      if (exact) {
        const Executor& e = *s->impl()->executor;
        for (size_t i = 0; i < e.num_steps(); ++i)
          EXPECT_EQ(e.step_kernel_name(i).find("winograd"), std::string::npos) << e.step_kernel_name(i);
      }
      if (*isa) EXPECT_EQ(s->isa(), "scalar");
      auto y = s->run(in);
      ASSERT_TRUE(y.is_ok()) << y.status().to_string();
      const Tensor& a = yr->begin()->second;
      const Tensor& b = y->at(yr->begin()->first);
      ASSERT_EQ(a.shape(), b.shape());
      for (int64_t i = 0; i < a.numel(); ++i)
        EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-4f * (1 + std::fabs(a.data<float>()[i])));
    }
}

// A file's packed weights are laid out for its ISA; a session capped lower
// must repack, even where the layouts have the same sizes (avx2 and scalar
// did, and ran avx2 panels through the scalar kernel). Every file ISA the
// host has, against every cap at or below it.
TEST(Artifact, EveryLowerIsaCapRepacksWhenTheLayoutDiffers) {
  Model m = zoo_model("tiny_cnn", {1, 3, 32, 32});
  auto ref = m.compile({.threads = 1, .opt_level = 0, .max_isa = "scalar"});
  ASSERT_TRUE(ref.is_ok());
  std::map<std::string, Tensor> in{{ref->inputs()[0].name, input_for(ref->inputs()[0], 9)}};
  auto yr = ref->run(in);
  ASSERT_TRUE(yr.is_ok());
  const Tensor& want = yr->begin()->second;
  for (Isa file_isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (file_isa > active_isa()) continue;
    auto s = m.compile({.threads = 1, .max_isa = isa_name(file_isa)});
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    const std::string path = (test_dir() / (std::string("tiny_") + isa_name(file_isa) + ".anvil")).string();
    ASSERT_TRUE(s->save(path).is_ok());
    auto loaded = Model::load(path);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    for (Isa cap = Isa::kScalar; cap <= file_isa; cap = static_cast<Isa>(static_cast<int>(cap) + 1)) {
      SCOPED_TRACE(std::string("file ") + isa_name(file_isa) + ", session " + isa_name(cap));
      auto run = loaded->compile({.threads = 1, .max_isa = isa_name(cap)});
      ASSERT_TRUE(run.is_ok()) << run.status().to_string();
      EXPECT_EQ(run->isa(), isa_name(cap));
      EXPECT_EQ(run->optimization_report().find("weights packed again") != std::string::npos,
                packed_layout(cap) != packed_layout(file_isa))
          << run->optimization_report();
      auto y = run->run(in);
      ASSERT_TRUE(y.is_ok()) << y.status().to_string();
      const Tensor& got = y->at(yr->begin()->first);
      ASSERT_EQ(got.shape(), want.shape());
      for (int64_t i = 0; i < want.numel(); ++i)
        ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-4f * (1 + std::fabs(want.data<float>()[i]))) << i;
    }
  }
}

TEST(Artifact, ShapesGivenAtLoadMustBeTheCompiledOnes) {
  Compiled c = compile_and_save("tiny_cnn", {1, 3, 32, 32}, "tiny_shapes.anvil");
  const std::string in = c.session.inputs()[0].name;
  EXPECT_TRUE(Model::load(c.path, {.shapes = {{in, {1, 3, 32, 32}}}}).is_ok());
  auto wrong = Model::load(c.path, {.shapes = {{in, {1, 3, 64, 64}}}});
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("compiled for shape 1x3x32x32"), std::string::npos) << wrong.status().to_string();
  auto unknown = Model::load(c.path, {.shapes = {{"nope", {1}}}});
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("no input named 'nope'"), std::string::npos);
}

TEST(Artifact, RepacksWhenTheWritersGemmBlockingDiffers) {
  Compiled c = compile_and_save("tiny_cnn", {1, 3, 32, 32}, "tiny_layout.anvil");
  std::string b = read_bytes(c.path);
  replace_meta(b, [](nlohmann::json& j) { j["packed_layout"] = "f32_gemm_ukernel_9x9 mr=9 nr=9 kc=1"; });
  const std::string p = (test_dir() / "tiny_layout2.anvil").string();
  write_bytes(p, b);
  auto m = Model::load(p);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  auto s = m->compile({.threads = 1});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_NE(s->optimization_report().find("weights packed again"), std::string::npos) << s->optimization_report();
  std::map<std::string, Tensor> in{{c.session.inputs()[0].name, input_for(c.session.inputs()[0], 9)}};
  auto y1 = c.session.run(in);
  auto y2 = s->run(in);
  ASSERT_TRUE(y1.is_ok() && y2.is_ok());
  const Tensor& t = y1->begin()->second;
  EXPECT_EQ(std::memcmp(t.raw(), y2->at(y1->begin()->first).raw(), t.nbytes()), 0);
}

// Each damaged file: the message that names what is wrong.
TEST(Artifact, DamagedAndForeignFilesAreClearErrors) {
  Compiled c = compile_and_save("tiny_cnn", {1, 3, 32, 32}, "tiny_good.anvil");
  const std::string good = read_bytes(c.path);
  ASSERT_GT(good.size(), 4096u);
  struct Case {
    std::string name, expect;
    std::function<void(std::string&)> damage;
  };
  const std::vector<Case> cases = {
      {"empty", "empty file", [](std::string& b) { b.clear(); }},
      {"magic only", "truncated", [](std::string& b) { b.resize(8); }},
      {"header cut", "truncated", [](std::string& b) { b.resize(100); }},
      {"truncated", "truncated", [](std::string& b) { b.resize(b.size() - 1000); }},
      {"trailing", "trailing data", [](std::string& b) { b += "xyz"; }},
      {"payload bit", "checksum mismatch", [](std::string& b) { b[b.size() / 2] ^= 0x10; }},
      {"metadata bit", "checksum mismatch", [](std::string& b) { b[200] ^= 0x01; }},
      {"header bit", "header checksum mismatch", [](std::string& b) { b[20] ^= 0x01; }},
      {"older version", "format version 1",
       [](std::string& b) {
         put_at<uint32_t>(b, kVersionAt, 1);
         reseal(b);
       }},
      {"future version", "format version 3",
       [](std::string& b) {
         put_at<uint32_t>(b, kVersionAt, 3);
         reseal(b);
       }},
      {"unknown isa", "unknown ISA code",
       [](std::string& b) {
         put_at<uint32_t>(b, kIsaAt, 7);
         reseal(b);
       }},
      {"not json", "not valid JSON",
       [](std::string& b) {
         b[get_at<uint64_t>(b, kMetaOffsetAt)] = '#';
         reseal(b);
       }},
      {"tensor past the end", "runs past the data section",
       [](std::string& b) {
         replace_meta(b, [](nlohmann::json& j) {
           for (auto& v : j["graph"]["values"])
             if (v.contains("const")) {
               v["const"]["off"] = 1ull << 40;
               break;
             }
         });
       }},
      {"huge shape", "larger than the data section",
       [](std::string& b) {
         replace_meta(b, [](nlohmann::json& j) {
           for (auto& v : j["graph"]["values"])
             if (v.contains("const")) {
               v["const"]["shape"] = {1ll << 40, 1ll << 40, 1ll << 40};
               break;
             }
         });
       }},
      {"value id", "refers to value",
       [](std::string& b) { replace_meta(b, [](nlohmann::json& j) { j["graph"]["nodes"][0]["in"][0] = 99999; }); }},
      {"unknown op", "FrobnicateConv",
       [](std::string& b) { replace_meta(b, [](nlohmann::json& j) { j["graph"]["nodes"][0]["op"] = "FrobnicateConv"; }); }},
      {"wrong field type", "is not a string",
       [](std::string& b) { replace_meta(b, [](nlohmann::json& j) { j["graph"]["name"] = 5; }); }},
      {"missing field", "has no 'kernels'",
       [](std::string& b) { replace_meta(b, [](nlohmann::json& j) { j.erase("kernels"); }); }},
      {"type mismatch", "does not match its type",
       [](std::string& b) {
         replace_meta(b, [](nlohmann::json& j) {
           for (auto& v : j["graph"]["values"])
             if (v.contains("const")) {
               v["dtype"] = "i64";
               break;
             }
         });
       }},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    std::string b = good;
    k.damage(b);
    const std::string p = (test_dir() / "damaged.anvil").string();
    write_bytes(p, b);
    // From the file, and from memory (the fuzzer's entry point).
    auto m = Model::load(p);
    if (k.name == "empty") {
      // An empty file has no magic: it is not recognised as .anvil, and the
      // ONNX importer reports it instead.
      ASSERT_FALSE(m.is_ok());
      auto a = load_artifact(p);
      ASSERT_FALSE(a.is_ok());
      EXPECT_NE(a.status().message().find(k.expect), std::string::npos) << a.status().to_string();
      continue;
    }
    ASSERT_FALSE(m.is_ok());
    EXPECT_NE(m.status().message().find(k.expect), std::string::npos) << m.status().to_string();
    EXPECT_NE(m.status().message().find("damaged.anvil"), std::string::npos) << m.status().to_string();
    auto a = load_artifact_bytes(b.data(), b.size(), "mem");
    ASSERT_FALSE(a.is_ok());
    EXPECT_NE(a.status().message().find(k.expect), std::string::npos) << a.status().to_string();
  }
}

TEST(Artifact, AFileForABetterIsaThanThisCpuAllowsIsRefused) {
  if (active_isa() == Isa::kScalar) GTEST_SKIP() << "this CPU has no SIMD level above scalar to compile for";
  Compiled c = compile_and_save("tiny_cnn", {1, 3, 32, 32}, "tiny_isa.anvil");
  set_isa_cap(Isa::kScalar);
  auto m = Model::load(c.path);
  set_isa_cap(std::nullopt);
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.status().message().find(std::string("compiled for ") + c.session.isa() + " kernels"), std::string::npos)
      << m.status().to_string();
  EXPECT_NE(m.status().message().find("--max-isa scalar"), std::string::npos) << m.status().to_string();
  // A file compiled with the cap loads under it.
  auto src = c.model.compile({.threads = 1, .max_isa = "scalar"});
  ASSERT_TRUE(src.is_ok());
  const std::string p = (test_dir() / "tiny_scalar.anvil").string();
  ASSERT_TRUE(src->save(p).is_ok());
  set_isa_cap(Isa::kScalar);
  auto m2 = Model::load(p);
  set_isa_cap(std::nullopt);
  EXPECT_TRUE(m2.is_ok()) << m2.status().to_string();
}

TEST(Artifact, SaveErrorsNameThePath) {
  Compiled c = compile_and_save("tiny_cnn", {1, 3, 32, 32}, "tiny_save.anvil");
  Status s = c.session.save("/nonexistent-dir/x.anvil");
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/x.anvil"), std::string::npos) << s.to_string();
  EXPECT_FALSE(fs::exists("/nonexistent-dir/x.anvil.tmp"));
  Session none;
  EXPECT_FALSE(none.save((test_dir() / "none.anvil").string()).is_ok());
}

}  // namespace
}  // namespace anvil

namespace anvil {
namespace {

// Winograd on a whole ResNet-101 (224x224, AVX-512: F(4x4, 3x3) on the
// 56x56, 28x28 and 14x14 layers, F(2x2, 3x3) on the 7x7 ones) against the same model
// with direct convolutions only: within the documented 1e-3 of each
// tensor's scale (docs/kernels.md), at 1 and 2 threads. The logits of the
// synthetic model barely move, so the outputs of the last Winograd layers
// of both kinds (errors accumulated through the 30 before) are compared too.
TEST(Winograd, ResNet101OutputsWithinTheDocumentedBound) {
  Model m = zoo_model("resnet101", {1, 3, 224, 224});
  const std::vector<std::string> taps = {"layer3.22.conv2", "layer4.2.conv2"};
  auto exact = m.compile({.threads = 1, .extra_outputs = taps, .exact = true});
  ASSERT_TRUE(exact.is_ok()) << exact.status().to_string();
  std::map<std::string, Tensor> in{{exact->inputs()[0].name, input_for(exact->inputs()[0], 11)}};
  auto want = exact->run(in);
  ASSERT_TRUE(want.is_ok());
  ASSERT_EQ(want->size(), 3u);
  for (int threads : {1, 2}) {
    auto s = m.compile({.threads = threads, .extra_outputs = taps});
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    std::set<std::string> algos;
    const Executor& e = *s->impl()->executor;
    for (size_t i = 0; i < e.num_steps(); ++i) {
      const std::string k = e.step_kernel_name(i);
      if (k.rfind("conv2d_winograd", 0) == 0) algos.insert(k.substr(0, k.find(':')));
    }
    if (host_isa() >= Isa::kAvx512)
      EXPECT_EQ(algos, (std::set<std::string>{"conv2d_winograd_f4x3", "conv2d_winograd_f2x3_lanes"}));
    else
      EXPECT_EQ(algos, (std::set<std::string>{"conv2d_winograd_f2x3"}));
    auto y = s->run(in);
    ASSERT_TRUE(y.is_ok()) << y.status().to_string();
    for (const auto& [name, a] : *want) {
      const Tensor& b = y->at(name);
      ASSERT_EQ(a.shape(), b.shape()) << name;
      double scale = 0, worst = 0;
      for (int64_t i = 0; i < a.numel(); ++i) scale = std::max(scale, std::fabs(double(a.data<float>()[i])));
      ASSERT_GT(scale, 0.0) << name;
      for (int64_t i = 0; i < a.numel(); ++i)
        worst = std::max(worst, std::fabs(double(a.data<float>()[i]) - b.data<float>()[i]) / scale);
      EXPECT_LT(worst, 1e-3) << name << " threads=" << threads;
      std::printf("ResNet-101 224, %d thread(s), %s: Winograd vs direct, max |diff| / max |direct| = %.2e\n", threads,
                  name.c_str(), worst);
    }
  }
}

}  // namespace
}  // namespace anvil

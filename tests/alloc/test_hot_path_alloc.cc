// "No allocation on the hot path after the first run" (issue #6), checked:
// this binary replaces the global operator new with a counting one, and a
// run after the first must not call it, on any thread, for the zoo's models
// through the optimizer at 1 and 2 threads and every ISA the host has, in
// the executor and through Session::run into caller buffers. Every heap
// user in anvil goes through operator new (vectors, shapes, the control
// block of each Tensor's storage), so a kernel that built a temporary
// tensor or vector per run would show here.
//
// Its own executable: the replacement would otherwise apply to every other
// test. Skipped under ASan, whose allocator this would bypass.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>

#include "anvil/anvil.h"
#include "core/cpu.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/op_registry.h"
#include "passes/pass.h"
#include "runtime/executor.h"
#include "zoo/zoo.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANVIL_ALLOC_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ANVIL_ALLOC_TEST_ASAN 1
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
}  // namespace

#ifndef ANVIL_ALLOC_TEST_ASAN
namespace {
void* counted(size_t n, size_t align) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) p = std::malloc(n);
  else if (posix_memalign(&p, align, n) != 0) p = nullptr;
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace
void* operator new(size_t n) { return counted(n, 0); }
void* operator new[](size_t n) { return counted(n, 0); }
void* operator new(size_t n, std::align_val_t a) { return counted(n, static_cast<size_t>(a)); }
void* operator new[](size_t n, std::align_val_t a) { return counted(n, static_cast<size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
#endif

namespace anvil {
namespace {

constexpr bool kAsan =
#ifdef ANVIL_ALLOC_TEST_ASAN
    true;
#else
    false;
#endif

// Allocations made while fn runs, on any thread.
template <class F>
long count_allocs(F&& fn) {
  g_allocs.store(0);
  g_counting.store(true);
  fn();
  g_counting.store(false);
  return g_allocs.load();
}

Tensor ramp(const Shape& s) {
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.01f * static_cast<float>(i % 97) - 0.4f;
  return t;
}

struct Case {
  const char* model;
  int64_t hw;
  int threads;
  Isa isa;
  bool exact;
};

std::string describe(const Case& c) {
  return std::string(c.model) + " " + std::to_string(c.hw) + "x" + std::to_string(c.hw) + ", " +
         std::to_string(c.threads) + " thread(s), " + isa_name(c.isa) + (c.exact ? ", exact" : "");
}

TEST(HotPathAlloc, CountingReplacementSeesAllocations) {
  if (kAsan) GTEST_SKIP() << "ASan build: operator new is not replaced";
  // The counter itself works: a vector and a Tensor are seen.
  const long n = count_allocs([] {
    std::vector<int> v(100);
    Tensor t(DType::kF32, Shape{4, 4});
    EXPECT_EQ(v.size(), 100u);
    EXPECT_TRUE(t.defined());
  });
  EXPECT_GE(n, 3);  // the vector, the tensor's shape, its storage's control block
}

TEST(HotPathAlloc, ExecutorRunsAfterTheFirstAllocateNothing) {
  if (kAsan) GTEST_SKIP() << "ASan build: operator new is not replaced";
  register_all_ops();
  std::vector<Case> cases = {
      // ResNet-50 at 224: the bcast 1x1s (and their reduction split at 2
      // threads), Winograd F(4x4) by groups and whole, F(2x2) lanes at 7x7,
      // the 8x49 GEMM, im2row for 3x3/2 at 14x14, the stem, max pool, global
      // pool, the GEMV head.
      {"resnet50", 224, 1, active_isa(), false},
      {"resnet50", 224, 2, active_isa(), false},
      // Depthwise plane kernels and the fused pointwise + depthwise strips.
      {"mobilenet_v2", 224, 1, active_isa(), false},
      {"mobilenet_v2", 224, 2, active_isa(), false},
      // Direct summation only: the indirect and packed GEMM paths.
      {"resnet18", 112, 2, active_isa(), true},
      {"tiny_cnn", 32, 2, active_isa(), false},
  };
  for (Isa isa : {Isa::kAvx2, Isa::kScalar})
    if (isa < active_isa())
      for (const char* m : {"resnet18", "mobilenet_v2", "tiny_cnn"}) cases.push_back({m, m[0] == 't' ? 32 : 64, 2, isa, false});
  for (const Case& c : cases) {
    SCOPED_TRACE(describe(c));
    ZooOptions zo;
    zo.input_shape = {1, 3, c.hw, c.hw};
    auto g = build_zoo_model(c.model, zo);
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    PassOptions po;
    ASSERT_TRUE(run_passes(*g, po).is_ok());
    auto ex = Executor::create(std::move(*g), c.threads, c.isa, c.exact);
    ASSERT_TRUE(ex.is_ok()) << ex.status().message();
    const Graph& gr = (*ex)->graph();
    const Tensor x = ramp(gr.value(gr.inputs[0]).shape);
    std::vector<Tensor> in{x}, out;
    for (ValueId o : gr.outputs) out.emplace_back(gr.value(o).dtype, gr.value(o).shape);
    ASSERT_TRUE((*ex)->run_into(in, out).is_ok());  // the first run may size scratch buffers
    const Tensor first = out[0].clone();
    Status s;
    const long n = count_allocs([&] {
      for (int r = 0; r < 3 && s.is_ok(); ++r) s = (*ex)->run_into(in, out);
    });
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(n, 0) << "heap allocations in 3 runs after the first";
    // The runs computed something, and the same thing each time.
    ASSERT_EQ(first.nbytes(), out[0].nbytes());
    EXPECT_EQ(std::memcmp(first.raw(), out[0].raw(), first.nbytes()), 0);
  }
}

TEST(HotPathAlloc, SessionRunIntoCallerBuffersAllocatesNothing) {
  if (kAsan) GTEST_SKIP() << "ASan build: operator new is not replaced";
  register_all_ops();
  ZooOptions zo;
  zo.input_shape = {1, 3, 64, 64};
  auto g = build_zoo_model("resnet18", zo);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  const std::string path =
      (std::filesystem::temp_directory_path() / ("anvil_alloc_" + std::to_string(::getpid()) + ".onnx")).string();
  ASSERT_TRUE(save_onnx(*g, path).is_ok());
  auto m = Model::load(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    CompileOptions co;
    co.threads = threads;
    auto s = m->compile(co);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    const TensorInfo& ti = s->inputs()[0];
    const TensorInfo& to = s->outputs()[0];
    const std::map<std::string, Tensor> inputs{{ti.name, ramp(ti.shape)}};
    const std::map<std::string, Tensor> outputs{{to.name, Tensor(to.dtype, to.shape)}};
    ASSERT_TRUE(s->run(inputs, outputs).is_ok());
    Status st;
    const long n = count_allocs([&] {
      for (int r = 0; r < 3 && st.is_ok(); ++r) st = s->run(inputs, outputs);
    });
    ASSERT_TRUE(st.is_ok()) << st.message();
    EXPECT_EQ(n, 0) << "heap allocations in 3 Session::run calls after the first";
    // The map-returning run hands back fresh tensors: that one allocates.
    EXPECT_GT(count_allocs([&] { EXPECT_TRUE(s->run(inputs).is_ok()); }), 0);
  }
}

}  // namespace
}  // namespace anvil

// The executor's memory plan: values that are never alive together share
// buffers. Planned and unplanned (keep_intermediates) runs must agree bit
// for bit, repeatedly, at 1 and 2 threads; the plan must use less memory;
// value() must refuse intermediates whose memory was reused.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/cpu.h"
#include "ir/op_registry.h"
#include "passes/pass.h"
#include "runtime/executor.h"
#include "zoo/zoo.h"

namespace anvil {
namespace {

Tensor noise(const Shape& s, unsigned seed) {
  Tensor t(DType::kF32, s);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

TEST(MemoryPlan, PlannedRunsMatchUnplannedBitForBit) {
  register_all_ops();
  for (const char* name : {"resnet18", "mobilenet_v2"}) {
    ZooOptions zo;
    zo.input_shape = {1, 3, 64, 64};
    auto g = build_zoo_model(name, zo);
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    for (int threads : {1, 2}) {
      auto planned = Executor::create(Graph(*g), threads);
      auto kept = Executor::create(Graph(*g), threads);
      ASSERT_TRUE(planned.is_ok() && kept.is_ok());
      (*kept)->set_keep_intermediates(true);
      EXPECT_LT((*planned)->activation_bytes(), (*kept)->activation_bytes() / 2) << name;
      for (unsigned run = 0; run < 3; ++run) {
        const Tensor x = noise((*g).value((*g).inputs[0]).shape, 10 + run);
        std::vector<Tensor> a, b;
        ASSERT_TRUE((*planned)->run({x}, a).is_ok());
        ASSERT_TRUE((*kept)->run({x}, b).is_ok());
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
          ASSERT_EQ(a[i].nbytes(), b[i].nbytes());
          EXPECT_EQ(std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()), 0)
              << name << " threads " << threads << " run " << run << " output " << i;
        }
      }
      // An intermediate: readable only when kept.
      const Node& first = (*g).nodes().front();
      const std::string mid = (*g).value(first.outputs[0]).name;
      EXPECT_EQ((*planned)->value(mid), nullptr) << mid;
      EXPECT_NE((*kept)->value(mid), nullptr) << mid;
      const std::string out = (*g).value((*g).outputs[0]).name;
      EXPECT_NE((*planned)->value(out), nullptr) << out;
    }
  }
}

// After fusion, ResNet-50's bottleneck 1x1s add the block input in their
// register epilogue, and their outputs take over its buffer
// (OpKernel::in_place_input) at 1 thread; at 2 threads only outputs of
// 1 MiB or more do. Runs must still match the unplanned executor bit for
// bit (a residual overwritten while still needed would not), repeatedly;
// the plan holds less memory than the same plan without aliasing did.
TEST(MemoryPlan, ResidualConvsWriteOverTheirResidual) {
  register_all_ops();
  for (int64_t hw : {64, 160}) {
    ZooOptions zo;
    zo.input_shape = {1, 3, hw, hw};
    auto g = build_zoo_model("resnet50", zo);
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    PassOptions po;
    po.opt_level = 3;
    ASSERT_TRUE(run_passes(*g, po).is_ok());
    for (int threads : {1, 2}) {
      auto planned = Executor::create(Graph(*g), threads);
      auto kept = Executor::create(Graph(*g), threads);
      ASSERT_TRUE(planned.is_ok() && kept.is_ok());
      (*kept)->set_keep_intermediates(true);
      // 64x64: the largest residual output is 256 x 16 x 16 floats (256 KB);
      // 160x160: 256 x 40 x 40 (1.6 MB), past the threaded limit.
      // (The kernels that apply a residual in registers are AVX-512 ones.)
      if (active_isa() < Isa::kAvx512) EXPECT_EQ((*planned)->in_place_steps(), 0);
      else if (threads == 1 || hw == 160) EXPECT_GT((*planned)->in_place_steps(), 0) << hw << " threads " << threads;
      else EXPECT_EQ((*planned)->in_place_steps(), 0) << hw << " threads " << threads;
      EXPECT_EQ((*kept)->in_place_steps(), 0);
      for (unsigned run = 0; run < 2; ++run) {
        const Tensor x = noise((*g).value((*g).inputs[0]).shape, 20 + run);
        std::vector<Tensor> a, b;
        ASSERT_TRUE((*planned)->run({x}, a).is_ok());
        ASSERT_TRUE((*kept)->run({x}, b).is_ok());
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i)
          EXPECT_EQ(std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()), 0)
              << "resnet50 " << hw << " threads " << threads << " run " << run << " output " << i;
      }
    }
  }
}

}  // namespace
}  // namespace anvil

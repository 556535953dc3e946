// The executor's memory plan: values that are never alive together share
// buffers. Planned and unplanned (keep_intermediates) runs must agree bit
// for bit, repeatedly, at 1 and 2 threads; the plan must use less memory;
// value() must refuse intermediates whose memory was reused.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "ir/op_registry.h"
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

}  // namespace
}  // namespace anvil

// The conv shapes both conv benchmarks run (bench_conv_layers, and
// bench_kernels' BM_ConvLayer): ResNet-101's at 224 and 112 input and
// MobileNetV2's heaviest, as chains of convs with weights of their own.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_registry.h"
#include "core/microbench.h"
#include <algorithm>

namespace anvil::bench {

struct Layer {
  const char* name;
  int64_t C, OC, HW, k, stride;
  int64_t group = 1;  // C for depthwise
};

// ResNet-101 at 224 and 112: the shapes that carry the FLOPs.
inline const Layer kLayers[] = {
    {"s1.3x3 64@56", 64, 64, 56, 3, 1},     {"s1.1x1 64->256@56", 64, 256, 56, 1, 1},
    {"s1.1x1 256->64@56", 256, 64, 56, 1, 1}, {"s2.3x3 128@28", 128, 128, 28, 3, 1},
    {"s2.3x3 128@14", 128, 128, 14, 3, 1},
    {"s2.1x1 512->128@28", 512, 128, 28, 1, 1}, {"s3.3x3 256@14", 256, 256, 14, 3, 1},
    {"s3.1x1 256->1024@14", 256, 1024, 14, 1, 1}, {"s3.1x1 1024->256@14", 1024, 256, 14, 1, 1},
    {"s3.3x3 256@7", 256, 256, 7, 3, 1},     {"s3.1x1 256->1024@7", 256, 1024, 7, 1, 1},
    {"s3.1x1 1024->256@7", 1024, 256, 7, 1, 1}, {"s4.3x3 512@4", 512, 512, 4, 3, 1},
    {"s4.1x1 512->2048@4", 512, 2048, 4, 1, 1},     {"s4.1x1 2048->512@4", 2048, 512, 4, 1, 1},
    // The last stage at 224 input.
    {"s4.3x3 512@7", 512, 512, 7, 3, 1},        {"s4.1x1 512->2048@7", 512, 2048, 7, 1, 1},
    {"s4.1x1 2048->512@7", 2048, 512, 7, 1, 1},
    // Strided: the stem and the first conv(s) of each stage (HW is the input
    // side). Each conv of the "chain" reads the same input, as shapes halve.
    {"stem 7x7/2 3->64@224", 3, 64, 224, 7, 2}, {"s2.3x3/2 128@56", 128, 128, 56, 3, 2},
    {"s2.1x1/2 256->512@56", 256, 512, 56, 1, 2}, {"s3.3x3/2 256@28", 256, 256, 28, 3, 2},
    {"s3.1x1/2 512->1024@28", 512, 1024, 28, 1, 2}, {"s4.1x1/2 1024->2048@14", 1024, 2048, 14, 1, 2},
    {"s4.3x3/2 512@14", 512, 512, 14, 3, 2},
    // MobileNetV2's heaviest pointwise convs: the 16->96 expansion at
    // 112x112 (write-bound) and the 7x7 stage's.
    {"mb.1x1 16->96@112", 16, 96, 112, 1, 1}, {"mb.1x1 160->960@7", 160, 960, 7, 1, 1},
    {"mb.1x1 320->1280@7", 320, 1280, 7, 1, 1}, {"mb.1x1 144->24@56", 144, 24, 56, 1, 1},
    {"mb.1x1 32->16@112", 32, 16, 112, 1, 1},
    {"mb.stem 3x3/2 3->32@224", 3, 32, 224, 3, 2},
    // Its depthwise 3x3s: few FLOPs, so memory and per-channel overhead.
    {"mb.dw3x3 32@112", 32, 32, 112, 3, 1, 32}, {"mb.dw3x3 144@56", 144, 144, 56, 3, 1, 144},
    {"mb.dw3x3 384@14", 384, 384, 14, 3, 1, 384}, {"mb.dw3x3 960@7", 960, 960, 7, 3, 1, 960},
    {"mb.dw3x3/2 576@14", 576, 576, 14, 3, 2, 576}, {"mb.dw3x3/2 96@112", 96, 96, 112, 3, 2, 96},
};

inline Tensor random(Shape s, std::mt19937& rng, float scale) {
  Tensor t(DType::kF32, std::move(s));
  std::uniform_real_distribution<float> u(-scale, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// `depth` convs of the layer's shape, each followed by nothing: the conv
// kernel alone. Where the output can feed the next conv (C == OC, stride 1)
// they chain; otherwise each reads the input (which stays in cache, as a
// layer's input written by the layer before does). Alternating C->OC and
// OC->C made a row the mean of two different convs (256->64@56 on the
// broadcast tile with 64->256 on the 8x49 one).
inline Graph chain(const Layer& l, int depth, std::mt19937& rng) {
  register_all_ops();
  Graph g;
  g.name = "chain";
  g.opset = 17;
  ValueId x = g.add_value("x", DType::kF32, Shape({1, l.C, l.HW, l.HW}));
  g.value(x).has_type = true;
  g.inputs.push_back(x);
  ValueId cur = x;
  for (int i = 0; i < depth; ++i) {
    const bool chains = l.C == l.OC && l.stride == 1;
    const int64_t ci = l.C, co = l.OC;
    Attrs a;
    a.set("kernel_shape", std::vector<int64_t>{l.k, l.k});
    a.set("pads", std::vector<int64_t>(4, l.k / 2));
    a.set("strides", std::vector<int64_t>{l.stride, l.stride});
    a.set("group", l.group);
    ValueId w = g.add_initializer("w" + std::to_string(i), random({co, ci / l.group, l.k, l.k}, rng, 0.05f));
    ValueId b = g.add_initializer("b" + std::to_string(i), random({co}, rng, 0.1f));
    ValueId y = g.add_value("y" + std::to_string(i));
    g.add_node(Node{.name = "conv" + std::to_string(i), .op = "Conv", .inputs = {chains ? cur : x, w, b},
                    .outputs = {y}, .attrs = a});
    cur = y;
  }
  g.outputs.push_back(cur);
  return g;
}


// The host's FMA peak: the best of five 0.1 s readings. One reading taken
// in one of this shared host's slow phases read 181 against 222-237
// GFLOP/s, and put a layer at 104% of it.
inline double fma_peak_best(Isa isa, int threads) {
  double best = 0;
  for (int i = 0; i < 5; ++i)
    best = std::max(best, measure_fp_gflops(isa, FpOp::kFma, FpData::kNormal, true, threads, 0.1));
  return best;
}

// Output side of one conv of the layer (pads k/2).
inline int64_t out_side(const Layer& l) { return (l.HW - 1) / l.stride + 1; }

// The chain's output, for Executor::run_into: run() would allocate, fill
// and copy a fresh output tensor each run (3.2 MB for 64->256@56), which
// the time per conv counted (~7% of that layer's, perf).
inline Tensor chain_output(const Layer& l) { return Tensor(DType::kF32, Shape({1, l.OC, out_side(l), out_side(l)})); }

// Multiply-adds x 2 of one conv of the layer (pads k/2: ceil(HW / stride)
// outputs a side).
inline double layer_flops(const Layer& l) {
  const int64_t ohw = out_side(l);
  return 2.0 * l.C / l.group * l.OC * l.k * l.k * ohw * ohw;
}

}  // namespace anvil::bench
